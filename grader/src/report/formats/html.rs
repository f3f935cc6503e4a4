//! HTML: one self-contained page (inline CSS, no script, nothing fetched) for one submission,
//! and the helpers the class summary shares. Every student-written string is escaped.

use std::fmt::Write as _;

use crate::report::formats::{failure_details, lab_status_label};
use crate::report::model::{LabStatus, SubmissionReport, TestStatus};
use crate::report::text::points;

/// The most output kept per failed test.
const OUTPUT_CAP: usize = 3000;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The CSS class of a test status.
pub fn status_class(status: TestStatus) -> &'static str {
    match status {
        TestStatus::Passed => "ok",
        TestStatus::TimedOut => "warn",
        TestStatus::NotBuilt | TestStatus::NotRun => "off",
        TestStatus::Failed | TestStatus::Crashed | TestStatus::RuleViolation => "bad",
    }
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;\
padding:0 1rem;color:#1f2328;background:#fff;line-height:1.4}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de;\
padding-bottom:.2rem}h3{font-size:1.05rem}\
.meta{color:#59636e;font-size:.9rem}\
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}\
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}\
.warn{color:#9a6700;font-weight:600}.off{color:#6e7781}\
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.6rem;overflow-x:auto;font-size:.8rem;\
white-space:pre-wrap;word-break:break-word}\
.cards{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}\
.card{border:1px solid #d0d7de;border-radius:6px;padding:.6rem 1rem;min-width:9rem}\
.card b{display:block;font-size:1.4rem}\
svg text{font-family:system-ui,sans-serif}\
details{margin:.3rem 0}summary{cursor:pointer}";

/// A complete page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// One submission's report as a page.
pub fn submission_page(report: &SubmissionReport) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<h1>{}: {} / {}</h1>\n<p class=\"meta\">Graded {} by kit {} with {} (isolation: {}).</p>",
        escape(&report.submission),
        points(report.score),
        points(report.max_score),
        escape(&report.graded_at),
        escape(&report.kit_version),
        escape(&report.toolchain),
        escape(&report.isolation)
    );
    for lab in &report.labs {
        let _ = writeln!(
            body,
            "<h2>Lab {}: {} ({} / {}, {})</h2>",
            lab.lab,
            escape(&lab.title),
            points(lab.score),
            points(lab.max_score),
            lab_status_label(lab.status)
        );
        if lab.status != LabStatus::Graded {
            let _ = writeln!(
                body,
                "<pre>{}</pre>",
                escape(lab.message.as_deref().unwrap_or(""))
            );
        }
        let findings = lab
            .violations
            .iter()
            .map(|v| (" class=\"bad\"", "Rule broken", v))
            .chain(lab.flags.iter().map(|v| ("", "Flagged for reading", v)));
        for (class, what, v) in findings {
            let _ = writeln!(
                body,
                "<p{class}>{what}: {}:{}: {}</p>",
                escape(&v.file),
                v.line,
                escape(&v.rule)
            );
        }
        if let Some(answers) = &lab.answers {
            let _ = writeln!(
                body,
                "<p class=\"answers\">Written answers: {}.</p>",
                escape(&answers.summary())
            );
            if let Some(text) = &answers.text {
                let _ = writeln!(
                    body,
                    "<details open><summary>{}</summary><pre>{}</pre></details>",
                    escape(&answers.file),
                    escape(text)
                );
            }
        }
        let _ = writeln!(
            body,
            "<table><tr><th>test</th><th>visibility</th><th>status</th><th>points</th><th>time</th></tr>"
        );
        for test in &lab.tests {
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td class=\"num\">{} / {}</td><td class=\"num\">{} ms</td></tr>",
                escape(&test.name),
                test.visibility.target(),
                status_class(test.status),
                test.status.label(),
                points(test.score),
                points(test.max_score),
                test.duration_ms
            );
        }
        let _ = writeln!(body, "</table>");
        if lab.status == LabStatus::Graded {
            for test in lab
                .tests
                .iter()
                .filter(|t| t.status != TestStatus::Passed && t.status != TestStatus::RuleViolation)
            {
                let _ = writeln!(
                    body,
                    "<details><summary><code>{}</code> ({})</summary><pre>{}</pre></details>",
                    escape(&test.name),
                    test.status.label(),
                    escape(&failure_details(test, OUTPUT_CAP))
                );
            }
        }
    }
    page(&format!("Report: {}", report.submission), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"
        );
    }
}
