//! # Lab 7, part D: async sockets
//!
//! Lecture: *"Non-blocking I/O"*. What a `read().await` on a socket really does, which no lab
//! has shown so far: the future tries the non-blocking `read`; if the kernel has nothing,
//! `WouldBlock` comes back, the future stores its task's waker in the reactor's table under
//! the socket's token, and returns `Pending`. The task sleeps, costing nothing but its state.
//! When bytes arrive, `poll` reports the token, the reactor wakes the task, the runtime polls
//! it, and this time the `read` returns them.
//!
//! Each type owns a mio socket registered with the current runtime's reactor (through the
//! `Registration` of `src/reactor.rs`, say), and each operation is one call of its `poll_io`
//! inside `std::future::poll_fn`. `mio::net::TcpStream` implements `Read` and `Write` for
//! `&TcpStream` too, so a shared reference is enough to do the system calls.
//!
//! `connect` is the subtle one: mio's `TcpStream::connect` only *starts* connecting. The
//! connection is established (or refused) when the socket becomes writable: then
//! `take_error()` returns the error if there is one, and `peer_addr()` succeeds once it is
//! connected (`NotConnected` means: not yet, wait again).
//!
//! What the tests look for: an operation that returned `Pending` is woken at the next edge;
//! `read` returns what has arrived (at least one byte, 0 at end of file); `write` says how
//! much it took, and `write_all` goes on, from where the last write stopped, until everything
//! is sent; dropping a socket deregisters and closes it.
//!
//! ## Your tasks
//!
//! 1. The fields: each type holds its registered mio socket.
//! 2. `TcpListener::bind` (register with the current runtime), `local_addr`, and `accept`:
//!    `poll_io` for reading around `mio::net::TcpListener::accept`; register the new stream
//!    (and `set_nodelay(true)`: replies are small and must go out at once).
//! 3. `TcpStream::connect`: start connecting, register, and wait for writable readiness until
//!    the connection is established or has failed (see above).
//! 4. `read` and `write`: one `poll_io` each, for reading and for writing.
//! 5. `write_all`: `write` in a loop until the whole buffer is sent (a write of 0 bytes is the
//!    error `WriteZero`).

use std::io;
use std::net::SocketAddr;

/// A TCP listener registered with the current runtime (TODO 1).
pub struct TcpListener {
    // TODO 1: the registered mio listener.
}

/// A TCP connection registered with the current runtime (TODO 1).
pub struct TcpStream {
    // TODO 1: the registered mio stream.
}

impl TcpListener {
    /// Listens on `addr` (port 0 picks a free port). Call it inside the runtime (TODO 2).
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        todo!("lab 7, TODO 2: listen on {addr} and register the listener")
    }

    /// The address the listener is bound to (TODO 2).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        todo!("lab 7, TODO 2: the listener's address")
    }

    /// Waits for the next client and returns its connection and address (TODO 2).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        todo!("lab 7, TODO 2: accept, waiting for readable readiness on WouldBlock")
    }
}

impl TcpStream {
    /// Connects to `addr`, waiting (without blocking the thread) until the connection is
    /// established or refused (TODO 3).
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        todo!("lab 7, TODO 3: connect to {addr}")
    }

    /// Reads what has arrived, at least one byte, into `buf`; `Ok(0)` at end of file
    /// (TODO 4).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        todo!("lab 7, TODO 4: read into {} bytes", buf.len())
    }

    /// Writes some of `buf` (at least one byte, unless it is empty) and says how much
    /// (TODO 4).
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        todo!("lab 7, TODO 4: write some of {} bytes", buf.len())
    }

    /// Writes all of `buf`, however many writes it takes (TODO 5).
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        todo!("lab 7, TODO 5: write all of {} bytes", buf.len())
    }
}
