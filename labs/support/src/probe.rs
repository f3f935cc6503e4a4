//! Measurements of the running process, read from `/proc` (Linux).
//!
//! Tests use them to check *how* your server works, not only what it answers: a thread per
//! connection shows in [`thread_count`], a busy loop in [`cpu_time`].

use std::fs;
use std::time::Duration;

/// Number of threads in this process, or `None` where `/proc` is not available.
pub fn thread_count() -> Option<usize> {
    status_field("Threads:")
}

/// Resident memory of this process in bytes (`VmRSS`), or `None` where unavailable.
pub fn rss_bytes() -> Option<u64> {
    status_field::<u64>("VmRSS:").map(|kib| kib * 1024)
}

/// Number of open file descriptors of this process (sockets included), or `None` where
/// `/proc` is not available. A server that never closes finished connections shows here.
pub fn open_fds() -> Option<usize> {
    Some(fs::read_dir("/proc/self/fd").ok()?.count())
}

/// CPU time (user + system) this process has used so far, summed over all its threads.
pub fn cpu_time() -> Option<Duration> {
    // Per-thread scheduler statistics count in nanoseconds; /proc/self/stat only in 10 ms ticks.
    let mut total = 0u64;
    let mut found = false;
    for task in fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        if let Ok(text) = fs::read_to_string(path) {
            if let Some(ns) = text
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
            {
                total += ns;
                found = true;
            }
        }
    }
    if found {
        return Some(Duration::from_nanos(total));
    }
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn status_field<T: std::str::FromStr>(name: &str) -> Option<T> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn thread_count_sees_a_new_thread() {
        let (started_tx, started_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            started_tx.send(()).unwrap();
            let _ = stop_rx.recv();
        });
        started_rx.recv().unwrap();
        assert!(
            thread_count().unwrap() >= 2,
            "the test thread and the one it started are both alive"
        );
        stop_tx.send(()).unwrap();
        handle.join().unwrap();
    }

    #[test]
    fn cpu_time_grows_with_work_and_rss_is_positive() {
        let start = cpu_time().unwrap();
        let mut x = 0u64;
        let began = std::time::Instant::now();
        while began.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(
            cpu_time().unwrap() > start,
            "50 ms of spinning must show as CPU time"
        );
        assert!(rss_bytes().unwrap() > 0);
    }

    #[test]
    fn open_fds_counts_a_new_socket() {
        let before = open_fds().unwrap();
        let listeners: Vec<_> = (0..64)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        // Other tests of this binary may close a few descriptors meanwhile.
        assert!(open_fds().unwrap() + 8 >= before + listeners.len());
    }
}
