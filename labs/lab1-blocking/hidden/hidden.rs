//! Hidden tests for lab 1: each one guards one mistake students make. Never released.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use lab1::{handle_client, serve_pooled, serve_threaded, ThreadPool};
use pretty_assertions::assert_eq;
use support::client::Client;
use support::grading::graded;
use support::probe::thread_count;
use support::testing::{in_background, local_listener, serve_each_connection_on_a_thread, within};
use support::{Reply, Store, MAX_FRAME};

fn handler_server() -> SocketAddr {
    let store = Arc::new(Mutex::new(Store::new()));
    serve_each_connection_on_a_thread(move |stream| {
        let _ = handle_client(stream, &store);
    })
}

fn threaded_server() -> SocketAddr {
    let (listener, addr) = local_listener();
    let store = Arc::new(Mutex::new(Store::new()));
    in_background("serve_threaded", move || {
        let _ = serve_threaded(listener, store);
    });
    addr
}

fn pong() -> Reply {
    Reply::Simple("PONG".into())
}

// Mistake: serving clients one at a time (handle_client called on the accept thread).
#[test]
fn silent_client_does_not_block_the_threaded_server() {
    graded(|| {
        let addr = threaded_server();
        let _silent = Client::connect(addr);
        let mut active = Client::connect(addr);
        let reply = active.must_call(
            &["PING"],
            "a second client while the first one stays connected and silent (is serve_threaded \
             serving one client at a time instead of a thread per connection?)",
        );
        assert_eq!(reply, pong());
    });
}

// Mistake: keeping the store locked while `SLEEP` waits.
#[test]
fn sleeping_client_does_not_hold_the_store_lock() {
    graded(|| {
        let addr = handler_server();
        let mut sleeper = Client::connect(addr);
        // The PONG comes back once the handler has reached the SLEEP behind it.
        sleeper.send_raw(b"PING\r\nSLEEP 10000\r\n");
        assert_eq!(
            sleeper.read_reply().expect("the PONG before the SLEEP"),
            pong()
        );
        let mut other = Client::connect(addr);
        for round in 0..5 {
            let reply = other.must_call(
                &["SET", "k", "v"],
                &format!(
                    "SET {round} while another client sleeps 10 s (is the store lock still held \
                     during the sleep? drop the MutexGuard before sleeping)"
                ),
            );
            assert_eq!(reply, Reply::ok());
            thread::sleep(Duration::from_millis(50));
        }
    });
}

// Mistake: taking the lock when a request starts arriving and keeping it until it is complete.
#[test]
fn half_sent_request_does_not_hold_the_store_lock() {
    graded(|| {
        let addr = handler_server();
        let mut slow = Client::connect(addr);
        slow.must_call(&["PING"], "PING before sending half a request");
        slow.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk");
        let mut other = Client::connect(addr);
        // The store must stay available for as long as the other client dawdles.
        for round in 0..5 {
            let reply = other.must_call(
                &["GET", "k"],
                &format!(
                    "GET {round} while another client has sent half a request (is the store locked \
                     while waiting for the rest of it? lock only around apply)"
                ),
            );
            assert_eq!(reply, Reply::Null);
            thread::sleep(Duration::from_millis(50));
        }
        slow.send_raw(b"\r\n$1\r\nv\r\n");
        assert_eq!(
            slow.read_reply().expect("the reply to the completed SET"),
            Reply::ok()
        );
    });
}

// Mistake: serve_pooled serving clients inline, or with fewer workers than asked for.
#[test]
fn pooled_server_serves_as_many_clients_at_once_as_it_has_workers() {
    graded(|| {
        let (listener, addr) = local_listener();
        let store = Arc::new(Mutex::new(Store::new()));
        in_background("serve_pooled", move || {
            let _ = serve_pooled(listener, store, 4);
        });
        let mut clients: Vec<Client> = (0..4).map(|_| Client::connect(addr)).collect();
        // Answer in reverse order: every one of the 4 connections must have its own worker.
        for (index, client) in clients.iter_mut().enumerate().rev() {
            let reply = client.must_call(
                &["PING"],
                &format!(
                    "client {index} of 4 on a pool of 4 workers while the others stay connected \
                     (does serve_pooled hand every connection to the pool?)"
                ),
            );
            assert_eq!(reply, pong());
        }
    });
}

