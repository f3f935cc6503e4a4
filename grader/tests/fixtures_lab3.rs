//! Lab 3's fixtures: the kit's proof that each hidden test guards the mistake it names. Every
//! fixture submission (the reference solution with one deliberate mistake, or a hostile one)
//! must lose exactly the tests its `fixture.toml` lists, with exactly those statuses, and pass
//! every other test.

mod common;

use common::{assert_fixture, assert_rule_zeroes_every_test};

#[test]
fn a_countdown_that_never_wakes_its_task_loses_only_the_countdown_wake_up_test() {
    assert_fixture(3, "countdown-no-wake");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_busy_polling_delay_loses_only_the_busy_polling_test() {
    assert_fixture(3, "delay-busy-poll");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_delay_keeping_its_first_waker_loses_only_the_stale_waker_test() {
    assert_fixture(3, "delay-stale-waker");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_thread_per_delay_poll_loses_only_the_timer_thread_test() {
    assert_fixture(3, "delay-thread-per-poll");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn fetching_the_recipient_before_the_message_has_loaded_loses_only_the_order_test() {
    assert_fixture(3, "inbox-early-recipient");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn skipping_verify_has_space_loses_only_the_full_inbox_test() {
    assert_fixture(3, "inbox-skips-verify");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn swallowing_the_error_of_deliver_loses_only_the_first_error_test() {
    assert_fixture(3, "inbox-swallows-deliver-error");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn answering_a_poll_after_completion_loses_only_the_panic_test() {
    assert_fixture(3, "inbox-no-panic-after-done");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn repolling_a_finished_service_future_loses_only_the_finished_future_test() {
    assert_fixture(3, "inbox-struct-repolls-finished");
}

#[test]
fn async_and_await_in_an_editable_file_zero_every_test_and_name_the_lines() {
    let report = assert_fixture(3, "async-await");
    // The fixture's src/inbox.rs: `async move` on line 21, `.await` on lines 22, 23 and 25.
    assert_rule_zeroes_every_test(
        &report,
        "src/inbox.rs",
        &[21, 22, 23, 25],
        "no `async` and no `.await`",
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_memory_hog_is_stopped_by_the_memory_cap() {
    if !grader::cgroup::Caps::detect().available() {
        eprintln!("SKIPPED: no writable cgroup here; fixtures_without_cgroups.rs grades this fixture under the address-space limit");
        return;
    }
    assert_fixture(3, "memory-hog");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_add_to_inbox_that_wakes_itself_loses_only_the_busy_waking_test() {
    assert_fixture(3, "inbox-wakes-itself");
}
