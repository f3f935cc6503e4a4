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
            input: BytesMut::with_capacity(READ_CHUNK),
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
        let start = self.input.len();
        self.input.resize(start + READ_CHUNK, 0);
        loop {
            match self.stream.read(&mut self.input[start..]) {
                Ok(0) => {
                    self.input.truncate(start);
                    self.peer_closed = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.input.truncate(start + n);
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.input.truncate(start);
                    return if e.kind() == io::ErrorKind::WouldBlock {
                        Ok(false)
                    } else {
                        Err(e)
                    };
                }
            }
        }
    }
}
