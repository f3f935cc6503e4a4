//! Hidden tests for lab 3: each one guards one mistake students make. Never released.
//!
//! Every wait is bounded: a lost wake-up fails a test with a message, it never hangs it.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::time::{Duration, Instant};

use lab3::{add_to_inbox, Countdown, Delay};
use pretty_assertions::assert_eq;
use support::grading::graded;
use support::mail::{Call, Event, MailError, Message, MockMail, Recipient, Service, Timing};
use support::probe::{cpu_time, thread_count};
use support::tasks::{drive_counting, wait_until, CountingWaker, Probe, Stopped};
use tokio_test::task::{spawn, Spawn};
use tokio_test::{assert_pending, assert_ready};

/// How long a test waits for a wake-up that a correct solution delivers in milliseconds.
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
             That is a lost wake-up: before returning Pending, make sure the waker of this poll \
             will be woken (by the service future you polled with the same Context, or by \
             yourself if you can go on at once)"
        );
    }
}

fn mail() -> MockMail {
    MockMail::new()
        .with_message(Message::new(1, "Hello from Dan the Database"))
        .with_recipient(Recipient::new(7, "Ada", 1024))
}

/// Every service answers with `timing`.
fn mail_taking(timing: Timing) -> MockMail {
    mail()
        .answer(Service::LoadMessage, timing)
        .answer(Service::GetRecipient, timing)
        .answer(Service::Deliver, timing)
}

fn run_add_to_inbox(mail: &MockMail, email_id: u64, recipient_id: u64) -> Result<(), MailError> {
    let mut task = spawn(add_to_inbox(mail.clone(), email_id, recipient_id));
    drive(
        &mut task,
        PATIENCE,
        &format!("add_to_inbox({email_id} -> {recipient_id})"),
    )
}

/// Where `wanted` stands in the journal of `mail`.
fn position(events: &[Event], wanted: impl Fn(&Event) -> bool) -> Option<usize> {
    events.iter().position(wanted)
}

// Mistake: Countdown returns Pending without waking its task (lost wake-up).
#[test]
fn countdown_wakes_its_task_every_time_it_returns_pending() {
    graded(|| {
        let mut countdown = spawn(Countdown::new(5));
        for poll in 1..=5 {
            assert_pending!(
                countdown.poll(),
                "poll {poll} of Countdown::new(5) must return Pending"
            );
            assert!(
                countdown.is_woken(),
                "poll {poll} of Countdown::new(5) returned Pending without waking the task: a \
                 lost wake-up, an executor would never poll it again. Call \
                 cx.waker().wake_by_ref() before returning Pending"
            );
        }
        assert_ready!(
            countdown.poll(),
            "poll 6 of Countdown::new(5) must return Ready"
        );
    });
}

// Mistake: Delay returns Pending without handing its waker to anyone (lost wake-up).
#[test]
fn delay_wakes_its_task_when_its_time_is_up() {
    graded(|| {
        let started = Instant::now();
        let mut delay = spawn(Delay::new(Duration::from_millis(200)));
        assert_pending!(delay.poll(), "a Delay of 200 ms polled at once");
        assert!(
            wait_until(PATIENCE, || delay.is_woken()),
            "a Delay of 200 ms returned Pending and its task was not woken within {PATIENCE:?}: a \
             lost wake-up. Give the waker of the poll to the timer thread, which must wake it at \
             the deadline"
        );
        drive(
            &mut delay,
            PATIENCE,
            "a Delay of 200 ms after its first wake-up",
        );
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(200),
            "a Delay of 200 ms was Ready after {took:?}: it must not be Ready before its deadline"
        );
    });
}

// Mistake: Delay keeps the waker of its first poll and wakes it, though the task has moved on.
#[test]
fn delay_wakes_the_latest_waker_not_a_stale_one() {
    graded(|| {
        let mut delay = Box::pin(Delay::new(Duration::from_millis(250)));
        let first = CountingWaker::new();
        let latest = CountingWaker::new();
        assert!(
            first.poll(delay.as_mut()).is_pending(),
            "a Delay of 250 ms polled at once must be Pending"
        );
        assert!(
            latest.poll(delay.as_mut()).is_pending(),
            "a Delay of 250 ms polled again at once must be Pending"
        );
        assert!(
            latest.wait_for_wakes(1, PATIENCE),
            "the Delay was polled with a first waker, then with a new one (the task moved, as it \
             does in select or on a multi-threaded executor), and the new waker was not woken \
             within {PATIENCE:?} (the first one was woken {} times). Keep the waker of the \
             *latest* poll: replace the stored one unless waker.will_wake(cx.waker())",
            first.wakes()
        );
        // Go on polling with the latest waker, as an executor would, until the Delay is Ready.
        let deadline = Instant::now() + PATIENCE;
        while latest.poll(delay.as_mut()).is_pending() {
            let wakes = latest.wakes();
            assert!(
                latest.wait_for_wakes(
                    wakes + 1,
                    deadline.saturating_duration_since(Instant::now())
                ),
                "the Delay returned Pending again and its latest waker was not woken within \
                 {PATIENCE:?}: a lost wake-up"
            );
        }
    });
}

