//! Grading: the pipeline for one submission, lab by lab. The [`Grader`] strings the other
//! steps of this folder together.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::Result;

use crate::kit::rules::{self, Violation};
use crate::kit::submission::{Source, Submission};
use crate::kit::{Kit, Lab, RubricEntry, Visibility};
use crate::report::model::{
    Answers, LabReport, LabStatus, SubmissionReport, TestResult, TestStatus,
};
use crate::run::build::{BuildFailure, Cargo, TestBinaries};
use crate::run::sandbox;
use crate::run::score::{judge, unrun};
use crate::run::stage::{self, Slot};

/// How to grade.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run the hidden tests too (instructor grading).
    pub with_hidden: bool,
    /// How many tests run at once.
    pub jobs: usize,
    /// Shared with other gradings running at the same time (a batch overlaps one student's
    /// build with the previous student's tests): then at most this many tests run at once
    /// across all of them.
    pub test_slots: Option<Arc<TestSlots>>,
}

/// A counting semaphore of test processes, shared by gradings that run at the same time.
#[derive(Debug)]
pub struct TestSlots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl TestSlots {
    pub fn new(slots: usize) -> Arc<TestSlots> {
        Arc::new(TestSlots {
            free: Mutex::new(slots.max(1)),
            freed: Condvar::new(),
        })
    }

    /// Waits for a free slot; it is given back when the guard drops.
    fn take(self: &Arc<TestSlots>) -> TestSlot {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        TestSlot(Arc::clone(self))
    }
}

struct TestSlot(Arc<TestSlots>);

impl Drop for TestSlot {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

/// The grader's tools, set up once per run: cargo, the toolchain's name.
pub struct Grader {
    pub kit: Kit,
    /// Cargo for staged builds, into the grader's own target directory (made when first used).
    staged: OnceLock<Cargo>,
    /// Cargo for the student's own checkout, built in place (the student's commands).
    in_place: Option<Cargo>,
    toolchain: String,
}

impl Grader {
    /// A grader that stages every submission (instructor grading).
    pub fn new(kit: Kit) -> Grader {
        let grader = Grader {
            staged: OnceLock::new(),
            in_place: None,
            toolchain: String::new(),
            kit,
        };
        let toolchain = grader.cargo().toolchain(&grader.kit.root);
        Grader {
            toolchain,
            ..grader
        }
    }

    /// A grader for the student's own commands: the kit's checkout itself is built in place,
    /// as the student's `cargo test -p labN` builds it, sharing its target directory; any other
    /// submission (the reference solutions) is still staged.
    pub fn for_student(kit: Kit, in_place: Cargo) -> Grader {
        let toolchain = in_place.toolchain(&kit.root);
        Grader {
            kit,
            staged: OnceLock::new(),
            in_place: Some(in_place),
            toolchain,
        }
    }

    /// `rustc --version` of the toolchain that builds the labs.
    pub fn toolchain(&self) -> &str {
        &self.toolchain
    }

    /// The cargo that builds staged labs.
    pub fn cargo(&self) -> &Cargo {
        self.staged
            .get_or_init(|| Cargo::new(stage::work_dir(&self.kit).join("target"), &self.kit.root))
    }

    /// Grades the given labs of one submission. `progress` hears what is happening.
    pub fn grade(
        &self,
        submission: &Submission,
        labs: &[&Lab],
        options: &Options,
        progress: &dyn Fn(&str),
    ) -> Result<SubmissionReport> {
        let slot = Slot::acquire(&self.kit)?;
        let mut reports = Vec::new();
        for lab in labs {
            let mut report = self.grade_lab(submission, lab, options, &slot, progress)?;
            // Instructor grading takes the written answers with the code, for reading only.
            if options.with_hidden {
                report.answers = lab.answers.as_ref().map(|file| {
                    Answers::new(&file.path, submission.answers(&self.kit, lab), file.points)
                });
            }
            reports.push(report);
        }
        Ok(SubmissionReport {
            submission: submission.id.clone(),
            score: reports.iter().map(|r| r.score).sum(),
            max_score: reports.iter().map(|r| r.max_score).sum(),
            graded_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            kit_version: env!("CARGO_PKG_VERSION").to_string(),
            toolchain: self.toolchain.clone(),
            isolation: sandbox::Isolation::detect().name().to_string(),
            labs: reports,
        })
    }

