//! The bench's clients: idle connections that a server must hold, and a short echo load of
//! request/response round trips that gives throughput and tail latency.
//!
//! Every socket operation has a time limit ([`IO_TIMEOUT`]) and the first failure ends the
//! phase with a reason: a stub that never answers costs seconds, not minutes.

use std::io::Write;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use support::client::Client;
use support::{Reply, Request};

/// The longest any connect, write or read of the bench may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// The echo load's payload: small, like most key-value traffic.
const PAYLOAD: &str = "grader-bench-payload-0123456789ab";

/// Connections a server holds open while the bench reads its threads and memory.
#[derive(Default)]
pub struct IdleClients {
    clients: Vec<Client>,
}

impl IdleClients {
    /// Opens connections until `n` are held. Each one sends a PING and waits for the PONG
    /// before the next connects, so the server has really accepted it (a connection still in
    /// the kernel's accept queue would cost the server nothing yet).
    pub fn grow_to(&mut self, addr: SocketAddr, n: usize) -> Result<(), String> {
        while self.clients.len() < n {
            let client = pinged(addr)
                .map_err(|e| format!("idle client {} of {n}: {e}", self.clients.len() + 1))?;
            self.clients.push(client);
        }
        Ok(())
    }
}

/// One connection that answers a PING and closes: the server has accepted and served.
pub fn ping_once(addr: SocketAddr) -> Result<(), String> {
    pinged(addr)
        .map(drop)
        .map_err(|e| format!("a first client: {e}"))
}

/// A new connection that answered one PING.
fn pinged(addr: SocketAddr) -> Result<Client, String> {
    let mut client = connect(addr)?;
    match round_trip(&mut client, &Request::new(["PING"]).to_resp())? {
        Reply::Simple(pong) if pong == "PONG" => Ok(client),
        other => Err(format!("PING got {other:?} instead of +PONG")),
    }
}

fn connect(addr: SocketAddr) -> Result<Client, String> {
    let mut client =
        Client::try_connect(addr).map_err(|e| format!("could not connect to {addr}: {e}"))?;
    client.set_timeout(IO_TIMEOUT);
    Ok(client)
}

/// Sends one encoded request and reads its reply; errors in words, never a panic.
fn round_trip(client: &mut Client, request: &[u8]) -> Result<Reply, String> {
    let mut stream = client.stream();
    stream
        .write_all(request)
        .map_err(|e| format!("could not send a request: {e}"))?;
    client.read_reply().map_err(|e| e.to_string())
}

/// Throughput and latency of an echo load.
#[derive(Debug, Clone, PartialEq)]
pub struct EchoFigures {
    /// Round trips completed by all connections.
    pub requests: u64,
    pub requests_per_second: f64,
    /// Median round trip, microseconds.
    pub p50_us: f64,
    /// 99th percentile round trip, microseconds.
    pub p99_us: f64,
}

