//! # Lab 7, part C: timers without a timer thread
//!
//! Lecture: *"Futures must not block"*, and lab 2's timer heap. In lab 6, one timer thread
//! slept until the earliest deadline and woke the sleeping tasks from outside. This runtime
//! already has a thread that waits: its own, in `mio::Poll::poll`. So the timers need no
//! thread at all. They are a **min-heap of deadlines** inside the runtime, and the earliest one
//! is the **timeout of `poll`**. After every wait (whether it ended with events or with the
//! timeout) the runtime wakes every sleep whose deadline has passed, earliest first.
//!
//! A `Sleep` registers with the timers of the current runtime on its first `Pending` poll (a
//! `sleep` made outside a runtime and awaited inside one works). It keeps the waker of its
//! latest poll there, and a dropped `Sleep` takes its waker out, so that a cancelled sleep
//! wakes nobody and does not shorten the runtime's next wait.
//!
//! What the tests look for: 10 000 sleeps of random lengths, next to an echo load that keeps
//! the sockets busy, must all end, none before its deadline, none long after it, and in the
//! order of their deadlines; and no thread may be started for them.
//!
//! ## Your tasks
//!
//! 1. The timers of a runtime (a `pub(crate) struct`): a `BinaryHeap` of
//!    `Reverse((deadline, id))` and the wakers of the pending sleeps by id, in a `RefCell`.
//!    Methods: register, update a waker, cancel, the time until the earliest deadline (`None`
//!    without timers; skip cancelled entries), and fire: pop every entry whose deadline is
//!    not after `now`, and wake their wakers (after releasing the `RefCell`), earliest first.
//! 2. `sleep`: remember `Instant::now() + duration` (`checked_add`: a huge duration must not
//!    panic; it never ends). Nothing else happens before the first poll.
//! 3. `Sleep::poll`: `Ready(())` once the deadline has passed. Otherwise register with the
//!    current runtime's timers the first time (find them through the runtime's
//!    `thread_local!`), later just update the waker, and return `Pending`.
//! 4. `Drop` for `Sleep`: cancel its entry.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A future that is `Ready(())` once `duration` has passed since `sleep` was called; it waits
/// in the runtime's timer heap (TODO 2).
pub fn sleep(duration: Duration) -> Sleep {
    todo!("lab 7, TODO 2: a sleep of {duration:?}")
}

/// The future of [`sleep`].
pub struct Sleep {
    // TODO 2: the deadline, and this sleep's entry in the runtime's timers once registered.
}

impl Future for Sleep {
    type Output = ();

    /// `Ready(())` after the deadline; before it, `Pending` with the waker of this poll in
    /// the runtime's timers (TODO 3).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        todo!("lab 7, TODO 3: poll with the waker {:?}", cx.waker())
    }
}
