//! Public tests for lab 1. Run them with `cargo run -p grader -- lab 1` (or `just lab 1`), which
//! scores them and shows hints, or plainly with `cargo test -p lab1`.
//!
//! The grader also runs hidden tests with the same helpers: they check the same behaviour
//! under harder conditions (many clients, slow clients, odd packet boundaries).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lab1::{handle_client, serve_pooled, serve_threaded, ThreadPool};
use pretty_assertions::assert_eq;
use support::client::Client;
use support::grading::graded;
use support::testing::{in_background, local_listener, serve_each_connection_on_a_thread, within};
use support::{Reply, Store};

/// A server made of the test's own accept loop and *your* `handle_client`.
fn handler_server() -> SocketAddr {
    let store = Arc::new(Mutex::new(Store::new()));
    serve_each_connection_on_a_thread(move |stream| {
        let _ = handle_client(stream, &store);
    })
}

fn bulk(text: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

#[test]
fn ping_gets_pong() {
    graded(|| {
        let mut client = Client::connect(handler_server());
        let reply = client.must_call(&["PING"], "handle_client should answer PING");
        assert_eq!(
            reply,
            Reply::Simple("PONG".into()),
            "PING must be answered with +PONG"
        );
    });
}

#[test]
fn set_then_get_returns_the_value() {
    graded(|| {
        let mut client = Client::connect(handler_server());
        let set = client.must_call(&["SET", "course", "async"], "SET after connecting");
        assert_eq!(set, Reply::ok(), "SET must reply +OK");
        let get = client.must_call(&["GET", "course"], "GET of a key that was just SET");
        assert_eq!(get, bulk("async"), "GET must return the value SET stored");
        let missing = client.must_call(&["GET", "nothing"], "GET of a missing key");
        assert_eq!(
            missing,
            Reply::Null,
            "GET of a missing key must reply (nil)"
        );
    });
}

#[test]
fn unknown_command_gets_an_error_and_the_connection_stays_open() {
    graded(|| {
        let mut client = Client::connect(handler_server());
        let reply = client.must_call(&["FLY"], "an unknown command");
        assert!(
            matches!(reply, Reply::Error(_)),
            "an unknown command must get an error reply, got {reply}"
        );
        let after = client.must_call(
            &["PING"],
            "PING after an error reply (the connection must stay open)",
        );
        assert_eq!(after, Reply::Simple("PONG".into()));
    });
}

#[test]
fn quit_replies_ok_then_closes_the_connection() {
    graded(|| {
        let mut client = Client::connect(handler_server());
        let reply = client.must_call(&["QUIT"], "QUIT");
        assert_eq!(reply, Reply::ok(), "QUIT must reply +OK before closing");
        assert!(
            client.wait_for_close(),
            "after replying to QUIT the server must close the connection (return from handle_client)"
        );
    });
}

#[test]
fn sleep_replies_after_the_wait() {
    graded(|| {
        let mut client = Client::connect(handler_server());
        let started = Instant::now();
        let reply = client.must_call(&["SLEEP", "100"], "SLEEP 100");
        assert_eq!(reply, Reply::slept(100), "SLEEP 100 must reply +SLEPT 100");
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "the +SLEPT reply came after {:?}: sleep for the requested time before replying",
            started.elapsed()
        );
    });
}

#[test]
fn threaded_server_answers_clients_one_after_another() {
    graded(|| {
        let (listener, addr) = local_listener();
        let store = Arc::new(Mutex::new(Store::new()));
        in_background("serve_threaded", move || {
            let _ = serve_threaded(listener, store);
        });
        let mut first = Client::connect(addr);
        first.must_call(
            &["SET", "k", "shared"],
            "first client's SET through serve_threaded",
        );
        drop(first);
        let mut second = Client::connect(addr);
        let reply = second.must_call(&["GET", "k"], "second client's GET through serve_threaded");
        assert_eq!(
            reply,
            bulk("shared"),
            "every client must see the same store"
        );
    });
}

#[test]
fn pool_runs_every_job() {
    graded(|| {
        let done = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::new(4);
        for _ in 0..100 {
            let done = Arc::clone(&done);
            pool.execute(move || {
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        within(Duration::from_secs(5), "dropping the pool", move || {
            drop(pool)
        });
        assert_eq!(
            done.load(Ordering::SeqCst),
            100,
            "after the pool is dropped, all 100 jobs must have run"
        );
    });
}

#[test]
fn pool_with_zero_workers_panics_and_one_worker_is_fine() {
    graded(|| {
        let zero = std::panic::catch_unwind(|| ThreadPool::new(0));
        assert!(
            zero.is_err(),
            "ThreadPool::new(0) must panic: a pool without workers can never run a job"
        );
        let (ran_tx, ran_rx) = std::sync::mpsc::channel();
        let pool = ThreadPool::new(1);
        pool.execute(move || ran_tx.send(()).unwrap());
        ran_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("a pool with one worker must run a job");
        within(Duration::from_secs(5), "dropping the pool", move || {
            drop(pool)
        });
    });
}

#[test]
fn pooled_server_answers_a_client() {
    graded(|| {
        let (listener, addr) = local_listener();
        let store = Arc::new(Mutex::new(Store::new()));
        in_background("serve_pooled", move || {
            let _ = serve_pooled(listener, store, 2);
        });
        let mut client = Client::connect(addr);
        let reply = client.must_call(&["ECHO", "pooled"], "ECHO through serve_pooled");
        assert_eq!(reply, bulk("pooled"));
    });
}
