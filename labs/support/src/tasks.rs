//! Helpers for testing futures by hand: wakers that count, futures that count their polls, and
//! small futures whose behaviour a test controls exactly.
//!
//! The labs on futures (3 and 4) are about *who polls whom, and who wakes whom*. These helpers
//! make both visible:
//!
//! - [`CountingWaker`]: a [`Waker`] built on [`std::task::Wake`] that counts how often it was
//!   woken and lets a test wait (with a time limit) for a wake-up.
//! - [`Probe`] and [`Probed`]: wrap any future to count its polls, polls *after* it returned
//!   `Ready`, completions and drops.
//! - [`ready_after`]: a future that is `Pending` a chosen number of times (waking its task each
//!   time, as a well-behaved future must) and then `Ready`.
//! - [`gate`]: a future that stays `Pending` until the test opens it with its [`GateKey`],
//!   which wakes the latest waker the future was polled with.
//! - [`not_unpin`]: makes any future `!Unpin`, to check that code works with such futures.
//! - [`wait_until`]: waits, with a time limit, until a condition holds.
//! - [`opens_after`] and [`drive_counting`]: a slow leaf future, opened by another thread after
//!   a while, and a driver that polls any future to completion the way an executor would (poll
//!   again only after a wake-up) while it counts the polls. A future that wakes its own task on
//!   every poll shows as hundreds of polls where a correct one needs a handful: busy waking.
//!
//! None of them is an executor: tests poll futures themselves (or with `tokio_test::task`).

use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

/// A waker that counts its wake-ups. Share it as `Arc<CountingWaker>`; [`CountingWaker::waker`]
/// gives the [`Waker`] to poll with.
///
/// ```
/// use std::future::Future;
/// use support::tasks::{ready_after, CountingWaker};
///
/// let waker = CountingWaker::new();
/// let mut future = Box::pin(ready_after(1, "done"));
/// assert!(waker.poll(future.as_mut()).is_pending());
/// assert_eq!(waker.wakes(), 1, "ready_after wakes its task whenever it returns Pending");
/// assert_eq!(waker.poll(future.as_mut()), std::task::Poll::Ready("done"));
/// ```
#[derive(Debug, Default)]
pub struct CountingWaker {
    wakes: Mutex<usize>,
    woken: Condvar,
}

impl CountingWaker {
    /// A fresh waker that has never been woken.
    pub fn new() -> Arc<CountingWaker> {
        Arc::new(CountingWaker::default())
    }

    /// The [`Waker`] that counts into this `CountingWaker`. Every call gives a waker for the same
    /// task: `will_wake` is true between any two of them.
    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }

    /// Polls `future` once with this waker.
    pub fn poll<F: Future + ?Sized>(self: &Arc<Self>, future: Pin<&mut F>) -> Poll<F::Output> {
        let waker = self.waker();
        future.poll(&mut Context::from_waker(&waker))
    }

    /// How many times the waker was woken so far (`wake` and `wake_by_ref` alike).
    pub fn wakes(&self) -> usize {
        *self.wakes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the waker has been woken at least `at_least` times in total, for at most
    /// `limit`. Returns whether it was. Never spins: it sleeps until a wake-up or the limit.
    pub fn wait_for_wakes(&self, at_least: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut wakes = self.wakes.lock().unwrap_or_else(PoisonError::into_inner);
        while *wakes < at_least {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            wakes = self
                .woken
                .wait_timeout(wakes, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.wakes.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.woken.notify_all();
    }
}

/// Counters shared by every future a [`Probe`] watches.
#[derive(Debug, Default)]
struct Counters {
    polls: AtomicUsize,
    polls_after_ready: AtomicUsize,
    readies: AtomicUsize,
    drops: AtomicUsize,
}

/// Counts what happens to the futures it [watches](Probe::watch): polls, polls after `Ready`,
/// completions and drops. One probe can watch many futures; its counts are their sums.
///
/// ```
/// use support::tasks::{ready_after, CountingWaker, Probe};
///
/// let probe = Probe::new();
/// let mut future = Box::pin(probe.watch(ready_after(2, 7)));
/// let waker = CountingWaker::new();
/// while waker.poll(future.as_mut()).is_pending() {}
/// assert_eq!((probe.polls(), probe.readies(), probe.polls_after_ready()), (3, 1, 0));
/// drop(future);
/// assert_eq!(probe.drops(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Probe {
    counters: Arc<Counters>,
}

impl Probe {
    /// A probe that has seen nothing yet.
    pub fn new() -> Probe {
        Probe::default()
    }

    /// Wraps `future` so that this probe counts its polls, completion and drop. The wrapper is
    /// `Unpin` exactly when `future` is.
    pub fn watch<F: Future>(&self, future: F) -> Probed<F> {
        Probed {
            inner: future,
            ready: false,
            counted: DropCounter(self.clone()),
        }
    }

    /// Polls of the watched futures so far, including polls after completion.
    pub fn polls(&self) -> usize {
        self.counters.polls.load(Ordering::SeqCst)
    }

    /// Polls of watched futures that had already returned `Ready`. A correct combinator or
    /// state machine never does this: the result is undefined (many futures panic).
    pub fn polls_after_ready(&self) -> usize {
        self.counters.polls_after_ready.load(Ordering::SeqCst)
    }

    /// How many watched futures returned `Ready` (each counted once).
    pub fn readies(&self) -> usize {
        self.counters.readies.load(Ordering::SeqCst)
    }

    /// How many watched futures have been dropped.
    pub fn drops(&self) -> usize {
        self.counters.drops.load(Ordering::SeqCst)
    }
}

/// Counts the drop of a [`Probed`] future into its probe.
#[derive(Debug)]
struct DropCounter(Probe);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.counters.drops.fetch_add(1, Ordering::SeqCst);
    }
}

