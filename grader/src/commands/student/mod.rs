//! The student's commands: the edit-test loop on their own checkout, public tests only.
//!
//! - [`lab`]: `grader lab N`, the public tests of one lab with hints; with `--watch`, again on
//!   every save ([`watch`]);
//! - [`hint`]: `grader hint N [TEST]`, hints one step at a time;
//! - [`list`]: `grader list`, the labs and the last public score of each;
//! - [`state`]: what these commands remember between runs (a small git-ignored file).

pub mod hint;
pub mod lab;
pub mod list;
pub mod state;
pub mod watch;
