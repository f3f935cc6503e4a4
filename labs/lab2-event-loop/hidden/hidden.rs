//! Hidden tests for lab 2: each one guards one mistake students make. Never released.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use pretty_assertions::assert_eq;
use support::client::Client;
use support::grading::graded;
use support::probe::{cpu_time, open_fds, rss_bytes, thread_count};
use support::testing::{
    in_background, local_listener, raise_open_files_limit, stop_and_continue_this_process,
    with_descriptors_exhausted,
};
use support::{Reply, Request, MAX_FRAME};

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

fn pong() -> Reply {
    Reply::Simple("PONG".into())
}

/// A value whose bytes say which one it is, so a reply for the wrong request shows.
fn value(index: usize, len: usize) -> String {
    let byte = b'a' + (index % 26) as u8;
    String::from_utf8(vec![byte; len]).unwrap()
}

// Mistake: a thread per connection (or any thread that grows with the clients).
#[test]
fn five_hundred_clients_share_one_thread() {
    graded(|| {
        raise_open_files_limit(4096);
        let addr = start_server();
        let mut first = Client::connect(addr);
        first.must_call(&["PING"], "the first client");
        let baseline = thread_count().expect("/proc/self/status");
        let mut clients = vec![first];
        // In batches: the listen backlog holds only 128 connections waiting to be accepted.
        for batch in 0..5 {
            let mut fresh: Vec<Client> = (0..100).map(|_| Client::connect(addr)).collect();
            for (index, client) in fresh.iter_mut().enumerate() {
                let reply = client.must_call(
                    &["PING"],
                    &format!("client {} of 500", batch * 100 + index + 1),
                );
                assert_eq!(reply, pong());
            }
            clients.extend(fresh);
        }
        let threads = thread_count().unwrap();
        assert!(
            threads <= baseline,
            "with 500 clients connected the process has {threads} threads, {} more than with one: \
             the event loop must serve every client on its own single thread",
            threads - baseline
        );
    });
}

// Mistake: sleeping on the loop's thread (std::thread::sleep in any disguise) for SLEEP.
#[test]
fn sleeping_client_does_not_delay_other_clients() {
    graded(|| {
        let addr = start_server();
        let mut sleeper = Client::connect(addr);
        sleeper.must_call(&["PING"], "PING before the SLEEP");
        sleeper.send(&["SLEEP", "5000"]);
        let mut other = Client::connect(addr);
        other.set_timeout(Duration::from_millis(2500));
        let started = Instant::now();
        let reply = other.must_call(
            &["PING"],
            "PING while another client sleeps 5 s (SLEEP must be a deadline in a timer heap that \
             sets poll's timeout, never a sleep on the loop's thread)",
        );
        assert_eq!(reply, pong(), "answered after {:?}", started.elapsed());
    });
}

// Mistake: answering the requests after a SLEEP before the SLEEP itself (out of order).
#[test]
fn pipelined_requests_after_a_sleep_are_answered_in_order() {
    graded(|| {
        let mut client = Client::connect(start_server());
        let mut packet = Request::new(["SLEEP", "50"]).to_resp();
        packet.extend_from_slice(&Request::new(["SET", "k", "after"]).to_resp());
        packet.extend_from_slice(b"GET k\r\nPING\r\n");
        client.send_raw(&packet);
        let expected = [
            Reply::slept(50),
            Reply::ok(),
            Reply::Bulk(Bytes::from_static(b"after")),
            pong(),
        ];
        for (index, want) in expected.iter().enumerate() {
            let got = client.read_reply().unwrap_or_else(|e| {
                panic!("reply {index} to a pipelined SLEEP, SET, GET, PING: {e}")
            });
            assert_eq!(
                &got, want,
                "replies must come in request order: requests behind a SLEEP wait until it has ended"
            );
        }
    });
}

