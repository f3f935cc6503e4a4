//! A failure inside one of `support`'s helpers is reported at the test's own line: the panic's
//! location is the line of the test that called the helper (never a line of `support`), and the
//! message is the failed assertion's own, kept whole.
//!
//! A panic hook records where each panic of the test's thread was raised, as the default hook
//! would print it (`thread '...' panicked at FILE:LINE:COLUMN`, which is the line the grader
//! shows a student).

use std::net::TcpListener;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::{self, ThreadId};
use std::time::Duration;

use support::client::Client;
use support::testing::{panic_message, within};

/// A panic seen by the hook: which thread, where, and what it said.
#[derive(Debug, Clone)]
struct Seen {
    thread: ThreadId,
    file: String,
    line: u32,
    message: String,
}

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

/// The hook is global to this test binary: one test at a time installs it.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `body`, which must panic, with a hook that records every panic; returns the panic of
/// the calling thread (the one the test harness reports) and the message it carried.
fn panic_of_this_thread(body: impl FnOnce()) -> (Seen, String) {
    let _one = lock(&ONE_AT_A_TIME);
    lock(&SEEN).clear();
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let location = info.location().expect("a panic has a location");
        lock(&SEEN).push(Seen {
            thread: thread::current().id(),
            file: location.file().to_string(),
            line: location.line(),
            message: panic_message(info.payload()),
        });
    }));
    let outcome = panic::catch_unwind(AssertUnwindSafe(body));
    panic::set_hook(previous);
    let payload = match outcome {
        Ok(()) => panic!("the body was expected to panic"),
        Err(payload) => payload,
    };
    let me = thread::current().id();
    let seen = lock(&SEEN)
        .iter()
        .rev()
        .find(|seen| seen.thread == me)
        .cloned()
        .expect("the hook saw the panic of the test's thread");
    (seen, panic_message(&*payload))
}

#[test]
fn a_failing_assertion_inside_within_is_reported_at_the_tests_line() {
    let expected_line = line!() + 2;
    let (seen, message) = panic_of_this_thread(|| {
        within(Duration::from_secs(5), "adding two and two", || {
            let sum = 2 + 2;
            assert_eq!(sum, 5, "two and two make five");
        })
    });
    assert_eq!(
        (seen.file.as_str(), seen.line),
        (file!(), expected_line),
        "the panic must point at the test's call of within(..), not into support: {seen:?}"
    );
    assert!(
        message.starts_with("adding two and two panicked: ")
            && message.contains("two and two make five")
            && message.contains("left: 4")
            && message.contains("right: 5"),
        "within's panic keeps what it was doing and the assertion's whole message: {message:?}"
    );
    assert_eq!(seen.message, message);
}

#[test]
fn a_timeout_of_within_is_reported_at_the_tests_line() {
    let expected_line = line!() + 2;
    let (seen, message) = panic_of_this_thread(|| {
        within(Duration::from_millis(50), "a slow job", || {
            thread::sleep(Duration::from_secs(2))
        })
    });
    assert_eq!((seen.file.as_str(), seen.line), (file!(), expected_line));
    assert!(
        message.contains("a slow job did not finish within 50ms"),
        "{message:?}"
    );
}

#[test]
fn client_helpers_report_failures_at_the_tests_line() {
    // A port that nobody listens on: bind one, note it, close it.
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port");
    let expected_line = line!() + 1;
    let (seen, message) = panic_of_this_thread(|| drop(Client::connect(addr)));
    assert_eq!((seen.file.as_str(), seen.line), (file!(), expected_line));
    assert!(message.contains("could not connect"), "{message:?}");

    // A server that accepts and closes at once: must_call fails with its context.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    let addr = listener.local_addr().expect("its address");
    let closer = thread::spawn(move || drop(listener.accept()));
    let mut client = Client::connect(addr);
    closer.join().expect("the closing server");
    let expected_line = line!() + 2;
    let (seen, message) = panic_of_this_thread(|| {
        client.must_call(&["PING"], "PING on a closed connection");
    });
    assert_eq!((seen.file.as_str(), seen.line), (file!(), expected_line));
    assert!(
        message.starts_with("PING on a closed connection: sent [\"PING\"]")
            || message.starts_with("could not send to the server"),
        "{message:?}"
    );
}
