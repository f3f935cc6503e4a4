//! Reference solution: the smallest future that keeps the waker contract.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that is `Pending` `n` times, waking its task each time, then `Ready(())`.
#[derive(Debug)]
pub struct Countdown {
    remaining: usize,
}

impl Countdown {
    /// A countdown from `n`: `n` polls return `Pending`, the next one `Ready(())`.
    pub fn new(n: usize) -> Countdown {
        Countdown { remaining: n }
    }
}

impl Future for Countdown {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(());
        }
        this.remaining -= 1;
        // We can make progress at once: ask to be polled again. Without this wake-up no
        // executor would ever poll us again.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
