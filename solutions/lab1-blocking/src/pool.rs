//! Reference solution: a fixed-size thread pool fed by a channel.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A pool of worker threads that run jobs from a shared queue.
pub struct ThreadPool {
    /// `None` once the pool is being dropped: closing the channel tells the workers to stop.
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `workers` threads. Panics if `workers` is 0.
    pub fn new(workers: usize) -> ThreadPool {
        assert!(workers > 0, "a ThreadPool needs at least one worker");
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..workers)
            .map(|index| {
                let receiver = Arc::clone(&receiver);
                thread::Builder::new()
                    .name(format!("pool-worker-{index}"))
                    .spawn(move || work(&receiver))
                    .expect("starting a pool worker")
            })
            .collect();
        ThreadPool {
            jobs: Some(sender),
            workers,
        }
    }

    /// Queues `job` to run on one of the workers.
    pub fn execute<F: FnOnce() + Send + 'static>(&self, job: F) {
        self.jobs
            .as_ref()
            .expect("the pool is shutting down")
            .send(Box::new(job))
            .expect("pool workers are alive while the pool exists");
    }
}

/// A worker takes one job at a time until the queue is closed and empty.
fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        // The guard is a temporary: the lock is released before the job runs.
        let next = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(job) = next else {
            return;
        };
        // A panicking job must not kill the worker, or the pool would slowly lose all of them.
        let _ = panic::catch_unwind(AssertUnwindSafe(job));
    }
}

impl Drop for ThreadPool {
    /// Runs every job already queued, then stops and joins the workers.
    fn drop(&mut self) {
        drop(self.jobs.take());
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}
