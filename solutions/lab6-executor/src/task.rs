//! # Lab 6, part B: tasks, wakers and the run queue (reference solution)
//!
//! A task is a spawned future on the heap, shared (`Arc`) by the run queue and by every waker
//! of it. Waking a task puts it back on the run queue, at most once, whatever the number of
//! wake-ups. Both executors (`Executor`, one thread; `ThreadPool`, several) are built on the
//! [`RunQueue`] below and differ only in who calls [`RunQueue::next`] and until when.
//!
//! A task's life is a small state machine in one atomic byte, so that a wake-up never takes a
//! lock unless it has to queue the task, and no task is ever queued twice or polled by two
//! threads at once:
//!
//! ```text
//!   spawn ──> SCHEDULED ──(popped)──> RUNNING ──(Pending)──> IDLE ──(wake)──> SCHEDULED
//!                                      │   │
//!                          (wake) NOTIFIED  └──(Ready)──> DONE (never polled again)
//!                                      └──(Pending)──> SCHEDULED, queued again
//! ```

use std::any::Any;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::task::{Context, Poll, Wake, Waker};

/// Waiting for a wake-up: nobody holds it in a queue.
const IDLE: u8 = 0;
/// In the run queue: further wake-ups change nothing.
const SCHEDULED: u8 = 1;
/// Being polled by one thread.
const RUNNING: u8 = 2;
/// Woken while it was being polled: it goes back to the queue once the poll returns.
const NOTIFIED: u8 = 3;
/// Finished, or dropped by its executor: wake-ups are ignored from now on.
const DONE: u8 = 4;

/// What a task runs: the spawned future, wrapped so that its output (or its panic) reaches
/// the `JoinHandle`.
type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A spawned future and what it needs to be woken.
pub(crate) struct Task {
    /// The future, until it finishes or its executor drops it. Only the thread that moved the
    /// task to `RUNNING` locks it, so the lock is never contended.
    future: Mutex<Option<BoxFuture>>,
    /// One of `IDLE`, `SCHEDULED`, `RUNNING`, `NOTIFIED`, `DONE`.
    state: AtomicU8,
    /// Where a wake-up puts the task.
    queue: Arc<RunQueue>,
    /// The task's place in its queue's table of unfinished tasks.
    slot: usize,
}

impl Task {
    /// Polls the task once. Only the thread that took it from the run queue calls this.
    pub(crate) fn run(self: Arc<Self>) {
        if self.state.swap(RUNNING, Ordering::AcqRel) == DONE {
            // Dropped by its executor while it sat in the queue.
            self.state.store(DONE, Ordering::Release);
            return;
        }
        // The waker is the task itself: no allocation, one reference count.
        let waker = Waker::from(Arc::clone(&self));
        let mut cx = Context::from_waker(&waker);
        let mut slot = self.future.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(future) = slot.as_mut() else {
            self.state.store(DONE, Ordering::Release);
            return;
        };
        // The spawned future's own panics are caught inside it (see `RunQueue::spawn`); this
        // catches the rest (a panicking `Drop`), so that nothing takes the executor down.
        let poll = panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)))
            .unwrap_or(Poll::Ready(()));
        if poll.is_ready() {
            // Finished: drop the future now, and never poll it again.
            *slot = None;
            drop(slot);
            self.state.store(DONE, Ordering::Release);
            self.queue.finished(&self);
            return;
        }
        match self
            .state
            .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => drop(slot),
            // Its executor shut down during the poll.
            Err(DONE) => *slot = None,
            // NOTIFIED: a wake-up arrived during the poll. It may have come after the future
            // looked at whatever it waits for, so poll it again.
            Err(_) => {
                drop(slot);
                self.state.store(SCHEDULED, Ordering::Release);
                self.queue.push(&self);
            }
        }
    }

    /// Moves the task on after a wake-up; returns whether the waker must queue it.
    fn notify(&self) -> bool {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let next = match state {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                // Already queued, already notified, or finished.
                _ => return false,
            };
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return next == SCHEDULED,
                Err(actual) => state = actual,
            }
        }
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.notify() {
            self.queue.push(self);
        }
    }
}

