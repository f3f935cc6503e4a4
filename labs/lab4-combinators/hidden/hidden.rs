//! Hidden tests for lab 4: each one guards one mistake students make. Never released.
//!
//! Every wait is bounded: a lost wake-up fails a test with a message, it never hangs it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab4::{add_to_inbox, join_all, Either, FutureExt};
use pretty_assertions::assert_eq;
use support::grading::graded;
use support::mail::{Call, Event, MailError, Message, MockMail, Recipient, Service, Timing};
use support::tasks::{
    drive_counting, gate, not_unpin, opens_after, ready_after, wait_until, Driven, Probe, Stopped,
};
use tokio_test::task::{spawn, Spawn};
use tokio_test::{assert_pending, assert_ready};

const PATIENCE: Duration = Duration::from_secs(5);

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

/// A counter of closure calls, and a way to bump it from inside a closure.
fn counter() -> (Arc<AtomicUsize>, impl Fn() + Clone) {
    let calls = Arc::new(AtomicUsize::new(0));
    let bump = {
        let calls = Arc::clone(&calls);
        move || {
            calls.fetch_add(1, Ordering::SeqCst);
        }
    };
    (calls, bump)
}

fn mail() -> MockMail {
    MockMail::new()
        .with_message(Message::new(1, "Hello from Dan the Database"))
        .with_recipient(Recipient::new(7, "Ada", 1024))
}

fn run_add_to_inbox(mail: &MockMail, email_id: u64, recipient_id: u64) -> Result<(), MailError> {
    let mut task = spawn(add_to_inbox(mail.clone(), email_id, recipient_id));
    drive(
        &mut task,
        PATIENCE,
        &format!("add_to_inbox({email_id} -> {recipient_id})"),
    )
}

// Mistake: eager closures, called before the combinator is polled or before the inner future
// is ready (for instance by polling the inner future when the combinator is built).
#[test]
fn closures_run_only_once_the_inner_future_is_ready() {
    graded(|| {
        let (calls, bump) = counter();
        let map = {
            let bump = bump.clone();
            ready_after(0, 1).map(move |x| {
                bump();
                x
            })
        };
        let then = {
            let bump = bump.clone();
            ready_after(0, 1).then(move |x| {
                bump();
                ready_after(0, x)
            })
        };
        let and_then = {
            let bump = bump.clone();
            ready_after(0, Ok::<u8, ()>(1)).and_then(move |x| {
                bump();
                ready_after(0, Ok::<u8, ()>(x))
            })
        };
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "a closure given to map, then or and_then ran before the combinator was ever \
             polled: futures are lazy, building one must not run anything. Store the closure \
             and call it in poll, once the inner future is Ready"
        );
        let mut map = spawn(map);
        let mut then = spawn(then);
        let mut and_then = spawn(and_then);
        assert_ready!(map.poll(), "map of a ready future");
        assert_ready!(then.poll(), "then of ready futures");
        assert_ready!(and_then.poll(), "and_then of ready futures");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "each closure must run exactly once"
        );

        let (calls, bump) = counter();
        let (inner, key) = gate::<u8>();
        let map = inner.map(move |x| {
            bump();
            x
        });
        closure_waits_for_its_inner_future("map", &calls, map, move || key.open(5));

        let (calls, bump) = counter();
        let (inner, key) = gate::<u8>();
        let then = inner.then(move |x| {
            bump();
            ready_after(0, x)
        });
        closure_waits_for_its_inner_future("then", &calls, then, move || key.open(5));

        let (calls, bump) = counter();
        let (inner, key) = gate::<Result<u8, ()>>();
        let and_then = inner.and_then(move |x| {
            bump();
            ready_after(0, Ok::<u8, ()>(x))
        });
        closure_waits_for_its_inner_future("and_then", &calls, and_then, move || key.open(Ok(5)));
    });
}

