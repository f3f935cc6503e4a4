//! Hidden tests for lab 5: each one guards one mistake students make. Never released.
//!
//! Every wait is bounded (`tokio::time::timeout`, on the paused clock virtual time), so a
//! mistake fails a test with a message that says where to look; it never hangs it.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use pretty_assertions::assert_eq;
use support::grading::{graded, Sentinel};
use support::mail::{Call, Event, MailError, Message, MockMail, Recipient, Service, Timing};
use support::probe::{cpu_time, thread_count, StallMeter};
use support::testing::{local_listener, raise_open_files_limit, with_descriptors_exhausted};
use support::{Reply, Store};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};
use tokio_test::io::{Builder, Mock};

/// How long a test waits for one thing before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

fn store() -> Arc<Mutex<Store>> {
    Arc::new(Mutex::new(Store::new()))
}

/// The text of a panic caught by a `JoinHandle`.
fn panic_text(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return error.to_string();
    }
    let payload = error.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic".to_string())
}

/// Runs `handle_connection` on a scripted client (a `tokio_test` mock that checks every byte
/// written) and returns its result. The mock panics on a wrong write, or when dropped with
/// reads or writes left over: that panic becomes this test's failure, with `what`.
async fn run_mock(mock: Mock, what: &str) -> io::Result<()> {
    let task = tokio::spawn(lab5::handle_connection(mock, store()));
    match timeout(PATIENCE, task).await {
        Err(_) => panic!("{what}: handle_connection did not return within {PATIENCE:?}"),
        Ok(Ok(result)) => result,
        Ok(Err(error)) => panic!(
            "{what}: the scripted client saw the wrong bytes, or handle_connection returned \
             before writing every reply the client expects ({}). Bytes are shown as numbers: \
             43 is '+', 36 '$', 45 '-', 13 10 is \\r\\n.",
            panic_text(error)
        ),
    }
}

/// `handle_connection` in a task, talking to the test through an in-memory pipe of
/// `capacity` bytes.
fn pipe(capacity: usize) -> (DuplexStream, JoinHandle<io::Result<()>>) {
    let (client, server) = duplex(capacity);
    (
        client,
        tokio::spawn(lab5::handle_connection(server, store())),
    )
}

/// Reads exactly `expected.len()` bytes and compares them with `expected`.
async fn expect_bytes<R: AsyncReadExt + Unpin>(client: &mut R, expected: &str, what: &str) {
    let mut got = vec![0; expected.len()];
    let mut filled = 0;
    while filled < got.len() {
        match timeout(PATIENCE, client.read(&mut got[filled..])).await {
            Err(_) => panic!(
                "{what}: expected {expected:?}, got only {:?} within {PATIENCE:?}",
                String::from_utf8_lossy(&got[..filled])
            ),
            Ok(Ok(0)) | Ok(Err(_)) => panic!(
                "{what}: expected {expected:?}, got {:?} and then the connection closed",
                String::from_utf8_lossy(&got[..filled])
            ),
            Ok(Ok(n)) => filled += n,
        }
    }
    assert_eq!(String::from_utf8_lossy(&got), expected, "{what}");
}

/// Sends `request` (a closed pipe is reported by the reply that does not come) and expects
/// `expected` back.
async fn exchange(client: &mut DuplexStream, request: &str, expected: &str, what: &str) {
    let _ = client.write_all(request.as_bytes()).await;
    expect_bytes(client, expected, what).await;
}

/// Waits for end-of-file, within `limit`.
async fn expect_closed<R: AsyncReadExt + Unpin>(client: &mut R, limit: Duration, what: &str) {
    let mut rest = Vec::new();
    match timeout(limit, client.read_to_end(&mut rest)).await {
        Ok(Ok(_)) | Ok(Err(_)) if rest.is_empty() => {}
        Ok(_) => panic!(
            "{what}: expected the connection to close, got {:?} first",
            String::from_utf8_lossy(&rest)
        ),
        Err(_) => panic!("{what}: the connection was still open after {limit:?}"),
    }
}

/// A loopback listener for `serve`, from std (whose listen backlog is 128).
fn listener() -> (TcpListener, SocketAddr) {
    let (listener, addr) = local_listener();
    listener.set_nonblocking(true).unwrap();
    (TcpListener::from_std(listener).unwrap(), addr)
}

/// Your `serve` in a task; send on the returned channel to shut it down.
fn start_serve(listener: TcpListener) -> (oneshot::Sender<()>, JoinHandle<io::Result<()>>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(lab5::serve(listener, store(), async {
        let _ = stopped.await;
    }));
    (stop, server)
}

/// On the paused clock, tokio jumps to the next timer whenever every task waits, even while
/// bytes are on their way through a real socket. A 1 ms tick keeps those jumps small, so
/// virtual time flows smoothly while the tests talk TCP.
fn fine_grained_virtual_time() {
    tokio::spawn(async {
        loop {
            sleep(Duration::from_millis(1)).await;
        }
    });
}

/// A MiniKV client over TCP, on the test's runtime.
struct Client {
    stream: TcpStream,
    buffer: BytesMut,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let stream = timeout(PATIENCE, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connecting to serve at {addr} took over {PATIENCE:?}"))
            .unwrap_or_else(|e| panic!("could not connect to serve at {addr}: {e}"));
        stream.set_nodelay(true).unwrap();
        Client {
            stream,
            buffer: BytesMut::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .unwrap_or_else(|e| panic!("could not send to the server: {e}"));
    }

    async fn reply(&mut self, what: &str) -> Reply {
        let read = async {
            loop {
                match Reply::decode(&mut self.buffer) {
                    Ok(Some(reply)) => return Ok(reply),
                    Ok(None) => {}
                    Err(e) => return Err(format!("not RESP2: {e}")),
                }
                match self.stream.read_buf(&mut self.buffer).await {
                    Ok(0) => return Err("the server closed the connection".to_string()),
                    Ok(_) => {}
                    Err(e) => return Err(format!("I/O error: {e}")),
                }
            }
        };
        match timeout(PATIENCE, read).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(why)) => panic!("{what}: {why}"),
            Err(_) => panic!("{what}: no reply within {PATIENCE:?}"),
        }
    }

    async fn call(&mut self, request: &str, what: &str) -> Reply {
        self.send(request.as_bytes()).await;
        self.reply(what).await
    }

    /// The socket as a blocking std stream, to look at what it holds without letting the
    /// runtime run anything else meanwhile, with the bytes already read but not decoded.
    fn into_blocking(self, read_timeout: Duration) -> (Vec<u8>, std::net::TcpStream) {
        let stream = self.stream.into_std().unwrap();
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(read_timeout)).unwrap();
        (self.buffer.to_vec(), stream)
    }
}

/// Reads from a blocking socket until end-of-file or an error (a time-out included); returns
/// the bytes (after those already read) and how it ended.
fn drain((read, mut stream): (Vec<u8>, std::net::TcpStream)) -> (Vec<u8>, Result<(), io::Error>) {
    let mut bytes = read;
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (bytes, Ok(())),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return (bytes, Ok(())),
            Err(e) => return (bytes, Err(e)),
        }
    }
}

