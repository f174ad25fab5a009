//! Sign-in throughput with a TOTP second factor, against a running server.
//!
//! `cargo run --release --example signin_totp -- http://ADDR OWNER_EMAIL
//! OWNER_PASSWORD ORG ACCOUNTS SECONDS CONNECTIONS`
//!
//! Sets up ACCOUNTS members of ORG, each with its own password and an
//! enrolled authenticator app (codes computed here from the secret the
//! server returned), then for SECONDS keeps CONNECTIONS sign-ins in flight,
//! each `POST /auth/login` with the password and a code. A code is accepted
//! once (its time step is recorded), so every sign-in uses an account and a
//! step (current or next) not used before; ACCOUNTS must cover the run (two
//! sign-ins per account per 30 s). Prints
//! `totp_signins_per_second` and, when MODE=password, the same loop over
//! accounts without a second factor (`password_signins_per_second`).
//! With SERVER_PID set (the server's process id on this machine), also the
//! server's CPU per sign-in over the timed part (`server_cpu_ms_per_signin`).
//! Always prints this load generator's own CPU per sign-in over the timed
//! part (`client_cpu_ms_per_signin`): it shares the machine's cores with
//! the server; and with SERVER_PID, the share of every core the rest of
//! the machine took over the timed part (`timed_part_others_percent`, busy
//! CPU less this process's and the server's) and the hypervisor stole.

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "support/cpu.rs"]
mod cpu;

fn step_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
        / 30
}

fn code(secret: &str, step: i64) -> String {
    let seed = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32");
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        seed,
        None,
        String::new(),
    )
    .generate((step * 30) as u64)
}

