//! `grader mutants` keeps working: lab 3's smallest file, through the grader's program.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The number after `label` in `text` (`3 caught` → 3 for label "caught").
fn count(text: &str, label: &str) -> usize {
    let at = text
        .find(&format!(" {label}"))
        .unwrap_or_else(|| panic!("no {label:?} in {text}"));
    text[..at]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count before {label:?} in {text}"))
}

#[test]
fn mutants_of_countdown_are_planted_graded_and_reported() {
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("mutants.md");
    let output = Command::cargo_bin("grader")
        .unwrap()
        .current_dir(kit_root())
        .args([
            "mutants",
            "--lab",
            "3",
            "--solutions",
            "--file",
            "src/countdown.rs",
            "--no-cargo-mutants",
            "--out",
        ])
        .arg(&report)
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    // The summary line: lab 3: N mutants of ... : a caught, b timed out, c missed, ...
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("lab 3: "))
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    let mutants = count(summary, "mutants");
    let parts: usize = ["caught", "timed out", "missed", "unviable", "equivalent"]
        .iter()
        .map(|label| count(summary, label))
        .sum();
    assert!(mutants >= 2, "{summary}");
    assert_eq!(mutants, parts, "the counts add up: {summary}");

    // A busy-wake and a lost-wake mutant were made. Countdown wakes on every Pending by
    // design, so its busy-wake mutant is declared equivalent in lab.toml; deleting that
    // wake-up must be caught.
    let line_of = |operator: &str| {
        stderr
            .lines()
            .find(|l| l.contains("src/countdown.rs:") && l.contains(&format!(" {operator} ")))
            .unwrap_or_else(|| panic!("no {operator} mutant:\n{stderr}"))
            .to_string()
    };
    let busy = line_of("busy-wake");
    assert!(
        busy.contains("caught by") || busy.contains("equivalent"),
        "{busy}"
    );
    assert!(line_of("lost-wake").contains("caught by"), "{stderr}");

    let markdown = std::fs::read_to_string(&report).unwrap();
    assert!(markdown.contains("# Test strength"), "{markdown}");
    assert!(markdown.contains("| `src/countdown.rs` |"), "{markdown}");
    assert!(markdown.contains("<!-- mutants:lab 3 end -->"));
    assert!(
        markdown.contains("not yet measured"),
        "the other labs are listed"
    );
}