/// Polls `future` (whose inner future is a gate that `open` opens) a few times while it is
/// Pending, then once more after opening: its closure must run exactly once, at the end.
fn closure_waits_for_its_inner_future<F>(
    which: &str,
    calls: &AtomicUsize,
    future: F,
    open: impl FnOnce(),
) where
    F: Future,
    F::Output: std::fmt::Debug,
{
    let mut task = spawn(future);
    for _ in 0..3 {
        assert_pending!(task.poll(), "{which} of a Pending future");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "the closure of {which} ran while the inner future was still Pending: call it only \
         when the inner future returns Ready"
    );
    open();
    assert_ready!(task.poll(), "{which} once its inner future is ready");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the closure of {which} must run exactly once, when the inner future is Ready"
    );
}

// Mistake: join, select or join_all polling their futures when they are built, before their
// own first poll.
#[test]
fn join_select_and_join_all_poll_nothing_before_their_first_poll() {
    graded(|| {
        let probe = Probe::new();
        let join = probe
            .watch(ready_after(0, 1))
            .join(probe.watch(ready_after(0, 2)));
        let select = probe
            .watch(ready_after(0, 1))
            .select(probe.watch(ready_after(0, 2)));
        let all = join_all((0..3).map(|i| probe.watch(ready_after(0, i))).collect());
        assert_eq!(
            probe.polls(),
            0,
            "building a join, a select or a join_all polled {} inner futures: futures are lazy, \
             nothing may be polled before the combinator's own first poll (and there is no \
             Context to poll with before then)",
            probe.polls()
        );
        assert_eq!(assert_ready!(spawn(join).poll()), (1, 2));
        assert_eq!(assert_ready!(spawn(select).poll()), Either::Left(1));
        assert_eq!(assert_ready!(spawn(all).poll()), vec![0, 1, 2]);
    });
}

// Mistake: join polling a side again after it returned Ready.
#[test]
fn join_never_polls_a_finished_side_again() {
    graded(|| {
        let probe = Probe::new();
        let (waiting, key) = gate::<&str>();
        let join = probe.watch(ready_after(0, "done")).join(waiting);
        finished_side_is_left_alone("left", &probe, join, move || key.open("late"));

        let probe = Probe::new();
        let (waiting, key) = gate::<&str>();
        let join = waiting.join(probe.watch(ready_after(0, "done")));
        finished_side_is_left_alone("right", &probe, join, move || key.open("late"));
    });
}

/// Polls `join` while its other side (a gate that `open` opens) is Pending, then once more
/// after opening: the side watched by `probe`, ready at once, must have been polled only once.
fn finished_side_is_left_alone<F>(side: &str, probe: &Probe, join: F, open: impl FnOnce())
where
    F: Future,
    F::Output: std::fmt::Debug,
{
    let mut task = spawn(join);
    for _ in 0..3 {
        assert_pending!(
            task.poll(),
            "a join must be Pending while one side is Pending"
        );
    }
    open();
    assert_ready!(task.poll(), "a join once both sides are ready");
    assert_eq!(
        probe.polls_after_ready(),
        0,
        "the {side} side of a join was polled {} more times after it had returned Ready: a \
         finished future must never be polled again (most panic). Keep its output and stop \
         polling it (drop it, e.g. set its pinned Option to None)",
        probe.polls_after_ready()
    );
}

