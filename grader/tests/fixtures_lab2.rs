//! Lab 2's fixtures: each mutant loses exactly the test that guards its mistake; the source
//! rule catches `std::thread` and names the line.

mod common;

use common::{assert_fixture, assert_violation_points_at};

#[test]
fn sleeping_on_the_loop_thread_is_a_rule_violation_naming_the_line() {
    let report = assert_fixture(2, "thread-sleep");
    assert_violation_points_at(
        &report,
        "lab2/thread-sleep/labs/lab2-event-loop/src/connection.rs",
        "src/connection.rs",
        "std::thread",
        "std::thread::sleep",
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn sleeping_through_an_alias_loses_only_the_sleeping_client_test() {
    assert_fixture(2, "sleep-in-disguise");
}

#[test]
fn one_read_per_event_loses_only_the_burst_test() {
    assert_fixture(2, "one-read-per-event");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn dropping_partial_writes_loses_the_sixty_kib_and_backpressure_tests() {
    assert_fixture(2, "partial-writes-dropped");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn answering_past_a_sleep_loses_only_the_ordering_test() {
    assert_fixture(2, "sleep-out-of-order");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn never_closing_connections_loses_only_the_closed_connections_test() {
    assert_fixture(2, "connections-never-closed");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_zero_poll_timeout_loses_only_the_idle_cpu_test() {
    assert_fixture(2, "zero-poll-timeout");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_output_buffer_without_a_limit_loses_the_backpressure_tests() {
    assert_fixture(2, "no-backpressure");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_loop_that_trusts_stale_timers_loses_only_the_stale_timer_test() {
    assert_fixture(2, "stale-timer-crashes-the-loop");
}
