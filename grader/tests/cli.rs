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
#[ignore = "full corpus: cargo test -- --ignored"]
fn grading_the_solutions_gives_full_marks() {
    // One lab, through the command and its JSON: `selfcheck_passes_on_the_kit` grades every
    // lab's solutions with every test already; grading them all again here took 110 s of the
    // corpus in CI.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let output = grader()
        .args(["grade", "--solutions", "--lab", "3", "--format", "json"])
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
#[ignore = "full corpus: cargo test -- --ignored"]
fn grading_this_checkout_scores_the_stubs_zero() {
    // Not one at a time: every stub panics at its first `todo!()`, so these tests take no time
    // to speak of, and the build overlaps another command's tests as in a class batch. Two labs,
    // to see their scores add up: `selfcheck_passes_on_the_kit` builds and grades every lab's
    // stubs already.
    let output = grader()
        .args(["grade", ".", "--lab", "1", "--lab", "3", "--format", "json"])
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
    assert_eq!(
        report["labs"].as_array().map(Vec::len),
        Some(2),
        "the report has one entry per lab asked for: {report:#}"
    );
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

/// A kit with the manifests only: enough for commands that read rubrics and the state file
/// (list, hint), with a state file of its own.
fn manifests_only_kit() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(kit_root().join("Cargo.toml"), dir.path().join("Cargo.toml")).unwrap();
    for entry in fs::read_dir(kit_root().join("labs")).unwrap().flatten() {
        let lab = entry.path();
        if !lab.join("lab.toml").is_file() {
            continue;
        }
        let copy = dir.path().join("labs").join(entry.file_name());
        fs::create_dir_all(copy.join("hidden")).unwrap();
        fs::copy(lab.join("lab.toml"), copy.join("lab.toml")).unwrap();
        if lab.join("hidden/rubric.toml").is_file() {
            fs::copy(
                lab.join("hidden/rubric.toml"),
                copy.join("hidden/rubric.toml"),
            )
            .unwrap();
        }
    }
    dir
}

fn run_in(kit: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("grader")
        .unwrap()
        .arg("--kit")
        .arg(kit)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn hints_come_one_more_specific_step_at_a_time_for_the_first_failing_test() {
    let kit = manifests_only_kit();
    let (code, out, _) = run_in(kit.path(), &["hint", "1"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("has not been run"),
        "before any run, hint must say to run the lab first:\n{out}"
    );

    // The state `grader lab 1` leaves: two failing tests, in the rubric's order.
    fs::write(
        kit.path().join(".labkit-state.json"),
        r#"{"labs":{"1":{"score":7.0,"max_score":9.0,
           "failing":["set_then_get_returns_the_value","pool_runs_every_job"]}}}"#,
    )
    .unwrap();
    let (code, first, _) = run_in(kit.path(), &["hint", "1"]);
    assert_eq!(code, 0);
    assert!(
        first.contains("set_then_get_returns_the_value") && first.contains("hint 1 of"),
        "without a test, the first failing one gets its first hint:\n{first}"
    );
    let total: usize = first
        .split("hint 1 of ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.trim().parse().ok())
        .expect("the hint says how many there are");
    assert!(
        total >= 2,
        "every public test has more than one hint:\n{first}"
    );
    let (_, second, _) = run_in(kit.path(), &["hint", "1", "set_then_get_returns_the_value"]);
    assert!(
        second.contains("hint 1 of") && second.contains("hint 2 of"),
        "asked again, the next hint is added:\n{second}"
    );
    for _ in 0..total {
        run_in(kit.path(), &["hint", "1", "set_then_get_returns_the_value"]);
    }
    let (_, last, _) = run_in(kit.path(), &["hint", "1", "set_then_get_returns_the_value"]);
    assert!(
        last.contains("the most specific hint")
            && !last.contains(&format!("hint {} of", total + 1)),
        "the hints end with the most specific one:\n{last}"
    );

    let (code, _, err) = run_in(kit.path(), &["hint", "1", "no_such_test"]);
    assert_eq!(code, 2, "an unknown test is a usage error");
    assert!(
        err.contains("ping_gets_pong"),
        "the error lists the lab's public tests:\n{err}"
    );
}

#[test]
fn list_shows_progress_bars_from_the_state_file() {
    let kit = manifests_only_kit();
    fs::write(
        kit.path().join(".labkit-state.json"),
        r#"{"labs":{"1":{"score":9.0,"max_score":9.0,"failing":[]}}}"#,
    )
    .unwrap();
    let (code, out, _) = run_in(kit.path(), &["list"]);
    assert_eq!(code, 0);
    let lab1 = out.lines().find(|l| l.starts_with("1 ")).unwrap();
    assert!(
        lab1.contains("[####################] 100%"),
        "a finished lab shows a full bar:\n{out}"
    );
    let lab2 = out.lines().find(|l| l.starts_with("2 ")).unwrap();
    assert!(lab2.contains("not run yet"), "{out}");
    assert!(out.contains("all labs"), "a total line:\n{out}");
}

#[test]
fn watch_reruns_the_lab_on_a_save_and_shows_only_what_changed() {
    use std::io::{BufRead, BufReader};
    use std::sync::mpsc;
    use std::time::Duration;
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let binary = assert_cmd::cargo::cargo_bin("grader");
    let mut child = std::process::Command::new(binary)
        .args(["lab", "1", "--watch", "--jobs", "2"])
        .current_dir(kit_root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill the watcher whatever happens: it never ends on its own.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let _child = Killed(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let wait_for = |text: &str| -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(180)) {
                Ok(line) => {
                    let found = line.contains(text);
                    seen.push(line);
                    if found {
                        return seen;
                    }
                }
                Err(_) => panic!(
                    "no {text:?} from the watcher; it printed:\n{}",
                    seen.join("\n")
                ),
            }
        }
    };
    let first = wait_for("Watching");
    assert!(
        first.iter().any(|l| l.contains("Lab 1 score:")),
        "the first run prints the whole table:\n{}",
        first.join("\n")
    );
    // Saving a file with the same contents re-runs the tests and changes nothing.
    let pool = kit_root().join("labs/lab1-blocking/src/pool.rs");
    let contents = fs::read(&pool).unwrap();
    fs::write(&pool, &contents).unwrap();
    let second = wait_for("Watching");
    let text = second.join("\n");
    assert!(
        text.contains("re-ran after you saved src/pool.rs"),
        "the re-run names the saved file:\n{text}"
    );
    assert!(
        text.contains("No test changed.") && !text.contains(" -> "),
        "only changes are shown, and nothing changed:\n{text}"
    );
    assert!(
        text.contains("Still failing as before: ping_gets_pong,"),
        "the failing tests are named, not shown in full:\n{text}"
    );
}
