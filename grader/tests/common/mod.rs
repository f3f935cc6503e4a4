//! The fixture harness shared by the `fixtures_*` test files.
//!
//! A fixture is a submission made of a lab's reference solution with the files of
//! `grader/tests/fixtures/lab<N>/<name>/labs/...` laid over it, and a `fixture.toml` that says
//! which tests it must lose, with which status. Every other test must pass.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};

use grader::grade::{Grader, Options, TestSlots};
use grader::kit::Kit;
use grader::score::{LabReport, TestStatus};
use grader::submission::Submission;
use pretty_assertions::assert_eq;
use serde::Deserialize;

/// Fixtures grade as a class batch does: two at a time, so that one builds while the other's
/// tests run, and at most two test processes at once across both (`TEST_SLOTS`). The hidden
/// tests must hold on a machine that busy; a fixture that flakes here would flake in a batch.
const GRADINGS_AT_ONCE: usize = 2;

/// How many fixtures are being graded; `exclusively` takes every place.
static GRADINGS: Mutex<usize> = Mutex::new(0);
static GRADING_ENDED: Condvar = Condvar::new();

/// The test processes of every fixture graded at the same time.
fn test_slots() -> Arc<TestSlots> {
    static TEST_SLOTS: OnceLock<Arc<TestSlots>> = OnceLock::new();
    Arc::clone(TEST_SLOTS.get_or_init(|| TestSlots::new(2)))
}

/// A place among the fixtures being graded, given back when dropped.
struct Place(usize);

