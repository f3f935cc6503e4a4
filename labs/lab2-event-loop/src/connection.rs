//! # Lab 2, part A: the state of one conversation
//!
//! Lecture: *"Non-blocking I/O"* and *"State management"*. In lab 1 each conversation lived on
//! its own thread, and its state (what was read so far, what is left to write, where it was
//! in the protocol) lived on that thread's stack, for free. With one thread serving everyone
//! that is gone: a read returns `WouldBlock` instead of waiting, and the loop moves on to
//! another client. Everything needed to pick the conversation up later must be kept *by hand*,
//! in a struct. This struct is exactly what the compiler will build for you in lab 5 from an
//! `async fn`.
//!
//! Every socket here is non-blocking and readiness is **edge-triggered**: mio tells you once
//! that a socket became readable (or writable). If you do not read until `WouldBlock`, the
//! bytes left in the kernel are never announced again.
//!
//! ## Your tasks
//!
//! 1. Decide the fields: an input buffer (`bytes::BytesMut`), an output buffer and how much of
//!    it has been written (a partial write sends only part of it: keep the rest, do not copy
//!    it on every write), the SLEEP in progress (its deadline and the reply to send then),
//!    and whether the conversation is ending (`QUIT`, a bad frame, end-of-file).
//! 2. Reading: read into the input buffer until `WouldBlock` (edge-triggered!). A read of 0
//!    bytes is end-of-file. `Interrupted` means "try again". A fair `drive` also has a budget
//!    (so many reads per call, so that one flooding client cannot hold the loop); when it runs
//!    out first, the connection must ask the loop to drive it again (see the handout).
//! 3. Answering: `support::decode` + `support::apply` in a loop, in order. On
//!    `Action::Sleep`, do **not** sleep: remember the deadline and stop answering this client
//!    (its later requests must wait, so replies stay in order) until the deadline has passed.
//! 4. Writing: write the output until it is all sent or the socket says `WouldBlock`; keep what
//!    is left for the next writable event.
//! 5. Backpressure: a client that sends requests but never reads replies must not make you
//!    buffer without limit. Past a limit of unsent output, stop reading and answering that
//!    client until it catches up, and remember to resume (no new edge will come for bytes
//!    already waiting in the kernel).
//! 6. Tell the loop what you need: whether you have output pending (so it can ask for
//!    writable events, and stop asking when you are done), when your SLEEP ends, and whether
//!    the connection is finished and can be closed: ending (end-of-file, `QUIT`, a bad frame),
//!    no SLEEP pending, and everything owed sent. At end-of-file you still owe the replies to
//!    every complete request already received, also those behind a SLEEP.

use std::io;
use std::time::Instant;

use mio::net::TcpStream;
use support::Store;

/// One client: its socket and everything the conversation needs to resume where it stopped.
pub struct Connection {
    pub stream: TcpStream,
    // TODO 1: buffers, the SLEEP in progress, whether the conversation is ending.
}

impl Connection {
    /// A new conversation on `stream` (TODO 1).
    pub fn new(stream: TcpStream) -> Connection {
        Connection { stream }
    }

    /// Does everything possible without blocking: answers buffered requests, writes until the
    /// socket would block, reads until it would block. An error means the connection is
    /// broken and must be closed (TODO 2-5).
    pub fn drive(&mut self, store: &mut Store, now: Instant) -> io::Result<()> {
        todo!(
            "lab 2, TODO 2-5: read, answer and write for {:?} with {} keys at {now:?}",
            self.stream,
            store.len()
        )
    }

    /// When the SLEEP in progress ends, if one is (TODO 6).
    pub fn wake_at(&self) -> Option<Instant> {
        todo!("lab 2, TODO 6")
    }

    /// True while replies wait for the socket to accept them (TODO 6).
    pub fn wants_write(&self) -> bool {
        todo!("lab 2, TODO 6")
    }

    /// True once the conversation is over and everything owed has been sent (TODO 6).
    pub fn is_finished(&self) -> bool {
        todo!("lab 2, TODO 6")
    }
}
