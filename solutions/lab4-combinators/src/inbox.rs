//! Reference solution: the slide's combinator pipeline, with this lab's combinators only.

use std::future::Future;

use support::mail::{MailError, MailService};

use crate::combinators::FutureExt;

/// Adds the email `email_id` to the inbox of `recipient_id`: load the message, then get the
/// recipient, then check the space, then deliver.
pub fn add_to_inbox<S: MailService>(
    svc: S,
    email_id: u64,
    recipient_id: u64,
) -> impl Future<Output = Result<(), MailError>> {
    let directory = svc.clone();
    svc.load_message(email_id)
        .and_then(move |message| {
            // The message has to travel along with the recipient to the next step: the poor
            // ergonomics of combinators that async/.await removes.
            directory.get_recipient(recipient_id).map(move |recipient| {
                let recipient = recipient?;
                recipient.verify_has_space(&message)?;
                Ok((recipient, message))
            })
        })
        .and_then(move |(recipient, message)| svc.deliver(recipient, message))
}