fn pong() -> Reply {
    Reply::Simple("PONG".into())
}

// ---------------------------------------------------------------------------------------
// handle_connection, with scripted clients
// ---------------------------------------------------------------------------------------

// Mistake: treating what one read returns as one whole request (or waiting for a request to
// arrive in one read).
#[tokio::test(start_paused = true)]
async fn requests_split_across_reads_get_exact_replies() {
    let sentinel = Sentinel::arm();
    let mock = Builder::new()
        .name("requests split across reads")
        .read(b"*2\r\n$4\r\nEC")
        .wait(Duration::from_millis(10))
        .read(b"HO\r\n$5\r\nhel")
        .read(b"lo\r\n")
        .write(b"$5\r\nhello\r\n")
        .read(b"PI")
        .wait(Duration::from_millis(10))
        .read(b"NG\r\nSET k v\r")
        .read(b"\nGET k\r\n*1\r\n")
        .read(b"$4\r\nPING\r\n")
        .write(b"+PONG\r\n+OK\r\n$1\r\nv\r\n+PONG\r\n")
        .build();
    let result = run_mock(
        mock,
        "ECHO, PING, SET, GET and PING sent in pieces that cut requests anywhere (keep one \
         BytesMut across reads, append each read to it and decode() until Ok(None))",
    )
    .await;
    assert!(
        result.is_ok(),
        "handle_connection must return Ok(()) when the client closes: {result:?}"
    );
    sentinel.confirm();
}

// Mistake: answering only the first request of a read, or answering out of order.
#[tokio::test(start_paused = true)]
async fn pipelined_requests_in_one_read_are_all_answered_in_order() {
    let sentinel = Sentinel::arm();
    let mock = Builder::new()
        .name("pipelined requests")
        .read(b"SET a 1\r\nSLEEP 20\r\nGET a\r\n*3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\nECHO done\r\n")
        .write(b"+OK\r\n+SLEPT 20\r\n$1\r\n1\r\n:1\r\n$4\r\ndone\r\n")
        .build();
    let result = run_mock(
        mock,
        "five requests in one read (after each read, decode and answer every complete request \
         in the buffer, in order, before reading again)",
    )
    .await;
    assert!(
        result.is_ok(),
        "handle_connection must return Ok(()) when the client closes: {result:?}"
    );
    sentinel.confirm();
}

// Mistake: a panic, an error or an endless loop when a client disappears in the middle of a
// request or its connection is reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_vanishing_mid_frame_or_resetting_ends_its_connection_quietly() {
    let sentinel = Sentinel::arm();
    let half_a_frame = Builder::new()
        .name("half a frame, then end-of-file")
        .read(b"*2\r\n$3\r\nGET\r\n$1")
        .build();
    let result = run_mock(
        half_a_frame,
        "a client that sends half a frame and closes (read returns 0: return Ok(()), no reply)",
    )
    .await;
    assert!(
        result.is_ok(),
        "end-of-file in the middle of a frame is a normal end: handle_connection must return \
         Ok(()) without replying, got {result:?}"
    );
    let reset = Builder::new()
        .name("a connection reset after a PING")
        .read(b"PING\r\n")
        .write(b"+PONG\r\n")
        .read_error(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "reset by peer",
        ))
        .build();
    // Ok or Err are both fine; what matters is that it returns, without a panic.
    let _ = run_mock(
        reset,
        "a client whose connection is reset (a read error ends the conversation: return it \
         with ?, never unwrap)",
    )
    .await;
    sentinel.confirm();
}

// Mistake: writing with one `write` call and ignoring how much it took (a partial write
// loses the rest of the reply).
#[tokio::test]
async fn sixty_kib_echo_survives_partial_writes_on_a_small_pipe() {
    let sentinel = Sentinel::arm();
    const SIZE: usize = 60 * 1024;
    let (client, _task) = pipe(1024);
    let (mut from_server, mut to_server) = tokio::io::split(client);
    let mut request = Vec::new();
    for byte in [b'a', b'b'] {
        request.extend_from_slice(format!("*2\r\n$4\r\nECHO\r\n${SIZE}\r\n").as_bytes());
        request.extend(std::iter::repeat_n(byte, SIZE));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"PING\r\n");
    let mut expected = Vec::new();
    for byte in [b'a', b'b'] {
        expected.extend_from_slice(format!("${SIZE}\r\n").as_bytes());
        expected.extend(std::iter::repeat_n(byte, SIZE));
        expected.extend_from_slice(b"\r\n");
    }
    expected.extend_from_slice(b"+PONG\r\n");
    let mut got = vec![0; expected.len()];
    let (sent, read) = timeout(Duration::from_secs(8), async {
        tokio::join!(
            to_server.write_all(&request),
            from_server.read_exact(&mut got)
        )
    })
    .await
    .expect(
        "two 60 KiB ECHOs through a 1 KiB pipe did not come back within 8 s: the pipe takes at \
         most 1 KiB per write, so write the whole reply with write_all (or loop until it is all \
         written)",
    );
    sent.expect("sending the two ECHOs");
    if let Err(e) = read {
        panic!(
            "the connection ended before the replies to two 60 KiB ECHOs and a PING were all \
             read ({e}): after a partial write, keep writing the rest"
        );
    }
    let first_wrong = got.iter().zip(&expected).position(|(g, e)| g != e);
    assert!(
        first_wrong.is_none(),
        "the replies to two 60 KiB ECHOs and a PING differ from byte {} on: after a partial \
         write, send the rest starting exactly where the write stopped (write_all does that)",
        first_wrong.unwrap_or(0)
    );
    sentinel.confirm();
}

