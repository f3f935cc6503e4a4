//! Small helpers for the labs' tests: local listeners, background servers, deadlines.
//!
//! Every helper that can fail a test is `#[track_caller]`: its panic names the line of the test
//! that called it, never a line of this file. [`within`] runs its closure on another thread, so
//! it catches the closure's panic and panics again at the caller's line, with the closure's own
//! message kept whole.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Raises this process's soft limit on open files to at least `wanted` (within the hard
/// limit), for tests that hold hundreds of connections: each costs two descriptors when the
/// client and the server share the process. Returns the limit now in force.
pub fn raise_open_files_limit(wanted: u64) -> u64 {
    rlimit::increase_nofile_limit(wanted).unwrap_or(0)
}

/// Takes every free file descriptor of this process but `spare`, runs `body`, then gives them
/// back and restores the limit on open files, even if `body` panics. Tests use it to make
/// `accept` fail with "too many open files" (EMFILE), which a server must log and survive: the
/// `spare` descriptors are for the test's own clients.
#[track_caller]
pub fn with_descriptors_exhausted<T>(spare: usize, body: impl FnOnce() -> T) -> T {
    let (soft, hard) = rlimit::Resource::NOFILE
        .get()
        .expect("the limit on open files (getrlimit)");
    // The limit bounds descriptor numbers, not their count: put it a little above the highest
    // descriptor open now, then fill every free number below it.
    let highest = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
        .unwrap_or(2);
    let lowered = (highest + 1 + 64).min(hard);
    rlimit::Resource::NOFILE
        .set(lowered, hard)
        .expect("lowering the limit on open files (setrlimit)");
    struct Restore {
        soft: u64,
        hard: u64,
        hoard: Vec<std::fs::File>,
    }
    impl Drop for Restore {
        fn drop(&mut self) {
            self.hoard.clear();
            let _ = rlimit::Resource::NOFILE.set(self.soft, self.hard);
        }
    }
    let mut restore = Restore {
        soft,
        hard,
        hoard: Vec::new(),
    };
    while let Ok(file) = std::fs::File::open("/dev/null") {
        restore.hoard.push(file);
    }
    assert!(
        restore.hoard.len() >= spare,
        "only {} descriptors were free under a limit of {lowered}",
        restore.hoard.len()
    );
    for _ in 0..spare {
        restore.hoard.pop();
    }
    body()
}

/// Stops this whole process with SIGSTOP and lets it go on with SIGCONT, as a shell's Ctrl-Z
/// and `fg` do. On Linux a thread blocked in `epoll_wait` (mio's `Poll::poll`) then returns
/// `Interrupted`, which an event loop must take as "poll again". Returns once the process runs
/// again. The stop lasts 50 ms: a SIGCONT that arrives before every thread has stopped cancels
/// the stop, and then no call is interrupted.
#[track_caller]
pub fn stop_and_continue_this_process() {
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"kill -STOP "$0" && sleep 0.05; kill -CONT "$0""#)
        .arg(std::process::id().to_string())
        .status()
        .expect("running sh to send SIGSTOP and SIGCONT");
    assert!(
        status.success(),
        "sh could not stop and continue this process: {status}"
    );
}

/// A listener on a free loopback port (`127.0.0.1:0`): tests never use fixed ports.
#[track_caller]
pub fn local_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let addr = listener
        .local_addr()
        .expect("local address of the listener");
    (listener, addr)
}

/// Runs `serve` (a server loop that normally never returns) on a background thread. The test
/// process ends when the test does, taking the thread with it.
#[track_caller]
pub fn in_background<F>(name: &str, serve: F)
where
    F: FnOnce() + Send + 'static,
{
    thread::Builder::new()
        .name(name.to_string())
        .spawn(serve)
        .expect("spawning a background thread");
}

/// A thread-per-connection server, written by the test, that hands every accepted connection
/// to `handler`. Tests of a connection handler use it so they depend on the handler alone.
#[track_caller]
pub fn serve_each_connection_on_a_thread<H>(handler: H) -> SocketAddr
where
    H: Fn(TcpStream) + Send + Sync + Clone + 'static,
{
    let (listener, addr) = local_listener();
    in_background("test-acceptor", move || {
        for stream in listener.incoming().flatten() {
            let handler = handler.clone();
            thread::spawn(move || handler(stream));
        }
    });
    addr
}

/// Runs `work` on another thread and returns its result, or panics with `what` if it takes
/// longer than `limit` (the thread is left behind; the test process ends soon after).
///
/// A panic inside `work` (a failed assertion, a `todo!()` of the code under test) is caught
/// and raised again here, at the line of the test that called `within`, as
/// `"{what} panicked: {the original message}"`.
#[track_caller]
pub fn within<T, F>(limit: Duration, what: &str, work: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done_tx, done_rx) = mpsc::channel();
    thread::spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        let _ = done_tx.send(outcome);
    });
    // No closures below: `#[track_caller]` reaches only panics raised in this body itself.
    match done_rx.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => panic!("{what} panicked: {}", panic_message(&*payload)),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not finish within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} ended without a result"),
    }
}

/// The message of a panic's payload: the text of `panic!`, `assert!` and `todo!`.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_string()
    }
}
