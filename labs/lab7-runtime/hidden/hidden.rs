//! Hidden tests for lab 7: each one guards one mistake students make. Never released.
//!
//! They use the public API only (`Runtime`, `spawn`, `sleep`, `net`, `serve` and
//! `Runtime::registrations`), so that any correct design passes. Every test is bounded in
//! time: a runtime that loses a wake-up makes its test fail with a message, never hang for
//! good. Runtimes are built on the thread that runs them: no test needs `Runtime: Send`.

// The tests drop sockets in a chosen order; in the stubs, sockets are empty structs.
#![allow(clippy::drop_non_drop)]

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lab7::net::{TcpListener, TcpStream};
use lab7::{sleep, spawn, Runtime};
use pretty_assertions::assert_eq;
use support::client::Client;
use support::grading::graded;
use support::probe::{cpu_time, open_fds, thread_count};
use support::tasks::{gate, wait_until, CountingWaker, Probe};
use support::testing::{
    in_background, raise_open_files_limit, stop_and_continue_this_process,
    with_descriptors_exhausted, within,
};
use support::{Reply, Request, Store};

const LIMIT: Duration = Duration::from_secs(5);

/// How much CPU time the process may use in 300 ms while the runtime has nothing to do. A
/// runtime that waits in `poll` uses well under a millisecond; one that spins uses most of the
/// 300 ms, and still over 100 ms on a loaded machine.
const IDLE_CPU_LIMIT: Duration = Duration::from_millis(60);

fn any_local_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn pong() -> Reply {
    Reply::Simple("PONG".into())
}

/// Runs `body` with a new runtime on a helper thread; fails the test with `what` if it takes
/// longer than `limit`.
fn on_runtime<T, B>(limit: Duration, what: &str, body: B) -> T
where
    T: Send + 'static,
    B: FnOnce(&Runtime) -> T + Send + 'static,
{
    within(limit, what, move || {
        let runtime = Runtime::new().expect("Runtime::new() failed");
        body(&runtime)
    })
}

/// Starts `lab7::serve` on a runtime of its own thread, after `setup` (which may spawn tasks
/// of its own on that runtime); returns the server's address.
fn start_server_with(setup: impl FnOnce() + Send + 'static) -> SocketAddr {
    let (addr_tx, addr_rx) = mpsc::channel();
    in_background("lab7-server", move || {
        let runtime = Runtime::new().expect("Runtime::new() failed");
        let result = runtime.block_on(async move {
            let listener = TcpListener::bind(any_local_port())?;
            let _ = addr_tx.send(listener.local_addr()?);
            setup();
            lab7::serve(listener, Rc::new(RefCell::new(Store::new()))).await
        });
        eprintln!("lab7::serve returned {result:?}");
    });
    addr_rx.recv_timeout(LIMIT).expect(
        "the server never reported its address: TcpListener::bind or local_addr failed, or \
         block_on never polled the server's future",
    )
}

fn start_server() -> SocketAddr {
    start_server_with(|| {})
}

