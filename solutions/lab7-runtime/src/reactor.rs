//! # Lab 7, part B: the reactor (reference solution)
//!
//! The event loop of lab 2, turned into a service for futures: a `mio::Poll`, and a table from
//! `Token` to the wakers of the tasks waiting to read or write on that source. Tokens carry a
//! generation, so that a slot reused by a new socket never answers to the old socket's token.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest, Token};

/// The token of the runtime's `mio::Waker`: an event under it only means "wake up".
pub(crate) const WAKE_TOKEN: Token = Token(0);

/// Which readiness an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// One thread's reactor: the `mio::Poll`, its event buffer and the registration table.
pub(crate) struct Reactor {
    poll: RefCell<mio::Poll>,
    events: RefCell<Events>,
    table: RefCell<Table>,
}

/// The registration table: slots indexed by the low half of a token, with a free list.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// How many slots hold a live registration.
    live: usize,
}

/// A slot of the table. Its generation changes every time the slot is freed, and is part of
/// the token: a token from before the change names nothing any more.
#[derive(Default)]
struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

/// What the reactor knows about one registered source.
struct Entry {
    /// Readiness seen since the last `WouldBlock` in that direction (edge-triggered: the kernel
    /// reports a change once, so the reactor remembers it until an operation uses it up).
    readable: bool,
    writable: bool,
    /// The task waiting to read, and the task waiting to write.
    reader: Option<Waker>,
    writer: Option<Waker>,
}

impl Entry {
    fn new() -> Entry {
        // A fresh source may already be ready (bytes waiting, a connection completed): let the
        // first operation try, and wait only once it got `WouldBlock`.
        Entry {
            readable: true,
            writable: true,
            reader: None,
            writer: None,
        }
    }
}

/// Splits a token into (slot index, generation); `WAKE_TOKEN` is never a slot.
fn decode(token: Token) -> (usize, u32) {
    let low = token.0 & 0xFFFF_FFFF;
    (low.wrapping_sub(1), (token.0 >> 32) as u32)
}

fn encode(index: usize, generation: u32) -> Token {
    Token(((generation as usize) << 32) | (index + 1))
}

impl Table {
    fn entry(&mut self, token: Token) -> Option<&mut Entry> {
        let (index, generation) = decode(token);
        let slot = self.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.entry.as_mut()
    }
}

impl Reactor {
    pub(crate) fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            poll: RefCell::new(mio::Poll::new()?),
            events: RefCell::new(Events::with_capacity(1024)),
            table: RefCell::new(Table::default()),
        })
    }

    /// The `mio::Waker` that interrupts [`Reactor::wait`] from any thread.
    pub(crate) fn unparker(&self) -> io::Result<mio::Waker> {
        mio::Waker::new(self.poll.borrow().registry(), WAKE_TOKEN)
    }

    /// How many sources are registered right now.
    pub(crate) fn registrations(&self) -> usize {
        self.table.borrow().live
    }

    /// Waits in `mio::Poll::poll` until a source is ready, the `mio::Waker` is woken, or
    /// `timeout` has passed (`None`: no timeout). The events wait for [`Reactor::dispatch`].
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                events.clear();
                Ok(())
            }
            other => other,
        }
    }

    /// Records the readiness the last [`Reactor::wait`] reported and wakes the tasks waiting
    /// for it, and only those. Returns how many events there were.
    pub(crate) fn dispatch(&self) -> usize {
        let events = self.events.borrow();
        let mut table = self.table.borrow_mut();
        let mut count = 0;
        for event in events.iter() {
            count += 1;
            if event.token() == WAKE_TOKEN {
                continue;
            }
            // A stale token (its source is gone, its slot maybe reused) names no entry.
            let Some(entry) = table.entry(event.token()) else {
                continue;
            };
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                entry.readable = true;
                if let Some(waker) = entry.reader.take() {
                    waker.wake();
                }
            }
            if event.is_writable() || event.is_write_closed() || event.is_error() {
                entry.writable = true;
                if let Some(waker) = entry.writer.take() {
                    waker.wake();
                }
            }
        }
        count
    }

    fn register(&self, source: &mut impl Source, interest: Interest) -> io::Result<Token> {
        let mut table = self.table.borrow_mut();
        let index = match table.free.pop() {
            Some(index) => index,
            None => {
                table.slots.push(Slot::default());
                table.slots.len() - 1
            }
        };
        let token = encode(index, table.slots[index].generation);
        if let Err(error) = self
            .poll
            .borrow()
            .registry()
            .register(source, token, interest)
        {
            table.free.push(index);
            return Err(error);
        }
        table.slots[index].entry = Some(Entry::new());
        table.live += 1;
        Ok(token)
    }

    fn deregister(&self, source: &mut impl Source, token: Token) {
        // Closing the socket would remove it from epoll too, but only once every copy of its
        // descriptor is closed: say it explicitly.
        let _ = self.poll.borrow().registry().deregister(source);
        let mut table = self.table.borrow_mut();
        let (index, generation) = decode(token);
        let Some(slot) = table.slots.get_mut(index) else {
            return;
        };
        if slot.generation != generation || slot.entry.is_none() {
            return;
        }
        // Drop the wakers with the entry, and retire the token: the slot's next owner gets
        // another generation.
        slot.entry = None;
        slot.generation = slot.generation.wrapping_add(1);
        table.free.push(index);
        table.live -= 1;
    }

    fn is_ready(&self, token: Token, direction: Direction) -> bool {
        let mut table = self.table.borrow_mut();
        match table.entry(token) {
            Some(entry) => match direction {
                Direction::Read => entry.readable,
                Direction::Write => entry.writable,
            },
            None => false,
        }
    }

    fn clear_ready(&self, token: Token, direction: Direction) {
        if let Some(entry) = self.table.borrow_mut().entry(token) {
            match direction {
                Direction::Read => entry.readable = false,
                Direction::Write => entry.writable = false,
            }
        }
    }

    fn set_waker(&self, token: Token, direction: Direction, waker: &Waker) {
        if let Some(entry) = self.table.borrow_mut().entry(token) {
            let slot = match direction {
                Direction::Read => &mut entry.reader,
                Direction::Write => &mut entry.writer,
            };
            match slot {
                Some(stored) if stored.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
    }
}

/// A source registered with a reactor for as long as this value lives: dropping it
/// deregisters the source (and then drops it, which closes the socket).
pub(crate) struct Registration<S: Source> {
    source: S,
    token: Token,
    reactor: Rc<Reactor>,
}

impl<S: Source> Registration<S> {
    /// Registers `source` with `reactor` for reading and writing.
    pub(crate) fn new(reactor: Rc<Reactor>, mut source: S) -> io::Result<Registration<S>> {
        let token = reactor.register(&mut source, Interest::READABLE | Interest::WRITABLE)?;
        Ok(Registration {
            source,
            token,
            reactor,
        })
    }

    pub(crate) fn source(&self) -> &S {
        &self.source
    }

    /// Runs the non-blocking `operation` once the source is ready in `direction`. On
    /// `WouldBlock` it clears that readiness, stores this task's waker, and returns `Pending`:
    /// the reactor wakes the task at the next edge.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
        mut operation: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            if !self.reactor.is_ready(self.token, direction) {
                self.reactor.set_waker(self.token, direction, cx.waker());
                return Poll::Pending;
            }
            match operation(&self.source) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.reactor.clear_ready(self.token, direction);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }
}

impl<S: Source> Drop for Registration<S> {
    fn drop(&mut self) {
        self.reactor.deregister(&mut self.source, self.token);
    }
}