// Mistake: wake-ups not reaching the outer task (an inner future polled with a Context of the
// combinator's own, or the next stage not polled right after the previous one finished).
#[test]
fn wake_ups_reach_the_outer_task_through_every_combinator() {
    graded(|| {
        fn woken_or_fail<F: Future>(task: &Spawn<F>, what: &str) {
            assert!(
                wait_until(Duration::from_millis(500), || task.is_woken()),
                "{what}: the inner future woke the waker of its latest poll, but the wake-up did \
                 not reach the task polling the combinator: a lost wake-up. Poll every inner \
                 future with the cx you were given, never with a waker of your own, and when a \
                 stage finishes poll the next stage in the same call"
            );
        }

        let (inner, key) = gate::<u8>();
        let mut map = spawn(inner.map(|x| x + 1));
        assert_pending!(map.poll());
        key.open(1);
        woken_or_fail(&map, "map");
        assert_eq!(assert_ready!(map.poll()), 2);

        let (first, first_key) = gate::<u8>();
        let (second, second_key) = gate::<u8>();
        let mut then = spawn(first.then(move |_| second));
        assert_pending!(then.poll());
        first_key.open(1);
        woken_or_fail(&then, "then, when its first future is ready");
        assert_pending!(then.poll(), "then while its second future is Pending");
        second_key.open(2);
        woken_or_fail(&then, "then, when its second future is ready");
        assert_eq!(assert_ready!(then.poll()), 2);

        let (first, first_key) = gate::<Result<u8, ()>>();
        let (second, second_key) = gate::<Result<u8, ()>>();
        let mut and_then = spawn(first.and_then(move |_| second));
        assert_pending!(and_then.poll());
        first_key.open(Ok(1));
        woken_or_fail(&and_then, "and_then, when its first future is ready");
        assert_pending!(
            and_then.poll(),
            "and_then while its second future is Pending"
        );
        second_key.open(Ok(2));
        woken_or_fail(&and_then, "and_then, when its second future is ready");
        assert_eq!(assert_ready!(and_then.poll()), Ok(2));

        let (left, left_key) = gate::<u8>();
        let (right, right_key) = gate::<u8>();
        let mut join = spawn(left.join(right));
        assert_pending!(join.poll());
        right_key.open(2);
        woken_or_fail(&join, "join, when its right side is ready");
        assert_pending!(join.poll());
        left_key.open(1);
        woken_or_fail(&join, "join, when its left side is ready");
        assert_eq!(assert_ready!(join.poll()), (1, 2));

        let (left, _left_key) = gate::<u8>();
        let (right, right_key) = gate::<u8>();
        let mut select = spawn(left.select(right));
        assert_pending!(select.poll());
        right_key.open(2);
        woken_or_fail(&select, "select, when its right side is ready");
        assert_eq!(assert_ready!(select.poll()), Either::Right(2));

        let (gates, keys): (Vec<_>, Vec<_>) = (0..3).map(|_| gate::<u8>()).unzip();
        let mut all = spawn(join_all(gates));
        assert_pending!(all.poll());
        for (index, key) in keys.iter().enumerate() {
            key.open(index as u8);
            woken_or_fail(
                &all,
                &format!("join_all, when future {index} of 3 is ready"),
            );
            if index < 2 {
                assert_pending!(all.poll());
            }
        }
        assert_eq!(assert_ready!(all.poll()), vec![0, 1, 2]);
    });
}

// Mistake: and_then going on after an Err (running the continuation, or panicking on it).
#[test]
fn and_then_skips_its_closure_after_an_error() {
    graded(|| {
        let (calls, bump) = counter();
        let mut task = spawn(
            ready_after(1, Err::<u8, &str>("first failed")).and_then(move |x| {
                bump();
                ready_after(0, Ok::<u8, &str>(x))
            }),
        );
        assert_eq!(
            drive(&mut task, PATIENCE, "and_then after an Err"),
            Err("first failed"),
            "and_then on Err must return that Err, like `?`"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "and_then ran its closure after the first future returned Err: the continuation \
             runs only on Ok"
        );

        let (calls, bump) = counter();
        let mut chain = spawn(
            ready_after(0, Ok::<u8, &str>(1))
                .and_then(|_| ready_after(1, Err::<u8, &str>("second failed")))
                .and_then(move |x| {
                    bump();
                    ready_after(0, Ok::<u8, &str>(x))
                }),
        );
        assert_eq!(
            drive(
                &mut chain,
                PATIENCE,
                "a chain of and_then with an Err in the middle"
            ),
            Err("second failed"),
            "an Err in the middle of an and_then chain must end the chain"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "the last and_then of a chain ran its closure after an Err in the middle"
        );
    });
}

