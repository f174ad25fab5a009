// Browser tests of the Roster web console: Debian's Chromium, driven by
// playwright-core, against a real `roster serve` that tests/it/browser.rs
// starts (it passes ROSTER_URL and the owner's credentials). The steps run
// in order and build on each other, as an administrator's first day would.
// Screenshots of the main pages go to $ROSTER_SCREENSHOTS.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, mkdir } from "node:fs/promises";
import { chromium } from "playwright-core";
import { createHmac } from "node:crypto";

const BASE = process.env.ROSTER_URL;
const ORG = process.env.ROSTER_ORG;
const OWNER = process.env.ROSTER_OWNER_EMAIL;
const OWNER_PASSWORD = process.env.ROSTER_OWNER_PASSWORD;
const SHOTS = process.env.ROSTER_SCREENSHOTS;
assert.ok(BASE && ORG && OWNER && OWNER_PASSWORD && SHOTS, "run through tests/it/browser.rs");

let browser;
let owner; // the owner's page, signed in for the whole file
const errors = [];

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
});

/** A fresh browser context (its own cookies), watching for page errors. */
async function context(options = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true, ...options });
  return ctx;
}

async function newPage(options) {
  const page = await (await context(options)).newPage();
  page.setDefaultTimeout(10_000);
  // Script errors, and anything the Content-Security-Policy blocked. (A
  // page answered 403 or 404 on purpose logs an error too; that is not one.)
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" && /Refused to|Content Security Policy|Uncaught/.test(m.text())) errors.push(m.text());
  });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

async function signIn(page, email, password) {
  await page.goto(`${BASE}/login`);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForLoadState();
}

function flash(page) {
  return page.locator(".flash");
}

/** Waits until one of `locator`'s elements shows text matching `re`;
 * fails with what it shows instead. (A click that navigates may return
 * before the next page is there.) */
async function expectText(locator, re) {
  try {
    await locator.filter({ hasText: re }).first().waitFor({ timeout: 10_000 });
  } catch {
    assert.match(await locator.first().innerText(), re);
  }
}

/**
 * The newest link containing `part` mailed to `to`, read from the server's
 * mail log (the server runs without SMTP here). Waits up to 30 s for the
 * outbox to deliver it.
 */
