//! The report formats and the class summary, on made-up reports (no grading), and
//! `grader grade --format F` for one submission.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use grader::formats;
use grader::kit::Visibility;
use grader::score::{LabReport, LabStatus, SubmissionReport, TestResult, TestStatus, Violation};
use grader::summary;
use serde_json::Value;

fn test(name: &str, visibility: Visibility, status: TestStatus, output: &str) -> TestResult {
    TestResult {
        name: name.into(),
        visibility,
        status,
        score: if status == TestStatus::Passed {
            2.0
        } else {
            0.0
        },
        max_score: 2.0,
        duration_ms: 15,
        output: output.into(),
        hint: format!("hint for {name}"),
        note: None,
    }
}

fn report(student: &str, statuses: [TestStatus; 3], lab_status: LabStatus) -> SubmissionReport {
    let hostile =
        "thread 'ping' panicked at tests/public.rs:1:1:\n</pre><script>alert(1)</script> ``` | x\n";
    let tests = vec![
        test("ping", Visibility::Public, statuses[0], hostile),
        test("hidden_one", Visibility::Hidden, statuses[1], ""),
        test("hidden_two", Visibility::Hidden, statuses[2], ""),
    ];
    let mut lab = LabReport::new(
        1,
        "Blocking <server>",
        lab_status,
        (lab_status != LabStatus::Graded).then(|| "src/server.rs:3: error[E0308]".to_string()),
        tests,
    );
    if student == "=cmd" {
        lab.violations.push(Violation {
            file: "src/server.rs".into(),
            line: 12,
            rule: "no `std::thread`".into(),
        });
    }
    SubmissionReport {
        submission: student.into(),
        score: lab.score,
        max_score: lab.max_score,
        graded_at: "2026-01-01T00:00:00Z".into(),
        kit_version: "0.1.0".into(),
        toolchain: "rustc 1.95.0".into(),
        isolation: "namespaces".into(),
        labs: vec![lab],
    }
}

fn class() -> Vec<SubmissionReport> {
    use TestStatus::*;
    vec![
        report("alice", [Passed, Passed, Failed], LabStatus::Graded),
        report("bob", [Passed, Failed, TimedOut], LabStatus::Graded),
        report("=cmd", [Passed, Passed, Failed], LabStatus::Graded),
        report("dan", [NotBuilt, NotBuilt, NotBuilt], LabStatus::NotBuilt),
    ]
}

#[test]
fn gradebook_has_a_row_per_student_and_quotes_formulas() {
    let csv = formats::gradebook(&class());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "student,lab1,total");
    assert_eq!(lines[1], "alice,4,4");
    assert_eq!(lines[3], "'=cmd,4,4");
    assert_eq!(lines.len(), 5);
}

#[test]
fn per_test_csv_has_a_row_per_test() {
    let csv = formats::csv(&class()[1]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[2][4], "timed_out");
    assert_eq!(&rows[1][3], "hidden");
}

#[test]
fn junit_has_a_suite_per_student_and_lab_and_escapes_output() {
    let xml = formats::junit(&class());
    assert_eq!(xml.matches("<testsuite ").count(), 4);
    assert_eq!(xml.matches("<testcase ").count(), 12);
    assert!(!xml.contains("<script>"), "{xml}");
    assert!(xml.contains("hint for hidden_two"));
    assert!(xml.contains("type=\"timed_out\""));
}

#[test]
fn gradescope_results_follow_the_specification() {
    let results: Value = serde_json::from_str(&formats::gradescope::results(&class()[1])).unwrap();
    assert_eq!(results["score"], 2.0);
    let tests = results["tests"].as_array().unwrap();
    assert_eq!(tests[0]["status"], "passed");
    assert_eq!(tests[0]["visibility"], "visible");
    assert_eq!(tests[1]["status"], "failed");
    assert_eq!(tests[1]["visibility"], "after_published");
    assert_eq!(tests[2]["max_score"], 2.0);
    assert!(tests[2]["output"]
        .as_str()
        .unwrap()
        .contains("hint for hidden_two"));
}

#[test]
fn markdown_feedback_keeps_student_output_inside_its_fence() {
    let mut report = class()[0].clone();
    report.labs[0].tests[0].status = TestStatus::Failed;
    let md = formats::markdown::feedback(&report);
    assert!(md.contains("### `ping` (public, failed)"), "{md}");
    let fence_line = md
        .lines()
        .find(|l| l.starts_with("````"))
        .expect("a fence longer than the output's backticks");
    assert!(fence_line.starts_with("````text"), "{fence_line}");
    assert!(md.contains("hint for ping"));
}

