//! What Linux says of a function process (`/proc/<pid>`): its peak memory, CPU time and time
//! spent waiting for a CPU, sampled for the stats; and killing it.

use super::*;

pub(super) fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Samples a worker's process: its peak RSS into the function's, its CPU time into the
/// worker's.
pub(super) async fn sample(pool: &Pool, worker: &Worker, pid: u32) {
    if let Some(kb) = peak_rss_kb(pid) {
        let mut s = pool.stats.lock().await;
        s.peak_rss_kb = s.peak_rss_kb.max(kb);
    }
    if let Some(ms) = cpu_ms(pid) {
        *worker.cpu_ms.lock().await = ms;
    }
}

/// A process's CPU time (user and system), ms: fields 14 and 15 of `/proc/<pid>/stat`, in
/// clock ticks of 10 ms (Linux's `USER_HZ`, 100 on every architecture it runs on here).
pub(super) fn cpu_ms(pid: u32) -> Option<u64> {
    parse_cpu_ms(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

pub(super) fn parse_cpu_ms(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10)
}

/// How long a process's threads have been runnable but waiting for a core, ns: the second
/// field of each `/proc/<pid>/task/<tid>/schedstat` (the kernel's `run_delay`), summed.
/// `None` where the kernel does not keep scheduler statistics.
pub(super) fn waited_for_cpu_ns(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = None;
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("schedstat")).ok();
        if let Some(ns) = text.as_deref().and_then(parse_run_delay_ns) {
            *total.get_or_insert(0) += ns;
        }
    }
    total
}

pub(super) fn parse_run_delay_ns(schedstat: &str) -> Option<u64> {
    schedstat.split_whitespace().nth(1)?.parse().ok()
}

pub(super) fn kill(pid: u32) {
    // SIGKILL via the `kill` utility: no unsafe code, no extra crate.
    let _ = std::process::Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status();
}