// Mistake: one read per readable event. Edge-triggered readiness never reports bytes that
// were already waiting, so they sit in the kernel forever.
#[test]
fn burst_behind_a_sleep_is_read_until_would_block() {
    graded(|| {
        let mut client = Client::connect(start_server());
        const SETS: usize = 600;
        // 375 KB in one write, held up behind a SLEEP: by the time the loop answers, most of it
        // waits in the kernel, announced by one edge at most.
        let mut burst = Request::new(["SLEEP", "200"]).to_resp();
        for index in 0..SETS {
            burst.extend_from_slice(format!("SET burst {}\r\n", value(index, 600)).as_bytes());
        }
        burst.extend_from_slice(b"GET burst\r\n");
        client.send_raw(&burst);
        let (mut slept, mut stored, mut last) = (0, 0, None);
        for index in 0..SETS + 2 {
            match client.read_reply() {
                Ok(reply) if reply == Reply::slept(200) => slept += 1,
                Ok(reply) if reply == Reply::ok() => stored += 1,
                Ok(Reply::Bulk(bytes)) => last = Some(bytes),
                Ok(other) => panic!("unexpected reply {other} in a burst of SETs"),
                Err(e) => panic!(
                    "only {index} of {} replies to a 375 KB burst of pipelined requests ({e}): with \
                     edge-triggered readiness, read until WouldBlock, and resume reading yourself after \
                     a pause (no new event announces bytes already waiting)",
                    SETS + 2
                ),
            }
        }
        assert_eq!(
            (slept, stored),
            (1, SETS),
            "one +SLEPT and {SETS} +OK replies"
        );
        let last = last.expect("the final GET's value");
        assert!(
            last.as_ref() == value(SETS - 1, 600).as_bytes(),
            "the final GET must see the last SET of the burst"
        );
    });
}

// Mistake: a write that would block is retried in a loop (or done blocking), so one client
// that does not read its replies stalls the loop for everyone.
#[test]
fn slow_reader_does_not_stall_other_clients() {
    graded(|| {
        let addr = start_server();
        let mut hoarder = Client::connect(addr);
        hoarder.must_call(
            &["SET", "big", &value(0, 60 * 1024)],
            "SET of a 60 KiB value",
        );
        let mut requests = Vec::new();
        for _ in 0..300 {
            requests.extend_from_slice(b"GET big\r\n");
        }
        // 18 MB of replies that this client never reads.
        hoarder.send_raw(&requests);
        let mut other = Client::connect(addr);
        for round in 0..3 {
            let reply = other.must_call(
                &["PING"],
                &format!(
                    "PING {round} while another client does not read 18 MB of replies (keep unsent \
                     output in the connection and wait for a writable event; never wait in a loop)"
                ),
            );
            assert_eq!(reply, pong());
        }
    });
}

// Mistake: a partial write whose unsent rest is dropped (or sent twice).
#[test]
fn sixty_kib_replies_survive_partial_writes() {
    graded(|| {
        let mut client = Client::connect(start_server());
        const VALUES: usize = 26;
        const SIZE: usize = 60 * 1024;
        for index in 0..VALUES {
            let key = format!("v{index}");
            client.must_call(&["SET", &key, &value(index, SIZE)], "SET of a 60 KiB value");
        }
        const GETS: usize = 200;
        let mut requests = Vec::new();
        for index in 0..GETS {
            requests.extend_from_slice(format!("GET v{}\r\n", index % VALUES).as_bytes());
        }
        client.send_raw(&requests);
        // Let 12 MB of replies pile up unread, so the server's writes fill the socket and
        // come back short.
        thread::sleep(Duration::from_millis(100));
        for index in 0..GETS {
            let reply = client.read_reply().unwrap_or_else(|e| {
                panic!("reply {index} of {GETS} (60 KiB each): {e}; after a partial write, keep the unwritten rest")
            });
            let Reply::Bulk(bytes) = &reply else {
                panic!("GET {index} got {reply} instead of a 60 KiB value: the reply stream is corrupt");
            };
            let expected = value(index % VALUES, 1).as_bytes()[0];
            assert!(
                bytes.len() == SIZE && bytes.iter().all(|&b| b == expected),
                "reply {index} is not the value asked for ({} bytes): after a partial write, send the \
                 rest, starting exactly where the write stopped",
                bytes.len()
            );
        }
    });
}

