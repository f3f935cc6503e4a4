//! Public tests for lab 5. Run them with `cargo run -p grader -- lab 5` (or `just lab 5`).
//!
//! The grader also runs hidden tests: requests split across reads, partial writes, the idle
//! timeout and the shutdown on tokio's paused clock, a blocked runtime, leaked tasks and a
//! thousand clients on one thread.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pretty_assertions::assert_eq;
use support::grading::Sentinel;
use support::mail::{MailError, Message, MockMail, Recipient, Service, Timing};
use support::Store;
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

/// How long a test waits for anything before it fails (on the paused clock, virtual time).
const PATIENCE: Duration = Duration::from_secs(5);

fn store() -> Arc<Mutex<Store>> {
    Arc::new(Mutex::new(Store::new()))
}

/// Your `handle_connection` in a task, talking to the test through an in-memory pipe.
fn connect() -> (DuplexStream, JoinHandle<std::io::Result<()>>) {
    let (client, server) = duplex(64 * 1024);
    let task = tokio::spawn(lab5::handle_connection(server, store()));
    (client, task)
}

/// Sends `request` and reads exactly `expected.len()` bytes of reply.
async fn exchange(client: &mut DuplexStream, request: &str, expected: &str) {
    client.write_all(request.as_bytes()).await.unwrap();
    let mut reply = vec![0; expected.len()];
    match timeout(PATIENCE, client.read_exact(&mut reply)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            panic!("sent {request:?}, expected {expected:?}, and the connection ended: {e}")
        }
        Err(_) => panic!("sent {request:?} and got no complete reply within {PATIENCE:?}"),
    }
    assert_eq!(
        String::from_utf8_lossy(&reply),
        expected,
        "the reply to {request:?}"
    );
}

#[tokio::test]
async fn add_to_inbox_delivers_a_message_that_fits() {
    let sentinel = Sentinel::arm();
    let mail = MockMail::new()
        .with_message(Message::new(1, "Hello from Dan the Database"))
        .with_recipient(Recipient::new(7, "Ada", 1024))
        .answer(Service::GetRecipient, Timing::AfterPolls(2));
    let result: Result<(), MailError> = timeout(PATIENCE, lab5::add_to_inbox(mail.clone(), 1, 7))
        .await
        .expect("add_to_inbox did not finish");
    assert_eq!(result, Ok(()));
    assert_eq!(
        mail.delivered(),
        vec![(7, Message::new(1, "Hello from Dan the Database"))],
        "calls made:\n{}",
        mail.journal()
    );
    sentinel.confirm();
}

#[tokio::test]
async fn ping_gets_pong() {
    let sentinel = Sentinel::arm();
    let (mut client, _task) = connect();
    exchange(&mut client, "PING\r\n", "+PONG\r\n").await;
    exchange(&mut client, "*1\r\n$4\r\nPING\r\n", "+PONG\r\n").await;
    sentinel.confirm();
}

#[tokio::test]
async fn set_then_get_returns_the_value() {
    let sentinel = Sentinel::arm();
    let (mut client, _task) = connect();
    exchange(&mut client, "SET lab five\r\n", "+OK\r\n").await;
    exchange(&mut client, "GET lab\r\n", "$4\r\nfive\r\n").await;
    exchange(&mut client, "GET nothing\r\n", "$-1\r\n").await;
    sentinel.confirm();
}

#[tokio::test]
async fn quit_replies_ok_then_closes_the_connection() {
    let sentinel = Sentinel::arm();
    let (mut client, task) = connect();
    exchange(&mut client, "QUIT\r\n", "+OK\r\n").await;
    let mut rest = Vec::new();
    let read = timeout(PATIENCE, client.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0))),
        "after +OK to QUIT, handle_connection must return (closing the connection); got {read:?} \
         and {:?}",
        String::from_utf8_lossy(&rest)
    );
    let result = timeout(PATIENCE, task)
        .await
        .expect("handle_connection returned");
    assert!(
        matches!(result, Ok(Ok(()))),
        "handle_connection after QUIT: {result:?}"
    );
    sentinel.confirm();
}

#[tokio::test(start_paused = true)]
async fn sleep_replies_after_the_wait() {
    let sentinel = Sentinel::arm();
    let (mut client, _task) = connect();
    let started = Instant::now();
    exchange(&mut client, "SLEEP 1500\r\n", "+SLEPT 1500\r\n").await;
    // The clock is paused: tokio jumps it forward when every task waits for a timer.
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "+SLEPT came after {:?} of tokio's clock: wait with tokio::time::sleep(duration).await \
         before replying (std::thread::sleep blocks the thread and tokio's clock never sees it)",
        started.elapsed()
    );
    sentinel.confirm();
}

#[tokio::test]
async fn serve_answers_clients_and_returns_on_shutdown() {
    let sentinel = Sentinel::arm();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lab5::serve(listener, store(), async {
        let _ = stopped.await;
    }));
    let mut alice = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut bob = tokio::net::TcpStream::connect(addr).await.unwrap();
    for (client, name) in [(&mut alice, "alice"), (&mut bob, "bob")] {
        client.write_all(b"PING\r\n").await.unwrap();
        let mut reply = [0; 7];
        timeout(PATIENCE, client.read_exact(&mut reply))
            .await
            .unwrap_or_else(|_| panic!("{name} got no reply to PING"))
            .unwrap_or_else(|e| panic!("{name}'s connection ended: {e}"));
        assert_eq!(&reply, b"+PONG\r\n", "{name}'s reply to PING");
    }
    stop.send(()).unwrap();
    let result = timeout(Duration::from_secs(8), server)
        .await
        .expect("serve did not return within 8 s of its shutdown signal");
    assert!(
        matches!(result, Ok(Ok(()))),
        "serve after shutdown: {result:?}"
    );
    sentinel.confirm();
}
