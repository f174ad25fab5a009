//! CPU time of a process, for benchmarks that compare what one unit of
//! work costs the machine rather than how many units fit in a second
//! (which also counts whoever else used the cores meanwhile).

/// The CPU seconds (user and system, every thread) process `pid` has used
/// so far, from `/proc/PID/stat`; `None` where there is no such file.
pub fn process_cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the file: utime and stime, in clock ticks of
    // USER_HZ, which Linux fixes at 100 for /proc on every architecture
    // this runs on.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The CPU seconds the whole machine has spent busy so far (user, nice,
/// system, irq and softirq over every core) and those the hypervisor stole,
/// from the first line of `/proc/stat`; `None` where there is no such file.
#[allow(dead_code)] // Not every example that includes this module uses it.
pub fn machine_cpu_secs() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal ...
    let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)?;
    Some((busy as f64 / 100.0, *f.get(7)? as f64 / 100.0))
}

/// The CPU seconds between two readings of [`process_cpu_secs`], where
/// both were there.
pub fn delta(before: Option<f64>, after: Option<f64>) -> Option<f64> {
    before.zip(after).map(|(b, a)| a - b)
}
