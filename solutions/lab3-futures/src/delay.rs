//! Reference solution: a leaf future woken by one timer thread shared by every delay.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// What a `Delay` and the timer thread share.
#[derive(Debug, Default)]
struct Shared {
    /// Set by the timer thread at the deadline.
    fired: bool,
    /// The waker of the latest poll, taken by the timer thread when it fires.
    waker: Option<Waker>,
}

/// A future that is `Ready(())` once `duration` has passed since `Delay::new`.
#[derive(Debug)]
pub struct Delay {
    deadline: Instant,
    /// `None` until the first `Pending` poll registers the delay with the timer thread.
    shared: Option<Arc<Mutex<Shared>>>,
}

impl Delay {
    /// A delay that ends `duration` from now.
    pub fn new(duration: Duration) -> Delay {
        Delay {
            deadline: Instant::now() + duration,
            shared: None,
        }
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if Instant::now() >= this.deadline {
            return Poll::Ready(());
        }
        let first_poll = this.shared.is_none();
        let shared = this.shared.get_or_insert_with(Default::default);
        {
            let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
            if state.fired {
                return Poll::Ready(());
            }
            // The task may have moved to another waker since the last poll: keep the latest.
            match &state.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => state.waker = Some(cx.waker().clone()),
            }
        }
        if first_poll {
            timer().send(Registration {
                deadline: this.deadline,
                shared: Arc::clone(shared),
            });
        }
        Poll::Pending
    }
}

impl Drop for Delay {
    fn drop(&mut self) {
        // Nobody waits any more: release the task's waker now rather than at the deadline.
        if let Some(shared) = &self.shared {
            shared.lock().unwrap_or_else(PoisonError::into_inner).waker = None;
        }
    }
}

/// A delay handed to the timer thread.
struct Registration {
    deadline: Instant,
    shared: Arc<Mutex<Shared>>,
}

// The heap orders registrations by deadline only.
impl PartialEq for Registration {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}

impl Eq for Registration {}

impl PartialOrd for Registration {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Registration {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed, so that BinaryHeap (a max-heap) pops the earliest deadline first.
        other.deadline.cmp(&self.deadline)
    }
}

/// The sending end to the one timer thread of the process.
struct Timer {
    registrations: Sender<Registration>,
}

impl Timer {
    fn send(&self, registration: Registration) {
        self.registrations
            .send(registration)
            .expect("the timer thread runs as long as the process");
    }
}

/// The timer thread, started by the first delay that has to wait.
fn timer() -> &'static Timer {
    static TIMER: OnceLock<Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let (registrations, incoming) = mpsc::channel();
        thread::Builder::new()
            .name("lab3-timer".into())
            .spawn(move || run_timer(incoming))
            .expect("starting the timer thread");
        Timer { registrations }
    })
}

/// Sleeps until the earliest deadline or a new registration, then wakes every delay that is due.
fn run_timer(incoming: Receiver<Registration>) {
    let mut pending: BinaryHeap<Registration> = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while pending.peek().is_some_and(|next| next.deadline <= now) {
            if let Some(due) = pending.pop() {
                fire(&due.shared);
            }
        }
        let received = match pending.peek() {
            Some(next) => incoming.recv_timeout(next.deadline.saturating_duration_since(now)),
            None => incoming.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(registration) => pending.push(registration),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn fire(shared: &Mutex<Shared>) {
    let waker = {
        let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
        state.fired = true;
        state.waker.take()
    };
    // Wake outside the lock: the task may poll the delay at once on another thread.
    if let Some(waker) = waker {
        waker.wake();
    }
}
