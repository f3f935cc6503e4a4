//! The class summary: computed from every student's report, rendered as Markdown and as one
//! self-contained HTML page with SVG charts drawn here (no script, no stylesheet, nothing
//! fetched): the score distribution of each lab, the pass rate of every test (lowest first,
//! so the test the class failed most is on top), build failures, missing labs and broken rules.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::kit::Visibility;
use crate::report::formats::html::{escape, page};
use crate::report::formats::markdown::inline;
use crate::report::model::{LabStatus, SubmissionReport, TestStatus, Violation};
use crate::report::text::points;

/// Buckets of a score distribution: tenths of the lab's points.
const BUCKETS: usize = 10;

/// Facts about the class, computed once for both renderings.
#[derive(Debug, Clone)]
pub struct ClassSummary {
    pub students: usize,
    pub mean_total: f64,
    pub max_total: f64,
    pub labs: Vec<LabSummary>,
    /// Every test of every lab, by pass rate, lowest first.
    pub tests: Vec<TestSummary>,
    pub build_failures: Vec<LabProblem>,
    pub missing: Vec<LabProblem>,
    pub violations: Vec<(String, u32, Violation)>,
    /// Constructs no lab needs (`unsafe`, `std::process`...), for the instructor to read.
    pub flags: Vec<(String, u32, Violation)>,
}

/// One lab across the class.
#[derive(Debug, Clone)]
pub struct LabSummary {
    pub lab: u32,
    pub title: String,
    pub max_score: f64,
    /// The score of every student whose report holds the lab.
    pub scores: Vec<f64>,
    pub graded: usize,
    pub not_built: usize,
    pub missing: usize,
}

/// One test across the class.
#[derive(Debug, Clone)]
pub struct TestSummary {
    pub lab: u32,
    pub name: String,
    pub visibility: Visibility,
    /// Students whose lab was graded (built): the pass rate's denominator.
    pub attempted: usize,
    pub passed: usize,
    /// How the others ended, by status name.
    pub failures: BTreeMap<&'static str, usize>,
}

/// A lab of one student that could not be graded.
#[derive(Debug, Clone)]
pub struct LabProblem {
    pub student: String,
    pub lab: u32,
    pub message: String,
}

impl LabSummary {
    pub fn mean(&self) -> f64 {
        if self.scores.is_empty() {
            0.0
        } else {
            self.scores.iter().sum::<f64>() / self.scores.len() as f64
        }
    }

    pub fn median(&self) -> f64 {
        let mut sorted = self.scores.clone();
        sorted.sort_by(f64::total_cmp);
        match sorted.len() {
            0 => 0.0,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        }
    }

    pub fn full_marks(&self) -> usize {
        self.scores
            .iter()
            .filter(|s| self.max_score > 0.0 && **s >= self.max_score)
            .count()
    }

    /// How many students fall in each tenth of the lab's points (full marks in the last).
    pub fn distribution(&self) -> [usize; BUCKETS] {
        let mut buckets = [0; BUCKETS];
        for score in &self.scores {
            let fraction = if self.max_score > 0.0 {
                score / self.max_score
            } else {
                0.0
            };
            let index = ((fraction * BUCKETS as f64).floor() as usize).min(BUCKETS - 1);
            buckets[index] += 1;
        }
        buckets
    }
}

impl TestSummary {
    pub fn pass_rate(&self) -> f64 {
        if self.attempted == 0 {
            0.0
        } else {
            self.passed as f64 / self.attempted as f64
        }
    }
}

