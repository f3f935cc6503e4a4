//! Reference solution: the blocking MiniKV server of lab 1.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;

use bytes::BytesMut;
use support::{apply, decode, Action, Store};

use crate::pool::ThreadPool;

/// Serves one client until it disconnects or sends `QUIT`.
///
/// The store lock is held only around `apply`: never while waiting for the client, never while
/// sleeping, never while writing.
pub fn handle_client(mut stream: TcpStream, store: &Mutex<Store>) -> io::Result<()> {
    let mut input = BytesMut::with_capacity(4096);
    let mut output = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        // Answer every complete request already buffered: a client may pipeline many per packet.
        loop {
            let request = match decode(&mut input) {
                Ok(Some(request)) => request,
                Ok(None) => break,
                Err(error) => {
                    error.reply().encode(&mut output);
                    return stream.write_all(&output);
                }
            };
            let action = apply(&mut lock(store), &request);
            match action {
                Action::Reply(reply) => reply.encode(&mut output),
                Action::Sleep { duration, then } => {
                    // Earlier replies go out before the wait, and the lock is not held.
                    stream.write_all(&output)?;
                    output.clear();
                    thread::sleep(duration);
                    then.encode(&mut output);
                }
                Action::Close(reply) => {
                    reply.encode(&mut output);
                    return stream.write_all(&output);
                }
            }
        }
        if !output.is_empty() {
            stream.write_all(&output)?;
            output.clear();
        }
        let read = match stream.read(&mut chunk) {
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if read == 0 {
            // End of file, possibly in the middle of a frame: nobody is left to answer.
            return Ok(());
        }
        input.extend_from_slice(&chunk[..read]);
    }
}

/// A panic in one client's thread must not take the store away from every other client.
fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Accepts connections forever, serving each on its own thread.
pub fn serve_threaded(listener: TcpListener, store: Arc<Mutex<Store>>) -> io::Result<()> {
    for stream in listener.incoming() {
        let Some(stream) = accepted(stream) else {
            continue;
        };
        let store = Arc::clone(&store);
        let spawned = thread::Builder::new()
            .name("minikv-client".into())
            .spawn(move || report(handle_client(stream, &store)));
        if let Err(error) = spawned {
            // Out of threads: this client is dropped, the server keeps going.
            eprintln!("minikv: cannot start a thread for a client: {error}");
        }
    }
    Ok(())
}

/// Accepts connections forever, serving them on a pool of `workers` threads.
pub fn serve_pooled(
    listener: TcpListener,
    store: Arc<Mutex<Store>>,
    workers: usize,
) -> io::Result<()> {
    let pool = ThreadPool::new(workers);
    for stream in listener.incoming() {
        let Some(stream) = accepted(stream) else {
            continue;
        };
        let store = Arc::clone(&store);
        pool.execute(move || report(handle_client(stream, &store)));
    }
    Ok(())
}

/// A failed accept (a client that reset before we got to it, too many open files) concerns
/// one connection, not the server: log it and go on.
fn accepted(stream: io::Result<TcpStream>) -> Option<TcpStream> {
    match stream {
        Ok(stream) => Some(stream),
        Err(error) => {
            eprintln!("minikv: accept failed: {error}");
            None
        }
    }
}

fn report(result: io::Result<()>) {
    if let Err(error) = result {
        eprintln!("minikv: client connection ended with an error: {error}");
    }
}
