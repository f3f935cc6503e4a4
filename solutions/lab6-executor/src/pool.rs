//! # Lab 6, part D: a thread pool executor (reference solution)
//!
//! The same run queue as `Executor`, with `threads` workers popping from it. Dropping the
//! pool closes the queue, joins the workers (each finishes the poll it is in), then drops
//! every unfinished task.

use std::future::Future;
use std::sync::Arc;
use std::thread;

use crate::task::{JoinHandle, RunQueue, Until};

/// Runs spawned tasks on a fixed set of worker threads.
pub struct ThreadPool {
    queue: Arc<RunQueue>,
    workers: Vec<thread::JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `threads` workers. Panics if `threads` is 0.
    pub fn new(threads: usize) -> ThreadPool {
        assert!(threads > 0, "a ThreadPool needs at least one thread");
        let queue = RunQueue::new();
        let workers = (0..threads)
            .map(|index| {
                let queue = Arc::clone(&queue);
                thread::Builder::new()
                    .name(format!("lab6-worker-{index}"))
                    .spawn(move || {
                        while let Some(task) = queue.next(Until::Closed) {
                            task.run();
                        }
                    })
                    .expect("starting a worker thread")
            })
            .collect();
        ThreadPool { queue, workers }
    }

    /// Queues `future` as a new task; a free worker picks it up at once.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.queue.spawn(future)
    }

    /// Runs `future` to completion on the calling thread (it need not be `Send`), while the
    /// workers run the spawned tasks.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        crate::block_on(future)
    }
}

impl Drop for ThreadPool {
    /// Stops the workers, then drops every unfinished task.
    fn drop(&mut self) {
        self.queue.close();
        let me = thread::current().id();
        for worker in self.workers.drain(..) {
            // A task that owned the pool may drop it on a worker: that one cannot join itself.
            if worker.thread().id() != me {
                let _ = worker.join();
            }
        }
        self.queue.shut_down();
    }
}
