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

// Passkeys (WebAuthn). The server's options carry binary fields in
// base64url; the browser's API takes and gives ArrayBuffers. Each passkey
// form is rendered hidden and shown only where the browser has passkeys;
// its script asks for a challenge, runs the ceremony, puts the answer
// into the form's hidden fields and posts the form.
(() => {
  const b64url = {
    decode(s) {
      const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
      const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
      return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
    },
    encode(buf) {
      let bin = "";
      for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
      return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };
  // Drops nulls (the browser's dictionaries refuse them).
  const clean = (v) => {
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === "object") {
      const out = {};
      for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = clean(x);
      return out;
    }
    return v;
  };
  const creationOptions = (o) => {
    const pk = clean(o.publicKey);
    pk.challenge = b64url.decode(pk.challenge);
    pk.user.id = b64url.decode(pk.user.id);
    for (const c of pk.excludeCredentials || []) c.id = b64url.decode(c.id);
    return { publicKey: pk };
  };
  const requestOptions = (o) => {
    const pk = clean(o.publicKey);
    pk.challenge = b64url.decode(pk.challenge);
    for (const c of pk.allowCredentials || []) c.id = b64url.decode(c.id);
    return { publicKey: pk };
  };
  const credentialJson = (c) => {
    const r = c.response;
    const response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64url.encode(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = b64url.encode(r.authenticatorData);
      response.signature = b64url.encode(r.signature);
      if (r.userHandle) response.userHandle = b64url.encode(r.userHandle);
    }
    return JSON.stringify({
      id: c.id,
      rawId: b64url.encode(c.rawId),
      type: c.type,
      response,
      extensions: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
    });
  };
  const problemText = async (res) => {
    try {
      const p = await res.json();
      return p.detail || p.title || res.statusText;
    } catch {
      return res.statusText;
    }
  };
  const say = (form, text) => {
    let p = form.querySelector("[data-passkey-error]");
    if (!p) {
      p = document.createElement("p");
      p.className = "flash error";
      p.setAttribute("role", "alert");
      p.dataset.passkeyError = "";
      form.prepend(p);
    }
    p.textContent = text;
  };
  // A sign-in challenge from the API, answered by one of this site's
  // passkeys; fills the form's hidden fields.
  const assert = async (form) => {
    const res = await fetch("/api/v1/auth/passkey/challenge", { method: "POST" });
    if (!res.ok) throw new Error(await problemText(res));
    const c = await res.json();
    const cred = await navigator.credentials.get(requestOptions(c.options));
    form.elements.challenge_id.value = c.challenge_id;
    form.elements.credential.value = credentialJson(cred);
  };
  // Runs `ceremony` once when the form is submitted, then posts it.
  const onSubmit = (form, ceremony) => {
    form.addEventListener("submit", async (event) => {
      if (form.dataset.ready) return;
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        await ceremony(form);
        form.dataset.ready = "1";
        form.submit();
      } catch (e) {
        say(form, e && e.name === "NotAllowedError" ? "The passkey request was cancelled or timed out." : String(e.message || e));
      } finally {
        if (button) button.disabled = false;
      }
    });
  };

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.PublicKeyCredential || !navigator.credentials) return;
    for (const p of document.querySelectorAll("[data-passkey-unsupported]")) p.hidden = true;
    for (const form of document.querySelectorAll("form[data-passkey-sign-in], form[data-passkey-second-factor]")) {
      form.hidden = false;
      onSubmit(form, assert);
    }
    for (const form of document.querySelectorAll("form[data-passkey-add]")) {
      form.hidden = false;
      onSubmit(form, async () => {
        const body = new URLSearchParams({ _csrf: form.elements._csrf.value });
        const res = await fetch("/profile/passkeys/options", { method: "POST", body });
        if (!res.ok) throw new Error(await problemText(res));
        const c = await res.json();
        const cred = await navigator.credentials.create(creationOptions(c.options));
        form.elements.challenge_id.value = c.challenge_id;
        form.elements.credential.value = credentialJson(cred);
      });
    }
    // Removing a passkey: with no code typed, another passkey confirms.
    for (const form of document.querySelectorAll("form[data-passkey-confirm]")) {
      onSubmit(form, async () => {
        const code = form.elements.code;
        if (code && code.value.trim()) return;
        await assert(form);
      });
    }
  });
})();
