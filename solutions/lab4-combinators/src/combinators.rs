//! Reference solution: the combinators of `futures::FutureExt`, built from scratch with pin
//! projection (pin-project-lite), so that they work for `!Unpin` futures too.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use crate::Either;

/// Combinators for every future, like `futures::FutureExt`.
pub trait FutureExt: Future + Sized {
    /// A future that applies `f` to this future's output.
    fn map<T, F: FnOnce(Self::Output) -> T>(self, f: F) -> Map<Self, F> {
        Map {
            future: self,
            f: Some(f),
        }
    }

    /// A future that runs this future, passes its output to `f`, then runs the future `f`
    /// returns.
    fn then<Fut: Future, F: FnOnce(Self::Output) -> Fut>(self, f: F) -> Then<Self, F, Fut> {
        Then {
            first: Some(self),
            f: Some(f),
            second: None,
        }
    }

    /// Like `then`, for futures of `Result`s: `f` runs only on `Ok`; an `Err` ends the chain.
    fn and_then<T, E, U, Fut, F>(self, f: F) -> AndThen<Self, F, Fut>
    where
        Self: Future<Output = Result<T, E>>,
        F: FnOnce(T) -> Fut,
        Fut: Future<Output = Result<U, E>>,
    {
        AndThen {
            first: Some(self),
            f: Some(f),
            second: None,
        }
    }

    /// A future that runs this future and `other` concurrently and returns both outputs.
    fn join<B: Future>(self, other: B) -> Join<Self, B> {
        Join {
            a: Some(self),
            a_output: None,
            b: Some(other),
            b_output: None,
        }
    }

    /// A future that runs this future and `other` concurrently and returns the output of the
    /// first to finish (this one if both are ready), dropping the other.
    fn select<B: Future>(self, other: B) -> Select<Self, B> {
        Select {
            a: Some(self),
            b: Some(other),
        }
    }
}

impl<F: Future> FutureExt for F {}

pin_project! {
    /// The future of [`FutureExt::map`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Map<Fut, F> {
        #[pin]
        future: Fut,
        // `None` once called: a `Map` that returned `Ready` is finished.
        f: Option<F>,
    }
}

impl<Fut, F, T> Future for Map<Fut, F>
where
    Fut: Future,
    F: FnOnce(Fut::Output) -> T,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.project();
        assert!(this.f.is_some(), "Map polled after completion");
        let output = ready!(this.future.poll(cx));
        let f = this.f.take().expect("checked above");
        Poll::Ready(f(output))
    }
}

pin_project! {
    /// The future of [`FutureExt::then`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Then<Fut1, F, Fut2> {
        // `Some` until it is Ready; then dropped at once.
        #[pin]
        first: Option<Fut1>,
        f: Option<F>,
        // `Some` from the moment `f` returned it until it is Ready.
        #[pin]
        second: Option<Fut2>,
    }
}

impl<Fut1, F, Fut2> Future for Then<Fut1, F, Fut2>
where
    Fut1: Future,
    F: FnOnce(Fut1::Output) -> Fut2,
    Fut2: Future,
{
    type Output = Fut2::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut2::Output> {
        let mut this = self.project();
        if let Some(first) = this.first.as_mut().as_pin_mut() {
            let output = ready!(first.poll(cx));
            this.first.set(None);
            let f = this
                .f
                .take()
                .expect("the closure is kept until the first future is done");
            this.second.set(Some(f(output)));
        }
        // Poll the second future in the same call: returning Pending without polling it would
        // be a lost wake-up.
        let second = this
            .second
            .as_mut()
            .as_pin_mut()
            .expect("Then polled after completion");
        let output = ready!(second.poll(cx));
        this.second.set(None);
        Poll::Ready(output)
    }
}

pin_project! {
    /// The future of [`FutureExt::and_then`].
    #[must_use = "futures do nothing unless polled"]
    pub struct AndThen<Fut1, F, Fut2> {
        #[pin]
        first: Option<Fut1>,
        f: Option<F>,
        #[pin]
        second: Option<Fut2>,
    }
}

impl<Fut1, F, Fut2, T, E, U> Future for AndThen<Fut1, F, Fut2>
where
    Fut1: Future<Output = Result<T, E>>,
    F: FnOnce(T) -> Fut2,
    Fut2: Future<Output = Result<U, E>>,
{
    type Output = Result<U, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<U, E>> {
        let mut this = self.project();
        if let Some(first) = this.first.as_mut().as_pin_mut() {
            let output = ready!(first.poll(cx));
            this.first.set(None);
            let f = this
                .f
                .take()
                .expect("the closure is kept until the first future is done");
            match output {
                Ok(value) => this.second.set(Some(f(value))),
                // `?`: the continuation never runs after an error.
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
        let second = this
            .second
            .as_mut()
            .as_pin_mut()
            .expect("AndThen polled after completion");
        let output = ready!(second.poll(cx));
        this.second.set(None);
        Poll::Ready(output)
    }
}

pin_project! {
    /// The future of [`FutureExt::join`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Join<A: Future, B: Future> {
        // Each side is dropped as soon as it is Ready, and its output kept until both are.
        #[pin]
        a: Option<A>,
        a_output: Option<A::Output>,
        #[pin]
        b: Option<B>,
        b_output: Option<B::Output>,
    }
}

impl<A: Future, B: Future> Future for Join<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(
            this.a.is_some() || this.a_output.is_some(),
            "Join polled after completion"
        );
        // Only a side that is not finished yet is polled.
        if let Some(a) = this.a.as_mut().as_pin_mut() {
            if let Poll::Ready(output) = a.poll(cx) {
                *this.a_output = Some(output);
                this.a.set(None);
            }
        }
        if let Some(b) = this.b.as_mut().as_pin_mut() {
            if let Poll::Ready(output) = b.poll(cx) {
                *this.b_output = Some(output);
                this.b.set(None);
            }
        }
        if this.a_output.is_some() && this.b_output.is_some() {
            let a = this.a_output.take().expect("checked above");
            let b = this.b_output.take().expect("checked above");
            Poll::Ready((a, b))
        } else {
            Poll::Pending
        }
    }
}

pin_project! {
    /// The future of [`FutureExt::select`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Select<A, B> {
        // Both `None` once one side has won: the loser is dropped with the winner.
        #[pin]
        a: Option<A>,
        #[pin]
        b: Option<B>,
    }
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let a = this
            .a
            .as_mut()
            .as_pin_mut()
            .expect("Select polled after completion");
        // The left side is polled first, so it wins when both are ready.
        if let Poll::Ready(output) = a.poll(cx) {
            this.a.set(None);
            this.b.set(None);
            return Poll::Ready(Either::Left(output));
        }
        let b = this
            .b
            .as_mut()
            .as_pin_mut()
            .expect("both sides are kept until one wins");
        if let Poll::Ready(output) = b.poll(cx) {
            this.a.set(None);
            this.b.set(None);
            return Poll::Ready(Either::Right(output));
        }
        Poll::Pending
    }
}
