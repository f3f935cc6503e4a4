//! Measurements of the running process, read from `/proc` (Linux).
//!
//! Tests use them to check *how* your server works, not only what it answers: a thread per
//! connection shows in [`thread_count`], a busy loop in [`cpu_time`], a task that blocks its
//! runtime's thread in a [`StallMeter`].

use std::fs;
use std::time::{Duration, Instant};

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

/// Time the calling thread has spent runnable but waiting for a CPU since it started (the
/// kernel's run-queue delay, from `/proc/thread-self/schedstat`), or `None` where unavailable.
/// On a loaded machine a thread waits for a CPU now and then; this is how long in all.
pub fn thread_run_delay() -> Option<Duration> {
    let text = fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Measures how long the thread that calls [`StallMeter::tick`] was kept from running its
/// ticks. Tick it from a task that wakes every few milliseconds on the runtime under test: a
/// task that blocks that thread (a `std::thread::sleep`, a blocking read) shows as a long
/// stall.
///
/// Where the kernel reports it ([`thread_run_delay`]), the time the thread spent waiting for a
/// CPU is taken out of each stall: a machine loaded by other processes delays every thread
/// now and then, and that is not the code under test blocking.
#[derive(Debug)]
pub struct StallMeter {
    last: Instant,
    last_delay: Option<Duration>,
    longest: Duration,
    ticks: u64,
}

impl StallMeter {
    /// Starts measuring now, on the calling thread.
    pub fn start() -> StallMeter {
        let (last, last_delay) = now_and_run_delay();
        StallMeter {
            last,
            last_delay,
            longest: Duration::ZERO,
            ticks: 0,
        }
    }

    /// Records a tick and returns the stall since the previous one: the time that passed,
    /// less the time the thread waited for a CPU. Call it from the thread that `start`ed.
    pub fn tick(&mut self) -> Duration {
        let (now, delay) = now_and_run_delay();
        let waited_for_cpu = match (delay, self.last_delay) {
            (Some(delay), Some(last)) => delay.saturating_sub(last),
            _ => Duration::ZERO,
        };
        let stall = now
            .saturating_duration_since(self.last)
            .saturating_sub(waited_for_cpu);
        self.last = now;
        self.last_delay = delay;
        self.longest = self.longest.max(stall);
        self.ticks += 1;
        stall
    }

    /// The longest stall so far.
    pub fn longest(&self) -> Duration {
        self.longest
    }

    /// How many ticks so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// Whether the time spent waiting for a CPU is taken out of the stalls (Linux with
    /// scheduler statistics).
    pub fn discounts_cpu_waits(&self) -> bool {
        self.last_delay.is_some()
    }
}

/// The time and the run-queue delay of the calling thread, read together: when the thread
/// was preempted between the readings (the delay changed), read both again.
fn now_and_run_delay() -> (Instant, Option<Duration>) {
    let mut before = thread_run_delay();
    for _ in 0..8 {
        let now = Instant::now();
        let after = thread_run_delay();
        if after == before {
            return (now, after);
        }
        before = after;
    }
    (Instant::now(), before)
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
    fn stall_meter_sees_a_blocked_thread_but_not_a_ticking_one() {
        assert!(thread_run_delay().is_some(), "schedstat on Linux");
        let mut meter = StallMeter::start();
        assert!(meter.discounts_cpu_waits());
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(2));
            meter.tick();
        }
        std::thread::sleep(Duration::from_millis(60));
        let stall = meter.tick();
        assert!(stall >= Duration::from_millis(60), "{stall:?}");
        assert_eq!(meter.longest(), stall);
        assert_eq!(meter.ticks(), 6);
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
