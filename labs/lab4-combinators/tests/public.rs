//! Public tests for lab 4. Run them with `cargo run -p grader -- lab 4` (or `just lab 4`), which
//! scores them and shows hints, or plainly with `cargo test -p lab4`.
//!
//! The futures the combinators run here come from `support::tasks`: `ready_after(n, value)` is
//! Pending n times (waking its task each time) then Ready(value), `gate()` stays Pending until
//! the test opens it, and `not_unpin` makes a future `!Unpin`. Every wait is bounded: a lost
//! wake-up fails a test with a message instead of hanging it. The hidden tests check the same
//! combinators for laziness, wake-ups, extra polls, order and dropping.

use std::future::Future;
use std::time::{Duration, Instant};

use lab4::{add_to_inbox, join_all, Either, FutureExt};
use pretty_assertions::assert_eq;
use support::grading::graded;
use support::mail::{Message, MockMail, Recipient};
use support::tasks::{gate, not_unpin, ready_after, wait_until};
use tokio_test::task::{spawn, Spawn};
use tokio_test::{assert_pending, assert_ready};

/// Polls `task` until it is ready, waiting for a wake-up after each `Pending`, for at most
/// `limit` in all. A `Pending` that nobody wakes fails the test as a lost wake-up.
fn drive<F: Future>(task: &mut Spawn<F>, limit: Duration, what: &str) -> F::Output {
    let deadline = Instant::now() + limit;
    let mut polls = 0;
    loop {
        polls += 1;
        if let std::task::Poll::Ready(output) = task.poll() {
            return output;
        }
        let woken = wait_until(deadline.saturating_duration_since(Instant::now()), || {
            task.is_woken()
        });
        assert!(
            woken,
            "{what}: poll {polls} returned Pending and nobody woke the task within {limit:?}. \
             That is a lost wake-up: poll the inner futures with the Context you were given, \
             and after one finishes, poll the next one in the same call"
        );
    }
}

const PATIENCE: Duration = Duration::from_secs(5);

#[test]
fn map_applies_its_closure_to_the_output() {
    graded(|| {
        let mut task = spawn(ready_after(2, 20).map(|x| x + 1));
        assert_eq!(
            drive(&mut task, PATIENCE, "ready_after(2, 20).map(|x| x + 1)"),
            21,
            "map must return the closure's result for the inner future's output"
        );
    });
}

#[test]
fn then_runs_the_future_its_closure_returns() {
    graded(|| {
        let mut task = spawn(ready_after(1, 2).then(|x| ready_after(1, x * 10)));
        assert_eq!(
            drive(
                &mut task,
                PATIENCE,
                "ready_after(1, 2).then(|x| ready_after(1, x * 10))"
            ),
            20,
            "then must run the future the closure returns and return its output"
        );
    });
}

#[test]
fn and_then_chains_results_and_passes_errors_through() {
    graded(|| {
        let mut ok = spawn(
            ready_after(1, Ok::<u32, String>(2))
                .and_then(|x| ready_after(1, Ok::<u32, String>(x + 40))),
        );
        assert_eq!(
            drive(&mut ok, PATIENCE, "and_then on Ok"),
            Ok(42),
            "and_then on Ok(2) must run the closure's future and return its output"
        );
        let mut err = spawn(
            ready_after(1, Err::<u32, String>("no".into()))
                .and_then(|x| ready_after(0, Ok::<u32, String>(x))),
        );
        assert_eq!(
            drive(&mut err, PATIENCE, "and_then on Err"),
            Err("no".to_string()),
            "and_then on Err must return the error"
        );
    });
}

#[test]
fn join_returns_both_outputs() {
    graded(|| {
        let mut both_ready = spawn(ready_after(0, 1).join(ready_after(0, "b")));
        assert_eq!(
            assert_ready!(
                both_ready.poll(),
                "a join of two ready futures must be Ready on its first poll"
            ),
            (1, "b")
        );
        let (right, key) = gate();
        let mut waiting = spawn(ready_after(0, 1).join(right));
        assert_pending!(
            waiting.poll(),
            "a join must be Pending while one side is Pending"
        );
        key.open("late");
        assert_eq!(
            assert_ready!(waiting.poll(), "a join must be Ready once both sides are"),
            (1, "late"),
            "join returns (left output, right output)"
        );
    });
}

