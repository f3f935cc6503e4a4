//! Public tests for lab 6. Run them with `cargo run -p grader -- lab 6` (or `just lab 6`), which
//! scores them and shows hints, or plainly with `cargo test -p lab6`.
//!
//! Every test runs your code on a helper thread with a time limit (`within`): an executor that
//! loses a wake-up fails the test with a message instead of hanging it. The grader also runs
//! hidden tests: the same API under harder conditions (CPU time while idle, wake-ups from many
//! threads, panics, dropping executors with tasks still waiting).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use lab6::{block_on, sleep, yield_now, Executor, Spawner, ThreadPool};
use pretty_assertions::assert_eq;
use support::grading::graded;
use support::tasks::gate;
use support::testing::within;

const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn block_on_returns_the_output_of_a_ready_future() {
    graded(|| {
        let outputs = within(LIMIT, "block_on of two ready futures", || {
            (block_on(std::future::ready(7)), block_on(async { 6 * 7 }))
        });
        assert_eq!(
            outputs,
            (7, 42),
            "block_on must poll the future and return its output once it is Ready"
        );
    });
}

#[test]
fn block_on_sleeps_until_another_thread_wakes_the_future() {
    graded(|| {
        let (gate, key) = gate();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            key.open("opened");
        });
        let output = within(
            LIMIT,
            "block_on of a future that another thread wakes after 50 ms (is the waker \
             unparking the thread that block_on parked?)",
            move || block_on(gate),
        );
        assert_eq!(output, "opened");
    });
}

#[test]
fn sleep_lasts_at_least_its_duration() {
    graded(|| {
        let elapsed = within(LIMIT, "block_on(sleep(100 ms))", || {
            let started = Instant::now();
            block_on(sleep(Duration::from_millis(100)));
            started.elapsed()
        });
        assert!(
            elapsed >= Duration::from_millis(100),
            "block_on(sleep(100 ms)) returned after {elapsed:?}: a sleep is Ready only once its \
             deadline has passed"
        );
        assert!(
            elapsed < Duration::from_secs(2),
            "block_on(sleep(100 ms)) took {elapsed:?}: the timer must wake the task at the deadline"
        );
        within(LIMIT, "block_on(sleep(0 ms))", || {
            block_on(sleep(Duration::ZERO))
        });
    });
}

#[test]
fn executor_runs_spawned_tasks_and_join_handles_give_their_outputs() {
    graded(|| {
        let outputs = within(LIMIT, "Executor::run with 10 tasks", || {
            let executor = Executor::new();
            let handles: Vec<_> = (0..10u64)
                .map(|n| executor.spawn(async move { n * n }))
                .collect();
            executor.run();
            handles.into_iter().map(block_on).collect::<Vec<_>>()
        });
        assert_eq!(
            outputs,
            (0..10u64).map(|n| n * n).collect::<Vec<_>>(),
            "each JoinHandle must give the output of its own task"
        );
    });
}

#[test]
fn tasks_spawn_tasks_through_a_spawner_and_run_waits_for_all_of_them() {
    graded(|| {
        fn clone_and_send<T: Clone + Send + 'static>() {}
        clone_and_send::<Spawner>();
        let finished = within(LIMIT, "Executor::run with tasks that spawn tasks", || {
            let finished = Arc::new(AtomicUsize::new(0));
            let executor = Executor::new();
            let spawner = executor.spawner();
            let from_thread = {
                let (spawner, finished) = (spawner.clone(), Arc::clone(&finished));
                thread::spawn(move || {
                    spawner.spawn(async move {
                        finished.fetch_add(1, Ordering::SeqCst);
                    });
                })
            };
            from_thread.join().expect("spawning from another thread");
            let parent_finished = Arc::clone(&finished);
            executor.spawn(async move {
                for _ in 0..3 {
                    let (inner, finished) = (spawner.clone(), Arc::clone(&parent_finished));
                    spawner.spawn(async move {
                        let finished_too = Arc::clone(&finished);
                        inner.spawn(async move {
                            finished_too.fetch_add(1, Ordering::SeqCst);
                        });
                        finished.fetch_add(1, Ordering::SeqCst);
                    });
                }
                parent_finished.fetch_add(1, Ordering::SeqCst);
            });
            executor.run();
            finished.load(Ordering::SeqCst)
        });
        assert_eq!(
            finished, 8,
            "run() must return only once every task has finished, including the tasks spawned \
             (through a Spawner) by other tasks and by other threads: 1 + 1 + 3 + 3"
        );
    });
}