async fn post(
    http: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

struct Account {
    email: String,
    password: String,
    secret: Option<String>,
    /// The last step used for this account.
    last_step: Mutex<i64>,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, owner_email, owner_password, org, accounts, seconds, connections] = &args[..]
    else {
        panic!(
            "usage: signin_totp BASE OWNER_EMAIL OWNER_PASSWORD ORG ACCOUNTS SECONDS CONNECTIONS"
        );
    };
    let with_totp = std::env::var("MODE").as_deref() != Ok("password");
    let n: usize = accounts.parse().expect("ACCOUNTS");
    let seconds: u64 = seconds.parse().expect("SECONDS");
    let connections: usize = connections.parse().expect("CONNECTIONS");
    let api = format!("{base}/api/v1");
    let http = reqwest::Client::new();
    let (s, owner) = post(
        &http,
        format!("{api}/auth/login"),
        None,
        json!({"email": owner_email, "password": owner_password}),
    )
    .await;
    assert_eq!(s, 200, "owner sign-in: {owner}");
    let owner = owner["token"].as_str().expect("token").to_owned();

    eprintln!("setting up {n} accounts...");
    let tag = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    // A few at a time: more sign-ins in flight from one address than its
    // throttle allows (50) would be refused.
    use futures::StreamExt;
    let setup = futures::stream::iter((0..n).map(|i| {
        let (http, api, owner, org) = (http.clone(), api.clone(), owner.clone(), org.clone());
        async move {
            let email = format!("b{tag}-{i}@bench.test");
            let (s, created) = post(
                &http,
                format!("{api}/orgs/{org}/users"),
                Some(&owner),
                json!({"email": email}),
            )
            .await;
            assert_eq!(s, 201, "{created}");
            let temp = created["temporary_password"].as_str().unwrap().to_owned();
            let (_, login) = post(
                &http,
                format!("{api}/auth/login"),
                None,
                json!({"email": email, "password": temp}),
            )
            .await;
            let token = login["token"].as_str().unwrap().to_owned();
            let password = format!("bench-password-{i}");
            let (s, _) = post(
                &http,
                format!("{api}/me/password"),
                Some(&token),
                json!({"current_password": temp, "new_password": password}),
            )
            .await;
            assert_eq!(s, 204);
            let mut secret = None;
            // The last step used: confirming the enrolment uses one.
            let mut used = step_now() - 1;
            if with_totp {
                let (s, e) =
                    post(&http, format!("{api}/me/mfa/totp"), Some(&token), json!({})).await;
                assert_eq!(s, 201, "{e}");
                let sec = e["secret"].as_str().unwrap().to_owned();
                // The current step: the server takes one step either side,
                // so a step boundary crossed in flight still confirms.
                let step = step_now();
                let (s, c) = post(
                    &http,
                    format!("{api}/me/mfa/totp/confirm"),
                    Some(&token),
                    json!({"code": code(&sec, step)}),
                )
                .await;
                assert_eq!(s, 200, "{c}");
                secret = Some(sec);
                used = step;
            }
            Account {
                email,
                password,
                secret,
                last_step: Mutex::new(used),
            }
        }
    }))
    .buffer_unordered(8)
    .collect::<Vec<_>>()
    .await;
    let accounts = Arc::new(setup);
    eprintln!("running for {seconds} s with {connections} connections...");
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let server = std::env::var("SERVER_PID").ok();
    let server_cpu = || server.as_deref().and_then(cpu::process_cpu_secs);
    let server_before = server_cpu();
    let client_before = cpu::process_cpu_secs("self");
    let machine_before = cpu::machine_cpu_secs();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (http, api, accounts, next, ok, bad) = (
                http.clone(),
                api.clone(),
                accounts.clone(),
                next.clone(),
                ok.clone(),
                bad.clone(),
            );
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    // The next account with a step left in the window.
                    let mut body = None;
                    for _ in 0..accounts.len() {
                        let a = &accounts[next.fetch_add(1, Ordering::Relaxed) % accounts.len()];
                        if a.secret.is_none() {
                            body = Some(json!({"email": a.email, "password": a.password}));
                            break;
                        }
                        let now = step_now();
                        let mut last = a.last_step.lock().unwrap();
                        // Not the previous step: a code of it sent in the
                        // last moments of this step reaches a server that
                        // has moved on and no longer takes it.
                        let step = (*last + 1).max(now);
                        if step > now + 1 {
                            continue;
                        }
                        *last = step;
                        let mut b = json!({"email": a.email, "password": a.password});
                        if let Some(s) = &a.secret {
                            b["totp_code"] = json!(code(s, step));
                        }
                        body = Some(b);
                        break;
                    }
                    let Some(body) = body else {
                        panic!("every account used its steps: run with more ACCOUNTS");
                    };
                    let (s, v) = post(&http, format!("{api}/auth/login"), None, body).await;
                    if s == 200 {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        eprintln!("{s} {v}");
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let client_after = cpu::process_cpu_secs("self");
    let machine_after = cpu::machine_cpu_secs();
    let server_after = server_cpu();
    let ok = ok.load(Ordering::Relaxed);
    let name = if with_totp {
        "totp_signins_per_second"
    } else {
        "password_signins_per_second"
    };
    println!("{name} {:.2}", ok as f64 / elapsed);
    println!("failed_signins {}", bad.load(Ordering::Relaxed));
    if let (Some(before), Some(after)) = (server_before, server_after) {
        println!(
            "server_cpu_ms_per_signin {:.3}",
            1000.0 * (after - before) / ok.max(1) as f64
        );
    }
    if let (Some(before), Some(after)) = (client_before, client_after) {
        println!(
            "client_cpu_ms_per_signin {:.3}",
            1000.0 * (after - before) / ok.max(1) as f64
        );
    }
    // What the rest of the machine took over the timed part: busy CPU
    // less this process's and the server's, as a share of every core.
    if let (Some(m0), Some(m1), Some(c0), Some(c1), Some(s0), Some(s1)) = (
        machine_before,
        machine_after,
        client_before,
        client_after,
        server_before,
        server_after,
    ) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let capacity = cores * elapsed;
        let others = ((m1.0 - m0.0) - (c1 - c0) - (s1 - s0)).max(0.0);
        println!(
            "timed_part_others_percent {:.1} stolen_percent {:.1}",
            100.0 * others / capacity,
            100.0 * (m1.1 - m0.1) / capacity
        );
    }
}
