//! Lab 6: your own executor.
//!
//! What tokio does underneath, built from `std` alone: [`block_on`] runs one future on the
//! current thread; [`Executor`] runs many tasks on one thread; [`ThreadPool`] runs them on
//! several; [`sleep`] and [`yield_now`] are the leaf futures your tasks wait on.
//!
//! You edit `src/block_on.rs`, `src/task.rs`, `src/executor.rs`, `src/pool.rs` and
//! `src/timer.rs`; this file only wires them together. Start with the handout
//! (`docs/src/lab6.md`), then run `cargo run -p grader -- lab 6`.
//!
//! The rules of this lab: no `tokio`, no `futures::executor` (nor `FuturesUnordered` or
//! `ArcWake`), and no `unsafe` in the files you edit. Wakers come from `std::task::Wake`.

pub mod block_on;
pub mod executor;
pub mod pool;
pub mod task;
pub mod timer;

pub use block_on::block_on;
pub use executor::{Executor, Spawner};
pub use pool::ThreadPool;
pub use task::{yield_now, JoinHandle, YieldNow};
pub use timer::{sleep, Sleep};
