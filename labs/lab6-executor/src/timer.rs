//! # Lab 6, part E: `sleep` and the timer thread
//!
//! Lecture: *"Futures must not block"*. Inside a task, `std::thread::sleep` would stop the
//! executor's thread, and with it every other task of that thread. An async `sleep` instead
//! returns `Pending` and arranges to be woken at its deadline. Something outside the executor
//! must do the waking: here, one **timer thread** for the whole process, like the timer wheel
//! of tokio's driver or the timer heap of your lab 2 event loop.
//!
//! The timer thread keeps every pending deadline in a min-heap (a `BinaryHeap` of entries
//! ordered by deadline, reversed), sleeps until the earliest one (`Condvar::wait_timeout`, or
//! `Condvar::wait` while the heap is empty), and at each deadline wakes the waker stored for it.
//! A thread per `sleep` would work too, and cost a thread (its stack, a kernel task) per
//! waiting task: exactly what async Rust is meant to avoid. The tests count the threads while
//! 100 sleeps are pending.
//!
//! Three details matter:
//!
//! - A `sleep` may be polled several times, possibly with a different waker each time: keep
//!   the waker of the *latest* poll (`Waker::will_wake` tells you whether it changed).
//! - Look at "has the deadline passed / has the timer fired" and store the waker under one lock,
//!   so that the timer cannot fire in between and wake the old waker.
//! - The timer thread sleeps until its earliest deadline. When a new deadline comes *before*
//!   that one, wake the timer thread (`notify_one`) so that it waits for the new one instead:
//!   otherwise a 50 ms sleep waits for the 3 s sleep registered before it.
//!
//! ## Your tasks
//!
//! 1. Decide what a `Sleep` and the timer share: an `Arc` of a small struct behind a `Mutex`,
//!    holding "fired" and the `Option<Waker>` to wake.
//! 2. The timer: a `Mutex<BinaryHeap<..>>` and a `Condvar`, in a `static` `std::sync::OnceLock`;
//!    the first use starts the one timer thread. The thread loops: pop every entry whose
//!    deadline has passed and wake it (after releasing the heap's lock); then wait until the
//!    earliest deadline, or for a new entry.
//! 3. `sleep`: remember the deadline (`Instant::now() + duration`; `checked_add`, because a
//!    huge duration must not panic). Nothing else happens before the first poll.
//! 4. `poll`: `Ready(())` once the deadline has passed (or the timer has fired). Otherwise store
//!    this poll's waker, register with the timer the first time only (notifying the timer
//!    thread if this deadline is now the earliest), and return `Pending`.
//! 5. `Drop` for `Sleep` (optional but kind): let go of the stored waker, so that a dropped
//!    sleep does not keep its task alive until the deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A future that is `Ready(())` once `duration` has passed since `sleep` was called (TODO 3).
pub fn sleep(duration: Duration) -> Sleep {
    todo!("lab 6, TODO 3: a sleep of {duration:?}")
}

/// The future of [`sleep`].
pub struct Sleep {
    // TODO 1: the deadline, and what this sleep shares with the timer thread.
}

impl Future for Sleep {
    type Output = ();

    /// `Ready(())` after the deadline; before it, `Pending` with the latest waker handed to
    /// the one timer thread (TODO 2, 4).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        todo!("lab 6, TODO 2 and 4: poll with the waker {:?}", cx.waker())
    }
}
