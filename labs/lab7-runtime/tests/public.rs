//! Public tests for lab 7. Run them with `cargo run -p grader -- lab 7` (or `just lab 7`), which
//! scores them and shows hints, or plainly with `cargo test -p lab7`.
//!
//! Every test runs your runtime on a helper thread with a time limit (`within`): a runtime that
//! loses a wake-up fails the test with a message instead of hanging it. The grader also runs
//! hidden tests: the same API under harder conditions (CPU time while idle, a thousand clients,
//! megabytes through slow readers, poll counts, a thousand sockets opened and closed, ten
//! thousand timers under load).

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lab7::net::{TcpListener, TcpStream};
use lab7::{sleep, spawn, Runtime};
use pretty_assertions::assert_eq;
use support::client::Client;
use support::grading::graded;
use support::tasks::gate;
use support::testing::{in_background, within};
use support::{Reply, Store};

const LIMIT: Duration = Duration::from_secs(5);

/// Runs `body` with a new runtime on a helper thread, failing the test with `what` if it takes
/// longer than [`LIMIT`].
fn on_runtime<T, B>(what: &str, body: B) -> T
where
    T: Send + 'static,
    B: FnOnce(&Runtime) -> T + Send + 'static,
{
    within(LIMIT, what, move || {
        let runtime = Runtime::new().expect("Runtime::new() failed");
        body(&runtime)
    })
}

fn any_local_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Starts your server (`lab7::serve`) on a runtime of its own thread; returns its address.
fn start_server() -> SocketAddr {
    let (addr_tx, addr_rx) = mpsc::channel();
    in_background("lab7-server", move || {
        let runtime = Runtime::new().expect("Runtime::new() failed");
        let result = runtime.block_on(async move {
            let listener = TcpListener::bind(any_local_port())?;
            let _ = addr_tx.send(listener.local_addr()?);
            lab7::serve(listener, Rc::new(RefCell::new(Store::new()))).await
        });
        eprintln!("lab7::serve returned {result:?}");
    });
    addr_rx.recv_timeout(LIMIT).expect(
        "the server never reported its address: TcpListener::bind or local_addr failed, or \
         block_on never polled the server's future",
    )
}

/// Reads exactly `len` bytes from `stream`.
async fn read_exact(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        let read = stream
            .read(&mut data[filled..])
            .await
            .expect("TcpStream::read failed");
        assert!(
            read > 0,
            "TcpStream::read returned 0 (end of file) after {filled} of {len} bytes"
        );
        filled += read;
    }
    data
}

#[test]
fn block_on_returns_the_output_of_a_future() {
    graded(|| {
        let outputs = on_runtime("block_on of two futures", |runtime| {
            (
                runtime.block_on(std::future::ready(7)),
                runtime.block_on(async { 6 * 7 }),
            )
        });
        assert_eq!(
            outputs,
            (7, 42),
            "block_on must poll the future and return its output once it is Ready (TODO 4 of \
             src/runtime.rs)"
        );
    });
}

#[test]
fn spawned_tasks_run_and_their_join_handles_give_their_outputs() {
    graded(|| {
        let outputs = on_runtime("block_on awaiting 10 spawned tasks", |runtime| {
            let handles: Vec<_> = (0..10u64)
                .map(|n| runtime.spawn(async move { n * n }))
                .collect();
            runtime.block_on(async move {
                let mut outputs = Vec::new();
                for handle in handles {
                    outputs.push(handle.await);
                }
                outputs
            })
        });
        assert_eq!(
            outputs,
            (0..10u64).map(|n| n * n).collect::<Vec<_>>(),
            "each JoinHandle must give the output of its own task, and wake whoever awaits it \
             when the task finishes"
        );
    });
}

#[test]
fn a_task_spawns_tasks_with_the_free_spawn_function() {
    graded(|| {
        let outputs = on_runtime("tasks spawning tasks with lab7::spawn", |runtime| {
            runtime.block_on(async {
                let outer = spawn(async {
                    let inner: Vec<_> = (1..=3u32).map(|n| spawn(async move { n * 10 })).collect();
                    let mut sum = 0;
                    for handle in inner {
                        sum += handle.await;
                    }
                    sum
                });
                outer.await
            })
        });
        assert_eq!(
            outputs, 60,
            "lab7::spawn, called inside block_on or a task, must spawn onto the runtime that is \
             running on this thread (a thread-local set by block_on)"
        );
    });
}

#[test]
fn sleeps_last_their_duration_and_end_in_deadline_order() {
    graded(|| {
        let (order, elapsed) = on_runtime("three tasks sleeping 150, 50 and 100 ms", |runtime| {
            let order = Rc::new(RefCell::new(Vec::new()));
            let started = Instant::now();
            let handles: Vec<_> = [150u64, 50, 100]
                .into_iter()
                .map(|ms| {
                    let order = Rc::clone(&order);
                    runtime.spawn(async move {
                        sleep(Duration::from_millis(ms)).await;
                        order.borrow_mut().push(ms);
                    })
                })
                .collect();
            runtime.block_on(async move {
                for handle in handles {
                    handle.await;
                }
            });
            let order = order.borrow().clone();
            (order, started.elapsed())
        });
        assert_eq!(
            order,
            [50, 100, 150],
            "the shortest sleep must end first: the runtime's timer heap wakes sleeps in \
             deadline order"
        );
        assert!(
            elapsed >= Duration::from_millis(150),
            "three sleeps of at most 150 ms ended after {elapsed:?}: a sleep is Ready only once \
             its deadline has passed"
        );
        assert!(
            elapsed < Duration::from_secs(2),
            "three sleeps of at most 150 ms at the same time took {elapsed:?}: the poll timeout \
             must be the time until the earliest deadline"
        );
    });
}