    fn grade_lab(
        &self,
        submission: &Submission,
        lab: &Lab,
        options: &Options,
        slot: &Slot,
        progress: &dyn Fn(&str),
    ) -> Result<LabReport> {
        let entries = selected_tests(lab, options.with_hidden);
        let built = match self.build_lab(submission, lab, options.with_hidden, slot, progress)? {
            Built::Ready(built) => built,
            Built::Failed(report) => return Ok(report),
        };
        // A broken source rule zeroes the tests of its part: they are not run at all.
        let zeroed = |entry: &RubricEntry| {
            built
                .broken
                .iter()
                .find(|(_, tests)| tests.is_empty() || tests.contains(&entry.name))
        };
        let runnable: Vec<&RubricEntry> = entries
            .iter()
            .copied()
            .filter(|e| zeroed(e).is_none())
            .collect();
        progress(&format!(
            "lab {}: running {} tests",
            lab.number,
            runnable.len()
        ));
        let mut ran = run_all(
            &runnable,
            &built.binaries,
            &built.run_dir,
            options.jobs,
            options.test_slots.as_ref(),
        )
        .into_iter();
        let tests = entries
            .iter()
            .map(|entry| match zeroed(entry) {
                Some((violation, _)) => unrun(
                    entry,
                    TestStatus::RuleViolation,
                    &format!(
                        "not run: {}:{} breaks a rule of the lab: {}",
                        violation.file, violation.line, violation.rule
                    ),
                ),
                None => ran.next().expect("one result per runnable test"),
            })
            .collect();
        let mut tests: Vec<TestResult> = tests;
        if let Some(hint) = &lab.timeout_hint {
            for test in tests
                .iter_mut()
                .filter(|t| t.status == TestStatus::TimedOut)
            {
                let note = test.note.take().unwrap_or_default();
                test.note = Some(format!("{note}. {hint}"));
            }
        }
        let mut report = LabReport::new(lab.number, &lab.title, LabStatus::Graded, None, tests);
        report.flags = built.flags.clone();
        report.warnings = built.warnings.clone();
        report.violations = built
            .broken
            .iter()
            .map(|(violation, _)| violation.clone())
            .collect();
        Ok(report)
    }

