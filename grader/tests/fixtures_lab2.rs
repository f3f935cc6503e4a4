//! Lab 2's fixtures: each mutant loses exactly the test that guards its mistake; the source
//! rule catches `std::thread` and names the line.

mod common;

use common::assert_fixture;

#[test]
fn sleeping_on_the_loop_thread_is_a_rule_violation_naming_the_line() {
    let report = assert_fixture(2, "thread-sleep");
    let violation = report.violations.first().expect("a violation is reported");
    assert_eq!(violation.file, "src/connection.rs");
    assert!(violation.rule.contains("std::thread"), "{violation:?}");
    let line = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/lab2/thread-sleep/labs/lab2-event-loop/src/connection.rs"),
    )
    .unwrap()
    .lines()
    .nth(violation.line - 1)
    .unwrap()
    .to_string();
    assert!(
        line.contains("std::thread::sleep"),
        "line {} is {line:?}",
        violation.line
    );
}

#[test]
fn sleeping_through_an_alias_loses_only_the_sleeping_client_test() {
    assert_fixture(2, "sleep-in-disguise");
}

#[test]
fn one_read_per_event_loses_only_the_burst_test() {
    assert_fixture(2, "one-read-per-event");
}

#[test]
fn dropping_partial_writes_loses_only_the_sixty_kib_test() {
    assert_fixture(2, "partial-writes-dropped");
}

#[test]
fn answering_past_a_sleep_loses_only_the_ordering_test() {
    assert_fixture(2, "sleep-out-of-order");
}

#[test]
fn never_closing_connections_loses_only_the_closed_connections_test() {
    assert_fixture(2, "connections-never-closed");
}

#[test]
fn a_zero_poll_timeout_loses_only_the_idle_cpu_test() {
    assert_fixture(2, "zero-poll-timeout");
}
