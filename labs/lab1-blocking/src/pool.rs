//! # Lab 1, part B: a thread pool
//!
//! Lecture: *"Threads are expensive"*, continued. A thread per connection lets one client
//! cost a whole thread, and a thousand clients cost a thousand. A pool puts a bound on it: a
//! fixed number of worker threads take jobs from a shared queue. The price is that a job that
//! blocks (a silent client!) holds a worker for as long as it blocks, which is exactly the
//! problem the rest of the course solves without threads.
//!
//! ## Your tasks
//!
//! 1. Decide what a `ThreadPool` holds: a way to send jobs to the workers and the workers'
//!    `JoinHandle`s. A job is a `Box<dyn FnOnce() + Send + 'static>`. Any queue will do: a
//!    `std::sync::mpsc` channel (the `Sender` here, the `Receiver` shared by the workers) is the
//!    classic choice, a `Mutex<VecDeque<..>>` with a `Condvar` works too.
//! 2. `new`: panic if `workers` is 0; otherwise start exactly `workers` threads. Each one loops:
//!    take the next job from the queue, run it. Only one worker can take a given job, so the
//!    receiving end is shared, behind a lock. Release that lock *before* running the job, or
//!    your workers run one at a time.
//! 3. `execute`: queue the job. It must not start a thread: the workers already exist.
//! 4. A job may panic. The worker that ran it must survive and go on with the next job
//!    (`std::panic::catch_unwind`), or the pool loses a worker with every panic.
//! 5. `Drop`: close the queue, let the workers finish every job already queued, then join them.
//!    Drop must return once the work is done: no job lost, no hang.

/// A fixed set of worker threads running queued jobs.
pub struct ThreadPool {
    // TODO 1: the job queue's sending end and the workers' join handles.
}

impl ThreadPool {
    /// Starts `workers` worker threads. Panics if `workers` is 0 (TODO 2).
    pub fn new(workers: usize) -> ThreadPool {
        todo!("lab 1, TODO 2: start {workers} workers")
    }

    /// Queues `job` to run on one of the workers (TODO 3, 4).
    pub fn execute<F: FnOnce() + Send + 'static>(&self, job: F) {
        let _ = job;
        todo!("lab 1, TODO 3: queue the job")
    }
}

impl Drop for ThreadPool {
    /// Finishes every queued job, then stops and joins the workers (TODO 5).
    fn drop(&mut self) {
        todo!("lab 1, TODO 5: close the queue and join the workers")
    }
}
