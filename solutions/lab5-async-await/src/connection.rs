//! # Lab 5, part B: one conversation as an `async fn`
//!
//! Reference solution.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{sleep, Instant};

use support::{apply, decode, Action, Reply, Store};

use crate::IDLE_TIMEOUT;

/// Serves one MiniKV client on `io` until it leaves, sends `QUIT` or a bad frame, or stays
/// silent for [`IDLE_TIMEOUT`].
pub async fn handle_connection<IO>(io: IO, store: Arc<Mutex<Store>>) -> io::Result<()>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    // Nobody ever asks this conversation to stop early: keep the sender alive alongside it.
    let (_never, stop) = watch::channel(false);
    handle_connection_until(io, store, stop).await
}

/// [`handle_connection`], which also ends once `stop` turns `true` (the server is shutting
/// down): at once while waiting for a request, else right after the request in progress.
pub async fn handle_connection_until<IO>(
    mut io: IO,
    store: Arc<Mutex<Store>>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let result = converse(&mut io, &store, &mut stop).await;
    // Best effort: tell the peer we are done (a broken socket may refuse even that).
    let _ = io.shutdown().await;
    result
}

async fn converse<IO>(
    io: &mut IO,
    store: &Mutex<Store>,
    stop: &mut watch::Receiver<bool>,
) -> io::Result<()>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut input = BytesMut::with_capacity(4096);
    let mut output = BytesMut::new();
    let idle = sleep(IDLE_TIMEOUT);
    tokio::pin!(idle);
    loop {
        // Answer every complete request already read, in order.
        loop {
            let request = match decode(&mut input) {
                Ok(Some(request)) => request,
                Ok(None) => break,
                Err(error) => {
                    error.reply().encode(&mut output);
                    return io.write_all(&output).await;
                }
            };
            // The guard lives in this statement only: never across an `.await`.
            let action = apply(
                &mut store.lock().unwrap_or_else(PoisonError::into_inner),
                &request,
            );
            match action {
                Action::Reply(reply) => reply.encode(&mut output),
                Action::Sleep { duration, then } => {
                    // Replies before the SLEEP go out now, not 10 s later.
                    io.write_all(&output).await?;
                    output.clear();
                    sleep(duration).await;
                    then.encode(&mut output);
                }
                Action::Close(reply) => {
                    reply.encode(&mut output);
                    return io.write_all(&output).await;
                }
            }
            if *stop.borrow() {
                // Shutting down: the request in progress is answered, the rest are not.
                return io.write_all(&output).await;
            }
        }
        if !output.is_empty() {
            io.write_all(&output).await?;
            output.clear();
            // Silence is counted from the moment the client has its answers.
            idle.as_mut().reset(Instant::now() + IDLE_TIMEOUT);
        }
        if input.is_empty() && input.capacity() > 64 * 1024 {
            // A huge request came and went: do not keep its buffer for the idle hours.
            input = BytesMut::with_capacity(4096);
        }
        tokio::select! {
            biased;
            // (`wait_for` returns a `watch::Ref`, a lock guard: drop it inside, it is not `Send`.)
            () = async { let _ = stop.wait_for(|&stopping| stopping).await; } => return Ok(()),
            read = io.read_buf(&mut input) => {
                if read? == 0 {
                    // End of file; a half-sent frame is simply dropped.
                    return Ok(());
                }
            }
            () = &mut idle => {
                Reply::error("ERR idle timeout").encode(&mut output);
                return io.write_all(&output).await;
            }
        }
    }
}
