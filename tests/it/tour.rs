//! The README's CLI tour, run as written: the ```sh block under "## A tour
//! of the CLI" is read from README.md when the test runs, and every command
//! in it runs, in order, with the real `roster` binary against a real
//! `roster serve` started as the README's first command starts it
//! (`--bootstrap-owner you@example.com`: org `default`, a temporary
//! password printed once). A command that fails, or a shown output line
//! (`#   allowed: ...` under a command) that the command does not print,
//! fails the test.
//!
//! What a person types at a prompt, the harness supplies: the prompting
//! commands get their documented stdin flag and the answers on stdin (see
//! [`prepare`]). The few placeholders the README writes for values only
//! the run knows are replaced by rule ([`PLACEHOLDERS`]); Slack is the fake
//! Slack of tests/it/slack.rs ([`SLACK_CONNECT`]); the commands that cannot
//! run here are listed by exact text with the reason ([`SKIPPED`]). Nothing else is changed: ids are the ones a fresh server
//! gives when the tour runs from the top.

use crate::helpers::{serve_with, Server, BIN};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Commands of the tour that do not run here, by exact text, and why.
const SKIPPED: &[(&str, &str)] = &[
    (
        "cargo install --path .",
        "the test runs the binary cargo built for it (CI builds the release binary separately)",
    ),
    (
        "roster webhooks test 1",
        "delivers to https://siem.example.com, which is not reachable here; tests/it/webhooks.rs delivers to a receiver on loopback",
    ),
];

/// Placeholders the README writes, and what the harness puts in their place.
const PLACEHOLDERS: &[(&str, &str)] = &[
    (
        "http://127.0.0.1:8080/invite/rsi_...",
        "the invitation link in the newest mail to pam@dundermifflin.com (the server's mail log)",
    ),
    (
        "ROSTER_TOKEN=rst_...",
        "the token the last `roster service-accounts tokens create` printed",
    ),
    (
        "CODE",
        "the code the server answers to `/roster link`, sent (signed) as Slack would by the fake Slack of tests/it/slack.rs",
    ),
];

/// Slack is the fake Slack Web API of tests/it/slack.rs on loopback: `roster
/// slack connect` gets `--api-base-url` naming it (the server runs with
/// `ROSTER_OUTBOUND_ALLOW_PRIVATE`), and the signing secret and bot token
/// on stdin.
const SLACK_CONNECT: &str = "roster slack connect";

/// The commands that ask a person at the terminal, and the flag that makes
/// them read the same answers from stdin instead.
const PROMPTING: &[(&str, &str)] = &[
    ("roster login", "--password-stdin"),
    ("roster password change", "--password-stdin"),
    ("roster signup", "--password-stdin"),
    ("roster invitations accept", "--password-stdin"),
    ("roster mfa enroll", "--stdin"),
    ("roster mfa recovery-codes", "--stdin"),
    ("roster mfa disable", "--stdin"),
    ("roster slack connect", "--secrets-stdin"),
];

/// One command of the tour: its text as written (continuations joined,
/// comment removed) and the output lines the README shows under it.
#[derive(Debug)]
struct Step {
    text: String,
    shown: Vec<String>,
}

/// The ```sh block under "## A tour of the CLI" in `readme`.
fn tour_block(readme: &str) -> String {
    let start = readme
        .find("## A tour of the CLI")
        .expect("README.md has a section \"## A tour of the CLI\"");
    let rest = &readme[start..];
    let open = rest.find("```sh\n").expect("the tour has a ```sh block") + "```sh\n".len();
    let close = rest[open..].find("```").expect("the tour block ends") + open;
    rest[open..close].to_owned()
}

/// The commands of a block: lines ending in `\` are joined with the next,
/// `# ...` after a command is a comment, `;` separates commands on one
/// line, and a line `#   TEXT` (a hash and three spaces) is output the
/// command above it prints.
fn steps(block: &str) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut pending = String::new();
    for line in block.lines() {
        if pending.is_empty() {
            if let Some(shown) = line.strip_prefix("#   ") {
                steps
                    .last_mut()
                    .expect("shown output follows a command")
                    .shown
                    .push(shown.trim().to_owned());
                continue;
            }
            if line.trim_start().starts_with('#') || line.trim().is_empty() {
                continue;
            }
        }
        let code = strip_comment(line);
        if let Some(head) = code.trim_end().strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        pending.push_str(code.trim());
        for text in split_outside_quotes(&pending, ';') {
            steps.push(Step {
                text,
                shown: Vec::new(),
            });
        }
        pending.clear();
    }
    assert!(pending.is_empty(), "the block ends inside a command");
    steps
}

