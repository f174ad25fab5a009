// Roster console: small enhancements only. Every flow works without this
// file; it is served from this origin under a CSP without inline scripts.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The org switcher changes org as soon as one is chosen.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => {
      if (select.value) select.form.submit();
    });
  }
  for (const el of document.querySelectorAll("[data-nojs]")) {
    el.hidden = true;
  }

  // Copy buttons copy the value of the field they name.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      if (!field) return;
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(field.value);
      } catch {
        field.select();
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      button.setAttribute("aria-live", "polite");
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
});