// Mistake: a "pool" that starts a thread per job, or runs more jobs at once than it has workers.
#[test]
fn pool_runs_jobs_only_on_its_own_workers() {
    graded(|| {
        const WORKERS: usize = 3;
        let before = thread_count().expect("the thread count, from /proc/self/status");
        let pool = ThreadPool::new(WORKERS);
        let seen_threads = Arc::new(Mutex::new(HashSet::new()));
        let running = Arc::new(AtomicUsize::new(0));
        let most_running = Arc::new(AtomicUsize::new(0));
        // The most threads the process had while a job ran.
        let most_threads = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = mpsc::channel();
        for _ in 0..60 {
            let (seen_threads, running, most_running, most_threads, done_tx) = (
                seen_threads.clone(),
                running.clone(),
                most_running.clone(),
                most_threads.clone(),
                done_tx.clone(),
            );
            pool.execute(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most_running.fetch_max(now, Ordering::SeqCst);
                most_threads.fetch_max(thread_count().unwrap_or(0), Ordering::SeqCst);
                seen_threads.lock().unwrap().insert(thread::current().id());
                thread::sleep(Duration::from_millis(2));
                running.fetch_sub(1, Ordering::SeqCst);
                done_tx.send(()).unwrap();
            });
        }
        for finished in 0..60 {
            done_rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("only {finished} of 60 jobs finished within 10 s"));
        }
        let threads = seen_threads.lock().unwrap().len();
        assert!(
            threads <= WORKERS,
            "60 jobs ran on {threads} different threads, but the pool has {WORKERS} workers: \
             execute must queue jobs for the existing workers, not start threads"
        );
        let most = most_running.load(Ordering::SeqCst);
        assert!(
            most <= WORKERS,
            "{most} jobs ran at once on a pool of {WORKERS} workers"
        );
        let started = most_threads.load(Ordering::SeqCst).saturating_sub(before);
        assert!(
            started <= WORKERS + 1,
            "while 60 jobs ran on a ThreadPool::new({WORKERS}), the process had {started} more \
             threads than before the pool existed: new() starts exactly `workers` threads, and \
             neither execute() nor a worker may start more"
        );
        within(Duration::from_secs(5), "dropping the pool", move || {
            drop(pool)
        });
    });
}

// Mistake: a worker that dies with a panicking job (the pool slowly loses all its workers).
#[test]
fn pool_survives_panicking_jobs() {
    graded(|| {
        let pool = ThreadPool::new(2);
        for _ in 0..4 {
            pool.execute(|| panic!("a job that panics on purpose (this message is expected)"));
        }
        let (done_tx, done_rx) = mpsc::channel();
        for job in 0..10 {
            let done_tx = done_tx.clone();
            pool.execute(move || done_tx.send(job).unwrap());
        }
        for finished in 0..10 {
            done_rx
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|_| {
                    panic!(
                    "after 4 panicking jobs only {finished} of 10 normal jobs ran: a worker must \
                     survive a panicking job (catch_unwind)"
                )
                });
        }
        within(Duration::from_secs(5), "dropping the pool", move || {
            drop(pool)
        });
    });
}