#[test]
fn run_waits_for_tasks_that_sleep() {
    graded(|| {
        let (finished, elapsed) = within(LIMIT, "Executor::run with sleeping tasks", || {
            let finished = Arc::new(AtomicUsize::new(0));
            let executor = Executor::new();
            for ms in [150, 50, 100] {
                let finished = Arc::clone(&finished);
                executor.spawn(async move {
                    sleep(Duration::from_millis(ms)).await;
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            let started = Instant::now();
            executor.run();
            (finished.load(Ordering::SeqCst), started.elapsed())
        });
        assert_eq!(
            finished, 3,
            "run() returned before its sleeping tasks finished: an empty run queue does not mean \
             that every task has finished"
        );
        assert!(
            elapsed < Duration::from_secs(2),
            "3 tasks sleeping at most 150 ms at the same time took {elapsed:?}"
        );
    });
}

#[test]
fn join_handle_can_be_awaited_by_another_task() {
    graded(|| {
        let (gate, key) = gate();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            key.open(20u32);
        });
        let output = within(
            LIMIT,
            "a task awaiting another task's JoinHandle",
            move || {
                let executor = Executor::new();
                let first = executor.spawn(async move { gate.await + 1 });
                let second = executor.spawn(async move { first.await * 2 });
                executor.run();
                block_on(second)
            },
        );
        assert_eq!(
            output, 42,
            "the second task awaits the first one's JoinHandle: the handle must wake it when \
             the first task finishes"
        );
    });
}

#[test]
fn yield_now_lets_the_other_tasks_run_first() {
    graded(|| {
        let order = within(LIMIT, "two tasks that yield", || {
            let order = Arc::new(Mutex::new(Vec::new()));
            let executor = Executor::new();
            for name in ["a", "b"] {
                let order = Arc::clone(&order);
                executor.spawn(async move {
                    for step in 0..3 {
                        order.lock().unwrap().push(format!("{name}{step}"));
                        yield_now().await;
                    }
                });
            }
            executor.run();
            let order = order.lock().unwrap().clone();
            order
        });
        assert_eq!(
            order,
            ["a0", "b0", "a1", "b1", "a2", "b2"],
            "yield_now wakes its task and returns Pending once: the task goes to the back of \
             the run queue (first in, first out), so the other task runs before it continues"
        );
    });
}

#[test]
fn thread_pool_runs_spawned_tasks_and_its_block_on_awaits_them() {
    graded(|| {
        let (sum, threads) = within(LIMIT, "a ThreadPool of 2 with 20 tasks", || {
            let pool = ThreadPool::new(2);
            let (thread_tx, thread_rx) = mpsc::channel();
            let handles: Vec<_> = (1..=20u64)
                .map(|n| {
                    let thread_tx = thread_tx.clone();
                    pool.spawn(async move {
                        sleep(Duration::from_millis(10)).await;
                        let _ = thread_tx.send(thread::current().id());
                        n
                    })
                })
                .collect();
            let sum = pool.block_on(async move {
                let mut sum = 0;
                for handle in handles {
                    sum += handle.await;
                }
                sum
            });
            drop(pool);
            let me = thread::current().id();
            let threads = thread_rx.try_iter().filter(|id| *id != me).count();
            (sum, threads)
        });
        assert_eq!(
            sum, 210,
            "pool.block_on must return the sum of the 20 outputs"
        );
        assert_eq!(
            threads, 20,
            "the pool's tasks must run on its worker threads, not on the thread calling block_on"
        );
    });
}
