//! Provided code shared by every lab of the course. You do not edit this crate.
//!
//! The labs are about *concurrency*: how a server waits for many clients at once. So that you
//! spend your time on that and not on parsing, this crate gives you the protocol every server lab
//! speaks, **MiniKV**, a small subset of Redis:
//!
//! - [`protocol`]: an incremental decoder. You read bytes from a socket into your own buffer and
//!   call [`decode`] until it returns `Ok(None)` ("need more bytes"). It consumes exactly one
//!   frame per call, so pipelined requests and requests split across reads both work.
//! - [`store`]: the key/value [`Store`] and [`apply`], which executes one request and tells you
//!   what to do next as an [`Action`] (reply now, wait then reply, or reply then close).
//! - [`reply`]: the RESP2 replies and their encoding.
//!
//! It also holds the helpers the tests use: a blocking MiniKV [`client`], process [`probe`]s
//! (thread count, CPU time, resident memory), [`testing`] utilities and the [`grading`] sentinel.
//! The labs on futures use the [`mail`] services with their test double `MockMail`, and the
//! poll and wake counters of [`tasks`].
//!
//! Because it is real RESP2, `redis-cli -p PORT` and `redis-benchmark -p PORT -t ping,set,get`
//! work against every server you write.

pub mod client;
pub mod grading;
pub mod mail;
pub mod probe;
pub mod protocol;
pub mod reply;
pub mod store;
pub mod tasks;
pub mod testing;

pub use protocol::{decode, FrameError, Request, MAX_FRAME};
pub use reply::Reply;
pub use store::{apply, Action, Store, MAX_SLEEP_MS};
