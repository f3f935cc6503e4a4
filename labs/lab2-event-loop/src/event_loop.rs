//! # Lab 2, part B: the event loop
//!
//! Lecture: *"epoll: what's ready for reading?"*. Instead of a thread per client blocked in
//! `read`, one thread asks the kernel a single question: which of all my sockets are ready?
//! `mio::Poll` is that question (epoll on Linux, kqueue on macOS). The loop then does a little
//! work for each ready client and asks again. One thread, thousands of clients, and the cost
//! of a waiting client is the size of its `Connection`.
//!
//! ## Your tasks
//!
//! 1. Create a `Poll` and `Events`, and register the listener under a `Token` of its own.
//! 2. Keep the connections in a table indexed by `Token` (a `Vec<Option<..>>` with a free list,
//!    or a slab): a token must never be confused with a closed connection's successor.
//! 3. On a listener event, `accept` until `WouldBlock` (several clients may be waiting), and
//!    register each new stream for `READABLE`.
//! 4. On a connection event, let the connection make progress (`Connection::drive`). Then:
//!    close it if it is finished or broken (deregister, then drop); otherwise make its interest
//!    follow its output: `READABLE | WRITABLE` while output is pending, `READABLE` once it is
//!    not (`reregister` only when that changes). If your `drive` has a budget, drive again,
//!    after the next `poll` (with a zero timeout), every connection that stopped on it.
//! 5. SLEEP without sleeping: keep the pending deadlines in a timer heap
//!    (`BinaryHeap<Reverse<(Instant, ..)>>`). The `poll` timeout is the time until the earliest
//!    deadline, or `None` (wait as long as it takes) when there is none. After `poll` returns,
//!    drive the connections whose deadline has passed. Never `thread::sleep`, never a zero or
//!    tiny timeout "to check": an idle server must use no CPU.
//!
//! Source rules for this lab: no `std::thread`, no `tokio`, no `async` in these files.

use std::io;

use mio::net::TcpListener;

/// Serves MiniKV on `listener` forever, on the calling thread alone, with a store of its own.
pub fn serve(listener: TcpListener) -> io::Result<()> {
    todo!("lab 2, TODO 1-5: the event loop on {listener:?}")
}
