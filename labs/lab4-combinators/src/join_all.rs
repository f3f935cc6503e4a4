//! # Lab 4, part B: `join_all`
//!
//! Lecture: *"Combinators"*, continued. `join` runs two futures at once; `join_all` runs any
//! number of them, all of the same type, and returns their outputs in the order of its input,
//! whatever order they finish in.
//!
//! Two things make it harder than `join`:
//!
//! - **Pinning in a `Vec`.** The futures may be `!Unpin`, and a `Vec` moves its elements when
//!   it grows, so they cannot be pinned inside it. Give each future its own box
//!   (`Box::pin(future)`, a `Pin<Box<F>>`): the box can move, the future inside it never does.
//! - **Cost.** One finished future must not be polled again, on any later poll: with 10 000
//!   futures, re-polling the finished ones on every wake-up makes the work quadratic (and a
//!   finished future may panic when polled). Keep per future whether it is still running.
//!
//! ## Your tasks
//!
//! 1. `JoinAll`: one slot per input future, in input order, each either "running" (the boxed
//!    future) or "done" (its output); plus whatever helps you tell when all are done. Replace
//!    the placeholder field.
//! 2. `join_all`: build it. Nothing is polled yet.
//! 3. `poll`: poll every running slot with `cx`; when one is `Ready`, drop its future and keep
//!    its output in its slot. When all slots are done, return the outputs in order. An empty
//!    `Vec` is `Ready` on the first poll.
//!
//! `JoinAll` is `Unpin` (see the `impl` below: the futures are pinned in their boxes, not in
//! the `JoinAll`), so `self.get_mut()` gives you `&mut JoinAll<F>`.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that runs every future of `futures` concurrently and returns their outputs in the
/// order of `futures` (TODO 2).
pub fn join_all<F: Future>(futures: Vec<F>) -> JoinAll<F> {
    todo!("lab 4, TODO 2: a JoinAll of {} futures", futures.len())
}

/// The future of [`join_all`].
#[must_use = "futures do nothing unless polled"]
pub struct JoinAll<F: Future> {
    // TODO 1: one slot per future, running (Pin<Box<F>>) or done (F::Output).
    _todo: PhantomData<F>,
}

// Nothing in a `JoinAll` is pinned in place: the futures are pinned in their own boxes, and
// outputs are plain values. So moving a `JoinAll` is fine whatever `F` and its output are.
impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    /// Polls the futures that are still running; `Ready` with every output once all have
    /// finished (TODO 3).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        todo!(
            "lab 4, TODO 3: poll a JoinAll with the waker {:?}",
            cx.waker()
        )
    }
}
