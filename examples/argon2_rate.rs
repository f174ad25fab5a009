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

/// The server's allocator (src/main.rs), so that the ceiling and the
/// server allocate argon2's blocks the same way.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-password-1";

fn main() -> anyhow::Result<()> {
    let secs: f64 = match std::env::args().nth(1) {
        Some(a) => a
            .parse()
            .map_err(|_| anyhow::anyhow!("usage: argon2_rate [seconds]"))?,
        None => 15.0,
    };
    let duration = Duration::from_secs_f64(secs);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let hash = crypto::hash_password(PASSWORD)?;
    anyhow::ensure!(
        crypto::verify_password(&hash, PASSWORD),
        "the hash does not verify"
    );
    eprintln!(
        "argon2id m={} KiB t={} p={}; {threads} threads for {secs} s",
        crypto::ARGON2_M_COST_KIB,
        crypto::ARGON2_T_COST,
        crypto::ARGON2_P_COST
    );

    let cpu_before = cpu::process_cpu_secs("self");
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let hash = hash.clone();
            std::thread::spawn(move || {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    if !crypto::verify_password(&hash, PASSWORD) {
                        return Err(anyhow::anyhow!("verification failed"));
                    }
                    done += 1;
                }
                // The last verification overran the deadline: count the
                // time it really took.
                Ok((done, Instant::now()))
            })
        })
        .collect();

    let mut total = 0u64;
    let mut end = start;
    for w in workers {
        let (done, finished) = w
            .join()
            .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
        total += done;
        end = end.max(finished);
    }
    let elapsed = end.duration_since(start).as_secs_f64();
    eprintln!("{total} verifications in {elapsed:.3} s");
    println!(
        "argon2id_verifications_per_second={:.3}",
        total as f64 / elapsed
    );
    if let (Some(before), Some(after)) = (cpu_before, cpu::process_cpu_secs("self")) {
        println!(
            "cpu_ms_per_verification={:.3}",
            1000.0 * (after - before) / total.max(1) as f64
        );
    }
    Ok(())
}
