//! Reference solution: `join_all`, polling only the futures that are not finished yet.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that runs every future of `futures` concurrently and returns their outputs in
/// the order of `futures`.
pub fn join_all<F: Future>(futures: Vec<F>) -> JoinAll<F> {
    let remaining = futures.len();
    JoinAll {
        slots: futures
            .into_iter()
            .map(|future| Slot::Running(Box::pin(future)))
            .collect(),
        remaining,
        finished: false,
    }
}

/// One of the futures of a `JoinAll`.
enum Slot<F: Future> {
    /// Not finished: boxed, so that it stays pinned in place while the `Vec` is ours.
    Running(Pin<Box<F>>),
    /// Finished: the future is dropped, its output kept for the end.
    Done(F::Output),
    /// The output has been handed out.
    Taken,
}

/// The future of [`join_all`].
#[must_use = "futures do nothing unless polled"]
pub struct JoinAll<F: Future> {
    slots: Vec<Slot<F>>,
    remaining: usize,
    finished: bool,
}

// Nothing in a `JoinAll` is pinned in place: the futures are pinned in their own boxes, and
// outputs are plain values. So moving a `JoinAll` is fine whatever `F` and its output are.
impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        let this = self.get_mut();
        assert!(!this.finished, "JoinAll polled after completion");
        for slot in &mut this.slots {
            if let Slot::Running(future) = slot {
                if let Poll::Ready(output) = future.as_mut().poll(cx) {
                    *slot = Slot::Done(output);
                    this.remaining -= 1;
                }
            }
        }
        if this.remaining > 0 {
            return Poll::Pending;
        }
        this.finished = true;
        let outputs = this
            .slots
            .iter_mut()
            .map(|slot| match std::mem::replace(slot, Slot::Taken) {
                Slot::Done(output) => output,
                Slot::Running(_) | Slot::Taken => unreachable!("every future has finished"),
            })
            .collect();
        Poll::Ready(outputs)
    }
}