// Mistake: join_all returning outputs in the order the futures finished.
#[test]
fn join_all_returns_outputs_in_input_order() {
    graded(|| {
        // Future i finishes after 20 - i polls: the last one first.
        let futures: Vec<_> = (0..20).map(|i| ready_after(20 - i, i)).collect();
        let mut task = spawn(join_all(futures));
        assert_eq!(
            drive(
                &mut task,
                PATIENCE,
                "join_all of futures finishing in reverse order"
            ),
            (0..20).collect::<Vec<_>>(),
            "join_all must return the outputs in the order of its input, whatever order the \
             futures finish in: give each output the slot of its future"
        );
    });
}

// Mistake: join_all polling futures that have already finished (10 000 futures must not be
// polled once per poll of the join_all each).
#[test]
fn join_all_never_polls_a_finished_future_again() {
    graded(|| {
        let probe = Probe::new();
        let mut futures: Vec<_> = (0..9_999).map(|i| probe.watch(ready_after(0, i))).collect();
        // One straggler, last, keeps the join_all Pending for 100 more polls.
        futures.push(probe.watch(ready_after(100, 9_999)));
        let mut task = spawn(join_all(futures));
        let deadline = Instant::now() + PATIENCE;
        let mut polls = 0;
        let outputs = loop {
            polls += 1;
            if let std::task::Poll::Ready(outputs) = task.poll() {
                break outputs;
            }
            let again = probe.polls_after_ready();
            assert_eq!(
                again, 0,
                "after {polls} polls of a join_all of 10 000 futures, finished futures had \
                 been polled {again} more times: a finished future must never be polled again, \
                 and it wastes a poll of every future on every wake-up. Mark each finished \
                 future (drop it, keep its output) and skip it"
            );
            assert!(
                wait_until(deadline.saturating_duration_since(Instant::now()), || {
                    task.is_woken()
                }),
                "join_all returned Pending and nobody woke the task: a lost wake-up"
            );
        };
        assert_eq!(outputs.len(), 10_000, "join_all must return every output");
        assert_eq!(
            probe.polls(),
            9_999 + 101,
            "each finished future must be polled once, and the straggler 101 times"
        );
    });
}

// Mistake: select keeping the losing future alive after the winner finished.
#[test]
fn select_drops_the_loser_as_soon_as_it_completes() {
    graded(|| {
        let probe = Probe::new();
        let (loser, _key) = gate::<u8>();
        let select = ready_after(1, 1).select(probe.watch(loser));
        loser_is_dropped("left", &probe, select);

        let probe = Probe::new();
        let (loser, _key) = gate::<u8>();
        let select = probe.watch(loser).select(ready_after(1, 1));
        loser_is_dropped("right", &probe, select);
    });
}

/// Polls `select` until its `winner` side (ready on the second poll) wins; the other side,
/// watched by `probe`, must be dropped by then.
fn loser_is_dropped<F>(winner: &str, probe: &Probe, select: F)
where
    F: Future,
    F::Output: std::fmt::Debug,
{
    let mut task = spawn(select);
    assert_pending!(task.poll(), "select while both sides are Pending");
    assert_ready!(task.poll(), "select once the {winner} side is ready");
    assert_eq!(
        probe.drops(),
        1,
        "select returned Ready for its {winner} side but kept the losing future alive (with \
         its resources and a clone of your task's waker): drop the loser as soon as one side \
         wins, e.g. set both pinned Options to None"
    );
    assert_eq!(
        task.waker_ref_count(),
        1,
        "after select returned, something still holds a clone of the task's waker: the losing \
         future must be dropped"
    );
}

// Mistake: combinators that require Unpin, or that move a pinned future.
#[test]
fn combinators_work_with_futures_that_are_not_unpin() {
    graded(|| {
        let (first, first_key) = gate::<u8>();
        let (second, second_key) = gate::<u8>();
        let (third, third_key) = gate::<u8>();
        let pipeline = not_unpin(first)
            .then(move |x| not_unpin(second).map(move |y| Ok::<u8, ()>(x + y)))
            .and_then(move |sum| not_unpin(third).map(move |z| Ok::<u8, ()>(sum + z)))
            .join(not_unpin(ready_after(2, 100)))
            .select(not_unpin(gate::<u8>().0));
        let mut task = spawn(join_all(vec![not_unpin(pipeline)]));
        for (step, key) in [first_key, second_key, third_key].iter().enumerate() {
            assert_pending!(task.poll(), "a pipeline of !Unpin futures at step {step}");
            key.open(step as u8 + 1);
        }
        let outputs = drive(&mut task, PATIENCE, "a pipeline of !Unpin futures");
        assert_eq!(
            outputs,
            vec![Either::Left((Ok(6), 100))],
            "then, and_then, join, select and join_all over !Unpin futures"
        );
    });
}

