//! Lab 3: futures by hand.
//!
//! You edit `src/countdown.rs`, `src/delay.rs` and `src/inbox.rs`; this file only wires them
//! together. Start with the handout (`docs/src/lab3.md`), then run `cargo run -p grader -- lab 3`.
//! `cargo run -p lab3` prints the sizes of your futures next to the compiler's.
//!
//! The rule of this lab: no `async` and no `.await` in the files you edit. You write the
//! state machines that the compiler would write for you.

pub mod countdown;
pub mod delay;
pub mod inbox;

pub use countdown::Countdown;
pub use delay::Delay;
pub use inbox::{add_to_inbox, AddToInbox};
