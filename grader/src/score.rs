//! Scores: what each test earned under the rubric, and the report model every format renders.

use serde::{Deserialize, Serialize};

use crate::kit::{RubricEntry, Visibility};
use crate::sandbox::{Observation, Outcome};

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

/// A broken source rule, with the offending line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Violation {
    pub file: String,
    pub line: usize,
    pub rule: String,
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

/// The first hint, followed by the lecture concept that a failure points to.
pub fn hint_with_concept(entry: &RubricEntry) -> String {
    match &entry.concept {
        Some((name, text)) => format!("{} Concept to revisit: {name}. {text}", entry.hint),
        None => entry.hint.clone(),
    }
}

/// Scores an observed test run with its rubric entry.
pub fn judge(entry: &RubricEntry, observation: &Observation) -> TestResult {
    let status = match observation.outcome {
        Outcome::Passed => TestStatus::Passed,
        Outcome::Failed => TestStatus::Failed,
        Outcome::TimedOut => TestStatus::TimedOut,
        Outcome::Crashed { .. } => TestStatus::Crashed,
    };
    TestResult {
        name: entry.name.clone(),
        visibility: entry.visibility,
        status,
        score: if status == TestStatus::Passed {
            entry.points
        } else {
            0.0
        },
        max_score: entry.points,
        duration_ms: observation.duration.as_millis() as u64,
        output: observation.output.clone(),
        hint: hint_with_concept(entry),
        note: observation.note.clone(),
    }
}

/// A test that never ran, with the reason.
pub fn unrun(entry: &RubricEntry, status: TestStatus, note: &str) -> TestResult {
    TestResult {
        name: entry.name.clone(),
        visibility: entry.visibility,
        status,
        score: 0.0,
        max_score: entry.points,
        duration_ms: 0,
        output: String::new(),
        hint: entry.hint.clone(),
        note: Some(note.to_string()),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry() -> RubricEntry {
        RubricEntry {
            name: "ping_gets_pong".into(),
            points: 2.0,
            timeout_s: 10,
            hint: "answer PING".into(),
            address_space_mib: None,
            more_hints: vec![],
            concept: None,
            visibility: Visibility::Hidden,
        }
    }

    fn observed(outcome: Outcome) -> Observation {
        Observation {
            outcome,
            duration: Duration::from_millis(12),
            output: String::new(),
            note: None,
        }
    }

    #[test]
    fn only_a_pass_earns_points() {
        assert_eq!(judge(&entry(), &observed(Outcome::Passed)).score, 2.0);
        for outcome in [
            Outcome::Failed,
            Outcome::TimedOut,
            Outcome::Crashed {
                signal: "SIGABRT".into(),
            },
        ] {
            let result = judge(&entry(), &observed(outcome.clone()));
            assert_eq!(result.score, 0.0, "{outcome:?} must earn nothing");
            assert_eq!(result.max_score, 2.0);
        }
    }

    #[test]
    fn statuses_serialise_as_the_spec_names_them() {
        let result = judge(&entry(), &observed(Outcome::TimedOut));
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(json["status"], "timed_out");
        assert_eq!(json["visibility"], "hidden");
        assert_eq!(json["duration_ms"], 12);
        let lab = LabReport::new(1, "t", LabStatus::NotBuilt, None, vec![result]);
        assert_eq!(serde_json::to_value(&lab).unwrap()["status"], "not_built");
    }
}
