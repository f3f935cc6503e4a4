//! Grading the mutants: the unmutated subject first (the baseline: which tests pass and how
//! long each takes), then each mutant built once in the grader's one build tree and run
//! against the lab's public and hidden tests until the first test that fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::kit::submission::{Source, Submission};
use crate::kit::RubricEntry;
use crate::report::model::TestStatus;
use crate::run::build::TestBinaries;
use crate::run::grade::{selected_tests, Built, Grader};
use crate::run::sandbox;
use crate::run::score::judge;
use crate::run::stage::Slot;

use super::operators::Mutant;
use super::plan::Plan;

/// What became of one mutant.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A test failed or crashed (or a source rule of the lab was broken).
    Caught { test: String },
    /// No test failed, but one ran out of time.
    TimedOut { test: String },
    /// Every test passed.
    Missed,
    /// The mutant does not compile.
    Unviable { error: String },
    /// Declared in `lab.toml` as unable to change behaviour: not run.
    Equivalent { reason: String },
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Caught { .. } => "caught",
            Verdict::TimedOut { .. } => "timed out",
            Verdict::Missed => "missed",
            Verdict::Unviable { .. } => "unviable",
            Verdict::Equivalent { .. } => "equivalent",
        }
    }
}

/// One mutant and its verdict.
#[derive(Debug, Clone)]
pub struct Tried {
    pub mutant: Mutant,
    pub verdict: Verdict,
    /// The unified diff of the mutant.
    pub diff: String,
    pub duration: Duration,
}

/// The mutants of one lab, tried.
#[derive(Debug, Clone)]
pub struct LabRun {
    pub lab: u32,
    pub title: String,
    pub subject: String,
    pub files: Vec<String>,
    pub tried: Vec<Tried>,
    /// Tests that failed on the unmutated subject: left out of every mutant's run.
    pub failing_at_baseline: Vec<String>,
    /// How many tests each mutant could be graded with.
    pub tests: usize,
    pub unknown_equivalents: Vec<String>,
    /// Why a mutant is left missed on purpose, by id (`[[missed_mutants]]` of `lab.toml`).
    pub missed_reasons: BTreeMap<String, String>,
    pub wall: Duration,
    /// What cargo-mutants found on the same files, or why it did not run.
    pub cargo_mutants: Option<String>,
}

/// Events for the progress display.
pub enum Event<'a> {
    Baseline,
    Mutant {
        index: usize,
        total: usize,
        tried: &'a Tried,
    },
}

/// A test the mutants are graded with: its entry, executable, limit and baseline time.
struct Check {
    entry: RubricEntry,
    baseline: Duration,
    limit: Duration,
    kills: usize,
}

/// Runs the baseline and every mutant of `plan`; `jobs` tests at a time.
pub fn run(
    grader: &Grader,
    plan: &Plan,
    subject: &str,
    jobs: usize,
    progress: &mut dyn FnMut(Event),
) -> Result<LabRun> {
    let started = Instant::now();
    let lab = &plan.lab;
    let slot = Slot::acquire(&grader.kit)?;
    // The mutants are submissions in the bare layout: <scratch>/<lab folder>/<files>.
    let scratch = tempfile::tempdir().context("creating a scratch folder for mutants")?;
    let lab_dir = scratch.path().join(&lab.dir_name);
    for file in &plan.files {
        write(&lab_dir.join(&file.path), &file.contents)?;
    }
    let submission = Submission {
        id: "mutant".into(),
        source: Source::Tree(scratch.path().canonicalize()?),
    };

    progress(Event::Baseline);
    let entries = selected_tests(lab, true);
    let built = match grader.build_lab(&submission, lab, true, &slot, &|_| {})? {
        Built::Ready(built) => built,
        Built::Failed(report) => bail!(
            "lab {}: the unmutated {subject} does not build: {}",
            lab.number,
            report.message.unwrap_or_default()
        ),
    };
    let results = grader.run_tests(&built, &entries, jobs);
    let mut failing_at_baseline = Vec::new();
    let mut checks = Vec::new();
    for (entry, result) in entries.iter().zip(&results) {
        if result.status != TestStatus::Passed {
            failing_at_baseline.push(entry.name.clone());
            continue;
        }
        let baseline = Duration::from_millis(result.duration_ms);
        // A mutant that makes a test far slower than it was has most likely hung it: stop
        // waiting long before the rubric's limit (made for students, not for mutants).
        let limit =
            (baseline * 3 + Duration::from_secs(3)).min(Duration::from_secs(entry.timeout_s));
        checks.push(Check {
            entry: (*entry).clone(),
            baseline,
            limit,
            kills: 0,
        });
    }
    drop(built);

    let total = plan.mutants.len();
    let mut tried = Vec::new();
    for (index, mutant) in plan.mutants.iter().enumerate() {
        let begun = Instant::now();
        let original = plan.original(&mutant.file);
        let mutated = mutant.apply(original);
        let diff = super::operators::diff(&mutant.file, original, &mutated);
        let verdict = match plan.equivalents.get(&mutant.id) {
            Some(reason) => Verdict::Equivalent {
                reason: reason.clone(),
            },
            None => {
                write(&lab_dir.join(&mutant.file), mutated.as_bytes())?;
                let verdict = grade_mutant(grader, &submission, plan, &slot, &mut checks, jobs);
                write(&lab_dir.join(&mutant.file), original.as_bytes())?;
                verdict?
            }
        };
        let one = Tried {
            mutant: mutant.clone(),
            verdict,
            diff,
            duration: begun.elapsed(),
        };
        progress(Event::Mutant {
            index: index + 1,
            total,
            tried: &one,
        });
        tried.push(one);
    }
    Ok(LabRun {
        lab: lab.number,
        title: lab.title.clone(),
        subject: subject.to_string(),
        files: plan.mutated_files.clone(),
        tried,
        failing_at_baseline,
        tests: checks.len(),
        unknown_equivalents: plan.unknown_equivalents.clone(),
        missed_reasons: lab
            .missed_mutants
            .iter()
            .map(|note| (note.id.clone(), note.reason.clone()))
            .collect(),
        wall: started.elapsed(),
        cargo_mutants: None,
    })
}

