//! # Lab 4, part A: combinators
//!
//! Lecture: *"Combinators"*. Before `async`/`.await`, futures were chained with combinators:
//! methods that take a future (and often a closure) and return a new future. `futures`'
//! `FutureExt` has dozens; you build five of them from scratch, each a small state machine
//! like the ones of lab 3:
//!
//! | combinator | output | what it does |
//! |---|---|---|
//! | `fut.map(f)` | `f(output)` | runs `fut`, then applies `f` to its output |
//! | `fut.then(f)` | output of `f(output)` | runs `fut`, then the future `f` returns |
//! | `fut.and_then(f)` | `Result` | `then` for `Result`s: `f` only runs on `Ok`, an `Err` ends it |
//! | `a.join(b)` | `(a's, b's)` | runs both at once, finishes when both have |
//! | `a.select(b)` | `Either` | runs both at once, finishes with the first; drops the other |
//!
//! Three rules hold for all of them:
//!
//! - **Lazy.** Building a combinator runs nothing: it stores the future and the closure. The
//!   closure runs inside `poll`, once the inner future is `Ready`.
//! - **The same `cx`.** Inner futures are polled with the `Context` your `poll` got, so that
//!   their wake-ups reach the task. When a stage finishes, poll the next stage in the same
//!   call. A finished future is never polled again; drop it.
//! - **Any future, `Unpin` or not.** The futures of `async fn`s are `!Unpin`: once polled they
//!   must not move. So a combinator cannot use `Pin::new(&mut self.future)` (that needs
//!   `Unpin`); it *projects* `Pin<&mut Self>` to `Pin<&mut Field>` with `pin_project!`:
//!
//! ```ignore
//! pin_project! {
//!     pub struct Timed<Fut> {
//!         #[pin]
//!         future: Fut,              // structurally pinned: you get a Pin<&mut Fut>
//!         polls: u32,               // not pinned: you get a plain &mut u32
//!     }
//! }
//!
//! impl<Fut: Future> Future for Timed<Fut> {
//!     type Output = (Fut::Output, u32);
//!     fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
//!         let this = self.project();
//!         *this.polls += 1;
//!         let output = ready!(this.future.poll(cx));   // std::task::ready!: return if Pending
//!         Poll::Ready((output, *this.polls))
//!     }
//! }
//! ```
//!
//! A pinned field that must be dropped early or replaced is a `#[pin] Option<Fut>`:
//! `this.field.as_mut().as_pin_mut()` gives an `Option<Pin<&mut Fut>>`, and
//! `this.field.set(None)` (or `set(Some(next))`) drops what was there, in place.
//!
//! ## Your tasks
//!
//! Each combinator struct below has a placeholder field `_todo`: replace it with real fields,
//! fill in the trait method that builds the struct, then its `poll`.
//!
//! 1. `Map`: the inner future (`#[pin]`) and the closure in an `Option` (`take()` it to call
//!    it: `FnOnce` can be called once).
//! 2. `Map::poll`: poll the inner future; on `Ready(output)`, return `Ready(f(output))`.
//! 3. `Then`: the first future, the closure, the second future (both futures as
//!    `#[pin] Option`s). `poll`: while the first runs, poll it; once it is `Ready`, drop it,
//!    call the closure, store the second future, and go on polling that one in the same call.
//! 4. `AndThen`: like `Then`, but the first output is a `Result`: on `Ok(value)` go on with
//!    `f(value)`, on `Err(error)` return `Ready(Err(error))` without calling `f`.
//! 5. `Join`: both futures and both outputs (the struct may name `A::Output`: its generics
//!    are declared `A: Future, B: Future`). `poll`: poll each side that has not finished;
//!    store an output and drop its future when it is `Ready`; return both outputs once both
//!    are there.
//! 6. `Select`: both futures. `poll`: poll the left, then the right; the first `Ready` wins
//!    (`Either::Left` or `Either::Right`), and *both* futures are dropped before you return.
//!
//! A combinator polled again after it returned `Ready` may panic: say so in the message.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::Either;

/// Combinators for every future, like `futures::FutureExt`. Each method only builds the
/// combinator's struct: nothing runs until it is polled.
pub trait FutureExt: Future + Sized {
    /// A future that applies `f` to this future's output (TODO 1).
    fn map<T, F: FnOnce(Self::Output) -> T>(self, f: F) -> Map<Self, F> {
        let _ = (self, f);
        todo!("lab 4, TODO 1: build a Map")
    }

