//! The grader's command line, as students and instructors use it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use assert_cmd::Command;
use pretty_assertions::assert_eq;
use serde_json::Value;

/// Commands that grade run one at a time: their tests are timing-sensitive.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn grader() -> Command {
    let mut command = Command::cargo_bin("grader").unwrap();
    command.current_dir(kit_root());
    command
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

#[test]
fn list_shows_every_lab_with_its_points() {
    let output = grader()
        .arg("list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(
        text.contains("Blocking server"),
        "lab 1's title must be listed:\n{text}"
    );
    assert!(
        text.contains("lab N"),
        "list must say how to run a lab:\n{text}"
    );
}

#[test]
fn lab_1_on_the_stubs_fails_every_public_test_with_hints_and_exits_0() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let output = grader()
        .args(["lab", "1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    let manifest: toml::Value = toml::from_str(
        &fs::read_to_string(kit_root().join("labs/lab1-blocking/lab.toml")).unwrap(),
    )
    .unwrap();
    for test in manifest["tests"].as_array().unwrap() {
        let name = test["name"].as_str().unwrap();
        let row = text
            .lines()
            .find(|line| line.contains(name) && line.contains('|'));
        assert!(
            row.is_some_and(|r| r.contains("failed")),
            "{name} must be listed as failed:\n{text}"
        );
        assert!(
            text.contains(test["hint"].as_str().unwrap()),
            "the hint of {name} must be shown"
        );
    }
    assert!(
        text.contains("Lab 1 score: 0 / 9"),
        "the public score must be shown:\n{text}"
    );
    assert!(
        text.contains("not yet implemented"),
        "the stub's todo!() must be shown as the cause:\n{text}"
    );
    assert!(
        !text.contains("\x1b["),
        "output to a pipe must be plain text"
    );
}

#[test]
fn grading_the_solutions_gives_full_marks() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let output = grader()
        .args(["grade", "--solutions", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json_of(&output);
    assert_eq!(report["submission"], "solutions");
    assert_eq!(
        report["score"], report["max_score"],
        "solutions must score full marks: {report:#}"
    );
    let lab = &report["labs"][0];
    assert_eq!(lab["status"], "graded");
    assert!(lab["tests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["visibility"] == "hidden"));
    for field in ["graded_at", "kit_version", "toolchain", "isolation"] {
        assert!(
            report[field].as_str().is_some_and(|v| !v.is_empty()),
            "the report needs {field}"
        );
    }
}

#[test]
fn grading_this_checkout_scores_the_stubs_zero() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let output = grader()
        .args(["grade", ".", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report = json_of(&output);
    assert_eq!(
        report["score"], 0.0,
        "the stubs must score nothing: {report:#}"
    );
    assert!(report["max_score"].as_f64().unwrap() > 0.0);
}

#[test]
fn selfcheck_passes_on_the_kit() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let output = grader()
        .arg("selfcheck")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).unwrap();
    assert!(!text.contains("FAIL"), "{text}");
    assert!(text.contains("solutions pass all"), "{text}");
    assert!(text.contains("stubs build and score zero"), "{text}");
}

#[test]
fn an_unknown_lab_is_a_usage_error_that_lists_the_labs() {
    let assert = grader().args(["lab", "99"]).assert().code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("no lab 99") && stderr.contains("labs: 1"),
        "{stderr}"
    );
}

#[test]
fn a_folder_without_lab_files_is_a_usage_error_that_names_what_it_expects() {
    let empty = tempfile::tempdir().unwrap();
    let assert = grader().arg("grade").arg(empty.path()).assert().code(2);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("labs/lab1-blocking/"), "{stderr}");
}

#[test]
fn a_submission_missing_an_editable_file_reports_the_lab_missing_and_names_the_file() {
    let submission = tempfile::tempdir().unwrap();
    let src = submission.path().join("labs/lab1-blocking/src");
    fs::create_dir_all(&src).unwrap();
    fs::copy(
        kit_root().join("solutions/lab1-blocking/src/server.rs"),
        src.join("server.rs"),
    )
    .unwrap();
    let output = grader()
        .arg("grade")
        .arg(submission.path())
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lab = &json_of(&output)["labs"][0];
    assert_eq!(lab["status"], "missing");
    assert!(
        lab["message"].as_str().unwrap().contains("pool.rs"),
        "{lab:#}"
    );
    assert!(lab["tests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "not_run"));
}

#[test]
fn a_submission_that_does_not_compile_is_not_built_with_the_first_error() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let submission = tempfile::tempdir().unwrap();
    let src = submission.path().join("labs/lab1-blocking/src");
    fs::create_dir_all(&src).unwrap();
    fs::copy(
        kit_root().join("solutions/lab1-blocking/src/pool.rs"),
        src.join("pool.rs"),
    )
    .unwrap();
    let broken = fs::read_to_string(kit_root().join("solutions/lab1-blocking/src/server.rs"))
        .unwrap()
        + "\nfn broken() -> u32 { \"not a number\" }\n";
    fs::write(src.join("server.rs"), broken).unwrap();
    let output = grader()
        .arg("grade")
        .arg(submission.path())
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lab = &json_of(&output)["labs"][0];
    assert_eq!(lab["status"], "not_built");
    let message = lab["message"].as_str().unwrap();
    assert!(
        message.contains("src/server.rs") && message.contains("mismatched types"),
        "{message}"
    );
    assert!(lab["tests"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "not_built"));
}
