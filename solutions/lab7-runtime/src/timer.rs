//! # Lab 7, part C: timers without a timer thread (reference solution)
//!
//! The runtime's timer heap: the earliest deadline is the timeout of `mio::Poll::poll`, and
//! after every wait the runtime wakes the sleeps whose deadlines have passed, in deadline
//! order.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::runtime;

/// The timers of one runtime.
#[derive(Default)]
pub(crate) struct Timers {
    inner: RefCell<TimerHeap>,
}

#[derive(Default)]
struct TimerHeap {
    /// (deadline, id), earliest first; ids break ties in the order of registration.
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    /// The waker of every sleep still waiting. A cancelled sleep leaves its heap entry behind,
    /// without a waker.
    wakers: HashMap<u64, Waker>,
    next_id: u64,
}

impl Timers {
    fn register(&self, deadline: Instant, waker: Waker) -> u64 {
        let mut timers = self.inner.borrow_mut();
        let id = timers.next_id;
        timers.next_id += 1;
        timers.heap.push(Reverse((deadline, id)));
        timers.wakers.insert(id, waker);
        id
    }

    fn update(&self, id: u64, waker: &Waker) {
        if let Some(stored) = self.inner.borrow_mut().wakers.get_mut(&id) {
            if !stored.will_wake(waker) {
                *stored = waker.clone();
            }
        }
    }

    fn cancel(&self, id: u64) {
        self.inner.borrow_mut().wakers.remove(&id);
    }

    /// How long the runtime may wait before the earliest deadline: `None` without timers,
    /// zero once one has passed.
    pub(crate) fn next_timeout(&self, now: Instant) -> Option<Duration> {
        let mut timers = self.inner.borrow_mut();
        // Cancelled sleeps must not wake the runtime for nothing.
        while let Some(Reverse((_, id))) = timers.heap.peek() {
            if timers.wakers.contains_key(id) {
                break;
            }
            timers.heap.pop();
        }
        timers
            .heap
            .peek()
            .map(|Reverse((deadline, _))| deadline.saturating_duration_since(now))
    }

    /// Wakes every sleep whose deadline is not after `now`, earliest first.
    pub(crate) fn fire(&self, now: Instant) {
        let mut due = Vec::new();
        {
            let mut timers = self.inner.borrow_mut();
            while let Some(&Reverse((deadline, id))) = timers.heap.peek() {
                if deadline > now {
                    break;
                }
                timers.heap.pop();
                if let Some(waker) = timers.wakers.remove(&id) {
                    due.push(waker);
                }
            }
        }
        // Wake outside the borrow (a waker is any code, in principle).
        for waker in due {
            waker.wake();
        }
    }
}

/// A future that is `Ready(())` once `duration` has passed since `sleep` was called. It must
/// be awaited inside a runtime: its first wait registers with that runtime's timers.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        deadline: Instant::now().checked_add(duration),
        entry: None,
    }
}

/// The future of [`sleep`].
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// `None`: too far away for an `Instant`, i.e. never.
    deadline: Option<Instant>,
    /// The runtime's timers and this sleep's id there, from its first `Pending` on.
    entry: Option<(Rc<Timers>, u64)>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(deadline) = self.deadline else {
            return Poll::Pending;
        };
        if Instant::now() >= deadline {
            if let Some((timers, id)) = self.entry.take() {
                timers.cancel(id);
            }
            return Poll::Ready(());
        }
        match &self.entry {
            Some((timers, id)) => timers.update(*id, cx.waker()),
            None => {
                let timers = Rc::clone(&runtime::current().timers);
                let id = timers.register(deadline, cx.waker().clone());
                self.entry = Some((timers, id));
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((timers, id)) = self.entry.take() {
            timers.cancel(id);
        }
    }
}
