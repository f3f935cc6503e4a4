//! Public tests for lab 2. Run them with `cargo run -p grader -- lab 2` (or `just lab 2`).
//!
//! The grader also runs hidden tests: hundreds of clients, slow readers, bursts, byte-by-byte
//! requests, an idle server's CPU use and closed connections' sockets.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pretty_assertions::assert_eq;
use support::client::Client;
use support::grading::graded;
use support::testing::{in_background, local_listener};
use support::Reply;

/// Your `serve`, on a background thread, listening on a free loopback port.
fn start_server() -> SocketAddr {
    let (listener, addr) = local_listener();
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    in_background("event-loop", move || {
        let _ = lab2::serve(mio::net::TcpListener::from_std(listener));
    });
    addr
}

fn bulk(text: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

#[test]
fn ping_gets_pong() {
    graded(|| {
        let mut client = Client::connect(start_server());
        let reply = client.must_call(&["PING"], "the event loop should answer PING");
        assert_eq!(reply, Reply::Simple("PONG".into()));
    });
}

#[test]
fn set_then_get_returns_the_value() {
    graded(|| {
        let mut client = Client::connect(start_server());
        assert_eq!(
            client.must_call(&["SET", "loop", "one thread"], "SET"),
            Reply::ok()
        );
        assert_eq!(
            client.must_call(&["GET", "loop"], "GET of a key just SET"),
            bulk("one thread")
        );
        assert_eq!(
            client.must_call(&["GET", "nothing"], "GET of a missing key"),
            Reply::Null
        );
    });
}

#[test]
fn unknown_command_gets_an_error_and_the_connection_stays_open() {
    graded(|| {
        let mut client = Client::connect(start_server());
        let reply = client.must_call(&["FLY"], "an unknown command");
        assert!(
            matches!(reply, Reply::Error(_)),
            "an unknown command must get an error reply, got {reply}"
        );
        assert_eq!(
            client.must_call(&["PING"], "PING after an error reply"),
            Reply::Simple("PONG".into())
        );
    });
}

#[test]
fn quit_replies_ok_then_closes_the_connection() {
    graded(|| {
        let mut client = Client::connect(start_server());
        assert_eq!(client.must_call(&["QUIT"], "QUIT"), Reply::ok());
        assert!(
            client.wait_for_close(),
            "after +OK to QUIT the server must close the connection (deregister it and drop the stream)"
        );
    });
}

#[test]
fn sleep_replies_after_the_wait() {
    graded(|| {
        let mut client = Client::connect(start_server());
        let started = Instant::now();
        assert_eq!(
            client.must_call(&["SLEEP", "100"], "SLEEP 100"),
            Reply::slept(100)
        );
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "+SLEPT came after {:?}: reply only once the deadline has passed",
            started.elapsed()
        );
    });
}

#[test]
fn two_clients_take_turns_on_one_server() {
    graded(|| {
        let addr = start_server();
        let mut alice = Client::connect(addr);
        let mut bob = Client::connect(addr);
        assert_eq!(
            alice.must_call(&["SET", "turn", "alice"], "alice's SET"),
            Reply::ok()
        );
        assert_eq!(
            bob.must_call(&["GET", "turn"], "bob's GET while alice stays connected"),
            bulk("alice")
        );
        assert_eq!(
            bob.must_call(&["SET", "turn", "bob"], "bob's SET"),
            Reply::ok()
        );
        assert_eq!(
            alice.must_call(&["GET", "turn"], "alice's GET after bob's SET"),
            bulk("bob")
        );
    });
}