// Mistake: Delay wakes its task on every poll "just in case" (busy polling).
#[test]
fn delay_is_polled_only_a_handful_of_times_while_it_waits() {
    graded(|| {
        let probe = Probe::new();
        let mut delay = spawn(probe.watch(Delay::new(Duration::from_millis(300))));
        drive(&mut delay, PATIENCE, "a Delay of 300 ms");
        let polls = probe.polls();
        assert!(
            polls <= 5,
            "a Delay of 300 ms was polled {polls} times before it was Ready: it wakes its task \
             while it is still waiting (busy polling), so the executor polls it in a loop and \
             burns a CPU. Wake the task only from the timer thread, at the deadline"
        );
    });
}

// Mistake: a thread per poll (or per Delay) instead of one timer thread for all delays.
#[test]
fn delays_share_one_timer_thread_however_often_they_are_polled() {
    graded(|| {
        let before = thread_count().expect("reading the thread count from /proc/self/status");
        let waker = CountingWaker::new();
        let mut delays: Vec<Pin<Box<Delay>>> = (0..50)
            .map(|_| Box::pin(Delay::new(Duration::from_secs(5))))
            .collect();
        for delay in &mut delays {
            assert!(
                waker.poll(delay.as_mut()).is_pending(),
                "a Delay of 5 s polled at once must be Pending"
            );
        }
        // One of them polled again and again, by ever new tasks.
        for _ in 0..50 {
            let other = CountingWaker::new();
            assert!(
                other.poll(delays[0].as_mut()).is_pending(),
                "a Delay of 5 s polled again must still be Pending"
            );
        }
        let started = thread_count()
            .expect("reading the thread count from /proc/self/status")
            .saturating_sub(before);
        assert!(
            started <= 5,
            "50 Delays polled 100 times in all started {started} threads: start one timer thread \
             for the whole process (std::sync::OnceLock) and send it each delay, never a thread \
             per poll or per Delay"
        );
    });
}

// Mistake: AddToInbox returns Pending after moving to the next state without polling the next
// service future, or polls the services with a waker of its own (lost wake-up).
#[test]
fn add_to_inbox_never_returns_pending_without_a_wake_up_on_the_way() {
    graded(|| {
        for (timing, what) in [
            (Timing::Immediate, "services that answer at once"),
            (Timing::AfterPolls(2), "services that need 3 polls each"),
            (
                Timing::AfterDelay(Duration::from_millis(20)),
                "services woken by a timer after 20 ms",
            ),
        ] {
            let mail = mail_taking(timing);
            let mut task = spawn(add_to_inbox(mail.clone(), 1, 7));
            let result = drive(&mut task, PATIENCE, &format!("add_to_inbox with {what}"));
            assert_eq!(
                result,
                Ok(()),
                "add_to_inbox with {what} must succeed; the services saw:\n{}",
                mail.journal()
            );
        }
    });
}

// Mistake: a service called twice (a future created again on a later poll instead of kept).
#[test]
fn add_to_inbox_calls_each_service_exactly_once() {
    graded(|| {
        let mail = mail_taking(Timing::AfterPolls(2));
        assert_eq!(run_add_to_inbox(&mail, 1, 7), Ok(()));
        for service in [
            Service::LoadMessage,
            Service::GetRecipient,
            Service::Deliver,
        ] {
            assert_eq!(
                mail.calls_of(service),
                1,
                "{service} must be called exactly once (create its future once, keep it in the \
                 state and poll that same future until it is Ready); the services saw:\n{}",
                mail.journal()
            );
        }
        let mut calls = mail.calls();
        calls.sort_by_key(Call::service);
        assert_eq!(
            calls,
            vec![
                Call::LoadMessage { email_id: 1 },
                Call::GetRecipient { recipient_id: 7 },
                Call::Deliver {
                    recipient_id: 7,
                    email_id: 1
                },
            ],
            "the services must be called with the ids given to add_to_inbox"
        );
    });
}

