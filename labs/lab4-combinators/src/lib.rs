//! Lab 4: combinators.
//!
//! You edit `src/combinators.rs`, `src/join_all.rs` and `src/inbox.rs`; this file only wires
//! them together and defines [`Either`]. Start with the handout (`docs/src/lab4.md`), then run
//! `cargo run -p grader -- lab 4`.
//!
//! The rules of this lab: no `async`, no `.await`, and no combinators from the `futures`
//! crate in the files you edit. You build the combinators yourself.

pub mod combinators;
pub mod inbox;
pub mod join_all;

pub use combinators::{AndThen, FutureExt, Join, Map, Select, Then};
pub use inbox::add_to_inbox;
pub use join_all::{join_all, JoinAll};

/// The output of [`FutureExt::select`]: which side finished first, with its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Either<A, B> {
    /// The future `select` was called on finished first.
    Left(A),
    /// The other future finished first.
    Right(B),
}