// Mistake: an input buffer thrown away (to give its memory back) while it still holds the
// start of the next request. Large pipelined requests make the buffer grow past 64 KiB with a
// request only partly read.
#[tokio::test]
async fn a_partly_read_request_behind_large_pipelined_ones_is_kept() {
    let sentinel = Sentinel::arm();
    let (client, _task) = pipe(256 * 1024);
    let (mut from_server, mut to_server) = tokio::io::split(client);
    let echo = |byte: u8, size: usize| {
        let mut request = format!("*2\r\n$4\r\nECHO\r\n${size}\r\n").into_bytes();
        request.extend(std::iter::repeat_n(byte, size));
        request.extend_from_slice(b"\r\n");
        let mut reply = format!("${size}\r\n").into_bytes();
        reply.extend(std::iter::repeat_n(byte, size));
        reply.extend_from_slice(b"\r\n");
        (request, reply)
    };
    let (first, first_reply) = echo(b'z', 60 * 1024);
    let (second, second_reply) = echo(b'p', 10 * 1024);
    let (third, third_reply) = echo(b'q', 60 * 1024);
    // The first two ECHOs and the start of the third, then more of the third, then its end:
    // the server must keep what it has of the third request between its reads.
    let mut burst = [first, second].concat();
    burst.extend_from_slice(&third[..30 * 1024]);
    let pieces = [
        burst,
        third[30 * 1024..third.len() - 10].to_vec(),
        [&third[third.len() - 10..], &b"PING\r\n"[..]].concat(),
    ];
    let expected = [
        first_reply,
        second_reply,
        third_reply,
        b"+PONG\r\n".to_vec(),
    ]
    .concat();
    let mut got = vec![0; expected.len()];
    let (sent, read) = timeout(Duration::from_secs(8), async {
        tokio::join!(
            async {
                for piece in &pieces {
                    to_server.write_all(piece).await?;
                    // Let the connection read this piece before the next one arrives.
                    for _ in 0..10 {
                        tokio::task::yield_now().await;
                    }
                }
                io::Result::Ok(())
            },
            from_server.read_exact(&mut got)
        )
    })
    .await
    .expect(
        "three large pipelined ECHOs and a PING got no complete answer within 8 s: a request \
         that had been read only in part was lost",
    );
    sent.expect("sending three ECHOs and a PING");
    if let Err(e) = read {
        panic!(
            "the connection ended before the replies to three large pipelined ECHOs and a PING \
             were all read ({e}): was the partly read request behind them dropped?"
        );
    }
    let first_wrong = got.iter().zip(&expected).position(|(g, e)| g != e);
    assert!(
        first_wrong.is_none(),
        "the replies to three pipelined ECHOs (60, 10 and 60 KiB) and a PING differ from byte {} \
         on: the input buffer was replaced while it still held the start of a request. Replace \
         (or shrink) the buffer only when it is empty",
        first_wrong.unwrap_or(0)
    );
    sentinel.confirm();
}

// Mistake: answering the requests behind a QUIT, or leaving the connection open after it.
#[tokio::test]
async fn quit_with_requests_behind_it_closes_without_answering_them() {
    let sentinel = Sentinel::arm();
    let (client, server) = duplex(64 * 1024);
    let shared = store();
    let task = tokio::spawn(lab5::handle_connection(server, Arc::clone(&shared)));
    let mut client = client;
    exchange(
        &mut client,
        "SET k before\r\nQUIT\r\nSET k after\r\nPING\r\n",
        "+OK\r\n+OK\r\n",
        "SET, QUIT, SET, PING in one read: the replies to SET and QUIT",
    )
    .await;
    expect_closed(
        &mut client,
        PATIENCE,
        "after QUIT's +OK, nothing more is answered and handle_connection returns",
    )
    .await;
    let result = timeout(PATIENCE, task)
        .await
        .expect("handle_connection returned");
    assert!(matches!(result, Ok(Ok(()))), "after QUIT: {result:?}");
    assert_eq!(
        shared.lock().unwrap().get(b"k").as_deref(),
        Some(&b"before"[..]),
        "the SET behind the QUIT must not run"
    );
    sentinel.confirm();
}

// Mistake: buffering a huge frame, or carrying on after garbage.
#[tokio::test]
async fn oversized_or_garbled_frames_get_an_error_and_the_connection_closes() {
    let sentinel = Sentinel::arm();
    let (mut client, _task) = pipe(64 * 1024);
    let _ = client
        .write_all(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\nxxxx", 70 * 1024).as_bytes())
        .await;
    expect_bytes(
        &mut client,
        "-ERR frame too large\r\n",
        "a frame announcing 70 KiB (decode returns Err(FrameError::TooLarge): write error.reply())",
    )
    .await;
    expect_closed(
        &mut client,
        PATIENCE,
        "after -ERR frame too large, return from handle_connection (the connection closes)",
    )
    .await;

    let (mut client, _task) = pipe(64 * 1024);
    let _ = client.write_all(b"*x\r\n").await;
    let mut reply = Vec::new();
    let read = timeout(PATIENCE, client.read_to_end(&mut reply)).await;
    let reply = String::from_utf8_lossy(&reply).into_owned();
    assert!(
        reply.starts_with("-ERR Protocol error") && reply.ends_with("\r\n"),
        "garbage (`*x`) must get error.reply() (-ERR Protocol error: ...), got {reply:?}"
    );
    assert!(
        matches!(read, Ok(Ok(_))),
        "after a protocol error the connection must close: {read:?}"
    );
    sentinel.confirm();
}

// ---------------------------------------------------------------------------------------
// The idle timeout, on the paused clock
// ---------------------------------------------------------------------------------------

const IDLE_ERROR: &str = "-ERR idle timeout\r\n";

/// Waits for the idle timeout's error and end-of-file; returns how long after `since` the
/// error came.
async fn idle_error_after(client: &mut DuplexStream, since: Instant, what: &str) -> Duration {
    let mut got = vec![0; IDLE_ERROR.len()];
    match timeout(Duration::from_secs(120), client.read_exact(&mut got)).await {
        Err(_) => panic!(
            "{what}: no `-ERR idle timeout` after 120 s of silence (virtual time): race the read \
             against a tokio::time::sleep of IDLE_TIMEOUT (select!, or tokio::time::timeout)"
        ),
        Ok(Err(e)) => panic!(
            "{what}: the connection closed without `-ERR idle timeout` ({e}) after {:?}",
            since.elapsed()
        ),
        Ok(Ok(_)) => {}
    }
    let elapsed = since.elapsed();
    assert_eq!(
        String::from_utf8_lossy(&got),
        IDLE_ERROR,
        "{what}: after {elapsed:?} of silence"
    );
    expect_closed(
        client,
        PATIENCE,
        "after `-ERR idle timeout`, return from handle_connection",
    )
    .await;
    elapsed
}

// Mistake: no idle timeout, or one that fires too early.
#[tokio::test(start_paused = true)]
async fn idle_connection_gets_an_error_after_thirty_seconds_of_silence_not_before() {
    let sentinel = Sentinel::arm();
    assert_eq!(lab5::IDLE_TIMEOUT, Duration::from_secs(30));
    let (mut client, task) = pipe(64 * 1024);
    exchange(&mut client, "PING\r\n", "+PONG\r\n", "the first PING").await;
    let elapsed = idle_error_after(&mut client, Instant::now(), "a silent client").await;
    assert!(
        elapsed >= Duration::from_secs(30) && elapsed < Duration::from_millis(30_500),
        "`-ERR idle timeout` came {elapsed:?} after the last reply; it must come after exactly \
         IDLE_TIMEOUT (30 s) of silence"
    );
    let result = timeout(PATIENCE, task)
        .await
        .expect("handle_connection returned");
    assert!(
        matches!(result, Ok(Ok(()))),
        "an idle timeout is a normal end: {result:?}"
    );
    sentinel.confirm();
}

// Mistake: an idle timer that is never restarted, so it measures the connection's age
// instead of its silence.
#[tokio::test(start_paused = true)]
async fn every_request_restarts_the_idle_timer() {
    let sentinel = Sentinel::arm();
    let (mut client, _task) = pipe(64 * 1024);
    exchange(&mut client, "PING\r\n", "+PONG\r\n", "PING at 0 s").await;
    sleep(Duration::from_secs(20)).await;
    exchange(
        &mut client,
        "PING\r\n",
        "+PONG\r\n",
        "PING after 20 s of silence",
    )
    .await;
    sleep(Duration::from_secs(20)).await;
    exchange(
        &mut client,
        "SET k v\r\n",
        "+OK\r\n",
        "SET 40 s after the connection opened, 20 s after the last request (the idle timer \
         must restart after every request: reset the sleep, or start a new timeout per read)",
    )
    .await;
    let elapsed = idle_error_after(&mut client, Instant::now(), "silence after the SET").await;
    assert!(
        elapsed >= Duration::from_secs(30) && elapsed < Duration::from_millis(30_500),
        "`-ERR idle timeout` came {elapsed:?} after the last reply: it must come 30 s after the \
         last request"
    );
    sentinel.confirm();
}

// ---------------------------------------------------------------------------------------
// serve: shutdown, on the paused clock
// ---------------------------------------------------------------------------------------

// Mistake: returning from serve on shutdown while requests are in flight (dropping or
// abandoning their tasks), so their replies are lost.
#[tokio::test(start_paused = true)]
async fn shutdown_lets_an_in_flight_sleep_finish_before_serve_returns() {
    let sentinel = Sentinel::arm();
    fine_grained_virtual_time();
    let (listener, _addr) = listener();
    let addr = listener.local_addr().unwrap();
    let (stop, server) = start_serve(listener);
    let mut sleeper = Client::connect(addr).await;
    sleeper.send(b"PING\r\nSLEEP 1000\r\n").await;
    assert_eq!(sleeper.reply("PING before a SLEEP 1000").await, pong());
    sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let returned = timeout(lab5::SHUTDOWN_GRACE + Duration::from_secs(2), server).await;
    assert!(
        matches!(returned, Ok(Ok(Ok(())))),
        "serve must return Ok(()) within SHUTDOWN_GRACE of its shutdown signal: {returned:?}"
    );
    // Nothing else runs from here on: whatever the client gets was sent before serve returned.
    let (bytes, end) = drain(sleeper.into_blocking(Duration::from_secs(2)));
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text == "+SLEPT 1000\r\n",
        "serve returned, and the client of a SLEEP 1000 in flight at the shutdown got {text:?} \
         ({}): on shutdown stop accepting, then wait for the connection tasks (a JoinSet) to \
         finish their requests before returning; dropping or aborting them, or returning \
         without them, loses the reply",
        match &end {
            Ok(()) => "then the connection closed".to_string(),
            Err(e) => format!("then nothing more: {e}"),
        }
    );
    assert!(
        end.is_ok(),
        "after the in-flight request, its connection must close before serve returns"
    );
    sentinel.confirm();
}

