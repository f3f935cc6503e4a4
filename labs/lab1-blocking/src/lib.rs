//! Lab 1: a blocking MiniKV server.
//!
//! You edit `src/server.rs` and `src/pool.rs`; this file only wires them together.
//! Start with the handout (`docs/src/lab1.md`), then run `cargo run -p grader -- lab 1`.

pub mod pool;
pub mod server;

pub use pool::ThreadPool;
pub use server::{handle_client, serve_pooled, serve_threaded};
