//! Reference solution: a single-threaded MiniKV event loop on mio.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::time::Instant;

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use support::Store;

use crate::connection::Connection;

const LISTENER: Token = Token(0);

/// A connection in its slot, with what the loop has told the OS about it.
struct Entry {
    connection: Connection,
    /// Unique for the life of the server: a slot is reused, an id never.
    id: u64,
    interest: Interest,
    /// The deadline already in the timer heap for this connection, if any.
    timer: Option<Instant>,
}

/// Connections by slot; `Token(slot + 1)` names slot `slot`. Free slots are reused.
#[derive(Default)]
struct Connections {
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    next_id: u64,
}

impl Connections {
    fn insert(&mut self, connection: Connection) -> (usize, u64) {
        let id = self.next_id;
        self.next_id += 1;
        let entry = Entry {
            connection,
            id,
            interest: Interest::READABLE,
            timer: None,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(entry);
                slot
            }
            None => {
                self.slots.push(Some(entry));
                self.slots.len() - 1
            }
        };
        (slot, id)
    }

    fn get_mut(&mut self, slot: usize) -> Option<&mut Entry> {
        self.slots.get_mut(slot).and_then(Option::as_mut)
    }

    fn remove(&mut self, slot: usize) -> Option<Entry> {
        let entry = self.slots.get_mut(slot)?.take()?;
        self.free.push(slot);
        Some(entry)
    }
}

/// Serves MiniKV on `listener` forever, on the calling thread alone.
pub fn serve(mut listener: TcpListener) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut store = Store::new();
    let mut connections = Connections::default();
    // Pending SLEEP deadlines: (when, slot, connection id). Stale entries are skipped.
    let mut timers: BinaryHeap<Reverse<(Instant, usize, u64)>> = BinaryHeap::new();

    loop {
        // Sleep in the kernel until a socket is ready or the next SLEEP ends: never spin.
        let timeout = timers
            .peek()
            .map(|Reverse((at, _, _))| at.saturating_duration_since(Instant::now()));
        if let Err(error) = poll.poll(&mut events, timeout) {
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        let now = Instant::now();
        for event in events.iter() {
            if event.token() == LISTENER {
                accept_all(
                    &listener,
                    &poll,
                    &mut connections,
                    &mut store,
                    &mut timers,
                    now,
                );
            } else {
                let slot = event.token().0 - 1;
                drive(slot, &poll, &mut connections, &mut store, &mut timers, now);
            }
        }
        while let Some(&Reverse((at, slot, id))) = timers.peek() {
            if at > now {
                break;
            }
            timers.pop();
            let current = connections
                .get_mut(slot)
                .is_some_and(|entry| entry.id == id && entry.timer == Some(at));
            if current {
                connections.get_mut(slot).expect("checked").timer = None;
                drive(slot, &poll, &mut connections, &mut store, &mut timers, now);
            }
        }
    }
}

fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    connections: &mut Connections,
    store: &mut Store,
    timers: &mut BinaryHeap<Reverse<(Instant, usize, u64)>>,
    now: Instant,
) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let (slot, _) = connections.insert(Connection::new(stream));
                let entry = connections.get_mut(slot).expect("just inserted");
                if let Err(error) = poll.registry().register(
                    &mut entry.connection.stream,
                    Token(slot + 1),
                    Interest::READABLE,
                ) {
                    eprintln!("minikv: cannot watch a new connection: {error}");
                    connections.remove(slot);
                    continue;
                }
                // Data may have arrived before registration: look now, not at the next edge.
                drive(slot, poll, connections, store, timers, now);
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                // Out of descriptors, or a client that reset before we got to it.
                eprintln!("minikv: accept failed: {error}");
                return;
            }
        }
    }
}

/// Lets one connection make progress, then brings the OS and the timer heap up to date.
fn drive(
    slot: usize,
    poll: &Poll,
    connections: &mut Connections,
    store: &mut Store,
    timers: &mut BinaryHeap<Reverse<(Instant, usize, u64)>>,
    now: Instant,
) {
    let Some(entry) = connections.get_mut(slot) else {
        return;
    };
    let result = entry.connection.drive(store, now);
    if result.is_err() || entry.connection.is_finished() {
        if let Some(mut entry) = connections.remove(slot) {
            let _ = poll.registry().deregister(&mut entry.connection.stream);
        }
        return;
    }
    let wanted = if entry.connection.wants_write() {
        Interest::READABLE | Interest::WRITABLE
    } else {
        Interest::READABLE
    };
    if wanted != entry.interest {
        if poll
            .registry()
            .reregister(&mut entry.connection.stream, Token(slot + 1), wanted)
            .is_err()
        {
            if let Some(mut entry) = connections.remove(slot) {
                let _ = poll.registry().deregister(&mut entry.connection.stream);
            }
            return;
        }
        entry.interest = wanted;
    }
    if let Some(at) = entry.connection.wake_at() {
        if entry.timer != Some(at) {
            entry.timer = Some(at);
            timers.push(Reverse((at, slot, entry.id)));
        }
    }
}