// Mistake: treating what one read returns as a whole request.
#[test]
fn byte_by_byte_requests_are_answered_once_complete() {
    graded(|| {
        let mut client = Client::connect(start_server());
        let mut bytes = Request::new(["ECHO", "one byte at a time"]).to_resp();
        bytes.extend_from_slice(b"PING\r\n");
        for byte in bytes {
            client.send_raw(&[byte]);
            // Each byte in a segment of its own: the loop sees many one-byte reads.
            thread::sleep(Duration::from_millis(1));
        }
        let reply = client
            .read_reply()
            .unwrap_or_else(|e| panic!("a request sent byte by byte: {e}"));
        assert_eq!(
            reply,
            Reply::Bulk(Bytes::from_static(b"one byte at a time"))
        );
        assert_eq!(
            client
                .read_reply()
                .expect("the inline PING sent byte by byte"),
            pong()
        );
    });
}

// Mistake: a loop that spins (a zero poll timeout when no timer is pending, polling "to
// check") instead of sleeping in the kernel.
#[test]
fn idle_server_uses_no_cpu() {
    graded(|| {
        let addr = start_server();
        let mut client = Client::connect(addr);
        client.must_call(&["PING"], "PING to start the loop");
        let window = Duration::from_millis(300);
        let measure = || {
            let before = cpu_time().expect("/proc/self/task/*/schedstat");
            thread::sleep(window);
            cpu_time().unwrap() - before
        };
        let idle = measure();
        assert!(
            idle < window / 5,
            "the process used {idle:?} of CPU in {window:?} with nothing to do: the loop must block in \
             poll with no timeout (None) when no SLEEP is pending"
        );
        let mut sleeper = Client::connect(addr);
        sleeper.send(&["SLEEP", "2000"]);
        client.must_call(&["PING"], "PING while another client sleeps");
        let waiting = measure();
        assert!(
            waiting < window / 5,
            "the process used {waiting:?} of CPU in {window:?} while a SLEEP was pending: poll's timeout \
             must be the time left until the earliest deadline, not zero"
        );
    });
}

