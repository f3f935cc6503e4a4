//! The commands: what each `grader <command>` does, one module per command. The top of the
//! stack: a command may use everything below it ([`crate::run`], [`crate::report`],
//! [`crate::kit`], [`crate::files`]), and nothing below uses a command. [`crate::cli`] turns
//! the arguments into calls of these modules' `command` functions.
//!
//! - [`student`]: `lab` (and `lab --watch`), `hint`, `list`, and the state they keep between
//!   runs;
//! - [`instructor`]: `grade` (one submission, or a class as a batch, with its archives),
//!   `release` (with its GitHub Classroom workflow), `gradescope`, `selfcheck`;
//! - [`bench`](mod@bench): `bench`, the labs' concurrency models measured, and
//!   `bench --grading`, what grading costs.
//!
//! Inside the folder, `bench` → `instructor` (`bench --grading` grades a batch); otherwise the
//! groups share only this module's helpers.

pub mod bench;
#[cfg(feature = "instructor")]
pub mod instructor;
pub mod student;

use std::io::IsTerminal;

use crate::report::model::SubmissionReport;
use crate::report::{self, Format};

/// A mistake in how the grader was called: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A [`UsageError`], as the error a command returns.
pub(crate) fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// A report as `format`, or as the table (in colour on a terminal without `NO_COLOR`).
pub(crate) fn render(report: &SubmissionReport, format: Option<Format>) -> String {
    let terminal = std::io::stdout().is_terminal();
    let color = terminal && std::env::var_os("NO_COLOR").is_none();
    report::render(report, format.unwrap_or(Format::Table), color)
}

/// What an instructor's command answers in a grader built without the `instructor` feature
/// (the student release's): a usage error that says how to get it.
#[cfg(not(feature = "instructor"))]
pub(crate) fn instructor_only(command: &str) -> anyhow::Error {
    usage(format!(
        "`grader {command}` is an instructor's command, left out of this build of the grader \
         (the student release builds it without the `instructor` feature, so that students \
         never compile what only instructors use). In the instructor's kit, run \
         `cargo run -p grader --features instructor -- {command} ...`."
    ))
}

/// A step of a long command, on standard error.
#[cfg(feature = "instructor")]
pub(crate) fn progress(message: &str) {
    eprintln!("grader: {message}");
}