/// Who waits in [`RunQueue::next`], and so when it gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Until {
    /// `Executor::run`: until every task has finished.
    AllFinished,
    /// A `ThreadPool` worker: until the pool is dropped.
    Closed,
}

/// The run queue of one executor, and its table of unfinished tasks.
pub(crate) struct RunQueue {
    inner: Mutex<Inner>,
    /// Signalled when a task is queued, the last task finishes, or the queue closes.
    work: Condvar,
}

struct Inner {
    /// Tasks ready to be polled, oldest first.
    ready: VecDeque<Arc<Task>>,
    /// Every unfinished task, so that dropping the executor can drop them: a task waiting
    /// for a wake-up is held only by its wakers, which may live forever (a timer, a channel).
    tasks: Vec<Option<Arc<Task>>>,
    /// Free places in `tasks`.
    free: Vec<usize>,
    /// How many places of `tasks` hold a task.
    unfinished: usize,
    /// Threads waiting in `next`: a push signals the condition variable only if there are any.
    idle: usize,
    /// The executor is gone: nothing runs any more, new tasks are dropped at once.
    closed: bool,
}

impl RunQueue {
    pub(crate) fn new() -> Arc<RunQueue> {
        Arc::new(RunQueue {
            inner: Mutex::new(Inner {
                ready: VecDeque::new(),
                tasks: Vec::new(),
                free: Vec::new(),
                unfinished: 0,
                idle: 0,
                closed: false,
            }),
            work: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `future` a task and queues it.
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let join = Arc::new(JoinState {
            state: Mutex::new(Join::Running(None)),
        });
        let completer = Completer(Arc::clone(&join));
        let future: BoxFuture = Box::pin(async move {
            let output = {
                let mut future = pin!(future);
                // A panic is the task's result, like its output: the handle resumes it.
                poll_fn(|cx| {
                    match panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                        Ok(Poll::Pending) => Poll::Pending,
                        Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
                        Err(payload) => Poll::Ready(Err(payload)),
                    }
                })
                .await
            };
            completer.complete(output);
        });

        let mut inner = self.lock();
        if inner.closed {
            drop(inner);
            // Dropping the future drops the completer: the handle sees a cancelled task.
            drop(future);
            return JoinHandle { join };
        }
        let slot = inner.free.pop().unwrap_or(inner.tasks.len());
        let task = Arc::new(Task {
            future: Mutex::new(Some(future)),
            state: AtomicU8::new(SCHEDULED),
            queue: Arc::clone(self),
            slot,
        });
        if slot == inner.tasks.len() {
            inner.tasks.push(Some(Arc::clone(&task)));
        } else {
            inner.tasks[slot] = Some(Arc::clone(&task));
        }
        inner.unfinished += 1;
        inner.ready.push_back(task);
        let someone_waits = inner.idle > 0;
        drop(inner);
        if someone_waits {
            self.work.notify_one();
        }
        JoinHandle { join }
    }

    /// Queues a woken task (already moved to `SCHEDULED`).
    fn push(&self, task: &Arc<Task>) {
        let mut inner = self.lock();
        if inner.closed {
            return;
        }
        inner.ready.push_back(Arc::clone(task));
        let someone_waits = inner.idle > 0;
        drop(inner);
        if someone_waits {
            self.work.notify_one();
        }
    }

    /// The next task to poll. Waits (asleep, on the condition variable) while there is none;
    /// returns `None` once the queue is closed or, for `Until::AllFinished`, once every task
    /// has finished. The lock is released before the caller polls the task.
    pub(crate) fn next(&self, until: Until) -> Option<Arc<Task>> {
        let mut inner = self.lock();
        loop {
            if inner.closed {
                return None;
            }
            if let Some(task) = inner.ready.pop_front() {
                return Some(task);
            }
            if until == Until::AllFinished && inner.unfinished == 0 {
                return None;
            }
            // Checking and waiting under the same lock: a push cannot slip in between.
            inner.idle += 1;
            inner = self
                .work
                .wait(inner)
                .unwrap_or_else(PoisonError::into_inner);
            inner.idle -= 1;
        }
    }

    /// Forgets a finished task.
    fn finished(&self, task: &Task) {
        let mut inner = self.lock();
        let ours = inner
            .tasks
            .get(task.slot)
            .and_then(Option::as_ref)
            .is_some_and(|entry| std::ptr::eq(Arc::as_ptr(entry), task));
        if ours {
            let entry = inner.tasks[task.slot].take();
            inner.free.push(task.slot);
            inner.unfinished -= 1;
            let wake_all = inner.unfinished == 0 && inner.idle > 0;
            drop(inner);
            drop(entry);
            if wake_all {
                self.work.notify_all();
            }
        }
    }

    /// Stops the queue: `next` returns `None` from now on, and wake-ups queue nothing.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.work.notify_all();
    }