/// Computes the summary of `reports` (one per student).
pub fn summarise(reports: &[SubmissionReport]) -> ClassSummary {
    let mut labs: BTreeMap<u32, LabSummary> = BTreeMap::new();
    let mut tests: BTreeMap<(u32, String), TestSummary> = BTreeMap::new();
    let mut build_failures = Vec::new();
    let mut missing = Vec::new();
    let mut violations = Vec::new();
    let mut flags = Vec::new();
    for report in reports {
        for lab in &report.labs {
            let summary = labs.entry(lab.lab).or_insert_with(|| LabSummary {
                lab: lab.lab,
                title: lab.title.clone(),
                max_score: lab.max_score,
                scores: Vec::new(),
                graded: 0,
                not_built: 0,
                missing: 0,
            });
            summary.max_score = summary.max_score.max(lab.max_score);
            summary.scores.push(lab.score);
            let problem = || LabProblem {
                student: report.submission.clone(),
                lab: lab.lab,
                message: lab.message.clone().unwrap_or_default(),
            };
            match lab.status {
                LabStatus::Graded => summary.graded += 1,
                LabStatus::NotBuilt => {
                    summary.not_built += 1;
                    build_failures.push(problem());
                }
                LabStatus::Missing => {
                    summary.missing += 1;
                    missing.push(problem());
                }
            }
            for violation in &lab.violations {
                violations.push((report.submission.clone(), lab.lab, violation.clone()));
            }
            for flag in &lab.flags {
                flags.push((report.submission.clone(), lab.lab, flag.clone()));
            }
            for test in &lab.tests {
                let entry = tests
                    .entry((lab.lab, test.name.clone()))
                    .or_insert_with(|| TestSummary {
                        lab: lab.lab,
                        name: test.name.clone(),
                        visibility: test.visibility,
                        attempted: 0,
                        passed: 0,
                        failures: BTreeMap::new(),
                    });
                if lab.status != LabStatus::Graded {
                    continue;
                }
                entry.attempted += 1;
                if test.status == TestStatus::Passed {
                    entry.passed += 1;
                } else {
                    *entry.failures.entry(test.status.label()).or_default() += 1;
                }
            }
        }
    }
    let mut tests: Vec<TestSummary> = tests.into_values().collect();
    tests.sort_by(|a, b| {
        a.pass_rate()
            .total_cmp(&b.pass_rate())
            .then(a.lab.cmp(&b.lab))
            .then(a.name.cmp(&b.name))
    });
    let students = reports.len();
    ClassSummary {
        students,
        mean_total: if students == 0 {
            0.0
        } else {
            reports.iter().map(|r| r.score).sum::<f64>() / students as f64
        },
        max_total: reports.iter().map(|r| r.max_score).fold(0.0, f64::max),
        labs: labs.into_values().collect(),
        tests,
        build_failures,
        missing,
        violations,
        flags,
    }
}

fn percent(rate: f64) -> String {
    format!("{:.0}%", rate * 100.0)
}

fn bucket_label(index: usize) -> String {
    let low = index * 100 / BUCKETS;
    if index == BUCKETS - 1 {
        format!("{low}-100%")
    } else {
        format!("{low}-{}%", low + 100 / BUCKETS - 1)
    }
}

fn failures_text(test: &TestSummary) -> String {
    test.failures
        .iter()
        .map(|(status, count)| format!("{count} {status}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The line that says most: the first compiler error if there is one, else the first line.
fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("error"))
        .or_else(|| text.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("")
}

/// The summary as Markdown.
pub fn markdown(summary: &ClassSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Class summary\n");
    let _ = writeln!(
        out,
        "{} students; mean total {} / {}.\n",
        summary.students,
        points(round1(summary.mean_total)),
        points(summary.max_total)
    );
    let _ = writeln!(out, "## Labs\n");
    let _ = writeln!(
        out,
        "| lab | title | students | graded | not built | missing | mean | median | max | full marks |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for lab in &summary.labs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            lab.lab,
            inline(&lab.title),
            lab.scores.len(),
            lab.graded,
            lab.not_built,
            lab.missing,
            points(round1(lab.mean())),
            points(round1(lab.median())),
            points(lab.max_score),
            lab.full_marks()
        );
    }
    for lab in &summary.labs {
        let _ = writeln!(out, "\n### Lab {}: score distribution\n", lab.lab);
        let _ = writeln!(out, "| share of the points | students | |");
        let _ = writeln!(out, "|---|---:|---|");
        for (index, count) in lab.distribution().iter().enumerate() {
            let _ = writeln!(
                out,
                "| {} | {count} | {} |",
                bucket_label(index),
                "#".repeat(*count.min(&60))
            );
        }
    }
    let _ = writeln!(
        out,
        "\n## Tests by pass rate (lowest first)\n\nOver the students whose lab built.\n"
    );
    let _ = writeln!(
        out,
        "| lab | test | visibility | pass rate | passed | others |"
    );
    let _ = writeln!(out, "|---:|---|---|---:|---:|---|");
    for test in &summary.tests {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} / {} | {} |",
            test.lab,
            test.name,
            test.visibility.target(),
            percent(test.pass_rate()),
            test.passed,
            test.attempted,
            failures_text(test)
        );
    }
    problems_markdown(&mut out, "Build failures", &summary.build_failures);
    problems_markdown(&mut out, "Missing labs", &summary.missing);
    findings_markdown(&mut out, "Rule violations", &summary.violations);
    findings_markdown(
        &mut out,
        "Flagged for reading (no score change)",
        &summary.flags,
    );
    out
}

