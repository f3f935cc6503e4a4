//! # Lab 3, part B: a leaf future and its waker
//!
//! Lecture: *"Who wakes the task?"*. `Countdown` could wake itself because it was never
//! waiting for anything. A real leaf future waits for the outside world: a socket becoming
//! readable (lab 2's epoll), or here, a moment in time. While it waits, its task sleeps, and
//! something *else* must wake it when the moment comes. For sockets that is the reactor; for
//! time it is a **timer thread**.
//!
//! `Delay::new(duration)` is `Ready` once `duration` has passed. Between its first poll and its
//! deadline it returns `Pending`, and exactly one background thread, shared by every `Delay` of
//! the process, wakes it at the deadline.
//!
//! Three ways to get this wrong, all of which the tests look for:
//!
//! - **Lost wake-up**: returning `Pending` without giving the waker to the timer thread. The
//!   task is never polled again.
//! - **Busy polling**: waking the task on every poll "just in case". It works, but the
//!   executor polls your `Delay` in a loop and burns a CPU for nothing.
//! - **Stale waker**: a task can move (an executor may poll it with a new waker, and a
//!   combinator like `select` polls its children with its own). Only the waker of the *latest*
//!   poll is sure to reach the task. Keep that one, not the first.
//!
//! And never sleep inside `poll`, never start a thread per poll or per `Delay`.
//!
//! ## Your tasks
//!
//! 1. Decide what a `Delay` and the timer thread share: an `Arc<Mutex<..>>` of a small struct
//!    with "the deadline has passed" and the `Option<Waker>` to wake.
//! 2. The timer thread: one per process, started the first time a `Delay` has to wait
//!    (`std::sync::OnceLock` holding the sending end of an `std::sync::mpsc` channel is a good
//!    start). It receives (deadline, shared state) pairs, keeps them in order of deadline
//!    (`std::collections::BinaryHeap`), and sleeps until the earliest deadline or a new
//!    registration, whichever comes first (`Receiver::recv_timeout`). At a deadline it marks
//!    the shared state, takes the waker out and wakes it (after releasing the lock). A `Mutex`
//!    has no order, so the heap holds a struct of yours that implements `Ord` by deadline only,
//!    reversed so that the max-heap pops the earliest deadline first.
//! 3. `new`: remember the deadline (`Instant::now() + duration`). Nothing else happens until
//!    the first poll.
//! 4. `poll`: `Ready(())` once the deadline has passed. Otherwise store the waker of *this*
//!    poll in the shared state (replace the old one unless `will_wake` says it is the same),
//!    register with the timer thread the first time only, and return `Pending`. Look at the
//!    "fired" flag and store the waker under one lock, so the timer cannot fire in between (a
//!    clock check before the lock is a fine shortcut, but not a replacement for the flag).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A future that is `Ready(())` once `duration` has passed since [`Delay::new`].
pub struct Delay {
    // TODO 1: the deadline and the state shared with the timer thread.
}

impl Delay {
    /// A delay that ends `duration` from now (TODO 3).
    pub fn new(duration: Duration) -> Delay {
        todo!("lab 3, TODO 3: a delay of {duration:?}")
    }
}

impl Future for Delay {
    type Output = ();

    /// `Ready(())` after the deadline; before it, `Pending` with the latest waker handed to
    /// the one timer thread (TODO 2, 4).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        todo!("lab 3, TODO 2 and 4: poll with the waker {:?}", cx.waker())
    }
}
