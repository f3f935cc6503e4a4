//! Scoring: what each observed test run earns under its rubric entry, as a [`TestResult`] of
//! the report model.

use crate::kit::RubricEntry;
use crate::run::sandbox::{Observation, Outcome};

// The report model used to live here: these are its old names, kept for the tests and tools
// that use `grader::score::...`.
pub use crate::kit::rules::Violation;
pub use crate::report::model::{LabReport, LabStatus, SubmissionReport, TestResult, TestStatus};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::Visibility;
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
