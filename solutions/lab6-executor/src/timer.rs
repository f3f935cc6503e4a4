//! # Lab 6, part E: `sleep` and the timer thread (reference solution)
//!
//! One timer thread for the whole process, started by the first `sleep` that has to wait. It
//! keeps the deadlines in a min-heap and sleeps on a condition variable until the earliest
//! one, or until a new deadline comes before it.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// A future that is `Ready(())` once `duration` has passed since `sleep` was called.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        // `None`: so far away that an `Instant` cannot hold it, i.e. never.
        deadline: Instant::now().checked_add(duration),
        entry: None,
    }
}

/// The future of [`sleep`].
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    deadline: Option<Instant>,
    /// What this sleep shares with the timer thread, from its first `Pending` on.
    entry: Option<Arc<Entry>>,
}

/// A registered sleep, as the timer thread sees it.
struct Entry {
    state: Mutex<EntryState>,
}

struct EntryState {
    fired: bool,
    waker: Option<Waker>,
}

impl Entry {
    fn lock(&self) -> MutexGuard<'_, EntryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fire(&self) {
        let waker = {
            let mut state = self.lock();
            state.fired = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(deadline) = this.deadline else {
            return Poll::Pending;
        };
        if let Some(entry) = &this.entry {
            // Look at `fired` and store the waker under one lock: the timer cannot fire in
            // between and find the old waker.
            let mut state = entry.lock();
            if state.fired || Instant::now() >= deadline {
                return Poll::Ready(());
            }
            match &state.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => state.waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        let entry = Arc::new(Entry {
            state: Mutex::new(EntryState {
                fired: false,
                waker: Some(cx.waker().clone()),
            }),
        });
        timer().register(deadline, Arc::clone(&entry));
        this.entry = Some(entry);
        Poll::Pending
    }
}

impl Drop for Sleep {
    /// Lets go of the waker at once (and with it the task), rather than at the deadline.
    fn drop(&mut self) {
        if let Some(entry) = &self.entry {
            entry.lock().waker = None;
        }
    }
}

/// A deadline in the heap. Ordered by deadline, reversed: `BinaryHeap` is a max-heap.
struct Timed {
    at: Instant,
    entry: Arc<Entry>,
}

impl PartialEq for Timed {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Timed {}

impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timed {
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at)
    }
}

/// The timer thread's heap and the condition variable it sleeps on.
struct Timer {
    heap: Mutex<BinaryHeap<Timed>>,
    changed: Condvar,
}

/// The one timer of the process, started on first use.
fn timer() -> &'static Timer {
    static TIMER: OnceLock<Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        // The thread's own call to `timer()` waits until this initialisation is done.
        thread::Builder::new()
            .name("lab6-timer".into())
            .spawn(|| timer().run())
            .expect("starting the timer thread");
        Timer {
            heap: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
        }
    })
}

impl Timer {
    fn lock(&self) -> MutexGuard<'_, BinaryHeap<Timed>> {
        self.heap.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, at: Instant, entry: Arc<Entry>) {
        let mut heap = self.lock();
        let earliest = heap.peek().is_none_or(|first| at < first.at);
        heap.push(Timed { at, entry });
        drop(heap);
        // The timer sleeps until its earliest deadline: tell it only if that changed.
        if earliest {
            self.changed.notify_one();
        }
    }

    fn run(&self) {
        let mut due = Vec::new();
        let mut heap = self.lock();
        loop {
            let now = Instant::now();
            while heap.peek().is_some_and(|first| first.at <= now) {
                if let Some(timed) = heap.pop() {
                    due.push(timed.entry);
                }
            }
            if !due.is_empty() {
                // Wake outside the lock: a woken task may register a new sleep at once.
                drop(heap);
                for entry in due.drain(..) {
                    entry.fire();
                }
                heap = self.lock();
                continue;
            }
            let wait = heap
                .peek()
                .map(|first| first.at.saturating_duration_since(now));
            heap = match wait {
                Some(wait) => self.wait_timeout(heap, wait),
                None => self
                    .changed
                    .wait(heap)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }

    fn wait_timeout<'a>(
        &self,
        heap: MutexGuard<'a, BinaryHeap<Timed>>,
        wait: Duration,
    ) -> MutexGuard<'a, BinaryHeap<Timed>> {
        self.changed
            .wait_timeout(heap, wait)
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }
}
