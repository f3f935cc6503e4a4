//! Lab 6's fixtures: each mutant executor loses exactly the tests that guard its mistake; the
//! source rule catches `futures::executor` and names the file and the line.

mod common;

use common::{assert_fixture, assert_violation_points_at};

#[test]
fn borrowing_futures_executor_is_a_rule_violation_naming_the_line() {
    let report = assert_fixture(6, "futures-executor");
    assert_violation_points_at(
        &report,
        "lab6/futures-executor/labs/lab6-executor/src/block_on.rs",
        "src/block_on.rs",
        "futures::executor",
        "futures::executor::block_on",
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_spinning_block_on_loses_only_the_block_on_cpu_test() {
    assert_fixture(6, "block-on-spins");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_executor_that_spins_when_idle_loses_only_the_executor_cpu_test() {
    assert_fixture(6, "executor-spins-when-idle");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn losing_wake_ups_during_a_poll_loses_the_stress_test_and_yield_now() {
    assert_fixture(6, "wake-while-polled-lost");
}

#[test]
fn a_queue_that_accepts_duplicates_loses_only_the_polled_once_test() {
    assert_fixture(6, "queue-accepts-duplicates");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn repolling_finished_tasks_loses_only_the_never_polled_again_test() {
    assert_fixture(6, "repolls-finished-tasks");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_thread_per_sleep_loses_only_the_timer_thread_test() {
    assert_fixture(6, "thread-per-sleep");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_timer_that_misses_earlier_deadlines_loses_the_two_sleep_timing_tests() {
    assert_fixture(6, "timer-misses-earlier-deadlines");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_panic_escaping_the_executor_loses_the_two_panic_tests() {
    assert_fixture(6, "panic-escapes-the-executor");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_handle_that_forgets_the_panic_loses_only_the_resume_test() {
    assert_fixture(6, "handle-forgets-the-panic");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_executor_without_drop_loses_the_executor_drop_and_dropped_task_tests() {
    assert_fixture(6, "executor-drop-leaks-tasks");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_pool_that_leaks_waiting_tasks_loses_only_the_pool_drop_test() {
    assert_fixture(6, "pool-drop-leaks-waiting-tasks");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_pool_with_one_worker_loses_only_the_parallel_test() {
    assert_fixture(6, "pool-with-one-worker");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_join_handle_that_wakes_itself_loses_only_the_busy_handle_test() {
    assert_fixture(6, "handle-wakes-itself");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_pool_with_a_thread_per_task_loses_only_the_own_workers_test() {
    assert_fixture(6, "pool-thread-per-task");
}
