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

  // The sign-in page offers "Continue with SSO" once the email's domain
  // has single sign-on (asked of the server as the address is typed).
  const ssoForm = document.querySelector("form[data-sso-form]");
  const email = document.querySelector("form[action='/login'] input[name=email]");
  if (ssoForm && email) {
    const button = ssoForm.querySelector("[data-sso-button]");
    const field = ssoForm.querySelector("input[name=email]");
    button.hidden = true;
    let timer;
    const check = async () => {
      const value = email.value.trim();
      field.value = value;
      if (!value.includes("@")) { button.hidden = true; return; }
      try {
        const res = await fetch("/api/v1/auth/sso/discover?email=" + encodeURIComponent(value));
        const body = res.ok ? await res.json() : { sso: false };
        button.hidden = !body.sso || email.value.trim() !== value;
      } catch {
        button.hidden = true;
      }
    };
    email.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 250); });
    check();
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
