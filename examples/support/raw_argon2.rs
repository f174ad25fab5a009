//! The raw argon2id verification rate of this machine: the server's own
//! `crypto::verify_password` (argon2id with the server's parameters) on
//! as many threads as there are cores, with nothing else to do. The
//! ceiling for sign-in throughput (examples/argon2_rate.rs,
//! examples/signin_totp.rs, docs/benchmarks.md).

use roster_server::crypto;
use std::time::{Duration, Instant};

/// The password every raw verification checks.
pub const PASSWORD: &str = "bench-password-1";

/// One timed run of raw verifications.
pub struct RawRun {
    pub verifications: u64,
    /// From the start to the end of the last verification (which ran
    /// past the deadline: its whole time counts).
    pub secs: f64,
    /// This process's CPU time over the run, where `/proc` has it.
    pub cpu_secs: Option<f64>,
}

impl RawRun {
    pub fn per_second(&self) -> f64 {
        self.verifications as f64 / self.secs
    }

    #[allow(dead_code)] // Not every example that includes this module uses it.
    pub fn cpu_ms_per_verification(&self) -> Option<f64> {
        self.cpu_secs
            .map(|c| 1000.0 * c / self.verifications.max(1) as f64)
    }
}

/// The threads a run uses: one per core.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A hash of [`PASSWORD`], checked to verify.
pub fn hash() -> anyhow::Result<String> {
    let hash = crypto::hash_password(PASSWORD)?;
    anyhow::ensure!(
        crypto::verify_password(&hash, PASSWORD),
        "the hash does not verify"
    );
    Ok(hash)
}

/// Verifies `hash` on [`threads`] threads until `duration` has passed.
pub fn run(hash: &str, duration: Duration) -> anyhow::Result<RawRun> {
    let cpu_before = super::cpu::process_cpu_secs("self");
    let start = Instant::now();
    let deadline = start + duration;
    let workers: Vec<_> = (0..threads())
        .map(|_| {
            let hash = hash.to_owned();
            std::thread::spawn(move || {
                let mut done = 0u64;
                while Instant::now() < deadline {
                    if !crypto::verify_password(&hash, PASSWORD) {
                        return Err(anyhow::anyhow!("verification failed"));
                    }
                    done += 1;
                }
                Ok((done, Instant::now()))
            })
        })
        .collect();
    let mut verifications = 0u64;
    let mut end = start;
    for w in workers {
        let (done, finished) = w
            .join()
            .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
        verifications += done;
        end = end.max(finished);
    }
    let cpu_after = super::cpu::process_cpu_secs("self");
    Ok(RawRun {
        verifications,
        secs: end.duration_since(start).as_secs_f64(),
        cpu_secs: super::cpu::delta(cpu_before, cpu_after),
    })
}
