//! # Lab 5, part B: one conversation as an `async fn`
//!
//! Lecture: *"async/await: a compiler-built state machine"* and *"futures must not block"*.
//! In lab 1 a conversation was a thread blocked in `read`; in lab 2 it was a `Connection`
//! struct that you saved and resumed by hand at every `WouldBlock`. Now you write it as
//! straight-line code again, as in lab 1, and the compiler builds lab 2's struct for you:
//! the buffers, the SLEEP in progress and where the conversation stands all live in the
//! future that `handle_connection` returns, saved at each `.await`. A waiting client costs
//! the size of that future, not a thread.
//!
//! The price: **a future must never block**. Many tasks share each of tokio's threads (on a
//! current-thread runtime, all of them share one). `.await` gives the thread back while a
//! task waits; `std::thread::sleep`, a blocking `std::io` call or a lock held while waiting
//! keeps it, and every other task on that thread stops with it.
//!
//! ## Your tasks
//!
//! 1. Reading: keep one `BytesMut` for the whole conversation and append to it with
//!    `io.read_buf(&mut input).await` (`tokio::io::AsyncReadExt`). `Ok(0)` is end-of-file:
//!    return `Ok(())`, even with half a frame in the buffer. Errors end it through `?`.
//! 2. Answering: `support::decode` until `Ok(None)`, and `support::apply` each request with
//!    the store locked. Lock for `apply` only: a `std::sync::MutexGuard` kept across an
//!    `.await` makes the future `!Send` (`tokio::spawn` then refuses it) and would hold the
//!    lock while the task sleeps. A bad frame gets `error.reply()`, then the conversation ends
//!    with `Ok(())` (`Err` is for I/O errors). Before the stream is dropped, shut down its
//!    writing half (`io.shutdown().await`) so that the client gets the reply, then end-of-file.
//! 3. Writing: encode replies (`Reply::encode`) into an output buffer and send it with
//!    `write_all(..).await`: a single `write` may take only part of it. Replies go out in the
//!    order of the requests.
//! 4. `SLEEP`: `tokio::time::sleep(duration).await`, then reply `then`. Never
//!    `std::thread::sleep`. `QUIT` (`Action::Close`): reply, then return.
//! 5. The idle timeout: a client that sends no complete request for [`IDLE_TIMEOUT`] gets
//!    `-ERR idle timeout` and the connection closes. Race the read against a timer
//!    (`tokio::select!` with a pinned `tokio::time::sleep`, or `tokio::time::timeout_at` with a
//!    deadline of yours; not `timeout(IDLE_TIMEOUT, ..)`, which restarts on every byte), and
//!    start the count again once the replies to the requests so far have been written.
//! 6. Stopping early: `serve` must be able to tell a connection that the server is shutting
//!    down. [`handle_connection_until`] gets a `tokio::sync::watch::Receiver<bool>` that turns
//!    `true` then: while waiting for a request, return at once; in the middle of one, finish
//!    it (its reply included) and return, without answering the requests buffered behind it.

use std::io;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use support::Store;

#[allow(unused_imports)] // you will need it for TODO 5
use crate::IDLE_TIMEOUT;

/// Serves one MiniKV client on `io` until it leaves, sends `QUIT` or a bad frame, or stays
/// silent for [`IDLE_TIMEOUT`].
pub async fn handle_connection<IO>(io: IO, store: Arc<Mutex<Store>>) -> io::Result<()>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    // Nobody ever asks this conversation to stop early: keep the sender alive alongside it.
    let (_never, stop) = watch::channel(false);
    handle_connection_until(io, store, stop).await
}

/// [`handle_connection`], which also ends once `stop` turns `true` (the server is shutting
/// down): at once while waiting for a request, else right after the request in progress
/// (TODO 1-6).
pub async fn handle_connection_until<IO>(
    io: IO,
    store: Arc<Mutex<Store>>,
    stop: watch::Receiver<bool>,
) -> io::Result<()>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let _ = (io, stop);
    todo!(
        "lab 5, TODO 1-6: read, answer and write with {} keys in the store",
        store.lock().map(|s| s.len()).unwrap_or(0)
    )
}
