//! # Lab 6, part A: `block_on`, the smallest executor
//!
//! Lecture: *"Executors"* and *"Wakers"*. A future does nothing until someone polls it, and
//! after it returns `Pending` it is polled again only once its waker has been woken. An
//! executor is whatever does that polling. The smallest one runs a single future on the
//! current thread: poll it; while it is `Pending`, **sleep** until the waker says there is
//! progress to make; poll again. That is `block_on`, the bridge from synchronous code (`main`,
//! a test) into async code, and what `#[tokio::main]` calls for you.
//!
//! Sleeping here means **parking** the thread: `std::thread::park()` puts the current thread to
//! sleep until someone calls `unpark()` on its `Thread` handle, which any other thread may hold.
//! So the waker that you pass to `poll` must unpark the thread that runs `block_on`. You write
//! that waker yourself with `std::task::Wake`: implement the trait for a type of yours, put a
//! value of it in an `Arc`, and `Waker::from(arc)` is a `Waker` whose `wake` calls yours. No
//! `unsafe`, no vtable by hand.
//!
//! Two ways to get it wrong, both of which the tests look for:
//!
//! - **Spinning**: polling again and again without parking (or with `thread::yield_now()` in
//!   between). The answer is right, and a whole CPU burns while the future waits. The tests
//!   measure the CPU time of `block_on(sleep(300 ms))`.
//! - **Trusting `park` blindly**: `park` may return without any `unpark` (a spurious wake-up).
//!   The other way round is safe: an `unpark` that comes *before* the `park` makes that `park`
//!   return at once, so a wake-up that arrives while you are still polling is not lost. Keep a
//!   flag that the waker sets, and park until you see it set.
//!
//! ## Your tasks
//!
//! 1. A type for the waker: the `Thread` to unpark (`std::thread::current()`) and an
//!    `AtomicBool` "woken". Implement `Wake` for it: `wake` sets the flag and unparks the
//!    thread (`wake_by_ref` can do the same without consuming the `Arc`).
//! 2. `block_on`: pin the future on the stack (`std::pin::pin!`), make the waker
//!    (`Waker::from(Arc::new(..))`, keeping a clone of the `Arc` to read the flag) and a
//!    `Context` from it (`Context::from_waker`).
//! 3. Loop: poll the future; on `Poll::Ready(output)`, return the output. On `Pending`, park
//!    until the flag is set (in a loop: `park` may return early), clear the flag, poll again.

use std::future::Future;

/// Runs `future` to completion on the current thread, sleeping while it is `Pending`
/// (TODO 1-3).
pub fn block_on<F: Future>(future: F) -> F::Output {
    drop(future);
    todo!("lab 6, TODO 1-3: poll the future, park while it is Pending")
}
