//! # Lab 4, part C: the mail pipeline, with combinators
//!
//! Lecture: *"Combinators and their poor ergonomics"*. Lab 3's state machine, written as a
//! chain of combinators, is the slide's pipeline:
//!
//! ```text
//! load_message(email_id)
//!     .and_then(|message| get_recipient(recipient_id) ... )
//!     .and_then(|(recipient, message)| deliver(recipient, message))
//! ```
//!
//! No hand-written `poll` at all: the combinators from part A do the state machine for you.
//! But look at what you have to write to get there:
//!
//! - `get_recipient` needs nothing from the message, yet the message must reach `deliver`.
//!   Each closure only sees the output of the step before it, so the message has to be carried
//!   along: the step that gets the recipient returns the pair `(recipient, message)`.
//! - `verify_has_space` needs both, in the middle of the chain, as a plain `Result`.
//! - The closures are `move` closures, each taking ownership of what it uses: `svc` is needed
//!   in two of them, so clone it first.
//!
//! This is the slide's "poor ergonomics". In lab 5 the same function is four lines of
//! `async fn`, and the compiler does the carrying.
//!
//! ## Your tasks
//!
//! 1. Build `add_to_inbox` only from your combinators (`map`, `then`, `and_then`, ...) and the
//!    service calls: no hand-written `Future` impl, no `async`. (`std::future::ready(value)`,
//!    a future that is ready at once, is allowed if you want it.)
//! 2. Each service is called only once the previous one has finished: call `get_recipient`
//!    inside the closure that receives the message, and `deliver` inside the one that receives
//!    the recipient. (Calling `load_message` right away is fine: it only builds a future.)
//! 3. Errors end the pipeline (`and_then`), and `recipient.verify_has_space(&message)` is
//!    checked before `deliver`.

use std::future::Future;

use support::mail::{MailError, MailService};

/// Adds the email `email_id` to the inbox of `recipient_id`, built from the combinators only
/// (TODO 1-3).
pub fn add_to_inbox<S: MailService>(
    svc: S,
    email_id: u64,
    recipient_id: u64,
) -> impl Future<Output = Result<(), MailError>> {
    let _ = svc;
    not_written_yet(email_id, recipient_id)
}

/// A placeholder with a concrete future type, so that the stub compiles: delete it once your
/// pipeline is in place.
fn not_written_yet(
    email_id: u64,
    recipient_id: u64,
) -> std::future::Pending<Result<(), MailError>> {
    todo!("lab 4, TODO 1-3: the pipeline for email {email_id} to recipient {recipient_id}")
}
