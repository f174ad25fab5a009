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
//!
//! With SLICES=N, the SECONDS of sign-ins are cut into N slices, and the
//! raw argon2id verification rate of this machine (the server's own
//! `crypto::verify_password` on every core, as `argon2_rate` measures it)
//! is measured by this process in N + 1 slices of the same length around
//! them, the server idle: raw, sign-ins, raw, ..., raw. A shared VM whose
//! speed drifts within seconds to minutes then moves both rates alike, and
//! the ratio of the totals (`signin_over_raw_ratio`) compares them at the
//! same moments.
//! Prints each slice, the totals, each sign-in slice over the mean of the
//! raw slices either side (`slice_ratios`), and CPU per sign-in against
//! CPU per raw verification (`cpu_ratio`, with SERVER_PID).

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/raw_argon2.rs"]
mod raw_argon2;

/// The server's allocator (src/main.rs): the raw slices allocate argon2's
/// blocks as the server does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let slices: usize = std::env::var("SLICES")
        .ok()
        .map_or(0, |v| v.parse().expect("SLICES"));
    let load = Load {
        http,
        api,
        accounts,
        next: Arc::new(AtomicUsize::new(0)),
        connections,
        server: std::env::var("SERVER_PID").ok(),
    };
    let name = if with_totp {
        "totp_signins_per_second"
    } else {
        "password_signins_per_second"
    };
    if slices == 0 {
        eprintln!("running for {seconds} s with {connections} connections...");
        let m = load.run(Duration::from_secs(seconds)).await;
        println!("{name} {:.2}", m.per_second());
        println!("failed_signins {}", m.bad);
        m.print_cpu();
    } else {
        interleaved(&load, name, seconds, slices).await;
    }
}

/// The timed load: sign-ins against the server.
struct Load {
    http: reqwest::Client,
    api: String,
    accounts: Arc<Vec<Account>>,
    /// The next account to try.
    next: Arc<AtomicUsize>,
    connections: usize,
    server: Option<String>,
}

/// What one timed run of sign-ins did and cost.
struct Measured {
    ok: u64,
    bad: u64,
    /// Until the last sign-in in flight at the deadline answered.
    secs: f64,
    server_cpu: Option<f64>,
    client_cpu: Option<f64>,
    /// Busy and stolen CPU seconds of the whole machine.
    machine: Option<(f64, f64)>,
}

fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    a.zip(b).map(|(a, b)| a + b)
}

impl Measured {
    /// Sums two runs (of the same kind).
    fn plus(&self, other: &Measured) -> Measured {
        Measured {
            ok: self.ok + other.ok,
            bad: self.bad + other.bad,
            secs: self.secs + other.secs,
            server_cpu: add(self.server_cpu, other.server_cpu),
            client_cpu: add(self.client_cpu, other.client_cpu),
            machine: self
                .machine
                .zip(other.machine)
                .map(|(a, b)| (a.0 + b.0, a.1 + b.1)),
        }
    }

    /// Successful sign-ins per second.
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    fn per_signin_ms(&self, cpu: Option<f64>) -> Option<f64> {
        cpu.map(|c| 1000.0 * c / self.ok.max(1) as f64)
    }

    fn print_cpu(&self) {
        if let Some(ms) = self.per_signin_ms(self.server_cpu) {
            println!("server_cpu_ms_per_signin {ms:.3}");
        }
        if let Some(ms) = self.per_signin_ms(self.client_cpu) {
            println!("client_cpu_ms_per_signin {ms:.3}");
        }
        // What the rest of the machine took over the timed part: busy CPU
        // less this process's and the server's, as a share of every core.
        if let (Some((busy, stolen)), Some(client), Some(server)) =
            (self.machine, self.client_cpu, self.server_cpu)
        {
            let capacity = raw_argon2::threads() as f64 * self.secs;
            let others = (busy - client - server).max(0.0);
            println!(
                "timed_part_others_percent {:.1} stolen_percent {:.1}",
                100.0 * others / capacity,
                100.0 * stolen / capacity
            );
        }
    }
}

