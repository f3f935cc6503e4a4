//! A blocking MiniKV client for tests, with a timeout on every operation.
//!
//! Every read has a deadline, so a server that never answers makes a test *fail* with a clear
//! message instead of hanging until the grader kills it.
//!
//! The methods that panic are `#[track_caller]`: a failure names the test's line, not this file.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use bytes::BytesMut;

use crate::protocol::Request;
use crate::reply::Reply;

/// How long a test waits for a reply before giving up, unless it says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection to a MiniKV server.
pub struct Client {
    stream: TcpStream,
    buffer: BytesMut,
    timeout: Duration,
}

/// Why a reply did not arrive.
#[derive(Debug)]
pub enum ClientError {
    /// Nothing (complete) arrived within the timeout.
    TimedOut(Duration),
    /// The server closed the connection.
    Closed,
    /// The server sent bytes that are not a RESP2 reply.
    Garbage(String),
    /// Another I/O error, such as a reset connection.
    Io(io::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::TimedOut(after) => write!(f, "no reply within {after:?}"),
            ClientError::Closed => write!(f, "the server closed the connection"),
            ClientError::Garbage(what) => {
                write!(f, "the server sent something that is not RESP2: {what}")
            }
            ClientError::Io(error) => write!(f, "I/O error: {error}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl Client {
    /// Connects to `addr`; panics with a readable message if the server does not accept.
    #[track_caller]
    pub fn connect(addr: SocketAddr) -> Client {
        match Client::try_connect(addr) {
            Ok(client) => client,
            Err(error) => {
                panic!("could not connect to the server at {addr}: {error}; is it listening?")
            }
        }
    }

    /// Connects to `addr`.
    pub fn try_connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, DEFAULT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        let client = Client {
            stream,
            buffer: BytesMut::new(),
            timeout: DEFAULT_TIMEOUT,
        };
        client.apply_timeouts()?;
        Ok(client)
    }

    /// Changes how long reads and writes may take.
    #[track_caller]
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
        self.apply_timeouts().expect("setting socket timeouts");
    }

    fn apply_timeouts(&self) -> io::Result<()> {
        self.stream.set_read_timeout(Some(self.timeout))?;
        self.stream.set_write_timeout(Some(self.timeout))
    }

    /// The underlying socket, for tests that need to do something unusual with it.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Sends a request (as a RESP2 array) without waiting for the reply.
    #[track_caller]
    pub fn send(&mut self, words: &[&str]) {
        let bytes = Request::new(words).to_resp();
        self.send_raw(&bytes);
    }

    /// Sends raw bytes: half a frame, garbage, several pipelined frames...
    #[track_caller]
    pub fn send_raw(&mut self, bytes: &[u8]) {
        if let Err(error) = self.stream.write_all(bytes) {
            panic!("could not send to the server: {error}");
        }
    }

    /// Waits for the next reply.
    pub fn read_reply(&mut self) -> Result<Reply, ClientError> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match Reply::decode(&mut self.buffer) {
                Ok(Some(reply)) => return Ok(reply),
                Ok(None) => {}
                Err(error) => return Err(ClientError::Garbage(error.to_string())),
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ClientError::Closed),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(ClientError::TimedOut(self.timeout))
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_disconnect(&e) => return Err(ClientError::Closed),
                Err(e) => return Err(ClientError::Io(e)),
            }
        }
    }

    /// Sends a request and waits for its reply.
    #[track_caller]
    pub fn call(&mut self, words: &[&str]) -> Result<Reply, ClientError> {
        self.send(words);
        self.read_reply()
    }

    /// Sends a request and returns its reply, panicking with `context` and the reason
    /// if none arrives: `client.must_call(&["PING"], "PING on a second client")`.
    #[track_caller]
    pub fn must_call(&mut self, words: &[&str], context: &str) -> Reply {
        match self.call(words) {
            Ok(reply) => reply,
            Err(error) => panic!("{context}: sent {words:?} and got {error}"),
        }
    }

    /// Waits until the server closes the connection (within the timeout); true if it did.
    /// Bytes that arrive first are returned as part of the error message when it does not.
    pub fn wait_for_close(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if is_disconnect(&e) => return true,
                Err(_) => return false,
            }
        }
    }

    /// Closes the writing half: the server reads end-of-file.
    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }
}

fn is_disconnect(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}
