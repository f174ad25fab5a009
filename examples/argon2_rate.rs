//! Raw argon2id verification rate of this machine, as the ceiling for
//! sign-in throughput (see `bench/signin.sh` and docs/benchmarks.md).
//!
//! Hashes one password with `roster_server::crypto::hash_password` (argon2id,
//! m=19456 KiB, t=2, p=1, the parameters the server uses), then verifies it
//! with `roster_server::crypto::verify_password` on as many threads as the
//! machine has cores, for a fixed time, and prints
//! `argon2id_verifications_per_second=<f64>` and the CPU one verification
//! took (`cpu_ms_per_verification=<f64>`, this process's CPU time over the
//! timed part divided by the verifications).
//!
//! ```sh
//! cargo run --release --example argon2_rate -- 15   # seconds, default 15
//! ```

use roster_server::crypto;

#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/raw_argon2.rs"]
mod raw_argon2;

/// The server's allocator (src/main.rs), so that the ceiling and the
/// server allocate argon2's blocks the same way.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Duration;

fn main() -> anyhow::Result<()> {
    let secs: f64 = match std::env::args().nth(1) {
        Some(a) => a
            .parse()
            .map_err(|_| anyhow::anyhow!("usage: argon2_rate [seconds]"))?,
        None => 15.0,
    };
    let threads = raw_argon2::threads();
    let hash = raw_argon2::hash()?;
    eprintln!(
        "argon2id m={} KiB t={} p={}; {threads} threads for {secs} s",
        crypto::ARGON2_M_COST_KIB,
        crypto::ARGON2_T_COST,
        crypto::ARGON2_P_COST
    );
    let run = raw_argon2::run(&hash, Duration::from_secs_f64(secs))?;
    eprintln!("{} verifications in {:.3} s", run.verifications, run.secs);
    println!("argon2id_verifications_per_second={:.3}", run.per_second());
    if let Some(ms) = run.cpu_ms_per_verification() {
        println!("cpu_ms_per_verification={ms:.3}");
    }
    Ok(())
}