// Mistake: Drop that returns before queued jobs have run (or drops them).
#[test]
fn dropping_the_pool_finishes_every_queued_job() {
    graded(|| {
        let done = Arc::new(AtomicUsize::new(0));
        let pool = ThreadPool::new(1);
        for _ in 0..20 {
            let done = Arc::clone(&done);
            pool.execute(move || {
                thread::sleep(Duration::from_millis(5));
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        within(
            Duration::from_secs(10),
            "dropping a pool with 20 queued jobs",
            move || drop(pool),
        );
        let finished = done.load(Ordering::SeqCst);
        assert_eq!(
            finished, 20,
            "when drop returns, every queued job must have run; {finished} of 20 did"
        );
    });
}

// Mistake: Drop that never returns (workers never told to stop, or joined before the queue closes).
#[test]
fn dropping_an_idle_pool_returns() {
    graded(|| {
        let pool = ThreadPool::new(4);
        let (ran_tx, ran_rx) = mpsc::channel();
        pool.execute(move || ran_tx.send(()).unwrap());
        ran_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the pool must run a job");
        within(
            Duration::from_secs(5),
            "dropping an idle pool (close the job queue before joining the workers)",
            move || drop(pool),
        );
    });
}

// Mistake: one read = one request (pipelined requests after the first are lost).
#[test]
fn pipelined_requests_in_one_packet_each_get_a_reply() {
    graded(|| {
        let mut client = Client::connect(handler_server());
        let mut packet = Vec::new();
        for i in 0..50 {
            packet.extend_from_slice(
                &support::Request::new(["SET", &format!("k{i}"), &format!("v{i}")]).to_resp(),
            );
        }
        packet.extend_from_slice(b"GET k49\r\n");
        client.send_raw(&packet);
        for i in 0..50 {
            let reply = client.read_reply().unwrap_or_else(|e| {
                panic!("50 SETs and a GET sent in one packet: reply {i} missing ({e}); decode in a loop until it returns None")
            });
            assert_eq!(reply, Reply::ok(), "reply {i} to pipelined SETs");
        }
        let last = client.read_reply().expect("the reply to the final GET");
        assert_eq!(last, Reply::Bulk(Bytes::from_static(b"v49")));
    });
}

// Mistake: a read that ends mid-frame is parsed as if it were whole, or its bytes are dropped.
#[test]
fn request_split_across_packets_is_answered_once_complete() {
    graded(|| {
        let mut client = Client::connect(handler_server());
        let request = support::Request::new(["ECHO", "split across packets"]).to_resp();
        for piece in request.chunks(3) {
            client.send_raw(piece);
            // Give each piece its own TCP segment, so the server sees many short reads.
            thread::sleep(Duration::from_millis(2));
        }
        let reply = client.read_reply().unwrap_or_else(|e| {
            panic!("a request sent 3 bytes at a time got no answer ({e}): keep unfinished bytes in the buffer")
        });
        assert_eq!(
            reply,
            Reply::Bulk(Bytes::from_static(b"split across packets"))
        );
    });
}

// Mistake: a vanishing or garbled client poisons the lock or crashes the server for everyone.
#[test]
fn client_vanishing_mid_frame_or_sending_garbage_does_not_disturb_others() {
    graded(|| {
        let addr = handler_server();
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
            "an existing client after others vanished mid-frame and sent garbage",
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
        let mut client = Client::connect(handler_server());
        let value = "x".repeat(MAX_FRAME + 1);
        client.send(&["SET", "big", &value]);
        let reply = client.read_reply().expect("a reply to a frame over 64 KiB");
        assert_eq!(reply, Reply::error("ERR frame too large"));
        assert!(
            client.wait_for_close(),
            "after a frame too large the connection must be closed"
        );
    });
}

// Mistake: serve_pooled that ignores `workers` and starts a thread per connection (instead of,
// or next to, the pool): the bound on threads that part B is for is gone.
#[test]
fn pooled_server_never_runs_more_threads_than_its_workers() {
    graded(|| {
        const WORKERS: usize = 4;
        const CLIENTS: usize = 16;
        let (listener, addr) = local_listener();
        let store = Arc::new(Mutex::new(Store::new()));
        let before = thread_count().expect("the thread count, from /proc/self/status");
        in_background("serve_pooled", move || {
            let _ = serve_pooled(listener, store, WORKERS);
        });
        let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::connect(addr)).collect();
        for client in &mut clients {
            client.send(&["PING"]);
        }
        // Every connection has been accepted by now: watch the thread count for a while.
        let mut most = 0;
        let watch_until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < watch_until {
            most = most.max(thread_count().unwrap_or(0));
            thread::sleep(Duration::from_millis(5));
        }
        let started = most.saturating_sub(before);
        assert!(
            started <= WORKERS + 2,
            "with {CLIENTS} clients connected to serve_pooled(.., {WORKERS}), the process had \
             {started} more threads than before the server started (at most {WORKERS} workers \
             and the accept loop's thread are expected): serve_pooled must hand each connection \
             to the pool (pool.execute), never start a thread per connection"
        );
        // The pool still serves everyone, {WORKERS} at a time, as earlier clients leave.
        for (index, mut client) in clients.into_iter().enumerate() {
            let reply = client.read_reply().unwrap_or_else(|e| {
                panic!(
                    "client {index} of {CLIENTS} on a pool of {WORKERS} workers, after the \
                     clients before it left, got no reply ({e}): each worker must take the next \
                     queued connection once its client is gone"
                )
            });
            assert_eq!(reply, pong());
        }
    });
}

// Mistake: writing the replies with the store still locked. A client that never reads its
// replies fills the socket, the write blocks, and every other client waits for the lock.
#[test]
fn client_that_never_reads_its_replies_does_not_hold_the_store_lock() {
    graded(|| {
        let addr = handler_server();
        let mut hoarder = Client::connect(addr);
        let big = "x".repeat(60 * 1024);
        hoarder.must_call(&["SET", "big", &big], "SET of a 60 KiB value");
        // 18 MB of replies that this client never reads: its handler blocks in a write.
        hoarder.send_raw("GET big\r\n".repeat(300).as_bytes());
        thread::sleep(Duration::from_millis(100));
        let mut other = Client::connect(addr);
        for round in 0..3 {
            let reply = other.must_call(
                &["SET", "k", "v"],
                &format!(
                    "SET {round} while another client does not read 18 MB of replies (is the \
                     store locked while writing to the socket? lock only around apply, and let \
                     the guard go before any write)"
                ),
            );
            assert_eq!(reply, Reply::ok());
        }
    });
}