impl Place {
    fn take(places: usize) -> Place {
        let mut taken = GRADINGS.lock().unwrap_or_else(PoisonError::into_inner);
        while *taken + places > GRADINGS_AT_ONCE {
            taken = GRADING_ENDED
                .wait(taken)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *taken += places;
        Place(places)
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        *GRADINGS.lock().unwrap_or_else(PoisonError::into_inner) -= self.0;
        GRADING_ENDED.notify_all();
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    leftover_marker: Option<String>,
    /// Status name → tests that must end with it; every other test must pass.
    #[serde(default)]
    expect: BTreeMap<String, Vec<String>>,
    /// A status every test must end with (a lab that does not build, a broken rule).
    expect_all: Option<String>,
    /// The lab's status, when not `graded`.
    lab_status: Option<String>,
    /// Text the lab's message must contain (the compiler's first error, an ignored file).
    message_contains: Option<String>,
    /// No test's captured output may be longer than this.
    max_output_bytes: Option<usize>,
    /// Texts that must each appear in a flag of the report (`std::process`...); without it,
    /// the report must have no flag.
    #[serde(default)]
    flagged: Vec<String>,
    /// Paths under the grader's work folder that must not exist after grading (files a
    /// hostile test tried to write).
    #[serde(default)]
    forbidden_files: Vec<String>,
    /// Test → text its grader note must contain.
    #[serde(default)]
    note_contains: BTreeMap<String, String>,
    /// Set the editable files' modification time to this many seconds after the epoch.
    mtime_epoch_seconds: Option<u64>,
    /// The mistake, as edits of the current reference solution: each `find` must occur exactly
    /// once in its file, so a patch that no longer applies fails loudly instead of drifting.
    #[serde(default)]
    patch: Vec<Patch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    /// Relative to the lab folder (`src/server.rs`).
    file: String,
    find: String,
    replace: String,
}

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Grades the fixture `grader/tests/fixtures/lab<N>/<name>`: the lab's solution files with
/// the fixture's files laid over them.
fn grade_fixture(lab_number: u32, name: &str) -> (Fixture, LabReport) {
    let _place = Place::take(1);
    grade_fixture_now(lab_number, name)
}

/// Holds the harness to itself while `work` grades fixtures in its own way (concurrently).
#[allow(dead_code)]
pub fn exclusively<T>(work: impl FnOnce() -> T) -> T {
    let _every_place = Place::take(GRADINGS_AT_ONCE);
    work()
}

/// Grades a fixture without waiting for the harness; the names of the tests it did not pass.
#[allow(dead_code)]
pub fn failing_tests_of(lab_number: u32, name: &str) -> Vec<String> {
    let (_, report) = grade_fixture_now(lab_number, name);
    report
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Passed)
        .map(|t| t.name.clone())
        .collect()
}

fn grade_fixture_now(lab_number: u32, name: &str) -> (Fixture, LabReport) {
    let kit = Kit::load(&kit_root()).expect("the kit loads");
    let lab = kit.lab(lab_number).unwrap().clone();
    let fixture_dir = kit
        .root
        .join(format!("grader/tests/fixtures/lab{lab_number}/{name}"));
    let fixture: Fixture =
        toml::from_str(&fs::read_to_string(fixture_dir.join("fixture.toml")).unwrap())
            .unwrap_or_else(|e| panic!("{name}/fixture.toml is invalid: {e}"));

    let submission_dir = tempfile::tempdir().unwrap();
    let lab_dir = submission_dir.path().join("labs").join(&lab.dir_name);
    for file in &lab.editable {
        let target = lab_dir.join(file);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(kit.solution_dir(&lab).join(file), &target).unwrap();
    }
    for patch in &fixture.patch {
        let path = lab_dir.join(&patch.file);
        let source = fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "fixture {name} patches {}, which is not a solution file: {e}",
                patch.file
            )
        });
        assert_eq!(
            source.matches(patch.find.as_str()).count(),
            1,
            "fixture {name}: a patch of {} must match the reference solution exactly once; update \
             the fixture after changing the solution",
            patch.file
        );
        fs::write(&path, source.replacen(&patch.find, &patch.replace, 1)).unwrap();
    }
    // Files the mutant rewrites whole, or adds (a tampered build.rs, manifests, tests).
    if fixture_dir.join("labs").is_dir() {
        copy_tree(
            &fixture_dir.join("labs"),
            &submission_dir.path().join("labs"),
        );
    }
    // Files beside labs/ in a student tree (a tampered Cargo.toml, .cargo/config.toml...).
    if fixture_dir.join("root").is_dir() {
        copy_tree(&fixture_dir.join("root"), submission_dir.path());
    }
    if let Some(seconds) = fixture.mtime_epoch_seconds {
        let past = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
        for file in &lab.editable {
            let edited = fs::File::options()
                .write(true)
                .open(lab_dir.join(file))
                .unwrap();
            edited.set_modified(past).unwrap();
            assert_eq!(
                fs::metadata(lab_dir.join(file))
                    .unwrap()
                    .modified()
                    .unwrap(),
                past
            );
        }
    }

    let grader = Grader::new(kit);
    let submission = Submission::tree(submission_dir.path()).unwrap();
    let options = Options {
        with_hidden: true,
        jobs: 2,
        test_slots: Some(test_slots()),
    };
    // `KIT_FIXTURE_TIMES=1 cargo test -p grader --test fixtures_lab1 -- --ignored --nocapture`
    // shows where each fixture's time goes: its build, its tests, and waits for the other's.
    let timed = std::env::var_os("KIT_FIXTURE_TIMES").is_some();
    let started = std::time::Instant::now();
    let report = grader
        .grade(&submission, &[&lab], &options, &|message| {
            if timed {
                let elapsed = started.elapsed().as_secs_f64();
                eprintln!("  [{name} {elapsed:.1} s] {message}");
            }
        })
        .expect("grading runs");
    if timed {
        let tests = &report.labs[0].tests;
        let summed: u64 = tests.iter().map(|t| t.duration_ms).sum();
        let longest = tests.iter().map(|t| t.duration_ms).max().unwrap_or(0);
        eprintln!(
            "fixture lab{lab_number}/{name}: {:.1} s in all, its tests {:.1} s summed (longest {:.1} s)",
            started.elapsed().as_secs_f64(),
            summed as f64 / 1000.0,
            longest as f64 / 1000.0
        );
    }
    (fixture, report.labs.into_iter().next().unwrap())
}