/// `line` without a `#` comment that starts outside quotes after a space.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// Splits on `sep` outside quotes, trimming and dropping empty parts.
fn split_outside_quotes(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quote = None;
    for c in s.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c == sep => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().unwrap().push(c);
    }
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The words of a command as a POSIX shell splits them (quotes removed);
/// the tour uses no expansions.
fn words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => words.extend(word.take()),
            _ => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "unbalanced quotes in {text}");
    words.extend(word);
    words
}

/// What the person running the tour knows as it goes: passwords set or
/// printed, the authenticator seed, recovery codes, tokens.
struct Person {
    /// The password a sign-in as each address would be typed with.
    passwords: HashMap<String, String>,
    /// The address the CLI is signed in as.
    signed_in: Option<String>,
    /// you@example.com's authenticator seed while enrolled.
    totp_secret: Option<String>,
    /// The time step of the last code given from the authenticator.
    last_step: i64,
    recovery_codes: Vec<String>,
    /// The last `rst_...` token a command printed.
    token: Option<String>,
    /// The fake Slack's API base URL.
    slack_base: String,
    /// The code `/roster link` answered in Slack.
    slack_code: Option<String>,
}

/// The password the tour's people choose for themselves.
fn chosen_password(email: &str) -> String {
    format!("{email}-chosen-pw-1")
}

/// A prepared command: arguments, environment and what goes to stdin.
struct Prepared {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Stdin,
}

enum Stdin {
    Lines(Vec<String>),
    /// `roster mfa enroll`: the code is computed from the seed it prints.
    EnrollCode,
}

/// The harness' rules, in one place: a placeholder is replaced
/// ([`PLACEHOLDERS`]), a prompting command gets its stdin flag
/// ([`PROMPTING`]) and the answers a person would type.
fn prepare(step: &Step, person: &mut Person, server: &Server) -> Prepared {
    let mut env = Vec::new();
    let mut text = step.text.clone();
    if let Some(rest) = text.strip_prefix("ROSTER_TOKEN=rst_... ") {
        let token = person.token.clone().expect("a token printed earlier");
        env.push(("ROSTER_TOKEN".to_owned(), token));
        text = rest.to_owned();
    }
    let invite = PLACEHOLDERS[0].0;
    if text.contains(invite) {
        let link = newest_link(server, "pam@dundermifflin.com", "/invite/");
        text = text.replace(invite, &link);
    }
    if text.starts_with("roster slack link ") {
        let code = person.slack_code.clone().expect("a code from /roster link");
        text = text.replace(" CODE", &format!(" {code}"));
    }
    assert!(
        !text.contains("...") && !text.starts_with("ROSTER_TOKEN=") && !text.contains(" CODE"),
        "an unknown placeholder in {text}"
    );
    let mut args = words(&text);
    assert_eq!(
        args.remove(0),
        "roster",
        "every tour command runs roster: {text}"
    );
    let line = |s: &str| s.to_owned();
    let mut stdin = Stdin::Lines(Vec::new());
    if let Some((_, flag)) = PROMPTING.iter().find(|(cmd, _)| text.starts_with(cmd)) {
        args.push((*flag).to_owned());
        let email = flag_value(&args, "--email");
        stdin = match &args[..2] {
            [a, _] if a == "login" => {
                let email = email.expect("login --email");
                let mut lines = vec![person.passwords[&email].clone()];
                if email == "you@example.com" && person.totp_secret.is_some() {
                    lines.push(person.code());
                }
                person.signed_in = Some(email);
                Stdin::Lines(lines)
            }
            [a, b] if a == "password" && b == "change" => {
                let email = person.signed_in.clone().expect("signed in");
                let new = chosen_password(&email);
                let old = person.passwords.insert(email, new.clone()).unwrap();
                Stdin::Lines(vec![old, new])
            }
            [a, _] if a == "signup" => {
                let email = email.expect("signup --email");
                person
                    .passwords
                    .insert(email.clone(), chosen_password(&email));
                Stdin::Lines(vec![chosen_password(&email)])
            }
            [a, b] if a == "invitations" && b == "accept" => {
                let email = "pam@dundermifflin.com".to_owned();
                person
                    .passwords
                    .insert(email.clone(), chosen_password(&email));
                person.signed_in = Some(email.clone());
                Stdin::Lines(vec![chosen_password(&email)])
            }
            [a, _] if a == "slack" => {
                assert!(text.starts_with(SLACK_CONNECT));
                args.extend(["--api-base-url".to_owned(), person.slack_base.clone()]);
                Stdin::Lines(vec![
                    crate::slack::SECRET.to_owned(),
                    "xoxb-tour-token".to_owned(),
                ])
            }
            [_, b] if b == "enroll" => Stdin::EnrollCode,
            [_, b] if b == "recovery-codes" => Stdin::Lines(vec![person.code()]),
            [_, b] if b == "disable" => {
                let password = line(&person.passwords["you@example.com"]);
                let code = person.recovery_codes.pop().expect("a recovery code");
                person.totp_secret = None;
                Stdin::Lines(vec![password, code])
            }
            other => panic!("no answers known for {other:?}"),
        };
    }
    Prepared { args, env, stdin }
}

