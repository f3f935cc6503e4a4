//! # Lab 3, part A: your first `Future`
//!
//! Lecture: *"The Future trait"*. A future is a value you can ask "are you done yet?":
//!
//! ```ignore
//! pub trait Future {
//!     type Output;
//!     fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output>;
//! }
//! ```
//!
//! `poll` never blocks. It answers `Poll::Ready(output)` or `Poll::Pending` at once. The
//! executor does the polling, and it does not poll a `Pending` future again on a whim: it
//! waits until the future's **waker** (`cx.waker()`) is woken. That is the contract:
//!
//! > A future that returns `Pending` must make sure that the waker of that poll will be woken
//! > once it can make progress. If nobody wakes it, nobody polls it again: a *lost wake-up*,
//! > and the program hangs.
//!
//! `Countdown` is the smallest future that keeps the contract. It is not waiting for anything,
//! so it wakes its task itself, at once, every time it returns `Pending`: "I am not done, poll
//! me again". (That is exactly what `tokio::task::yield_now` does.)
//!
//! ## Your tasks
//!
//! 1. Give `Countdown` a field: how many more times it must return `Pending`.
//! 2. `new(n)`: a countdown from `n`. Nothing happens until the first poll.
//! 3. `poll`: if the count is above zero, decrease it, wake the task
//!    (`cx.waker().wake_by_ref()`) and return `Poll::Pending`. Otherwise return
//!    `Poll::Ready(())`. `Countdown` is `Unpin` (all its fields are), so `self.get_mut()`
//!    gives you `&mut Countdown`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that is `Pending` `n` times, waking its task each time, then `Ready(())`.
pub struct Countdown {
    // TODO 1: how many more times to return Pending.
}

impl Countdown {
    /// A countdown from `n` (TODO 2).
    pub fn new(n: usize) -> Countdown {
        todo!("lab 3, TODO 2: a countdown from {n}")
    }
}

impl Future for Countdown {
    type Output = ();

    /// `Pending` (after waking the task) while the count is above zero, then `Ready(())`
    /// (TODO 3).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        todo!("lab 3, TODO 3: poll with the waker {:?}", cx.waker())
    }
}