    /// Stages and builds one lab of a submission: the library alone, then the test targets
    /// (with the hidden tests when `with_hidden`). A missing file or a compile error comes
    /// back as the lab's finished report.
    pub fn build_lab(
        &self,
        submission: &Submission,
        lab: &Lab,
        with_hidden: bool,
        slot: &Slot,
        progress: &dyn Fn(&str),
    ) -> Result<Built> {
        let entries = selected_tests(lab, with_hidden);
        let none_ran = |status, note: &str| {
            entries
                .iter()
                .map(|e| unrun(e, status, note))
                .collect::<Vec<_>>()
        };
        let files = match submission.editable_files(&self.kit, lab) {
            Ok(files) => files,
            Err(missing) => {
                let tests = none_ran(
                    TestStatus::NotRun,
                    "the lab's files are missing from the submission",
                );
                let report = LabReport::new(
                    lab.number,
                    &lab.title,
                    LabStatus::Missing,
                    Some(missing.message),
                    tests,
                );
                return Ok(Built::Failed(report));
            }
        };

        let broken: Vec<(Violation, Vec<String>)> = rules::check(&lab.rules, &files)
            .into_iter()
            .map(|b| (b.violation, b.rule.tests.clone()))
            .collect();
        let flags = rules::flags(&files, &lab.may_use);
        let flagged = |built: Built| match built {
            Built::Failed(mut report) => {
                report.flags = flags.clone();
                Built::Failed(report)
            }
            Built::Ready(mut ready) => {
                ready.flags = flags.clone();
                Built::Ready(ready)
            }
        };

        progress(&format!("lab {}: building", lab.number));
        if let Some(cargo) = self.in_place_for(submission) {
            // The student's own checkout: one build, shared with their `cargo test`.
            let lab_dir = self.kit.lab_dir(lab);
            let public = [Visibility::Public.target()];
            return match cargo.build_tests(&self.kit.root, lab, &lab_dir, &public, progress)? {
                Ok(artifacts) => Ok(flagged(Built::Ready(BuiltLab {
                    binaries: slot.keep_executables(&artifacts.tests)?,
                    programs: slot.keep_executables(&artifacts.programs)?,
                    run_dir: slot.run_dir()?,
                    warnings: editable_warnings(&self.kit, lab, &artifacts.warnings),
                    lab_dir,
                    broken,
                    flags: Vec::new(),
                }))),
                Err(failure) => {
                    let in_tests = failure.file.as_deref().is_some_and(|f| {
                        f.starts_with("tests/") || f.contains(&format!("{}/tests/", lab.dir_name))
                    });
                    let note = if in_tests {
                        "the lab's tests did not compile against it"
                    } else {
                        "the lab did not compile"
                    };
                    let tests = none_ran(TestStatus::NotBuilt, note);
                    Ok(flagged(Built::Failed(not_built(
                        lab, &failure, tests, &broken,
                    ))))
                }
            };
        }
        let cargo = self.cargo();
        // Every submission is built in one tree, into one target directory, by one grader at
        // a time: staged files are then always newer than the last build's outputs, whoever
        // made them, so cargo can never take another submission's binary for fresh, and the
        // shared dependencies are never rebuilt. The executables are copied into this
        // grader's slot before the next build may start; the tests run there.
        let building = stage::BuildLock::acquire(&self.kit)?;
        let staged = stage::stage(&self.kit, lab, &files, &building)?;
        if let Err(failure) = cargo.build_library(&staged.root, lab, &staged.lab_dir, progress)? {
            let tests = none_ran(TestStatus::NotBuilt, "the lab did not compile");
            return Ok(flagged(Built::Failed(not_built(
                lab, &failure, tests, &broken,
            ))));
        }
        let mut targets = vec![Visibility::Public.target()];
        if with_hidden && lab.has_hidden_tests() {
            stage::add_hidden_tests(&self.kit, lab, &staged)?;
            targets.push(Visibility::Hidden.target());
        }
        let built = cargo.build_tests(&staged.root, lab, &staged.lab_dir, &targets, progress)?;
        // The hidden tests' source has served its purpose: a running test cannot read it back.
        let _ = std::fs::remove_file(staged.lab_dir.join("tests").join("hidden.rs"));
        match built {
            Ok(artifacts) => Ok(flagged(Built::Ready(BuiltLab {
                binaries: slot.keep_executables(&artifacts.tests)?,
                programs: slot.keep_executables(&artifacts.programs)?,
                run_dir: slot.run_dir()?,
                warnings: Vec::new(),
                lab_dir: staged.lab_dir,
                broken,
                flags: Vec::new(),
            }))),
            Err(failure) => {
                let tests = none_ran(
                    TestStatus::NotBuilt,
                    "the lab's tests did not compile against it",
                );
                Ok(flagged(Built::Failed(not_built(
                    lab, &failure, tests, &broken,
                ))))
            }
        }
    }

    /// The in-place cargo, when `submission` is the kit's own checkout and this grader builds
    /// it in place.
    fn in_place_for(&self, submission: &Submission) -> Option<&Cargo> {
        let cargo = self.in_place.as_ref()?;
        let Source::Tree(tree) = &submission.source else {
            return None;
        };
        let root = self.kit.root.canonicalize().ok()?;
        (tree.canonicalize().ok()? == root).then_some(cargo)
    }