fn problems_markdown(out: &mut String, title: &str, problems: &[LabProblem]) {
    let _ = writeln!(out, "\n## {title}\n");
    if problems.is_empty() {
        let _ = writeln!(out, "None.");
        return;
    }
    let _ = writeln!(out, "| student | lab | first line |");
    let _ = writeln!(out, "|---|---:|---|");
    for problem in problems {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            inline(&problem.student),
            problem.lab,
            inline(first_line(&problem.message))
        );
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The summary as one self-contained HTML page.
pub fn html(summary: &ClassSummary) -> String {
    let mut body = String::new();
    let _ = writeln!(body, "<h1>Class summary</h1>");
    let _ = writeln!(body, "<div class=\"cards\">");
    let cards = [
        ("students", summary.students.to_string()),
        (
            "mean total",
            format!(
                "{} / {}",
                points(round1(summary.mean_total)),
                points(summary.max_total)
            ),
        ),
        ("build failures", summary.build_failures.len().to_string()),
        ("missing labs", summary.missing.len().to_string()),
        ("rule violations", summary.violations.len().to_string()),
    ];
    for (label, value) in cards {
        let _ = writeln!(
            body,
            "<div class=\"card\"><b>{}</b>{label}</div>",
            escape(&value)
        );
    }
    let _ = writeln!(body, "</div>");

    let _ = writeln!(body, "<h2>Score distribution per lab</h2>");
    for lab in &summary.labs {
        let _ = writeln!(
            body,
            "<h3>Lab {}: {}</h3>\n<p class=\"meta\">{} students: {} graded, {} not built, {} missing; \
             mean {}, median {}, max {}; {} with full marks.</p>",
            lab.lab,
            escape(&lab.title),
            lab.scores.len(),
            lab.graded,
            lab.not_built,
            lab.missing,
            points(round1(lab.mean())),
            points(round1(lab.median())),
            points(lab.max_score),
            lab.full_marks()
        );
        body.push_str(&histogram_svg(lab));
    }

    let _ = writeln!(
        body,
        "<h2>Pass rate of every test (lowest first)</h2>\n<p class=\"meta\">Over the students whose \
         lab built. Hidden tests are marked <span style=\"color:#8250df\">(hidden)</span>; hover a bar for how the \
         others ended.</p>"
    );
    body.push_str(&pass_rate_svg(&summary.tests));

    problems_html(&mut body, "Build failures", &summary.build_failures);
    problems_html(&mut body, "Missing labs", &summary.missing);
    findings_html(&mut body, "Rule violations", &summary.violations);
    findings_html(
        &mut body,
        "Flagged for reading (no score change)",
        &summary.flags,
    );
    page("Class summary", &body)
}

/// A table of source findings (broken rules or flags): student, lab, where, what.
fn findings_markdown(out: &mut String, title: &str, findings: &[(String, u32, Violation)]) {
    let _ = writeln!(out, "\n## {title}\n");
    if findings.is_empty() {
        let _ = writeln!(out, "None.");
        return;
    }
    let _ = writeln!(out, "| student | lab | where | what |");
    let _ = writeln!(out, "|---|---:|---|---|");
    for (student, lab, v) in findings {
        let _ = writeln!(
            out,
            "| {} | {lab} | `{}:{}` | {} |",
            inline(student),
            v.file.replace('`', "'"),
            v.line,
            inline(&v.rule)
        );
    }
}

fn findings_html(body: &mut String, title: &str, findings: &[(String, u32, Violation)]) {
    let _ = writeln!(body, "<h2>{}</h2>", escape(title));
    if findings.is_empty() {
        let _ = writeln!(body, "<p>None.</p>");
        return;
    }
    let _ = writeln!(
        body,
        "<table><tr><th>student</th><th>lab</th><th>where</th><th>what</th></tr>"
    );
    for (student, lab, v) in findings {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td class=\"num\">{lab}</td><td><code>{}:{}</code></td><td>{}</td></tr>",
            escape(student),
            escape(&v.file),
            v.line,
            escape(&v.rule)
        );
    }
    let _ = writeln!(body, "</table>");
}

fn problems_html(body: &mut String, title: &str, problems: &[LabProblem]) {
    let _ = writeln!(body, "<h2>{title}</h2>");
    if problems.is_empty() {
        let _ = writeln!(body, "<p>None.</p>");
        return;
    }
    let _ = writeln!(
        body,
        "<table><tr><th>student</th><th>lab</th><th>message</th></tr>"
    );
    for problem in problems {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td class=\"num\">{}</td><td><details><summary>{}</summary><pre>{}</pre></details></td></tr>",
            escape(&problem.student),
            problem.lab,
            escape(first_line(&problem.message)),
            escape(&problem.message)
        );
    }
    let _ = writeln!(body, "</table>");
}

