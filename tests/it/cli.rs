//! Black-box tests of the real `roster` binary: `roster serve` in a child
//! process, and CLI commands against it, as a person would type them.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::helpers::{serve, serve_with, Server, BIN};

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
    // Two events, then the chain's head.
    assert_eq!(exported.lines().count(), 3, "{exported}");
    assert!(exported
        .lines()
        .take(2)
        .all(|l| l.contains("\"member.create\"")));
    assert!(exported.lines().last().unwrap().starts_with("{\"head\":"));

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

/// Logs in from the config dir `cfg` and makes `dunder` the current org.
fn login_to_dunder(server: &Server, cfg: &Path, email: &str, password: &str) {
    ok(roster(
        server,
        cfg,
        &["login", "--email", email, "--password-stdin"],
        Some(&format!("{password}\n")),
    ));
    ok(roster(server, cfg, &["orgs", "switch", "dunder"], None));
}

/// Adds a member as the owner (signed in at `owner`); with `home`, the
/// member signs in there and replaces the temporary password. Returns the
/// member's id.
fn add_member(server: &Server, owner: &Path, email: &str, home: Option<&Path>) -> String {
    let created: serde_json::Value = serde_json::from_str(&ok(roster(
        server,
        owner,
        &[
            "users", "create", "--email", email, "--role", "viewer", "--output", "json",
        ],
        None,
    )))
    .unwrap();
    if let Some(home) = home {
        let temp = created["temporary_password"].as_str().unwrap();
        ok(roster(
            server,
            home,
            &["login", "--email", email, "--password-stdin"],
            Some(&format!("{temp}\n")),
        ));
        ok(roster(
            server,
            home,
            &["password", "change", "--password-stdin"],
            Some(&format!("{temp}\n{email}-password-1\n")),
        ));
        ok(roster(server, home, &["orgs", "switch", "dunder"], None));
    }
    created["user"]["id"].as_i64().unwrap().to_string()
}

/// A command line's words (none of which may hold a space).
fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// `roster check --user USER --action ACTION --resource RESOURCE`, then
/// any `more` flags.
fn check_args<'a>(
    user: &'a str,
    action: &'a str,
    resource: &'a str,
    more: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "check",
        "--user",
        user,
        "--action",
        action,
        "--resource",
        resource,
    ];
    args.extend(more);
    args
}

