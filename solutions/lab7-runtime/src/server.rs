//! # Lab 7, part E: the MiniKV server on your runtime (reference solution)
//!
//! Lab 5's server, without the idle timeout and the shutdown: a task per connection, each one
//! a plain `async fn` conversation. One thread, so the store is an `Rc<RefCell<..>>`, borrowed
//! for one `apply` at a time and never across an `.await`.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bytes::BytesMut;
use support::{apply, decode, Action, Store};

use crate::net::{TcpListener, TcpStream};
use crate::runtime::spawn;
use crate::timer::sleep;

/// How much one read may bring in.
const READ_CHUNK: usize = 4 * 1024;

/// Accepts clients on `listener` forever and serves each one in a task of its own, all on
/// the runtime's thread, sharing `store`.
pub async fn serve(listener: TcpListener, store: Rc<RefCell<Store>>) -> io::Result<()> {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                spawn(handle_connection(stream, Rc::clone(&store)));
            }
            // Out of descriptors, or a client that left before we accepted it: none of these
            // stops the server. Back off a little so that a full table can drain.
            Err(error) => {
                eprintln!("lab7: accept failed: {error}");
                sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// Serves one client until it leaves, sends `QUIT` or a bad frame, or its socket breaks.
async fn handle_connection(stream: TcpStream, store: Rc<RefCell<Store>>) {
    // An error concerns this client only; dropping the stream closes the connection.
    let _ = converse(stream, &store).await;
}

async fn converse(mut stream: TcpStream, store: &RefCell<Store>) -> io::Result<()> {
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut output = BytesMut::new();
    loop {
        // Answer every complete request already read, in order.
        loop {
            let request = match decode(&mut input) {
                Ok(Some(request)) => request,
                Ok(None) => break,
                Err(error) => {
                    error.reply().encode(&mut output);
                    return stream.write_all(&output).await;
                }
            };
            // The borrow lives in this statement only: never across an `.await`.
            let action = apply(&mut store.borrow_mut(), &request);
            match action {
                Action::Reply(reply) => reply.encode(&mut output),
                Action::Sleep { duration, then } => {
                    // Replies before the SLEEP go out now, not after it.
                    stream.write_all(&output).await?;
                    output.clear();
                    sleep(duration).await;
                    then.encode(&mut output);
                }
                Action::Close(reply) => {
                    reply.encode(&mut output);
                    return stream.write_all(&output).await;
                }
            }
        }
        if !output.is_empty() {
            stream.write_all(&output).await?;
            output.clear();
        }
        if input.is_empty() && input.capacity() > 8 * READ_CHUNK {
            // A huge request came and went: do not keep its buffer for an idle client.
            input = BytesMut::with_capacity(READ_CHUNK);
        }
        let filled = input.len();
        input.resize(filled + READ_CHUNK, 0);
        let read = stream.read(&mut input[filled..]).await;
        let read = read.unwrap_or(0);
        input.truncate(filled + read);
        if read == 0 {
            // End of file (or a broken socket); a half-sent frame is simply dropped.
            return Ok(());
        }
    }
}
