//! Lab 5's fixtures: each mutant loses exactly the tests that guard its mistake; a
//! `MutexGuard` held across an `.await` does not even build.

mod common;

use common::assert_fixture;

#[test]
fn std_thread_sleep_loses_the_sleep_and_blocked_runtime_tests() {
    assert_fixture(5, "thread-sleep");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn returning_at_once_on_shutdown_loses_the_in_flight_and_the_grace_period_tests() {
    assert_fixture(5, "shutdown-drops-in-flight");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_idle_timer_never_restarted_loses_only_the_restart_test() {
    assert_fixture(5, "idle-timer-never-reset");
}

#[test]
fn a_mutex_guard_across_an_await_does_not_build_and_names_the_error() {
    let report = assert_fixture(5, "mutex-guard-across-await");
    let message = report.message.unwrap_or_default();
    assert!(
        message.contains("server.rs") || message.contains("connection.rs"),
        "the compiler's first error names the file: {message}"
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn waiting_without_a_grace_period_loses_only_the_grace_test() {
    assert_fixture(5, "shutdown-without-grace");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn skipping_verify_has_space_loses_only_the_inbox_full_test() {
    assert_fixture(5, "space-never-verified");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_connection_that_blocks_before_closing_loses_only_the_heartbeat_test() {
    assert_fixture(5, "quit-blocks-before-closing");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_add_to_inbox_that_blocks_loses_only_its_heartbeat_test() {
    assert_fixture(5, "inbox-blocks");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn connections_deaf_to_the_stop_signal_lose_only_the_prompt_shutdown_test() {
    assert_fixture(5, "connections-ignore-the-stop-signal");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn returning_before_the_cancelled_connections_end_loses_only_the_grace_test() {
    assert_fixture(5, "shutdown-drops-the-joinset");
}
