//! Reference solution: the slide's state machine for `add_to_inbox`, written by hand.

use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};

use support::mail::{MailError, MailService, Message};

/// The future of [`add_to_inbox`]: what the compiler would generate for
///
/// ```ignore
/// async fn add_to_inbox<S: MailService>(svc: S, email_id: u64, recipient_id: u64) -> Result<(), MailError> {
///     let message = svc.load_message(email_id).await?;
///     let recipient = svc.get_recipient(recipient_id).await?;
///     recipient.verify_has_space(&message)?;
///     svc.deliver(recipient, message).await
/// }
/// ```
pub struct AddToInbox<S: MailService> {
    state: State<S>,
}

/// One variant per point where the async fn can be suspended, holding exactly what is still
/// needed from there on.
enum State<S: MailService> {
    /// Not polled yet: nothing has been called.
    Start {
        svc: S,
        email_id: u64,
        recipient_id: u64,
    },
    /// Waiting for the message; the recipient comes next.
    LoadingMessage {
        svc: S,
        recipient_id: u64,
        load: S::LoadMessage,
    },
    /// Waiting for the recipient, carrying the message along.
    GettingRecipient {
        svc: S,
        message: Message,
        get: S::GetRecipient,
    },
    /// Waiting for the delivery.
    Delivering { deliver: S::Deliver },
    /// Returned `Ready`: polling again is a bug.
    Done,
}

// We never pin `S` or the service futures (they are `Unpin`), so moving an `AddToInbox` is
// always fine, whatever `S` is.
impl<S: MailService> Unpin for AddToInbox<S> {}

/// Adds the email `email_id` to the inbox of `recipient_id`. Nothing happens until the
/// returned future is polled.
pub fn add_to_inbox<S: MailService>(svc: S, email_id: u64, recipient_id: u64) -> AddToInbox<S> {
    AddToInbox {
        state: State::Start {
            svc,
            email_id,
            recipient_id,
        },
    }
}

impl<S: MailService> Future for AddToInbox<S> {
    type Output = Result<(), MailError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // Each step either returns (Pending: the child arranged the wake-up; or the final
        // result) or moves to the next state and goes round again to poll the next child.
        loop {
            match mem::replace(&mut this.state, State::Done) {
                State::Start {
                    svc,
                    email_id,
                    recipient_id,
                } => {
                    let load = svc.load_message(email_id);
                    this.state = State::LoadingMessage {
                        svc,
                        recipient_id,
                        load,
                    };
                }
                State::LoadingMessage {
                    svc,
                    recipient_id,
                    mut load,
                } => match Pin::new(&mut load).poll(cx) {
                    Poll::Pending => {
                        this.state = State::LoadingMessage {
                            svc,
                            recipient_id,
                            load,
                        };
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Ready(Ok(message)) => {
                        let get = svc.get_recipient(recipient_id);
                        this.state = State::GettingRecipient { svc, message, get };
                    }
                },
                State::GettingRecipient {
                    svc,
                    message,
                    mut get,
                } => match Pin::new(&mut get).poll(cx) {
                    Poll::Pending => {
                        this.state = State::GettingRecipient { svc, message, get };
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Ready(Ok(recipient)) => {
                        if let Err(error) = recipient.verify_has_space(&message) {
                            return Poll::Ready(Err(error));
                        }
                        let deliver = svc.deliver(recipient, message);
                        this.state = State::Delivering { deliver };
                    }
                },
                State::Delivering { mut deliver } => match Pin::new(&mut deliver).poll(cx) {
                    Poll::Pending => {
                        this.state = State::Delivering { deliver };
                        return Poll::Pending;
                    }
                    // Done: the state stays `Done`.
                    Poll::Ready(result) => return Poll::Ready(result),
                },
                State::Done => panic!("AddToInbox polled after it returned Ready"),
            }
        }
    }
}
