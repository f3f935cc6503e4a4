//! Report formats beyond the table and the JSON: every one renders [`SubmissionReport`]s and
//! carries the same facts.
//!
//! - [`csv`]: one row per test of one submission; [`gradebook`]: one row per student.
//! - [`junit`]: a JUnit XML report (a testsuite per student and lab, a testcase per test).
//! - [`gradescope::results`]: Gradescope's `results.json`.
//! - [`markdown::feedback`]: what failed, with hints and violations, for the student.
//! - [`html::submission_page`]: one self-contained page for one submission.
//!
//! Test output is written by student code: every format escapes it for its own syntax.

pub mod gradescope;
pub mod html;
pub mod markdown;

#[cfg(feature = "instructor")]
use std::collections::BTreeMap;
#[cfg(feature = "instructor")]
use std::time::Duration;

#[cfg(feature = "instructor")]
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::report::model::{LabStatus, TestResult};
#[cfg(feature = "instructor")]
use crate::report::model::{SubmissionReport, TestStatus};
use crate::report::text::failure_message;
#[cfg(feature = "instructor")]
use crate::report::text::points;

#[cfg(feature = "instructor")]
/// One row per test: `submission,lab,test,visibility,status,score,max_score,duration_ms`.
pub fn csv(report: &SubmissionReport) -> String {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record([
        "submission",
        "lab",
        "test",
        "visibility",
        "status",
        "score",
        "max_score",
        "duration_ms",
    ]);
    for lab in &report.labs {
        for test in &lab.tests {
            let _ = writer.write_record([
                spreadsheet_safe(&report.submission),
                lab.lab.to_string(),
                test.name.clone(),
                test.visibility.target().to_string(),
                test.status.label().to_string(),
                points(test.score),
                points(test.max_score),
                test.duration_ms.to_string(),
            ]);
        }
    }
    into_string(writer)
}

#[cfg(feature = "instructor")]
/// The class gradebook: `student`, one column per lab (`lab1`, ...), `total`. A lab that a
/// student's report does not hold is left empty; a lab that was graded but scored nothing is 0.
pub fn gradebook(reports: &[SubmissionReport]) -> String {
    let labs: Vec<u32> = reports
        .iter()
        .flat_map(|r| r.labs.iter().map(|l| l.lab))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let mut header = vec!["student".to_string()];
    header.extend(labs.iter().map(|n| format!("lab{n}")));
    header.push("total".into());
    let _ = writer.write_record(&header);
    for report in reports {
        let by_lab: BTreeMap<u32, f64> = report.labs.iter().map(|l| (l.lab, l.score)).collect();
        let mut row = vec![spreadsheet_safe(&report.submission)];
        row.extend(
            labs.iter()
                .map(|n| by_lab.get(n).map(|s| points(*s)).unwrap_or_default()),
        );
        row.push(points(report.score));
        let _ = writer.write_record(&row);
    }
    into_string(writer)
}

#[cfg(feature = "instructor")]
fn into_string(writer: ::csv::Writer<Vec<u8>>) -> String {
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(feature = "instructor")]
/// A student id comes from a file name: one starting like a formula must not become one when
/// the gradebook is opened in a spreadsheet.
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

#[cfg(feature = "instructor")]
/// A JUnit XML report: a testsuite per submission and lab, a testcase per test; failures
/// carry the grader's note, the failure message and the hint.
pub fn junit(reports: &[SubmissionReport]) -> String {
    let mut junit = Report::new("grader");
    for report in reports {
        for lab in &report.labs {
            let mut suite = TestSuite::new(format!("{} lab {}", report.submission, lab.lab));
            if let Some(message) = &lab.message {
                suite.set_system_err(message.as_str());
            }
            for test in &lab.tests {
                let status = match test.status {
                    TestStatus::Passed => TestCaseStatus::success(),
                    other => {
                        let kind = match other {
                            TestStatus::NotBuilt | TestStatus::NotRun => NonSuccessKind::Error,
                            _ => NonSuccessKind::Failure,
                        };
                        let mut status = TestCaseStatus::non_success(kind);
                        status
                            .set_type(other.label())
                            .set_message(one_line(&failure_summary(test)))
                            .set_description(failure_details(test, 4000));
                        status
                    }
                };
                let mut case = TestCase::new(test.name.as_str(), status);
                case.set_classname(format!(
                    "{}.lab{}.{}",
                    report.submission,
                    lab.lab,
                    test.visibility.target()
                ))
                .set_time(Duration::from_millis(test.duration_ms));
                suite.add_test_case(case);
            }
            junit.add_test_suite(suite);
        }
    }
    junit.to_string().unwrap_or_default()
}

/// The first thing to say about a test that did not pass: the grader's note, else the first
/// line of its failure message, else its status.
pub fn failure_summary(test: &TestResult) -> String {
    if let Some(note) = &test.note {
        return note.clone();
    }
    let message = failure_message(&test.output, &test.name);
    let second = message.lines().nth(1).map(str::trim);
    match second.filter(|l| !l.is_empty()) {
        Some(line) => line.to_string(),
        None => test.status.label().to_string(),
    }
}

/// Everything about a failed test that helps, in at most `cap` bytes of output: the grader's
/// note, the panic messages (or the end of the output) and the hint.
pub fn failure_details(test: &TestResult, cap: usize) -> String {
    let mut text = String::new();
    if let Some(note) = &test.note {
        text.push_str(&format!("grader: {note}\n"));
    }
    let message = failure_message(&test.output, &test.name);
    let body = if message.is_empty() {
        tail_chars(&test.output, cap)
    } else {
        tail_chars(&message, cap)
    };
    if !body.trim().is_empty() {
        text.push_str(body.trim_end());
        text.push('\n');
    }
    text.push_str(&format!("hint: {}", test.hint));
    text
}

/// The last `cap` bytes of `text`, cut at a character boundary, marked when cut.
pub fn tail_chars(text: &str, cap: usize) -> String {
    if text.len() <= cap {
        return text.to_string();
    }
    let mut start = text.len() - cap;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[... {start} bytes cut ...]\n{}", &text[start..])
}

#[cfg(feature = "instructor")]
fn one_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > 200 {
        line.chars().take(200).collect::<String>() + "..."
    } else {
        line.to_string()
    }
}

/// A lab's status as reports name it.
pub fn lab_status_label(status: LabStatus) -> &'static str {
    match status {
        LabStatus::Graded => "graded",
        LabStatus::NotBuilt => "not_built",
        LabStatus::Missing => "missing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "instructor")]
    fn formula_like_ids_are_quoted_for_spreadsheets() {
        assert_eq!(spreadsheet_safe("=HYPERLINK()"), "'=HYPERLINK()");
        assert_eq!(spreadsheet_safe("alice"), "alice");
    }

    #[test]
    fn tails_are_cut_on_character_boundaries() {
        let text = "é".repeat(10);
        let tail = tail_chars(&text, 5);
        assert!(tail.ends_with("éé"), "{tail}");
        assert!(tail.starts_with("[... "));
    }
}