/// Runs `roster check` about `user` and returns its one line, checking that
/// it exits 0 whatever the decision.
#[track_caller]
fn check(server: &Server, cfg: &Path, user: &str, action: &str, resource: &str) -> String {
    let out = roster(server, cfg, &check_args(user, action, resource, &[]), None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a decision is an answer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    stdout
}

#[test]
fn an_owner_grants_a_custom_role_to_a_group_and_check_explains_decisions() {
    let server = serve();
    let owner_home = tempfile::tempdir().unwrap();
    let owner = owner_home.path();
    login_to_dunder(&server, owner, "boss@dundermifflin.com", "boss-password-1");
    let as_owner = |args: &[&str]| roster(&server, owner, args, None);

    let role = ok(as_owner(&[
        "roles",
        "create",
        "devops",
        "--permissions",
        "clusters:*,environments:read,projects:read",
        "--description",
        "Runs the clusters",
    ]));
    assert!(
        role.contains("devops") && role.contains("clusters:*"),
        "{role}"
    );
    let matrix = ok(as_owner(&["roles", "list"]));
    assert!(
        matrix.lines().next().unwrap().contains("devops") && matrix.contains("clusters:*"),
        "custom roles are columns of the matrix: {matrix}"
    );

    ok(as_owner(&["resources", "create", "projects/payments"]));
    ok(as_owner(&[
        "resources",
        "create",
        "environments/prod",
        "--parent",
        "projects/payments",
    ]));
    let cluster = ok(as_owner(&[
        "resources",
        "create",
        "clusters/eu-1",
        "--parent",
        "environments/prod",
        "--output",
        "json",
    ]));
    let cluster: serde_json::Value = serde_json::from_str(&cluster).unwrap();
    assert_eq!(cluster["parent"], "environments/prod");
    ok(as_owner(&["resources", "create", "clusters/us-1"]));
    let tree = ok(as_owner(&[
        "resources",
        "list",
        "--parent",
        "environments/prod",
    ]));
    assert!(
        tree.contains("clusters/eu-1") && !tree.contains("clusters/us-1"),
        "{tree}"
    );

    let pam = add_member(&server, owner, "pam@dundermifflin.com", None);
    add_member(&server, owner, "dwight@dundermifflin.com", None);
    ok(as_owner(&["groups", "create", "dev"]));
    ok(as_owner(&["groups", "add", "dev", "--user", &pam]));
    let grant = [
        "access",
        "grant",
        "--role",
        "devops",
        "--group",
        "dev",
        "--resource",
        "projects/payments",
    ];
    let granted = ok(as_owner(&[&grant[..], &["--output", "json"]].concat()));
    let rule: serde_json::Value = serde_json::from_str(&granted).unwrap();
    let rule_id = rule["id"].as_i64().unwrap();
    assert_eq!(rule["group"], "dev");
    assert_eq!(rule["resource"], "projects/payments");
    let again = ok(as_owner(&grant));
    assert!(
        again.contains(&format!("Rule {rule_id} grants that already")),
        "{again}"
    );
    let rules = ok(as_owner(&["access", "list", "--group", "dev"]));
    assert!(
        rules.contains("group dev") && rules.contains("projects/payments"),
        "{rules}"
    );

    // Allowed through the group's rule on an ancestor, with the reason.
    let allowed = check(
        &server,
        owner,
        "pam@dundermifflin.com",
        "clusters:deploy",
        "clusters/eu-1",
    );
    assert_eq!(
        allowed,
        format!(
            "allowed: allowed by access rule {rule_id}: group dev has role devops on projects/payments"
        )
    );
    // Denied outside the granted subtree, and for someone outside the group.
    let outside = check(
        &server,
        owner,
        "pam@dundermifflin.com",
        "clusters:deploy",
        "clusters/us-1",
    );
    assert_eq!(
        outside,
        "denied: no role, access rule or approved request grants clusters:deploy on clusters/us-1"
    );
    let not_in_group = check(
        &server,
        owner,
        "dwight@dundermifflin.com",
        "clusters:deploy",
        "clusters/eu-1",
    );
    assert!(not_in_group.starts_with("denied: "), "{not_in_group}");
    let json: serde_json::Value = serde_json::from_str(&ok(as_owner(&check_args(
        "dwight@dundermifflin.com",
        "clusters:deploy",
        "clusters/eu-1",
        &["--output", "json"],
    ))))
    .unwrap();
    assert_eq!(json["allowed"], false);
    assert_eq!(json["code"], "no_grant");

    let deployable = ok(as_owner(&[
        "resources",
        "list",
        "--user",
        "pam@dundermifflin.com",
        "--action",
        "clusters:deploy",
    ]));
    assert!(
        deployable.contains("clusters/eu-1") && !deployable.contains("clusters/us-1"),
        "{deployable}"
    );
    let permissions = ok(as_owner(&[
        "users",
        "permissions",
        &pam,
        "--resource",
        "clusters/eu-1",
    ]));
    assert!(
        permissions
            .lines()
            .any(|l| l.starts_with("clusters:deploy")
                && l.contains(&format!("access rule {rule_id}"))),
        "{permissions}"
    );

    // Revoking the rule takes the access away at once.
    ok(as_owner(&["access", "revoke", &rule_id.to_string()]));
    let revoked = check(
        &server,
        owner,
        "pam@dundermifflin.com",
        "clusters:deploy",
        "clusters/eu-1",
    );
    assert!(revoked.starts_with("denied: "), "{revoked}");
    // A role no longer in use can go; a subtree only with --cascade.
    ok(as_owner(&["roles", "delete", "devops", "--yes"]));
    let err = fails(as_owner(&[
        "resources",
        "delete",
        "projects/payments",
        "--yes",
    ]));
    assert!(err.contains("--cascade"), "{err}");
    ok(as_owner(&[
        "resources",
        "delete",
        "projects/payments",
        "--cascade",
        "--yes",
    ]));
    let left = ok(as_owner(&["resources", "list"]));
    assert!(
        !left.contains("clusters/eu-1") && left.contains("clusters/us-1"),
        "{left}"
    );
}

#[test]
fn a_member_requests_review_an_owner_approves_and_check_allows() {
    let server = serve();
    let (owner_home, jim_home) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (owner, jim) = (owner_home.path(), jim_home.path());
    login_to_dunder(&server, owner, "boss@dundermifflin.com", "boss-password-1");
    add_member(&server, owner, "jim@dundermifflin.com", Some(jim));
    let as_owner = |args: &[&str]| roster(&server, owner, args, None);
    let as_jim = |args: &[&str]| roster(&server, jim, args, None);
    ok(as_owner(&[
        "roles",
        "create",
        "deployer",
        "--permissions",
        "clusters:deploy",
    ]));
    let env = ok(as_owner(&[
        "resources",
        "create",
        "environments/prod",
        "--review-actions",
        "clusters:deploy",
    ]));
    assert!(env.contains("clusters:deploy (1 approval)"), "{env}");
    ok(as_owner(&[
        "resources",
        "create",
        "clusters/eu-2",
        "--parent",
        "environments/prod",
    ]));
    let granted: serde_json::Value = serde_json::from_str(&ok(as_owner(&[
        "access",
        "grant",
        "--role",
        "deployer",
        "--user",
        "jim@dundermifflin.com",
        "--resource",
        "environments/prod",
        "--output",
        "json",
    ])))
    .unwrap();
    let rule_id = granted["id"].as_i64().unwrap();
    let deploy = ("jim@dundermifflin.com", "clusters:deploy", "clusters/eu-2");
    assert_eq!(
        check(&server, owner, deploy.0, deploy.1, deploy.2),
        "denied: clusters:deploy on clusters/eu-2 needs an approved review request \
         (policy set on environments/prod), and the user has none"
    );

    // Jim asks; he cannot approve his own request.
    let created: serde_json::Value = serde_json::from_str(&ok(as_jim(&[
        "requests",
        "create",
        "--resource",
        "clusters/eu-2",
        "--action",
        "clusters:deploy",
        "--reason",
        "hotfix for the payments outage",
        "--duration",
        "2h",
        "--output",
        "json",
    ])))
    .unwrap();
    assert_eq!(created["status"], "pending");
    assert_eq!(created["duration_seconds"], 7200);
    let id = created["id"].as_i64().unwrap().to_string();
    let err = fails(as_jim(&["requests", "approve", &id]));
    assert!(err.contains("own request"), "{err}");
    let mine = ok(as_jim(&["requests", "list", "--mine"]));
    assert!(
        mine.contains("clusters/eu-2") && mine.contains("pending"),
        "{mine}"
    );

    // The owner sees it waiting and approves it.
    let pending = ok(as_owner(&[
        "requests", "list", "--status", "pending", "--all",
    ]));
    assert!(
        pending.contains("jim@dundermifflin.com") && pending.contains("clusters:deploy"),
        "{pending}"
    );
    let approved = ok(as_owner(&[
        "requests",
        "approve",
        &id,
        "--comment",
        "go ahead",
    ]));
    assert!(
        approved.starts_with(&format!("Request {id} is approved: jim@dundermifflin.com")),
        "{approved}"
    );
    let shown: serde_json::Value = serde_json::from_str(&ok(as_owner(&[
        "requests", "show", &id, "--output", "json",
    ])))
    .unwrap();
    assert_eq!(shown["status"], "approved");
    assert_eq!(shown["votes"][0]["reviewer"], "boss@dundermifflin.com");
    assert_eq!(shown["votes"][0]["comment"], "go ahead");

    // Now the check allows, naming the rule and the request; Jim may ask
    // about himself.
    let allowed = check(&server, jim, deploy.0, deploy.1, deploy.2);
    assert!(
        allowed.starts_with(&format!(
            "allowed: allowed by access rule {rule_id}: the user has role deployer on environments/prod; \
             review satisfied by approved request {id}, until "
        )),
        "{allowed}"
    );
    let err = fails(as_owner(&["requests", "reject", &id]));
    assert!(err.contains("approved already"), "{err}");
}

#[test]
fn bad_access_input_fails_with_one_line() {
    let server = serve();
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path();
    login_to_dunder(&server, cfg, "boss@dundermifflin.com", "boss-password-1");
    let as_owner = |args: &[&str]| roster(&server, cfg, args, None);
    ok(as_owner(&["resources", "create", "clusters/eu-1"]));

    let user = "boss@dundermifflin.com";
    let refused: [(Vec<&str>, &str); 5] = [
        (
            check_args(user, "clusters:explode", "clusters/eu-1", &[]),
            "unknown action \"clusters:explode\"",
        ),
        (
            check_args(user, "clusters:deploy", "clusters/nowhere", &[]),
            "no resource clusters/nowhere",
        ),
        (
            words("resources create clusters/eu-2 --review-actions clusters:explode"),
            "clusters:explode",
        ),
        (
            words("roles create odd --permissions clusters:fly"),
            "clusters:fly",
        ),
        (
            words(
                "requests create --resource clusters/eu-1 --action clusters:deploy \
                 --reason hotfix --duration 30m",
            ),
            "needs no review",
        ),
    ];
    for (args, reason) in refused {
        let err = fails(as_owner(&args));
        assert!(err.contains(reason), "{args:?}: {err}");
    }
    // Malformed arguments are usage errors (status 2) and reach no server.
    for args in [
        "requests list --status lost",
        "resources show clusters",
        "requests create --resource clusters/eu-1 --action clusters:deploy --reason x --duration 2y",
        "resource-types add queues --action drain:superuser",
    ] {
        let out = as_owner(&words(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let untouched = ok(as_owner(&["resources", "list"]));
    assert!(!untouched.contains("clusters/eu-2"), "{untouched}");
}

/// A platform's service account gets a token from the CLI, and the CLI runs
/// with that token from `ROSTER_TOKEN` (no saved session), as `GH_TOKEN`
/// does; revoked, it stops.
#[test]
fn a_service_account_token_runs_the_cli_from_roster_token() {
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
    ok(roster(&server, cfg, &["orgs", "switch", "dunder"], None));
    let made: serde_json::Value = serde_json::from_str(&ok(roster(
        &server,
        cfg,
        &[
            "service-accounts",
            "create",
            "platform",
            "--role",
            "viewer",
            "--output",
            "json",
        ],
        None,
    )))
    .unwrap();
    let id = made["id"].as_i64().unwrap().to_string();
    let out = ok(roster(
        &server,
        cfg,
        &[
            "service-accounts",
            "tokens",
            "create",
            &id,
            "--name",
            "checks",
            "--permissions",
            "users:read",
        ],
        None,
    ));
    let token = out.trim().to_owned();
    assert!(token.starts_with("rst_"), "{out}");
    let listed = ok(roster(&server, cfg, &["tokens", "list", "--all"], None));
    assert!(
        listed.contains("checks") && !listed.contains(&token),
        "{listed}"
    );

    // Another home with no session and no org: the token alone (its org
    // is the one it works in).
    let other = tempfile::tempdir().unwrap();
    let with_token = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("ROSTER_SERVER", &server.url)
            .env("ROSTER_CONFIG_DIR", other.path())
            .env("ROSTER_TOKEN", &token)
            .output()
            .unwrap()
    };
    let answer = ok(with_token(&[
        "check",
        "--user",
        "boss@dundermifflin.com",
        "--action",
        "users:read",
    ]));
    assert!(answer.starts_with("allowed"), "{answer}");
    // It holds only what its list names.
    let refused = fails(with_token(&["groups", "create", "nope"]));
    assert!(refused.contains("groups:manage"), "{refused}");

    let token_id = serde_json::from_str::<serde_json::Value>(&ok(roster(
        &server,
        cfg,
        &["tokens", "list", "--all", "--output", "json"],
        None,
    )))
    .unwrap()["items"][0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    ok(roster(
        &server,
        cfg,
        &["tokens", "revoke", &token_id, "--yes"],
        None,
    ));
    fails(with_token(&[
        "check",
        "--user",
        "boss@dundermifflin.com",
        "--action",
        "users:read",
    ]));
}

/// The current 30-second TOTP step, once at least 12 s of it are left.
fn fresh_step_blocking() -> i64 {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        if 30 - now % 30 >= 12 {
            return now / 30;
        }
        std::thread::sleep(std::time::Duration::from_secs((31 - now % 30) as u64));
    }
}

#[test]
fn a_person_enrols_a_second_factor_signs_in_with_codes_and_manages_sessions() {
    use std::io::BufRead;
    let server = serve();
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path();
    login_to_dunder(&server, cfg, "boss@dundermifflin.com", "boss-password-1");

    // `roster mfa enroll` prints the QR code and the secret, then asks for
    // a code (here on stdin, as the person would type it).
    let mut child = Command::new(BIN)
        .args(["mfa", "enroll", "--stdin"])
        .env("ROSTER_SERVER", &server.url)
        .env("ROSTER_CONFIG_DIR", cfg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    let secret = loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{printed}");
        printed.push_str(&line);
        if let Some(s) = line.trim().strip_prefix("Or enter this secret: ") {
            break s.to_owned();
        }
    };
    assert!(
        printed.contains('█') || printed.contains('▀'),
        "a QR code: {printed}"
    );
    let step = fresh_step_blocking();
    let mut input = child.stdin.take().unwrap();
    writeln!(input, "{}", crate::mfa::totp(&secret, step - 1)).unwrap();
    drop(input);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    assert!(rest.contains("URI: otpauth://totp/Roster:"), "{rest}");
    let recovery: Vec<String> = rest
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(str::to_owned)
        .collect();
    assert_eq!(recovery.len(), 10, "{rest}");

    // `roster login` asks for the code (the second line of stdin).
    ok(roster(&server, cfg, &["logout"], None));
    let refused = fails(roster(
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
    assert!(refused.contains("code"), "{refused}");
    ok(roster(
        &server,
        cfg,
        &[
            "login",
            "--email",
            "boss@dundermifflin.com",
            "--password-stdin",
        ],
        Some(&format!(
            "boss-password-1\n{}\n",
            crate::mfa::totp(&secret, step)
        )),
    ));
    let status = ok(roster(&server, cfg, &["mfa", "status"], None));
    assert!(
        status.contains("Recovery codes left") && status.contains("10"),
        "{status}"
    );
    let team = ok(roster(
        &server,
        cfg,
        &["users", "list", "--mfa", "true"],
        None,
    ));
    assert!(team.contains("boss@dundermifflin.com"), "{team}");
    let team = ok(roster(
        &server,
        cfg,
        &["users", "list", "--mfa", "false"],
        None,
    ));
    assert!(!team.contains("boss@dundermifflin.com"), "{team}");

    // Sessions: a second one, listed and revoked.
    let other = tempfile::tempdir().unwrap();
    ok(roster(
        &server,
        other.path(),
        &[
            "login",
            "--email",
            "boss@dundermifflin.com",
            "--password-stdin",
        ],
        Some(&format!("boss-password-1\n{}\n", recovery[0])),
    ));
    let sessions: serde_json::Value = serde_json::from_str(&ok(roster(
        &server,
        cfg,
        &["sessions", "list", "--output", "json"],
        None,
    )))
    .unwrap();
    let sessions = sessions["items"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let theirs = sessions
        .iter()
        .find(|s| !s["current"].as_bool().unwrap())
        .unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let listed = ok(roster(&server, cfg, &["sessions", "list"], None));
    assert!(listed.contains("LAST SEEN"), "{listed}");
    ok(roster(&server, cfg, &["sessions", "revoke", &theirs], None));
    fails(roster(&server, other.path(), &["orgs", "list"], None));

    // `roster mfa disable` needs the password and a code.
    fails(roster(
        &server,
        cfg,
        &["mfa", "disable", "--stdin"],
        Some("wrong-password\n123456\n"),
    ));
    ok(roster(
        &server,
        cfg,
        &["mfa", "disable", "--stdin"],
        Some(&format!("boss-password-1\n{}\n", recovery[1])),
    ));
    let status = ok(roster(&server, cfg, &["mfa", "status"], None));
    assert!(status.contains("no"), "{status}");
}

/// `roster login --sso EMAIL` against the real binary and a real OpenID
/// provider: the command prints the sign-in URL, the browser (driven here
/// step by step) goes through the provider and comes back to the
/// command's loopback receiver with a one-time code, and the command
/// trades it for a session. No token is in any URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_login_comes_back_through_the_loopback_receiver() {
    use crate::sso::{browser, callback, consent, location, sso_cookie, Provider};
    use std::io::BufRead;
    let idp = Provider::start(&[]).await;
    let server = serve_with(&[("ROSTER_OUTBOUND_ALLOW_PRIVATE", "true")]);
    let owner = crate::helpers::Api::new(&server.url, None)
        .login(&roster_proto::LoginRequest {
            email: "boss@dundermifflin.com".into(),
            password: "boss-password-1".into(),
            totp_code: None,
            recovery_code: None,
            passkey: None,
        })
        .await
        .unwrap();
    let owner = crate::helpers::Api::new(&server.url, Some(&owner.token));
    owner
        .create_sso_connection(
            "dunder",
            &roster_proto::CreateSsoConnectionRequest {
                name: Some("paper-idp".into()),
                issuer: idp.base.clone(),
                client_id: "roster".into(),
                client_secret: "s3cret-of-the-client".into(),
                domains: vec!["paper.test".into()],
                groups_claim: None,
                jit: None,
                enforce: None,
            },
        )
        .await
        .unwrap();
    idp.set_user(
        "jim",
        serde_json::json!({"email": "jim@paper.test", "email_verified": true, "name": "Jim Halpert"}),
    )
    .await;

    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["login", "--sso", "jim@paper.test", "--no-browser"])
        .env("ROSTER_SERVER", &server.url)
        .env("ROSTER_CONFIG_DIR", home.path())
        .env_remove("ROSTER_ORG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let (url, rest) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "no URL printed");
            if let Some(u) = line.trim().strip_prefix("http") {
                // Keep reading what the command says, so it never writes
                // to a closed pipe.
                let url = format!("http{u}");
                let rest = std::thread::spawn(move || {
                    let mut all = String::new();
                    let _ = std::io::Read::read_to_string(&mut err, &mut all);
                    all
                });
                return (url, rest);
            }
        }
    })
    .await
    .unwrap();
    assert!(url.starts_with(&format!("{}/api/v1/auth/sso/start?", server.url)));
    assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"));
    assert!(!url.contains("rss_"));

    let res = browser().get(&url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let cookie = sso_cookie(&res);
    let back = consent(&location(&res), "jim").await;
    let res = callback(&back, &cookie).await;
    assert_eq!(res.status(), 303, "to the CLI's receiver");
    let receiver = location(&res);
    assert!(receiver.starts_with("http://127.0.0.1:"), "{receiver}");
    let q: Vec<(String, String)> = url::Url::parse(&receiver)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(q.len(), 1, "only the one-time code: {receiver}");
    assert!(q[0].1.starts_with("rsh_"), "{receiver}");
    // The same code without the CLI's verifier is worth nothing.
    crate::helpers::Api::new(&server.url, None)
        .sso_exchange(&roster_proto::SsoExchangeRequest {
            code: q[0].1.clone(),
            verifier: "guessed-verifier".into(),
        })
        .await
        .unwrap_err();
    let page = browser().get(&receiver).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = stdout;
    // The wrong verifier above used the code up: the CLI's own exchange
    // is refused, and it says so.
    assert!(!out.status.success());
    let said = rest.join().unwrap();
    assert!(said.contains("invalid"), "{said}");

    // A second run, not disturbed, signs in.
    let mut child = Command::new(BIN)
        .args(["login", "--sso", "jim@paper.test", "--no-browser"])
        .env("ROSTER_SERVER", &server.url)
        .env("ROSTER_CONFIG_DIR", home.path())
        .env_remove("ROSTER_ORG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let (url, rest) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(err.read_line(&mut line).unwrap() > 0, "no URL printed");
            if let Some(u) = line.trim().strip_prefix("http") {
                // Keep reading what the command says, so it never writes
                // to a closed pipe.
                let url = format!("http{u}");
                let rest = std::thread::spawn(move || {
                    let mut all = String::new();
                    let _ = std::io::Read::read_to_string(&mut err, &mut all);
                    all
                });
                return (url, rest);
            }
        }
    })
    .await
    .unwrap();
    let res = browser().get(&url).send().await.unwrap();
    let cookie = sso_cookie(&res);
    let back = consent(&location(&res), "jim").await;
    let res = callback(&back, &cookie).await;
    let page = browser().get(location(&res)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let _ = rest.join();
    let stdout = ok(out);
    assert!(stdout.contains("jim@paper.test"), "{stdout}");
    let orgs = ok(roster(&server, home.path(), &["orgs", "list"], None));
    assert!(orgs.contains("dunder"), "{orgs}");
    let me = ok(roster(
        &server,
        home.path(),
        &["users", "list", "--org", "dunder", "--output", "json"],
        None,
    ));
    assert!(
        me.contains("paper-idp"),
        "the member shows the connection: {me}"
    );
}

#[test]
fn an_owner_makes_lists_and_revokes_scim_tokens_from_the_command_line() {
    let server = serve();
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path();
    login_to_dunder(&server, cfg, "boss@dundermifflin.com", "boss-password-1");
    let out = ok(roster(
        &server,
        cfg,
        &[
            "scim-tokens",
            "create",
            "--name",
            "okta",
            "--output",
            "json",
        ],
        None,
    ));
    let made: serde_json::Value = serde_json::from_str(&out).unwrap();
    let token = made["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("rsc_"), "{out}");
    let id = made["id"].as_i64().unwrap().to_string();

    // The token provisions the org through SCIM.
    let scim = |token: &str| {
        let url = format!("{}/scim/v2/Users", server.url);
        let token = token.to_owned();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                reqwest::Client::new()
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .join()
        .unwrap()
    };
    assert_eq!(scim(&token), 200);

    let listed = ok(roster(&server, cfg, &["scim-tokens", "list"], None));
    assert!(listed.contains("okta"), "{listed}");
    assert!(!listed.contains(&token), "secrets are never listed");
    let revoked = ok(roster(
        &server,
        cfg,
        &["scim-tokens", "revoke", &id, "--yes"],
        None,
    ));
    assert!(revoked.contains("Revoked SCIM token"), "{revoked}");
    assert_eq!(scim(&token), 401);
    let err = fails(roster(
        &server,
        cfg,
        &["scim-tokens", "revoke", &id, "--yes"],
        None,
    ));
    assert!(err.contains("not found"), "{err}");
}
