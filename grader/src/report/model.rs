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
    pub tests: Vec<TestResult>,
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
            tests,
        }
    }
}
