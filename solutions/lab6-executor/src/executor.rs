//! # Lab 6, part C: a single-threaded executor (reference solution)
//!
//! `Executor` and `Spawner` share one [`RunQueue`]. `run` pops tasks and polls them on the
//! calling thread until every task has finished, and sleeps on the queue's condition variable
//! while none is ready. Dropping the executor drops every unfinished task.

use std::future::Future;
use std::sync::Arc;

use crate::task::{JoinHandle, RunQueue, Until};

/// Runs spawned tasks on the thread that calls [`Executor::run`].
pub struct Executor {
    queue: Arc<RunQueue>,
}

impl Executor {
    /// An executor without tasks.
    pub fn new() -> Executor {
        Executor {
            queue: RunQueue::new(),
        }
    }

    /// A handle that spawns onto this executor from anywhere: inside its tasks, or from
    /// other threads.
    pub fn spawner(&self) -> Spawner {
        Spawner {
            queue: Arc::clone(&self.queue),
        }
    }

    /// Queues `future` as a new task. It runs when [`Executor::run`] runs.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.queue.spawn(future)
    }

    /// Polls ready tasks, one at a time, on this thread, and sleeps while none is ready;
    /// returns once every spawned task (including those spawned meanwhile) has finished.
    pub fn run(&self) {
        while let Some(task) = self.queue.next(Until::AllFinished) {
            task.run();
        }
    }
}

impl Default for Executor {
    fn default() -> Self {
        Executor::new()
    }
}

impl Drop for Executor {
    /// Drops every unfinished task (its future, with everything it owns).
    fn drop(&mut self) {
        self.queue.shut_down();
    }
}

/// Spawns tasks onto an [`Executor`] from inside its tasks or from other threads.
#[derive(Clone)]
pub struct Spawner {
    queue: Arc<RunQueue>,
}

impl Spawner {
    /// Queues `future` as a new task of the executor and wakes it if it waits for work. Once
    /// the executor has been dropped, the future is dropped at once.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.queue.spawn(future)
    }
}
