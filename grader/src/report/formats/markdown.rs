//! The Markdown feedback of one submission: the score per lab, what failed and why, the hints,
//! and the broken rules. Test output is student-written, so it goes into code fences long
//! enough that it cannot close them.

use std::fmt::Write as _;

use crate::report::formats::{failure_details, lab_status_label};
use crate::report::model::{LabStatus, SubmissionReport, TestStatus, Violation};
use crate::report::text::points;

/// The most output kept per failed test.
const OUTPUT_CAP: usize = 3000;

/// The feedback of one submission as Markdown.
pub fn feedback(report: &SubmissionReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Feedback for {}\n", inline(&report.submission));
    let _ = writeln!(
        out,
        "**Score: {} / {}**\n\nGraded {} by kit {} with {} (isolation: {}).\n",
        points(report.score),
        points(report.max_score),
        report.graded_at,
        report.kit_version,
        inline(&report.toolchain),
        report.isolation
    );
    for lab in &report.labs {
        let _ = writeln!(
            out,
            "## Lab {}: {} ({} / {})\n",
            lab.lab,
            inline(&lab.title),
            points(lab.score),
            points(lab.max_score)
        );
        match lab.status {
            LabStatus::Graded => {}
            LabStatus::NotBuilt => {
                let _ = writeln!(
                    out,
                    "**Not built**: the lab does not compile, so no test could run. The \
                     compiler's first error:\n\n{}",
                    fenced(lab.message.as_deref().unwrap_or(""))
                );
            }
            LabStatus::Missing => {
                let _ = writeln!(
                    out,
                    "**Missing**: no test could run.\n\n{}",
                    fenced(lab.message.as_deref().unwrap_or("files missing"))
                );
            }
        }
        findings(
            &mut out,
            "**Flagged for your instructor to read** (the score does not change):",
            &lab.flags,
        );
        findings(
            &mut out,
            "**Rules broken** (the tests of that part score zero):",
            &lab.violations,
        );
        let passed = lab
            .tests
            .iter()
            .filter(|t| t.status == TestStatus::Passed)
            .count();
        let _ = writeln!(
            out,
            "{passed} of {} tests passed (lab status: {}).\n",
            lab.tests.len(),
            lab_status_label(lab.status)
        );
        if let Some(answers) = &lab.answers {
            let _ = writeln!(
                out,
                "**Written answers**: {}.\n",
                inline(&answers.summary())
            );
            if let Some(text) = &answers.text {
                // Student-written: in a fence it cannot close, shown as it was handed in.
                let _ = writeln!(out, "{}", fenced(text));
            }
        }
        // Tests that never ran share one reason, already given above.
        if lab.status != LabStatus::Graded {
            continue;
        }
        let _ = writeln!(out, "| test | visibility | status | points | time |");
        let _ = writeln!(out, "|---|---|---|---:|---:|");
        for test in &lab.tests {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} / {} | {} ms |",
                test.name,
                test.visibility.target(),
                test.status.label(),
                points(test.score),
                points(test.max_score),
                test.duration_ms
            );
        }
        let _ = writeln!(out);
        for test in lab
            .tests
            .iter()
            .filter(|t| t.status != TestStatus::Passed && t.status != TestStatus::RuleViolation)
        {
            let _ = writeln!(
                out,
                "### `{}` ({}, {})\n\n{}",
                test.name,
                test.visibility.target(),
                test.status.label(),
                fenced(&failure_details(test, OUTPUT_CAP))
            );
        }
    }
    out
}

/// Text for a Markdown line: no line breaks, no table separators, no HTML.
pub fn inline(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` in a code fence longer than any run of backticks inside it.
pub fn fenced(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{}\n{fence}\n", text.trim_end())
}

/// A titled list of source findings (broken rules, flags), each with its file and line.
fn findings(out: &mut String, title: &str, found: &[Violation]) {
    if found.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}\n");
    for v in found {
        let _ = writeln!(
            out,
            "- `{}:{}`: {}",
            v.file.replace('`', "'"),
            v.line,
            inline(&v.rule)
        );
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outlast_backticks_in_the_text() {
        let fenced = fenced("```\nescape\n````");
        assert!(fenced.starts_with("`````text\n"), "{fenced}");
        assert!(fenced.trim_end().ends_with("\n`````"), "{fenced}");
    }
}
