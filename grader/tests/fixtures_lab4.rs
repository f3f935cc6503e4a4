//! Lab 4's fixtures: the kit's proof that each hidden test guards the mistake it names. Every
//! fixture submission (the reference solution with one deliberate mistake, or a hostile one)
//! must lose exactly the tests its `fixture.toml` lists, with exactly those statuses, and pass
//! every other test.

mod common;

use common::{assert_fixture, assert_rule_zeroes_every_test};

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_then_that_calls_its_closure_eagerly_loses_only_the_eager_closure_test() {
    assert_fixture(4, "eager-then");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_join_all_that_polls_while_it_is_built_loses_only_the_laziness_test() {
    assert_fixture(4, "join-all-polls-early");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_join_that_polls_a_finished_side_loses_only_the_finished_side_test() {
    assert_fixture(4, "join-repolls-finished-side");
}

#[test]
fn a_join_polling_with_its_own_waker_loses_only_the_wake_up_test() {
    assert_fixture(4, "join-noop-waker");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_select_that_keeps_the_loser_loses_only_the_drop_test() {
    assert_fixture(4, "select-keeps-loser");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn join_all_in_completion_order_loses_only_the_input_order_test() {
    assert_fixture(4, "join-all-completion-order");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn join_all_polling_finished_futures_loses_only_the_ten_thousand_futures_test() {
    assert_fixture(4, "join-all-repolls-finished");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn joining_load_message_with_get_recipient_loses_only_the_order_test() {
    assert_fixture(4, "inbox-joins-load-and-recipient");
}

#[test]
fn an_async_block_in_an_editable_file_zeroes_every_test_and_names_the_lines() {
    let report = assert_fixture(4, "async-block");
    // The fixture's src/inbox.rs: `async move` on line 13, `.await` on lines 14, 15 and 17.
    assert_rule_zeroes_every_test(
        &report,
        "src/inbox.rs",
        &[13, 14, 15, 17],
        "no `async`, no `.await`",
    );
}

// Busy waking: each combinator that wakes its own task on every poll loses its own
// busy-waking test (and the pipeline's, when the pipeline is built on it).

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_map_that_wakes_itself_loses_its_busy_waking_test_and_the_pipelines() {
    assert_fixture(4, "map-wakes-itself");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_then_that_wakes_itself_loses_only_its_busy_waking_test() {
    assert_fixture(4, "then-wakes-itself");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_and_then_that_wakes_itself_loses_its_busy_waking_test_and_the_pipelines() {
    assert_fixture(4, "and-then-wakes-itself");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_join_that_wakes_itself_loses_only_its_busy_waking_test() {
    assert_fixture(4, "join-wakes-itself");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_select_that_wakes_itself_loses_only_its_busy_waking_test() {
    assert_fixture(4, "select-wakes-itself");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_join_all_that_wakes_itself_loses_only_its_busy_waking_test() {
    assert_fixture(4, "join-all-wakes-itself");
}
