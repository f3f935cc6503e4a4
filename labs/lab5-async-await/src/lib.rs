//! Lab 5: the async/await rewrite.
//!
//! You edit `src/inbox.rs` (the mail pipeline of labs 3 and 4, as an `async fn`),
//! `src/connection.rs` (one MiniKV conversation, as an `async fn`) and `src/server.rs` (the
//! accept loop with a task per connection and a graceful shutdown). Start with the handout
//! (`docs/src/lab5.md`), then run `cargo run -p grader -- lab 5`.

use std::time::Duration;

pub mod connection;
pub mod inbox;
pub mod server;

pub use connection::handle_connection;
pub use inbox::add_to_inbox;
pub use server::serve;

/// How long a connection may stay silent (no complete request) before the server sends
/// `-ERR idle timeout` and closes it. Every request starts the count again.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long `serve` waits, after its shutdown signal, for the connection tasks to finish
/// their requests in flight. Tasks still running then are cancelled (dropped).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
