//! # Lab 1, part A: a blocking server, one thread per connection
//!
//! Lecture: *"Threads are expensive"*. The simplest server reads from a socket and blocks until
//! bytes arrive. While one thread waits on one client it can do nothing else, so to serve many
//! clients at once you give each connection its own thread. That works, and it is how many
//! servers were written for decades, but every connection now costs a thread: a stack, a kernel
//! task, a context switch. You will measure that cost (`grader bench`), and in part B bound it
//! with a pool.
//!
//! MiniKV (see `labs/support`) does the parsing: you append what you read to a buffer and call
//! `support::decode` until it says it needs more bytes; `support::apply` executes a request and
//! tells you what to do next as an `Action`.
//!
//! ## Your tasks
//!
//! 1. `handle_client`: keep a buffer (`bytes::BytesMut`) for this connection. Loop: read from
//!    the socket into it; a read of 0 bytes means the client left.
//! 2. After each read, call `decode` *in a loop*: one read may hold several requests
//!    (pipelining) or only half of one (then wait for more bytes; never throw bytes away).
//! 3. For each request, lock the store, `apply` the request, and **unlock before doing anything
//!    slow**: never keep the lock while waiting for the client, while sleeping, or while writing.
//!    Other clients' threads need it. A panic elsewhere must not take the store away from
//!    everyone: take the guard of a poisoned lock too (`unwrap_or_else(PoisonError::into_inner)`).
//! 4. Carry out the `Action`: write the reply (`Reply::encode`); for `Action::Sleep` sleep with
//!    `std::thread::sleep` (this is the blocking lab) and then reply; for `Action::Close` reply
//!    and return `Ok(())`. A `FrameError` gets its `reply()`, then return `Ok(())` (the
//!    connection closes): `Err` is for I/O errors only.
//! 5. `serve_threaded`: accept connections forever and serve each one on a new thread. A silent
//!    client must never stop the server from accepting and serving others. A failed `accept` or
//!    a failed client concerns one client, not the server: log it and keep serving.
//! 6. `serve_pooled` (after part B, `pool.rs`): the same, but run each connection as a job on a
//!    `ThreadPool` of `workers` threads. Question for the handout: what happens to client
//!    number `workers + 1`?

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use support::Store;

/// Serves one client until it disconnects, sends `QUIT`, or sends a bad frame (TODO 1-4).
pub fn handle_client(stream: TcpStream, store: &Mutex<Store>) -> io::Result<()> {
    todo!("lab 1, TODO 1-4: serve {stream:?} with the store at {store:p}")
}

/// Accepts connections forever and serves each on its own thread (TODO 5).
pub fn serve_threaded(listener: TcpListener, store: Arc<Mutex<Store>>) -> io::Result<()> {
    todo!("lab 1, TODO 5: accept on {listener:?}, a thread per client, sharing {store:p}")
}

/// Accepts connections forever and serves them on a pool of `workers` threads (TODO 6).
pub fn serve_pooled(
    listener: TcpListener,
    store: Arc<Mutex<Store>>,
    workers: usize,
) -> io::Result<()> {
    todo!("lab 1, TODO 6: accept on {listener:?}, serve on {workers} pooled workers, sharing {store:p}")
}