// Mistake: waiting forever for connections that never end (an idle client, a client that
// never reads its replies): the grace period must bound the shutdown. And returning before the
// connections cancelled at its end are gone (dropping the JoinSet instead of awaiting
// JoinSet::shutdown): serve's caller then finds their sockets still open.
#[tokio::test(start_paused = true)]
async fn shutdown_returns_within_the_grace_period_while_clients_stay_connected() {
    let sentinel = Sentinel::arm();
    fine_grained_virtual_time();
    let (listener, addr) = listener();
    let (stop, stopped) = oneshot::channel::<()>();
    // The clients' side runs in a task of its own: this test awaits serve itself, so that
    // nothing else runs on this thread between serve's return and the checks below.
    let clients = Arc::new(Mutex::new(None));
    let signalled = Arc::new(Mutex::new(None));
    tokio::spawn({
        let (clients, signalled) = (Arc::clone(&clients), Arc::clone(&signalled));
        async move {
            let mut idle = Client::connect(addr).await;
            assert_eq!(idle.call("PING\r\n", "an idle client's PING").await, pong());
            let mut hoarder = Client::connect(addr).await;
            let big = "x".repeat(60 * 1024);
            assert_eq!(
                hoarder
                    .call(&format!("SET big {big}\r\n"), "SET of a 60 KiB value")
                    .await,
                Reply::ok()
            );
            // 18 MB of replies that this client never reads: its task stays stuck in a write.
            hoarder.send("GET big\r\n".repeat(300).as_bytes()).await;
            sleep(Duration::from_millis(100)).await;
            *clients.lock().unwrap() = Some((idle, hoarder));
            *signalled.lock().unwrap() = Some(Instant::now());
            stop.send(()).unwrap();
        }
    });
    let limit = lab5::SHUTDOWN_GRACE + Duration::from_millis(250);
    let returned = timeout(
        limit,
        lab5::serve(listener, store(), async {
            let _ = stopped.await;
        }),
    )
    .await;
    let signalled = signalled.lock().unwrap().take();
    assert!(
        matches!(returned, Ok(Ok(()))),
        "with an idle client and a client that never reads its replies, serve must still return \
         Ok(()) within SHUTDOWN_GRACE ({:?}) of the shutdown signal; after {:?}: {returned:?}. \
         Tell idle connections to stop (a watch channel), wait for the tasks with a \
         tokio::time::timeout, then cancel the rest (JoinSet::shutdown)",
        lab5::SHUTDOWN_GRACE,
        signalled.map(|at| at.elapsed())
    );
    let (idle, hoarder) = clients
        .lock()
        .unwrap()
        .take()
        .expect("the clients were set up before the shutdown signal");
    // Blocking reads, on purpose: from here on nothing else runs on this runtime, so only what
    // serve finished before it returned can be seen.
    let (bytes, end) = drain(idle.into_blocking(Duration::from_secs(2)));
    assert!(
        bytes.is_empty() && end.is_ok(),
        "once serve has returned, the idle client's connection must be closed (got {:?}, {end:?})",
        String::from_utf8_lossy(&bytes)
    );
    let (_, end) = drain(hoarder.into_blocking(Duration::from_secs(2)));
    assert!(
        end.is_ok(),
        "serve returned while the connection it cancelled at the end of the grace period was \
         still open ({end:?} instead of end-of-file): dropping a JoinSet only asks its tasks to \
         stop; await JoinSet::shutdown() so that every task has ended, and its socket is \
         closed, before serve returns"
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "serve returned but a new client could still connect: stop accepting (drop the \
         listener) on shutdown"
    );
    sentinel.confirm();
}

