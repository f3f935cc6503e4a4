//! Reports: what grading found, and every way of showing it. Above the kit, below the
//! commands: [`crate::run`] fills the [`model`], a command picks the [`Format`].
//!
//! - [`model`]: the report model ([`model::SubmissionReport`] → [`model::LabReport`] →
//!   [`model::TestResult`]), which is also the JSON report's schema;
//! - [`text`]: what every format shares ([`points`], [`failure_message`]);
//! - [`table`](mod@table): the student's table; this module: the JSON, and [`render`], which
//!   picks the format;
//! - [`formats`]: CSV, JUnit, Gradescope, Markdown and HTML;
//! - [`summary`]: the class summary of a batch.
//!
//! Inside the folder, imports go this module → `table`, `formats` → `text`, `model`; and
//! `summary` → `formats`.

pub mod formats;
pub mod model;
pub mod summary;
pub mod table;
pub mod text;

use crate::report::model::SubmissionReport;

// Their homes before the report folder was split: kept for the tests and tools that use them.
pub use crate::report::table::table;
pub use crate::report::text::{failure_message, points};

/// Output formats of `grader lab` and `grader grade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables with failure details, for people (plain text when piped).
    Table,
    /// The JSON report of the specification.
    Json,
    /// One row per test.
    #[cfg(feature = "instructor")]
    Csv,
    /// JUnit XML: a testsuite per lab, a testcase per test.
    #[cfg(feature = "instructor")]
    Junit,
    /// Gradescope's `results.json`.
    Gradescope,
    /// Markdown feedback: what failed, hints, broken rules.
    Markdown,
    /// One self-contained HTML page.
    Html,
}

/// The report in `format`; `color` only matters for tables.
pub fn render(report: &SubmissionReport, format: Format, color: bool) -> String {
    match format {
        Format::Table => table(report, color),
        Format::Json => json(report) + "\n",
        #[cfg(feature = "instructor")]
        Format::Csv => formats::csv(report),
        #[cfg(feature = "instructor")]
        Format::Junit => formats::junit(std::slice::from_ref(report)),
        Format::Gradescope => formats::gradescope::results(report),
        Format::Markdown => formats::markdown::feedback(report),
        Format::Html => formats::html::submission_page(report),
    }
}

/// The report as pretty JSON.
pub fn json(report: &SubmissionReport) -> String {
    serde_json::to_string_pretty(report).expect("reports always serialise")
}
