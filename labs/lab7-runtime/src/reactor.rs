//! # Lab 7, part B: the reactor
//!
//! Lecture: *"epoll: what's ready for reading?"* and the *event reactor* of
//! *"Futures.rs: zero-cost abstraction for futures"*. In lab 2 your loop asked `mio::Poll`
//! which sockets were ready and then drove their connections itself. Now the conversations are
//! futures, and the reactor's job is smaller and sharper: **when a source becomes ready, wake
//! the task that waits for it, and no other**. The tasks then do the reading and writing
//! themselves, in `src/net.rs`.
//!
//! The reactor is a `mio::Poll` (and its `Events`) plus a **registration table**: one slot per
//! registered source, found by its `mio::Token`, holding
//!
//! - the readiness seen since the last `WouldBlock`, for reading and for writing;
//! - the waker of the task waiting to read, and of the task waiting to write.
//!
//! mio is **edge-triggered**: the kernel reports a change once (new bytes arrived, room in
//! the send buffer), not for as long as the socket stays ready. So the table *remembers*
//! readiness until an operation uses it up, and an operation works like this
//! (`poll_io`, say, used by every socket operation of `src/net.rs`):
//!
//! ```text
//! loop:
//!     not known to be ready?  store this task's waker in the slot; return Pending
//!     try the system call
//!     WouldBlock?             clear that readiness; loop (which stores the waker)
//!     anything else           return Ready(result)
//! ```
//!
//! A read that returned bytes leaves the socket ready: the next read must try again at once,
//! because no new event comes for bytes already waiting. Only `WouldBlock` clears readiness.
//!
//! Tokens must not outlive their sockets. Dropping a socket **deregisters** it from mio and
//! frees its slot (its wakers go with it); a freed slot is reused by a later socket, so a
//! token carries a **generation** too (say the slot index in the low 32 bits and a counter
//! bumped at every free in the high 32 bits). Anything filed under an old token then names
//! nothing, instead of the new socket in the same slot.
//!
//! What the tests look for:
//!
//! - an event wakes the waiters of its own token, in its own direction, and nobody else (they
//!   count the polls of tasks waiting on silent sockets);
//! - a task that got `WouldBlock` is woken at the next edge (reads, writes, accepts);
//! - after a thousand connections come and go, `Runtime::registrations()` and the number of
//!   open descriptors are back where they were;
//! - the events of a new socket never wake the task of the socket that had its slot before.
//!
//! ## Your tasks
//!
//! 1. A `pub(crate) struct Reactor`: the `mio::Poll` and `Events` (each in a `RefCell`: the
//!    runtime, the sockets and the reactor all live on one thread) and the table (slots with a
//!    generation, a free list, the number of live registrations).
//! 2. `Reactor::new`, and the `mio::Waker` for the runtime (`mio::Waker::new(registry, token)`
//!    with a token no slot ever gets).
//! 3. Registering: pick a slot, make its token, `registry().register(source, token,
//!    READABLE | WRITABLE)`. A `pub(crate) struct Registration<S: mio::event::Source>` that
//!    owns the source, its token and an `Rc` of the reactor is a good shape: `Drop`
//!    deregisters and frees the slot.
//! 4. Waiting and dispatching, for the runtime: `wait(timeout)` calls `poll` (an `Interrupted`
//!    error is no error); `dispatch()` goes through the events, skips the runtime's own token
//!    and stale tokens, records readiness (`is_readable() || is_read_closed() || is_error()`
//!    for reading, the same with `writable`/`write_closed` for writing) and wakes the waiting
//!    tasks of that direction (`Option::take` the waker: one wake-up per wait).
//! 5. `Registration::poll_io(cx, direction, operation)`, as above: the one place where
//!    readiness is cleared and wakers are stored (replace a stored waker unless `will_wake`).
//! 6. The number of live registrations, for `Runtime::registrations`.
