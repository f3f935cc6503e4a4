//! # Lab 7, part D: async sockets (reference solution)
//!
//! mio's non-blocking sockets, registered with the runtime's reactor. Every operation tries
//! the system call and, on `WouldBlock`, parks its task until the reactor sees the next edge.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;

use crate::reactor::{Direction, Registration};
use crate::runtime;

/// A TCP listener registered with the current runtime.
pub struct TcpListener {
    inner: Registration<mio::net::TcpListener>,
}

/// A TCP connection registered with the current runtime.
pub struct TcpStream {
    inner: Registration<mio::net::TcpStream>,
}

impl TcpListener {
    /// Listens on `addr` (port 0 picks a free port). Call it inside the runtime.
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        let listener = mio::net::TcpListener::bind(addr)?;
        let reactor = Rc::clone(&runtime::current().reactor);
        Ok(TcpListener {
            inner: Registration::new(reactor, listener)?,
        })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.source().local_addr()
    }

    /// Waits for the next client and returns its connection and address.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = poll_fn(|cx| {
            self.inner
                .poll_io(cx, Direction::Read, |listener| listener.accept())
        })
        .await?;
        Ok((TcpStream::register(stream)?, peer))
    }
}

impl TcpStream {
    /// Connects to `addr`, waiting (without blocking the thread) until the connection is
    /// established or refused.
    pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = TcpStream::register(mio::net::TcpStream::connect(addr)?)?;
        // A non-blocking connect completes when the socket becomes writable: then it either
        // has an error to report or a peer.
        poll_fn(|cx| {
            stream.inner.poll_io(cx, Direction::Write, |socket| {
                if let Some(error) = socket.take_error()? {
                    return Err(error);
                }
                match socket.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(error) => Err(error),
                }
            })
        })
        .await?;
        Ok(stream)
    }

    fn register(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        // Requests and replies are small: send them at once, without Nagle's delay.
        let _ = stream.set_nodelay(true);
        let reactor = Rc::clone(&runtime::current().reactor);
        Ok(TcpStream {
            inner: Registration::new(reactor, stream)?,
        })
    }

    /// Reads what has arrived, at least one byte, into `buf`; `Ok(0)` at end of file.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| {
            self.inner
                .poll_io(cx, Direction::Read, |mut socket| socket.read(buf))
        })
        .await
    }

    /// Writes some of `buf` (at least one byte, unless it is empty) and says how much.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| {
            self.inner
                .poll_io(cx, Direction::Write, |mut socket| socket.write(buf))
        })
        .await
    }

    /// Writes all of `buf`, however many writes it takes.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                written => buf = &buf[written..],
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.inner.source().local_addr().ok())
            .finish()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let socket = self.inner.source();
        f.debug_struct("TcpStream")
            .field("local", &socket.local_addr().ok())
            .field("peer", &socket.peer_addr().ok())
            .finish()
    }
}