pub fn assert_fixture(lab_number: u32, name: &str) -> LabReport {
    let (fixture, report) = grade_fixture(lab_number, name);
    let lab_status = serde_json::to_value(report.status).unwrap();
    assert_eq!(
        lab_status.as_str().unwrap(),
        fixture.lab_status.as_deref().unwrap_or("graded"),
        "fixture {name}: the lab's status ({})",
        report.message.clone().unwrap_or_default()
    );
    if let Some(text) = &fixture.message_contains {
        let message = report.message.clone().unwrap_or_default();
        assert!(
            message.contains(text.as_str()),
            "fixture {name}: the lab's message must contain {text:?}: {message}"
        );
    }
    if let Some(cap) = fixture.max_output_bytes {
        for test in &report.tests {
            assert!(
                test.output.len() <= cap,
                "fixture {name}: {} kept {} bytes of output",
                test.name,
                test.output.len()
            );
        }
    }
    let flags: Vec<String> = report
        .flags
        .iter()
        .map(|f| format!("{}:{}: {}", f.file, f.line, f.rule))
        .collect();
    if fixture.flagged.is_empty() {
        assert!(
            flags.is_empty(),
            "fixture {name}: nothing may be flagged, but the report flags {flags:?}"
        );
    }
    for text in &fixture.flagged {
        assert!(
            flags.iter().any(|f| f.contains(text.as_str())),
            "fixture {name}: a flag must mention {text:?}; the report flags {flags:?}"
        );
    }
    for (test, text) in &fixture.note_contains {
        let note = report
            .tests
            .iter()
            .find(|t| &t.name == test)
            .and_then(|t| t.note.clone())
            .unwrap_or_default();
        assert!(
            note.contains(text.as_str()),
            "fixture {name}: the note of {test} must contain {text:?}: {note:?}"
        );
    }
    let default_status = fixture
        .expect_all
        .clone()
        .unwrap_or_else(|| "passed".to_string());
    let mut expected: BTreeMap<String, String> = report
        .tests
        .iter()
        .map(|t| (t.name.clone(), default_status.clone()))
        .collect();
    for (status, tests) in &fixture.expect {
        for test in tests {
            assert!(
                expected.contains_key(test),
                "fixture {name} expects {test}, which is not in the rubric"
            );
            expected.insert(test.clone(), status.clone());
        }
    }
    let actual: BTreeMap<String, String> = report
        .tests
        .iter()
        .map(|t| (t.name.clone(), t.status.label().to_string()))
        .collect();
    if actual != expected {
        for test in report
            .tests
            .iter()
            .filter(|t| expected[&t.name] != t.status.label())
        {
            eprintln!(
                "--- {} ({}; note: {:?})\n{}",
                test.name,
                test.status.label(),
                test.note,
                test.output
            );
        }
    }
    assert_eq!(actual, expected, "fixture {name}: every test's status");

    let earned: f64 = report
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .map(|t| t.max_score)
        .sum();
    assert_eq!(
        report.score, earned,
        "fixture {name}: the score is the points of the passing tests"
    );

    let work = grader::stage::work_dir(&Kit::load(&kit_root()).unwrap());
    let written: Vec<String> = fixture
        .forbidden_files
        .iter()
        .map(|file| work.join(file))
        .filter(|path| {
            let exists = path.exists();
            let _ = fs::remove_file(path);
            exists
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(written.is_empty(), "fixture {name} wrote {written:?}");
    if let Some(marker) = &fixture.leftover_marker {
        let survivors = processes_mentioning(marker);
        assert!(
            survivors.is_empty(),
            "fixture {name} left processes behind: {survivors:?}"
        );
    }
    report
}

/// Command lines of running processes that contain `marker`.
pub fn processes_mentioning(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(raw) = fs::read(entry.path().join("cmdline")) {
            let command = String::from_utf8_lossy(&raw).replace('\0', " ");
            if command.contains(marker) {
                found.push(format!(
                    "{}: {command}",
                    entry.file_name().to_string_lossy()
                ));
            }
        }
    }
    found
}

/// A fixture that breaks a lab-wide source rule: every test is zeroed, and the report names
/// exactly `lines` of `file`, each violation quoting `rule`.
#[allow(dead_code)]
pub fn assert_rule_zeroes_every_test(report: &LabReport, file: &str, lines: &[usize], rule: &str) {
    assert!(
        report
            .tests
            .iter()
            .all(|t| t.status == TestStatus::RuleViolation && t.score == 0.0),
        "every test of the lab is zeroed by the rule violation"
    );
    let mut found: Vec<(String, usize)> = report
        .violations
        .iter()
        .map(|v| (v.file.clone(), v.line))
        .collect();
    found.sort();
    found.dedup();
    let expected: Vec<(String, usize)> = lines.iter().map(|&l| (file.to_string(), l)).collect();
    assert_eq!(
        found, expected,
        "the report must name the file and line of every violation: {:?}",
        report.violations
    );
    assert!(
        report.violations.iter().all(|v| v.rule.contains(rule)),
        "each violation must say which rule it breaks: {:?}",
        report.violations
    );
}

/// The first violation of a fixture names `file`, quotes `rule`, and points at a line of the
/// fixture's own copy of that file (`fixture_file`, under the fixture folder) that contains
/// `code`.
#[allow(dead_code)]
pub fn assert_violation_points_at(
    report: &LabReport,
    fixture_file: &str,
    file: &str,
    rule: &str,
    code: &str,
) {
    let violation = report.violations.first().expect("a violation is reported");
    assert_eq!(violation.file, file);
    assert!(violation.rule.contains(rule), "{violation:?}");
    let line = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture_file),
    )
    .unwrap()
    .lines()
    .nth(violation.line - 1)
    .unwrap()
    .to_string();
    assert!(line.contains(code), "line {} is {line:?}", violation.line);
}
