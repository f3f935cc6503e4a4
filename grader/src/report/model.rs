//! The report model: what grading found, as every format renders it and as the JSON report
//! of the specification serialises it (field names and statuses are the schema: renaming one
//! breaks instructors' scripts).

use serde::{Deserialize, Serialize};

pub use crate::kit::rules::Violation;
use crate::kit::Visibility;

/// The status of one test in a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    Passed,
    Failed,
    TimedOut,
    Crashed,
    /// The lab did not compile.
    NotBuilt,
    /// A source rule of the lab was broken.
    RuleViolation,
    /// The test could not be run (the lab's files are missing, or its binary is).
    NotRun,
}

impl TestStatus {
    pub fn label(self) -> &'static str {
        match self {
            TestStatus::Passed => "passed",
            TestStatus::Failed => "failed",
            TestStatus::TimedOut => "timed_out",
            TestStatus::Crashed => "crashed",
            TestStatus::NotBuilt => "not_built",
            TestStatus::RuleViolation => "rule_violation",
            TestStatus::NotRun => "not_run",
        }
    }
}

/// One test's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestResult {
    pub name: String,
    pub visibility: Visibility,
    pub status: TestStatus,
    pub score: f64,
    pub max_score: f64,
    pub duration_ms: u64,
    /// The test's stdout and stderr, capped. Written by untrusted code: display only.
    pub output: String,
    pub hint: String,
    /// The grader's own explanation (a timeout, a crash, an exit without confirmation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether a lab could be graded at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabStatus {
    Graded,
    NotBuilt,
    Missing,
}

/// One lab of one submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabReport {
    pub lab: u32,
    pub title: String,
    pub status: LabStatus,
    pub score: f64,
    pub max_score: f64,
    /// Why the lab is `not_built` or `missing`: the compiler's first error, or the missing file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub violations: Vec<Violation>,
    /// Constructs the lab does not need (`unsafe`, `std::process`, `std::env`, file system),
    /// flagged for the instructor to read; they do not change the score.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Violation>,
    /// The compiler's warnings in the lab's editable files, as rustc rendered them, capped
    /// (`grader lab N` only); they do not change the score.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub tests: Vec<TestResult>,
    /// The lab's written answers (instructor grading of a lab with an answers file): marked
    /// by hand, never part of `score` or `max_score`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers: Option<Answers>,
}

/// A lab's written answers as handed in, for the instructor to read and mark by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answers {
    /// The file, relative to the lab folder (`ANSWERS.md`).
    pub file: String,
    /// Whether the submission holds it; without it, "no answers handed in".
    pub handed_in: bool,
    /// The file's text as handed in. Written by the student: display only, escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The points the instructor gives for it by hand (the rubric's `answers_points`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_points: Option<f64>,
    /// Always `"by hand"`: no automatic score includes these points.
    pub graded: String,
}

impl Answers {
    pub fn new(file: &str, text: Option<String>, max_points: Option<f64>) -> Answers {
        Answers {
            file: file.to_string(),
            handed_in: text.is_some(),
            text,
            max_points,
            graded: "by hand".into(),
        }
    }

    /// One line for a report: what was handed in and what it is worth.
    pub fn summary(&self) -> String {
        let worth = match self.max_points {
            Some(points) => format!(
                "worth {} point(s), graded by hand and not included in the score above",
                crate::report::text::points(points)
            ),
            None => "graded by hand, not included in the score above".to_string(),
        };
        if self.handed_in {
            format!("{}: handed in; {worth}", self.file)
        } else {
            format!("{}: no answers handed in; {worth}", self.file)
        }
    }
}

/// One submission: the JSON report of the kit's specification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubmissionReport {
    pub submission: String,
    pub score: f64,
    pub max_score: f64,
    pub graded_at: String,
    pub kit_version: String,
    pub toolchain: String,
    pub isolation: String,
    pub labs: Vec<LabReport>,
}

impl LabReport {
    /// Sums the tests' points.
    pub fn new(
        lab: u32,
        title: &str,
        status: LabStatus,
        message: Option<String>,
        tests: Vec<TestResult>,
    ) -> LabReport {
        LabReport {
            lab,
            title: title.to_string(),
            status,
            score: tests.iter().map(|t| t.score).sum(),
            max_score: tests.iter().map(|t| t.max_score).sum(),
            message,
            violations: Vec::new(),
            flags: Vec::new(),
            warnings: Vec::new(),
            tests,
            answers: None,
        }
    }
}
