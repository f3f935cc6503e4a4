//! Gradescope's `results.json` (the autograder specification's format): the total score, one
//! entry per test with its points, `passed`/`failed` and its output, and the lab-level messages
//! (a missing file, the first compiler error, a broken rule) in the top-level output.
//!
//! Public tests are `visible`; hidden ones are `after_published`, so students see them only
//! once the instructor publishes the grades.

use serde_json::{json, Value};

use crate::kit::Visibility;
use crate::report::formats::failure_details;
use crate::report::model::{LabStatus, SubmissionReport, TestStatus};
use crate::report::text::points;

/// The most output kept per test: Gradescope shows it inline.
const OUTPUT_CAP: usize = 4000;

/// The report as Gradescope's `results.json`.
pub fn results(report: &SubmissionReport) -> String {
    serde_json::to_string_pretty(&value(report)).expect("JSON values always serialise") + "\n"
}

/// The report as a Gradescope results value.
pub fn value(report: &SubmissionReport) -> Value {
    let mut tests = Vec::new();
    let mut output = Vec::new();
    for lab in &report.labs {
        output.push(format!(
            "Lab {}: {}: {} / {}",
            lab.lab,
            lab.title,
            points(lab.score),
            points(lab.max_score)
        ));
        match lab.status {
            LabStatus::Graded => {}
            LabStatus::NotBuilt => output.push(format!(
                "  not built: the lab does not compile, so no test ran.\n{}",
                indent(lab.message.as_deref().unwrap_or(""))
            )),
            LabStatus::Missing => output.push(format!(
                "  missing: {}",
                lab.message.as_deref().unwrap_or("files missing")
            )),
        }
        for violation in &lab.violations {
            output.push(format!(
                "  rule broken: {}:{}: {}",
                violation.file, violation.line, violation.rule
            ));
        }
        for test in &lab.tests {
            let passed = test.status == TestStatus::Passed;
            let text = if passed {
                String::new()
            } else {
                format!(
                    "{}\n{}",
                    test.status.label(),
                    failure_details(test, OUTPUT_CAP)
                )
            };
            tests.push(json!({
                "name": format!("Lab {}: {}", lab.lab, test.name),
                "score": test.score,
                "max_score": test.max_score,
                "status": if passed { "passed" } else { "failed" },
                "output": text,
                "visibility": match test.visibility {
                    Visibility::Public => "visible",
                    Visibility::Hidden => "after_published",
                },
            }));
        }
    }
    json!({
        "score": report.score,
        "output": output.join("\n"),
        "tests": tests,
    })
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
