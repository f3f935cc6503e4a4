//! # Lab 5, part C: a task per connection, and a graceful shutdown
//!
//! Reference solution.

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use support::Store;

use crate::connection::handle_connection_until;
use crate::SHUTDOWN_GRACE;

/// Accepts clients on `listener` and serves each one in a task of its own, until `shutdown`
/// completes. Then it stops accepting, lets the requests in flight finish, and returns once
/// every connection task has ended, or once [`SHUTDOWN_GRACE`] has passed (cancelling the
/// tasks that are still running).
pub async fn serve(
    listener: TcpListener,
    store: Arc<Mutex<Store>>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            // Collect finished tasks as we go, so the set holds only the live ones.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    tasks.spawn(handle_connection_until(stream, Arc::clone(&store), stop_rx.clone()));
                }
                // Out of descriptors, or a client that left before we accepted it: none of
                // these stops the server. Back off a little so a full table can drain.
                Err(error) => {
                    eprintln!("lab5: accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        // Past the grace period: cancel the stragglers and wait for them to be dropped.
        tasks.shutdown().await;
    }
    Ok(())
}