#[test]
fn html_pages_escape_everything_and_load_nothing() {
    let mut report = class()[0].clone();
    report.labs[0].tests[0].status = TestStatus::Failed;
    let page = formats::html::submission_page(&report);
    let summary = summary::html(&summary::summarise(&class()));
    for html in [&page, &summary] {
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<server>"));
        for external in ["<link", "src=", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
    }
    assert!(page.contains("&lt;/pre&gt;&lt;script&gt;"));
    assert!(summary.contains("<svg"));
}

#[test]
fn the_summary_sorts_tests_by_pass_rate_and_lists_problems() {
    let class = class();
    let stats = summary::summarise(&class);
    assert_eq!(stats.students, 4);
    let order: Vec<(&str, usize, usize)> = stats
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.passed, t.attempted))
        .collect();
    // Over the three students whose lab built: hidden_two 0/3, hidden_one 2/3, ping 3/3.
    assert_eq!(
        order,
        [("hidden_two", 0, 3), ("hidden_one", 2, 3), ("ping", 3, 3)]
    );
    assert_eq!(stats.tests[0].failures["timed_out"], 1);
    assert_eq!(stats.build_failures.len(), 1);
    assert_eq!(stats.build_failures[0].student, "dan");
    assert_eq!(stats.violations.len(), 1);
    let lab = &stats.labs[0];
    assert_eq!((lab.graded, lab.not_built), (3, 1));
    assert_eq!(lab.distribution().iter().sum::<usize>(), 4);
    let md = summary::markdown(&stats);
    let hidden_two = md.find("`hidden_two`").unwrap();
    let ping = md.find("`ping`").unwrap();
    assert!(hidden_two < ping, "lowest pass rate first");
    assert!(md.contains("## Build failures"));
    assert!(
        md.contains("| dan | 1 | src/server.rs:3: error[E0308] |"),
        "{md}"
    );
    assert!(md.contains("no `std::thread`"));
}

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

#[test]
fn grade_writes_every_format_for_one_submission() {
    // A submission without pool.rs: its lab is `missing`, so nothing is built.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("alice/labs/lab1-blocking/src");
    fs::create_dir_all(&src).unwrap();
    fs::copy(
        kit_root().join("solutions/lab1-blocking/src/server.rs"),
        src.join("server.rs"),
    )
    .unwrap();
    let expectations = [
        ("table", "missing:"),
        ("json", "\"status\": \"missing\""),
        ("csv", "submission,lab,test,visibility,status"),
        ("junit", "<testsuite name=\"alice lab 1\""),
        ("gradescope", "\"after_published\""),
        ("markdown", "# Feedback for alice"),
        ("html", "<!DOCTYPE html>"),
    ];
    for (format, expected) in expectations {
        let output = Command::new(env!("CARGO_BIN_EXE_grader"))
            .current_dir(kit_root())
            .arg("grade")
            .arg(dir.path().join("alice"))
            .args(["--lab", "1", "--format", format])
            .output()
            .unwrap();
        assert!(output.status.success(), "{format}");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains(expected), "--format {format}:\n{text}");
    }
}

#[test]
fn an_archive_of_one_submission_is_graded_like_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zoe.zip");
    let mut zip = zip::ZipWriter::new(fs::File::create(&path).unwrap());
    zip.start_file(
        "zoe/labs/lab1-blocking/src/server.rs",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut zip, b"// only one file\n").unwrap();
    zip.finish().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(kit_root())
        .arg("grade")
        .arg(&path)
        .args(["--lab", "1", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["submission"], "zoe");
    let message = report["labs"][0]["message"].as_str().unwrap();
    assert!(message.contains("pool.rs"), "{message}");
}