// Mistake: connections that never hear the stop signal (B6). `serve` still returns, but only
// once SHUTDOWN_GRACE has passed and it cancels them: every idle client waits 5 s for nothing.
#[tokio::test(start_paused = true)]
async fn idle_connections_close_as_soon_as_the_server_is_told_to_stop() {
    let sentinel = Sentinel::arm();
    fine_grained_virtual_time();
    let (listener, addr) = listener();
    let (stop, server) = start_serve(listener);
    let mut clients = Vec::new();
    for index in 1..=3 {
        let mut client = Client::connect(addr).await;
        assert_eq!(
            client
                .call("PING\r\n", &format!("idle client {index}'s PING"))
                .await,
            pong()
        );
        clients.push(client);
    }
    let signalled = Instant::now();
    stop.send(()).unwrap();
    // No request is in flight: nothing should take more than a few scheduling rounds.
    let limit = lab5::SHUTDOWN_GRACE / 5;
    let returned = timeout(limit, server).await;
    assert!(
        matches!(returned, Ok(Ok(Ok(())))),
        "with three idle clients and no request in flight, serve must return Ok(()) soon after \
         the shutdown signal (within {limit:?}, not at the end of SHUTDOWN_GRACE = {:?}); after \
         {:?}: {returned:?}. A connection waiting for a request must wake on the stop signal \
         and return (a select! branch on the watch receiver, next to the read): cancelling \
         the connections when the grace period runs out is for clients that cannot be reached",
        lab5::SHUTDOWN_GRACE,
        signalled.elapsed()
    );
    for (index, client) in clients.into_iter().enumerate() {
        let (bytes, end) = drain(client.into_blocking(Duration::from_secs(2)));
        assert!(
            bytes.is_empty() && end.is_ok(),
            "idle client {} must find its connection closed, with nothing more to read, once \
             serve has returned (got {:?}, {end:?})",
            index + 1,
            String::from_utf8_lossy(&bytes)
        );
    }
    sentinel.confirm();
}

// ---------------------------------------------------------------------------------------
// serve: never block, a task per connection, a thousand clients
// ---------------------------------------------------------------------------------------

// Mistake: std::thread::sleep (or any blocking call) on the runtime: on a current-thread
// runtime it stops every task. Also a lock on the store held during a SLEEP.
#[tokio::test]
async fn a_sleep_does_not_block_other_tasks_on_a_current_thread_runtime() {
    let sentinel = Sentinel::arm();
    let (listener, addr) = listener();
    let (_stop, _server) = start_serve(listener);
    let longest_gap_us = Arc::new(AtomicU64::new(0));
    {
        let longest_gap_us = Arc::clone(&longest_gap_us);
        // The runtime's only thread ticks the meter: time that thread spent waiting for a CPU
        // on a loaded machine is not counted as the server blocking it.
        tokio::spawn(async move {
            let mut meter = StallMeter::start();
            loop {
                sleep(Duration::from_millis(5)).await;
                let gap = meter.tick().as_micros() as u64;
                longest_gap_us.fetch_max(gap, Ordering::SeqCst);
            }
        });
    }
    let mut sleeper = Client::connect(addr).await;
    assert_eq!(
        sleeper.call("PING\r\n", "PING before the SLEEP").await,
        pong()
    );
    let asked = Instant::now();
    sleeper.send(b"SLEEP 500\r\n").await;
    sleep(Duration::from_millis(50)).await;
    let mut other = Client::connect(addr).await;
    for (request, want) in [
        ("PING\r\n", pong()),
        ("SET k v\r\n", Reply::ok()),
        ("GET k\r\n", Reply::Bulk("v".into())),
    ] {
        let started = Instant::now();
        let reply = other
            .call(request, "another client while one sleeps 500 ms")
            .await;
        assert_eq!(reply, want, "the reply to {request:?}");
        // A lock held through the SLEEP keeps the first request waiting for about 450 ms.
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "{request:?} from another client took {:?} while a client slept: SLEEP must not hold \
             the store's lock (lock for apply() only)",
            started.elapsed()
        );
    }
    assert_eq!(
        sleeper.reply("the reply to SLEEP 500").await,
        Reply::slept(500)
    );
    assert!(
        asked.elapsed() >= Duration::from_millis(500),
        "+SLEPT 500 came after {:?}",
        asked.elapsed()
    );
    let gap = Duration::from_micros(longest_gap_us.load(Ordering::SeqCst));
    assert!(
        gap < Duration::from_millis(200),
        "a task ticking every 5 ms on the same current-thread runtime was stopped for {gap:?} \
         while a client slept 500 ms: something blocked the runtime's only thread. \
         std::thread::sleep (or a blocking read, lock or channel) never yields: use \
         tokio::time::sleep(duration).await"
    );
    sentinel.confirm();
}

// Mistake: connection tasks that outlive their clients (a loop that ignores end-of-file, a
// helper task never stopped), or no task per connection at all.
#[tokio::test]
async fn connection_tasks_end_when_their_clients_leave() {
    let sentinel = Sentinel::arm();
    let metrics = tokio::runtime::Handle::current().metrics();
    let (listener, addr) = listener();
    let (_stop, _server) = start_serve(listener);
    let mut first = Client::connect(addr).await;
    assert_eq!(first.call("PING\r\n", "a first client").await, pong());
    drop(first);
    // serve alone, once the first client's task has ended.
    let deadline = Instant::now() + PATIENCE;
    while metrics.num_alive_tasks() > 1 && Instant::now() < deadline {
        sleep(Duration::from_millis(10)).await;
    }
    let baseline = metrics.num_alive_tasks();
    let mut clients = Vec::new();
    for index in 0..40 {
        let mut client = Client::connect(addr).await;
        assert_eq!(
            client.call("PING\r\n", &format!("client {index}")).await,
            pong()
        );
        clients.push(client);
    }
    let alive = metrics.num_alive_tasks();
    assert!(
        alive >= baseline + 40,
        "40 clients are connected but the runtime has only {} more tasks than before: serve must \
         spawn a task per connection (tokio::spawn or a JoinSet)",
        alive - baseline
    );
    for (index, mut client) in clients.into_iter().enumerate() {
        match index % 4 {
            0 => assert_eq!(client.call("QUIT\r\n", "QUIT").await, Reply::ok()),
            1 => {}
            2 => client.send(b"*2\r\n$3\r\nGET\r\n$1").await,
            _ => {
                let _ = client.stream.shutdown().await;
            }
        }
    }
    let deadline = Instant::now() + PATIENCE;
    let mut alive = metrics.num_alive_tasks();
    while alive > baseline && Instant::now() < deadline {
        sleep(Duration::from_millis(10)).await;
        alive = metrics.num_alive_tasks();
    }
    assert!(
        alive <= baseline,
        "40 clients left (QUIT, hang-up, hang-up mid-frame, half-close) and {} tasks are still \
         alive after {PATIENCE:?}: a connection task must return when its client leaves (read \
         returned 0, QUIT, an error), and everything it spawned must end with it",
        alive - baseline
    );
    sentinel.confirm();
}