    /// Runs the given tests of a built lab.
    pub fn run_tests(
        &self,
        built: &BuiltLab,
        entries: &[&RubricEntry],
        jobs: usize,
    ) -> Vec<TestResult> {
        run_all(entries, &built.binaries, &built.run_dir, jobs, None)
    }
}

/// A lab that built, ready to run.
pub struct BuiltLab {
    /// Test executables by target name.
    pub binaries: TestBinaries,
    /// The lab's provided programs (the server launcher) by name.
    pub programs: std::collections::BTreeMap<String, PathBuf>,
    /// The staged lab folder in the shared build tree: valid only until the next build (hold
    /// the build lock to build in it again).
    pub lab_dir: PathBuf,
    /// The empty folder of this grader's slot that tests run in.
    pub run_dir: PathBuf,
    /// Source rules the submission breaks, each with the tests it zeroes (empty: all).
    pub broken: Vec<(Violation, Vec<String>)>,
    /// Constructs flagged for the instructor (see `rules::flags`).
    pub flags: Vec<Violation>,
    /// The compiler's warnings in the lab's editable files (in-place builds only), capped.
    pub warnings: Vec<String>,
}

/// At most this many warnings, and this many lines of them, reach the report.
const MAX_WARNINGS: usize = 20;
const MAX_WARNING_LINES: usize = 200;

/// The warnings whose primary span is in one of the lab's editable files, as rustc rendered
/// them, capped; a last entry says how many more were left out.
fn editable_warnings(kit: &Kit, lab: &Lab, warnings: &[(String, String)]) -> Vec<String> {
    let lab_dir = kit.lab_dir(lab);
    let editable: Vec<PathBuf> = lab.editable.iter().map(|f| lab_dir.join(f)).collect();
    let mine = warnings.iter().filter(|(file, _)| {
        let path = Path::new(file);
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            kit.root.join(path)
        };
        editable.contains(&absolute)
    });
    let (mut kept, mut lines, mut left_out) = (Vec::new(), 0, 0);
    for (_, rendered) in mine {
        let length = rendered.trim_end().lines().count();
        if kept.len() < MAX_WARNINGS && lines + length <= MAX_WARNING_LINES {
            kept.push(rendered.trim_end().to_string());
            lines += length;
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        kept.push(format!(
            "... and {left_out} more warning(s): `cargo build -p {}` shows them all",
            lab.package
        ));
    }
    kept
}

/// The result of [`Grader::build_lab`].
pub enum Built {
    Ready(BuiltLab),
    /// The lab's final report: missing files or a build failure.
    Failed(LabReport),
}

/// The lab's rubric entries that a grading run includes.
pub fn selected_tests(lab: &Lab, with_hidden: bool) -> Vec<&RubricEntry> {
    lab.tests
        .iter()
        .filter(|t| with_hidden || t.visibility == Visibility::Public)
        .collect()
}

fn not_built(
    lab: &Lab,
    failure: &BuildFailure,
    tests: Vec<TestResult>,
    broken: &[(Violation, Vec<String>)],
) -> LabReport {
    let mut message = String::new();
    if let Some(file) = &failure.file {
        message.push_str(&format!(
            "{file} does not compile. The compiler's first error:\n"
        ));
    }
    message.push_str(&failure.first_error);
    let mut report = LabReport::new(
        lab.number,
        &lab.title,
        LabStatus::NotBuilt,
        Some(message),
        tests,
    );
    // A broken rule often explains the build failure (a crate the lab does not depend on).
    report.violations = broken
        .iter()
        .map(|(violation, _)| violation.clone())
        .collect();
    report
}

/// Runs every test in its own process, `jobs` at a time; results keep the rubric's order.
fn run_all(
    entries: &[&RubricEntry],
    binaries: &TestBinaries,
    cwd: &std::path::Path,
    jobs: usize,
    shared: Option<&Arc<TestSlots>>,
) -> Vec<TestResult> {
    /// A test waiting to run: its place in the report, its rubric entry and its executable.
    type Job = (usize, RubricEntry, Option<PathBuf>);
    let queue: Arc<Mutex<VecDeque<Job>>> = Arc::new(Mutex::new(
        entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                (
                    index,
                    (*entry).clone(),
                    binaries.get(entry.visibility.target()).cloned(),
                )
            })
            .collect(),
    ));
    let results = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..jobs.max(1))
        .map(|_| {
            let (queue, results, cwd) =
                (Arc::clone(&queue), Arc::clone(&results), cwd.to_path_buf());
            let shared = shared.cloned();
            thread::spawn(move || loop {
                let _slot = shared.as_ref().map(TestSlots::take);
                let Some((index, entry, binary)) = queue.lock().unwrap().pop_front() else {
                    return;
                };
                let result = match binary {
                    None => unrun(&entry, TestStatus::NotRun, "the test binary was not built"),
                    Some(binary) => {
                        let limits = sandbox::Limits {
                            wall: Duration::from_secs(entry.timeout_s),
                            address_space_mib: entry.address_space_mib,
                        };
                        match sandbox::run_test(&binary, &entry.name, &limits, &cwd) {
                            Ok(observation) => judge(&entry, &observation),
                            Err(error) => unrun(
                                &entry,
                                TestStatus::NotRun,
                                &format!("could not start the test: {error}"),
                            ),
                        }
                    }
                };
                results.lock().unwrap().push((index, result));
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    let mut results = std::mem::take(&mut *results.lock().unwrap());
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}
