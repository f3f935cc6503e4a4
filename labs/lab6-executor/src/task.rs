//! # Lab 6, part B: tasks, wakers and the run queue
//!
//! Lecture: *"Executors"*, *"Wakers"* and the *run queue*. `block_on` polls one future. An
//! executor runs many of them, each one a **task**: a spawned future on the heap, plus what it
//! takes to poll it again later. The executor keeps the tasks that are ready to make progress
//! in a **run queue**, pops them one by one and polls them. A task that returns `Pending` is
//! not in the queue any more: it waits, owned by its wakers (held by a timer, a channel, a
//! socket's reactor...), until one of them is woken. **Waking a task means putting it back
//! into the run queue.** That is all a waker does, and all an executor needs.
//!
//! So the waker *is* the task: put the task in an `Arc`, implement `std::task::Wake` for it,
//! and `Waker::from(Arc::clone(&task))` gives a waker whose `wake` pushes that task onto its
//! queue. Cloning such a waker costs one reference count, and no allocation.
//!
//! Both executors of this lab (`Executor` on one thread, `ThreadPool` on several) share what you
//! write in this file; they differ only in which threads pop from the queue, and until when.
//!
//! What the tests look for:
//!
//! - **At most once in the queue.** A task may be woken many times before it runs (a timer and
//!   a channel at once, or every message of a burst). Each wake-up must not queue it again, or
//!   it is polled once per wake-up, for nothing. Give the task an `AtomicBool` "scheduled": `wake`
//!   queues the task only if `scheduled.swap(true)` returned `false`.
//! - **No lost wake-up.** A wake-up can arrive *while the task is being polled*, from another
//!   thread, after the future has looked at its state and before it returned `Pending`. That
//!   wake-up must lead to one more poll. So clear "scheduled" just *before* polling, not after:
//!   a wake-up during the poll then queues the task again.
//! - **A finished task is never polled again.** Once the future returns `Ready`, drop it (keep
//!   the future in a `Mutex<Option<..>>` and `take()` it), and let later wake-ups change nothing.
//! - **A panicking task does not take the executor down.** Poll inside
//!   `std::panic::catch_unwind`; the panic becomes the task's result, and its `JoinHandle`
//!   resumes it (`std::panic::resume_unwind`) in whoever awaits the handle.
//! - **No lock held while polling.** Pop the task, release the queue's lock, then poll: a poll
//!   may take a while, and it may spawn or wake tasks, which needs the queue's lock.
//! - **Dropping an executor drops its unfinished tasks.** A task holds its queue (to requeue
//!   itself) and the queue holds the task: a reference cycle that no `Arc` ever frees. And a
//!   task waiting for a wake-up is held only by its wakers, which can live on anywhere. So the
//!   queue keeps a list of every unfinished task, and the executor's `Drop` drops their futures.
//!
//! ## Your tasks
//!
//! 1. The task (a `pub(crate) struct`): the future, boxed and pinned (`Pin<Box<dyn Future<Output
//!    = ()> + Send>>`) inside a `Mutex<Option<..>>`, the `AtomicBool` "scheduled", and an `Arc`
//!    of the run queue it goes back to.
//! 2. The run queue (another `pub(crate) struct`, shared through an `Arc`): a `Mutex` around a
//!    `VecDeque` of ready tasks (first in, first out), the number of unfinished tasks, a list of
//!    the unfinished tasks (for `Drop`), a "closed" flag; and a `Condvar` that threads with
//!    nothing to do wait on. Give it the methods the executors need: spawn, pop-or-wait (`None`
//!    when there is nothing left to wait for: see `Executor::run` and the `ThreadPool` workers),
//!    close-and-drop-everything.
//! 3. `impl Wake for Task`: if the task was not scheduled yet, push it (a clone of the `Arc`)
//!    onto its queue and notify the `Condvar`. Nothing else, and never a poll: a waker may be
//!    called from any thread, even from inside another task's poll.
//! 4. Running a task once (a method the executors call after popping it): clear "scheduled",
//!    make a `Waker` from the task and a `Context`, lock the future, poll it inside
//!    `catch_unwind`. On `Ready` (or a panic): drop the future, and tell the queue that one task
//!    fewer is unfinished (so that `Executor::run` knows when to return).
//! 5. Spawning: a shared state between the task and its `JoinHandle` (an `Arc<Mutex<..>>` with the
//!    result once there is one, and the handle's waker); wrap the spawned future in a future of
//!    yours (or an `async move` block) that runs it, catches its panic, stores the result and
//!    wakes the handle; box it into a new task; queue it; notify the `Condvar`.
//! 6. `JoinHandle::poll`: the result if it is there (resuming a panic), else store the waker of
//!    this poll and return `Pending`. If the task was dropped unfinished (its executor was
//!    dropped), panic with a message that says so.
//! 7. `yield_now`: the first poll wakes its own task (`cx.waker().wake_by_ref()`) and returns
//!    `Pending`, the second returns `Ready(())`. The task goes to the back of the queue, and the
//!    other ready tasks run first.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Waits for a spawned task and gives its output; resumes its panic if it panicked
/// (TODO 5, 6).
///
/// Dropping the handle does not cancel the task: it runs to the end, and its output is
/// dropped.
pub struct JoinHandle<T> {
    // TODO 5: what the handle shares with its task. Replace this placeholder.
    _output: PhantomData<T>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    /// The task's output once it has finished (resuming its panic if it panicked); until then
    /// `Pending`, with this poll's waker kept for the task to wake (TODO 6).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        todo!(
            "lab 6, TODO 6: wait for the task with the waker {:?}",
            cx.waker()
        )
    }
}

/// Returns `Pending` once, asking to be polled again, then `Ready`: lets the other tasks of
/// the queue run first (TODO 7).
pub fn yield_now() -> YieldNow {
    todo!("lab 6, TODO 7: a future that yields once")
}

/// The future of [`yield_now`].
pub struct YieldNow {
    // TODO 7: whether it has yielded already.
}

impl Future for YieldNow {
    type Output = ();

    /// `Pending` (after waking its own task) the first time, `Ready(())` the second (TODO 7).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        todo!("lab 6, TODO 7: yield once with the waker {:?}", cx.waker())
    }
}
