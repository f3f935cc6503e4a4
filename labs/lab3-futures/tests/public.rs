//! Public tests for lab 3. Run them with `cargo run -p grader -- lab 3` (or `just lab 3`), which
//! scores them and shows hints, or plainly with `cargo test -p lab3`.
//!
//! Futures are polled here in two ways: step by step on a mock task (`tokio_test::task::spawn`:
//! you see each `Pending` and whether the task was woken), and on a real tokio runtime. Every
//! wait is bounded: a future that returns `Pending` and is never woken (a lost wake-up) fails
//! the test with a message instead of hanging it. The hidden tests check the same futures under
//! harder conditions: wake-ups, stale wakers, busy polling, call order, errors.

use std::future::Future;
use std::time::{Duration, Instant};

use lab3::{add_to_inbox, Countdown, Delay};
use pretty_assertions::assert_eq;
use support::grading::graded;
use support::mail::{MailError, Message, MockMail, Recipient, Service, Timing};
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
        let woken =
            support::tasks::wait_until(deadline.saturating_duration_since(Instant::now()), || {
                task.is_woken()
            });
        assert!(
            woken,
            "{what}: poll {polls} returned Pending and nobody woke the task within {limit:?}. \
             That is a lost wake-up: before returning Pending, make sure the waker of this poll \
             will be woken (wake it yourself, hand it to a timer, or poll a child future with the \
             same Context)"
        );
    }
}

/// Runs `future` on a current-thread tokio runtime, for at most `limit`.
fn on_tokio<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("building a tokio runtime");
    // The timeout's timer must be created inside the runtime, hence the async block.
    runtime
        .block_on(async { tokio::time::timeout(limit, future).await })
        .unwrap_or_else(|_| {
            panic!(
                "{what} did not finish within {limit:?} on tokio. The usual cause is a lost \
                 wake-up: a poll returned Pending and nobody woke the task's waker afterwards"
            )
        })
}

fn mail() -> MockMail {
    MockMail::new()
        .with_message(Message::new(1, "Hello from Dan the Database"))
        .with_recipient(Recipient::new(7, "Ada", 1024))
}

#[test]
fn countdown_is_pending_n_times_then_ready() {
    graded(|| {
        let mut countdown = spawn(Countdown::new(3));
        for poll in 1..=3 {
            assert_pending!(
                countdown.poll(),
                "poll {poll} of Countdown::new(3) must return Pending: it counts down 3 times first"
            );
        }
        assert_ready!(
            countdown.poll(),
            "poll 4 of Countdown::new(3) must return Ready(())"
        );
        let mut zero = spawn(Countdown::new(0));
        assert_ready!(
            zero.poll(),
            "Countdown::new(0) must be Ready on its first poll"
        );
    });
}

#[test]
fn delay_is_pending_until_its_duration_has_passed() {
    graded(|| {
        let mut long = spawn(Delay::new(Duration::from_secs(30)));
        assert_pending!(
            long.poll(),
            "a Delay of 30 s must return Pending when polled at once"
        );
        let mut zero = spawn(Delay::new(Duration::ZERO));
        assert_ready!(
            zero.poll(),
            "a Delay of 0 s must be Ready on its first poll: its deadline has passed"
        );
        let mut short = spawn(Delay::new(Duration::from_millis(50)));
        std::thread::sleep(Duration::from_millis(60));
        assert_ready!(
            short.poll(),
            "a Delay of 50 ms polled 60 ms after Delay::new must be Ready: the duration counts \
             from Delay::new"
        );
    });
}

#[test]
fn delay_finishes_on_tokio_after_its_duration() {
    graded(|| {
        let started = Instant::now();
        on_tokio(
            Duration::from_secs(5),
            "a Delay of 100 ms",
            Delay::new(Duration::from_millis(100)),
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(100),
            "a Delay of 100 ms finished after {took:?}: it must not be Ready before its deadline"
        );
    });
}

#[test]
fn add_to_inbox_delivers_the_message() {
    graded(|| {
        let mail = mail();
        let mut task = spawn(add_to_inbox(mail.clone(), 1, 7));
        let result = drive(
            &mut task,
            Duration::from_secs(5),
            "add_to_inbox with services that answer at once",
        );
        assert_eq!(
            result,
            Ok(()),
            "add_to_inbox(1 -> 7) must succeed; the services saw:\n{}",
            mail.journal()
        );
        assert_eq!(
            mail.delivered(),
            vec![(7, Message::new(1, "Hello from Dan the Database"))],
            "message 1 must be delivered to recipient 7 exactly once; the services saw:\n{}",
            mail.journal()
        );
    });
}

#[test]
fn add_to_inbox_returns_the_error_of_a_missing_message() {
    graded(|| {
        let mail = mail();
        let mut task = spawn(add_to_inbox(mail.clone(), 404, 7));
        let result = drive(
            &mut task,
            Duration::from_secs(5),
            "add_to_inbox of a missing message",
        );
        assert_eq!(
            result,
            Err(MailError::NoSuchMessage(404)),
            "load_message(404) fails, and add_to_inbox must return that error"
        );
        assert_eq!(
            mail.delivered(),
            vec![],
            "nothing may be delivered when the message is missing"
        );
    });
}

#[test]
fn add_to_inbox_finishes_with_slow_services_on_tokio() {
    graded(|| {
        let mail = mail()
            .answer(Service::LoadMessage, Timing::AfterPolls(3))
            .answer(
                Service::GetRecipient,
                Timing::AfterDelay(Duration::from_millis(30)),
            )
            .answer(Service::Deliver, Timing::AfterPolls(1));
        let result = on_tokio(
            Duration::from_secs(5),
            "add_to_inbox with slow services",
            add_to_inbox(mail.clone(), 1, 7),
        );
        assert_eq!(
            result,
            Ok(()),
            "add_to_inbox must succeed with slow services; they saw:\n{}",
            mail.journal()
        );
        assert_eq!(
            mail.delivered().len(),
            1,
            "the message must be delivered once; the services saw:\n{}",
            mail.journal()
        );
    });
}