/// `connections` clients, each on its own thread, send `ECHO` and wait for the reply, over
/// and over, for `duration`; all start at the same instant. Requests per second count every
/// completed round trip over the time from that start until the last client stopped.
pub fn echo_load(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
) -> Result<EchoFigures, String> {
    // Connected up front, before any load runs: a server that cannot take them fails here,
    // and no client thread waits for another.
    let clients = (0..connections)
        .map(|index| pinged(addr).map_err(|e| format!("load client {}: {e}", index + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let request = Request::new(["ECHO", PAYLOAD]).to_resp();
    let start = Instant::now() + Duration::from_millis(20);
    let deadline = start + duration;
    let workers: Vec<_> = clients
        .into_iter()
        .map(|client| {
            let request = request.clone();
            thread::Builder::new()
                .name("bench-echo".into())
                .spawn(move || echo_until(client, &request, start, deadline))
                .map_err(|e| format!("could not start a load thread: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut latencies_ns = Vec::new();
    let mut last_end = start;
    let mut failure = None;
    for worker in workers {
        match worker.join() {
            Ok(Ok((latencies, ended))) => {
                latencies_ns.extend(latencies);
                last_end = last_end.max(ended);
            }
            Ok(Err(error)) => failure = failure.or(Some(error)),
            Err(_) => failure = failure.or(Some("a load thread panicked".to_string())),
        }
    }
    if let Some(error) = failure {
        return Err(error);
    }
    latencies_ns.sort_unstable();
    let elapsed = last_end.saturating_duration_since(start).as_secs_f64();
    let (Some(p50), Some(p99)) = (
        percentile(&latencies_ns, 50.0),
        percentile(&latencies_ns, 99.0),
    ) else {
        return Err("no echo request completed".into());
    };
    Ok(EchoFigures {
        requests: latencies_ns.len() as u64,
        requests_per_second: rate(latencies_ns.len() as u64, elapsed),
        p50_us: p50 as f64 / 1000.0,
        p99_us: p99 as f64 / 1000.0,
    })
}

/// One load client: round trips from `start` until `deadline`; their latencies in
/// nanoseconds, and when it stopped.
fn echo_until(
    mut client: Client,
    request: &[u8],
    start: Instant,
    deadline: Instant,
) -> Result<(Vec<u64>, Instant), String> {
    if let Some(wait) = start.checked_duration_since(Instant::now()) {
        thread::sleep(wait);
    }
    let mut latencies = Vec::with_capacity(16 * 1024);
    loop {
        let sent = Instant::now();
        if sent >= deadline {
            return Ok((latencies, sent));
        }
        match round_trip(&mut client, request)? {
            Reply::Bulk(echoed) if echoed[..] == *PAYLOAD.as_bytes() => {}
            other => return Err(format!("ECHO got {other:?} instead of its payload back")),
        }
        latencies.push(sent.elapsed().as_nanos() as u64);
    }
}

/// The `p`-th percentile of sorted samples by the nearest-rank method: the smallest sample
/// with at least `p`% of the samples at or below it (always one of the samples).
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Events per second, 0 when no time passed.
pub fn rate(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50));
        assert_eq!(percentile(&samples, 99.0), Some(99));
        assert_eq!(percentile(&samples, 100.0), Some(100));
        assert_eq!(percentile(&samples, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        // 99% of 10 samples is 9.9: the 10th sample is the first with 99% at or below it.
        let ten: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 99.0), Some(10));
        assert_eq!(percentile(&ten, 50.0), Some(5));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn rates_never_divide_by_zero() {
        assert_eq!(rate(500, 0.5), 1000.0);
        assert_eq!(rate(10, 0.0), 0.0);
    }

    /// A stand-in server that knows exactly the two requests the bench sends.
    fn tiny_server() -> SocketAddr {
        support::testing::serve_each_connection_on_a_thread(|mut stream| {
            use std::io::Read;
            let ping = Request::new(["PING"]).to_resp();
            let echo = Request::new(["ECHO", PAYLOAD]).to_resp();
            let echoed = format!("${}\r\n{PAYLOAD}\r\n", PAYLOAD.len());
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = stream.read(&mut chunk) {
                buffer.extend_from_slice(&chunk[..n]);
                loop {
                    let reply: &[u8] = if buffer.starts_with(&ping) {
                        buffer.drain(..ping.len());
                        b"+PONG\r\n"
                    } else if buffer.starts_with(&echo) {
                        buffer.drain(..echo.len());
                        echoed.as_bytes()
                    } else {
                        break;
                    };
                    if stream.write_all(reply).is_err() {
                        return;
                    }
                }
            }
        })
    }

    #[test]
    fn idle_clients_and_an_echo_load_against_a_tiny_server() {
        let addr = tiny_server();
        let mut idle = IdleClients::default();
        idle.grow_to(addr, 3).unwrap();
        assert_eq!(idle.clients.len(), 3);
        let figures = echo_load(addr, 2, Duration::from_millis(100)).unwrap();
        assert!(figures.requests > 0);
        assert!(figures.requests_per_second > 0.0);
        assert!(figures.p99_us >= figures.p50_us && figures.p50_us > 0.0);
    }

    #[test]
    fn a_server_that_refuses_is_a_reason_not_a_panic() {
        let (listener, addr) = support::testing::local_listener();
        drop(listener);
        let error = IdleClients::default().grow_to(addr, 1).unwrap_err();
        assert!(
            error.starts_with("idle client 1 of 1: could not connect"),
            "{error}"
        );
    }
}
