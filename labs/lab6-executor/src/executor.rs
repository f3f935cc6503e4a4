//! # Lab 6, part C: a single-threaded executor
//!
//! Lecture: *"Executors"*. This is the shape of tokio's current-thread runtime, and of the
//! event loop of lab 2 turned inside out: instead of asking the kernel which sockets are
//! ready, the loop pops tasks that their wakers have declared ready. `run` takes the next task
//! from the run queue and polls it, on the calling thread, one task at a time. When the queue
//! is empty but some tasks are unfinished (they wait for a timer, a channel, another thread),
//! `run` **sleeps** on the queue's `Condvar` until a waker or a spawn pushes a task and
//! notifies it. `run` returns once every spawned task has finished, including the tasks
//! spawned while it ran.
//!
//! Two ways to get the waiting wrong:
//!
//! - **Busy waiting**: going round the loop again when the queue is empty (`try_recv`, a
//!   `thread::yield_now()` or a short sleep in between). It works, and it burns a CPU while
//!   every task sleeps. The tests measure it.
//! - **Checking and waiting under two locks**: "lock, queue is empty, unlock; lock, wait". A
//!   push and its `notify` can fall in between, and then nobody wakes you. Check the queue and
//!   call `Condvar::wait` with the same `MutexGuard`.
//!
//! A `Spawner` is a cheap handle to the same run queue (an `Arc`), that tasks keep to spawn
//! more tasks, and that other threads use to hand work to the executor.
//!
//! ## Your tasks
//!
//! 1. `Executor` and `Spawner` each hold an `Arc` of the run queue you wrote in `src/task.rs`.
//! 2. `new`, `spawner`, `spawn` and `Spawner::spawn`: spawning goes through the queue, which
//!    wakes `run` if it is waiting.
//! 3. `run`: loop: pop the next task (waiting while there is none but some are unfinished),
//!    release the queue's lock, run it (TODO 4 of `src/task.rs`). Return when no task is left
//!    unfinished.
//! 4. `Drop`: close the queue and drop every unfinished task, queued or waiting for a wake-up.

use std::future::Future;

use crate::task::JoinHandle;

/// Runs spawned tasks on the thread that calls [`Executor::run`].
pub struct Executor {
    // TODO 1: the run queue, shared with the tasks and the spawners.
}

impl Executor {
    /// An executor without tasks (TODO 2).
    pub fn new() -> Executor {
        todo!("lab 6, TODO 2: an executor with an empty run queue")
    }

    /// A handle that spawns onto this executor from anywhere: inside its tasks, or from other
    /// threads (TODO 2).
    pub fn spawner(&self) -> Spawner {
        todo!("lab 6, TODO 2: a spawner sharing the run queue")
    }

    /// Queues `future` as a new task. It runs when [`Executor::run`] runs (TODO 2).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        drop(future);
        todo!("lab 6, TODO 2: make the future a task and queue it")
    }

    /// Polls ready tasks, one at a time, on this thread, and sleeps while none is ready;
    /// returns once every spawned task (including those spawned meanwhile) has finished
    /// (TODO 3).
    pub fn run(&self) {
        todo!("lab 6, TODO 3: pop and run tasks until all have finished")
    }
}

impl Default for Executor {
    fn default() -> Self {
        Executor::new()
    }
}

impl Drop for Executor {
    /// Drops every unfinished task (TODO 4).
    fn drop(&mut self) {
        todo!("lab 6, TODO 4: close the queue and drop the unfinished tasks")
    }
}

/// Spawns tasks onto an [`Executor`] from inside its tasks or from other threads.
#[derive(Clone)]
pub struct Spawner {
    // TODO 1: the executor's run queue.
}

impl Spawner {
    /// Queues `future` as a new task of the executor, and wakes the executor if it waits for
    /// work (TODO 2).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        drop(future);
        todo!("lab 6, TODO 2: make the future a task and queue it")
    }
}
