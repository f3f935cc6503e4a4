//! # Lab 5, part A: the mail pipeline, once more, with `async`/`.await`
//!
//! Lecture: *"async/await: a compiler-built state machine"*. In lab 3 you wrote `AddToInbox`
//! by hand: an enum with one variant per step (loading the message, getting the recipient,
//! delivering), each holding the future in progress and whatever later steps need, and a
//! `poll` that moves from variant to variant. In lab 4 you built the same pipeline from
//! combinators (`and_then` inside `and_then`), and the message had to be threaded through the
//! closures by hand.
//!
//! Here you write it as the slide does: four plain lines. The compiler turns an `async fn`
//! into exactly the kind of enum you wrote in lab 3: one state per `.await`, holding the
//! variables alive across it (that is why `message` is still there when `deliver` needs it).
//! Nothing runs until the returned future is polled, and each `.await` returns `Pending` to
//! the executor instead of blocking the thread.
//!
//! ## Your tasks
//!
//! 1. Write `add_to_inbox`: load the message, get the recipient, check that the message fits
//!    in their inbox (`Recipient::verify_has_space`), and deliver it. One call at a time, each
//!    awaited before the next one starts; the first error ends the pipeline (`?`).
//! 2. Compare with your lab 3 `AddToInbox` and lab 4 `add_to_inbox`: what became of the
//!    states, the `Option`s you `take()`, the `Pin`s? (The handout asks you to measure
//!    `std::mem::size_of_val` of the three futures.)

use support::mail::{MailError, MailService};

/// Loads message `email_id`, fetches recipient `recipient_id`, checks that the message fits
/// in their inbox, and delivers it: the slide's four lines, one after the other (TODO 1).
pub async fn add_to_inbox<S: MailService>(
    svc: S,
    email_id: u64,
    recipient_id: u64,
) -> Result<(), MailError> {
    let _ = svc;
    todo!("lab 5, TODO 1: deliver message {email_id} to recipient {recipient_id} in four lines")
}
