//! # Lab 5, part A: the mail pipeline, once more, with `async`/`.await`
//!
//! Reference solution.

use support::mail::{MailError, MailService};

/// Loads message `email_id`, fetches recipient `recipient_id`, checks that the message fits
/// in their inbox, and delivers it: the slide's four lines, one after the other.
pub async fn add_to_inbox<S: MailService>(
    svc: S,
    email_id: u64,
    recipient_id: u64,
) -> Result<(), MailError> {
    let message = svc.load_message(email_id).await?;
    let recipient = svc.get_recipient(recipient_id).await?;
    recipient.verify_has_space(&message)?;
    svc.deliver(recipient, message).await
}