#[test]
fn flags_reach_the_json_the_feedback_the_page_and_the_class_summary_but_not_the_score() {
    let mut report = class()[0].clone();
    let score = report.labs[0].score;
    report.labs[0].flags.push(Violation {
        file: "src/server.rs".into(),
        line: 7,
        rule: "`std::process::Command::new`: not needed by this lab".into(),
    });
    let json: serde_json::Value = serde_json::from_str(&grader::report::json(&report)).unwrap();
    assert_eq!(json["labs"][0]["flags"][0]["line"], 7, "{json}");
    assert_eq!(
        json["labs"][0]["score"], score,
        "a flag never changes the score"
    );
    let md = formats::markdown::feedback(&report);
    assert!(
        md.contains("**Flagged for your instructor to read**")
            && md.contains("- `src/server.rs:7`: `std::process::Command::new`"),
        "{md}"
    );
    let page = formats::html::submission_page(&report);
    assert!(
        page.contains("Flagged for reading: src/server.rs:7"),
        "{page}"
    );
    let stats = summary::summarise(&[report.clone()]);
    assert_eq!(stats.flags.len(), 1);
    let class_md = summary::markdown(&stats);
    let section = class_md
        .split("## Flagged for reading (no score change)")
        .nth(1)
        .expect("the class summary has a flags section");
    assert!(section.contains("`src/server.rs:7`"), "{class_md}");
    assert!(summary::html(&stats).contains("<h2>Flagged for reading (no score change)</h2>"));
    // A lab without flags keeps the JSON schema of the specification: no `flags` key at all.
    let plain: serde_json::Value =
        serde_json::from_str(&grader::report::json(&class()[0])).unwrap();
    assert!(plain["labs"][0].get("flags").is_none());
}

#[test]
fn answers_reach_the_json_the_feedback_and_the_page_but_not_the_score() {
    // Two students with the same code (pool.rs missing, so nothing is built); one hands in
    // written answers, which try to break out of a Markdown fence and into the HTML.
    let dir = tempfile::tempdir().unwrap();
    let class = dir.path().join("class");
    let answers = "## 1. Which variant is the largest?\n\nThe third: ```` ``` </pre><script>alert(1)</script> | x\n";
    for student in ["ann", "ben"] {
        let lab = class.join(student).join("labs/lab1-blocking");
        fs::create_dir_all(lab.join("src")).unwrap();
        fs::copy(
            kit_root().join("solutions/lab1-blocking/src/server.rs"),
            lab.join("src/server.rs"),
        )
        .unwrap();
        if student == "ann" {
            fs::write(lab.join("ANSWERS.md"), answers).unwrap();
        }
    }
    let reports = dir.path().join("reports");
    let output = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(kit_root())
        .arg("grade")
        .arg(&class)
        .arg("--out")
        .arg(&reports)
        .args(["--lab", "1"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read = |student: &str| -> (Value, SubmissionReport) {
        let text = fs::read_to_string(reports.join(student).join("report.json")).unwrap();
        (
            serde_json::from_str(&text).unwrap(),
            serde_json::from_str(&text).unwrap(),
        )
    };
    let (ann_json, mut ann) = read("ann");
    let (ben_json, ben) = read("ben");
    // The JSON: a field of its own, apart from the score.
    let handed = &ann_json["labs"][0]["answers"];
    assert_eq!(handed["file"], "ANSWERS.md", "{ann_json}");
    assert_eq!(handed["handed_in"], true);
    assert_eq!(handed["text"], answers);
    assert_eq!(handed["graded"], "by hand");
    assert_eq!(ben_json["labs"][0]["answers"]["handed_in"], false);
    assert!(ben_json["labs"][0]["answers"].get("text").is_none());
    assert_eq!(ann.score, ben.score, "answers never change the score");
    assert_eq!(ann.max_score, ben.max_score);
    // feedback.md: the answers inside a fence they cannot close.
    let feedback = fs::read_to_string(reports.join("ann/feedback.md")).unwrap();
    assert!(
        feedback.contains("**Written answers**: ANSWERS.md: handed in"),
        "{feedback}"
    );
    let fence = "`".repeat(5);
    assert!(
        feedback.contains(&format!("{fence}text\n{}\n{fence}", answers.trim_end())),
        "{feedback}"
    );
    let feedback = fs::read_to_string(reports.join("ben/feedback.md")).unwrap();
    assert!(feedback.contains("no answers handed in"), "{feedback}");
    // The page: escaped.
    let page = formats::html::submission_page(&ann);
    assert!(
        page.contains("Written answers: ANSWERS.md: handed in"),
        "{page}"
    );
    assert!(page.contains("&lt;/pre&gt;&lt;script&gt;") && !page.contains("<script>"));
    // Points for the answers, when the rubric gives some, are reported apart.
    ann.labs[0].answers.as_mut().unwrap().max_points = Some(3.0);
    let md = formats::markdown::feedback(&ann);
    assert!(
        md.contains("worth 3 point(s), graded by hand and not included in the score above"),
        "{md}"
    );
    let score_line = |md: &str| {
        md.lines()
            .find(|l| l.starts_with("**Score:"))
            .map(str::to_string)
    };
    assert_eq!(
        score_line(&md),
        score_line(&formats::markdown::feedback(&ben))
    );
}