fn write(path: &Path, contents: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // A fresh file, so its modification time is now.
    let _ = std::fs::remove_file(path);
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// Builds one mutant and runs the tests, those that caught most mutants first and then the
/// quickest, until one fails.
fn grade_mutant(
    grader: &Grader,
    submission: &Submission,
    plan: &Plan,
    slot: &Slot,
    checks: &mut [Check],
    jobs: usize,
) -> Result<Verdict> {
    let built = match grader.build_lab(submission, &plan.lab, true, slot, &|_| {})? {
        Built::Ready(built) => built,
        Built::Failed(report) => {
            let error = report.message.unwrap_or_default();
            return Ok(Verdict::Unviable { error });
        }
    };
    if let Some((violation, _)) = built.broken.first() {
        return Ok(Verdict::Caught {
            test: format!("the source rule \"{}\"", violation.rule),
        });
    }
    let mut order: Vec<usize> = (0..checks.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(checks[i].kills), checks[i].baseline));
    let failures = run_until_failure(checks, &order, &built.binaries, &built.run_dir, jobs);
    let verdict = match failures.iter().find(|(_, s)| *s != TestStatus::TimedOut) {
        Some((index, _)) => {
            checks[*index].kills += 1;
            Verdict::Caught {
                test: checks[*index].entry.name.clone(),
            }
        }
        None => match failures.first() {
            Some((index, _)) => {
                checks[*index].kills += 1;
                Verdict::TimedOut {
                    test: checks[*index].entry.name.clone(),
                }
            }
            None => Verdict::Missed,
        },
    };
    Ok(verdict)
}

/// Runs the tests in `order`, `jobs` at a time, and starts no more once one did not pass;
/// returns the tests that did not pass (index into `checks`, status).
fn run_until_failure(
    checks: &[Check],
    order: &[usize],
    binaries: &TestBinaries,
    cwd: &Path,
    jobs: usize,
) -> Vec<(usize, TestStatus)> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failures = Mutex::new(Vec::new());
    let binaries: BTreeMap<&str, PathBuf> = binaries
        .iter()
        .map(|(name, path)| (name.as_str(), path.clone()))
        .collect();
    thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Some(&index) = order.get(next.fetch_add(1, Ordering::SeqCst)) else {
                    return;
                };
                let check = &checks[index];
                let status = match binaries.get(check.entry.visibility.target()) {
                    None => TestStatus::NotRun,
                    Some(binary) => {
                        let limits = sandbox::Limits {
                            wall: check.limit,
                            address_space_mib: check.entry.address_space_mib,
                        };
                        match sandbox::run_test(binary, &check.entry.name, &limits, cwd) {
                            Ok(observation) => judge(&check.entry, &observation).status,
                            Err(_) => TestStatus::NotRun,
                        }
                    }
                };
                if status != TestStatus::Passed {
                    stop.store(true, Ordering::SeqCst);
                    failures.lock().unwrap().push((index, status));
                }
            });
        }
    });
    failures.into_inner().unwrap()
}