// Mistake: finished connections never deregistered and closed (their sockets leak).
#[test]
fn finished_connections_are_closed() {
    graded(|| {
        let addr = start_server();
        let mut first = Client::connect(addr);
        first.must_call(&["PING"], "the first client");
        let baseline = open_fds().expect("/proc/self/fd");
        for round in 0..4 {
            let mut clients: Vec<Client> = (0..50).map(|_| Client::connect(addr)).collect();
            for client in clients.iter_mut() {
                client.must_call(&["PING"], &format!("a client of round {round}"));
            }
            // Half leave with QUIT, half just hang up.
            for (index, mut client) in clients.into_iter().enumerate() {
                if index % 2 == 0 {
                    assert_eq!(client.must_call(&["QUIT"], "QUIT"), Reply::ok());
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut open = open_fds().unwrap();
        while open > baseline + 2 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
            open = open_fds().unwrap();
        }
        assert!(
            open <= baseline + 2,
            "200 clients came and went, and the process still has {} more descriptors open than \
             before: on end-of-file, QUIT or an error, deregister the connection and drop its stream",
            open - baseline
        );
    });
}

// Mistake: a vanishing or garbled client crashes the loop for everyone.
#[test]
fn client_vanishing_mid_frame_or_sending_garbage_does_not_disturb_others() {
    graded(|| {
        let addr = start_server();
        let mut bystander = Client::connect(addr);
        bystander.must_call(&["SET", "k", "v"], "first SET");
        let mut vanishing = Client::connect(addr);
        vanishing.send_raw(b"*2\r\n$3\r\nGET\r\n$1");
        drop(vanishing);
        let mut garbled = Client::connect(addr);
        garbled.send_raw(b"*x\r\n");
        let reply = garbled.read_reply().expect("an error reply to garbage");
        assert!(
            matches!(reply, Reply::Error(_)),
            "garbage must get an error reply, got {reply}"
        );
        assert!(
            garbled.wait_for_close(),
            "after a protocol error the connection must be closed"
        );
        let reply = bystander.must_call(
            &["GET", "k"],
            "an existing client after others vanished and sent garbage",
        );
        assert_eq!(reply, Reply::Bulk(Bytes::from_static(b"v")));
        let mut newcomer = Client::connect(addr);
        assert_eq!(
            newcomer.must_call(&["PING"], "a new client after the trouble"),
            pong()
        );
    });
}

// Mistake: buffering a huge frame instead of refusing it.
#[test]
fn oversized_frame_gets_an_error_and_the_connection_closes() {
    graded(|| {
        let mut client = Client::connect(start_server());
        client.send(&["SET", "big", &"x".repeat(MAX_FRAME + 1)]);
        let reply = client.read_reply().expect("a reply to a frame over 64 KiB");
        assert_eq!(reply, Reply::error("ERR frame too large"));
        assert!(
            client.wait_for_close(),
            "after a frame too large the connection must be closed"
        );
    });
}

// Mistake: no backpressure. A client that sends requests and never reads the replies makes a
// server without a limit on unsent output buffer every reply: memory without bound.
#[test]
fn client_that_never_reads_does_not_make_the_server_buffer_without_bound() {
    graded(|| {
        let addr = start_server();
        let mut hoarder = Client::connect(addr);
        hoarder.must_call(
            &["SET", "big", &value(0, 60 * 1024)],
            "SET of a 60 KiB value",
        );
        let before = rss_bytes().expect("resident memory, from /proc/self/status");
        // 9 KB of requests, 60 MB of replies that this client never reads.
        hoarder.send_raw("GET big\r\n".repeat(1000).as_bytes());
        thread::sleep(Duration::from_millis(500));
        let mut other = Client::connect(addr);
        other.must_call(
            &["PING"],
            "PING while another client does not read 60 MB of replies",
        );
        let grown = rss_bytes().unwrap().saturating_sub(before);
        assert!(
            grown < 16 << 20,
            "a client sent 1000 GETs of a 60 KiB value and read none of the replies, and the \
             server's memory grew by {} MiB: it keeps answering a client that does not read, \
             into an output buffer without limit. Past a limit of unsent output (a few times \
             MAX_FRAME), stop reading and answering that client, and resume once its output \
             has drained",
            grown >> 20
        );
        drop(hoarder);
    });
}

// Mistake: a timer or an event that outlives its connection: the deadline of a client that
// left mid-SLEEP ends the SLEEP of the next client in the same slot (or token), or names an
// empty slot and crashes the loop.
#[test]
fn a_closed_connections_timer_does_not_disturb_the_next_clients() {
    graded(|| {
        let addr = start_server();
        // Eight clients leave in the middle of a SLEEP 150: their deadlines stay on the heap,
        // naming slots that five new clients may take, and three that stay empty.
        let leaving: Vec<Client> = (0..8)
            .map(|_| {
                let mut leaving = Client::connect(addr);
                leaving.must_call(&["PING"], "PING before a SLEEP 150");
                leaving.send(&["SLEEP", "150"]);
                leaving
            })
            .collect();
        // Let the loop read the SLEEPs and set their deadlines, then hang up.
        thread::sleep(Duration::from_millis(20));
        drop(leaving);
        thread::sleep(Duration::from_millis(30));
        // Five new clients, maybe in the same slots, sleep longer: nothing may end their
        // SLEEP before its own deadline. Each reply is timed by a thread of its own.
        let readers: Vec<_> = (0..5)
            .map(|index| {
                let mut sleeper = Client::connect(addr);
                sleeper.must_call(&["PING"], &format!("new client {index}'s PING"));
                let sent = Instant::now();
                sleeper.send(&["SLEEP", "600"]);
                thread::spawn(move || {
                    let reply = sleeper.read_reply();
                    (sent.elapsed(), reply)
                })
            })
            .collect();
        for (index, reader) in readers.into_iter().enumerate() {
            let (after, reply) = reader.join().expect("a reader thread");
            match reply {
                Ok(reply) => assert_eq!(
                    reply,
                    Reply::slept(600),
                    "new client {index}'s reply to SLEEP 600"
                ),
                Err(e) => panic!(
                    "new client {index} got no reply to SLEEP 600 ({e}) after earlier clients \
                     had left in the middle of a SLEEP: did a timer of a closed connection \
                     crash the loop? A timer entry (or an event) may name a connection that \
                     has closed, or a slot that a new connection now holds: check that it is \
                     still the same connection (an id next to the slot) before driving it"
                ),
            }
            assert!(
                after >= Duration::from_millis(590),
                "new client {index}'s SLEEP 600 was answered after {after:?}: the deadline of a \
                 client that had left mid-SLEEP ended the SLEEP of a new connection in its slot. \
                 Keep an id (or generation) next to each timer entry and drive the connection \
                 only if the slot still holds the same one, and let drive decide by the \
                 deadline it stored itself"
            );
        }
        let mut newcomer = Client::connect(addr);
        assert_eq!(
            newcomer.must_call(&["PING"], "a new client once the sleepers are done"),
            pong()
        );
    });
}

/// How a flooding client fared: `sent` bytes of requests, and whether the server stopped
/// reading them (a write stayed blocked for half a second).
struct Flood {
    sent: usize,
    stalled: bool,
}

/// Sends `GET big` requests on a raw socket without ever reading a reply, until the server stops
/// reading them, `limit` bytes have gone out, or 5 s have passed (a server that reads slowly but
/// without end never stalls the client either).
fn flood_until_stalled(addr: SocketAddr, limit: usize) -> (TcpStream, Flood) {
    let mut flood = TcpStream::connect(addr).expect("connecting the flooding client");
    flood
        .set_write_timeout(Some(Duration::from_millis(500)))
        .expect("a write timeout");
    let chunk = "GET big\r\n".repeat(7000);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut sent = 0;
    while sent < limit && Instant::now() < deadline {
        match flood.write(chunk.as_bytes()) {
            Ok(n) => sent += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return (
                    flood,
                    Flood {
                        sent,
                        stalled: true,
                    },
                );
            }
            Err(e) => panic!(
                "sending requests failed after {} KiB ({e}): the server closed a client that was \
                 only slow to read",
                sent >> 10
            ),
        }
    }
    (
        flood,
        Flood {
            sent,
            stalled: false,
        },
    )
}

// Mistake: backpressure on the output only. A server that stops answering a client that does
// not read, but goes on reading its requests, buffers the requests without bound instead.
#[test]
fn server_stops_reading_a_client_that_never_reads_its_replies() {
    graded(|| {
        let addr = start_server();
        let mut setter = Client::connect(addr);
        setter.must_call(
            &["SET", "big", &value(0, 60 * 1024)],
            "SET of a 60 KiB value",
        );
        // Kernel buffers take several MiB before TCP's flow control stops the client; a server
        // that keeps reading takes everything.
        let (flood, outcome) = flood_until_stalled(addr, 96 << 20);
        assert!(
            outcome.stalled,
            "a client sent {} MiB of GETs of a 60 KiB value without reading a single reply, and \
             the server was still reading them: it stopped answering (or never held its \
             output), but not reading, so the requests pile up without limit. While a client \
             owes too much output, stop reading it too (wants_input), so that TCP's flow \
             control stops the client",
            outcome.sent >> 20
        );
        let mut other = Client::connect(addr);
        assert_eq!(
            other.must_call(
                &["PING"],
                "PING while another client, held back by backpressure, keeps sending (an event \
                 for a connection that can neither write nor read must end its drive at once: \
                 no loop until the socket is writable)"
            ),
            pong()
        );
        drop(flood);
    });
}

// Mistake: a read or write error taken for "would block", or retried for ever: a client that
// resets its connection (closes it with replies unread) leaves a connection behind that is
// never closed, or spins the loop.
#[test]
fn clients_that_reset_their_connection_are_closed() {
    graded(|| {
        let addr = start_server();
        let mut setter = Client::connect(addr);
        setter.must_call(
            &["SET", "big", &value(0, 60 * 1024)],
            "SET of a 60 KiB value",
        );
        let baseline = open_fds().expect("/proc/self/fd");
        // Idle clients: closing with a reply unread sends a reset, and the server's next read
        // fails with ECONNRESET.
        for _ in 0..20 {
            let mut resetting = TcpStream::connect(addr).expect("connecting");
            resetting
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("a read timeout");
            resetting.write_all(b"PING\r\nPING\r\n").expect("sending");
            let mut peeked = [0u8; 14];
            let deadline = Instant::now() + Duration::from_secs(5);
            while resetting.peek(&mut peeked).expect("replies to two PINGs") < peeked.len() {
                assert!(Instant::now() < deadline, "no replies to two PINGs");
                thread::sleep(Duration::from_millis(1));
            }
        }
        // A client that is owed megabytes of output: its connection's next write fails.
        let (flood, _) = flood_until_stalled(addr, 96 << 20);
        drop(flood);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut open = open_fds().unwrap();
        while open > baseline && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
            open = open_fds().unwrap();
        }
        assert!(
            open <= baseline,
            "21 clients reset their connections (closed them with replies unread), and {} of \
             their sockets are still open in the server: a read or write error other than \
             WouldBlock and Interrupted means the connection is broken; end drive with Err, then \
             deregister and drop it",
            open - baseline
        );
        let mut other = Client::connect(addr);
        assert_eq!(
            other.must_call(&["PING"], "PING after clients reset their connections"),
            pong()
        );
    });
}