impl Person {
    /// A code from the authenticator app: a time step the server has not
    /// seen yet, within the one-step window either side of now.
    fn code(&mut self) -> String {
        let secret = self.totp_secret.clone().expect("enrolled");
        let now = now_step();
        let step = (now - 1).max(self.last_step + 1);
        assert!(step <= now + 1, "the tour ran out of fresh TOTP steps");
        self.last_step = step;
        totp(&secret, step)
    }
}

/// The current 30-second TOTP step.
fn now_step() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    secs / 30
}

/// The code of `secret` at `step`, computed with the crate the server uses.
fn totp(secret: &str, step: i64) -> String {
    crate::mfa::totp(secret, step)
}

/// The value after `flag` in `args`.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The newest link containing `path` in mail to `to`, from the mail log.
fn newest_link(server: &Server, to: &str, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = std::fs::read_to_string(server.mail_log()).unwrap_or_default();
        let link = log
            .split("----- message ")
            .filter(|m| m.contains(&format!("\nTo: {to}\n")))
            .filter_map(|m| m.split_whitespace().find(|w| w.contains(path)))
            .last();
        if let Some(link) = link {
            return link.to_owned();
        }
        assert!(Instant::now() < deadline, "no mail to {to} with {path}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs one prepared command; returns (success, stdout, stderr).
fn run(
    prepared: Prepared,
    server: &Server,
    config: &Path,
    cwd: &Path,
    person: &mut Person,
) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(&prepared.args)
        .envs(prepared.env.iter().map(|(k, v)| (k, v)))
        .env("ROSTER_SERVER", &server.url)
        .env("ROSTER_CONFIG_DIR", config)
        .env_remove("ROSTER_ORG")
        .env_remove("ROSTER_TOKEN")
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut stdout = String::new();
    match prepared.stdin {
        Stdin::Lines(lines) => {
            for l in lines {
                writeln!(input, "{l}").unwrap();
            }
        }
        Stdin::EnrollCode => {
            // Read until the seed is shown, then type the app's code.
            let mut out = BufReader::new(child.stdout.take().unwrap());
            loop {
                let mut l = String::new();
                if out.read_line(&mut l).unwrap() == 0 {
                    break;
                }
                stdout.push_str(&l);
                if let Some(secret) = l.trim().strip_prefix("Or enter this secret: ") {
                    wait_for_a_fresh_step();
                    person.totp_secret = Some(secret.to_owned());
                    person.last_step = i64::MIN / 2;
                    let code = person.code();
                    writeln!(input, "{code}").unwrap();
                    break;
                }
            }
            let mut rest = String::new();
            out.read_to_string(&mut rest).unwrap();
            stdout.push_str(&rest);
        }
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    stdout.push_str(&String::from_utf8_lossy(&out.stdout));
    (
        out.status.success(),
        stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Waits until at least 20 seconds of the current TOTP step are left, so the
/// codes of the previous, current and next step stay valid while the MFA
/// part of the tour runs.
fn wait_for_a_fresh_step() {
    loop {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if 30 - secs % 30 >= 20 {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What the person learns from a command's output.
fn learn(step: &Step, stdout: &str, person: &mut Person) {
    if step.text.starts_with("roster users create") {
        if let Some(pw) = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("Temporary password (shown once): "))
        {
            let email = flag_value(&words(&step.text), "--email").expect("--email");
            person.passwords.insert(email, pw.trim().to_owned());
        }
    }
    if step.text.starts_with("roster mfa enroll")
        || step.text.starts_with("roster mfa recovery-codes")
    {
        person.recovery_codes = stdout
            .lines()
            .skip_while(|l| !l.contains("recovery codes"))
            .skip(1)
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        assert!(
            !person.recovery_codes.is_empty(),
            "recovery codes: {stdout}"
        );
    }
    if let Some(token) = stdout
        .split_whitespace()
        .find(|w| w.starts_with("rst_") && w.len() > 10)
    {
        person.token = Some(token.to_owned());
    }
}

/// Opens the link mailed to an applicant, as they would (the page's button
/// posts `POST /api/v1/signup/confirm` with the link's token).
async fn open_signup_link(server: &Server, email: &str) {
    let link = newest_link(server, email, "/signup/confirm/");
    let token = link.rsplit('/').next().unwrap().to_owned();
    roster_client::Client::new(&server.url)
        .unwrap()
        .confirm_signup(&roster_proto::SignupConfirmRequest { token })
        .await
        .expect("the sign-up link confirms");
}

/// Types `/roster link` in Slack: the fake Slack's signed slash command to
/// the server; returns the code its answer gives for `roster slack link`.
async fn slack_link_code(server: &Server) -> String {
    use crate::slack::{form, now, sign, SECRET, TEAM};
    let body = form(&[
        ("team_id", TEAM),
        ("user_id", "UADMIN"),
        ("command", "/roster"),
        ("text", "link"),
        ("trigger_id", "trig-tour"),
    ]);
    let ts = now();
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/integrations/slack/commands", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", sign(SECRET, ts, &body))
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = reply["text"].as_str().unwrap_or_default();
    text.split("roster slack link ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no code in the answer to /roster link: {reply}"))
        .trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
        .to_owned()
}

/// The temporary password `roster serve --bootstrap-owner` printed.
fn printed_password(server: &Server) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let printed = server.printed();
        if let Some(pw) = printed.lines().find_map(|l| {
            l.split_once("Temporary password (shown once; change it at first sign-in): ")
                .map(|(_, pw)| pw.trim().to_owned())
        }) {
            return pw;
        }
        assert!(
            Instant::now() < deadline,
            "no temporary password printed: {printed}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn readme() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(path).expect("README.md")
}

#[test]
fn the_tour_block_is_read_as_a_shell_would() {
    let block = "roster a --x \"b c\" \\\n  --y d   # note; more\n#   shown one\n\
                 # a narrating comment\nroster e ; roster f 'g h'\n";
    let steps = steps(block);
    let texts: Vec<&str> = steps.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        ["roster a --x \"b c\" --y d", "roster e", "roster f 'g h'"]
    );
    assert_eq!(steps[0].shown, ["shown one"]);
    assert_eq!(
        words(&steps[0].text),
        ["roster", "a", "--x", "b c", "--y", "d"]
    );
    assert_eq!(words(&steps[2].text), ["roster", "f", "g h"]);
    assert_eq!(
        strip_comment("roster x --name \"a # b\" # c"),
        "roster x --name \"a # b\" "
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_cli_tour_runs_as_written() {
    let block = tour_block(&readme());
    let steps = steps(&block);
    assert!(steps.len() > 50, "the tour has its commands: {steps:?}");
    for (skipped, _) in SKIPPED {
        assert!(
            steps.iter().any(|s| s.text == *skipped),
            "SKIPPED names a command the tour no longer has: {skipped}"
        );
    }

    // `roster serve --bootstrap-owner you@example.com`: org `default`, and a
    // temporary password printed once.
    let (_slack, slack_base) = crate::slack::FakeSlack::start().await;
    let server = serve_with(&[
        ("ROSTER_OUTBOUND_ALLOW_PRIVATE", "true"),
        ("ROSTER_BOOTSTRAP_ORG", ""),
        ("ROSTER_BOOTSTRAP_OWNER_EMAIL", "you@example.com"),
        ("ROSTER_BOOTSTRAP_OWNER_PASSWORD", ""),
    ]);
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    let cwd = home.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let mut person = Person {
        passwords: HashMap::from([("you@example.com".to_owned(), printed_password(&server))]),
        signed_in: None,
        totp_secret: None,
        last_step: 0,
        recovery_codes: Vec::new(),
        token: None,
        slack_base,
        slack_code: None,
    };

    for (n, step) in steps.iter().enumerate() {
        if SKIPPED.iter().any(|(s, _)| *s == step.text) {
            continue;
        }
        if step.text.starts_with("roster slack link ") {
            person.slack_code = Some(slack_link_code(&server).await);
        }
        let prepared = prepare(step, &mut person, &server);
        let (ok, stdout, stderr) = run(prepared, &server, &config, &cwd, &mut person);
        assert!(
            ok,
            "tour command {} failed: {}\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver log (tail):\n{}",
            n + 1,
            step.text,
            tail(&server.log())
        );
        for shown in &step.shown {
            assert!(
                stdout.lines().any(|l| l.trim() == shown),
                "tour command {} ({}) does not print the line the README shows:\n  {shown}\nit printed:\n{stdout}",
                n + 1,
                step.text
            );
        }
        learn(step, &stdout, &mut person);
        if step.text.starts_with("roster signup") {
            let email = flag_value(&words(&step.text), "--email").unwrap();
            open_signup_link(&server, &email).await;
        }
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
