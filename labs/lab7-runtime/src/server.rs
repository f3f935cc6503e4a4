//! # Lab 7, part E: the MiniKV server on your runtime
//!
//! Lecture: *"async/await"* and *"futures must not block"*, one last time. This is lab 5's
//! server, without the idle timeout and the shutdown, on your runtime instead of tokio's: a
//! task per connection, each one a plain `async fn` conversation that reads, answers with
//! `support::decode` and `support::apply`, and writes. Compare it with lab 2's `Connection`:
//! the same state, kept by the compiler this time, and the same event loop underneath, yours.
//!
//! One thread runs every task, so the store needs no `Mutex`: an `Rc<RefCell<Store>>`,
//! borrowed for one `apply` at a time and never across an `.await` (a `RefCell` borrowed
//! across an `.await` panics as soon as another task borrows it).
//!
//! What the tests look for: the MiniKV commands as in lab 5; pipelined requests answered in
//! order; requests bigger than one read; 60 KiB replies to a client that reads slowly; and a
//! `SLEEP` that awaits your `sleep`: `std::thread::sleep` would stop every client, since they
//! all share the one thread.
//!
//! ## Your tasks
//!
//! 1. `serve`: accept in a loop and `spawn` a task per connection with a clone of the `Rc`.
//!    An accept error (out of descriptors, a client gone before it was accepted) must not
//!    stop the server: report it and wait a little (with your `sleep`) before going on.
//! 2. The conversation: an input buffer (`bytes::BytesMut`) kept across reads; answer every
//!    complete request in order (`decode` until `Ok(None)`), collecting the replies; write
//!    them with `write_all`; then read more. End of file or an error ends the conversation.
//! 3. `Action::Sleep`: send the replies owed so far, `sleep(duration).await`, then continue
//!    with `then`. `Action::Close` (QUIT) and a bad frame (its `error.reply()`): send the
//!    reply, then return, which drops and closes the stream.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use support::Store;

use crate::net::TcpListener;

/// Accepts clients on `listener` forever and serves each one in a task of its own, all on
/// the runtime's thread, sharing `store` (TODO 1-3).
pub async fn serve(listener: TcpListener, store: Rc<RefCell<Store>>) -> io::Result<()> {
    drop((listener, store));
    todo!("lab 7, TODO 1-3: the MiniKV server on your runtime")
}