/// Connects to `listener` and accepts the connection: (client end, server end).
async fn pair(listener: &TcpListener, addr: SocketAddr) -> (TcpStream, TcpStream) {
    let client = TcpStream::connect(addr)
        .await
        .expect("TcpStream::connect failed");
    let (server, _) = listener.accept().await.expect("accept failed");
    (client, server)
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

/// `Some(output)` if `future` finishes before a `sleep(limit)` of the runtime under test.
async fn or_timeout<F: Future>(future: F, limit: Duration) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut timer = pin!(sleep(limit));
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// Lets the runtime go round its loop once (other tasks, the reactor) before going on.
async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

/// A one-shot signal between two tasks of one runtime.
#[derive(Clone, Default)]
struct Signal(Rc<RefCell<(bool, Option<Waker>)>>);

impl Signal {
    fn raise(&self) {
        let waker = {
            let mut state = self.0.borrow_mut();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    async fn wait(&self) {
        poll_fn(|cx| {
            let mut state = self.0.borrow_mut();
            if state.0 {
                return Poll::Ready(());
            }
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// A byte of a recognisable stream: where it is tells what it must be.
fn pattern(offset: usize) -> u8 {
    (offset % 251) as u8
}

// Mistake 1: busy looping when idle (a zero or tiny poll timeout, polling "to check").
#[test]
fn an_idle_runtime_uses_no_cpu() {
    graded(|| {
        raise_open_files_limit(1024);
        let addr = start_server();
        let mut clients: Vec<Client> = (0..100).map(|_| Client::connect(addr)).collect();
        for (index, client) in clients.iter_mut().enumerate() {
            client.must_call(&["PING"], &format!("idle client {} of 100", index + 1));
        }
        let window = Duration::from_millis(300);
        let before = cpu_time().expect("/proc/self/task/*/schedstat");
        thread::sleep(window);
        let idle = cpu_time().unwrap() - before;
        assert!(
            idle < IDLE_CPU_LIMIT,
            "the process used {idle:?} of CPU in {window:?} while the runtime had 100 idle \
             connections and nothing to do: with no task ready and no timer pending, wait in \
             mio::Poll::poll with no timeout (None), never a zero or tiny one"
        );
        let mut sleeper = Client::connect(addr);
        sleeper.must_call(&["PING"], "a client about to SLEEP");
        let before = cpu_time().unwrap();
        let reply = sleeper.must_call(&["SLEEP", "300"], "SLEEP 300 beside 100 idle clients");
        let waiting = cpu_time().unwrap() - before;
        assert_eq!(reply, Reply::slept(300));
        assert!(
            waiting < IDLE_CPU_LIMIT,
            "the process used {waiting:?} of CPU while the only thing pending was a 300 ms \
             sleep: the poll timeout must be the time until the earliest deadline, not zero"
        );
    });
}

// Mistake 2: a second thread for the timer or the reactor (or a thread per connection).
#[test]
fn a_thousand_clients_are_served_by_the_runtime_thread_alone() {
    graded(|| {
        raise_open_files_limit(4096);
        let baseline = thread_count().expect("/proc/self/status");
        let addr = start_server_with(|| {
            // A task that always has a sleep pending: the timers are in use throughout.
            spawn(async {
                loop {
                    sleep(Duration::from_millis(10)).await;
                }
            });
        });
        let mut clients = Vec::new();
        // In batches: the listen backlog holds only 128 connections waiting to be accepted.
        for batch in 0..10 {
            let mut fresh: Vec<Client> = (0..100).map(|_| Client::connect(addr)).collect();
            for (index, client) in fresh.iter_mut().enumerate() {
                let reply = client.must_call(
                    &["PING"],
                    &format!("client {} of 1000", batch * 100 + index + 1),
                );
                assert_eq!(reply, pong());
            }
            clients.extend(fresh);
        }
        let threads = thread_count().unwrap();
        assert!(
            threads <= baseline + 1,
            "with 1000 clients connected and a task sleeping in a loop, the process has {} \
             threads besides the test's own, where the runtime's one thread should be all: \
             the timers live in the runtime (their earliest deadline is poll's timeout) and \
             the reactor is the runtime's own wait in poll; no thread for either, nor per \
             connection",
            threads - baseline
        );
        drop(clients);
    });
}

// Mistake 3: a lost wake-up on WouldBlock (the waker not stored, or stored where the next
// event does not find it).
#[test]
fn a_task_that_got_would_block_is_woken_when_its_socket_is_ready() {
    graded(|| {
        // Reading (and accepting): the client waits for each answer before it sends again, so
        // the server's next read always finds nothing and must wait for the next packet.
        let (rounds_tx, rounds_rx) = mpsc::channel();
        let client = on_runtime(
            LIMIT,
            "20 clients connecting one after the other, each sending 20 messages that wait for \
             their answer: a task that got WouldBlock from accept or read was never woken when \
             the next client or packet came (store the task's waker where the reactor finds it \
             at the next event, every time an operation returns Pending)",
            move |runtime| {
                runtime.block_on(async move {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    let client = thread::spawn(move || {
                        let mut rounds = 0;
                        for client in 0..20u32 {
                            let mut stream = std::net::TcpStream::connect(addr).unwrap();
                            stream.set_nodelay(true).unwrap();
                            stream.set_read_timeout(Some(LIMIT)).unwrap();
                            for round in 0..20u32 {
                                let message = (client * 100 + round).to_be_bytes();
                                stream.write_all(&message).unwrap();
                                let mut back = [0u8; 4];
                                if stream.read_exact(&mut back).is_err() || back != message {
                                    let _ = rounds_tx.send(rounds);
                                    return;
                                }
                                rounds += 1;
                            }
                        }
                        let _ = rounds_tx.send(rounds);
                    });
                    for _client in 0..20 {
                        let (mut stream, _) = listener.accept().await.expect("accept");
                        for _round in 0..20 {
                            let message = read_exact(&mut stream, 4).await;
                            stream.write_all(&message).await.expect("write_all");
                        }
                    }
                    client
                })
            },
        );
        let rounds = rounds_rx
            .recv_timeout(LIMIT)
            .expect("the clients never finished");
        let _ = client.join();
        assert_eq!(
            rounds, 400,
            "every message must come back to its client unchanged"
        );

        // Writing: 16 MiB to a client that starts reading late fills every buffer between
        // them, so the writes get WouldBlock and must wait for the socket to drain.
        const TOTAL: usize = 16 << 20;
        let (received_tx, received_rx) = mpsc::channel();
        on_runtime(
            LIMIT,
            "writing 16 MiB with TcpStream::write to a client that starts reading 100 ms late: \
             a task that got WouldBlock from write was never woken when the socket could take \
             more (store the waker for the writable event, separately from the reader's)",
            move |runtime| {
                runtime.block_on(async move {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    thread::spawn(move || {
                        let mut stream = std::net::TcpStream::connect(addr).unwrap();
                        stream.set_read_timeout(Some(LIMIT)).unwrap();
                        // Not a synchronisation: it lets the buffers fill up.
                        thread::sleep(Duration::from_millis(100));
                        let mut chunk = vec![0u8; 64 * 1024];
                        let mut received = 0;
                        while let Ok(read) = stream.read(&mut chunk) {
                            if read == 0 {
                                break;
                            }
                            let intact = chunk[..read]
                                .iter()
                                .enumerate()
                                .all(|(i, &byte)| byte == pattern(received + i));
                            if !intact {
                                break;
                            }
                            received += read;
                        }
                        let _ = received_tx.send(received);
                    });
                    let (mut stream, _) = listener.accept().await.expect("accept");
                    let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
                    let mut sent = 0;
                    while sent < TOTAL {
                        let written = stream.write(&data[sent..]).await.expect("write");
                        assert!(written > 0, "TcpStream::write wrote 0 bytes");
                        sent += written;
                    }
                })
            },
        );
        let received = received_rx
            .recv_timeout(LIMIT)
            .expect("the reading client never finished");
        assert_eq!(
            received, TOTAL,
            "the client must receive the 16 MiB intact, in order, and then end of file"
        );
    });
}

// Mistake 4: one read per wake-up instead of reading until WouldBlock: edge-triggered
// readiness never announces bytes that were already waiting.
#[test]
fn reads_go_on_until_would_block_for_a_big_request_and_for_pipelined_ones() {
    graded(|| {
        const TOTAL: usize = 1 << 20;
        let (read_so_far, done) = on_runtime(
            Duration::from_secs(8),
            "reading 1 MiB sent in 4 KiB packets",
            |runtime| {
                runtime.block_on(async {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    let (ack_tx, ack_rx) = mpsc::channel();
                    thread::spawn(move || {
                        let mut stream = std::net::TcpStream::connect(addr).unwrap();
                        stream.set_nodelay(true).unwrap();
                        stream.set_read_timeout(Some(LIMIT)).unwrap();
                        let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
                        for packet in data.chunks(4096) {
                            if stream.write_all(packet).is_err() {
                                return;
                            }
                        }
                        let mut ack = [0u8; 2];
                        let _ = ack_tx.send(stream.read_exact(&mut ack).is_ok() && &ack == b"ok");
                    });
                    let (mut stream, _) = listener.accept().await.expect("accept");
                    let progress = Rc::new(Cell::new(0usize));
                    let reading = {
                        let progress = Rc::clone(&progress);
                        async move {
                            let mut buf = vec![0u8; 8192];
                            while progress.get() < TOTAL {
                                let read = stream.read(&mut buf).await.expect("read");
                                assert!(read > 0, "end of file before the 1 MiB was read");
                                let at = progress.get();
                                assert!(
                                    buf[..read]
                                        .iter()
                                        .enumerate()
                                        .all(|(i, &byte)| byte == pattern(at + i)),
                                    "the bytes read at offset {at} are not the ones sent there"
                                );
                                progress.set(at + read);
                            }
                            stream.write_all(b"ok").await.expect("write_all");
                            stream
                        }
                    };
                    let finished = or_timeout(reading, Duration::from_secs(3)).await;
                    let acked = finished.is_some() && ack_rx.recv_timeout(LIMIT).unwrap_or(false);
                    (progress.get(), acked)
                })
            },
        );
        assert!(
            read_so_far == TOTAL && done,
            "after 3 s only {read_so_far} of the {TOTAL} bytes sent had been read: mio is \
             edge-triggered, so an operation may clear its readiness only when it gets \
             WouldBlock; a read that returned bytes leaves the socket ready, and the next read \
             must try again at once instead of waiting for an event that never comes"
        );

        let mut client = Client::connect(start_server());
        client.set_timeout(Duration::from_secs(3));
        const SETS: usize = 1500;
        let value = "v".repeat(100);
        let mut burst = Vec::new();
        for index in 0..SETS {
            burst.extend_from_slice(&Request::new(["SET", &format!("k{index}"), &value]).to_resp());
        }
        burst.extend_from_slice(b"GET k1499\r\n");
        client.send_raw(&burst);
        for index in 0..SETS {
            match client.read_reply() {
                Ok(reply) => assert_eq!(reply, Reply::ok(), "reply {index} of a burst of SETs"),
                Err(e) => panic!(
                    "only {index} of {SETS} replies to 200 KB of pipelined SETs ({e}): the \
                     server's reads must go on until WouldBlock; the requests already in the \
                     socket will not be announced again"
                ),
            }
        }
        assert_eq!(
            client
                .read_reply()
                .expect("the GET at the end of the burst"),
            Reply::Bulk(Bytes::from(value)),
            "the GET at the end of the burst must see the last SET"
        );
    });
}

// Mistake 5: partial writes dropped (or sent twice).
#[test]
fn sixty_kib_replies_reach_a_slow_reader_whole() {
    graded(|| {
        let mut client = Client::connect(start_server());
        const VALUES: usize = 26;
        const SIZE: usize = 60 * 1024;
        let value = |index: usize| String::from_utf8(vec![b'a' + index as u8; SIZE]).unwrap();
        for index in 0..VALUES {
            client.must_call(
                &["SET", &format!("v{index}"), &value(index)],
                "SET of a 60 KiB value",
            );
        }
        const GETS: usize = 200;
        let mut requests = Vec::new();
        for index in 0..GETS {
            requests.extend_from_slice(format!("GET v{}\r\n", index % VALUES).as_bytes());
        }
        client.send_raw(&requests);
        // Not a synchronisation: 12 MB of replies pile up unread, so the server's writes fill
        // the socket and come back short.
        thread::sleep(Duration::from_millis(100));
        for index in 0..GETS {
            let reply = client.read_reply().unwrap_or_else(|e| {
                panic!(
                    "reply {index} of {GETS} (60 KiB each): {e}; write_all must go on after a \
                     partial write, from where it stopped, until every byte is sent"
                )
            });
            let Reply::Bulk(bytes) = &reply else {
                panic!("GET {index} got {reply} instead of a 60 KiB value: the reply stream is corrupt");
            };
            let expected = b'a' + (index % VALUES) as u8;
            assert!(
                bytes.len() == SIZE && bytes.iter().all(|&b| b == expected),
                "reply {index} is not the value asked for ({} bytes): after a partial write, \
                 send the rest, starting exactly where the write stopped",
                bytes.len()
            );
        }
    });
}

// Mistake 6: waking every task on any event instead of the tasks of the ready source.
#[test]
fn an_event_wakes_only_the_tasks_waiting_on_its_socket() {
    graded(|| {
        let (idle_polls, echoes) = on_runtime(
            LIMIT,
            "50 tasks waiting on silent sockets while 200 echoes run on another one",
            |runtime| {
                runtime.block_on(async {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    let idle = Probe::new();
                    let mut silent_clients = Vec::new();
                    for _ in 0..50 {
                        let (client, mut socket) = pair(&listener, addr).await;
                        spawn(idle.watch(async move {
                            let mut buf = [0u8; 16];
                            let _ = socket.read(&mut buf).await;
                        }));
                        silent_clients.push(client);
                    }
                    let (mut active, mut echo) = pair(&listener, addr).await;
                    spawn(async move {
                        let mut buf = [0u8; 64];
                        while let Ok(read) = echo.read(&mut buf).await {
                            if read == 0 || echo.write_all(&buf[..read]).await.is_err() {
                                break;
                            }
                        }
                    });
                    let mut echoes = 0;
                    for round in 0..200u32 {
                        active
                            .write_all(&round.to_be_bytes())
                            .await
                            .expect("write_all");
                        let back = read_exact(&mut active, 4).await;
                        assert_eq!(back, round.to_be_bytes(), "echo {round}");
                        echoes += 1;
                    }
                    drop(silent_clients);
                    (idle.polls(), echoes)
                })
            },
        );
        assert_eq!(echoes, 200);
        assert!(
            idle_polls <= 100,
            "the 50 tasks waiting to read from silent sockets were polled {idle_polls} times in \
             all (50 first polls, and nothing new for them since) while 200 echoes ran on \
             another socket: an event must wake the tasks waiting on its own token, in its own \
             direction, and no other task"
        );
    });
}

// Mistake 7: sockets never deregistered, or their slots never freed.
#[test]
fn a_thousand_connect_close_cycles_leave_no_registration_or_descriptor_behind() {
    graded(|| {
        let counts = on_runtime(
            Duration::from_secs(8),
            "1000 connections opened, used and closed",
            |runtime| {
                runtime.block_on(async {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    let registrations = runtime.registrations();
                    let fds = open_fds().expect("/proc/self/fd");
                    for cycle in 0..1000 {
                        let (mut client, mut server) = pair(&listener, addr).await;
                        client.write_all(b"x").await.expect("write_all");
                        read_exact(&mut server, 1).await;
                        if cycle % 2 == 0 {
                            drop(client);
                            drop(server);
                        } else {
                            drop(server);
                            drop(client);
                        }
                    }
                    (
                        registrations,
                        runtime.registrations(),
                        fds,
                        open_fds().unwrap(),
                    )
                })
            },
        );
        let (registrations_before, registrations_after, fds_before, fds_after) = counts;
        assert_eq!(
            registrations_after, registrations_before,
            "after 1000 connections were opened and closed, Runtime::registrations() is \
             {registrations_after} instead of {registrations_before}: dropping a socket must \
             deregister it from mio and free its slot in the reactor's table"
        );
        assert!(
            fds_after <= fds_before + 2,
            "after 1000 connections were opened and closed the process has {} more descriptors \
             open than before: dropping a TcpStream must drop (close) its socket",
            fds_after.saturating_sub(fds_before)
        );
    });
}

// Mistake 8: a stale token (or a stale waker under a reused token) waking the wrong task.
#[test]
fn a_reused_token_never_wakes_the_task_of_the_old_socket() {
    graded(|| {
        let polls = on_runtime(
            LIMIT,
            "a task that dropped its socket and sleeps, while new sockets come and go",
            |runtime| {
                runtime.block_on(async {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    let (old_client, old_socket) = pair(&listener, addr).await;
                    let old = Probe::new();
                    let dropped = Signal::default();
                    let old_task = spawn(old.watch({
                        let dropped = dropped.clone();
                        async move {
                            let mut socket = old_socket;
                            let mut buf = [0u8; 16];
                            {
                                // One poll of a read with nothing to read: its waker is stored.
                                let mut read = pin!(socket.read(&mut buf));
                                let first = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
                                assert!(
                                    first.is_pending(),
                                    "a read on a socket with nothing to read must be Pending"
                                );
                            }
                            drop(socket);
                            dropped.raise();
                            sleep(Duration::from_millis(300)).await;
                        }
                    }));
                    dropped.wait().await;
                    // New sockets take the freed slots, and with them maybe the old token.
                    // They get bytes (readable events) before their own task reads them.
                    let mut pairs = Vec::new();
                    for _ in 0..20 {
                        let (mut client, mut server) = pair(&listener, addr).await;
                        client.write_all(b"a").await.expect("write_all");
                        server.write_all(b"b").await.expect("write_all");
                        pairs.push((client, server));
                    }
                    yield_now().await;
                    for (client, server) in &mut pairs {
                        read_exact(server, 1).await;
                        read_exact(client, 1).await;
                    }
                    old_task.await;
                    drop(old_client);
                    old.polls()
                })
            },
        );
        assert!(
            polls <= 2,
            "the task that dropped its socket and then slept 300 ms was polled {polls} times, \
             where 2 polls (the first, and the one after its sleep) are all it needs: events of \
             new sockets woke it. When a socket is dropped, its slot's wakers go with it, and a \
             reused slot gets a new generation in its token, so that nothing filed under the old \
             token can wake anyone"
        );
    });
}

// Mistake 9: a waker called from another thread that does not interrupt poll.
#[test]
fn a_wake_from_another_thread_interrupts_the_wait_within_50_ms() {
    graded(|| {
        let mut latencies = on_runtime(
            Duration::from_secs(9),
            "five wake-ups from another thread while the runtime waits in poll",
            |runtime| {
                runtime.block_on(async {
                    let mut latencies = Vec::new();
                    for _round in 0..5 {
                        // So that a runtime deaf to other threads is late rather than stuck.
                        let _backstop = spawn(sleep(Duration::from_secs(1)));
                        let (gate, key) = gate::<Instant>();
                        let opener = thread::spawn(move || {
                            // Open once the runtime waits: the gate holds its waker, and the
                            // runtime has had a moment to go back to poll.
                            assert!(wait_until(LIMIT, || key.has_waker()));
                            thread::sleep(Duration::from_millis(10));
                            key.open(Instant::now());
                        });
                        let opened = gate.await;
                        latencies.push(opened.elapsed());
                        opener.join().expect("the opening thread");
                    }
                    latencies
                })
            },
        );
        let all = latencies.clone();
        latencies.sort();
        let median = latencies[latencies.len() / 2];
        assert!(
            median < Duration::from_millis(50),
            "a task woken from another thread was polled {median:?} later (median of 5; all: \
             {all:?}): while the runtime waits in mio::Poll::poll, a waker called on another \
             thread must interrupt the wait (mio::Waker::wake), not wait for the next timer or \
             event"
        );
    });
}

/// When a sleep of the timer test was made, first polled, and over.
#[derive(Clone, Copy)]
struct Ended {
    /// Its deadline is between these two.
    earliest: Instant,
    latest: Instant,
    first_poll: Instant,
    woke: Instant,
}

// Mistake 10: timers that fire late (or out of order) while sockets keep the runtime busy.
#[test]
fn ten_thousand_sleeps_end_in_order_and_on_time_under_an_echo_load() {
    graded(|| {
        const SLEEPS: usize = 10_000;
        let (record, rounds) = on_runtime(
            Duration::from_secs(10),
            "10 000 sleeps beside an echo load",
            |runtime| {
                runtime.block_on(async {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    spawn(async move {
                        while let Ok((mut socket, _)) = listener.accept().await {
                            spawn(async move {
                                let mut buf = [0u8; 256];
                                while let Ok(read) = socket.read(&mut buf).await {
                                    if read == 0 || socket.write_all(&buf[..read]).await.is_err() {
                                        break;
                                    }
                                }
                            });
                        }
                    });
                    let started = Instant::now();
                    let stop = Rc::new(Cell::new(false));
                    // When each round trip of the load ended, in time order.
                    let rounds = Rc::new(RefCell::new(Vec::new()));
                    let mut load = Vec::new();
                    for _ in 0..4 {
                        let (stop, rounds) = (Rc::clone(&stop), Rc::clone(&rounds));
                        load.push(spawn(async move {
                            let mut client = TcpStream::connect(addr).await.expect("connect");
                            // The load ends when the sleeps are over, or after 3 s whatever the
                            // timers do.
                            while !stop.get() && started.elapsed() < Duration::from_secs(3) {
                                client.write_all(&[7u8; 64]).await.expect("write_all");
                                read_exact(&mut client, 64).await;
                                rounds.borrow_mut().push(Instant::now());
                            }
                        }));
                    }
                    let record = Rc::new(RefCell::new(Vec::with_capacity(SLEEPS)));
                    let mut random = 0x2545_f491_4f6c_dd1d_u64;
                    let sleepers: Vec<_> = (0..SLEEPS)
                        .map(|_| {
                            random ^= random << 13;
                            random ^= random >> 7;
                            random ^= random << 17;
                            // From 300 ms on: every sleep is still pending once all are
                            // spawned, so each one ends at its deadline, not at its first poll.
                            let duration = Duration::from_micros(300_000 + random % 500_000);
                            let record = Rc::clone(&record);
                            // A sleep's duration counts from the call to `sleep`, as in tokio:
                            // its deadline lies between these two bounds (a preemption of the
                            // test's thread may separate them).
                            let earliest = Instant::now() + duration;
                            let sleeping = sleep(duration);
                            let latest = Instant::now() + duration;
                            spawn(async move {
                                let first_poll = Instant::now();
                                sleeping.await;
                                record.borrow_mut().push(Ended {
                                    earliest,
                                    latest,
                                    first_poll,
                                    woke: Instant::now(),
                                });
                            })
                        })
                        .collect();
                    for sleeper in sleepers {
                        sleeper.await;
                    }
                    stop.set(true);
                    for handle in load {
                        handle.await;
                    }
                    let record = record.borrow().clone();
                    let rounds = rounds.borrow().clone();
                    (record, rounds)
                })
            },
        );
        assert_eq!(record.len(), SLEEPS, "every sleep must end");
        assert!(
            rounds.len() >= 100,
            "the echo load beside the sleeps made only {} round trips: the sockets' tasks must \
             run while the sleeps are pending",
            rounds.len()
        );
        // How many round trips of the load ended between two instants. A runtime that fires
        // its due timers after every wait ends a due sleep within a few round trips; one that
        // starves its timers while sockets keep it busy lets thousands go by, for seconds.
        // (A sleep late while the load made no progress was late because the machine starved
        // the whole test process: that is not the runtime's fault.)
        let rounds_between = |from: Instant, to: Instant| {
            rounds
                .partition_point(|&at| at <= to)
                .saturating_sub(rounds.partition_point(|&at| at <= from))
        };
        // In the order in which the sleeps ended.
        let mut latest_seen: Option<Instant> = None;
        let mut starved: Option<(Duration, usize)> = None;
        for (index, ended) in record.iter().enumerate() {
            assert!(
                ended.woke >= ended.earliest,
                "sleep {index} ended {:?} before its deadline",
                ended.earliest - ended.woke
            );
            // A sleep first polled after its deadline ends at that poll: it is due from the
            // later of the two.
            let due = ended.latest.max(ended.first_poll);
            let late = ended.woke.saturating_duration_since(due);
            let rounds_meanwhile = rounds_between(due, ended.woke);
            if rounds_meanwhile > 100 && starved.is_none_or(|(worst, _)| late > worst) {
                starved = Some((late, rounds_meanwhile));
            }
            // Only sleeps that were pending before their deadline must keep its order.
            if ended.first_poll + Duration::from_millis(5) < ended.earliest {
                if let Some(latest_seen) = latest_seen {
                    assert!(
                        ended.latest + Duration::from_millis(1) >= latest_seen,
                        "sleeps ended out of order: one ended after another whose deadline was \
                         {:?} later; wake the due timers earliest first (a min-heap), and run \
                         the woken tasks first in, first out",
                        latest_seen - ended.latest
                    );
                }
                latest_seen = latest_seen.max(Some(ended.earliest));
            }
        }
        if let Some((late, rounds_meanwhile)) = starved {
            assert!(
                late < Duration::from_millis(500),
                "a sleep ended {late:?} after its deadline, while the echo load made \
                 {rounds_meanwhile} round trips: with sockets keeping the runtime busy, the \
                 timers must still be fired after every wait in poll, whether it returned events \
                 or timed out"
            );
        }
    });
}

// Mistake 11: the server blocking its thread (std::thread::sleep for SLEEP, in any disguise).
#[test]
fn a_sleeping_client_does_not_hold_up_the_others() {
    graded(|| {
        let addr = start_server();
        let mut sleeper = Client::connect(addr);
        // The PING's reply shows that the server has reached the SLEEP behind it.
        sleeper.send_raw(b"PING\r\nSLEEP 3000\r\n");
        assert_eq!(
            sleeper
                .read_reply()
                .expect("the reply to a PING sent before a SLEEP"),
            pong(),
            "the replies to the requests before a SLEEP go out before it starts"
        );
        let mut other = Client::connect(addr);
        other.set_timeout(Duration::from_millis(1500));
        let started = Instant::now();
        let reply = other.must_call(
            &["PING"],
            "PING while another client's SLEEP 3000 is pending (SLEEP must await the runtime's \
             sleep, never block the runtime's only thread)",
        );
        assert_eq!(reply, pong(), "answered after {:?}", started.elapsed());
    });
}

// Busy waking, in the futures the runtime provides: a JoinHandle or a Sleep that wakes its own
// task on every poll gives the right output, and keeps the runtime spinning (polling whoever
// awaits it) for as long as it waits.
#[test]
fn join_handles_and_sleeps_do_not_wake_their_task_while_they_wait() {
    graded(|| {
        let (output, handle_polls, sleep_polls) = on_runtime(
            LIMIT,
            "awaiting the JoinHandle of a task that sleeps 100 ms, then a sleep of 100 ms",
            |runtime| {
                runtime.block_on(async {
                    let awaiting_handle = Probe::new();
                    let handle = spawn(async {
                        sleep(Duration::from_millis(100)).await;
                        42u32
                    });
                    let output = awaiting_handle.watch(handle).await;
                    let awaiting_sleep = Probe::new();
                    awaiting_sleep
                        .watch(sleep(Duration::from_millis(100)))
                        .await;
                    (output, awaiting_handle.polls(), awaiting_sleep.polls())
                })
            },
        );
        assert_eq!(output, 42, "a JoinHandle must give the output of its task");
        assert!(
            handle_polls <= 4,
            "a JoinHandle whose task sleeps 100 ms was polled {handle_polls} times, where 2 polls \
             do (one before the task ends, one after it woke the handle's waker): the handle \
             wakes its own task on every poll (busy waking). Store the waker and return \
             Pending; the task wakes it when it finishes"
        );
        assert!(
            sleep_polls <= 4,
            "a sleep of 100 ms was polled {sleep_polls} times, where 2 polls do (one that \
             registers it, one after the timer fired): the sleep wakes its own task on every \
             poll (busy waking). Register the waker with the runtime's timers and return \
             Pending; the runtime wakes it once the deadline has passed"
        );
    });
}

// A stale waker: a future that keeps the waker of its first poll wakes a task that no longer
// waits for it, and the task that polled it last sleeps forever. Futures move between tasks
// (select, a JoinHandle passed on), so a Sleep and a JoinHandle must wake the waker of their
// latest poll.
#[test]
fn a_sleep_and_a_join_handle_wake_the_task_that_polled_them_last() {
    graded(|| {
        // Woken, the task finds them ready at once; a stale waker leaves the task to the next
        // thing that wakes it, here a backstop timer of 1 s.
        let on_time = Duration::from_millis(600);
        let (sleep_took, handle_took, handle_output, first_wakes) = on_runtime(
            LIMIT,
            "a sleep and a JoinHandle polled first with another waker, then by the task",
            |runtime| {
                runtime.block_on(async {
                    let first = support::tasks::CountingWaker::new();
                    let started = Instant::now();
                    let mut sleeping = Box::pin(sleep(Duration::from_millis(100)));
                    assert!(
                        first.poll(sleeping.as_mut()).is_pending(),
                        "a sleep of 100 ms polled at once must be Pending"
                    );
                    or_timeout(sleeping, Duration::from_secs(1)).await;
                    let sleep_took = started.elapsed();

                    let started = Instant::now();
                    let mut handle = Box::pin(spawn(async {
                        sleep(Duration::from_millis(100)).await;
                        7u32
                    }));
                    assert!(
                        first.poll(handle.as_mut()).is_pending(),
                        "a JoinHandle must be Pending while its task sleeps"
                    );
                    let handle_output = or_timeout(handle, Duration::from_secs(1)).await;
                    (sleep_took, started.elapsed(), handle_output, first.wakes())
                })
            },
        );
        assert!(
            sleep_took < on_time,
            "a sleep of 100 ms, polled once with another waker and then by the task that awaits \
             it, woke that task only after {sleep_took:?} (the first waker was woken \
             {first_wakes} times in all): keep the waker of the latest poll (replace the stored \
             one unless will_wake) where the timers find it when they fire"
        );
        assert_eq!(
            handle_output,
            Some(7),
            "a JoinHandle must give its task's output"
        );
        assert!(
            handle_took < on_time,
            "a JoinHandle polled once with another waker and then by the task that awaits it \
             woke that task only after {handle_took:?}, when its task took 100 ms: the task must \
             wake the waker of the handle's latest poll (replace the stored one unless \
             will_wake)"
        );
    });
}

// Mistake: `mio::Poll::poll` failing with Interrupted taken as fatal. Suspending the server
// (Ctrl-Z, then `fg`) makes epoll_wait return EINTR on Linux: a runtime that panics on it, or
// ends block_on with the error, takes the server with it.
#[test]
fn the_runtime_survives_being_stopped_and_continued() {
    graded(|| {
        let addr = start_server();
        let mut client = Client::connect(addr);
        for round in 0..3 {
            client.must_call(&["PING"], &format!("PING before stop {round}"));
            // Let the runtime go back to waiting in poll.
            thread::sleep(Duration::from_millis(20));
            stop_and_continue_this_process();
            let reply = client.must_call(
                &["PING"],
                &format!(
                    "PING after the process was stopped and continued ({round}): mio's poll \
                     returns Err(Interrupted) then; the reactor must take it as a wait that \
                     found no event and let the runtime go round its loop again"
                ),
            );
            assert_eq!(reply, pong());
        }
    });
}

// Mistake: an `accept` error ends `serve`, or is retried at once: out of descriptors (EMFILE),
// the listener stays ready, and an accept loop that does not wait spins on the runtime's only
// thread, starving every connected client.
#[test]
fn running_out_of_descriptors_does_not_stop_the_server() {
    graded(|| {
        let addr = start_server();
        let mut client = Client::connect(addr);
        client.must_call(&["PING"], "PING before the descriptors run out");
        with_descriptors_exhausted(1, || {
            // This client takes the last free descriptor: the server cannot accept it.
            let _waiting =
                std::net::TcpStream::connect(addr).expect("connecting with the last descriptor");
            for round in 0..3 {
                let reply = client.must_call(
                    &["PING"],
                    &format!(
                        "PING {round} from a connected client while accept fails with EMFILE \
                         (too many open files): an accept error must neither end serve nor be \
                         retried at once; log it and wait a little (sleep) before accepting again"
                    ),
                );
                assert_eq!(reply, pong());
            }
        });
        let mut newcomer = Client::connect(addr);
        assert_eq!(
            newcomer.must_call(&["PING"], "a new client once descriptors are free again"),
            pong(),
            "serve must go on accepting once accept succeeds again"
        );
    });
}

// Mistake: a connection taken as made at the first writable readiness (or at once): `connect`
// only starts a connection, and while the handshake is under way `peer_addr` answers
// NotConnected, which means "not yet", not an error. A listener whose accept queue is full
// drops the handshake, so the connection is made only when TCP sends it again, a second later.
#[test]
fn a_connect_that_takes_a_while_waits_without_blocking_the_thread() {
    graded(|| {
        raise_open_files_limit(8192);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        // Fill the listener's accept queue: the first connection that is not made at once
        // shows it is full.
        let mut queued = Vec::new();
        while let Ok(stream) =
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300))
        {
            queued.push(stream);
            assert!(queued.len() < 5000, "the accept queue never filled up");
        }
        let (outcome_tx, outcome_rx) = mpsc::channel();
        let runtime_thread = thread::spawn(move || {
            let runtime = Runtime::new().expect("Runtime::new() failed");
            runtime.block_on(async move {
                let ticks = Rc::new(Cell::new(0u32));
                let ticker = spawn({
                    let ticks = Rc::clone(&ticks);
                    async move {
                        loop {
                            sleep(Duration::from_millis(10)).await;
                            ticks.set(ticks.get() + 1);
                        }
                    }
                });
                let connected = or_timeout(TcpStream::connect(addr), LIMIT).await;
                let outcome = match connected {
                    None => Err("TcpStream::connect never finished".to_string()),
                    Some(Err(error)) => Err(format!("TcpStream::connect failed: {error}")),
                    Some(Ok(mut stream)) => match stream.write_all(b"hi").await {
                        Ok(()) => Ok(ticks.get()),
                        Err(error) => Err(format!(
                            "TcpStream::connect returned a stream that cannot be written \
                             ({error}): was it returned before the connection was made?"
                        )),
                    },
                };
                drop(ticker);
                let _ = outcome_tx.send(outcome);
            });
        });
        // Let the connect wait a little, then empty the queue: TCP's next try gets through.
        thread::sleep(Duration::from_millis(200));
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + LIMIT;
        let (mut accepted, mut received, mut reported) = (Vec::new(), None, None);
        while received.is_none() && Instant::now() < deadline {
            match outcome_rx.try_recv() {
                Ok(outcome) => {
                    let failed = outcome.is_err();
                    reported = Some(outcome);
                    if failed {
                        break;
                    }
                }
                // The runtime's thread ended without a word (it panicked).
                Err(mpsc::TryRecvError::Disconnected) if reported.is_none() => break,
                Err(_) => {}
            }
            while let Ok((stream, _)) = listener.accept() {
                stream.set_nonblocking(true).unwrap();
                accepted.push(stream);
            }
            // Only the runtime's connection writes: the queued ones stay silent.
            let mut first = [0u8; 2];
            if accepted
                .iter()
                .any(|stream| matches!(stream.peek(&mut first), Ok(2)))
            {
                received = Some(first);
            }
            thread::sleep(Duration::from_millis(5));
        }
        drop(queued);
        let outcome = reported.unwrap_or_else(|| {
            outcome_rx
                .recv_timeout(LIMIT)
                .expect("the runtime's task never reported how its connect ended")
        });
        let _ = runtime_thread.join();
        let ticks = match outcome {
            Ok(ticks) => ticks,
            Err(message) => panic!(
                "{message}. The listener's queue was full, so the connection took about a \
                 second: a non-blocking connect only starts it. Wait for writable readiness, \
                 then check take_error() and peer_addr(): NotConnected means not yet, so treat \
                 it as WouldBlock and wait again"
            ),
        };
        assert_eq!(
            received,
            Some(*b"hi"),
            "the bytes written after connect must reach the listener"
        );
        assert!(
            ticks >= 10,
            "a task that sleeps 10 ms in a loop ran only {ticks} times while connect waited \
             for about a second: connect must wait by returning Pending, never by blocking the \
             runtime's thread"
        );
    });
}

// Mistake: a socket that keeps the waker of its first Pending poll. A read (or write) future
// may be polled by another task, or with another waker, before its socket is ready; the
// reactor must wake the waker of the latest poll, or that task waits for ever.
#[test]
fn a_socket_wakes_the_waker_of_its_latest_poll() {
    graded(|| {
        let (first, second) = on_runtime(
            LIMIT,
            "a read polled with two wakers in turn, then data for it",
            |runtime| {
                runtime.block_on(async {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    let (mut client, mut server) = pair(&listener, addr).await;
                    let mut buffer = [0u8; 8];
                    let mut read = pin!(server.read(&mut buffer));
                    let (first, second) = (CountingWaker::new(), CountingWaker::new());
                    assert!(
                        first.poll(read.as_mut()).is_pending(),
                        "a read with nothing to read must be Pending"
                    );
                    assert!(
                        second.poll(read.as_mut()).is_pending(),
                        "a read with nothing to read must be Pending"
                    );
                    client.write_all(b"hello").await.expect("write_all");
                    // Let the runtime wait in poll and dispatch the readable event.
                    for _ in 0..100 {
                        if second.wakes() > 0 {
                            break;
                        }
                        sleep(Duration::from_millis(10)).await;
                    }
                    (first.wakes(), second.wakes())
                })
            },
        );
        assert!(
            second > 0,
            "a read was polled with one waker, then with another, and its socket became \
             readable: the waker of the latest poll was not woken ({first} wake-ups went to the \
             first). When an operation returns Pending, replace the stored waker unless \
             stored.will_wake(cx.waker())"
        );
    });
}

// Mistake: a read or write error taken for WouldBlock: a client that resets its connection
// (closes it with replies unread) leaves its connection task waiting for ever, and its socket
// registered.
#[test]
fn clients_that_reset_their_connection_leave_no_registration_behind() {
    graded(|| {
        let leftover = on_runtime(
            Duration::from_secs(8),
            "20 clients that reset their connections to lab7::serve",
            |runtime| {
                runtime.block_on(async {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    let baseline = runtime.registrations();
                    spawn(lab7::serve(listener, Rc::new(RefCell::new(Store::new()))));
                    let clients = thread::spawn(move || {
                        for _ in 0..20 {
                            let mut resetting = std::net::TcpStream::connect(addr).unwrap();
                            resetting.write_all(b"PING\r\nPING\r\n").unwrap();
                            // Wait until both replies are here, then close with them unread:
                            // the kernel answers with a reset.
                            let mut peeked = [0u8; 14];
                            let deadline = Instant::now() + LIMIT;
                            while resetting.peek(&mut peeked).unwrap_or(0) < peeked.len()
                                && Instant::now() < deadline
                            {
                                thread::sleep(Duration::from_millis(1));
                            }
                        }
                    });
                    while !clients.is_finished() {
                        sleep(Duration::from_millis(10)).await;
                    }
                    clients.join().expect("the clients' thread");
                    let deadline = Instant::now() + Duration::from_secs(3);
                    while runtime.registrations() > baseline && Instant::now() < deadline {
                        sleep(Duration::from_millis(10)).await;
                    }
                    runtime.registrations().saturating_sub(baseline)
                })
            },
        );
        assert_eq!(
            leftover, 0,
            "20 clients reset their connections (closed them with replies unread), and {leftover} \
             of their sockets are still registered: a read or write that fails with an error \
             other than WouldBlock and Interrupted must return that error (the connection task \
             then ends and drops its socket), not wait for a readiness that will never come"
        );
    });
}

// Mistake: a dropped Sleep that stays in the runtime's timers: when its deadline comes, the
// runtime wakes the task that dropped it (a poll for nothing), and its wait in poll is cut
// short for nothing too.
#[test]
fn a_dropped_sleep_does_not_wake_its_task() {
    graded(|| {
        let polls = on_runtime(
            LIMIT,
            "a task that polls a 50 ms sleep once, drops it, then sleeps 300 ms",
            |runtime| {
                runtime.block_on(async {
                    let probe = Probe::new();
                    let watched = probe.clone();
                    let task = spawn(async move {
                        watched
                            .watch(async {
                                {
                                    let mut dropped = pin!(sleep(Duration::from_millis(50)));
                                    // One poll registers it with the runtime's timers.
                                    poll_fn(|cx| {
                                        let _ = dropped.as_mut().poll(cx);
                                        Poll::Ready(())
                                    })
                                    .await;
                                }
                                sleep(Duration::from_millis(300)).await;
                            })
                            .await;
                    });
                    task.await;
                    probe.polls()
                })
            },
        );
        assert!(
            polls <= 2,
            "a task polled a 50 ms sleep once, dropped it, then awaited a 300 ms sleep, and it \
             was polled {polls} times where 2 do: the dropped sleep stayed in the timers and \
             woke the task at its deadline. A Sleep's Drop must take its entry out of the \
             runtime's timers (cancel it)"
        );
    });
}

// Mistake: a Runtime whose Drop leaves its unfinished tasks alive: their futures, and the
// sockets and sleeps they own, outlive the runtime (the tasks and their wakers hold each other).
#[test]
fn dropping_the_runtime_drops_its_unfinished_tasks_and_their_sockets() {
    graded(|| {
        let refused = within(
            LIMIT,
            "a runtime dropped while a task waits in accept",
            || {
                let runtime = Runtime::new().expect("Runtime::new() failed");
                let addr = runtime.block_on(async {
                    let listener = TcpListener::bind(any_local_port()).expect("bind");
                    let addr = listener.local_addr().unwrap();
                    spawn(async move {
                        let _ = listener.accept().await;
                    });
                    // Let the task run up to its accept.
                    yield_now().await;
                    addr
                });
                drop(runtime);
                // A listener that is still open would accept this connection.
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err()
            },
        );
        assert!(
            refused,
            "a runtime was dropped while one of its tasks waited in accept, and the task's \
             listener still accepted a connection afterwards: dropping the Runtime must drop \
             its unfinished tasks' futures (and with them their sockets and sleeps). The tasks \
             and their wakers hold each other: take each future out of its task in Drop"
        );
    });
}