#[test]
fn a_waker_called_from_another_thread_wakes_the_runtime() {
    graded(|| {
        let (gate, key) = gate();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            key.open("opened");
        });
        let output = on_runtime(
            "block_on of a future that another thread wakes after 50 ms (does a wake from \
             another thread interrupt mio::Poll::poll through a mio::Waker?)",
            move |runtime| runtime.block_on(gate),
        );
        assert_eq!(output, "opened");
    });
}

#[test]
fn a_client_task_and_a_server_task_talk_over_tcp() {
    graded(|| {
        let (question, answer, end) = on_runtime("a client and a server task", |runtime| {
            runtime.block_on(async {
                let listener = TcpListener::bind(any_local_port()).expect("TcpListener::bind");
                let addr = listener.local_addr().expect("TcpListener::local_addr");
                assert_eq!(
                    addr.ip(),
                    any_local_port().ip(),
                    "local_addr must be the address bound"
                );
                assert_ne!(
                    addr.port(),
                    0,
                    "local_addr must give the port actually bound"
                );
                let server = spawn(async move {
                    let (mut stream, _peer) = listener.accept().await.expect("accept");
                    let question = read_exact(&mut stream, 5).await;
                    stream.write_all(b"world").await.expect("write_all");
                    question
                });
                let mut client = TcpStream::connect(addr).await.expect("TcpStream::connect");
                client.write_all(b"hello").await.expect("write_all");
                let answer = read_exact(&mut client, 5).await;
                let question = server.await;
                let mut rest = [0u8; 8];
                let end = client.read(&mut rest).await.expect("read at end of file");
                (question, answer, end)
            })
        });
        assert_eq!(
            question, b"hello",
            "the server task must read what the client wrote"
        );
        assert_eq!(
            answer, b"world",
            "the client must read what the server task wrote"
        );
        assert_eq!(
            end, 0,
            "once the server task has dropped its stream, the client's read must return 0 (end \
             of file): dropping a TcpStream closes the connection"
        );
    });
}

#[test]
fn dropping_sockets_removes_their_registrations() {
    graded(|| {
        let counts = on_runtime("registrations of a listener and a connection", |runtime| {
            let mut counts = vec![runtime.registrations()];
            runtime.block_on(async {
                {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    counts.push(runtime.registrations());
                    {
                        let _client = TcpStream::connect(listener.local_addr().unwrap())
                            .await
                            .expect("connect");
                        let _server = listener.accept().await.expect("accept");
                        counts.push(runtime.registrations());
                    } // Both ends of the connection are dropped here,
                    counts.push(runtime.registrations());
                } // and the listener here.
                counts.push(runtime.registrations());
            });
            counts
        });
        assert_eq!(
            counts,
            [0, 1, 3, 1, 0],
            "Runtime::registrations() counts the sources registered with the reactor: none at \
             first, the listener, then both ends of a connection; dropping a socket must \
             deregister it and free its slot"
        );
    });
}

#[test]
fn server_answers_ping_and_set_then_get() {
    graded(|| {
        let mut client = Client::connect(start_server());
        assert_eq!(
            client.must_call(&["PING"], "PING on your lab 7 server"),
            Reply::Simple("PONG".into())
        );
        assert_eq!(
            client.must_call(&["SET", "lang", "rust"], "SET"),
            Reply::ok()
        );
        assert_eq!(
            client.must_call(&["GET", "lang"], "GET after SET on the same connection"),
            Reply::Bulk(Bytes::from_static(b"rust")),
            "GET must see the SET: one Store for the whole server (an Rc<RefCell<Store>>)"
        );
    });
}

#[test]
fn server_sleep_replies_after_the_wait() {
    graded(|| {
        let mut client = Client::connect(start_server());
        let started = Instant::now();
        let reply = client.must_call(&["SLEEP", "100"], "SLEEP 100");
        let elapsed = started.elapsed();
        assert_eq!(reply, Reply::slept(100));
        assert!(
            elapsed >= Duration::from_millis(100),
            "SLEEP 100 was answered after {elapsed:?}: await your sleep before replying"
        );
    });
}

#[test]
fn server_keeps_the_connection_after_an_error_and_closes_it_after_quit() {
    graded(|| {
        let mut client = Client::connect(start_server());
        let reply = client.must_call(&["FLY", "away"], "an unknown command");
        assert!(
            matches!(reply, Reply::Error(_)),
            "an unknown command gets an error reply, got {reply}"
        );
        assert_eq!(
            client.must_call(&["PING"], "PING after an unknown command"),
            Reply::Simple("PONG".into()),
            "the connection must stay open after an error reply"
        );
        assert_eq!(client.must_call(&["QUIT"], "QUIT"), Reply::ok());
        assert!(
            client.wait_for_close(),
            "after QUIT's +OK the server must close the connection (return from the \
             connection's task: dropping the stream closes it)"
        );
    });
}

#[test]
fn server_serves_two_clients_in_turns() {
    graded(|| {
        let addr = start_server();
        let mut alice = Client::connect(addr);
        let mut bob = Client::connect(addr);
        alice.must_call(&["SET", "who", "alice"], "alice's SET");
        assert_eq!(
            bob.must_call(&["GET", "who"], "bob's GET after alice's SET"),
            Reply::Bulk(Bytes::from_static(b"alice"))
        );
        bob.must_call(&["SET", "who", "bob"], "bob's SET");
        assert_eq!(
            alice.must_call(&["GET", "who"], "alice's second request, after bob's"),
            Reply::Bulk(Bytes::from_static(b"bob")),
            "each connection needs a task of its own (spawn one per accepted client), woken \
             whenever its own socket is ready"
        );
    });
}