// Mistake: eager calls in the pipeline (get_recipient called outside the closure that runs
// once the message is there, or joined with load_message).
#[test]
fn add_to_inbox_asks_for_the_recipient_only_after_the_message_has_loaded() {
    graded(|| {
        let mail = mail()
            .answer(Service::LoadMessage, Timing::AfterPolls(2))
            .answer(Service::GetRecipient, Timing::AfterPolls(1));
        let future = add_to_inbox(mail.clone(), 1, 7);
        assert_eq!(
            mail.calls_of(Service::GetRecipient) + mail.calls_of(Service::Deliver),
            0,
            "building add_to_inbox's future already called a later service; the services \
             saw:\n{}",
            mail.journal()
        );
        let mut task = spawn(future);
        assert_eq!(drive(&mut task, PATIENCE, "add_to_inbox"), Ok(()));
        let events = mail.events();
        let loaded = events.iter().position(|e| {
            matches!(
                e,
                Event::Finished {
                    call: Call::LoadMessage { .. },
                    ok: true
                }
            )
        });
        let asked = events
            .iter()
            .position(|e| matches!(e, Event::Called(Call::GetRecipient { .. })));
        let found = events.iter().position(|e| {
            matches!(
                e,
                Event::Finished {
                    call: Call::GetRecipient { .. },
                    ok: true
                }
            )
        });
        let delivering = events
            .iter()
            .position(|e| matches!(e, Event::Called(Call::Deliver { .. })));
        assert!(
            loaded < asked && found < delivering,
            "each service must be called only once the previous one has finished: call \
             get_recipient inside the closure that receives the message (and carry the message \
             along to the next step). The services saw:\n{}",
            mail.journal()
        );
        for service in [
            Service::LoadMessage,
            Service::GetRecipient,
            Service::Deliver,
        ] {
            assert_eq!(
                mail.calls_of(service),
                1,
                "{service} must be called exactly once; the services saw:\n{}",
                mail.journal()
            );
        }
    });
}

// Mistake: the pipeline going on after an error (map instead of and_then, errors swallowed).
#[test]
fn add_to_inbox_stops_at_the_first_error() {
    graded(|| {
        let down = MailError::Unavailable("Dan the Database is down".into());
        let cases = [
            (
                "load_message fails",
                mail().fail(Service::LoadMessage, down.clone()),
                7,
                down.clone(),
            ),
            (
                "get_recipient finds no recipient 9",
                mail().answer(Service::GetRecipient, Timing::AfterPolls(1)),
                9,
                MailError::NoSuchRecipient(9),
            ),
            (
                "deliver fails",
                mail().fail(Service::Deliver, down.clone()),
                7,
                down.clone(),
            ),
        ];
        for (what, mail, recipient, expected) in cases {
            assert_eq!(
                run_add_to_inbox(&mail, 1, recipient),
                Err(expected),
                "when {what}, add_to_inbox must return that error; the services saw:\n{}",
                mail.journal()
            );
            let events = mail.events();
            let failed = events
                .iter()
                .position(|e| matches!(e, Event::Finished { ok: false, .. }))
                .expect("a failing call is in the journal");
            assert!(
                !events[failed..]
                    .iter()
                    .any(|e| matches!(e, Event::Called(_))),
                "when {what}, no service may be called after the error (and_then stops at an \
                 Err). The services saw:\n{}",
                mail.journal()
            );
        }
    });
}