pin_project! {
    /// A future watched by a [`Probe`] (see [`Probe::watch`]). It polls the inner future every
    /// time it is polled, even after completion (that is the caller's mistake to count, not to
    /// hide), and returns what the inner future returns.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Probed<F> {
        #[pin]
        inner: F,
        ready: bool,
        counted: DropCounter,
    }
}

impl<F: Future> Future for Probed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let counters = &this.counted.0.counters;
        counters.polls.fetch_add(1, Ordering::SeqCst);
        if *this.ready {
            counters.polls_after_ready.fetch_add(1, Ordering::SeqCst);
        }
        let poll = this.inner.poll(cx);
        if poll.is_ready() && !*this.ready {
            *this.ready = true;
            counters.readies.fetch_add(1, Ordering::SeqCst);
        }
        poll
    }
}

/// A future that returns `Pending` `pending_polls` times, waking its task each time, and then
/// `Ready(value)`. Polled again after that it returns `Ready(value)` again (a clone), so that
/// a caller's extra polls can be counted with a [`Probe`] rather than crash the test.
pub fn ready_after<T: Clone + Unpin>(pending_polls: usize, value: T) -> ReadyAfter<T> {
    ReadyAfter {
        pending_polls,
        value,
    }
}

/// The future of [`ready_after`].
#[derive(Debug, Clone)]
#[must_use = "futures do nothing unless polled"]
pub struct ReadyAfter<T> {
    pending_polls: usize,
    value: T,
}

impl<T: Clone + Unpin> Future for ReadyAfter<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        if this.pending_polls == 0 {
            return Poll::Ready(this.value.clone());
        }
        this.pending_polls -= 1;
        // Not ready yet, but ready to make progress: ask to be polled again.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// What a [`Gate`] and its [`GateKey`] share.
#[derive(Debug)]
struct GateState<T> {
    value: Option<T>,
    waker: Option<Waker>,
    polls: usize,
}

/// A future that is `Pending` until its key opens it, and its key. Opening wakes the waker of
/// the gate's latest poll, so a test sees whether that wake-up reaches its task.
///
/// ```
/// use support::tasks::{gate, CountingWaker};
///
/// let (gate, key) = gate();
/// let mut gate = Box::pin(gate);
/// let waker = CountingWaker::new();
/// assert!(waker.poll(gate.as_mut()).is_pending());
/// key.open("open sesame");
/// assert_eq!(waker.wakes(), 1);
/// assert_eq!(waker.poll(gate.as_mut()), std::task::Poll::Ready("open sesame"));
/// ```
pub fn gate<T: Clone>() -> (Gate<T>, GateKey<T>) {
    let shared = Arc::new(Mutex::new(GateState {
        value: None,
        waker: None,
        polls: 0,
    }));
    (
        Gate {
            shared: Arc::clone(&shared),
        },
        GateKey { shared },
    )
}

