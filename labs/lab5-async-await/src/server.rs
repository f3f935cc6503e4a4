//! # Lab 5, part C: a task per connection, and a graceful shutdown
//!
//! Lecture: *"executors"*. `tokio::spawn` hands a future to the runtime as a **task**: the
//! runtime polls it whenever its waker says it can make progress, on whichever of its threads
//! is free (on a current-thread runtime, always the same one). A task per connection is lab
//! 1's thread per connection at the cost of lab 2's struct per connection: a few hundred
//! bytes, not a stack. A spawned future may move between threads, so it must be `Send`:
//! this is where a `MutexGuard` held across an `.await` in `src/connection.rs` shows up as a
//! compiler error ("cannot be sent between threads safely").
//!
//! ## Your tasks
//!
//! 1. The accept loop: `listener.accept().await`, and spawn a task per connection that runs
//!    `handle_connection_until`. Keep the tasks in a `tokio::task::JoinSet`, so that you can
//!    wait for them later, and collect the finished ones as you go (`join_next`). Never
//!    `.await` a connection in the loop: that serves one client at a time.
//! 2. Accept errors (too many open files, a client gone before it was accepted) must not end
//!    the server: report them, wait a little, carry on.
//! 3. Shutdown: race `accept` against `shutdown` (`tokio::select!`; pin the `shutdown` future
//!    with `tokio::pin!` or `std::pin::pin!` so it can be polled again and again). When it
//!    completes, stop accepting (drop the listener) and tell every connection (a
//!    `tokio::sync::watch` channel): idle ones close at once, busy ones after their request.
//! 4. Wait for the connection tasks, but no longer than [`SHUTDOWN_GRACE`]
//!    (`tokio::time::timeout`); cancel the ones still running then (`JoinSet::shutdown`), and
//!    return `Ok(())` once every task has ended. Dropping a `JoinSet` aborts its tasks: the
//!    replies they owed are lost.

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;

use support::Store;

#[allow(unused_imports)] // you will need them for TODO 1 and 4
use crate::{connection::handle_connection_until, SHUTDOWN_GRACE};

/// Accepts clients on `listener` and serves each one in a task of its own, until `shutdown`
/// completes. Then it stops accepting, lets the requests in flight finish, and returns once
/// every connection task has ended, or once [`SHUTDOWN_GRACE`] has passed (cancelling the
/// tasks that are still running) (TODO 1-4).
pub async fn serve(
    listener: TcpListener,
    store: Arc<Mutex<Store>>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let _ = (store, shutdown);
    todo!("lab 5, TODO 1-4: accept on {listener:?}, a task per connection, graceful shutdown")
}
