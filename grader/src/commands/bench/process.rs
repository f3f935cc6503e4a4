//! Child processes that never outlive the bench: the student's servers, `redis-benchmark`
//! and lab 6's benchmark program.
//!
//! Each child leads its own process group, so one `killpg` also takes whatever it started.
//! The group is killed when its [`Guarded`] handle is dropped: on success, on an error that
//! `?` carries up and while a panic unwinds. A child also gets `SIGKILL` from the kernel when
//! the grader dies without unwinding (Ctrl-C, `kill -9`): a server left listening on a
//! loopback port by an interrupted bench would otherwise run until the next reboot.

use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::run::build::allowed_env;

/// The most output kept from one stream of a child: enough for any figure or panic message,
/// and a child that prints without end cannot fill the grader's memory.
pub const OUTPUT_CAP: usize = 256 * 1024;

/// A running child, killed with its whole process group when dropped.
pub struct Guarded {
    child: Child,
    /// The child's process group: its own pid, since it leads the group.
    group: libc::pid_t,
    /// Set once the child has been waited for.
    status: Option<ExitStatus>,
}

/// A command with the grader's cleared environment (the same allow-list as builds and
/// tests: a student's `RUST_LOG`, `RUSTFLAGS`... play no part), stdin closed.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_clear().envs(allowed_env()).stdin(Stdio::null());
    command
}

impl Guarded {
    /// Starts `command` in a new process group, tied to the grader's life.
    ///
    /// The kernel's parent-death signal follows the *thread* that forked the child, so the
    /// bench starts its children from the thread that runs the whole command (the main one).
    pub fn spawn(command: &mut Command) -> io::Result<Guarded> {
        command.process_group(0);
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: between fork and exec the closure only makes two async-signal-safe system
        // calls and builds an error from a constant: it allocates nothing and takes no lock.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The grader died before the line above: nobody would ever kill this child.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        let child = command.spawn()?;
        let group = child.id() as libc::pid_t;
        Ok(Guarded {
            child,
            group,
            status: None,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's standard output, once.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's standard error, once.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// How the child ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits at most `limit` for the child to end; `None` if it is still running.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the child's process group and reaps the child.
    pub fn kill(&mut self) {
        // SAFETY: sends a signal to the group this guard's child leads; the group cannot have
        // been reused while any of its members, the unreaped child included, still exists.
        unsafe {
            libc::killpg(self.group, libc::SIGKILL);
        }
        if self.status.is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A stream of a child read to its end by a background thread, at most [`OUTPUT_CAP`] bytes
/// kept: the child never blocks on a full pipe, whatever it prints.
#[derive(Clone, Default)]
pub struct Captured {
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    /// Starts draining `stream` (nothing to do without one).
    pub fn start(stream: Option<impl Read + Send + 'static>) -> Captured {
        let captured = Captured::default();
        if let Some(mut stream) = stream {
            let bytes = Arc::clone(&captured.bytes);
            let _ = thread::Builder::new()
                .name("bench-capture".into())
                .spawn(move || {
                    let mut chunk = [0u8; 8192];
                    loop {
                        match stream.read(&mut chunk) {
                            Ok(0) => return,
                            Ok(n) => {
                                let mut kept = bytes.lock().unwrap_or_else(PoisonError::into_inner);
                                let room = OUTPUT_CAP.saturating_sub(kept.len());
                                kept.extend_from_slice(&chunk[..n.min(room)]);
                            }
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            Err(_) => return,
                        }
                    }
                });
        }
        captured
    }

    /// What arrived so far, as text.
    pub fn text(&self) -> String {
        let bytes = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// What a program run to its end (or to its time limit) printed.
pub struct Finished {
    pub stdout: String,
    pub stderr: String,
    /// `None` when the time limit killed it.
    pub status: Option<ExitStatus>,
}

impl Finished {
    /// How the program ended, in words, for a report.
    pub fn describe(&self, limit: Duration) -> String {
        match self.status {
            None => format!("did not finish within {}s", limit.as_secs()),
            Some(status) => describe_exit(status),
        }
    }
}

/// Runs `command` with its output captured, killing it (and its group) after `limit`.
pub fn run_with_limit(command: &mut Command, limit: Duration) -> io::Result<Finished> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = Guarded::spawn(command)?;
    let stdout = Captured::start(child.take_stdout());
    let stderr = Captured::start(child.take_stderr());
    let status = child.wait_for(limit);
    child.kill();
    // The pipes close with the group; give the readers a moment to take the last bytes.
    thread::sleep(Duration::from_millis(20));
    Ok(Finished {
        stdout: stdout.text(),
        stderr: stderr.text(),
        status,
    })
}

/// "exit status 101", "killed by signal 9".
pub fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended".to_string(),
    }
}

/// The panic messages in a child's standard error, on one line (the first two, as the
/// grader's reports show them), or `None` if it did not panic.
pub fn panic_message(stderr: &str) -> Option<String> {
    let message = crate::report::text::failure_message(stderr, "");
    let one_line: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    (!one_line.is_empty()).then(|| one_line.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_onto_one_line() {
        let stderr = "lab1 listening on 127.0.0.1:4000\n\
            thread 'main' panicked at src/server.rs:12:5:\n\
            not yet implemented\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("thread 'main' panicked at src/server.rs:12:5: not yet implemented")
        );
        assert_eq!(panic_message("nothing to see\n"), None);
    }

    #[test]
    fn a_program_past_its_limit_is_killed_and_said_so() {
        let mut sleeper = command("sleep");
        sleeper.arg("30");
        let started = Instant::now();
        let finished = run_with_limit(&mut sleeper, Duration::from_millis(200)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(finished.status.is_none());
        assert_eq!(
            finished.describe(Duration::from_secs(1)),
            "did not finish within 1s"
        );
    }
}
