//! Lab 7, the capstone: your own runtime.
//!
//! Lab 2's event loop and lab 6's executor become one thing: a single-threaded async runtime,
//! tokio's current-thread runtime in miniature. [`Runtime`] runs tasks; its reactor (a
//! `mio::Poll` and a table of wakers) wakes the tasks whose sockets are ready; its timer heap
//! wakes the tasks whose [`sleep`] is over; [`net`] has the async sockets; [`serve`] is the
//! MiniKV server of lab 5, ported to all of this.
//!
//! You edit `src/runtime.rs`, `src/reactor.rs`, `src/timer.rs`, `src/net.rs` and
//! `src/server.rs`; this file only wires them together, and `src/main.rs` starts your server.
//! Start with the handout (`docs/src/lab7.md`), then run `cargo run -p grader -- lab 7`.
//!
//! The rules of this lab: no `tokio`, no `futures::executor`, no other runtime or readiness
//! crate (`async-std`, `smol`, `async-io`, `polling`), no `std::thread` (one thread runs
//! everything) and no `unsafe` in the files you edit. `mio` is allowed: it is the reactor's
//! window on epoll.

pub mod net;
mod reactor;
pub mod runtime;
pub mod server;
pub mod timer;

pub use runtime::{spawn, JoinHandle, Runtime};
pub use server::serve;
pub use timer::{sleep, Sleep};
