//! Hidden tests for lab 6: each one guards one mistake students make. Never released.
//!
//! Every test is bounded in time: an executor that loses a wake-up or hangs makes its test
//! fail with a message (or, at worst, run into the rubric's time limit), never hang for good.
//! Executors are built on the thread that runs them, so that no test needs `Executor: Send`.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashSet;
use std::future::{pending, Future};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex, Once, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use lab6::{block_on, sleep, Executor, JoinHandle, Sleep, ThreadPool};
use support::grading::graded;
use support::probe::{cpu_time, thread_count};
use support::tasks::{drive_counting, gate, opens_after, wait_until, CountingWaker, Probe};
use support::testing::within;

/// How much CPU time a runtime may use while everything it runs sleeps for 300 ms. A correct
/// one uses well under a millisecond; one that polls in a loop uses most of the 300 ms, and
/// still over 100 ms when it shares a loaded machine.
const IDLE_CPU_LIMIT: Duration = Duration::from_millis(60);

/// The text of a panic's payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_string())
}

/// An executor built, fed and run on a thread of its own.
struct Background {
    ended: mpsc::Receiver<Result<(), String>>,
    /// How `run` ended, once the test has seen it.
    seen: RefCell<Option<Ended>>,
}

/// How `Executor::run` ended, as far as the test could wait.
#[derive(Debug, PartialEq)]
enum Ended {
    Returned,
    Panicked(String),
    StillRunning,
}

/// Builds an executor on a new thread, lets `setup` spawn its first tasks, and runs it.
fn run_in_background<S>(setup: S) -> Background
where
    S: FnOnce(&Executor) + Send + 'static,
{
    let (ended_tx, ended) = mpsc::channel();
    thread::Builder::new()
        .name("executor-under-test".into())
        .spawn(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                let executor = Executor::new();
                setup(&executor);
                executor.run();
            }));
            let _ = ended_tx.send(outcome.map_err(|payload| panic_message(&*payload)));
        })
        .expect("starting the executor's thread");
    Background {
        ended,
        seen: RefCell::new(None),
    }
}

impl Background {
    /// Waits at most `limit` for `run` to return.
    fn wait(&self, limit: Duration) -> Ended {
        if let Some(ended) = self.seen.take() {
            return ended;
        }
        match self.ended.recv_timeout(limit) {
            Ok(Ok(())) => Ended::Returned,
            Ok(Err(message)) => Ended::Panicked(message),
            Err(_) => Ended::StillRunning,
        }
    }

    /// Whether `run` has returned or panicked already (without waiting).
    fn is_over(&self) -> bool {
        if self.seen.borrow().is_none() {
            *self.seen.borrow_mut() = match self.ended.try_recv() {
                Ok(Ok(())) => Some(Ended::Returned),
                Ok(Err(message)) => Some(Ended::Panicked(message)),
                Err(_) => None,
            };
        }
        self.seen.borrow().is_some()
    }

    /// Waits at most `limit` for `condition`, but fails the test at once if `run` ends before
    /// it holds (with a task still waiting, it must not).
    fn wait_until(&self, limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
        let held = wait_until(limit, || self.is_over() || condition());
        match &*self.seen.borrow() {
            Some(Ended::Panicked(message)) => {
                panic!("Executor::run panicked ({message:?}) before {what}")
            }
            Some(_) => panic!(
                "Executor::run returned before {what}, although one of its tasks was still \
                 waiting: run returns only once every task has finished"
            ),
            None => {}
        }
        assert!(held, "{what} did not happen within {limit:?}");
    }
}

/// A future that finishes once `want` signals have arrived in its mailbox. Like any leaf
/// future, it looks at the count and stores its waker under one lock.
struct Mailbox {
    state: Mutex<(usize, Option<Waker>)>,
}

impl Mailbox {
    fn new() -> Arc<Mailbox> {
        Arc::new(Mailbox {
            state: Mutex::new((0, None)),
        })
    }

