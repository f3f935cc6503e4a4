//! # Lab 7, part A: the runtime
//!
//! Lecture: *"Futures.rs: zero-cost abstraction for futures"* names three parts: async state
//! machines, the `Future` trait, and an **event reactor**. Labs 3 to 6 built the first two and
//! an executor whose only source of events was a timer thread. This lab joins the two halves
//! of the course:
//!
//! ```text
//!   lab 2's event loop  (mio::Poll, tokens, readiness, a timer heap as the poll timeout)
//! + lab 6's executor    (tasks, wakers, a run queue)
//! = tokio's current-thread runtime
//! ```
//!
//! One thread does everything, in a loop: poll the tasks that are ready; then, if none is
//! ready, **wait in `mio::Poll::poll`**, with the earliest timer deadline as the timeout (and
//! no timeout when there is no timer); then wake the tasks whose sockets the kernel reported
//! ready (the reactor, `src/reactor.rs`) and the tasks whose deadlines have passed (the timers,
//! `src/timer.rs`); and round again. A task's waker does what it did in lab 6, queue the task,
//! with one addition: when it is called from **another thread** while the runtime waits in
//! `poll`, it must interrupt that wait. `mio::Waker` does exactly that (an eventfd registered
//! with the same `Poll`).
//!
//! The tasks are not `Send` (the server shares its store through an `Rc`), so they stay on
//! the runtime's thread: keep them in a table of the runtime (ids to tasks), and make the
//! wakers, which must be `Send + Sync` (`std::task::Wake` on an `Arc`), carry the task's id
//! and a handle to a small queue they share with the runtime.
//!
//! What the tests look for:
//!
//! - **No busy loop.** With nothing ready, the thread waits in `poll`: CPU time near zero.
//! - **One thread.** No thread for the timers or the reactor: the thread count stays put while
//!   a thousand clients are served.
//! - **Wake-ups from other threads** reach a runtime waiting in `poll` within milliseconds.
//! - **Timers on time under load.** After every wait, whether it ended with events or with
//!   its timeout, fire every timer whose deadline has passed.
//!
//! ## Your tasks
//!
//! 1. `Runtime` and `Runtime::new`: the reactor (part B), the timers (part C), a table of
//!    tasks, and the queue of ready task ids that the wakers push to (a `Mutex<VecDeque<..>>`
//!    in an `Arc`, with the `mio::Waker`).
//! 2. The waker: `impl std::task::Wake` for a small struct holding the task's id, an
//!    `AtomicBool` "scheduled" (queue the id only if it was not queued yet) and the shared
//!    queue. If the runtime may be waiting in `poll` (a flag it sets before waiting and clears
//!    after), call the `mio::Waker`. Never poll from a waker: it may run on any thread.
//! 3. Spawning (`Runtime::spawn`, and the free function `spawn`, which finds the runtime of
//!    the current thread through a `thread_local!` that `block_on` sets): wrap the future in
//!    one that stores its output for the `JoinHandle` and wakes it; box it; give it an id;
//!    queue it. `JoinHandle::poll` returns the output once it is there, else stores its waker.
//! 4. `block_on`: make this runtime the current one (and undo that when it returns, even by a
//!    panic); pin the future; loop: poll it if its waker was woken (it is a task of its own,
//!    with an id no spawned task has), return its output once `Ready`; poll every ready task
//!    once; then wait (TODO 5).
//! 5. Waiting: the timeout is zero if a task (or the main future) is ready, else the time
//!    until the earliest deadline, else none. Wait in the reactor, then let it wake the tasks
//!    of the ready sources, then fire the due timers.
//! 6. `registrations`: ask the reactor how many sources it has registered (the tests use it
//!    to see that dropped sockets are deregistered).
//! 7. `Drop` for `Runtime`: drop the unfinished tasks (their futures hold sockets and sleeps).

use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A single-threaded async runtime: a run queue of tasks, a reactor (mio) for sockets and a
/// timer heap for `sleep`, all driven by the thread that calls [`Runtime::block_on`].
pub struct Runtime {
    // TODO 1: the reactor, the timers, the tasks and the queue the wakers share.
}

impl Runtime {
    /// A runtime with no task, its reactor (a `mio::Poll`) and its `mio::Waker` (TODO 1).
    pub fn new() -> io::Result<Runtime> {
        todo!("lab 7, TODO 1: the runtime's parts")
    }

    /// Runs `future` to completion on this thread, together with the spawned tasks, and
    /// returns its output. While nothing is ready, the thread waits in `mio::Poll::poll`
    /// (TODO 4, 5).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        drop(future);
        todo!("lab 7, TODO 4 and 5: the runtime's loop")
    }

    /// Spawns `future` as a task of this runtime; it runs while `block_on` runs (TODO 3).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        drop(future);
        todo!("lab 7, TODO 3: make the future a task and queue it")
    }

    /// How many I/O sources (listeners and streams) are registered with this runtime's
    /// reactor right now; the runtime's own `mio::Waker` does not count (TODO 6).
    pub fn registrations(&self) -> usize {
        todo!("lab 7, TODO 6: the size of the reactor's registration table")
    }
}

/// Spawns `future` on the runtime whose `block_on` runs on this thread; panics outside one
/// (TODO 3).
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    drop(future);
    todo!("lab 7, TODO 3: spawn onto the current runtime (a thread_local!)")
}

/// Waits for a spawned task and gives its output. Dropping it lets the task run on (TODO 3).
pub struct JoinHandle<T> {
    // TODO 3: what the handle shares with its task. Replace this placeholder.
    _output: PhantomData<T>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    /// The task's output once it has finished; until then `Pending`, with this poll's waker
    /// kept for the task to wake (TODO 3).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        todo!(
            "lab 7, TODO 3: wait for the task with the waker {:?}",
            cx.waker()
        )
    }
}