// Mistake: a service called before its turn (the recipient fetched before the message has
// loaded, the delivery started before the recipient is known).
#[test]
fn add_to_inbox_calls_each_service_only_after_the_previous_one_finished() {
    graded(|| {
        let mail = mail()
            .answer(Service::LoadMessage, Timing::AfterPolls(2))
            .answer(Service::GetRecipient, Timing::AfterPolls(1));
        assert_eq!(run_add_to_inbox(&mail, 1, 7), Ok(()));
        let events = mail.events();
        let loaded = position(&events, |e| {
            matches!(
                e,
                Event::Finished {
                    call: Call::LoadMessage { .. },
                    ok: true
                }
            )
        });
        let asked = position(&events, |e| {
            matches!(e, Event::Called(Call::GetRecipient { .. }))
        });
        let found = position(&events, |e| {
            matches!(
                e,
                Event::Finished {
                    call: Call::GetRecipient { .. },
                    ok: true
                }
            )
        });
        let delivering = position(&events, |e| {
            matches!(e, Event::Called(Call::Deliver { .. }))
        });
        assert!(
            loaded < asked,
            "get_recipient was called before load_message had finished: like the async fn, the \
             state machine calls get_recipient only once the message is there. The services \
             saw:\n{}",
            mail.journal()
        );
        assert!(
            found < delivering,
            "deliver was called before get_recipient had finished. The services saw:\n{}",
            mail.journal()
        );
    });
}

// Mistake: not stopping at the first error (`?`): a later service still called, or an error
// swallowed.
#[test]
fn add_to_inbox_stops_at_the_first_error() {
    graded(|| {
        let down = MailError::Unavailable("Dan the Database is down".into());
        let cases = [
            (
                "load_message fails",
                mail()
                    .answer(Service::LoadMessage, Timing::AfterPolls(1))
                    .fail(Service::LoadMessage, down.clone()),
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
                mail()
                    .answer(Service::Deliver, Timing::AfterPolls(1))
                    .fail(Service::Deliver, down.clone()),
                7,
                down.clone(),
            ),
        ];
        for (what, mail, recipient, expected) in cases {
            let result = run_add_to_inbox(&mail, 1, recipient);
            assert_eq!(
                result,
                Err(expected),
                "when {what}, add_to_inbox must return that error, like `?` in the async fn; \
                 the services saw:\n{}",
                mail.journal()
            );
            let events = mail.events();
            let failed = position(&events, |e| matches!(e, Event::Finished { ok: false, .. }))
                .expect("a failing call is in the journal");
            assert!(
                !events[failed..]
                    .iter()
                    .any(|e| matches!(e, Event::Called(_))),
                "when {what}, no service may be called after the error: return \
                 Ready(Err(error)) at once. The services saw:\n{}",
                mail.journal()
            );
        }
    });
}

