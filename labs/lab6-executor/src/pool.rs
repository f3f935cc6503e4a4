//! # Lab 6, part D: a thread pool executor
//!
//! Lecture: *"Executors"*, multi-threaded. Tokio's default runtime runs tasks on a pool of
//! worker threads, one per core, so that tasks also run in **parallel**, not only
//! concurrently. Yours is the simplest version of it: `threads` workers, all taking tasks from
//! the one run queue of `src/task.rs` and polling them, each exactly like `Executor::run` but
//! until the pool is dropped. (Tokio gives each worker a queue of its own and lets idle
//! workers *steal* from the others, so that the workers do not all fight over one lock.)
//!
//! With several threads polling, what `src/task.rs` promises gets tested for real: a task
//! woken on one thread while another thread polls it must be polled again, by one thread at a
//! time; no lock may be held while polling (or the workers take turns instead of running in
//! parallel); a worker must survive the panic of a task it polls.
//!
//! `block_on` runs a future on the calling thread (it need not be `Send`), while the workers
//! run the spawned tasks: typically the future awaits their `JoinHandle`s.
//!
//! ## Your tasks
//!
//! 1. `ThreadPool` holds an `Arc` of a run queue and the workers' `std::thread::JoinHandle`s.
//! 2. `new`: panic if `threads` is 0; start `threads` workers. Each loops: pop the next task
//!    (waiting on the `Condvar` while the queue is empty), run it; it leaves the loop once the
//!    queue is closed.
//! 3. `spawn` goes through the queue, which wakes a waiting worker. `block_on` calls
//!    `crate::block_on`.
//! 4. `Drop`: close the queue and wake every worker (`notify_all`), join them, then drop every
//!    unfinished task, queued or waiting for a wake-up.

use std::future::Future;

use crate::task::JoinHandle;

/// Runs spawned tasks on a fixed set of worker threads.
pub struct ThreadPool {
    // TODO 1: the run queue and the workers.
}

impl ThreadPool {
    /// Starts `threads` workers. Panics if `threads` is 0 (TODO 2).
    pub fn new(threads: usize) -> ThreadPool {
        todo!("lab 6, TODO 2: start {threads} workers")
    }

    /// Queues `future` as a new task; a free worker picks it up at once (TODO 3).
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        drop(future);
        todo!("lab 6, TODO 3: make the future a task and queue it")
    }

    /// Runs `future` to completion on the calling thread, while the workers run the spawned
    /// tasks (TODO 3).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        drop(future);
        todo!("lab 6, TODO 3: crate::block_on")
    }
}

impl Drop for ThreadPool {
    /// Stops the workers, then drops every unfinished task (TODO 4).
    fn drop(&mut self) {
        todo!("lab 6, TODO 4: close the queue, join the workers, drop the unfinished tasks")
    }
}