// Mistake: serving connections one at a time (awaiting each in the accept loop), or a thread
// per connection.
#[tokio::test]
async fn a_thousand_clients_are_served_concurrently_on_one_thread() {
    let sentinel = Sentinel::arm();
    const CLIENTS: usize = 1000;
    let limit = raise_open_files_limit(4096);
    assert!(
        limit >= 2 * CLIENTS as u64 + 100,
        "the test needs {} open files, the limit is {limit}",
        2 * CLIENTS + 100
    );
    let (listener, addr) = listener();
    let (_stop, _server) = start_serve(listener);
    let mut clients = Vec::with_capacity(CLIENTS);
    // The listen backlog is 128: connect in batches and let each batch be accepted.
    for batch in 0..CLIENTS / 100 {
        let start = clients.len();
        for _ in 0..100 {
            clients.push(Client::connect(addr).await);
        }
        for client in &mut clients[start..] {
            client.send(b"PING\r\n").await;
        }
        for (index, client) in clients[start..].iter_mut().enumerate() {
            let reply = client
                .reply(&format!(
                    "client {index} of batch {batch}, while {start} earlier clients stay connected \
                     (serve must spawn a task per connection, not await it in the accept loop)"
                ))
                .await;
            assert_eq!(reply, pong());
        }
    }
    for (index, client) in clients.iter_mut().enumerate() {
        client
            .send(format!("SET k{index} {index}\r\n").as_bytes())
            .await;
    }
    for (index, client) in clients.iter_mut().enumerate().rev() {
        let reply = client
            .reply(&format!(
                "SET from client {index} of {CLIENTS}, all connected at once"
            ))
            .await;
        assert_eq!(reply, Reply::ok());
    }
    let threads = thread_count().unwrap_or(0);
    assert!(
        threads < 16,
        "{CLIENTS} clients and the process has {threads} threads: tasks on one thread serve \
         them all; no thread (std::thread::spawn, spawn_blocking) per connection"
    );
    sentinel.confirm();
}

// ---------------------------------------------------------------------------------------
// add_to_inbox
// ---------------------------------------------------------------------------------------

fn mail() -> MockMail {
    MockMail::new()
        .with_message(Message::new(1, "Hello from Dan the Database"))
        .with_recipient(Recipient::new(7, "Ada", 1024))
        .with_recipient(Recipient::new(8, "Bob", 5))
}

async fn run_add_to_inbox(
    mail: &MockMail,
    email_id: u64,
    recipient_id: u64,
) -> Result<(), MailError> {
    timeout(
        PATIENCE,
        lab5::add_to_inbox(mail.clone(), email_id, recipient_id),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "add_to_inbox did not finish within {PATIENCE:?}; calls so far:\n{}",
            mail.journal()
        )
    })
}

// Mistake: starting a call before the previous one finished (join), or calling twice.
#[tokio::test]
async fn add_to_inbox_calls_the_services_one_at_a_time_in_order() {
    let sentinel = Sentinel::arm();
    let mail = mail()
        .answer(Service::LoadMessage, Timing::AfterPolls(3))
        .answer(
            Service::GetRecipient,
            Timing::AfterDelay(Duration::from_millis(20)),
        )
        .answer(Service::Deliver, Timing::AfterPolls(1));
    assert_eq!(run_add_to_inbox(&mail, 1, 7).await, Ok(()));
    let load = Call::LoadMessage { email_id: 1 };
    let get = Call::GetRecipient { recipient_id: 7 };
    let deliver = Call::Deliver {
        recipient_id: 7,
        email_id: 1,
    };
    assert_eq!(
        mail.events(),
        vec![
            Event::Called(load.clone()),
            Event::Finished {
                call: load,
                ok: true
            },
            Event::Called(get.clone()),
            Event::Finished {
                call: get,
                ok: true
            },
            Event::Called(deliver.clone()),
            Event::Finished {
                call: deliver,
                ok: true
            },
        ],
        "each service once, each after the previous one finished: `.await` each call before \
         making the next"
    );
    assert_eq!(
        mail.delivered(),
        vec![(7, Message::new(1, "Hello from Dan the Database"))]
    );
    sentinel.confirm();
}

// Mistake: carrying on after an error, or swallowing it.
#[tokio::test]
async fn add_to_inbox_stops_at_the_first_error() {
    let sentinel = Sentinel::arm();
    let missing = mail();
    assert_eq!(
        run_add_to_inbox(&missing, 99, 7).await,
        Err(MailError::NoSuchMessage(99))
    );
    assert_eq!(
        missing.calls(),
        vec![Call::LoadMessage { email_id: 99 }],
        "after load_message failed, nothing else may be called: use `?`"
    );
    let down = MailError::Unavailable("Dan the Database is on holiday".into());
    let failing = mail().fail(Service::GetRecipient, down.clone());
    assert_eq!(run_add_to_inbox(&failing, 1, 7).await, Err(down.clone()));
    assert_eq!(
        failing.calls_of(Service::Deliver),
        0,
        "after get_recipient failed, deliver may not be called:\n{}",
        failing.journal()
    );
    let undeliverable = mail().fail(Service::Deliver, down.clone());
    assert_eq!(
        run_add_to_inbox(&undeliverable, 1, 7).await,
        Err(down),
        "deliver's error is add_to_inbox's result"
    );
    sentinel.confirm();
}

// Mistake: skipping verify_has_space.
#[tokio::test]
async fn add_to_inbox_refuses_a_message_that_does_not_fit() {
    let sentinel = Sentinel::arm();
    let mail = mail();
    let result = run_add_to_inbox(&mail, 1, 8).await;
    assert_eq!(
        result,
        Err(MailError::InboxFull {
            recipient: 8,
            free_space: 5,
            needed: 27
        }),
        "Bob's inbox has 5 bytes free: recipient.verify_has_space(&message)? before deliver"
    );
    assert_eq!(
        mail.calls_of(Service::Deliver),
        0,
        "a message that does not fit must not be delivered:\n{}",
        mail.journal()
    );
    sentinel.confirm();
}

// ---------------------------------------------------------------------------------------
// Never block, anywhere: a heartbeat on a current-thread runtime
// ---------------------------------------------------------------------------------------

/// A stall of the runtime's thread at least this long is a blocking call (the CPU time the
/// thread spent waiting for a CPU on a loaded machine is not counted, see `StallMeter`).
const BLOCKED: Duration = Duration::from_millis(75);

/// The same, where the kernel does not report the time a thread waits for a CPU.
const BLOCKED_UNCORRECTED: Duration = Duration::from_millis(90);

/// A task that ticks every `period` on the current-thread runtime it was started on and
/// measures, with a `StallMeter`, how long that thread was kept from running it. The test
/// says what it is doing as it goes, so that a stall is reported with where it happened.
#[derive(Clone)]
struct Heartbeat {
    state: Arc<Mutex<Beats>>,
    period: Duration,
}

struct Beats {
    doing: String,
    worst: Duration,
    worst_during: String,
    ticks: u64,
    discounts_cpu_waits: bool,
}

impl Heartbeat {
    /// Starts the heartbeat task on the current runtime.
    fn start(period: Duration) -> Heartbeat {
        let beat = Heartbeat {
            state: Arc::new(Mutex::new(Beats {
                doing: "starting".to_string(),
                worst: Duration::ZERO,
                worst_during: String::new(),
                ticks: 0,
                discounts_cpu_waits: false,
            })),
            period,
        };
        let state = Arc::clone(&beat.state);
        tokio::spawn(async move {
            // Made on the runtime's thread, which it watches.
            let mut meter = StallMeter::start();
            loop {
                sleep(period).await;
                let stall = meter.tick();
                let mut beats = state.lock().unwrap();
                beats.ticks += 1;
                beats.discounts_cpu_waits = meter.discounts_cpu_waits();
                if stall > beats.worst {
                    beats.worst = stall;
                    beats.worst_during = beats.doing.clone();
                }
            }
        });
        beat
    }