    /// Closes the queue and drops every unfinished task's future. Call it when no thread
    /// polls tasks any more.
    pub(crate) fn shut_down(&self) {
        let (ready, tasks) = {
            let mut inner = self.lock();
            inner.closed = true;
            inner.free.clear();
            inner.unfinished = 0;
            (mem::take(&mut inner.ready), mem::take(&mut inner.tasks))
        };
        self.work.notify_all();
        // Outside the queue's lock: a future's `Drop` may wake or spawn tasks.
        for task in tasks.into_iter().flatten() {
            task.state.store(DONE, Ordering::Release);
            let future = match task.future.try_lock() {
                Ok(mut future) => future.take(),
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().take(),
                // Only a task being polled on this very thread (one that dropped the pool it
                // runs on) is locked now: `run` drops its future when the poll returns.
                Err(TryLockError::WouldBlock) => None,
            };
            drop(future);
        }
        drop(ready);
    }
}

/// What a task's `JoinHandle` waits for.
enum Join<T> {
    /// Not finished yet; the waker of the handle's latest poll.
    Running(Option<Waker>),
    /// The output, or the panic's payload.
    Finished(Result<T, Box<dyn Any + Send + 'static>>),
    /// The task was dropped before it finished (its executor was dropped).
    Cancelled,
    /// The handle has returned the output.
    Taken,
}

struct JoinState<T> {
    state: Mutex<Join<T>>,
}

impl<T> JoinState<T> {
    fn lock(&self) -> MutexGuard<'_, Join<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends the task with `result` (unless it has ended already) and wakes the handle.
    fn end(&self, result: Join<T>) {
        let waker = {
            let mut state = self.lock();
            match &mut *state {
                Join::Running(waker) => {
                    let waker = waker.take();
                    *state = result;
                    waker
                }
                _ => None,
            }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The task's end of its `JoinHandle`: completes it, or cancels it when dropped unfinished.
struct Completer<T>(Arc<JoinState<T>>);

impl<T> Completer<T> {
    fn complete(self, output: Result<T, Box<dyn Any + Send + 'static>>) {
        self.0.end(Join::Finished(output));
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        self.0.end(Join::Cancelled);
    }
}

/// Waits for a spawned task and gives its output; resumes its panic if it panicked.
///
/// Dropping the handle does not cancel the task: it runs to the end, and its output is
/// dropped.
pub struct JoinHandle<T> {
    join: Arc<JoinState<T>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut state = self.join.lock();
        match mem::replace(&mut *state, Join::Taken) {
            Join::Running(waker) => {
                let waker = match waker {
                    Some(waker) if waker.will_wake(cx.waker()) => waker,
                    _ => cx.waker().clone(),
                };
                *state = Join::Running(Some(waker));
                Poll::Pending
            }
            Join::Finished(Ok(output)) => Poll::Ready(output),
            Join::Finished(Err(payload)) => {
                drop(state);
                panic::resume_unwind(payload)
            }
            Join::Cancelled => {
                *state = Join::Cancelled;
                drop(state);
                panic!("the task was dropped before it finished: its executor was dropped")
            }
            Join::Taken => panic!("JoinHandle polled again after it returned the output"),
        }
    }
}

/// Returns `Pending` once, asking to be polled again, then `Ready`: lets the other tasks of
/// the queue run first.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
#[must_use = "futures do nothing unless polled"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Ready to go on at once: the waker puts the task at the back of the queue.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
