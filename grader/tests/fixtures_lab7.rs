//! Lab 7's fixtures: each mutant runtime loses exactly the tests that guard its mistake (one
//! fixture per mistake of the lab's list); the source rule catches `std::thread` and names the
//! file and the line.

mod common;

use common::{assert_fixture, assert_violation_points_at};

#[test]
fn waking_every_task_on_any_event_loses_only_the_poll_count_test() {
    assert_fixture(7, "every-event-wakes-every-task");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_thread_per_sleep_is_a_rule_violation_naming_the_line() {
    let report = assert_fixture(7, "thread-per-sleep");
    assert_violation_points_at(
        &report,
        "lab7/thread-per-sleep/labs/lab7-runtime/src/timer.rs",
        "src/timer.rs",
        "std::thread",
        "std::thread::spawn",
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_zero_poll_timeout_when_idle_loses_only_the_idle_cpu_test() {
    assert_fixture(7, "idle-runtime-spins");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_timer_thread_loses_only_the_thread_count_test() {
    assert_fixture(7, "a-timer-thread");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_write_that_forgets_its_waker_on_would_block_loses_the_two_slow_reader_tests() {
    assert_fixture(7, "write-would-block-loses-the-waker");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn one_read_per_readiness_event_loses_the_big_request_tests_and_the_end_of_file() {
    assert_fixture(7, "one-read-per-readiness-event");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_write_all_that_drops_partial_writes_loses_only_the_sixty_kib_test() {
    assert_fixture(7, "write-all-ignores-partial-writes");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn sockets_never_deregistered_lose_the_registration_count_tests() {
    assert_fixture(7, "sockets-never-deregistered");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_reused_slot_that_keeps_its_token_loses_only_the_stale_token_test() {
    assert_fixture(7, "reused-slots-keep-the-old-token");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_runtime_without_a_mio_waker_loses_the_two_cross_thread_tests() {
    assert_fixture(7, "no-mio-waker");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn timers_fired_only_on_a_quiet_poll_lose_only_the_timers_under_load_test() {
    assert_fixture(7, "timers-fire-only-on-a-quiet-poll");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_server_that_sleeps_its_thread_loses_only_the_sleeping_client_test() {
    assert_fixture(7, "sleep-blocks-the-thread");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_join_handle_that_wakes_itself_loses_only_the_busy_waking_test() {
    assert_fixture(7, "join-handle-wakes-itself");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_sleep_that_keeps_its_first_waker_loses_only_the_latest_waker_test() {
    assert_fixture(7, "sleep-keeps-its-first-waker");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_join_handle_that_keeps_its_first_waker_loses_only_the_latest_waker_test() {
    assert_fixture(7, "join-handle-keeps-its-first-waker");
}