    /// What the test does from now on.
    fn doing(&self, what: &str) {
        self.state.lock().unwrap().doing = what.to_string();
    }

    /// Lets the heartbeat tick a few times, so that a stall caused by what the test just did
    /// is seen (and named) before it moves on.
    async fn settle(&self) {
        sleep(self.period * 4).await;
    }

    /// Fails the test if the runtime's thread was ever blocked.
    fn check(&self, whose: &str) {
        let beats = self.state.lock().unwrap();
        let limit = if beats.discounts_cpu_waits {
            BLOCKED
        } else {
            BLOCKED_UNCORRECTED
        };
        assert!(
            beats.ticks > 0,
            "the heartbeat task never ran on the runtime: something blocked its only thread \
             for good"
        );
        assert!(
            beats.worst < limit,
            "a task ticking every {:?} on the same current-thread runtime was stopped for {:?} \
             ({} ticks in all) while the test was at: {}. {whose} blocked the runtime's only \
             thread there, and every other task with it. Futures must never block: \
             std::thread::sleep, std::sync::mpsc recv, std::net/std::fs I/O and a lock held by \
             someone who waits all keep the thread; use their async versions \
             (tokio::time::sleep(..).await, tokio's I/O and channels) and never wait while \
             holding a lock",
            self.period,
            beats.worst,
            beats.ticks,
            beats.worst_during
        );
    }
}

/// The encoded form of `reply`, as the scripted client expects it.
fn wire(reply: Reply) -> String {
    let mut bytes = BytesMut::new();
    reply.encode(&mut bytes);
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A current-thread runtime, on the real clock or on a paused one.
fn current_thread_runtime(paused: bool) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(paused)
        .build()
        .expect("building a current-thread runtime")
}

