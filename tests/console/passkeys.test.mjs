// Passkeys in the console, in Chromium with the DevTools virtual
// authenticator (a CTAP2 platform authenticator with resident keys and
// user verification, driven over a CDP session). tests/it/browser.rs
// starts a `roster serve` of its own for this file. WebAuthn takes no IP
// address as a relying party id, so the pages are opened at `localhost`,
// which the server's relying party serves for a loopback public URL.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { chromium } from "playwright-core";

const BASE = process.env.ROSTER_URL?.replace("://127.0.0.1:", "://localhost:");
const OWNER = process.env.ROSTER_OWNER_EMAIL;
const OWNER_PASSWORD = process.env.ROSTER_OWNER_PASSWORD;
const SHOTS = process.env.ROSTER_SCREENSHOTS;
assert.ok(BASE && OWNER && OWNER_PASSWORD && SHOTS, "run through tests/it/browser.rs");

let browser;
let page; // one tab for the whole file: the virtual authenticator lives in it
let cdp;
let authenticatorId;
const errors = [];

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && /Refused to|Content Security Policy|Uncaught/.test(m.text())) errors.push(m.text());
  });
  cdp = await ctx.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  ({ authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  }));
});

after(async () => {
  await browser?.close();
});

async function expectText(locator, re) {
  for (let i = 0; i < 50; i++) {
    const texts = await locator.allInnerTexts().catch(() => []);
    if (texts.some((t) => re.test(t))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`expected ${re}, the page shows: ${JSON.stringify(await locator.allInnerTexts())}`);
}

/** Clicks a form's button and waits for the page the form answers with
 * (after the passkey ceremony the script runs first). */
async function submit(button) {
  const next = page.waitForNavigation();
  await button.click();
  await next;
  await page.waitForLoadState();
}

async function signOut() {
  await page.getByRole("button", { name: "Sign out" }).first().click();
  await page.waitForURL(/\/login/);
}

async function passwordSignIn() {
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Email", { exact: true }).fill(OWNER);
  await page.getByLabel("Password").fill(OWNER_PASSWORD);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForLoadState();
}

test("a passkey is added from the profile with the browser's authenticator", async () => {
  await passwordSignIn();
  assert.notEqual(new URL(page.url()).pathname, "/login/mfa", "no second factor yet");
  await page.goto(`${BASE}/profile/mfa`);
  await expectText(page.locator("h2"), /Passkeys/);
  await page.getByLabel("Passkey name").fill("Laptop");
  await submit(page.getByRole("button", { name: "Add a passkey" }));
  assert.equal(new URL(page.url()).pathname, "/profile/mfa");
  await expectText(page.locator(".flash"), /Passkey “Laptop” added/);
  await expectText(page.getByRole("table", { name: "Your passkeys" }), /Laptop/);
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].isResidentCredential, true, "a discoverable credential");
  assert.equal(credentials[0].rpId, "localhost");
  await page.screenshot({ path: `${SHOTS}/passkeys.png`, fullPage: true });
  // The profile lists it too.
  await page.goto(`${BASE}/profile`);
  await expectText(page.getByRole("list", { name: "Your passkeys" }), /Laptop/);
  await page.goto(`${BASE}/profile/mfa`);
});

test("a passkey is renamed", async () => {
  await page.getByLabel("New name for Laptop").fill("Work laptop");
  await submit(page.getByRole("button", { name: "Rename" }));
  await expectText(page.locator(".flash"), /renamed to “Work laptop”/);
  await expectText(page.getByRole("table", { name: "Your passkeys" }), /Work laptop/);
});

test("after the password, the passkey is the second factor", async () => {
  await signOut();
  await passwordSignIn();
  assert.equal(new URL(page.url()).pathname, "/login/mfa");
  await page.screenshot({ path: `${SHOTS}/passkey-second-factor.png`, fullPage: true });
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
  await page.goto(`${BASE}/profile`);
  assert.equal(new URL(page.url()).pathname, "/profile", "signed in");
});

test("a passkey alone signs in", async () => {
  await signOut();
  await page.goto(`${BASE}/login`);
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
  await page.goto(`${BASE}/profile/mfa`);
  assert.equal(new URL(page.url()).pathname, "/profile/mfa", "signed in");
  await expectText(page.getByRole("table", { name: "Your passkeys" }), /Work laptop/);
});

test("a passkey is removed with the password and a passkey's confirmation", async () => {
  await page.getByLabel("Password").fill(OWNER_PASSWORD);
  await submit(page.getByRole("button", { name: "Remove Work laptop" }));
  await expectText(page.locator(".flash"), /Passkey removed/);
  await expectText(page.locator("main"), /You have no passkeys/);
  // The password alone signs in again.
  await signOut();
  await passwordSignIn();
  assert.notEqual(new URL(page.url()).pathname, "/login/mfa");
  assert.ok(!new URL(page.url()).pathname.startsWith("/login"));
});

test("a browser without passkeys is offered none", async () => {
  const ctx = await browser.newContext();
  const plain = await ctx.newPage();
  await plain.addInitScript(() => {
    delete window.PublicKeyCredential;
  });
  await plain.goto(`${BASE}/login`);
  assert.equal(await plain.getByRole("button", { name: "Sign in with a passkey" }).count(), 0);
  await ctx.close();
});

test("no page had a script error or a blocked resource", () => {
  assert.deepEqual(errors, []);
});