// Mistake: verify_has_space left out of the pipeline.
#[test]
fn add_to_inbox_refuses_a_message_that_does_not_fit_the_inbox() {
    graded(|| {
        let mail = mail().with_recipient(Recipient::new(8, "Bob", 5));
        assert_eq!(
            run_add_to_inbox(&mail, 1, 8),
            Err(MailError::InboxFull {
                recipient: 8,
                free_space: 5,
                needed: 27
            }),
            "recipient 8 has 5 bytes free and message 1 needs 27: check \
             recipient.verify_has_space(&message) between get_recipient and deliver; the \
             services saw:\n{}",
            mail.journal()
        );
        assert_eq!(
            mail.calls_of(Service::Deliver),
            0,
            "deliver must not be called for a message that does not fit; the services saw:\n{}",
            mail.journal()
        );
    });
}

// Mistake: a finished future (the first stage of then or and_then, a side of join, one of
// join_all's) kept alive until the whole combinator ends, or polled again while the rest waits.
#[test]
fn then_and_then_join_and_join_all_drop_a_finished_future_at_once() {
    graded(|| {
        fn first_stage_is_gone<F: Future>(what: &str, probe: &Probe, future: F, open: impl FnOnce())
        where
            F::Output: std::fmt::Debug,
        {
            let mut task = spawn(future);
            for _ in 0..3 {
                assert_pending!(task.poll(), "{what} while its other future is Pending");
            }
            assert_eq!(
                probe.polls_after_ready(),
                0,
                "{what}: the future that had finished was polled {} more times while the other \
                 one was Pending: a finished future must never be polled again",
                probe.polls_after_ready()
            );
            assert_eq!(
                probe.drops(),
                1,
                "{what}: the future that had finished was still alive while the other one was \
                 Pending: drop a finished future at once (set its #[pin] Option to None, or \
                 move to the next stage of your state enum), so that its resources and its \
                 clone of the task's waker go with it"
            );
            open();
            assert_ready!(task.poll(), "{what} once its other future is ready");
        }

        let probe = Probe::new();
        let (second, key) = gate::<u8>();
        let then = probe.watch(ready_after(0, 1)).then(move |_| second);
        first_stage_is_gone(
            "then, after its first future finished",
            &probe,
            then,
            move || key.open(2),
        );

        let probe = Probe::new();
        let (second, key) = gate::<Result<u8, ()>>();
        let and_then = probe
            .watch(ready_after(0, Ok::<u8, ()>(1)))
            .and_then(move |_| second);
        first_stage_is_gone(
            "and_then, after its first future finished",
            &probe,
            and_then,
            move || key.open(Ok(2)),
        );

        let probe = Probe::new();
        let (right, key) = gate::<u8>();
        let join = probe.watch(ready_after(0, 1)).join(right);
        first_stage_is_gone(
            "join, after its left side finished",
            &probe,
            join,
            move || key.open(2),
        );

        let probe = Probe::new();
        let (left, key) = gate::<u8>();
        let join = left.join(probe.watch(ready_after(0, 1)));
        first_stage_is_gone(
            "join, after its right side finished",
            &probe,
            join,
            move || key.open(2),
        );

        let probe = Probe::new();
        let (straggler, key) = gate::<u8>();
        let futures: Vec<Pin<Box<dyn Future<Output = u8>>>> = vec![
            Box::pin(probe.watch(ready_after(0, 1))),
            Box::pin(straggler),
        ];
        first_stage_is_gone(
            "join_all, after one of its two futures finished",
            &probe,
            join_all(futures),
            move || key.open(2),
        );
    });
}