async function mailedLink(to, part) {
  for (let i = 0; i < 300; i++) {
    const log = await readFile(process.env.ROSTER_MAIL_LOG, "utf8").catch(() => "");
    const links = log
      .split("----- message ")
      .filter((m) => m.includes(`To: ${to}\n`))
      .flatMap((m) => m.split(/\s+/).filter((w) => w.startsWith("http") && w.includes(part)));
    if (links.length) return links[links.length - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no link with ${part} mailed to ${to}`);
}

/** The team-list row of `email`. */
function row(page, email) {
  return page.locator("tbody tr", { hasText: email });
}

async function chooseNewPassword(page, temporary, fresh) {
  await page.getByLabel("Temporary password").fill(temporary);
  await page.getByLabel("New password (at least 10 characters)").fill(fresh);
  await page.getByLabel("New password again").fill(fresh);
  await page.getByRole("button", { name: "Save and continue" }).click();
  await page.waitForLoadState();
}

/** Adds a member through the console and returns their temporary password. */
async function addUser(page, { name, email, role, team = "", groups = [] }) {
  await page.goto(`${BASE}/o/${ORG}/users/new`);
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Role").selectOption(role);
  await page.getByLabel("Team").fill(team);
  for (const g of groups) await page.getByLabel(g, { exact: true }).check();
  await page.getByRole("button", { name: "Add user" }).click();
  await page.waitForLoadState();
  return page.locator("#temporary-password").inputValue();
}

test("the owner signs in with the keyboard alone and lands on the team list", async () => {
  owner = await newPage();
  await owner.goto(`${BASE}/`);
  assert.match(owner.url(), /\/login\?next=/);
  await shot(owner, "sign-in");
  // The email field has focus on arrival; Tab and Enter do the rest.
  await owner.keyboard.type(OWNER);
  await owner.keyboard.press("Tab");
  await owner.keyboard.type(OWNER_PASSWORD);
  await owner.keyboard.press("Enter");
  await owner.waitForURL(`${BASE}/o/${ORG}/users`);
  await assert.doesNotReject(row(owner, OWNER).waitFor());
  assert.match(await owner.locator(".flash.warning").innerText(), /only one owner/);
});

test("an owner adds a user, who signs in with the temporary password and must change it", async () => {
  // Groups first, so the new user can be put in one.
  await owner.goto(`${BASE}/o/${ORG}/groups`);
  for (const g of ["dev", "support"]) {
    await owner.getByLabel("New group").fill(g);
    await owner.getByRole("button", { name: "Create group" }).click();
    await owner.waitForLoadState();
    await expectText(flash(owner), new RegExp(`Created the group ${g}`));
  }
  // A group made by mistake goes after a confirmation.
  await owner.getByLabel("New group").fill("party-planning");
  await owner.getByRole("button", { name: "Create group" }).click();
  await owner.getByRole("link", { name: "party-planning" }).click();
  await owner.getByRole("link", { name: "Delete group…" }).click();
  assert.match(await owner.getByRole("alertdialog").innerText(), /Delete the group party-planning\?/);
  await owner.getByRole("alertdialog").getByRole("button", { name: "Delete group" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Deleted the group party-planning/);
  assert.equal(await owner.getByRole("link", { name: "party-planning" }).count(), 0);
  await shot(owner, "groups");

  const temporary = await addUser(owner, {
    name: "Michael Scott",
    email: "michael@dundermifflin.com",
    role: "admin",
    team: "sales",
    groups: ["dev"],
  });
  assert.ok(temporary.length >= 10, "the temporary password is shown once");
  await shot(owner, "user-added");
  // Shown once: not on the list, not on the user's page.
  await owner.goto(`${BASE}/o/${ORG}/users`);
  assert.ok(!(await owner.content()).includes(temporary));

  const michael = await newPage();
  await signIn(michael, "michael@dundermifflin.com", temporary);
  assert.equal(new URL(michael.url()).pathname, "/password");
  await shot(michael, "forced-password-change");
  // Nothing else opens before the change.
  await michael.goto(`${BASE}/o/${ORG}/users`);
  assert.equal(new URL(michael.url()).pathname, "/password");
  await chooseNewPassword(michael, temporary, "michael-new-password");
  await michael.waitForURL(`${BASE}/o/${ORG}/users`);
  await expectText(flash(michael), /new password is saved/);
  await michael.context().close();
});

test("filters combine, live in the URL and survive a reload", async () => {
  await addUser(owner, { name: "Dwight Schrute", email: "dwight@dundermifflin.com", role: "contributor", team: "sales" });
  await addUser(owner, { name: "Angela Martin", email: "angela@dundermifflin.com", role: "admin", team: "accounting" });
  await owner.goto(`${BASE}/o/${ORG}/users`);
  await owner.getByLabel("Role").selectOption("admin");
  await owner.getByLabel("Team").fill("sales");
  await owner.getByRole("button", { name: "Filter" }).click();
  await owner.waitForLoadState();
  const url = new URL(owner.url());
  assert.equal(url.searchParams.get("role"), "admin");
  assert.equal(url.searchParams.get("team"), "sales");
  const emails = async () => owner.locator("tbody tr td:nth-child(2)").allInnerTexts();
  assert.deepEqual(await emails(), ["michael@dundermifflin.com"]);
  await owner.reload();
  assert.deepEqual(await emails(), ["michael@dundermifflin.com"]);
  assert.equal(await owner.getByLabel("Role").inputValue(), "admin");
  assert.equal(await owner.getByLabel("Team").inputValue(), "sales");
  await owner.getByLabel("Group").selectOption("dev");
  await owner.getByRole("button", { name: "Filter" }).click();
  await owner.waitForLoadState();
  assert.deepEqual(await emails(), ["michael@dundermifflin.com"]);
  await owner.getByLabel("Name", { exact: true }).fill("dwight");
  await owner.getByRole("button", { name: "Filter" }).click();
  await owner.waitForLoadState();
  assert.match(await owner.locator("td.empty").innerText(), /Nobody matches/);
  await owner.getByRole("link", { name: "Clear" }).click();
  await owner.waitForLoadState();
  assert.equal((await emails()).length, 4);
  await shot(owner, "users");
});

let pamLink;

test("a bulk invitation becomes rows with a role each; one is dropped before sending", async () => {
  await owner.goto(`${BASE}/o/${ORG}/invitations`);
  await owner.getByLabel("Email addresses").fill("pam@dundermifflin.com, jim@dundermifflin.com, ryan@dundermifflin.com");
  await owner.getByLabel("Role for these addresses").selectOption("viewer");
  await owner.getByRole("button", { name: "Continue" }).click();
  await owner.waitForLoadState();
  await owner.getByLabel("Role for jim@dundermifflin.com").selectOption("contributor");
  await owner.getByLabel("Role for ryan@dundermifflin.com").selectOption("admin");
  await shot(owner, "invite-rows");
  await owner.getByRole("button", { name: "Drop ryan@dundermifflin.com" }).click();
  await owner.waitForLoadState();
  assert.equal(await owner.locator("tr[data-row]").count(), 2);
  assert.ok(!(await owner.content()).includes("ryan@dundermifflin.com"));
  assert.equal(await owner.getByLabel("Role for jim@dundermifflin.com").inputValue(), "contributor", "the chosen role survives the drop");
  await owner.getByRole("button", { name: "Send 2 invitations" }).click();
  await owner.waitForLoadState();
  assert.match(await owner.locator("h1").innerText(), /2 of 2 invitations sent/);
  pamLink = await owner.getByLabel("Invitation link for pam@dundermifflin.com").inputValue();
  assert.match(pamLink, /\/invite\/rsi_/);
  // The copy button puts the link on the clipboard.
  await owner.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE });
  await owner.getByRole("button", { name: "Copy link" }).first().click();
  await owner.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await owner.evaluate(() => navigator.clipboard.readText()), pamLink);
  await shot(owner, "invite-results");

  await owner.getByRole("link", { name: "Done" }).click();
  await owner.waitForLoadState();
  const pending = owner.locator("tbody tr");
  assert.equal(await pending.count(), 2);
  assert.match(await row(owner, "pam@").innerText(), /viewer/);
  assert.match(await row(owner, "jim@").innerText(), /contributor/);
  await shot(owner, "invitations");
});

test("resending gives a new link; deleting kills the invitation", async () => {
  await owner.goto(`${BASE}/o/${ORG}/invitations`);
  await owner.getByRole("button", { name: "Resend to jim@dundermifflin.com" }).click();
  await owner.waitForLoadState();
  assert.match(await owner.locator("h1").innerText(), /A new link for jim@dundermifflin.com/);
  const fresh = await owner.getByLabel("Invitation link for jim@dundermifflin.com").inputValue();
  assert.match(fresh, /\/invite\/rsi_/);
  await owner.goto(`${BASE}/o/${ORG}/invitations`);
  await owner.getByRole("button", { name: "Delete invitation of jim@dundermifflin.com" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Invitation deleted/);
  assert.equal(await row(owner, "jim@").count(), 0);
  const gone = await owner.request.get(fresh);
  assert.equal(gone.status(), 404, "the deleted invitation's link is dead");
});

test("the invitee accepts in a second browser and signs in", async () => {
  const pam = await newPage();
  await pam.goto(pamLink);
  assert.match(await pam.locator("main").innerText(), /invited pam@dundermifflin.com/);
  await shot(pam, "invitation");
  await pam.getByLabel("Your name").fill("Pam Beesly");
  await pam.getByLabel("Choose a password").fill("pam-password-1");
  await pam.getByRole("button", { name: /Create my account and join/ }).click();
  await pam.waitForLoadState();
  assert.match(await pam.locator("main").innerText(), /You joined/);
  await pam.getByRole("link", { name: "Sign in to Roster" }).click();
  await pam.waitForLoadState();
  await signIn(pam, "pam@dundermifflin.com", "pam-password-1");
  await pam.waitForURL(`${BASE}/o/${ORG}/users`);
  await pam.context().close();

  await owner.goto(`${BASE}/o/${ORG}/users?email=pam`);
  assert.match(await row(owner, "pam@").innerText(), /Pam Beesly[\s\S]*viewer[\s\S]*active/);
});

test("a self-registered member waits in Approvals until approved with a role", async () => {
  await owner.goto(`${BASE}/o/${ORG}/settings`);
  await owner.getByLabel("Allowed email domains").fill("dundermifflin.com");
  await owner.getByLabel("Allow self-registration").check();
  await owner.getByLabel(/^Invitation lifetime in hours/).fill("168");
  await owner.getByRole("button", { name: "Save settings" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Settings saved/);
  assert.equal(await owner.getByLabel(/^Invitation lifetime in hours/).inputValue(), "168");
  await shot(owner, "settings");

  const kevin = await newPage();
  await kevin.goto(`${BASE}/login`);
  await kevin.getByRole("link", { name: "Ask to join an organization" }).click();
  await kevin.getByLabel("Organization").fill(ORG);
  await kevin.getByLabel("Your name").fill("Kevin Malone");
  await kevin.getByLabel("Work email").fill("kevin@dundermifflin.com");
  await kevin.getByLabel("Choose a password").fill("kevin-password-1");
  await kevin.getByRole("button", { name: "Ask to join" }).click();
  await kevin.waitForLoadState();
  assert.match(await kevin.locator("main").innerText(), /a link to confirm your request is on its way/);
  // Nothing waits for approval until Kevin opens the link mailed to him.
  await owner.goto(`${BASE}/o/${ORG}/approvals`);
  assert.equal(await row(owner, "kevin@dundermifflin.com").count(), 0);
  await kevin.goto(await mailedLink("kevin@dundermifflin.com", "/signup/confirm/"));
  await kevin.getByRole("button", { name: "Confirm my sign-up" }).click();
  await kevin.waitForLoadState();
  assert.match(await kevin.locator("main").innerText(), /your address is confirmed/);
  await kevin.context().close();

  await owner.getByRole("link", { name: "Approvals" }).click();
  await owner.waitForLoadState();
  const waiting = row(owner, "kevin@dundermifflin.com");
  await waiting.getByLabel("Role").selectOption("contributor");
  await shot(owner, "approvals");
  await waiting.getByRole("button", { name: "Approve kevin@dundermifflin.com" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Approved Kevin Malone .* as contributor/);
  await owner.goto(`${BASE}/o/${ORG}/users?email=kevin`);
  assert.match(await row(owner, "kevin@").innerText(), /contributor[\s\S]*active/);
});

test("an admin changes a member's role", async () => {
  await owner.goto(`${BASE}/o/${ORG}/users`);
  await row(owner, "pam@dundermifflin.com").getByRole("link", { name: /Edit/ }).click();
  await owner.waitForLoadState();
  assert.equal(await owner.getByLabel("Role").inputValue(), "viewer");
  await owner.getByLabel("Role").selectOption("contributor");
  await shot(owner, "user-edit");
  await owner.getByRole("button", { name: "Save changes" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Saved Pam Beesly/);
  assert.match(await row(owner, "pam@").innerText(), /contributor/);
});

test("removing a member asks first, naming the person", async () => {
  await owner.goto(`${BASE}/o/${ORG}/users`);
  await row(owner, "dwight@dundermifflin.com").getByRole("link", { name: /Edit/ }).click();
  await owner.getByRole("link", { name: "Remove from organization…" }).click();
  await owner.waitForLoadState();
  const dialog = owner.getByRole("alertdialog");
  assert.match(await dialog.innerText(), /Remove Dwight Schrute\?[\s\S]*dwight@dundermifflin.com/);
  await shot(owner, "remove-confirm");
  // Cancel keeps them.
  await dialog.getByRole("link", { name: "Cancel" }).click();
  await owner.waitForLoadState();
  await owner.goto(`${BASE}/o/${ORG}/users`);
  assert.equal(await row(owner, "dwight@").count(), 1);
  await row(owner, "dwight@dundermifflin.com").getByRole("link", { name: /Edit/ }).click();
  await owner.getByRole("link", { name: "Remove from organization…" }).click();
  await owner.getByRole("alertdialog").getByRole("button", { name: "Remove" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Removed Dwight Schrute/);
  assert.equal(await row(owner, "dwight@").count(), 0);
});

test("a viewer's pages show no admin buttons, and posting an admin form anyway is refused", async () => {
  const temporary = await addUser(owner, { name: "Toby Flenderson", email: "toby@dundermifflin.com", role: "viewer" });
  const toby = await newPage();
  await signIn(toby, "toby@dundermifflin.com", temporary);
  await chooseNewPassword(toby, temporary, "toby-password-1");
  await toby.waitForURL(`${BASE}/o/${ORG}/users`);
  await shot(toby, "viewer-users");
  const nav = await toby.locator("nav.side").innerText();
  for (const hidden of ["Approvals", "Audit log", "Settings"]) assert.ok(!nav.includes(hidden), `a viewer sees ${hidden}`);
  assert.equal(await toby.getByRole("link", { name: "Add user" }).count(), 0);
  assert.equal(await toby.getByRole("link", { name: "Invite people" }).count(), 0);
  assert.equal(await toby.getByRole("link", { name: /^Edit/ }).count(), 0);
  await toby.goto(`${BASE}/o/${ORG}/invitations`);
  assert.equal(await toby.getByRole("button", { name: /Resend|Delete/ }).count(), 0);
  assert.equal(await toby.getByLabel("Email addresses").count(), 0);
  await toby.goto(`${BASE}/o/${ORG}/roles`);
  assert.equal(await toby.getByRole("button", { name: "Create role" }).count(), 0);
  await toby.goto(`${BASE}/o/${ORG}/settings`);
  assert.match(await toby.locator("h1").innerText(), /Forbidden/);

  // The add-user form, posted anyway with the viewer's own CSRF token.
  await toby.goto(`${BASE}/o/${ORG}/users`);
  const csrf = await toby.locator("input[name=_csrf]").first().inputValue();
  const res = await toby.request.post(`${BASE}/o/${ORG}/users/new`, {
    form: { _csrf: csrf, email: "creed@dundermifflin.com", role: "owner" },
    headers: { origin: BASE },
  });
  assert.equal(res.status(), 403);
  await owner.goto(`${BASE}/o/${ORG}/users?email=creed`);
  assert.equal(await row(owner, "creed@").count(), 0, "nothing was created");
  await toby.context().close();
});

test("an owner creates a custom role, sees it in the matrix, and asks the check API why", async () => {
  await owner.goto(`${BASE}/o/${ORG}/roles`);
  await owner.getByLabel(/^Name/).fill("deployer");
  await owner.getByLabel("Description").fill("Deploys to clusters");
  await owner.getByLabel("users:read", { exact: true }).check();
  await owner.getByLabel("Platform permissions").fill("clusters:deploy");
  await owner.getByRole("button", { name: "Create role" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Created the role deployer/);
  const headers = await owner.locator("table.matrix thead th").allInnerTexts();
  const column = headers.findIndex((h) => h.trim().toLowerCase() === "deployer");
  assert.ok(column > 0, headers.join(", "));
  const deployRow = owner.locator("table.matrix tbody tr", { hasText: "clusters:deploy" });
  assert.equal(await deployRow.locator("td, th").nth(column).locator(".yes").count(), 1);
  await shot(owner, "roles");

  // Edit it: the description changes, the permissions stay.
  await owner.getByRole("link", { name: "deployer" }).click();
  await owner.getByLabel("Description").fill("Deploys to every cluster");
  await owner.getByRole("button", { name: "Save role" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Saved the role deployer/);
  assert.match(await owner.locator(".descriptions").innerText(), /deployer.*Deploys to every cluster/);

  // Give it to the dev group on a cluster, then ask why.
  await owner.goto(`${BASE}/o/${ORG}/access`);
  await owner.getByLabel("New resource").fill("clusters/prod");
  await owner.getByRole("button", { name: "Add resource" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Added clusters\/prod/);
  await owner.getByLabel("Grant to").selectOption("group");
  await owner.getByLabel("Name or email").fill("dev");
  await owner.getByLabel(/^Role/).selectOption("deployer");
  await owner.getByLabel("On resource").fill("clusters/prod");
  await owner.getByRole("button", { name: "Grant" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Granted deployer/);
  const why = async (user, action, resource) => {
    await owner.getByLabel("Member", { exact: true }).fill(user);
    await owner.getByLabel("Action", { exact: true }).fill(action);
    await owner.getByLabel("Resource", { exact: true }).fill(resource);
    await owner.getByRole("button", { name: "Check" }).click();
    await owner.waitForLoadState();
    return owner.locator(".decision").innerText();
  };
  // Toby, a viewer, may not deploy until he joins dev.
  assert.match(await why("toby@dundermifflin.com", "clusters:deploy", "clusters/prod"), /^Denied/);
  await owner.goto(`${BASE}/o/${ORG}/groups/dev`);
  await owner.getByLabel("Add member").selectOption({ label: "Toby Flenderson (toby@dundermifflin.com)" });
  await owner.getByRole("button", { name: "Add", exact: true }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Added to dev/);
  assert.equal(await row(owner, "toby@").count(), 1);
  await owner.goto(`${BASE}/o/${ORG}/access`);
  assert.match(await why("toby@dundermifflin.com", "clusters:deploy", "clusters/prod"), /^Allowed[\s\S]*deployer/);

  // Under prod, staging puts deploys behind one approval.
  await owner.getByLabel("New resource").fill("clusters/staging");
  await owner.getByLabel("Parent").fill("clusters/prod");
  await owner.getByLabel("Actions that need review").fill("clusters:deploy");
  await owner.getByRole("button", { name: "Add resource" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Added clusters\/staging/);
  assert.match(await why("toby@dundermifflin.com", "clusters:deploy", "clusters/staging"), /^Denied[\s\S]*review/);
  await shot(owner, "access");

  // Toby asks; the owner approves; the check now allows, naming the request.
  const toby = await newPage();
  await signIn(toby, "toby@dundermifflin.com", "toby-password-1");
  await toby.goto(`${BASE}/o/${ORG}/requests`);
  await toby.getByLabel("Action").fill("clusters:deploy");
  await toby.getByLabel("Resource").fill("clusters/staging");
  await toby.getByLabel("Reason").fill("release 4.2");
  await toby.getByRole("button", { name: "Ask" }).click();
  await toby.waitForLoadState();
  await expectText(flash(toby), /Asked for review/);
  assert.equal(await toby.getByRole("button", { name: "Approve" }).count(), 0, "a viewer cannot approve");
  await toby.context().close();

  await owner.goto(`${BASE}/o/${ORG}/requests`);
  const pending = owner.locator("tbody tr", { hasText: "release 4.2" });
  assert.match(await pending.innerText(), /toby@dundermifflin.com[\s\S]*pending/);
  await shot(owner, "requests");
  await pending.getByRole("button", { name: "Approve" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /is approved/);
  await owner.goto(`${BASE}/o/${ORG}/access`);
  assert.match(await why("toby@dundermifflin.com", "clusters:deploy", "clusters/staging"), /^Allowed[\s\S]*request/);

  // Gate staging to support, which Toby is not in: the approval no longer helps.
  await owner.getByRole("link", { name: "Edit clusters/staging" }).click();
  await owner.getByLabel(/^Only for groups/).fill("support");
  await owner.getByRole("button", { name: "Save resource" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Saved clusters\/staging/);
  assert.match(await owner.locator("tbody tr", { hasText: "clusters/staging" }).innerText(), /support/);
  assert.match(await why("toby@dundermifflin.com", "clusters:deploy", "clusters/staging"), /^Denied[\s\S]*support/);
});

test("the org switcher changes org without signing out, keeping the section", async () => {
  // A second org, through the API (which takes bearer tokens only: the
  // console's cookie does not work there, so a page elsewhere cannot use it).
  const withCookie = await owner.request.post(`${BASE}/api/v1/orgs`, { data: { slug: "sabre", name: "Sabre" } });
  assert.equal(withCookie.status(), 401);
  const login = await owner.request.post(`${BASE}/api/v1/auth/login`, { data: { email: OWNER, password: OWNER_PASSWORD } });
  const { token } = await login.json();
  const res = await owner.request.post(`${BASE}/api/v1/orgs`, {
    data: { slug: "sabre", name: "Sabre" },
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status(), 201);
  await owner.goto(`${BASE}/o/${ORG}/groups`);
  await owner.getByLabel("Organization").selectOption("sabre");
  await owner.waitForURL(`${BASE}/o/sabre/groups`);
  assert.match(await owner.locator(".side .org-name").innerText(), /Sabre/);
  assert.match(await owner.locator("td.empty").innerText(), /No groups yet/);
  await shot(owner, "org-switcher");
  await owner.getByLabel("Organization").selectOption(ORG);
  await owner.waitForURL(`${BASE}/o/${ORG}/groups`);
  assert.equal(await owner.locator("tbody tr", { hasText: "dev" }).count(), 1);
});

test("someone who already has an account signs in from the invitation and joins", async () => {
  await owner.goto(`${BASE}/o/sabre/invitations`);
  await owner.getByLabel("Email addresses").fill("pam@dundermifflin.com");
  await owner.getByLabel("Role for these addresses").selectOption("contributor");
  await owner.getByRole("button", { name: "Continue" }).click();
  await owner.getByRole("button", { name: "Send 1 invitation" }).click();
  await owner.waitForLoadState();
  const link = await owner.getByLabel("Invitation link for pam@dundermifflin.com").inputValue();

  const pam = await newPage();
  await pam.goto(link);
  await pam.getByRole("link", { name: "Sign in to accept" }).click();
  await pam.waitForLoadState();
  await pam.getByLabel("Email").fill("pam@dundermifflin.com");
  await pam.getByLabel("Password").fill("pam-password-1");
  await pam.getByRole("button", { name: "Sign in", exact: true }).click();
  await pam.waitForURL(link);
  await pam.getByRole("button", { name: "Join Sabre as contributor" }).click();
  await pam.waitForURL(`${BASE}/o/sabre/users`);
  await expectText(flash(pam), /You joined sabre as contributor/);
  // Both orgs are in her switcher now.
  const orgs = await pam.getByLabel("Organization").locator("option").allInnerTexts();
  assert.ok(orgs.includes("Sabre") && orgs.includes("dunder"), orgs.join(", "));
  await pam.context().close();
});

test("the audit log filters and downloads as CSV and JSON Lines", async () => {
  await owner.goto(`${BASE}/o/${ORG}/audit`);
  await owner.getByLabel("Action").fill("member.");
  await owner.getByRole("button", { name: "Filter" }).click();
  await owner.waitForLoadState();
  const actions = await owner.locator("tbody tr td:nth-child(4)").allInnerTexts();
  assert.ok(actions.length > 0 && actions.every((a) => a.startsWith("member.")), actions.join(", "));
  assert.ok(actions.includes("member.remove"));
  await shot(owner, "audit");

  const [csv] = await Promise.all([owner.waitForEvent("download"), owner.getByRole("link", { name: "Download CSV" }).click()]);
  const text = await readFile(await csv.path(), "utf8");
  const lines = text.trim().split("\n");
  assert.match(lines[0], /^# roster audit head: org=\S+ count=\d+ hash=[0-9a-f]{64}/);
  assert.match(lines[1], /^id,at,actor_id,actor_email/);
  assert.equal(lines.length - 2, actions.length, "the download has the filtered events");
  assert.ok(lines.slice(2).every((l) => l.includes(",member.")));

  const [jsonl] = await Promise.all([owner.waitForEvent("download"), owner.getByRole("link", { name: "Download JSON Lines" }).click()]);
  const all = (await readFile(await jsonl.path(), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
  const head = all.pop().head;
  assert.match(head.hash, /^[0-9a-f]{64}$/, "the export ends with the chain's head");
  assert.ok(await owner.getByText(head.hash).isVisible(), "the page shows the same head");
  const events = all;
  assert.equal(events.length, actions.length);
  assert.ok(events.some((e) => e.action === "member.remove" && e.channel === "console"));
});

test("the other pages render for an owner, and the list is usable on a phone", async () => {
  for (const [path, name] of [
    ["/profile", "profile"],
  ]) {
    const res = await owner.goto(`${BASE}${path}`);
    assert.equal(res.status(), 200, path);
    await shot(owner, name);
  }
  const phone = await newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  await signIn(phone, OWNER, OWNER_PASSWORD);
  await phone.waitForURL(`${BASE}/o/${ORG}/users`);
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 400, `the page fits a phone (${width}px)`);
  await shot(phone, "users-phone");
  await phone.context().close();
});

/** The console's main pages, as paths. */
const MAIN_PAGES = [
  "/o/ORG/users",
  "/o/ORG/users/new",
  "/o/ORG/invitations",
  "/o/ORG/approvals",
  "/o/ORG/roles",
  "/o/ORG/groups",
  "/o/ORG/access",
  "/o/ORG/requests",
  "/o/ORG/audit",
  "/o/ORG/tokens",
  "/o/ORG/service-accounts",
  "/o/ORG/webhooks",
  "/o/ORG/settings",
  "/profile",
];

test("no main page scrolls sideways at 1280 px or on a 390 px phone", async () => {
  const overflowing = [];
  for (const [width, height, isMobile] of [[1280, 860, false], [390, 844, true]]) {
    const page = await newPage({ viewport: { width, height }, isMobile });
    await signIn(page, OWNER, OWNER_PASSWORD);
    for (const path of MAIN_PAGES.map((p) => p.replace("ORG", ORG))) {
      const res = await page.goto(`${BASE}${path}`);
      assert.equal(res.status(), 200, path);
      const { scroll, client, wide } = await page.evaluate(() => {
        const root = document.documentElement;
        // What sticks out past the viewport, to say where to look.
        const wide = [...document.querySelectorAll("body *")]
          .filter((e) => e.getBoundingClientRect().right > root.clientWidth + 1)
          .slice(0, 3)
          .map((e) => `${e.tagName.toLowerCase()}${e.className ? "." + String(e.className).split(" ")[0] : ""}`);
        return { scroll: root.scrollWidth, client: root.clientWidth, wide };
      });
      if (scroll > client) overflowing.push(`${path} at ${width}px: ${scroll} > ${client} (${wide.join(", ")})`);
      // No cell squeezed: every column keeps room for a word, and a long
      // text (an audit event's details) gets a column wide enough that it
      // does not stand as a tall narrow strip.
      const slivers = await page.evaluate(() =>
        [...document.querySelectorAll("table tbody td:not(.actions)")]
          .filter((td) => {
            const text = td.innerText.trim();
            const box = td.getBoundingClientRect();
            const line = parseFloat(getComputedStyle(td).lineHeight) || 20;
            const sliver = text.length > 12 && box.width < 80;
            const strip = text.length > 60 && box.width < 200 && box.height > 4 * line;
            return sliver || strip;
          })
          .map((td) => `${td.innerText.trim().slice(0, 30)} (${Math.round(td.getBoundingClientRect().width)}px)`)
          .slice(0, 3),
      );
      if (path.endsWith("/audit") && width === 1280) {
        // The check above means something only if some details are long.
        const longest = await page.evaluate(() =>
          Math.max(0, ...[...document.querySelectorAll("td.details")].map((td) => td.innerText.trim().length)),
        );
        assert.ok(longest > 60, `the audit page shows long details to lay out (longest ${longest})`);
      }
      if (width === 1280 && slivers.length) overflowing.push(`${path} at ${width}px squeezes cells: ${slivers.join(" | ")}`);
    }
    if (width === 1280) {
      // The users table's last column (Edit) is inside the viewport.
      await page.goto(`${BASE}/o/${ORG}/users`);
      const seen = await page.evaluate(() => {
        const cells = document.querySelector("tbody tr").querySelectorAll("td");
        const edit = cells[cells.length - 1].getBoundingClientRect();
        const wrap = (cells[0].closest(".table-wrap") || document.documentElement).getBoundingClientRect();
        return { right: edit.right, visible: Math.min(wrap.right, document.documentElement.clientWidth) };
      });
      if (seen.right > seen.visible + 1) overflowing.push(`the users table's Edit column is cut off (${JSON.stringify(seen)})`);
    }
    await page.context().close();
  }
  assert.deepEqual(overflowing, [], overflowing.join("\n"));
});