/// A bar chart of how many students fall in each tenth of the lab's points.
fn histogram_svg(lab: &LabSummary) -> String {
    let buckets = lab.distribution();
    let (width, height) = (640.0, 230.0);
    let (left, right, top, bottom) = (44.0, 12.0, 22.0, 40.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    // Four grid steps of a whole number of students.
    let step = (*buckets.iter().max().unwrap_or(&0)).max(1).div_ceil(4);
    let most = (step * 4) as f64;
    let slot = plot_w / BUCKETS as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"Lab {} score distribution\">",
        lab.lab
    );
    // Axes and a few horizontal grid lines with counts.
    for step in 0..=4 {
        let value = most * step as f64 / 4.0;
        let y = top + plot_h - plot_h * step as f64 / 4.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#d0d7de\" stroke-width=\"1\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#59636e\">{value:.0}</text>",
            left + plot_w,
            left - 6.0,
            y + 4.0,
        );
    }
    for (index, count) in buckets.iter().enumerate() {
        let bar_h = plot_h * *count as f64 / most;
        let x = left + slot * index as f64 + 4.0;
        let y = top + plot_h - bar_h;
        let color = if index == BUCKETS - 1 {
            "#1a7f37"
        } else if index >= 5 {
            "#4c9be8"
        } else {
            "#e5534b"
        };
        let _ = writeln!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bar_h:.1}\" fill=\"{color}\">\
             <title>{}: {count} students</title></rect>",
            slot - 8.0,
            bucket_label(index)
        );
        if *count > 0 {
            let _ = writeln!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\" fill=\"#1f2328\">{count}</text>",
                x + (slot - 8.0) / 2.0,
                y - 5.0
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#59636e\">{}</text>",
            x + (slot - 8.0) / 2.0,
            top + plot_h + 16.0,
            bucket_label(index)
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#59636e\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#59636e\">share of the lab's {} points</text>",
        top + plot_h,
        left + plot_w,
        top + plot_h,
        left + plot_w / 2.0,
        height - 6.0,
        points(lab.max_score)
    );
    svg.push_str("</svg>\n");
    svg
}

/// Horizontal bars: the pass rate of every test, lowest first.
fn pass_rate_svg(tests: &[TestSummary]) -> String {
    let row = 22.0;
    let (label_w, bar_w, top) = (470.0, 420.0, 8.0);
    let width = label_w + bar_w + 60.0;
    let height = top * 2.0 + row * tests.len().max(1) as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"pass rate of every test\">"
    );
    if tests.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"10\" y=\"20\" font-size=\"12\">No tests graded yet.</text>"
        );
    }
    for (index, test) in tests.iter().enumerate() {
        let y = top + row * index as f64;
        let rate = test.pass_rate();
        let color = if rate < 0.5 {
            "#e5534b"
        } else if rate < 0.8 {
            "#d4a72c"
        } else {
            "#1a7f37"
        };
        let mut name = test.name.clone();
        if name.chars().count() > 58 {
            name = name.chars().take(57).collect::<String>() + "…";
        }
        let hidden = if test.visibility == Visibility::Hidden {
            " <tspan fill=\"#8250df\">(hidden)</tspan>"
        } else {
            ""
        };
        let tooltip = format!(
            "lab {} {}: {} of {} passed{}",
            test.lab,
            test.name,
            test.passed,
            test.attempted,
            if test.failures.is_empty() {
                String::new()
            } else {
                format!("; {}", failures_text(test))
            }
        );
        let _ = writeln!(
            svg,
            "<g><title>{}</title>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#1f2328\">L{} {}{hidden}</text>\
             <rect x=\"{label_w}\" y=\"{:.1}\" width=\"{bar_w}\" height=\"{:.1}\" fill=\"#eaeef2\"/>\
             <rect x=\"{label_w}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"#1f2328\">{}</text></g>",
            escape(&tooltip),
            label_w - 8.0,
            y + 15.0,
            test.lab,
            escape(&name),
            y + 3.0,
            row - 6.0,
            y + 3.0,
            bar_w * rate,
            row - 6.0,
            label_w + bar_w + 6.0,
            y + 15.0,
            percent(rate)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_marks_land_in_the_last_bucket() {
        let lab = LabSummary {
            lab: 1,
            title: "t".into(),
            max_score: 30.0,
            scores: vec![0.0, 2.9, 3.0, 29.9, 30.0],
            graded: 5,
            not_built: 0,
            missing: 0,
        };
        let buckets = lab.distribution();
        assert_eq!(buckets[0], 2);
        assert_eq!(buckets[1], 1);
        assert_eq!(buckets[9], 2);
        assert_eq!(lab.median(), 3.0);
        assert_eq!(lab.full_marks(), 1);
    }
}