// Mistake: verify_has_space skipped (or its error ignored).
#[test]
fn add_to_inbox_refuses_a_message_that_does_not_fit_the_inbox() {
    graded(|| {
        let mail = mail().with_recipient(Recipient::new(8, "Bob", 5));
        let result = run_add_to_inbox(&mail, 1, 8);
        assert_eq!(
            result,
            Err(MailError::InboxFull {
                recipient: 8,
                free_space: 5,
                needed: 27
            }),
            "recipient 8 has 5 bytes free and message 1 needs 27: call \
             recipient.verify_has_space(&message) before deliver and return its error; the \
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

// Mistake: polling a service future again after it returned Ready.
#[test]
fn add_to_inbox_never_polls_a_finished_service_future() {
    graded(|| {
        let mail = mail_taking(Timing::AfterPolls(2));
        assert_eq!(run_add_to_inbox(&mail, 1, 7), Ok(()));
        for service in [
            Service::LoadMessage,
            Service::GetRecipient,
            Service::Deliver,
        ] {
            assert_eq!(
                mail.polls_after_completion(service),
                0,
                "the future of {service} was polled again after it had returned Ready: a \
                 finished future must never be polled again (most panic). Once a step is done, \
                 move on to the next state and drop the finished future"
            );
        }
    });
}

// Mistake: AddToInbox polled after completion returns something instead of panicking.
#[test]
fn add_to_inbox_panics_when_polled_after_completion() {
    graded(|| {
        for (what, recipient) in [("success", 7), ("an error", 404)] {
            let mail = mail();
            let mut task = spawn(add_to_inbox(mail.clone(), 1, recipient));
            drive(
                &mut task,
                PATIENCE,
                &format!("add_to_inbox that ends in {what}"),
            );
            let again = catch_unwind(AssertUnwindSafe(|| task.poll()));
            assert!(
                again.is_err(),
                "AddToInbox returned {:?} when polled again after it had finished with {what}: \
                 like the compiler's state machine (\"`async fn` resumed after completion\") it \
                 must panic. Keep a Done state and panic!() in it",
                again.unwrap()
            );
        }
    });
}

// Mistake: AddToInbox wakes its own task on every poll (or after every state change) while a
// service is slow: right answers, and an executor that polls it in a loop (busy waking).
#[test]
fn add_to_inbox_does_not_wake_itself_while_a_service_is_slow() {
    graded(|| {
        let slow = Duration::from_millis(60);
        let mail = mail_taking(Timing::AfterDelay(slow));
        // Polled as an executor would: again only after a wake-up; stopped after 500 polls.
        let driven = drive_counting(add_to_inbox(mail.clone(), 1, 7), PATIENCE, 500);
        assert!(
            driven.polls <= 8,
            "add_to_inbox over three services that each answer {slow:?} after their first poll \
             (woken by a timer thread) was {}. A correct state machine is polled about once per \
             service, at most 8 times here. It wakes its own task while a service is Pending, so \
             an executor polls it again and again and burns a CPU (busy waking). Return Pending \
             only when the service future you just polled with cx returned Pending: that future \
             wakes the task. The services saw:\n{}",
            driven.summary(),
            mail.journal()
        );
        if driven.stopped != Some(Stopped::NotWoken) {
            assert_eq!(driven.output, Some(Ok(())), "{}", mail.journal());
        }
    });
}

// Mistake: a timer thread that waits by spinning (try_recv in a loop, or short sleeps to "check
// the time") instead of sleeping until the earliest deadline or a new registration.
#[test]
fn the_timer_thread_sleeps_while_a_delay_waits() {
    graded(|| {
        let waker = CountingWaker::new();
        let mut delay = Box::pin(Delay::new(Duration::from_millis(300)));
        let before = cpu_time().expect("CPU time from /proc/self");
        let started = Instant::now();
        assert!(
            waker.poll(delay.as_mut()).is_pending(),
            "a Delay of 300 ms polled at once must be Pending"
        );
        // Nobody polls meanwhile: only the timer thread can use the CPU.
        std::thread::sleep(Duration::from_millis(350));
        let used = cpu_time().unwrap().saturating_sub(before);
        let elapsed = started.elapsed();
        assert!(
            waker.wait_for_wakes(1, PATIENCE),
            "a Delay of 300 ms did not wake its task within {PATIENCE:?}: a lost wake-up"
        );
        assert!(
            used < Duration::from_millis(60),
            "while one Delay of 300 ms waited, the process used {used:?} of CPU time in \
             {elapsed:?}: the timer thread spins. It must sleep until the earliest deadline or \
             a new registration, whichever comes first (Receiver::recv_timeout), and wait \
             without a timeout (recv) when no delay is pending"
        );
    });
}

// Mistake: a timer thread that keeps waiting for the deadline it was waiting for when an
// earlier one is registered: a 50 ms Delay made during a 3 s one waits 3 s.
#[test]
fn a_short_delay_is_not_held_up_by_a_longer_one() {
    graded(|| {
        let long_waker = CountingWaker::new();
        let mut long = Box::pin(Delay::new(Duration::from_secs(3)));
        assert!(
            long_waker.poll(long.as_mut()).is_pending(),
            "a Delay of 3 s polled at once must be Pending"
        );
        // The timer thread now waits for the 3 s deadline.
        std::thread::sleep(Duration::from_millis(50));
        let started = Instant::now();
        let waker = CountingWaker::new();
        let mut short = Box::pin(Delay::new(Duration::from_millis(50)));
        assert!(
            waker.poll(short.as_mut()).is_pending(),
            "a Delay of 50 ms polled at once must be Pending"
        );
        // Poll again after every wake-up, as an executor would, until the Delay is Ready.
        let deadline = started + Duration::from_secs(2);
        let mut seen = 0;
        let woken = loop {
            if !waker.wait_for_wakes(seen + 1, deadline.saturating_duration_since(Instant::now())) {
                break false;
            }
            seen = waker.wakes();
            if waker.poll(short.as_mut()).is_ready() {
                break true;
            }
        };
        let elapsed = started.elapsed();
        assert!(
            woken && elapsed < Duration::from_secs(1),
            "a Delay of 50 ms, made while a Delay of 3 s was pending, was {}: the \
             timer thread kept waiting for the 3 s deadline. Wait for the earliest deadline or \
             a new registration, whichever comes first (recv_timeout), and after a new one, \
             look again at which deadline is the earliest",
            if woken {
                format!("Ready only after {elapsed:?}")
            } else {
                "not Ready within 2 s".to_string()
            }
        );
        drop(long);
    });
}
