//! Small helpers for the labs' tests: local listeners, background servers, deadlines.

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

/// A listener on a free loopback port (`127.0.0.1:0`): tests never use fixed ports.
pub fn local_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    let addr = listener
        .local_addr()
        .expect("local address of the listener");
    (listener, addr)
}

/// Runs `serve` (a server loop that normally never returns) on a background thread. The test
/// process ends when the test does, taking the thread with it.
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
    match done_rx.recv_timeout(limit) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            panic!("{what} panicked: {message}")
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not finish within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what} ended without a result"),
    }
}