// Mistake: a deadline checked against the wrong clock or the wrong condition: a request that
// arrives while a SLEEP waits ends the SLEEP early.
#[test]
fn a_request_that_arrives_during_a_sleep_does_not_end_it_early() {
    graded(|| {
        let mut client = Client::connect(start_server());
        client.must_call(&["PING"], "PING before the SLEEP");
        let sent = Instant::now();
        client.send(&["SLEEP", "400"]);
        // A second request, a moment later, wakes the connection while its SLEEP is running.
        thread::sleep(Duration::from_millis(100));
        client.send(&["PING"]);
        let reply = client.read_reply().expect("a reply to SLEEP 400");
        let after = sent.elapsed();
        assert_eq!(
            reply,
            Reply::slept(400),
            "the first reply must be the SLEEP's"
        );
        assert!(
            after >= Duration::from_millis(390),
            "SLEEP 400 was answered after {after:?}, when a PING arrived during it: a readable \
             event for a sleeping connection must not end its SLEEP. In drive, answer only once \
             `now` has reached the deadline"
        );
        assert_eq!(client.read_reply().expect("a reply to the PING"), pong());
    });
}

// Mistake: `poll` failing with Interrupted taken as fatal. Suspending the server (Ctrl-Z, then
// `fg`) makes epoll_wait return EINTR on Linux, and a loop that returns the error dies.
#[test]
fn the_loop_survives_being_stopped_and_continued() {
    graded(|| {
        let addr = start_server();
        let mut client = Client::connect(addr);
        for round in 0..3 {
            client.must_call(&["PING"], &format!("PING before stop {round}"));
            // Let the loop go back to waiting in poll.
            thread::sleep(Duration::from_millis(20));
            stop_and_continue_this_process();
            let reply = client.must_call(
                &["PING"],
                &format!(
                    "PING after the process was stopped and continued ({round}): poll returns \
                     Err(Interrupted) then; loop and poll again instead of returning the error"
                ),
            );
            assert_eq!(reply, pong());
        }
    });
}

// Mistake: an `accept` error other than WouldBlock retried in a loop: out of descriptors
// (EMFILE), the listener stays readable and the loop spins in accept, serving no one.
#[test]
fn running_out_of_descriptors_does_not_stall_the_loop() {
    graded(|| {
        let addr = start_server();
        let mut client = Client::connect(addr);
        client.must_call(&["PING"], "PING before the descriptors run out");
        with_descriptors_exhausted(1, || {
            // This client takes the last free descriptor: the server cannot accept it.
            let _waiting = TcpStream::connect(addr).expect("connecting with the last descriptor");
            let reply = client.must_call(
                &["PING"],
                "PING from a connected client while accept fails with EMFILE (too many open \
                 files): log an accept error other than WouldBlock and Interrupted and go back \
                 to the loop; retrying it at once spins for ever",
            );
            assert_eq!(reply, pong());
        });
    });
}
