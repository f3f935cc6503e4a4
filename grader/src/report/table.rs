//! The student's table: one table per lab with failure details and hints, for a terminal (in
//! colour) or a pipe (plain text). `grader lab` and `grader grade` print it by default.

use std::fmt::Write as _;

use comfy_table::{presets, Cell, CellAlignment, Color, ContentArrangement, Table};

use crate::report::model::{LabReport, LabStatus, SubmissionReport, TestResult, TestStatus};
use crate::report::text::{failure_message, points};

/// The report as tables with failure details, for a terminal (`color`) or a pipe.
pub fn table(report: &SubmissionReport, color: bool) -> String {
    let mut out = String::new();
    for lab in &report.labs {
        render_lab(&mut out, lab, color);
    }
    if report.labs.len() > 1 {
        let _ = writeln!(
            out,
            "Total for {}: {} / {}",
            report.submission,
            points(report.score),
            points(report.max_score)
        );
    }
    out
}

fn render_lab(out: &mut String, lab: &LabReport, color: bool) {
    let _ = writeln!(out, "Lab {}: {}", lab.lab, lab.title);
    match lab.status {
        LabStatus::Missing => {
            let _ = writeln!(
                out,
                "  missing: {}\n",
                lab.message.as_deref().unwrap_or("files missing")
            );
        }
        LabStatus::NotBuilt => {
            let _ = writeln!(
                out,
                "  not built: the lab does not compile, so no test could run.\n"
            );
            for line in lab.message.as_deref().unwrap_or("").lines() {
                let _ = writeln!(out, "  {line}");
            }
            let _ = writeln!(
                out,
                "\n  Run `cargo build -p lab{}` to see every error.",
                lab.lab
            );
        }
        LabStatus::Graded => {
            let mut table = Table::new();
            table
                .load_preset(if color {
                    presets::UTF8_FULL_CONDENSED
                } else {
                    presets::ASCII_FULL_CONDENSED
                })
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(vec!["test", "status", "points", "time"]);
            if !color {
                table.force_no_tty();
            } else {
                table.enforce_styling();
            }
            for test in &lab.tests {
                let status = Cell::new(test.status.label());
                let status = if color {
                    status.fg(status_color(test.status))
                } else {
                    status
                };
                table.add_row(vec![
                    Cell::new(&test.name),
                    status,
                    Cell::new(format!("{}/{}", points(test.score), points(test.max_score)))
                        .set_alignment(CellAlignment::Right),
                    Cell::new(duration(test.duration_ms)).set_alignment(CellAlignment::Right),
                ]);
            }
            let _ = writeln!(out, "{table}");
            for test in lab.tests.iter().filter(|t| t.status != TestStatus::Passed) {
                render_failure(out, test, color);
            }
        }
    }
    for violation in &lab.violations {
        let _ = writeln!(
            out,
            "  rule broken: {}:{}: {}",
            violation.file, violation.line, violation.rule
        );
    }
    for flag in &lab.flags {
        let _ = writeln!(
            out,
            "  flagged for your instructor: {}:{}: {}",
            flag.file, flag.line, flag.rule
        );
    }
    if !lab.warnings.is_empty() {
        let _ = writeln!(
            out,
            "\n  The compiler warns about your files (no points lost, but worth reading):\n"
        );
        for warning in &lab.warnings {
            for line in warning.lines() {
                let _ = writeln!(out, "  {line}");
            }
            let _ = writeln!(out);
        }
    }
    let passed = lab
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .count();
    let _ = writeln!(
        out,
        "\nLab {} score: {} / {} ({passed} of {} tests passed)",
        lab.lab,
        points(lab.score),
        points(lab.max_score),
        lab.tests.len()
    );
    if let Some(first) = lab.tests.iter().find(|t| t.status != TestStatus::Passed) {
        if lab.status == LabStatus::Graded {
            let _ = writeln!(out, "Next: make `{}` pass. {}", first.name, first.hint);
        }
    } else if !lab.tests.is_empty() {
        let _ = writeln!(out, "Every test passes. Well done.");
    }
    let _ = writeln!(out);
}

fn render_failure(out: &mut String, test: &TestResult, color: bool) {
    let (on, off) = if color {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("", "")
    };
    let _ = writeln!(out, "\n{on}{} ({}){off}", test.name, test.status.label());
    if let Some(note) = &test.note {
        let _ = writeln!(out, "  grader: {note}");
    }
    for line in failure_message(&test.output, &test.name).lines() {
        let _ = writeln!(out, "  | {line}");
    }
    let _ = writeln!(out, "  hint: {}", test.hint);
}

fn status_color(status: TestStatus) -> Color {
    match status {
        TestStatus::Passed => Color::Green,
        TestStatus::Failed | TestStatus::Crashed | TestStatus::RuleViolation => Color::Red,
        TestStatus::TimedOut => Color::Yellow,
        TestStatus::NotBuilt | TestStatus::NotRun => Color::DarkGrey,
    }
}

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}