impl Load {
    /// Keeps `connections` sign-ins in flight for `duration`, then waits
    /// for those still in flight.
    async fn run(&self, duration: Duration) -> Measured {
        let ok = Arc::new(AtomicU64::new(0));
        let bad = Arc::new(AtomicU64::new(0));
        let server_cpu = || self.server.as_deref().and_then(cpu::process_cpu_secs);
        let server_before = server_cpu();
        let client_before = cpu::process_cpu_secs("self");
        let machine_before = cpu::machine_cpu_secs();
        let start = Instant::now();
        let deadline = start + duration;
        let workers: Vec<_> = (0..self.connections)
            .map(|_| {
                let (http, api, accounts, next, ok, bad) = (
                    self.http.clone(),
                    self.api.clone(),
                    self.accounts.clone(),
                    self.next.clone(),
                    ok.clone(),
                    bad.clone(),
                );
                tokio::spawn(async move {
                    while Instant::now() < deadline {
                        let body = next_body(&accounts, &next);
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
        let secs = start.elapsed().as_secs_f64();
        let machine_after = cpu::machine_cpu_secs();
        Measured {
            ok: ok.load(Ordering::Relaxed),
            bad: bad.load(Ordering::Relaxed),
            secs,
            server_cpu: cpu::delta(server_before, server_cpu()),
            client_cpu: cpu::delta(client_before, cpu::process_cpu_secs("self")),
            machine: machine_before
                .zip(machine_after)
                .map(|(b, a)| (a.0 - b.0, a.1 - b.1)),
        }
    }
}

/// The next sign-in's body: the next account with a step left in the
/// window (its password, and a code of that step if it has a factor).
fn next_body(accounts: &[Account], next: &AtomicUsize) -> Value {
    for _ in 0..accounts.len() {
        let a = &accounts[next.fetch_add(1, Ordering::Relaxed) % accounts.len()];
        let Some(secret) = &a.secret else {
            return json!({"email": a.email, "password": a.password});
        };
        let now = step_now();
        let mut last = a.last_step.lock().unwrap();
        // Not the previous step: a code of it sent in the last moments of
        // this step reaches a server that has moved on and no longer
        // takes it.
        let step = (*last + 1).max(now);
        if step > now + 1 {
            continue;
        }
        *last = step;
        return json!({"email": a.email, "password": a.password, "totp_code": code(secret, step)});
    }
    panic!("every account used its steps: run with more ACCOUNTS");
}

/// Raw slices and sign-in slices in turns (see the module's comment).
async fn interleaved(load: &Load, name: &str, seconds: u64, slices: usize) {
    let slice = Duration::from_secs_f64(seconds as f64 / slices as f64);
    let hash = raw_argon2::hash().expect("raw hash");
    let raw_slice = || {
        let hash = hash.clone();
        async move {
            tokio::task::spawn_blocking(move || raw_argon2::run(&hash, slice))
                .await
                .expect("raw slice")
                .expect("raw slice")
        }
    };
    eprintln!(
        "{slices} slices of {:.1} s with {} connections, raw slices around them...",
        slice.as_secs_f64(),
        load.connections
    );
    let mut raw = vec![raw_slice().await];
    let mut total: Option<Measured> = None;
    // Each sign-in slice over the mean of the raw slices either side.
    let mut ratios = Vec::with_capacity(slices);
    for i in 0..slices {
        let m = load.run(slice).await;
        let r = raw_slice().await;
        let ratio = m.per_second() / ((raw[i].per_second() + r.per_second()) / 2.0);
        println!(
            "slice {}: raw {:.2}/s, sign-in {:.2}/s ({ratio:.3} of the raw slices either side), raw {:.2}/s",
            i + 1,
            raw[i].per_second(),
            m.per_second(),
            r.per_second()
        );
        ratios.push(format!("{ratio:.3}"));
        total = Some(match total {
            Some(t) => t.plus(&m),
            None => m,
        });
        raw.push(r);
    }
    let total = total.expect("at least one slice");
    let raw_count: u64 = raw.iter().map(|r| r.verifications).sum();
    let raw_secs: f64 = raw.iter().map(|r| r.secs).sum();
    let raw_rate = raw_count as f64 / raw_secs;
    let rate = total.per_second();
    let (lo, hi) = raw
        .iter()
        .map(|r| r.per_second())
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), r| {
            (lo.min(r), hi.max(r))
        });
    println!("raw_verifications_per_second {raw_rate:.2}");
    println!("{name} {rate:.2}");
    println!("signin_over_raw_ratio {:.3}", rate / raw_rate);
    println!("slice_ratios {}", ratios.join(" "));
    println!("raw_slice_spread {:.3}", (hi - lo) / raw_rate);
    println!("failed_signins {}", total.bad);
    total.print_cpu();
    let raw_cpu: Option<f64> = raw.iter().map(|r| r.cpu_secs).sum();
    if let Some(raw_cpu) = raw_cpu {
        let raw_ms = 1000.0 * raw_cpu / raw_count.max(1) as f64;
        println!("raw_cpu_ms_per_verification {raw_ms:.3}");
        if let Some(server_ms) = total.per_signin_ms(total.server_cpu) {
            println!("cpu_ratio {:.3}", raw_ms / server_ms);
        }
    }
}