/// The future of [`gate`]. Once open it returns `Ready` with (a clone of) the value on every
/// poll. Dropping it releases the waker it holds.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Gate<T> {
    shared: Arc<Mutex<GateState<T>>>,
}

/// Opens its [`Gate`]. It can be sent to another thread.
#[derive(Debug)]
pub struct GateKey<T> {
    shared: Arc<Mutex<GateState<T>>>,
}

impl<T: Clone> Future for Gate<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        state.polls += 1;
        if let Some(value) = &state.value {
            let value = value.clone();
            state.waker = None;
            return Poll::Ready(value);
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Gate<T> {
    fn drop(&mut self) {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waker = None;
    }
}

impl<T> GateKey<T> {
    /// Opens the gate with `value` and wakes the waker of its latest poll, if it was polled.
    pub fn open(&self, value: T) {
        let waker = {
            let mut state = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
            state.value = Some(value);
            state.waker.take()
        };
        // Wake outside the lock: the woken task may poll the gate at once, on another thread.
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// How many times the gate has been polled.
    pub fn polls(&self) -> usize {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .polls
    }

    /// Whether the gate holds a waker, i.e. someone polled it and is waiting for it.
    pub fn has_waker(&self) -> bool {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waker
            .is_some()
    }
}

pin_project! {
    /// A future that is never `Unpin` (see [`not_unpin`]): code that polls it must pin it
    /// properly, with `Box::pin` or pin projection, instead of relying on `Pin::new`.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct NotUnpin<F> {
        #[pin]
        inner: F,
        #[pin]
        _pinned: PhantomPinned,
    }
}

/// Wraps `future` in a future that behaves the same but is `!Unpin`, like the futures that
/// `async fn`s return.
pub fn not_unpin<F: Future>(future: F) -> NotUnpin<F> {
    NotUnpin {
        inner: future,
        _pinned: PhantomPinned,
    }
}

impl<F: Future> Future for NotUnpin<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx)
    }
}

/// Checks `condition` every millisecond until it holds or `limit` has passed; returns whether
/// it held. Tests use it to wait for a wake-up without ever waiting forever.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// A [`Gate`] that a background thread opens with `value`, `delay` after this call: a slow
/// leaf future, `Pending` for a while and then woken from another thread, like a timer or a
/// socket. It wakes the waker of its latest poll, once, when it opens.
///
/// ```
/// use std::time::Duration;
/// use support::tasks::{drive_counting, opens_after};
///
/// let driven = drive_counting(opens_after(Duration::from_millis(20), 'x'), Duration::from_secs(5), 100);
/// assert_eq!(driven.output, Some('x'));
/// assert_eq!(driven.polls, 2, "once before the gate opens, once after its wake-up");
/// ```
pub fn opens_after<T: Clone + Send + 'static>(delay: Duration, value: T) -> Gate<T> {
    let (gate, key) = gate();
    thread::Builder::new()
        .name("slow-leaf".into())
        .spawn(move || {
            thread::sleep(delay);
            key.open(value);
        })
        .expect("starting the thread of a slow leaf future");
    gate
}

/// Why [`drive_counting`] stopped before the future was ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The future returned `Pending` and nobody woke its task within the time limit: a lost
    /// wake-up (or a future that is slower than the limit).
    NotWoken,
    /// The future was polled as many times as the poll budget allows: it keeps waking itself.
    PollBudgetSpent,
}

/// What [`drive_counting`] saw while it drove a future.
#[derive(Debug)]
pub struct Driven<T> {
    /// The output, if the future became ready.
    pub output: Option<T>,
    /// Why the driver gave up, if the future did not become ready.
    pub stopped: Option<Stopped>,
    /// How many times the future was polled, the last one included.
    pub polls: usize,
    /// Wake-ups in all.
    pub wakes: usize,
    /// Wake-ups that arrived while the future was inside its own `poll`. A future that wakes
    /// its own task on every poll has one per poll; leaves opened by other threads give at
    /// most a few, by chance.
    pub wakes_during_polls: usize,
    /// The longest single call of `poll`: a `poll` that blocks shows here.
    pub longest_poll: Duration,
    /// From the first poll to the end.
    pub elapsed: Duration,
}