// Mistake: futures that outlive the combinator that owns them (leaked to get a pinned
// reference, or kept in a global): dropping a future must cancel everything inside it.
#[test]
fn dropping_an_unfinished_combinator_drops_every_future_inside_it() {
    graded(|| {
        fn all_dropped<F: Future>(what: &str, probe: &Probe, inside: usize, future: F)
        where
            F::Output: std::fmt::Debug,
        {
            let mut task = spawn(future);
            assert_pending!(task.poll(), "{what} while its futures are Pending");
            assert_pending!(task.poll(), "{what} while its futures are Pending");
            drop(task);
            assert_eq!(
                probe.drops(),
                inside,
                "{what} was dropped before it finished, and only {} of the {inside} futures \
                 inside it were dropped with it: dropping a future cancels it, so everything it \
                 owns must go with it. Own the inner futures (pin projection, Box::pin), never \
                 leak them (Box::leak, mem::forget) or keep them elsewhere",
                probe.drops()
            );
        }

        let probe = Probe::new();
        all_dropped("map", &probe, 1, probe.watch(gate::<u8>().0).map(|x| x));
        let probe = Probe::new();
        let first = probe.watch(gate::<u8>().0);
        all_dropped(
            "then, in its first stage",
            &probe,
            1,
            first.then(|x| ready_after(0, x)),
        );
        let probe = Probe::new();
        let second = probe.watch(gate::<u8>().0);
        all_dropped(
            "then, in its second stage",
            &probe,
            1,
            ready_after(0, 1).then(move |_| second),
        );
        let probe = Probe::new();
        let second = probe.watch(gate::<Result<u8, ()>>().0);
        all_dropped(
            "and_then, in its second stage",
            &probe,
            1,
            ready_after(0, Ok::<u8, ()>(1)).and_then(move |_| second),
        );
        let probe = Probe::new();
        all_dropped(
            "join",
            &probe,
            2,
            probe
                .watch(gate::<u8>().0)
                .join(probe.watch(gate::<u8>().0)),
        );
        let probe = Probe::new();
        all_dropped(
            "select",
            &probe,
            2,
            probe
                .watch(gate::<u8>().0)
                .select(probe.watch(gate::<u8>().0)),
        );
        let probe = Probe::new();
        let futures = (0..5).map(|_| probe.watch(gate::<u8>().0)).collect();
        all_dropped("join_all of 5 futures", &probe, 5, join_all(futures));
    });
}

// ---------------------------------------------------------------------------------------
// Busy waking: a combinator that wakes its own task on every poll gives the right answers,
// and keeps one CPU at 100 % while its futures wait. Each test drives a combinator over slow
// leaves (gates that another thread opens after a while), the way an executor would: poll,
// then wait for a wake-up. A correct combinator is polled about once per leaf that opens; a
// busy one hundreds of times, until the test stops it.
// ---------------------------------------------------------------------------------------

/// How long a slow leaf stays Pending before another thread opens it.
const SLOW: Duration = Duration::from_millis(60);

/// How long the busy-waking tests wait for a combinator over slow leaves.
const BUSY_PATIENCE: Duration = Duration::from_secs(2);

/// Polls after which a combinator that keeps waking itself is stopped.
const POLL_BUDGET: usize = 500;

/// Drives `future` over `leaves` slow leaves and fails if it was polled more than twice per
/// leaf, plus twice: a future that wakes its own task while its children wait. (A lost
/// wake-up is another test's business: here it only ends the drive early.)
fn assert_no_busy_waking<F: Future>(what: &str, leaves: usize, future: F) -> Driven<F::Output> {
    let driven = drive_counting(future, BUSY_PATIENCE, POLL_BUDGET);
    let most = 2 * leaves + 2;
    assert!(
        driven.polls <= most,
        "{what}: while its {leaves} slow future(s) waited to be woken by another thread, it was \
         {}. A correct combinator needs about one poll per wake-up of a child, at most {most} \
         here. It wakes its own task (cx.waker().wake_by_ref() or wake()) while its children are \
         Pending, so an executor polls it again and again and burns a CPU: busy waking. Return \
         Pending only because a child you just polled with cx returned Pending, and let that \
         child wake the task",
        driven.summary()
    );
    driven
}

// Mistake: Map wakes its task on every poll (busy waking).
#[test]
fn map_does_not_wake_itself_while_its_future_waits() {
    graded(|| {
        let driven = assert_no_busy_waking(
            "map over a slow future",
            1,
            opens_after(SLOW, 20).map(|x| x + 1),
        );
        if driven.stopped.is_none() {
            assert_eq!(driven.output, Some(21), "map(|x| x + 1) of 20");
        }
    });
}

