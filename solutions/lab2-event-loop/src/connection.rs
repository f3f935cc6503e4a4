//! Reference solution: the state of one conversation in the lab 2 event loop.

use std::io::{self, Read, Write};
use std::time::Instant;

use bytes::BytesMut;
use mio::net::TcpStream;
use support::{apply, decode, Action, Reply, Store, MAX_FRAME};

/// Past this much unsent output, stop answering (and so reading) until the client catches up:
/// a client that never reads must not make the server buffer without bound.
const OUTPUT_HIGH_WATER: usize = 1 << 20;

/// Past this much unanswered input (while a SLEEP holds the queue), stop reading.
const INPUT_HIGH_WATER: usize = 4 * MAX_FRAME;

/// How much one `read` call asks for.
const READ_CHUNK: usize = 16 * 1024;

/// Buffers larger than this are freed when they empty: idle connections stay small.
const IDLE_BUFFER: usize = 4 * 1024;

/// One client: its socket and everything the conversation needs to resume where it stopped.
pub struct Connection {
    pub stream: TcpStream,
    /// Bytes received but not yet decoded.
    input: BytesMut,
    /// Encoded replies; `output[written..]` still has to be sent.
    output: Vec<u8>,
    written: usize,
    /// A SLEEP in progress: when it ends and the reply to send then. Later requests wait.
    sleeping: Option<(Instant, Reply)>,
    /// QUIT or a bad frame: no more requests are answered; close once the output is sent.
    closing: bool,
    /// The client sent end-of-file.
    peer_closed: bool,
}

impl Connection {
    pub fn new(stream: TcpStream) -> Connection {
        Connection {
            stream,
            input: BytesMut::new(),
            output: Vec::new(),
            written: 0,
            sleeping: None,
            closing: false,
            peer_closed: false,
        }
    }

    /// Does everything possible without blocking: answers buffered requests, writes until the
    /// socket would block, and reads until it would block (edge-triggered readiness reports
    /// new data only once). An error means the connection is broken: close it.
    pub fn drive(&mut self, store: &mut Store, now: Instant) -> io::Result<()> {
        // Go round until a whole round makes no progress: a flush that empties the output may
        // let backpressured requests be answered, and no event will come to say so.
        loop {
            let answered = self.answer(store, now);
            let wrote = self.flush()?;
            let read = self.wants_input() && self.read_chunk()?;
            if !(answered || wrote || read) {
                self.release_idle_buffers();
                return Ok(());
            }
        }
    }

    /// When the SLEEP in progress ends, if one is.
    pub fn wake_at(&self) -> Option<Instant> {
        self.sleeping.as_ref().map(|(at, _)| *at)
    }

    /// True while replies wait for the socket to accept them.
    pub fn wants_write(&self) -> bool {
        self.pending_output() > 0
    }

    /// True once the conversation is over and everything owed has been sent.
    pub fn is_finished(&self) -> bool {
        (self.closing || self.peer_closed) && self.sleeping.is_none() && self.pending_output() == 0
    }

    fn pending_output(&self) -> usize {
        self.output.len() - self.written
    }

    fn wants_input(&self) -> bool {
        !self.peer_closed
            && !self.closing
            && self.pending_output() < OUTPUT_HIGH_WATER
            && self.input.len() < INPUT_HIGH_WATER
    }

    /// Answers buffered requests in order, stopping at a SLEEP that has not ended yet.
    /// Returns whether it produced any output.
    fn answer(&mut self, store: &mut Store, now: Instant) -> bool {
        if self.written > 0 && self.written * 2 >= self.output.len() {
            // Drop what was sent, so the buffer does not grow with a slow, steady reader.
            self.output.drain(..self.written);
            self.written = 0;
        }
        let before = self.output.len();
        if let Some((at, _)) = &self.sleeping {
            if *at > now {
                return false;
            }
            let (_, reply) = self.sleeping.take().expect("checked above");
            reply.encode(&mut self.output);
        }
        while !self.closing && self.sleeping.is_none() && self.pending_output() < OUTPUT_HIGH_WATER
        {
            match decode(&mut self.input) {
                Ok(Some(request)) => match apply(store, &request) {
                    Action::Reply(reply) => reply.encode(&mut self.output),
                    Action::Sleep { duration, then } => {
                        self.sleeping = Some((now + duration, then))
                    }
                    Action::Close(reply) => {
                        reply.encode(&mut self.output);
                        self.closing = true;
                    }
                },
                Ok(None) => break,
                Err(error) => {
                    error.reply().encode(&mut self.output);
                    self.closing = true;
                }
            }
        }
        self.output.len() != before
    }

    /// Writes until everything is sent or the socket would block; true if it sent anything.
    fn flush(&mut self) -> io::Result<bool> {
        let before = self.written;
        while self.written < self.output.len() {
            match self.stream.write(&self.output[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(self.written > before),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let wrote = self.written > before;
        self.output.clear();
        self.written = 0;
        Ok(wrote)
    }

    /// Reads one chunk; false when the socket would block or the client has closed.
    fn read_chunk(&mut self) -> io::Result<bool> {
        // One stack buffer per read, not per connection: an idle client costs only its state.
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.peer_closed = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.input.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    /// Gives back buffer memory that a burst left behind, once it is no longer needed.
    fn release_idle_buffers(&mut self) {
        if self.input.is_empty() && self.input.capacity() > IDLE_BUFFER {
            self.input = BytesMut::new();
        }
        if self.output.is_empty() && self.output.capacity() > IDLE_BUFFER {
            self.output = Vec::new();
        }
    }
}