impl<T> Driven<T> {
    /// One line for an assertion message: the polls, the wake-ups and how it ended.
    pub fn summary(&self) -> String {
        let ended = match self.stopped {
            None => "became ready",
            Some(Stopped::NotWoken) => "then returned Pending and was never woken again",
            Some(Stopped::PollBudgetSpent) => "and was still not ready, so the test stopped",
        };
        format!(
            "polled {} times in {:?}, woken {} times ({} of them from inside its own poll), {ended}",
            self.polls, self.elapsed, self.wakes, self.wakes_during_polls
        )
    }
}

/// Drives `future` to completion as an executor would, with a [`CountingWaker`]: it polls,
/// and after a `Pending` waits (sleeping, never spinning) until the task is woken, then polls
/// again. It gives up when no wake-up comes within `limit` in all ([`Stopped::NotWoken`]), or
/// after `poll_budget` polls ([`Stopped::PollBudgetSpent`]), so a future that wakes itself
/// forever costs the test only `poll_budget` polls.
///
/// Over leaves that another thread opens after a while ([`opens_after`]), a correct future is
/// polled about once per leaf that opens, plus once: whatever the leaves' timing and the
/// machine's load. Bound [`Driven::polls`] to catch busy waking.
pub fn drive_counting<F: Future>(
    future: F,
    limit: Duration,
    poll_budget: usize,
) -> Driven<F::Output> {
    let mut future = Box::pin(future);
    let waker = CountingWaker::new();
    let started = Instant::now();
    let deadline = started + limit;
    let mut driven = Driven {
        output: None,
        stopped: None,
        polls: 0,
        wakes: 0,
        wakes_during_polls: 0,
        longest_poll: Duration::ZERO,
        elapsed: Duration::ZERO,
    };
    loop {
        let seen = waker.wakes();
        let polled_at = Instant::now();
        let poll = waker.poll(future.as_mut());
        driven.longest_poll = driven.longest_poll.max(polled_at.elapsed());
        driven.polls += 1;
        driven.wakes_during_polls += waker.wakes() - seen;
        if let Poll::Ready(output) = poll {
            driven.output = Some(output);
            break;
        }
        if driven.polls >= poll_budget {
            driven.stopped = Some(Stopped::PollBudgetSpent);
            break;
        }
        // A wake-up during the poll counts: the executor polls again at once.
        if !waker.wait_for_wakes(seen + 1, deadline.saturating_duration_since(Instant::now())) {
            driven.stopped = Some(Stopped::NotWoken);
            break;
        }
    }
    driven.wakes = waker.wakes();
    driven.elapsed = started.elapsed();
    driven
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_waker_counts_wakes_from_clones_and_other_threads() {
        let counter = CountingWaker::new();
        let waker = counter.waker();
        assert!(waker.will_wake(&counter.waker()));
        waker.wake_by_ref();
        let clone = waker.clone();
        clone.wake();
        assert_eq!(counter.wakes(), 2);
        assert!(!counter.wait_for_wakes(3, Duration::from_millis(20)));
        let remote = counter.waker();
        let handle = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            remote.wake();
        });
        assert!(counter.wait_for_wakes(3, Duration::from_secs(5)));
        handle.join().unwrap();
    }

    #[test]
    fn ready_after_is_pending_the_given_number_of_times_and_wakes_each_time() {
        let counter = CountingWaker::new();
        let mut future = Box::pin(ready_after(3, 'x'));
        for round in 1..=3 {
            assert!(counter.poll(future.as_mut()).is_pending());
            assert_eq!(counter.wakes(), round);
        }
        assert_eq!(counter.poll(future.as_mut()), Poll::Ready('x'));
        assert_eq!(counter.poll(future.as_mut()), Poll::Ready('x'));
        assert_eq!(counter.wakes(), 3);
    }

    #[test]
    fn probe_counts_polls_after_ready_completions_and_drops_over_many_futures() {
        let probe = Probe::new();
        let counter = CountingWaker::new();
        let mut first = Box::pin(probe.watch(ready_after(0, 1)));
        let mut second = Box::pin(probe.watch(ready_after(1, 2)));
        assert_eq!(counter.poll(first.as_mut()), Poll::Ready(1));
        assert!(counter.poll(second.as_mut()).is_pending());
        assert_eq!(counter.poll(second.as_mut()), Poll::Ready(2));
        assert_eq!(
            (probe.polls(), probe.readies(), probe.polls_after_ready()),
            (3, 2, 0)
        );
        assert_eq!(counter.poll(first.as_mut()), Poll::Ready(1));
        assert_eq!(probe.polls_after_ready(), 1);
        assert_eq!(probe.readies(), 2, "a completion is counted once");
        drop(first);
        assert_eq!(probe.drops(), 1);
        drop(second);
        assert_eq!(probe.drops(), 2);
    }

    #[test]
    fn gate_wakes_the_latest_waker_once_opened_and_releases_it_when_dropped() {
        let (gate, key) = gate();
        let mut gate = Box::pin(gate);
        let old = CountingWaker::new();
        let new = CountingWaker::new();
        assert!(old.poll(gate.as_mut()).is_pending());
        assert!(new.poll(gate.as_mut()).is_pending());
        assert!(key.has_waker());
        assert_eq!(Arc::strong_count(&old), 1, "the old waker was replaced");
        let opener = thread::spawn(move || {
            key.open(5);
            key
        });
        assert!(new.wait_for_wakes(1, Duration::from_secs(5)));
        assert_eq!(old.wakes(), 0);
        let key = opener.join().unwrap();
        assert_eq!(new.poll(gate.as_mut()), Poll::Ready(5));
        assert_eq!(new.poll(gate.as_mut()), Poll::Ready(5));
        assert_eq!(key.polls(), 4);

        let (gate, key) = super::gate::<u8>();
        let mut gate = Box::pin(gate);
        assert!(new.poll(gate.as_mut()).is_pending());
        assert_eq!(Arc::strong_count(&new), 2);
        drop(gate);
        assert!(!key.has_waker());
        assert_eq!(Arc::strong_count(&new), 1, "a dropped gate holds no waker");
    }

    /// Compiles only if `T` is `!Unpin`: with an `Unpin` type both impls apply and the
    /// type parameter of the call is ambiguous.
    trait AmbiguousIfUnpin<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfUnpin<()> for T {}
    impl<T: ?Sized + Unpin> AmbiguousIfUnpin<u8> for T {}

    #[test]
    fn not_unpin_is_not_unpin_and_behaves_like_its_inner_future() {
        <NotUnpin<ReadyAfter<u8>> as AmbiguousIfUnpin<_>>::check();
        let counter = CountingWaker::new();
        let mut future = Box::pin(not_unpin(ready_after(1, 9u8)));
        assert!(counter.poll(future.as_mut()).is_pending());
        assert_eq!(counter.poll(future.as_mut()), Poll::Ready(9));
    }

    #[test]
    fn wait_until_gives_up_after_the_limit() {
        let started = Instant::now();
        assert!(!wait_until(Duration::from_millis(20), || false));
        assert!(started.elapsed() >= Duration::from_millis(20));
        assert!(wait_until(Duration::from_secs(5), || true));
    }

    /// Pending until its deadline, waking its own task on every poll until then.
    struct BusyUntil(Instant);

    impl Future for BusyUntil {
        type Output = ();

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if Instant::now() >= self.0 {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[test]
    fn drive_counting_polls_a_slow_leaf_once_per_wake_up() {
        let driven = drive_counting(
            opens_after(Duration::from_millis(30), 3),
            Duration::from_secs(5),
            100,
        );
        assert_eq!(driven.output, Some(3));
        assert_eq!(driven.stopped, None);
        assert_eq!((driven.polls, driven.wakes), (2, 1), "{}", driven.summary());
        assert!(driven.elapsed >= Duration::from_millis(30));
    }

    #[test]
    fn drive_counting_stops_a_future_that_wakes_itself_at_its_poll_budget() {
        let busy = BusyUntil(Instant::now() + Duration::from_secs(60));
        let driven = drive_counting(busy, Duration::from_secs(5), 200);
        assert_eq!(driven.output, None);
        assert_eq!(driven.stopped, Some(Stopped::PollBudgetSpent));
        assert_eq!(driven.polls, 200);
        assert_eq!(driven.wakes_during_polls, 200, "{}", driven.summary());
    }

    #[test]
    fn drive_counting_reports_a_lost_wake_up() {
        let (gate, _key) = gate::<u8>();
        let driven = drive_counting(gate, Duration::from_millis(30), 100);
        assert_eq!(driven.stopped, Some(Stopped::NotWoken));
        assert_eq!(driven.polls, 1);
        assert!(driven.summary().contains("never woken again"));
    }
}