// Mistake: Then wakes its task on every poll, during either stage (busy waking).
#[test]
fn then_does_not_wake_itself_while_either_future_waits() {
    graded(|| {
        assert_no_busy_waking(
            "then over two slow futures",
            2,
            opens_after(SLOW, 1).then(|x| opens_after(SLOW, x + 1)),
        );
        assert_no_busy_waking(
            "then over two slow !Unpin futures",
            2,
            not_unpin(opens_after(SLOW, 1)).then(|x| not_unpin(opens_after(SLOW, x + 1))),
        );
    });
}

// Mistake: AndThen wakes its task on every poll, during either stage (busy waking).
#[test]
fn and_then_does_not_wake_itself_while_either_future_waits() {
    graded(|| {
        assert_no_busy_waking(
            "and_then over two slow futures",
            2,
            opens_after(SLOW, Ok::<u8, ()>(1)).and_then(|x| opens_after(SLOW, Ok::<u8, ()>(x + 1))),
        );
        assert_no_busy_waking(
            "and_then over a slow future that ends in Err",
            1,
            opens_after(SLOW, Err::<u8, ()>(())).and_then(|x| opens_after(SLOW, Ok::<u8, ()>(x))),
        );
    });
}

// Mistake: Join wakes its task on every poll while a side waits (busy waking).
#[test]
fn join_does_not_wake_itself_while_its_futures_wait() {
    graded(|| {
        assert_no_busy_waking(
            "join of two slow futures, the left one finishing first",
            2,
            opens_after(SLOW, 'l').join(opens_after(2 * SLOW, 'r')),
        );
        assert_no_busy_waking(
            "join of two slow futures, the right one finishing first",
            2,
            opens_after(2 * SLOW, 'l').join(opens_after(SLOW, 'r')),
        );
    });
}

// Mistake: Select wakes its task on every poll while both sides wait (busy waking).
#[test]
fn select_does_not_wake_itself_while_its_futures_wait() {
    graded(|| {
        assert_no_busy_waking(
            "select of two slow futures, the right one finishing first",
            1,
            opens_after(3 * SLOW, 'l').select(opens_after(SLOW, 'r')),
        );
        assert_no_busy_waking(
            "select of two slow futures, the left one finishing first",
            1,
            opens_after(SLOW, 'l').select(opens_after(3 * SLOW, 'r')),
        );
    });
}

// Mistake: JoinAll wakes its task on every poll while some of its futures wait (busy waking).
#[test]
fn join_all_does_not_wake_itself_while_its_futures_wait() {
    graded(|| {
        // Six slow futures that finish in a shuffled order, 20 ms apart.
        let futures: Vec<_> = [3u32, 1, 5, 2, 6, 4]
            .into_iter()
            .map(|finish| opens_after(Duration::from_millis(20) * finish + SLOW, finish))
            .collect();
        assert_no_busy_waking("join_all of six slow futures", 6, join_all(futures));
    });
}

// Mistake: a pipeline whose combinators wake the task on every poll while a service is slow.
#[test]
fn add_to_inbox_does_not_wake_itself_while_a_service_is_slow() {
    graded(|| {
        let mail = mail()
            .answer(Service::LoadMessage, Timing::AfterDelay(SLOW))
            .answer(Service::GetRecipient, Timing::AfterDelay(SLOW))
            .answer(Service::Deliver, Timing::AfterDelay(SLOW));
        let driven = drive_counting(add_to_inbox(mail.clone(), 1, 7), BUSY_PATIENCE, POLL_BUDGET);
        assert!(
            driven.polls <= 8,
            "add_to_inbox over three services that each answer after {SLOW:?}: it was {}. A \
             correct pipeline is polled about once per service, at most 8 times here. One of its \
             combinators (map, and_then) wakes its own task while a service is Pending, so an \
             executor polls it in a loop and burns a CPU: busy waking. The services saw:\n{}",
            driven.summary(),
            mail.journal()
        );
        if driven.stopped != Some(Stopped::NotWoken) {
            assert_eq!(driven.output, Some(Ok(())), "{}", mail.journal());
        }
    });
}