/** The TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) of a base32 secret at
 * time step `step`, as an authenticator app computes it. */
function totp(secret, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

/** The current 30-second step, once at least 12 s of it are left. */
async function freshStep() {
  for (;;) {
    const now = Math.floor(Date.now() / 1000);
    if (30 - (now % 30) >= 12) return Math.floor(now / 30);
    await new Promise((r) => setTimeout(r, (31 - (now % 30)) * 1000));
  }
}

test("a member enrols an authenticator app from the QR code, keeps the recovery codes shown once, and signs in with a code", async () => {
  const michael = await newPage();
  await signIn(michael, "michael@dundermifflin.com", "michael-new-password");
  await michael.goto(`${BASE}/profile`);
  await michael.getByRole("link", { name: "Set up" }).click();
  await michael.getByRole("button", { name: "Set up an authenticator app" }).click();
  await michael.waitForLoadState();
  assert.equal(await michael.locator(".qr svg").count(), 1, "the QR code is on the page");
  const secret = (await michael.locator("code.secret").innerText()).trim();
  await shot(michael, "mfa-enrol");
  const step = await freshStep();
  // A wrong code turns nothing on.
  await michael.getByLabel("Code from the app").fill(totp(secret, step + 5));
  await michael.getByRole("button", { name: "Turn on" }).click();
  await michael.waitForLoadState();
  await expectText(flash(michael), /not correct/);
  await michael.getByRole("button", { name: "Set up an authenticator app" }).click();
  await michael.waitForLoadState();
  const secret2 = (await michael.locator("code.secret").innerText()).trim();
  await michael.getByLabel("Code from the app").fill(totp(secret2, step - 1));
  await michael.getByRole("button", { name: "Turn on" }).click();
  await michael.waitForLoadState();
  const codes = await michael.getByRole("list", { name: "Recovery codes" }).locator("code").allInnerTexts();
  assert.equal(codes.length, 10);
  await shot(michael, "mfa-recovery-codes");
  // Shown once: not on the page any more.
  await michael.goto(`${BASE}/profile/mfa`);
  assert.ok(!(await michael.content()).includes(codes[0]));
  await expectText(michael.locator("h2"), /Authenticator app: on/);
  await michael.getByRole("button", { name: "Sign out" }).first().click();
  await michael.waitForLoadState();

  // The sign-in page asks for the second factor.
  await signIn(michael, "michael@dundermifflin.com", "michael-new-password");
  assert.equal(new URL(michael.url()).pathname, "/login/mfa");
  await michael.goto(`${BASE}/o/${ORG}/users`);
  assert.equal(new URL(michael.url()).pathname, "/login/mfa", "nothing opens before the code");
  await shot(michael, "mfa-sign-in");
  await michael.getByLabel("Code").fill(totp(secret2, step));
  await michael.getByRole("button", { name: "Continue" }).click();
  await michael.waitForURL(`${BASE}/o/${ORG}/users`);
  // A recovery code works too, once.
  const again = await newPage();
  await signIn(again, "michael@dundermifflin.com", "michael-new-password");
  await again.getByLabel("Code").fill(codes[0]);
  await again.getByRole("button", { name: "Continue" }).click();
  await again.waitForURL(`${BASE}/o/${ORG}/users`);
  await again.context().close();
  await michael.context().close();
});

test("the sign-in page offers a password reset that answers the same for any address", async () => {
  const page = await newPage();
  await page.goto(`${BASE}/login`);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email").fill("nobody@dundermifflin.com");
  await page.getByRole("button", { name: /Email me a link/ }).click();
  await page.waitForLoadState();
  await expectText(flash(page), /If nobody@dundermifflin.com has an account, a link is on its way/);
  await shot(page, "password-reset");
  await page.context().close();
});

test("the org settings page sets the MFA policy", async () => {
  await owner.goto(`${BASE}/o/${ORG}/settings`);
  assert.equal(await owner.getByLabel("MFA policy").inputValue(), "optional");
});

test("signing out ends the session", async () => {
  await owner.goto(`${BASE}/o/${ORG}/users`);
  await owner.getByRole("button", { name: "Sign out" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /signed out/);
  await owner.goto(`${BASE}/o/${ORG}/users`);
  assert.match(owner.url(), /\/login/);
});

test("no page had a script error or a blocked resource", () => {
  assert.deepEqual(errors, []);
});

test("a new person at the org's domain continues with SSO and lands in the org with the mapped role and group", async () => {
  const idp = process.env.ROSTER_OIDC_PROVIDER;
  const owner = await newPage();
  await signIn(owner, OWNER, OWNER_PASSWORD);
  await owner.goto(`${BASE}/o/${ORG}/settings/sso`);
  await owner.getByLabel(/^Name/).fill("paper-idp");
  await owner.getByLabel("Issuer URL").fill(idp);
  await owner.getByLabel("Client id").fill("roster");
  await owner.getByLabel("Client secret").fill("browser-secret-1");
  await owner.getByLabel(/^Domains/).fill("paper.test");
  await owner.getByRole("button", { name: "Add connection" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Added SSO connection paper-idp/);
  await owner.getByLabel("Mappings").fill("sales, sales, contributor");
  await owner.getByRole("button", { name: "Save mappings" }).click();
  await owner.waitForLoadState();
  await expectText(flash(owner), /Saved 1 group mappings/);
  await shot(owner, "sso-settings");
  const put = await fetch(`${idp}/users/jim`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "jim@paper.test", email_verified: true, name: "Jim Halpert", groups: ["sales"] }),
  });
  assert.ok(put.ok);

  const jim = await newPage();
  await jim.goto(`${BASE}/login`);
  const sso = jim.getByRole("button", { name: "Continue with SSO" });
  assert.equal(await sso.isVisible(), false, "no SSO button before an SSO domain is typed");
  await jim.getByLabel("Email", { exact: true }).fill("jim@paper.test");
  await sso.waitFor({ state: "visible" });
  await sso.click();
  await jim.waitForURL((url) => url.href.startsWith(idp));
  await jim.locator("input[name=sub]").fill("jim");
  await jim.getByRole("button", { name: "Authorize" }).click();
  await jim.waitForURL(`${BASE}/o/${ORG}/users`);
  await expectText(jim.locator("main"), /jim@paper\.test/);

  await owner.goto(`${BASE}/o/${ORG}/users?email=jim`);
  const row = owner.locator("tr", { hasText: "jim@paper.test" });
  await expectText(row, /contributor/);
  await expectText(row, /sales/);
});