    /// Adds a signal and wakes the waiting task, if any. The waker is taken: a lost wake-up
    /// is not repaired by the next signal.
    fn signal(&self) {
        let waker = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.0 += 1;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn receive(self: &Arc<Self>, want: usize) -> Receive {
        Receive {
            mailbox: Arc::clone(self),
            want,
        }
    }
}

struct Receive {
    mailbox: Arc<Mailbox>,
    want: usize,
}

impl Future for Receive {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self
            .mailbox
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if state.0 >= self.want {
            return Poll::Ready(());
        }
        match &state.1 {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.1 = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// Pending on its first poll, during which another thread wakes it (and the poll waits until
/// it has); Ready on the next poll.
struct WokenWhilePolled {
    polled: bool,
}

impl Future for WokenWhilePolled {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            return Poll::Ready(());
        }
        self.polled = true;
        let waker = cx.waker().clone();
        let (woken_tx, woken_rx) = mpsc::channel();
        thread::spawn(move || {
            waker.wake();
            let _ = woken_tx.send(());
        });
        let _ = woken_rx.recv_timeout(Duration::from_secs(5));
        Poll::Pending
    }
}

/// Signals that each of 4 threads sends to each mailbox of the stress test.
const SIGNALS: usize = 2000;

/// Sends `signals` signals to every mailbox from `threads` threads at once.
fn signal_from_threads(mailboxes: &[Arc<Mailbox>], threads: usize, signals: usize) {
    let producers: Vec<_> = (0..threads)
        .map(|_| {
            let mailboxes = mailboxes.to_vec();
            thread::spawn(move || {
                for _ in 0..signals {
                    for mailbox in &mailboxes {
                        mailbox.signal();
                    }
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().expect("a producer thread");
    }
}

// Mistake: block_on polls in a loop instead of parking the thread (or sleep wakes its task on
// every poll).
#[test]
fn block_on_parks_the_thread_while_its_future_sleeps() {
    graded(|| {
        let (used, elapsed) = within(Duration::from_secs(5), "block_on(sleep(300 ms))", || {
            let before = cpu_time().expect("CPU time from /proc/self");
            let started = Instant::now();
            block_on(sleep(Duration::from_millis(300)));
            (
                cpu_time().unwrap().saturating_sub(before),
                started.elapsed(),
            )
        });
        assert!(
            elapsed >= Duration::from_millis(300),
            "block_on(sleep(300 ms)) returned after {elapsed:?}: the sleep ended early"
        );
        assert!(
            used < IDLE_CPU_LIMIT,
            "block_on(sleep(300 ms)) used {used:?} of CPU time in {elapsed:?}: it must sleep, \
             not poll in a loop. While the future is Pending, park the thread (thread::park) \
             and let the waker unpark it; and check that sleep does not wake its task on \
             every poll"
        );
    });
}

// Mistake: Executor::run loops over an empty run queue instead of waiting for a wake-up.
#[test]
fn executor_sleeps_while_its_tasks_sleep() {
    graded(|| {
        let (used, elapsed) = within(
            Duration::from_secs(5),
            "Executor::run with 3 tasks that sleep 300 ms",
            || {
                let executor = Executor::new();
                // Before the sleeps exist: a sleep's deadline may be fixed when it is created.
                let started = Instant::now();
                for _ in 0..3 {
                    executor.spawn(sleep(Duration::from_millis(300)));
                }
                let before = cpu_time().expect("CPU time from /proc/self");
                executor.run();
                (
                    cpu_time().unwrap().saturating_sub(before),
                    started.elapsed(),
                )
            },
        );
        assert!(
            elapsed >= Duration::from_millis(300),
            "Executor::run returned after {elapsed:?}, before its tasks' 300 ms sleeps ended: \
             run must wait until every task has finished"
        );
        assert!(
            used < IDLE_CPU_LIMIT,
            "Executor::run used {used:?} of CPU time in {elapsed:?} while its only tasks slept: \
             when no task is ready, run must wait (Condvar::wait, or thread::park) until a waker \
             queues one, not go round its loop again"
        );
    });
}

// Mistake: pool workers that poll an empty queue in a loop (try_recv, pop and retry).
#[test]
fn thread_pool_workers_sleep_while_their_tasks_sleep() {
    graded(|| {
        let (used, elapsed) = within(
            Duration::from_secs(8),
            "a ThreadPool of 2 running 4 tasks that sleep 300 ms (and dropping it)",
            || {
                let pool = ThreadPool::new(2);
                // Let the workers start and find the queue empty.
                thread::sleep(Duration::from_millis(20));
                let (done_tx, done_rx) = mpsc::channel();
                let before = cpu_time().expect("CPU time from /proc/self");
                let started = Instant::now();
                for task in 0..4 {
                    let done_tx = done_tx.clone();
                    pool.spawn(async move {
                        sleep(Duration::from_millis(300)).await;
                        let _ = done_tx.send(task);
                    });
                }
                for finished in 0..4 {
                    if done_rx.recv_timeout(Duration::from_secs(3)).is_err() {
                        panic!(
                            "only {finished} of 4 tasks sleeping 300 ms on a ThreadPool finished \
                             within 3 s"
                        );
                    }
                }
                let measured = (
                    cpu_time().unwrap().saturating_sub(before),
                    started.elapsed(),
                );
                drop(pool);
                measured
            },
        );
        assert!(
            used < IDLE_CPU_LIMIT,
            "a ThreadPool of 2 workers used {used:?} of CPU time in {elapsed:?} while its only \
             tasks slept: a worker that finds the queue empty must wait on it (Condvar::wait) \
             until a task is queued, not look again in a loop"
        );
    });
}

// Mistake: lost wake-ups, above all a wake-up that arrives while the task is being polled
// (the "scheduled" flag cleared after the poll instead of before it), and the check-then-wait
// race of an executor that looks at its queue and waits for work under two separate locks.
#[test]
fn wake_ups_from_other_threads_are_never_lost() {
    graded(|| {
        // 1. A wake-up from another thread while the task is being polled, 20 times.
        let finished = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&finished);
        let executor = run_in_background(move |executor| {
            for _ in 0..20 {
                let counted = Arc::clone(&counted);
                executor.spawn(async move {
                    WokenWhilePolled { polled: false }.await;
                    counted.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        let ended = executor.wait(Duration::from_secs(5));
        assert_eq!(
            ended,
            Ended::Returned,
            "20 tasks that are each woken from another thread *while they are being polled* \
             (then return Pending) must all be polled again and finish: {} of 20 did after 5 s. \
             A wake-up during poll must queue the task again once the poll returns: clear the \
             task's 'scheduled' flag before polling it, not after",
            finished.load(Ordering::SeqCst)
        );

        // 2. Four threads wake 8 tasks of an Executor 8000 times each.
        let mailboxes: Vec<Arc<Mailbox>> = (0..8).map(|_| Mailbox::new()).collect();
        let finished = Arc::new(AtomicUsize::new(0));
        let (counted, waiting) = (Arc::clone(&finished), mailboxes.clone());
        let executor = run_in_background(move |executor| {
            for mailbox in waiting {
                let counted = Arc::clone(&counted);
                executor.spawn(async move {
                    mailbox.receive(4 * SIGNALS).await;
                    counted.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        signal_from_threads(&mailboxes, 4, SIGNALS);
        let ended = executor.wait(Duration::from_secs(5));
        assert_eq!(
            ended,
            Ended::Returned,
            "4 threads sent 8000 signals to each of 8 tasks of an Executor, waking them each \
             time, but only {} of 8 tasks had finished 5 s later: a wake-up was lost. Check what \
             wake does while the task is being polled, and that run() checks its queue and \
             waits for work under the same lock",
            finished.load(Ordering::SeqCst)
        );

        // 3. The same on a ThreadPool, where the workers race the wakers too.
        let (all_done, done) = within(
            Duration::from_secs(10),
            "a ThreadPool of 2 with 8 tasks woken 8000 times each (and dropping it)",
            || {
                let pool = ThreadPool::new(2);
                let mailboxes: Vec<Arc<Mailbox>> = (0..8).map(|_| Mailbox::new()).collect();
                let finished = Arc::new(AtomicUsize::new(0));
                for mailbox in &mailboxes {
                    let (mailbox, counted) = (Arc::clone(mailbox), Arc::clone(&finished));
                    pool.spawn(async move {
                        mailbox.receive(4 * SIGNALS).await;
                        counted.fetch_add(1, Ordering::SeqCst);
                    });
                }
                signal_from_threads(&mailboxes, 4, SIGNALS);
                let all_done = wait_until(Duration::from_secs(5), || {
                    finished.load(Ordering::SeqCst) == 8
                });
                let done = finished.load(Ordering::SeqCst);
                drop(pool);
                (all_done, done)
            },
        );
        assert!(
            all_done,
            "4 threads sent 8000 signals to each of 8 tasks of a ThreadPool, waking them each \
             time, but only {done} of 8 tasks had finished 5 s later: a wake-up was lost. Check \
             what wake does while a worker polls the task, and that workers check the queue and \
             wait for work under the same lock"
        );
    });
}

/// Counts its polls; Pending (keeping the latest waker) until released.
struct Watched {
    polls: Arc<AtomicUsize>,
    waker: Arc<Mutex<Option<Waker>>>,
    released: Arc<AtomicBool>,
}

impl Future for Watched {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if self.released.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        *self.waker.lock().unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        Poll::Pending
    }
}

// Mistake: a run queue that takes a task again for every wake-up, so that a task woken
// several times before it runs is polled several times.
#[test]
fn a_task_woken_many_times_before_it_runs_is_polled_once() {
    graded(|| {
        let polls = Arc::new(AtomicUsize::new(0));
        let waker_slot = Arc::new(Mutex::new(None::<Waker>));
        let released = Arc::new(AtomicBool::new(false));
        let watched = Watched {
            polls: Arc::clone(&polls),
            waker: Arc::clone(&waker_slot),
            released: Arc::clone(&released),
        };
        // A second task holds the executor's thread (it blocks in its poll, on purpose) while
        // the test wakes the first one.
        let (gate, key) = gate::<()>();
        let (blocking_tx, blocking_rx) = mpsc::channel();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let executor = run_in_background(move |executor| {
            executor.spawn(watched);
            executor.spawn(async move {
                gate.await;
                let _ = blocking_tx.send(());
                let _ = go_rx.recv_timeout(Duration::from_secs(5));
            });
        });
        executor.wait_until(
            Duration::from_secs(5),
            "the executor polled its two new tasks",
            || polls.load(Ordering::SeqCst) == 1 && key.has_waker(),
        );
        // Let the poll that stored the gate's waker return.
        thread::sleep(Duration::from_millis(20));
        key.open(());
        blocking_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the executor did not run a task woken from another thread within 5 s");
        let waker = waker_slot
            .lock()
            .unwrap()
            .clone()
            .expect("the task's waker");
        // Four wake-ups, one of them from another thread, while the executor is busy.
        waker.wake_by_ref();
        waker.wake_by_ref();
        let remote = waker.clone();
        thread::spawn(move || remote.wake())
            .join()
            .expect("waking from another thread");
        waker.wake_by_ref();
        let _ = go_tx.send(());
        let polled_again = wait_until(Duration::from_secs(5), || polls.load(Ordering::SeqCst) >= 2);
        // Time for any extra queue entries to be polled.
        thread::sleep(Duration::from_millis(100));
        let seen = polls.load(Ordering::SeqCst);
        released.store(true, Ordering::SeqCst);
        if let Some(waker) = waker_slot.lock().unwrap().take() {
            waker.wake();
        }
        let ended = executor.wait(Duration::from_secs(5));
        assert!(
            polled_again,
            "a task woken 4 times while the executor was busy was not polled again within 5 s"
        );
        assert_eq!(
            seen,
            2,
            "a task woken 4 times before it could run was polled {} times afterwards instead of \
             once: every wake-up queued it again. Queue a task only if it is not queued yet: an \
             atomic 'scheduled' flag that wake sets (swap) and that is cleared just before the \
             task is polled",
            seen - 1
        );
        assert_eq!(
            ended,
            Ended::Returned,
            "Executor::run did not return within 5 s after its last task was woken for the last \
             time: run must poll a woken task and return once no task is left unfinished"
        );
    });
}

/// Sends out its waker, wakes itself, and finishes, all in its first poll.
struct WakeThenFinish {
    wakers: mpsc::Sender<Waker>,
}

impl Future for WakeThenFinish {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let _ = self.wakers.send(cx.waker().clone());
        cx.waker().wake_by_ref();
        Poll::Ready(())
    }
}

/// Panics of this process whose message says an `async` block was polled after it finished.
static RESUMED_AFTER_COMPLETION: AtomicUsize = AtomicUsize::new(0);

fn count_polls_of_finished_async_blocks() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if panic_message(info.payload()).contains("resumed after completion")
                || info.to_string().contains("resumed after completion")
            {
                RESUMED_AFTER_COMPLETION.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

// Mistake: polling a task again after it finished (a wake-up that arrives during or after its
// last poll queues it again, and nothing remembers that it is done).
#[test]
fn a_finished_task_is_never_polled_again() {
    graded(|| {
        count_polls_of_finished_async_blocks();
        let probe = Probe::new();

        // On an Executor: 5 tasks wake themselves as they finish; the test wakes them again
        // afterwards, while another task keeps run() going.
        let (wakers_tx, wakers_rx) = mpsc::channel();
        let (gate, key) = gate::<()>();
        let watched = probe.clone();
        let executor = run_in_background(move |executor| {
            for _ in 0..5 {
                executor.spawn(watched.watch(WakeThenFinish {
                    wakers: wakers_tx.clone(),
                }));
            }
            executor.spawn(gate);
        });
        executor.wait_until(
            Duration::from_secs(5),
            "5 tasks that finish in their first poll had all finished",
            || probe.readies() == 5 && key.has_waker(),
        );
        for waker in wakers_rx.try_iter() {
            waker.wake_by_ref();
            waker.wake();
        }
        thread::sleep(Duration::from_millis(50));
        key.open(());
        let ended = executor.wait(Duration::from_secs(5));

        // On a ThreadPool.
        let (wakers_tx, wakers_rx) = mpsc::channel();
        let watched = probe.clone();
        let pool_finished = within(
            Duration::from_secs(8),
            "a ThreadPool running 5 tasks that finish at once (and dropping it)",
            move || {
                let pool = ThreadPool::new(2);
                for _ in 0..5 {
                    pool.spawn(watched.watch(WakeThenFinish {
                        wakers: wakers_tx.clone(),
                    }));
                }
                let finished = wait_until(Duration::from_secs(5), || watched.readies() == 10);
                for waker in wakers_rx.try_iter() {
                    waker.wake_by_ref();
                    waker.wake();
                }
                thread::sleep(Duration::from_millis(50));
                drop(pool);
                finished
            },
        );

        assert_eq!(
            ended,
            Ended::Returned,
            "Executor::run did not end normally within 5 s once finished tasks had been woken again \
             and its last task released: wake-ups of a finished task must change nothing"
        );
        assert!(
            pool_finished,
            "5 tasks that finish in their first poll had not all finished on a ThreadPool 5 s \
             after they were spawned: do the workers take every task from the queue?"
        );
        let again = probe.polls_after_ready() + RESUMED_AFTER_COMPLETION.load(Ordering::SeqCst);
        assert_eq!(
            again, 0,
            "finished tasks were polled again {again} times (10 tasks that each woke themselves \
             as they finished, and were woken twice more afterwards): once a task's future \
             returns Ready, drop it and remember that the task is done, so that later wake-ups \
             neither queue it nor poll it"
        );
        assert_eq!(
            probe.polls(),
            10,
            "10 tasks that finish in their first poll must be polled 10 times in all: a task is \
             polled once per time it was taken from the queue, and queued at most once"
        );
    });
}

// Mistake: a thread per sleep (or per poll of a sleep) instead of one timer for all of them.
#[test]
fn a_hundred_sleeps_share_one_timer_thread() {
    graded(|| {
        let (baseline, pending, wakes, ready) = within(
            Duration::from_secs(8),
            "polling 100 sleeps of 400 ms and waiting for their wake-ups",
            || {
                let baseline = thread_count().expect("thread count from /proc/self/status");
                let waker = CountingWaker::new();
                let mut sleeps: Vec<Pin<Box<Sleep>>> = (0..100)
                    .map(|_| Box::pin(sleep(Duration::from_millis(400))))
                    .collect();
                for sleep in &mut sleeps {
                    assert!(
                        waker.poll(sleep.as_mut()).is_pending(),
                        "a new sleep of 400 ms was Ready at once: a sleep is Pending until its deadline"
                    );
                }
                thread::sleep(Duration::from_millis(50));
                let pending = thread_count().unwrap();
                waker.wait_for_wakes(100, Duration::from_secs(5));
                let wakes = waker.wakes();
                let ready = sleeps
                    .iter_mut()
                    .map(|sleep| waker.poll(sleep.as_mut()))
                    .filter(Poll::is_ready)
                    .count();
                (baseline, pending, wakes, ready)
            },
        );
        assert!(
            pending <= baseline + 2,
            "while 100 sleeps were pending the process had {} threads more than before: sleep \
             must not start a thread per sleep (or per poll). One timer thread, started once for \
             the whole process, keeps every deadline in a heap and wakes each sleep's task",
            pending - baseline
        );
        assert!(
            wakes >= 100,
            "only {wakes} of 100 sleeps of 400 ms had woken their task 5 s later: the timer must \
             wake every sleep whose deadline has passed"
        );
        assert_eq!(
            ready, 100,
            "after the timer woke them only {ready} of 100 sleeps were Ready: once its deadline has \
             passed (or the timer has fired) a sleep's poll must return Ready"
        );
    });
}

// Mistake: a timer thread that keeps sleeping until the deadline it was waiting for when a new,
// earlier one arrives.
#[test]
fn a_short_sleep_is_not_held_up_by_a_longer_one() {
    graded(|| {
        let (woken, elapsed) = within(
            Duration::from_secs(5),
            "a 50 ms sleep next to a 3 s one",
            || {
                let long_waker = CountingWaker::new();
                let mut long = Box::pin(sleep(Duration::from_secs(3)));
                assert!(
                    long_waker.poll(long.as_mut()).is_pending(),
                    "a new sleep of 3 s was Ready at once: a sleep is Pending until its deadline"
                );
                // The timer thread now waits for the 3 s deadline.
                thread::sleep(Duration::from_millis(50));
                let started = Instant::now();
                let waker = CountingWaker::new();
                let mut short = Box::pin(sleep(Duration::from_millis(50)));
                assert!(
                    waker.poll(short.as_mut()).is_pending(),
                    "a new sleep of 50 ms was Ready at once: a sleep is Pending until its deadline"
                );
                let woken = waker.wait_for_wakes(1, Duration::from_secs(2));
                let elapsed = started.elapsed();
                if woken {
                    assert!(
                        waker.poll(short.as_mut()).is_ready(),
                        "a 50 ms sleep was still Pending after the timer woke it: once its deadline has passed \
                         (or the timer has fired) poll must return Ready"
                    );
                }
                (woken, elapsed)
            },
        );
        assert!(
            woken,
            "a 50 ms sleep made while a 3 s sleep was pending had not woken its task after \
             {elapsed:?}: when a new deadline comes before the one the timer thread is waiting \
             for, wake the timer thread (Condvar::notify_one) so that it waits for the new \
             earliest deadline instead"
        );
    });
}

// Mistake: spawn that queues the task but does not wake an executor waiting for work.
#[test]
fn spawning_from_another_thread_wakes_an_idle_executor() {
    graded(|| {
        let (gate, key) = gate::<()>();
        let (spawner_tx, spawner_rx) = mpsc::channel();
        let executor = run_in_background(move |executor| {
            executor.spawn(gate);
            let _ = spawner_tx.send(executor.spawner());
        });
        let spawner = spawner_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("Executor::new, spawn or spawner failed (see the panic above)");
        executor.wait_until(
            Duration::from_secs(5),
            "the executor polled its task",
            || key.has_waker(),
        );
        // run() now has nothing to do and waits.
        thread::sleep(Duration::from_millis(50));
        let (ran_tx, ran_rx) = mpsc::channel();
        spawner.spawn(async move {
            let _ = ran_tx.send(());
        });
        let ran = ran_rx.recv_timeout(Duration::from_secs(2)).is_ok();
        key.open(());
        let ended = executor.wait(Duration::from_secs(5));
        assert!(
            ran,
            "a task spawned from another thread while run() waited for work had not run 2 s \
             later: spawning must wake a waiting executor (notify the condition variable, or \
             unpark the thread, that run() waits on), as a waker does"
        );
        assert_eq!(
            ended,
            Ended::Returned,
            "Executor::run did not return within 5 s after its last task was woken for the last \
             time: run must poll a woken task and return once no task is left unfinished"
        );
    });
}

// Mistake: a panicking task takes the executor (or a pool's worker) down with it.
#[test]
fn a_panicking_task_leaves_the_executor_and_its_other_tasks_running() {
    graded(|| {
        let finished = Arc::new(AtomicUsize::new(0));
        let (gate, key) = gate::<()>();
        let counted = Arc::clone(&finished);
        let executor = run_in_background(move |executor| {
            for task in 0..8 {
                let counted = Arc::clone(&counted);
                if task == 3 {
                    executor.spawn(async {
                        panic!("a task panics on purpose (this message is expected)");
                    });
                } else {
                    executor.spawn(async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                    });
                }
            }
            let counted = Arc::clone(&counted);
            executor.spawn(async move {
                gate.await;
                counted.fetch_add(1, Ordering::SeqCst);
            });
        });
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            key.open(());
        });
        let ended = executor.wait(Duration::from_secs(5));
        match &ended {
            Ended::Panicked(message) => panic!(
                "Executor::run panicked ({message:?}) because one of its tasks did: catch the \
                 panic where the task is polled (std::panic::catch_unwind), end that task with \
                 it, and go on with the others"
            ),
            Ended::StillRunning => panic!(
                "Executor::run had not returned 5 s after one of its 9 tasks panicked; {} of the \
                 other 8 had finished",
                finished.load(Ordering::SeqCst)
            ),
            Ended::Returned => {}
        }
        assert_eq!(
            finished.load(Ordering::SeqCst),
            8,
            "run() returned, but only {} of the 8 tasks that did not panic had finished: run must \
             go on with the other tasks after a panic, and return only once all have finished",
            finished.load(Ordering::SeqCst)
        );

        let ran = within(
            Duration::from_secs(8),
            "a ThreadPool of 2 with 4 panicking tasks (and dropping it)",
            || {
                let pool = ThreadPool::new(2);
                for _ in 0..4 {
                    pool.spawn(async {
                        panic!("a task panics on purpose (this message is expected)");
                    });
                }
                let (done_tx, done_rx) = mpsc::channel();
                for task in 0..10 {
                    let done_tx = done_tx.clone();
                    pool.spawn(async move {
                        let _ = done_tx.send(task);
                    });
                }
                let ran = (0..10)
                    .take_while(|_| done_rx.recv_timeout(Duration::from_secs(3)).is_ok())
                    .count();
                if ran == 10 {
                    drop(pool);
                } else {
                    // Its workers may be gone: dropping it could hang.
                    std::mem::forget(pool);
                }
                ran
            },
        );
        assert_eq!(
            ran, 10,
            "after 4 tasks panicked on a ThreadPool of 2 workers, only {ran} of 10 other tasks \
             ran: a worker must survive its task's panic (catch it where the task is polled)"
        );
    });
}

const PANIC_MESSAGE: &str = "task 7 panics on purpose (this message is expected)";

/// Polls a handle once (it should be finished) and says what happened.
fn poll_finished_handle<T: Send + 'static>(handle: JoinHandle<T>) -> Result<Poll<T>, String> {
    let waker = CountingWaker::new();
    let mut handle = Box::pin(handle);
    panic::catch_unwind(AssertUnwindSafe(|| waker.poll(handle.as_mut())))
        .map_err(|payload| panic_message(&*payload))
}

fn check_resumed(what: &str, outcome: Result<Poll<()>, String>) {
    match outcome {
        Err(message) => assert_eq!(
            message, PANIC_MESSAGE,
            "{what} panicked, but not with the task's own panic: resume it with \
             std::panic::resume_unwind(payload), the payload that catch_unwind caught"
        ),
        Ok(Poll::Pending) => panic!(
            "{what} was still Pending after the task panicked: a panic ends the task, and its \
             handle must then resume the panic"
        ),
        Ok(Poll::Ready(())) => panic!(
            "{what} returned Ready although the task panicked: it must resume the task's panic"
        ),
    }
}

// Mistake: a JoinHandle that hangs, or returns, or panics with a message of its own, when its
// task panicked, instead of resuming the task's panic.
#[test]
fn join_handle_resumes_the_panic_of_its_task() {
    graded(|| {
        let (direct, awaited, good) = within(
            Duration::from_secs(5),
            "an Executor with a panicking task",
            || {
                let executor = Executor::new();
                let direct = executor.spawn(async { panic!("{}", PANIC_MESSAGE) });
                let inner = executor.spawn(async { panic!("{}", PANIC_MESSAGE) });
                let awaited = executor.spawn(async move {
                    inner.await;
                });
                let good = executor.spawn(async { 7 });
                let _ = panic::catch_unwind(AssertUnwindSafe(|| executor.run()));
                (
                    poll_finished_handle(direct),
                    poll_finished_handle(awaited),
                    poll_finished_handle(good),
                )
            },
        );
        check_resumed(
            "polling the JoinHandle of a task that panicked (after run() returned)",
            direct,
        );
        check_resumed(
            "awaiting, in a task, the JoinHandle of a task that panicked",
            awaited,
        );
        assert_eq!(
            good,
            Ok(Poll::Ready(7)),
            "the JoinHandle of a task that returned 7, next to panicking ones, must give Ready(7) \
             once run() has returned"
        );

        let pooled = within(
            Duration::from_secs(5),
            "ThreadPool::block_on of the JoinHandle of a panicking task",
            || {
                let pool = ThreadPool::new(2);
                let handle = pool.spawn(async { panic!("{}", PANIC_MESSAGE) });
                let outcome = panic::catch_unwind(AssertUnwindSafe(|| pool.block_on(handle)))
                    .map(Poll::Ready)
                    .map_err(|payload| panic_message(&*payload));
                drop(pool);
                outcome
            },
        );
        check_resumed(
            "pool.block_on(handle) of a task that panicked on a ThreadPool",
            pooled,
        );
    });
}

// Mistake: tasks that outlive their executor (a reference cycle task -> queue -> task, or a
// JoinHandle or Spawner that keeps them alive).
#[test]
fn dropping_an_executor_drops_its_unfinished_tasks() {
    graded(|| {
        const SPAWNED: usize = 11;
        let dropped = within(
            Duration::from_secs(5),
            "creating an Executor, spawning 11 tasks and dropping it",
            || {
                let probe = Probe::new();
                let executor = Executor::new();
                let spawner = executor.spawner();
                let handles: Vec<JoinHandle<()>> = (0..10)
                    .map(|_| executor.spawn(probe.watch(pending::<()>())))
                    .collect();
                let remote = spawner.clone();
                let watched = probe.watch(pending::<()>());
                thread::spawn(move || {
                    let _handle = remote.spawn(watched);
                })
                .join()
                .expect("spawning from another thread");
                drop(executor);
                // The handles and a spawner are still alive: the tasks must be gone anyway.
                let dropped = probe.drops();
                drop((handles, spawner));
                dropped
            },
        );
        assert_eq!(
            dropped,
            SPAWNED,
            "{} of {SPAWNED} unfinished tasks were still alive after their executor was dropped \
             (while their JoinHandles and a Spawner still existed): the executor's Drop must drop \
             every task it has not finished. Tasks that hold the queue that holds them form a \
             reference cycle that nothing else breaks",
            SPAWNED - dropped
        );
    });
}

// Mistake: a ThreadPool whose Drop leaves its workers running, or leaks the tasks that wait
// (a waiting task is owned by its wakers, and those can live on: in the timer, in a channel).
#[test]
fn dropping_a_thread_pool_stops_its_workers_and_drops_unfinished_tasks() {
    graded(|| {
        let (polled, dropped, stopped, (left, workers)) = within(
            Duration::from_secs(8),
            "a ThreadPool with 20 waiting tasks, and dropping it",
            || {
                let probe = Probe::new();
                let before = thread_count().expect("thread count from /proc/self/status");
                let pool = ThreadPool::new(3);
                let workers = thread_count().unwrap().saturating_sub(before);
                let mut keys = Vec::new();
                for _ in 0..10 {
                    let (gate, key) = gate::<()>();
                    keys.push(key);
                    pool.spawn(probe.watch(gate));
                }
                for _ in 0..10 {
                    pool.spawn(probe.watch(sleep(Duration::from_secs(60))));
                }
                let polled = wait_until(Duration::from_secs(5), || probe.polls() >= 20);
                // With the workers (and the timer thread, if it is new).
                let running = thread_count().unwrap();
                drop(pool);
                let dropped = probe.drops();
                let stopped = wait_until(Duration::from_secs(2), || {
                    thread_count().unwrap() + workers <= running
                });
                let left = (thread_count().unwrap() + workers).saturating_sub(running);
                drop(keys);
                (polled, dropped, stopped, (left, workers))
            },
        );
        assert!(
            polled,
            "a ThreadPool of 3 had not polled its 20 new tasks within 5 s: do the workers take \
             every task from the queue?"
        );
        assert_eq!(
            dropped,
            20,
            "{} of 20 unfinished tasks (10 waiting for a wake-up whose waker is held outside the \
             pool, 10 in a 60 s sleep) were still alive after the pool was dropped: a waiting \
             task is owned only by its wakers, which can outlive the pool. Keep a list of the \
             unfinished tasks and drop their futures in Drop",
            20 - dropped
        );
        assert!(
            stopped,
            "{left} of the {workers} threads that ThreadPool::new(3) started were still running \
             2 s after the pool was dropped: Drop must stop the workers and join them"
        );
    });
}

// Mistake: a ThreadPool that runs its tasks one at a time (one worker, or a lock held while
// polling).
#[test]
fn thread_pool_runs_tasks_in_parallel() {
    graded(|| {
        let pool = ThreadPool::new(2);
        let barrier = Arc::new(Barrier::new(2));
        let (met_tx, met_rx) = mpsc::channel();
        for task in 0..2 {
            let (barrier, met_tx) = (Arc::clone(&barrier), met_tx.clone());
            // Blocking in a task is wrong, except to prove that two tasks run at once.
            pool.spawn(async move {
                barrier.wait();
                let _ = met_tx.send(task);
            });
        }
        let met = (0..2)
            .take_while(|_| met_rx.recv_timeout(Duration::from_secs(5)).is_ok())
            .count();
        if met < 2 {
            // A worker is stuck at the barrier for good: dropping the pool would hang.
            std::mem::forget(pool);
            panic!(
                "two tasks on a ThreadPool of 2 that wait for each other at a std::sync::Barrier \
                 did not both get past it within 5 s: the pool did not run them at the same time. \
                 Start `threads` workers, each taking tasks from the shared queue, and never hold \
                 the queue's lock while polling a task"
            );
        }
        drop(pool);
    });
}

// Mistake: a JoinHandle that wakes its own task on every poll while the task it waits for is
// still running (busy waking): whoever awaits it polls it in a loop and burns a CPU.
#[test]
fn a_join_handle_does_not_wake_itself_while_its_task_waits() {
    graded(|| {
        let slow = Duration::from_millis(100);
        let check = |what: &str, driven: support::tasks::Driven<u32>, expected: u32| {
            assert!(
                driven.polls <= 4,
                "{what}, whose task waits {slow:?} for another thread, was {}. A correct \
                 JoinHandle is polled twice: once before the task finishes, once after the task \
                 woke it. It wakes its own task while the task it waits for runs, so whoever \
                 awaits it polls it in a loop (busy waking). Keep the waker of the poll and \
                 return Pending: the task wakes it when it finishes",
                driven.summary()
            );
            assert_eq!(
                driven.output,
                Some(expected),
                "{what}: {}; the handle must give the task's output once it has finished (a \
                 handle that is never woken loses the wake-up)",
                driven.summary()
            );
        };
        let pool = ThreadPool::new(2);
        let handle = pool.spawn(opens_after(slow, 42u32));
        let driven = drive_counting(handle, Duration::from_secs(5), 500);
        check("the JoinHandle of a task on a ThreadPool", driven, 42);
        within(Duration::from_secs(5), "dropping a ThreadPool", move || {
            drop(pool)
        });

        let (handle_tx, handle_rx) = mpsc::channel();
        let executor = run_in_background(move |executor| {
            let _ = handle_tx.send(executor.spawn(opens_after(slow, 7u32)));
        });
        let handle = handle_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("spawning a task on an Executor");
        let driven = drive_counting(handle, Duration::from_secs(5), 500);
        check(
            "the JoinHandle of a task on an Executor, polled from another thread",
            driven,
            7,
        );
        assert_eq!(
            executor.wait(Duration::from_secs(5)),
            Ended::Returned,
            "Executor::run must return once its only task has finished"
        );
    });
}

// Mistake: a ThreadPool that starts a thread per task (or per spawn, or per wake-up) instead
// of running every task on the `threads` workers it started: threads are what async avoids.
#[test]
fn a_thread_pool_runs_every_task_on_its_own_workers() {
    graded(|| {
        const TASKS: usize = 40;
        let (grown, polled_on, finished) = within(
            Duration::from_secs(8),
            "a ThreadPool of 2 with 40 waiting tasks (and dropping it)",
            || {
                let before = thread_count().expect("thread count from /proc/self/status");
                let pool = ThreadPool::new(2);
                let threads = Arc::new(Mutex::new(HashSet::new()));
                let (polled_tx, polled_rx) = mpsc::channel();
                let (done_tx, done_rx) = mpsc::channel();
                let mut keys = Vec::new();
                for _ in 0..TASKS {
                    let (gate, key) = gate::<()>();
                    keys.push(key);
                    let (threads, polled_tx, done_tx) =
                        (Arc::clone(&threads), polled_tx.clone(), done_tx.clone());
                    pool.spawn(async move {
                        threads.lock().unwrap().insert(thread::current().id());
                        let _ = polled_tx.send(());
                        gate.await;
                        threads.lock().unwrap().insert(thread::current().id());
                        let _ = done_tx.send(());
                    });
                }
                let polled = (0..TASKS)
                    .take_while(|_| polled_rx.recv_timeout(Duration::from_secs(3)).is_ok())
                    .count();
                // Every task has started and waits: as many threads as there will ever be.
                let grown = thread_count().unwrap().saturating_sub(before);
                for key in &keys {
                    key.open(());
                }
                let finished = (0..polled)
                    .take_while(|_| done_rx.recv_timeout(Duration::from_secs(3)).is_ok())
                    .count();
                drop(pool);
                let polled_on = threads.lock().unwrap().len();
                (grown, polled_on, finished)
            },
        );
        assert_eq!(
            finished, TASKS,
            "only {finished} of {TASKS} tasks on a ThreadPool of 2 ran to their end once woken"
        );
        assert!(
            polled_on <= 2,
            "the {TASKS} tasks of a ThreadPool::new(2) were polled on {polled_on} different \
             threads: only the pool's 2 workers may poll its tasks. spawn must queue the task \
             and a wake-up must queue it again; neither may start a thread"
        );
        assert!(
            grown <= 3,
            "with {TASKS} tasks waiting on a ThreadPool::new(2), the process had {grown} more \
             threads than before the pool: start exactly `threads` workers in new(), and no \
             thread per task, per spawn or per wake-up"
        );
    });
}

/// After a poll with `waker` that returned Pending (when `waker` had been woken `seen` times),
/// polls `future` again after each new wake-up of `waker`, as an executor would, until it is
/// Ready or `limit` has passed.
fn poll_on_wake_ups<F: Future + ?Sized>(
    waker: &Arc<CountingWaker>,
    mut future: Pin<&mut F>,
    mut seen: usize,
    limit: Duration,
) -> Option<F::Output> {
    let deadline = Instant::now() + limit;
    loop {
        if !waker.wait_for_wakes(seen + 1, deadline.saturating_duration_since(Instant::now())) {
            return None;
        }
        seen = waker.wakes();
        if let Poll::Ready(output) = waker.poll(future.as_mut()) {
            return Some(output);
        }
    }
}

// Mistake: a sleep or a JoinHandle that keeps the waker of its first poll: a task polled with
// a new waker (moved to another worker, or inside a select) is never woken (stale waker).
#[test]
fn sleeps_and_join_handles_wake_the_waker_of_their_latest_poll() {
    graded(|| {
        let first = CountingWaker::new();
        let latest = CountingWaker::new();
        let mut sleeping = Box::pin(sleep(Duration::from_millis(150)));
        assert!(
            first.poll(sleeping.as_mut()).is_pending(),
            "a sleep of 150 ms polled at once must be Pending"
        );
        assert!(
            latest.poll(sleeping.as_mut()).is_pending(),
            "a sleep of 150 ms polled again at once must be Pending"
        );
        let seen = latest.wakes();
        let ready = poll_on_wake_ups(&latest, sleeping.as_mut(), seen, Duration::from_secs(5));
        assert!(
            ready.is_some(),
            "a sleep was polled with a first waker, then with a new one, and was not Ready 5 s \
             later, polled again at every wake-up of the new waker (the first one was woken {} \
             times): keep the waker of the latest poll (replace the stored one unless \
             will_wake) in the state the timer reads when it fires",
            first.wakes()
        );

        let (first, latest) = (CountingWaker::new(), CountingWaker::new());
        let outcome = within(
            Duration::from_secs(8),
            "a ThreadPool with a task whose JoinHandle moves to a new waker",
            move || {
                let pool = ThreadPool::new(1);
                let (gate, key) = gate::<u8>();
                let mut handle = Box::pin(pool.spawn(gate));
                let pending = first.poll(handle.as_mut()).is_pending()
                    && latest.poll(handle.as_mut()).is_pending();
                let seen = latest.wakes();
                key.open(5);
                let output =
                    poll_on_wake_ups(&latest, handle.as_mut(), seen, Duration::from_secs(5));
                drop(pool);
                (pending, first.wakes(), output)
            },
        );
        let (pending, stale_wakes, output) = outcome;
        assert!(pending, "a JoinHandle must be Pending while its task waits");
        assert_eq!(
            output,
            Some(5),
            "a JoinHandle was polled with a first waker, then with a new one, and did not give \
             its task's output within 5 s, polled again at every wake-up of the new waker (the \
             first one was woken {stale_wakes} times): keep the waker of the handle's latest \
             poll, replacing the stored one unless will_wake, and let the task wake that one"
        );
    });
}

// Mistake: a timer heap ordered one way by `Ord` and another by `PartialOrd` (or ordered by
// the latest deadline), or a timer thread told only of some new deadlines: `BinaryHeap` sorts
// with `PartialOrd`, the timer thread waits for the wrong deadline, and sleeps that started
// after a longer one end late.
#[test]
fn sleeps_end_on_time_whatever_order_they_start_in() {
    graded(|| {
        const STEP: u64 = 100;
        let mut late = within(
            Duration::from_secs(5),
            "eight sleeps of 100 to 800 ms, started 20 ms apart and out of order",
            || {
                let mut sleeps = Vec::new();
                for index in [3u64, 0, 6, 2, 7, 1, 5, 4] {
                    let duration = Duration::from_millis(STEP * (index + 1));
                    let waker = CountingWaker::new();
                    let started = Instant::now();
                    let mut sleeping = Box::pin(sleep(duration));
                    assert!(
                        waker.poll(sleeping.as_mut()).is_pending(),
                        "a new sleep was Ready at once: a sleep is Pending until its deadline"
                    );
                    sleeps.push((started + duration, duration, started, waker, sleeping));
                    // Let the timer thread settle on its earliest deadline each time.
                    thread::sleep(Duration::from_millis(20));
                }
                // Watch them in the order of their deadlines.
                sleeps.sort_by_key(|(deadline, ..)| *deadline);
                sleeps
                    .iter()
                    .map(|(_, duration, started, waker, _)| {
                        let woken = waker.wait_for_wakes(1, Duration::from_secs(2));
                        (*duration, woken.then(|| started.elapsed()))
                    })
                    .collect::<Vec<_>>()
            },
        );
        late.sort_by_key(|(duration, _)| *duration);
        for (duration, woken) in late {
            match woken {
                None => panic!("a sleep of {duration:?} never woke its task"),
                Some(after) => assert!(
                    after < duration + Duration::from_millis(STEP - 10),
                    "eight sleeps of 100 to 800 ms started 20 ms apart in the order 400, 100, \
                     700, 300, 800, 200, 600, 500 ms, and the one of {duration:?} woke its task \
                     only after {after:?}: the timer thread waited for a later deadline. Tell it \
                     of every new deadline earlier than the one it waits for, and keep the heap \
                     ordered one way: BinaryHeap sorts with PartialOrd, so write partial_cmp as \
                     Some(self.cmp(other)) and make the earliest deadline the greatest"
                ),
            }
        }
    });
}

// Mistake: a task dropped unfinished (its executor was dropped) that leaves its JoinHandle
// waiting: whoever awaits the handle is never woken, and a poll answers Pending for ever
// instead of panicking.
#[test]
fn a_join_handle_whose_task_was_dropped_wakes_its_waiter_and_panics() {
    graded(|| {
        let (woken, outcome) = within(
            Duration::from_secs(5),
            "a JoinHandle polled once, then its executor dropped",
            || {
                let executor = Executor::new();
                let mut handle = Box::pin(executor.spawn(pending::<()>()));
                let waker = CountingWaker::new();
                assert!(
                    waker.poll(handle.as_mut()).is_pending(),
                    "the JoinHandle of a task that never ran must be Pending"
                );
                drop(executor);
                let woken = waker.wakes();
                let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
                    waker.poll(handle.as_mut()).is_pending()
                }));
                (woken, outcome.map_err(|payload| panic_message(&*payload)))
            },
        );
        assert!(
            woken > 0,
            "a task was dropped unfinished (its executor was dropped), and the waker stored by \
             its JoinHandle's last poll was never woken: whoever awaits the handle would wait \
             for ever. When the task's future is dropped before it finishes, mark the join \
             state cancelled and wake the stored waker (a Drop on the task's end of the handle)"
        );
        match outcome {
            Err(message) => assert!(
                !message.is_empty(),
                "the JoinHandle must panic with a message that says its task was dropped"
            ),
            Ok(_) => panic!(
                "the JoinHandle of a task dropped with its executor answered a poll instead of \
                 panicking: the handout asks for a panic that says the task was dropped"
            ),
        }
    });
}

// Mistake: a ThreadPool whose Drop does not join its workers: it returns (and drops the
// unfinished tasks) while a worker is still in the middle of a poll.
#[test]
fn dropping_a_thread_pool_waits_for_the_poll_in_progress() {
    graded(|| {
        let finished_before_drop_returned = within(
            Duration::from_secs(8),
            "dropping a ThreadPool while a worker polls a task for 300 ms",
            || {
                let pool = ThreadPool::new(2);
                let (started_tx, started_rx) = mpsc::channel();
                let finished = Arc::new(AtomicBool::new(false));
                let done = Arc::clone(&finished);
                // Blocking in a task is wrong, except to hold a worker in one poll on purpose.
                pool.spawn(async move {
                    let _ = started_tx.send(());
                    thread::sleep(Duration::from_millis(300));
                    done.store(true, Ordering::SeqCst);
                });
                started_rx
                    .recv_timeout(Duration::from_secs(5))
                    .expect("a ThreadPool of 2 never polled its one task");
                drop(pool);
                finished.load(Ordering::SeqCst)
            },
        );
        assert!(
            finished_before_drop_returned,
            "dropping a ThreadPool returned while a worker was still polling a task: Drop must \
             let each worker finish the poll it is in and join the workers, before it drops the \
             unfinished tasks"
        );
    });
}
