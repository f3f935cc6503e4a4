//! Lab 2: a single-threaded event loop on mio.
//!
//! You edit `src/connection.rs` (the state of one conversation) and `src/event_loop.rs` (the
//! loop that multiplexes them). Start with the handout (`docs/src/lab2.md`), then run
//! `cargo run -p grader -- lab 2`.

pub mod connection;
pub mod event_loop;

pub use event_loop::serve;
