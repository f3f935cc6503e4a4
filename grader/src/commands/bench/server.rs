//! One lab server under measurement: started from the lab's provided program on a free
//! loopback port, watched through `/proc/<pid>/status`, killed with its process group at the
//! end.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::process::{self, Captured, Guarded};

/// How long a server may take to print its `labN listening on ADDR` line.
pub const START_LIMIT: Duration = Duration::from_secs(10);

/// A running server; dropping it kills it.
pub struct Server {
    process: Guarded,
    /// Where it listens (always a loopback address: the bench never uses another).
    pub addr: SocketAddr,
    stderr: Captured,
}

impl Server {
    /// Starts `program --addr 127.0.0.1:0 ARGS...` in `cwd` and waits for the line that names
    /// the port it got. The error says why it is not working: it exited (with its panic
    /// message), or it never said where it listens.
    pub fn start(program: &Path, args: &[&str], cwd: &Path) -> Result<Server, String> {
        let mut command = process::command(program);
        command
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut process =
            Guarded::spawn(&mut command).map_err(|e| format!("the server did not start: {e}"))?;
        let stderr = Captured::start(process.take_stderr());
        let (found, address) = mpsc::channel();
        if let Some(stdout) = process.take_stdout() {
            // Reads the address, then keeps draining so the server never blocks on printing.
            let _ = thread::Builder::new()
                .name("bench-server-stdout".into())
                .spawn(move || {
                    let mut lines = BufReader::new(stdout).lines();
                    for line in lines.by_ref() {
                        let Ok(line) = line else { return };
                        if let Some(addr) = listening_address(&line) {
                            let _ = found.send(addr);
                            break;
                        }
                    }
                    for _ in lines {}
                });
        }
        let mut server = Server {
            process,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
        };
        match address.recv_timeout(START_LIMIT) {
            Ok(addr) if addr.ip().is_loopback() && addr.port() != 0 => {
                server.addr = addr;
                Ok(server)
            }
            Ok(addr) => Err(format!(
                "the server says it listens on {addr}, not on a loopback port"
            )),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(server.why_not_running()),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "the server printed no \"listening on\" line within {}s",
                START_LIMIT.as_secs()
            )),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Threads and memory of the server right now.
    pub fn status(&self) -> Result<ProcStatus, String> {
        let path = format!("/proc/{}/status", self.pid());
        let text = std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?;
        parse_status(&text).ok_or_else(|| format!("{path} lacks Threads, VmRSS or VmSize"))
    }

    /// Why the server stopped working, when a client sees it fail: it exited (how, and its
    /// panic message), or it is running but misbehaved (`None`).
    pub fn exit_reason(&mut self) -> Option<String> {
        let status = self
            .process
            .exited()
            .or_else(|| self.process.wait_for(Duration::from_millis(200)))?;
        let mut reason = format!("the server {}", process::describe_exit(status));
        // Its standard error is read by another thread: let it catch up with the exit.
        thread::sleep(Duration::from_millis(50));
        if let Some(message) = process::panic_message(&self.stderr.text()) {
            reason.push_str(": ");
            reason.push_str(&message);
        }
        Some(reason)
    }

    fn why_not_running(&mut self) -> String {
        self.exit_reason().unwrap_or_else(|| {
            "the server closed its standard output without saying where it listens".into()
        })
    }
}

/// `lab1 listening on 127.0.0.1:43121` → the address.
pub fn listening_address(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once(" listening on ")?;
    rest.trim().parse().ok()
}

/// The lines of `/proc/<pid>/status` the bench reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStatus {
    /// Threads of the process (`Threads`).
    pub threads: u64,
    /// Resident memory in KiB (`VmRSS`): what the process really occupies in RAM.
    pub rss_kib: u64,
    /// Virtual size in KiB (`VmSize`): address space reserved, such as every thread's stack.
    pub virtual_kib: u64,
}

/// Reads `Threads`, `VmRSS` and `VmSize` (the kernel writes sizes in kB, meaning KiB).
pub fn parse_status(text: &str) -> Option<ProcStatus> {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.split_whitespace().next()?.parse::<u64>().ok())
    };
    Some(ProcStatus {
        threads: field("Threads")?,
        rss_kib: field("VmRSS")?,
        virtual_kib: field("VmSize")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_in_kib() {
        let text = "Name:\tlab1\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 2120000 kB\n\
            VmSize:\t 2105344 kB\nVmLck:\t       0 kB\nVmRSS:\t   20480 kB\nRssAnon:\t 12000 kB\n\
            Threads:\t1001\nSigQ:\t0/63439\n";
        assert_eq!(
            parse_status(text),
            Some(ProcStatus {
                threads: 1001,
                rss_kib: 20480,
                virtual_kib: 2105344
            })
        );
        assert_eq!(parse_status("Name:\tzombie\nThreads:\t1\n"), None);
    }

    #[test]
    fn the_listening_line_gives_the_port() {
        assert_eq!(
            listening_address("lab2 listening on 127.0.0.1:40123"),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        assert_eq!(listening_address("lab2 starting"), None);
    }

    #[test]
    fn our_own_status_is_readable() {
        let text = std::fs::read_to_string("/proc/self/status").unwrap();
        let status = parse_status(&text).unwrap();
        assert!(status.threads >= 1 && status.rss_kib > 0 && status.virtual_kib > status.rss_kib);
    }
}
