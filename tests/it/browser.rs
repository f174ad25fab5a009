//! The web console in a real browser: `tests/console/console.test.mjs`
//! drives Debian's Chromium through playwright-core against a real
//! `roster serve` started here. `.ci/run` installs both; on a machine
//! without them this test fails and says what to install.

use crate::helpers::serve_with;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One browser at a time: the two scripts do not run at once.
static BROWSER: Mutex<()> = Mutex::new(());

/// The test scripts' directory, with playwright-core installed, and the
/// Chromium to drive.
fn prepare() -> (PathBuf, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "the browser tests need Chromium at {chromium}: apt-get install chromium (or set CHROMIUM)"
    );
    if !dir.join("node_modules/playwright-core").exists() {
        let npm = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm runs (the browser tests need Node.js and npm)");
        assert!(npm.success(), "npm ci in tests/console failed");
    }
    (dir, chromium)
}

#[test]
fn every_console_flow_works_in_chromium() {
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, chromium) = prepare();
    let screenshots = std::env::var("ROSTER_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.join("screenshots"));
    // A real OpenID provider for the single sign-on flow; the server may
    // call it on loopback.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let idp = runtime.block_on(crate::sso::Provider::start(&[]));
    let server = serve_with(&[("ROSTER_OUTBOUND_ALLOW_PRIVATE", "true")]);
    let out = Command::new("node")
        .args(["--test", "--test-concurrency=1", "console.test.mjs"])
        .current_dir(&dir)
        .env("ROSTER_URL", &server.url)
        .env("ROSTER_ORG", "dunder")
        .env("ROSTER_OWNER_EMAIL", "boss@dundermifflin.com")
        .env("ROSTER_OWNER_PASSWORD", "boss-password-1")
        .env("ROSTER_SCREENSHOTS", &screenshots)
        .env("ROSTER_MAIL_LOG", server.mail_log())
        .env("CHROMIUM", &chromium)
        .env("ROSTER_OIDC_PROVIDER", &idp.base)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser tests failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The report names every step; make sure they all ran.
    assert!(report.contains("# fail 0"), "{report}");
    assert!(!report.contains("# pass 0"), "{report}");
}

/// Passkeys in Chromium with the DevTools virtual authenticator
/// (`tests/console/passkeys.test.mjs`): added from the profile, then the
/// second factor after the password, then alone, then removed.
#[test]
fn passkeys_work_in_chromium_with_a_virtual_authenticator() {
    let _one = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    let (dir, chromium) = prepare();
    let screenshots = std::env::var("ROSTER_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.join("screenshots"));
    let server = serve_with(&[]);
    let out = Command::new("node")
        .args(["--test", "--test-concurrency=1", "passkeys.test.mjs"])
        .current_dir(&dir)
        .env("ROSTER_URL", &server.url)
        .env("ROSTER_OWNER_EMAIL", "boss@dundermifflin.com")
        .env("ROSTER_OWNER_PASSWORD", "boss-password-1")
        .env("ROSTER_SCREENSHOTS", &screenshots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser tests failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("# fail 0"), "{report}");
    assert!(report.contains("# pass 7"), "every step ran: {report}");
}