/// Sends `request` and reads what comes back, until `want` bytes, the end of the connection
/// or `limit`, whichever comes first. The blocking tests only drive the code's paths (other
/// tests check the replies), so nothing here fails the test or waits long.
async fn roundtrip<IO>(client: &mut IO, request: &[u8], want: usize, limit: Duration) -> Vec<u8>
where
    IO: AsyncReadExt + AsyncWriteExt + Unpin,
{
    let mut got = Vec::new();
    let _ = timeout(limit, async {
        if client.write_all(request).await.is_err() {
            return;
        }
        let mut chunk = [0u8; 4096];
        while got.len() < want {
            match client.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    got
}

// Mistake: a blocking call anywhere in a connection's life, not only in SLEEP: a
// std::thread::sleep before closing, a blocking read or lock, a std channel... On a
// current-thread runtime it stops every other task.
#[test]
fn a_connection_never_blocks_the_runtime_thread_from_first_request_to_shutdown() {
    graded(|| {
        let patience = Duration::from_millis(500);
        current_thread_runtime(false).block_on(async {
            let beat = Heartbeat::start(Duration::from_millis(2));
            beat.settle().await;

            // Every kind of request, on one connection.
            let (mut client, task) = pipe(64 * 1024);
            let big = "x".repeat(8 * 1024);
            let arity_error =
                match support::apply(&mut Store::new(), &support::Request::new(["GET"])) {
                    support::Action::Reply(reply) => wire(reply),
                    _ => unreachable!("GET without a key gets an error reply"),
                };
            let requests = [
                ("PING\r\n".to_string(), wire(pong()), "PING"),
                ("ECHO hi\r\n".into(), "$2\r\nhi\r\n".into(), "ECHO"),
                ("SET k v\r\n".into(), "+OK\r\n".into(), "SET"),
                ("GET k\r\n".into(), "$1\r\nv\r\n".into(), "GET"),
                (
                    "GET nothing\r\n".into(),
                    "$-1\r\n".into(),
                    "GET of a missing key",
                ),
                ("DEL k nothing\r\n".into(), ":1\r\n".into(), "DEL"),
                ("CONFIG GET save\r\n".into(), "*0\r\n".into(), "CONFIG GET"),
                (
                    "FLY\r\n".into(),
                    wire(Reply::error("ERR unknown command 'FLY'")),
                    "an unknown command",
                ),
                (
                    "GET\r\n".into(),
                    arity_error,
                    "a request with a wrong number of arguments",
                ),
                ("SLEEP 30\r\n".into(), wire(Reply::slept(30)), "SLEEP 30"),
                (
                    "SET a 1\r\nGET a\r\nPING\r\n".into(),
                    "+OK\r\n$1\r\n1\r\n+PONG\r\n".into(),
                    "three pipelined requests",
                ),
                (
                    format!("SET big {big}\r\nGET big\r\n"),
                    format!("+OK\r\n${}\r\n{big}\r\n", big.len()),
                    "an 8 KiB value, set and read back",
                ),
                (
                    "*2\r\n$4\r\nEC".into(),
                    String::new(),
                    "the first half of a request",
                ),
                (
                    "HO\r\n$2\r\nhi\r\n".into(),
                    "$2\r\nhi\r\n".into(),
                    "the second half of a request",
                ),
                (
                    "QUIT\r\n".into(),
                    "+OK\r\n".into(),
                    "QUIT, and closing the connection",
                ),
            ];
            for (index, (request, reply, what)) in requests.iter().enumerate() {
                beat.doing(what);
                // The first PING may take its time: it tells a working connection from a stub.
                let limit = if index == 0 { PATIENCE } else { patience };
                let got = roundtrip(&mut client, request.as_bytes(), reply.len(), limit).await;
                if index == 0 {
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        "+PONG\r\n",
                        "handle_connection must answer a PING before this test can watch it \
                         for blocking calls"
                    );
                }
                beat.settle().await;
            }
            beat.doing("closing the connection after QUIT");
            let mut rest = Vec::new();
            let _ = timeout(patience, client.read_to_end(&mut rest)).await;
            let _ = timeout(patience, task).await;
            beat.settle().await;

            // A reply through a pipe that takes 1 KiB at a time: writes come back short.
            beat.doing("a 16 KiB reply through a 1 KiB pipe");
            let (mut small, _task) = pipe(1024);
            let value = "y".repeat(16 * 1024);
            let request = format!("ECHO {value}\r\n");
            roundtrip(&mut small, request.as_bytes(), value.len() + 8, patience).await;
            beat.settle().await;

            // The ways a connection ends badly.
            for (request, what) in [
                (b"*x\r\n".to_vec(), "a garbled frame"),
                (
                    format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\nxx", 70 * 1024).into_bytes(),
                    "a frame too large",
                ),
            ] {
                beat.doing(what);
                let (mut client, task) = pipe(64 * 1024);
                roundtrip(&mut client, &request, usize::MAX, patience).await;
                let _ = timeout(patience, task).await;
                beat.settle().await;
            }
            beat.doing("a client that hangs up in the middle of a frame");
            let (mut vanishing, task) = pipe(64 * 1024);
            roundtrip(&mut vanishing, b"*2\r\n$3\r\nGET\r\n$1", 0, patience).await;
            beat.settle().await;
            drop(vanishing);
            let _ = timeout(patience, task).await;
            beat.settle().await;

            // serve: accepting, then a shutdown with a request in flight and an idle client.
            beat.doing("serve accepting two clients");
            let (listener, addr) = listener();
            let (stop, server) = start_serve(listener);
            let mut idle = Client::connect(addr).await;
            roundtrip(&mut idle.stream, b"PING\r\n", 7, patience).await;
            let mut busy = Client::connect(addr).await;
            roundtrip(&mut busy.stream, b"PING\r\n", 7, patience).await;
            beat.doing("a SLEEP 100 in flight, then serve shutting down with an idle client");
            let _ = busy.stream.write_all(b"SLEEP 100\r\n").await;
            beat.settle().await;
            let _ = stop.send(());
            let _ = timeout(lab5::SHUTDOWN_GRACE + Duration::from_secs(1), server).await;
            roundtrip(&mut busy.stream, b"", 13, patience).await;
            beat.settle().await;
            beat.check("handle_connection or serve");
        });

        // The idle timeout, on the paused clock: 30 s of silence in a blink.
        current_thread_runtime(true).block_on(async {
            let beat = Heartbeat::start(Duration::from_millis(5));
            let (mut client, task) = pipe(64 * 1024);
            beat.doing("a PING before 30 s of silence");
            roundtrip(&mut client, b"PING\r\n", 7, PATIENCE).await;
            beat.settle().await;
            beat.doing("30 s of silence, then the idle timeout and the close");
            let mut rest = Vec::new();
            let _ = timeout(Duration::from_secs(120), client.read_to_end(&mut rest)).await;
            let _ = timeout(PATIENCE, task).await;
            beat.settle().await;
            beat.check("handle_connection's idle path");
        });
    });
}

// Mistake: a blocking call in add_to_inbox (a std::thread::sleep between two steps, a
// blocking wait for a service): it stops every other task of the runtime's thread.
#[test]
fn add_to_inbox_never_blocks_the_runtime_thread() {
    graded(|| {
        current_thread_runtime(false).block_on(async {
            let beat = Heartbeat::start(Duration::from_millis(2));
            beat.settle().await;
            let slow = Timing::AfterDelay(Duration::from_millis(20));
            let down = MailError::Unavailable("Dan the Database is on holiday".into());
            let cases = [
                (
                    "a delivery through slow services",
                    mail()
                        .answer(Service::LoadMessage, slow)
                        .answer(Service::GetRecipient, Timing::AfterPolls(2))
                        .answer(Service::Deliver, slow),
                    7,
                ),
                (
                    "a message that does not fit the inbox",
                    mail().answer(Service::GetRecipient, slow),
                    8,
                ),
                (
                    "a recipient that does not exist",
                    mail().answer(Service::LoadMessage, slow),
                    9,
                ),
                (
                    "a delivery that fails",
                    mail()
                        .answer(Service::Deliver, slow)
                        .fail(Service::Deliver, down),
                    7,
                ),
            ];
            for (what, mail, recipient) in cases {
                beat.doing(&format!("add_to_inbox with {what}"));
                // Other tests check the results: this one only runs every path.
                let _ = timeout(PATIENCE, lab5::add_to_inbox(mail.clone(), 1, recipient)).await;
                beat.settle().await;
            }
            beat.check("add_to_inbox");
        });
    });
}

// Mistake: a connection that waits by polling (a loop of try_read and yield_now, or of short
// sleeps) instead of awaiting the socket: right answers, and a CPU burnt while clients idle.
#[tokio::test]
async fn an_idle_server_and_its_idle_connections_use_no_cpu() {
    let sentinel = Sentinel::arm();
    let (listener, addr) = listener();
    let (_stop, _server) = start_serve(listener);
    let mut clients = Vec::new();
    for index in 0..20 {
        let mut client = Client::connect(addr).await;
        assert_eq!(
            client.call("PING\r\n", &format!("client {index}")).await,
            pong()
        );
        clients.push(client);
    }
    let window = Duration::from_millis(300);
    let before = cpu_time().expect("CPU time from /proc/self");
    sleep(window).await;
    let used = cpu_time().unwrap().saturating_sub(before);
    assert!(
        used < Duration::from_millis(60),
        "20 idle connections used {used:?} of CPU time in {window:?}: a connection waiting for \
         a request must wait inside .await on the socket (io.read_buf(..).await in a select! \
         with the idle timer), not look again in a loop (try_read, yield_now, short sleeps)"
    );
    drop(clients);
    sentinel.confirm();
}

// Mistake: an accept error that ends `serve` (a `?` on accept), or that is retried at once:
// out of descriptors (EMFILE), the listener stays ready, and an accept loop that does not wait
// spins, burning a CPU for as long as the table is full.
#[test]
fn running_out_of_descriptors_does_not_stop_the_server() {
    graded(|| {
        let (std_listener, addr) = local_listener();
        std_listener.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let runtime = current_thread_runtime(false);
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let result = lab5::serve(listener, store(), std::future::pending::<()>()).await;
                eprintln!("lab5::serve returned {result:?}");
            });
        });
        let mut client = support::client::Client::connect(addr);
        client.must_call(&["PING"], "PING before the descriptors run out");
        // CPU time is read from /proc, which takes a descriptor: before and after, not during.
        let before = cpu_time().expect("CPU time from /proc/self");
        with_descriptors_exhausted(1, || {
            // This client takes the last free descriptor: the server cannot accept it.
            let _waiting =
                std::net::TcpStream::connect(addr).expect("connecting with the last descriptor");
            for round in 0..3 {
                let reply = client.must_call(
                    &["PING"],
                    &format!(
                        "PING {round} from a connected client while accept fails with EMFILE \
                         (too many open files): an accept error must not end serve; log it and \
                         go on accepting"
                    ),
                );
                assert_eq!(reply, Reply::Simple("PONG".into()));
            }
            std::thread::sleep(Duration::from_millis(300));
        });
        let used = cpu_time().unwrap().saturating_sub(before);
        assert!(
            used < Duration::from_millis(100),
            "while accept failed with EMFILE for 300 ms the process used {used:?} of CPU: the \
             accept loop retries at once and spins (the listener stays ready while the \
             descriptor table is full). After an accept error, sleep a little \
             (tokio::time::sleep, 10 ms) before accepting again"
        );
        let mut newcomer = support::client::Client::connect(addr);
        assert_eq!(
            newcomer.must_call(&["PING"], "a new client once descriptors are free again"),
            Reply::Simple("PONG".into()),
            "serve must go on accepting once accept succeeds again"
        );
    });
}
