//! Black-box tests of the real `roster` binary: `roster serve` in a child
//! process, and CLI commands against it, as a person would type them.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_roster");

/// A `roster serve` child process, killed on drop.
struct Server {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("ROSTER_BOOTSTRAP_ORG", "dunder")
        .env("ROSTER_BOOTSTRAP_OWNER_EMAIL", "boss@dundermifflin.com")
        .env("ROSTER_BOOTSTRAP_OWNER_PASSWORD", "boss-password-1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first log line names the address that port 0 picked.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in the first log line: {first}"))
        .to_owned();
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if ready(&url) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Server {
        child,
        url,
        _dir: dir,
    }
}

/// Whether `GET /readyz` answers 200, over a plain socket.
fn ready(url: &str) -> bool {
    use std::io::Read;
    let addr = url.trim_start_matches("http://");
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

/// Runs `roster ARGS` with its own config dir, optionally feeding stdin.
fn roster(server: &Server, config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env("ROSTER_SERVER", &server.url)
        .env("ROSTER_CONFIG_DIR", config)
        .env_remove("ROSTER_ORG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

#[track_caller]
fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[track_caller]
fn fails(out: Output) -> String {
    assert!(
        !out.status.success(),
        "should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    stderr
}

#[test]
fn an_owner_manages_members_from_the_command_line() {
    let server = serve();
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path();
    ok(roster(
        &server,
        cfg,
        &[
            "login",
            "--email",
            "boss@dundermifflin.com",
            "--password-stdin",
        ],
        Some("boss-password-1\n"),
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cfg.join("credentials.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "credentials are private");
    }
    ok(roster(&server, cfg, &["orgs", "switch", "dunder"], None));

    let out = ok(roster(
        &server,
        cfg,
        &[
            "users",
            "create",
            "--name",
            "Michael Scott",
            "--email",
            "michael@dundermifflin.com",
            "--team",
            "engineering",
            "--groups",
            "dev,support",
        ],
        None,
    ));
    assert!(out.contains("Temporary password"), "{out}");
    ok(roster(
        &server,
        cfg,
        &[
            "users",
            "create",
            "--email",
            "dwight@dundermifflin.com",
            "--role",
            "admin",
            "--team",
            "sales",
        ],
        None,
    ));

    let json: serde_json::Value = serde_json::from_str(&ok(roster(
        &server,
        cfg,
        &["users", "list", "--group", "dev", "--output", "json"],
        None,
    )))
    .unwrap();
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["email"], "michael@dundermifflin.com");
    assert_eq!(items[0]["groups"], serde_json::json!(["dev", "support"]));
    let id = items[0]["id"].as_i64().unwrap().to_string();

    let table = ok(roster(
        &server,
        cfg,
        &["users", "list", "--team", "sales"],
        None,
    ));
    assert!(
        table.contains("dwight@dundermifflin.com") && !table.contains("michael@"),
        "{table}"
    );
    for column in [
        "NAME", "EMAIL", "ROLE", "TEAM", "GROUPS", "STATUS", "JOINED",
    ] {
        assert!(table.contains(column), "{column} in {table}");
    }

    ok(roster(&server, cfg, &["groups", "create", "sre"], None));
    ok(roster(
        &server,
        cfg,
        &["groups", "add", "sre", "--user", &id],
        None,
    ));
    let in_sre = ok(roster(
        &server,
        cfg,
        &["users", "list", "--group", "sre"],
        None,
    ));
    assert!(in_sre.contains("michael@dundermifflin.com"), "{in_sre}");
    let groups = ok(roster(&server, cfg, &["groups", "list"], None));
    assert!(
        groups.contains("sre") && groups.contains("dev") && groups.contains("support"),
        "{groups}"
    );
    ok(roster(
        &server,
        cfg,
        &["users", "update", "--id", &id, "--status", "disabled"],
        None,
    ));
    ok(roster(
        &server,
        cfg,
        &["users", "update", "--id", &id, "--status", "active"],
        None,
    ));
    let shown = ok(roster(
        &server,
        cfg,
        &["users", "show", &id, "--output", "json"],
        None,
    ));
    assert!(shown.contains("\"active\""), "{shown}");

    let roles = ok(roster(&server, cfg, &["roles", "list"], None));
    assert!(
        roles.contains("viewer-no-secrets") && roles.contains("owners:manage"),
        "{roles}"
    );
    let audit = ok(roster(
        &server,
        cfg,
        &["audit", "list", "--action", "member."],
        None,
    ));
    assert!(
        audit.contains("member.create") && audit.contains("cli"),
        "{audit}"
    );
    let exported = ok(roster(
        &server,
        cfg,
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--action",
            "member.create",
        ],
        None,
    ));
    assert_eq!(exported.lines().count(), 2, "{exported}");
    assert!(exported.lines().all(|l| l.contains("\"member.create\"")));

    // Mistakes get one clear line and a non-zero exit, and change nothing.
    let err = fails(roster(
        &server,
        cfg,
        &["users", "create", "--email", "not-an-email"],
        None,
    ));
    assert!(err.contains("email"), "{err}");
    fails(roster(
        &server,
        cfg,
        &["users", "update", "--id", "999999", "--role", "viewer"],
        None,
    ));
    let me = ok(roster(
        &server,
        cfg,
        &["users", "list", "--output", "json"],
        None,
    ));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&me).unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    ok(roster(
        &server,
        cfg,
        &["users", "delete", &id, "--yes"],
        None,
    ));
    ok(roster(&server, cfg, &["logout"], None));
    fails(roster(&server, cfg, &["users", "list"], None));
}

#[test]
fn a_removed_members_session_is_rejected_on_the_next_call() {
    let server = serve();
    let (owner_home, member_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    ok(roster(
        &server,
        owner_home.path(),
        &[
            "login",
            "--email",
            "boss@dundermifflin.com",
            "--password-stdin",
        ],
        Some("boss-password-1\n"),
    ));
    let created = ok(roster(
        &server,
        owner_home.path(),
        &[
            "users",
            "create",
            "--email",
            "jim@dundermifflin.com",
            "--role",
            "viewer",
            "--org",
            "dunder",
            "--output",
            "json",
        ],
        None,
    ));
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let temp = created["temporary_password"].as_str().unwrap();
    let id = created["user"]["id"].as_i64().unwrap().to_string();
    ok(roster(
        &server,
        member_home.path(),
        &[
            "login",
            "--email",
            "jim@dundermifflin.com",
            "--password-stdin",
        ],
        Some(&format!("{temp}\n")),
    ));
    // The temporary password must go first.
    fails(roster(
        &server,
        member_home.path(),
        &["users", "list", "--org", "dunder"],
        None,
    ));
    ok(roster(
        &server,
        member_home.path(),
        &["password", "change", "--password-stdin"],
        Some(&format!("{temp}\njim-new-password-1\n")),
    ));
    ok(roster(
        &server,
        member_home.path(),
        &["users", "list", "--org", "dunder"],
        None,
    ));
    ok(roster(
        &server,
        owner_home.path(),
        &["users", "delete", &id, "--yes", "--org", "dunder"],
        None,
    ));
    let err = fails(roster(
        &server,
        member_home.path(),
        &["users", "list", "--org", "dunder"],
        None,
    ));
    assert!(err.to_lowercase().contains("not found"), "{err}");
}

#[test]
fn a_bad_flag_is_a_usage_error() {
    let out = Command::new(BIN)
        .args(["users", "create", "--frobnicate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_owner_invites_from_the_command_line_and_a_newcomer_accepts_the_link() {
    let server = serve();
    let (owner_home, newcomer_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let owner = owner_home.path();
    ok(roster(
        &server,
        owner,
        &[
            "login",
            "--email",
            "boss@dundermifflin.com",
            "--password-stdin",
        ],
        Some("boss-password-1\n"),
    ));
    ok(roster(&server, owner, &["orgs", "switch", "dunder"], None));
    let out = roster(
        &server,
        owner,
        &[
            "invitations",
            "create",
            "--emails",
            "a@dm.test, b@dm.test",
            "--role",
            "viewer",
            "--invite",
            "c@dm.test:admin",
            "--invite",
            "bad-address",
            "--output",
            "json",
        ],
        None,
    );
    assert!(
        !out.status.success(),
        "a refused address makes the command fail"
    );
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = results["results"].as_array().unwrap();
    assert_eq!(
        results.iter().filter(|r| r["outcome"] == "created").count(),
        3
    );
    let link = results.iter().find(|r| r["email"] == "c@dm.test").unwrap()["link"]
        .as_str()
        .unwrap()
        .to_owned();

    let list = ok(roster(
        &server,
        owner,
        &["users", "list", "--status", "invited"],
        None,
    ));
    assert!(
        list.contains("a@dm.test") && list.contains("invited"),
        "{list}"
    );
    let pending = ok(roster(
        &server,
        owner,
        &["invitations", "list", "--status", "pending"],
        None,
    ));
    assert!(
        pending.contains("c@dm.test") && pending.contains("admin"),
        "{pending}"
    );

    ok(roster(
        &server,
        newcomer_home.path(),
        &[
            "invitations",
            "accept",
            &link,
            "--name",
            "Cee Admin",
            "--password-stdin",
        ],
        Some("cee-password-123\n"),
    ));
    // The newcomer is signed in and an admin of the org.
    let me = ok(roster(
        &server,
        newcomer_home.path(),
        &[
            "users",
            "list",
            "--org",
            "dunder",
            "--email",
            "c@dm.test",
            "--output",
            "json",
        ],
        None,
    ));
    assert!(
        me.contains("\"admin\"") && me.contains("\"active\""),
        "{me}"
    );
    let again = fails(roster(
        &server,
        newcomer_home.path(),
        &["invitations", "accept", &link],
        None,
    ));
    assert!(
        again.contains("invalid") || again.contains("used"),
        "{again}"
    );
}
