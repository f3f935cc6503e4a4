//! # Lab 3, part C: the state machine behind `async fn`
//!
//! Lecture: *"async/.await is a state machine the compiler writes for you"*. Here is the
//! lecture's mail example ("Dan the Database") as an `async fn`:
//!
//! ```ignore
//! async fn add_to_inbox<S: MailService>(svc: S, email_id: u64, recipient_id: u64) -> Result<(), MailError> {
//!     let message = svc.load_message(email_id).await?;
//!     let recipient = svc.get_recipient(recipient_id).await?;
//!     recipient.verify_has_space(&message)?;
//!     svc.deliver(recipient, message).await
//! }
//! ```
//!
//! The compiler turns it into an enum with one variant per place where the function can be
//! suspended (each `.await`), plus "not started" and "done". Each variant holds exactly the
//! variables that are still needed from that point on, and `poll` moves from one variant to
//! the next. You write that enum and that `poll` by hand (the handout draws the slide's
//! version), and then compare its size with the compiler's (`cargo run -p lab3`).
//!
//! The services (`support::mail::MailService`) return futures that are `Unpin`, so you can
//! poll them with `Pin::new(&mut future).poll(cx)`.
//!
//! ## Your tasks
//!
//! 1. The states. An enum, say `State<S: MailService>`, with a variant for "not started"
//!    (`svc` and both ids), one for each service being waited on (its future, plus what the
//!    later steps need: `svc`, the recipient's id, the message...), and `Done`. Put it in
//!    `AddToInbox` in place of the placeholder field.
//! 2. `add_to_inbox`: build the machine in its first state. Calling a service is not allowed
//!    yet: each service is called only once the previous one has finished.
//! 3. `poll`: a `loop` around a `match` on the state. Poll the current service future with the
//!    *same* `cx`:
//!    - `Pending`: return `Poll::Pending`. The service future has arranged the wake-up.
//!    - `Ready(Ok(value))`: move to the next state (call the next service) and go round the
//!      loop, polling the new future right away. Returning `Pending` here instead would be a
//!      lost wake-up: nobody has promised to wake the task.
//!
//!    To move values out of the current state, take it with
//!    `std::mem::replace(&mut this.state, State::Done)` and put back what you keep.
//! 4. Errors are `?`: the first `Ready(Err(error))` ends the machine with `Ready(Err(error))`,
//!    and no later service is called. Between the recipient and the delivery, call
//!    `recipient.verify_has_space(&message)` and stop with its error if it fails.
//! 5. A finished future must not be polled again: after returning `Ready`, the machine is
//!    `Done`, and polling it again panics, as the compiler's does ("`async fn` resumed after
//!    completion"). Never poll a service future again after it returned `Ready` either.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use support::mail::{MailError, MailService};

/// The future of [`add_to_inbox`]: the hand-written state machine of the `async fn` above.
pub struct AddToInbox<S: MailService> {
    // TODO 1: replace this placeholder with the state (your enum).
    _todo: PhantomData<S>,
}

// Nothing in an `AddToInbox` is ever pinned: the service futures are `Unpin`, and `S` is only
// moved around. So `AddToInbox` is `Unpin` whatever `S` is, and in `poll` you may use
// `self.get_mut()` to get `&mut AddToInbox<S>`.
impl<S: MailService> Unpin for AddToInbox<S> {}

/// Adds the email `email_id` to the inbox of `recipient_id` (TODO 2). Nothing happens until
/// the returned future is polled.
pub fn add_to_inbox<S: MailService>(svc: S, email_id: u64, recipient_id: u64) -> AddToInbox<S> {
    let _ = svc;
    todo!("lab 3, TODO 2: the state machine for email {email_id} to recipient {recipient_id}")
}

impl<S: MailService> Future for AddToInbox<S> {
    type Output = Result<(), MailError>;

    /// Runs the machine as far as it can go without waiting (TODO 3-5).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        todo!("lab 3, TODO 3-5: poll with the waker {:?}", cx.waker())
    }
}
