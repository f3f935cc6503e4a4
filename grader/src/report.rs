//! Rendering reports: the student's table and the instructor's JSON here; the other formats
//! (CSV, JUnit, Gradescope, Markdown, HTML) in [`crate::formats`].

use std::fmt::Write as _;

use comfy_table::{presets, Cell, CellAlignment, Color, ContentArrangement, Table};

use crate::score::{LabReport, LabStatus, SubmissionReport, TestResult, TestStatus};

/// Output formats of `grader lab` and `grader grade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Tables with failure details, for people (plain text when piped).
    Table,
    /// The JSON report of the specification.
    Json,
    /// One row per test.
    Csv,
    /// JUnit XML: a testsuite per lab, a testcase per test.
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
    use crate::formats;
    match format {
        Format::Table => table(report, color),
        Format::Json => json(report) + "\n",
        Format::Csv => formats::csv(report),
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

/// The panic messages in a test's output: the test's own thread first, then at most one
/// other (often the real cause: a stub still unwritten, or an `unwrap` in a server thread).
pub fn failure_message(output: &str, test_name: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let mut panics: Vec<(bool, String)> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if !(line.starts_with("thread '") && line.contains("panicked at")) {
            continue;
        }
        let own = line.starts_with(&format!("thread '{test_name}'"));
        let mut text = vec![line.trim_end_matches(':').to_string()];
        for next in lines.iter().skip(index + 1).take(30) {
            if next.is_empty()
                || next.starts_with("note: ")
                || next.starts_with("thread '")
                || next.starts_with("failures:")
            {
                break;
            }
            text.push(format!("  {next}"));
        }
        panics.push((own, text.join("\n")));
    }
    panics.sort_by_key(|(own, _)| !own);
    panics
        .into_iter()
        .take(2)
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join("\n")
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

/// Points without a needless `.0`.
pub fn points(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_message_puts_the_test_threads_panic_first() {
        let output = "running 1 test\n\
            thread '<unnamed>' panicked at src/server.rs:4:5:\n\
            not yet implemented\n\
            note: run with `RUST_BACKTRACE=1`\n\
            thread 'ping_gets_pong' panicked at tests/public.rs:9:9:\n\
            handle_client should answer PING: the server closed the connection\n\
            \n\
            failures:\n";
        let message = failure_message(output, "ping_gets_pong");
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(
            lines[0],
            "thread 'ping_gets_pong' panicked at tests/public.rs:9:9"
        );
        assert_eq!(
            lines[1],
            "  handle_client should answer PING: the server closed the connection"
        );
        assert_eq!(lines[2], "thread '<unnamed>' panicked at src/server.rs:4:5");
        assert_eq!(lines[3], "  not yet implemented");
    }

    #[test]
    fn points_drop_needless_decimals() {
        assert_eq!(points(2.0), "2");
        assert_eq!(points(2.5), "2.5");
    }
}