#[test]
fn select_returns_the_first_to_finish_preferring_the_left() {
    graded(|| {
        let mut both_ready = spawn(ready_after(0, "left").select(ready_after(0, "right")));
        assert_eq!(
            assert_ready!(both_ready.poll(), "select of two ready futures"),
            Either::Left("left"),
            "when both are ready, select must return the left one: poll it first"
        );
        let (left, _never_opened) = gate::<&str>();
        let mut right_first = spawn(left.select(ready_after(0, 7)));
        assert_eq!(
            assert_ready!(
                right_first.poll(),
                "select must be Ready as soon as one side is"
            ),
            Either::Right(7),
            "the right side finished first"
        );
    });
}

#[test]
fn join_all_returns_every_output() {
    graded(|| {
        let mut task = spawn(join_all((0..10).map(|i| ready_after(0, i)).collect()));
        assert_eq!(
            assert_ready!(
                task.poll(),
                "join_all of ready futures must be Ready on its first poll"
            ),
            (0..10).collect::<Vec<_>>(),
            "join_all must return every output, in the order of its input"
        );
        let mut empty = spawn(join_all(Vec::<std::future::Ready<u8>>::new()));
        assert_eq!(
            assert_ready!(empty.poll(), "join_all of no futures is Ready at once"),
            vec![]
        );
    });
}

#[test]
fn add_to_inbox_delivers_the_message() {
    graded(|| {
        let mail = MockMail::new()
            .with_message(Message::new(1, "Hello from Dan the Database"))
            .with_recipient(Recipient::new(7, "Ada", 1024));
        let mut task = spawn(add_to_inbox(mail.clone(), 1, 7));
        let result = drive(&mut task, PATIENCE, "add_to_inbox");
        assert_eq!(
            result,
            Ok(()),
            "add_to_inbox(1 -> 7) must succeed; the services saw:\n{}",
            mail.journal()
        );
        assert_eq!(
            mail.delivered(),
            vec![(7, Message::new(1, "Hello from Dan the Database"))],
            "message 1 must be delivered to recipient 7; the services saw:\n{}",
            mail.journal()
        );
    });
}

#[test]
fn combinators_accept_futures_that_are_not_unpin() {
    graded(|| {
        // `not_unpin` futures are like the ones `async fn`s return. If this test does not
        // compile, a combinator requires `Unpin`: use pin projection (pin_project!) instead
        // of `Pin::new`.
        let mut map = spawn(not_unpin(ready_after(1, 1)).map(|x| x + 1));
        assert_eq!(drive(&mut map, PATIENCE, "map of a !Unpin future"), 2);
        let mut then = spawn(not_unpin(ready_after(1, 1)).then(|x| not_unpin(ready_after(1, x))));
        assert_eq!(drive(&mut then, PATIENCE, "then of !Unpin futures"), 1);
        let mut and_then = spawn(
            not_unpin(ready_after(1, Ok::<u8, ()>(1)))
                .and_then(|x| not_unpin(ready_after(1, Ok::<u8, ()>(x)))),
        );
        assert_eq!(
            drive(&mut and_then, PATIENCE, "and_then of !Unpin futures"),
            Ok(1)
        );
        let mut join = spawn(not_unpin(ready_after(0, 1)).join(not_unpin(ready_after(0, 2))));
        assert_eq!(
            assert_ready!(join.poll(), "join of ready !Unpin futures"),
            (1, 2)
        );
        let mut select = spawn(not_unpin(ready_after(0, 1)).select(not_unpin(ready_after(0, 2))));
        assert_eq!(
            assert_ready!(select.poll(), "select of ready !Unpin futures"),
            Either::Left(1)
        );
        let mut all = spawn(join_all(vec![
            not_unpin(ready_after(0, 1)),
            not_unpin(ready_after(1, 2)),
        ]));
        assert_eq!(
            drive(&mut all, PATIENCE, "join_all of !Unpin futures"),
            vec![1, 2]
        );
    });
}