    /// A future that runs this future, passes its output to `f`, then runs the future `f`
    /// returns (TODO 3).
    fn then<Fut: Future, F: FnOnce(Self::Output) -> Fut>(self, f: F) -> Then<Self, F, Fut> {
        let _ = (self, f);
        todo!("lab 4, TODO 3: build a Then")
    }

    /// Like `then`, for futures of `Result`s: `f` runs only on `Ok`; an `Err` ends the chain
    /// (TODO 4).
    fn and_then<T, E, U, Fut, F>(self, f: F) -> AndThen<Self, F, Fut>
    where
        Self: Future<Output = Result<T, E>>,
        F: FnOnce(T) -> Fut,
        Fut: Future<Output = Result<U, E>>,
    {
        let _ = (self, f);
        todo!("lab 4, TODO 4: build an AndThen")
    }

    /// A future that runs this future and `other` concurrently and returns both outputs
    /// (TODO 5).
    fn join<B: Future>(self, other: B) -> Join<Self, B> {
        let _ = (self, other);
        todo!("lab 4, TODO 5: build a Join")
    }

    /// A future that runs this future and `other` concurrently and returns the output of the
    /// first to finish, this one if both are ready, dropping the other (TODO 6).
    fn select<B: Future>(self, other: B) -> Select<Self, B> {
        let _ = (self, other);
        todo!("lab 4, TODO 6: build a Select")
    }
}

impl<F: Future> FutureExt for F {}

pin_project! {
    /// The future of [`FutureExt::map`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Map<Fut, F> {
        // TODO 1: the inner future (#[pin]) and the closure (an Option).
        _todo: PhantomData<(Fut, F)>,
    }
}

impl<Fut, F, T> Future for Map<Fut, F>
where
    Fut: Future,
    F: FnOnce(Fut::Output) -> T,
{
    type Output = T;

    /// TODO 2.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        todo!("lab 4, TODO 2: poll a Map with the waker {:?}", cx.waker())
    }
}

pin_project! {
    /// The future of [`FutureExt::then`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Then<Fut1, F, Fut2> {
        // TODO 3: the first future, the closure, the second future.
        _todo: PhantomData<(Fut1, F, Fut2)>,
    }
}

impl<Fut1, F, Fut2> Future for Then<Fut1, F, Fut2>
where
    Fut1: Future,
    F: FnOnce(Fut1::Output) -> Fut2,
    Fut2: Future,
{
    type Output = Fut2::Output;

    /// TODO 3.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut2::Output> {
        todo!("lab 4, TODO 3: poll a Then with the waker {:?}", cx.waker())
    }
}

pin_project! {
    /// The future of [`FutureExt::and_then`].
    #[must_use = "futures do nothing unless polled"]
    pub struct AndThen<Fut1, F, Fut2> {
        // TODO 4: the first future, the closure, the second future.
        _todo: PhantomData<(Fut1, F, Fut2)>,
    }
}

impl<Fut1, F, Fut2, T, E, U> Future for AndThen<Fut1, F, Fut2>
where
    Fut1: Future<Output = Result<T, E>>,
    F: FnOnce(T) -> Fut2,
    Fut2: Future<Output = Result<U, E>>,
{
    type Output = Result<U, E>;

    /// TODO 4.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<U, E>> {
        todo!(
            "lab 4, TODO 4: poll an AndThen with the waker {:?}",
            cx.waker()
        )
    }
}

pin_project! {
    /// The future of [`FutureExt::join`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Join<A: Future, B: Future> {
        // TODO 5: both futures and both outputs.
        _todo: PhantomData<(A, B)>,
    }
}

impl<A: Future, B: Future> Future for Join<A, B> {
    type Output = (A::Output, B::Output);

    /// TODO 5.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        todo!("lab 4, TODO 5: poll a Join with the waker {:?}", cx.waker())
    }
}

pin_project! {
    /// The future of [`FutureExt::select`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Select<A, B> {
        // TODO 6: both futures.
        _todo: PhantomData<(A, B)>,
    }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    /// TODO 6.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        todo!(
            "lab 4, TODO 6: poll a Select with the waker {:?}",
            cx.waker()
        )
    }
}
