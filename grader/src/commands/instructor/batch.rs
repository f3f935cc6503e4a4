//! Batch grading: every submission in a folder, one student per entry, with reports that are
//! never lost and never redone.
//!
//! Each entry of the submissions folder is one student: a folder, a `.zip` or a `.tar.gz`
//! (the student's id is the entry's name without its extension). Students are taken in the
//! order of their ids by two workers: builds run one at a time into the kit's shared target
//! directory (the build lock), so dependencies compile once, and while one student's tests run
//! the next student's lab builds. At most `jobs` tests run at once across both workers.
//!
//! **Verdict cache.** A lab's verdict is stored under `REPORTS_DIR/.cache/labs/<key>.json`,
//! where the key is a SHA-256 of the grader (its version and the bytes of its executable), the
//! toolchain, the isolation level, the kit's files that the lab builds from (the root manifest
//! and lock file, `labs/support`, the lab's folder with its hidden tests) and the submission's
//! editable files of that lab. A resubmission whose lab is unchanged is not rebuilt.
//!
//! **Resume.** A finished student's whole report is stored under
//! `REPORTS_DIR/.cache/submissions/<fingerprint>.json` *before* its files are written, where the
//! fingerprint covers the student's id and every selected lab's key. A rerun that finds the
//! fingerprint reuses the report as it was (same `graded_at`), rewriting the student's files if
//! a kill interrupted them. So a run killed at any point loses no finished student and grades
//! none twice; a student whose submission changed is graded again. `regrade` ignores both
//! caches. Every grading is logged to `REPORTS_DIR/batch.log`.
//!
//! **Robustness.** A corrupt or hostile archive, a missing file, a panic or an error of the
//! grader on one submission becomes that student's report (labs `missing`, with the reason);
//! the batch goes on. Reports that come from a grader error are not cached, so a rerun retries
//! them. One batch at a time may write to a reports folder (a lock file says so).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::commands::instructor::archive::{self, Kind, Limits};
use crate::files::write_atomically;
use crate::kit::submission::{Source, Submission};
use crate::kit::{Kit, Lab};
use crate::report;
use crate::report::formats;
use crate::report::model::{Answers, LabReport, LabStatus, SubmissionReport, TestStatus};
use crate::report::summary;
use crate::run::build::Cargo;
use crate::run::grade::{selected_tests, Grader, Options, TestSlots};
use crate::run::sandbox::Isolation;
use crate::run::score::unrun;
use crate::run::stage;

/// Files of the class written into the reports folder.
pub const CLASS_FILES: &[&str] = &[
    "gradebook.csv",
    "junit.xml",
    "summary.md",
    "summary.html",
    "batch.log",
];

/// Extensions of archives the grader does not read: such an entry is still a student, whose
/// report says to submit a `.zip` or `.tar.gz`.
const UNSUPPORTED_ARCHIVES: &[&str] = &[
    ".rar", ".7z", ".tar", ".gz", ".bz2", ".xz", ".tbz2", ".txz", ".zst",
];

/// How to grade a batch.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Tests run at once.
    pub jobs: usize,
    /// Grade every submission again, ignoring finished reports and cached verdicts.
    pub regrade: bool,
    /// Caps on what one archive may unpack to.
    pub limits: Limits,
}

/// One entry of the submissions folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The student's id, also the name of their reports folder.
    pub id: String,
    pub path: PathBuf,
    pub form: Form,
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Folder,
    Archive(Kind),
    /// A file named like an archive the grader cannot read.
    Unsupported,
}

/// What happened to one student.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Graded now (`from_cache` of its labs had an unchanged cached verdict).
    Graded {
        score: f64,
        max_score: f64,
        seconds: f64,
        from_cache: usize,
    },
    /// Finished by an earlier run with the same submission: not graded again.
    Reused { score: f64, max_score: f64 },
    /// Reported, but the submission could not be read or the grader failed on it.
    Problem { message: String },
}

/// What a batch tells its observer, in order.
#[derive(Debug)]
pub enum Event<'a> {
    /// The batch found `total` students; `ignored` entries are not submissions.
    Started { total: usize, ignored: &'a [String] },
    /// A student's turn begins (`index` counts from 0).
    Student { index: usize, id: &'a str },
    /// A step of the current student's grading.
    Step { id: &'a str, message: &'a str },
    /// A student is done and their reports are written.
    Finished {
        index: usize,
        id: &'a str,
        outcome: &'a Outcome,
    },
    /// The class reports are being rebuilt.
    ClassReports,
}

/// The batch's result.
#[derive(Debug, Clone, Default)]
pub struct BatchResult {
    pub total: usize,
    pub graded: usize,
    pub reused: usize,
    pub problems: usize,
    /// Students in the class reports (every report in the folder, earlier batches included).
    pub in_class_reports: usize,
}

/// Whether `path` is one submission (it holds `labs/` or a lab folder of the kit) rather than a
/// folder of submissions.
pub fn is_single_submission(kit: &Kit, path: &Path) -> bool {
    path.join("labs").is_dir() || kit.labs.iter().any(|lab| path.join(&lab.dir_name).is_dir())
}

/// Whether `path` is graded as a batch: a folder that is not one submission and holds at least
/// one sub-folder or archive.
pub fn is_batch(kit: &Kit, path: &Path) -> bool {
    if !path.is_dir() || is_single_submission(kit, path) {
        return false;
    }
    fs::read_dir(path).into_iter().flatten().flatten().any(|e| {
        let p = e.path();
        !e.file_name().to_string_lossy().starts_with('.') && (p.is_dir() || Kind::of(&p).is_some())
    })
}

/// The students in `dir`, sorted by id, and the names of entries that are not submissions.
/// Hidden entries and the reports folder (when inside `dir`) are left out.
pub fn discover(dir: &Path, out: &Path) -> Result<(Vec<Entry>, Vec<String>)> {
    let out = out.canonicalize().ok();
    let mut entries = Vec::new();
    let mut ignored = Vec::new();
    for item in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = item.path();
        if name.starts_with('.') || path.canonicalize().ok() == out {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        let (id, form) = if path.is_dir() {
            (name.clone(), Form::Folder)
        } else if let Some(kind) = Kind::of(&path) {
            (kind.stem(&name), Form::Archive(kind))
        } else if let Some(ext) = UNSUPPORTED_ARCHIVES.iter().find(|e| lower.ends_with(*e)) {
            (
                name[..name.len() - ext.len()].to_string(),
                Form::Unsupported,
            )
        } else {
            ignored.push(name);
            continue;
        };
        let id = if id.is_empty() { name.clone() } else { id };
        entries.push((id, name, path, form));
    }
    entries.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    // Two entries for one student (`alice/` and `alice.zip`): the later ones keep their full
    // name, so neither is lost.
    let mut taken = BTreeSet::new();
    let mut students = Vec::new();
    for (id, name, path, form) in entries {
        let mut id = if taken.contains(&id) { name } else { id };
        if CLASS_FILES.contains(&id.as_str()) {
            id.push('_');
        }
        while taken.contains(&id) {
            id.push('_');
        }
        taken.insert(id.clone());
        students.push(Entry { id, path, form });
    }
    ignored.sort();
    Ok((students, ignored))
}

/// Grades every submission in `dir` into `out`, then rebuilds the class reports.
pub fn run(
    grader: &Grader,
    dir: &Path,
    out: &Path,
    labs: &[&Lab],
    options: &BatchOptions,
    observe: &(dyn Fn(Event) + Sync),
) -> Result<BatchResult> {
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let _lock = lock(out)?;
    let (entries, ignored) = discover(dir, out)?;
    observe(Event::Started {
        total: entries.len(),
        ignored: &ignored,
    });
    let batch = Batch::new(grader, out, labs, options)?;
    let result = Mutex::new(BatchResult {
        total: entries.len(),
        ..BatchResult::default()
    });
    // Two workers: one builds (builds take the build lock one at a time) while the other's
    // tests run. The next student goes to whichever worker is free.
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let work = |worker: usize| {
        let unpack_dir = batch.unpack_dir.with_extension(format!("w{worker}"));
        loop {
            if failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_some()
            {
                return;
            }
            let index = next.fetch_add(1, Ordering::SeqCst);
            let Some(entry) = entries.get(index) else {
                return;
            };
            observe(Event::Student {
                index,
                id: &entry.id,
            });
            let step = |message: &str| {
                observe(Event::Step {
                    id: &entry.id,
                    message,
                })
            };
            let outcome = match batch.student(entry, &unpack_dir, &step) {
                Ok(outcome) => outcome,
                Err(error) => {
                    failure
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_or_insert(error);
                    return;
                }
            };
            {
                let mut result = result.lock().unwrap_or_else(PoisonError::into_inner);
                match outcome {
                    Outcome::Graded { .. } => result.graded += 1,
                    Outcome::Reused { .. } => result.reused += 1,
                    Outcome::Problem { .. } => result.problems += 1,
                }
            }
            observe(Event::Finished {
                index,
                id: &entry.id,
                outcome: &outcome,
            });
        }
    };
    std::thread::scope(|scope| {
        let second = scope.spawn(|| work(1));
        work(0);
        if second.join().is_err() {
            failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert_with(|| anyhow::anyhow!("a batch worker panicked"));
        }
    });
    for worker in 0..2 {
        let _ = fs::remove_dir_all(batch.unpack_dir.with_extension(format!("w{worker}")));
    }
    if let Some(error) = failure.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(error);
    }
    observe(Event::ClassReports);
    let mut result = result.into_inner().unwrap_or_else(PoisonError::into_inner);
    result.in_class_reports = write_class_reports(out)?;
    Ok(result)
}

/// Takes the reports folder's lock: two batches writing one folder would mix their results.
fn lock(out: &Path) -> Result<File> {
    let path = out.join(".lock");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    if file.try_lock().is_err() {
        bail!(
            "another grader is writing to {}; wait for it to finish",
            out.display()
        );
    }
    Ok(file)
}

/// The state of one batch run.
struct Batch<'g> {
    grader: &'g Grader,
    labs: Vec<&'g Lab>,
    out: PathBuf,
    options: BatchOptions,
    /// The grader, toolchain and isolation: part of every key.
    identity: String,
    toolchain: String,
    isolation: String,
    /// The kit's side of each lab's key, by lab number.
    lab_hashes: BTreeMap<u32, String>,
    /// Where archives are unpacked (one folder per worker, named after this one).
    unpack_dir: PathBuf,
    /// Tests running at once, across both workers.
    test_slots: Arc<TestSlots>,
}

/// A student's submission, ready to grade.
enum Prepared {
    Tree(PathBuf),
    /// The submission cannot be read: every lab is `missing` with this reason.
    Unreadable {
        reason: String,
        content: String,
    },
}

impl<'g> Batch<'g> {
    fn new(
        grader: &'g Grader,
        out: &Path,
        labs: &[&'g Lab],
        options: &BatchOptions,
    ) -> Result<Batch<'g>> {
        let kit = &grader.kit;
        let work = stage::work_dir(kit);
        let toolchain = Cargo::new(work.join("target"), &kit.root).toolchain(&kit.root);
        let isolation = Isolation::detect().name().to_string();
        let mut identity = KeyHasher::new("grader");
        identity.field(env!("CARGO_PKG_VERSION").as_bytes());
        match std::env::current_exe().and_then(fs::read) {
            Ok(bytes) => identity.field(&bytes),
            Err(_) => identity.field(b"unknown executable"),
        }
        identity.field(toolchain.as_bytes());
        identity.field(isolation.as_bytes());
        let identity = identity.finish();
        let mut lab_hashes = BTreeMap::new();
        for lab in labs {
            lab_hashes.insert(lab.number, kit_hash(kit, lab)?);
        }
        let out = out
            .canonicalize()
            .with_context(|| format!("reading {}", out.display()))?;
        let mut place = KeyHasher::new("unpack");
        place.field(out.to_string_lossy().as_bytes());
        let unpack_dir = work.join("unpack").join(&place.finish()[..16]);
        Ok(Batch {
            grader,
            labs: labs.to_vec(),
            out,
            options: options.clone(),
            identity,
            toolchain,
            isolation,
            lab_hashes,
            unpack_dir,
            test_slots: TestSlots::new(options.jobs),
        })
    }

    /// Grades (or reuses) one student and writes their reports.
    fn student(&self, entry: &Entry, unpack_dir: &Path, step: &dyn Fn(&str)) -> Result<Outcome> {
        let started = Instant::now();
        let prepared = self.prepare(entry, unpack_dir, step);
        let submission = match &prepared {
            Prepared::Tree(root) => Some(Submission {
                id: entry.id.clone(),
                source: Source::Tree(root.clone()),
            }),
            Prepared::Unreadable { .. } => None,
        };
        // The key of every lab (None when its files are missing) and the student's fingerprint.
        let mut fingerprint = KeyHasher::new("submission");
        fingerprint.field(self.identity.as_bytes());
        fingerprint.field(entry.id.as_bytes());
        let mut keys: Vec<Option<String>> = Vec::new();
        for lab in &self.labs {
            fingerprint.field(&lab.number.to_le_bytes());
            match (&submission, &prepared) {
                (Some(submission), _) => {
                    let key = self.lab_key(submission, lab);
                    fingerprint.field(key.as_deref().unwrap_or("missing").as_bytes());
                    // Written answers change the report, not the lab's verdict.
                    let answers = submission.answers(&self.grader.kit, lab);
                    fingerprint.field(answers.as_deref().unwrap_or("").as_bytes());
                    keys.push(key);
                }
                (None, Prepared::Unreadable { reason, content }) => {
                    fingerprint.field(reason.as_bytes());
                    fingerprint.field(content.as_bytes());
                    keys.push(None);
                }
                (None, Prepared::Tree(_)) => keys.push(None),
            }
        }
        let fingerprint = fingerprint.finish();
        let finished = self.cache_path("submissions", &fingerprint);

        if !self.options.regrade {
            if let Some(report) = read_json::<SubmissionReport>(&finished) {
                step("unchanged since it was graded: reusing its report");
                self.write_student(&entry.id, &report)?;
                self.log(&format!("reused {} {}", entry.id, score_text(&report)));
                return Ok(Outcome::Reused {
                    score: report.score,
                    max_score: report.max_score,
                });
            }
        }

        let mut labs = Vec::new();
        let mut from_cache = 0;
        let mut problem = None;
        let mut grader_error = false;
        for (lab, key) in self.labs.iter().zip(&keys) {
            let lab_report = match (&submission, &prepared) {
                (None, Prepared::Unreadable { reason, .. }) => {
                    problem = Some(reason.clone());
                    unreadable(lab, reason)
                }
                (Some(submission), Prepared::Tree(root)) => {
                    let cached = key
                        .as_ref()
                        .filter(|_| !self.options.regrade)
                        .and_then(|k| read_json::<LabReport>(&self.cache_path("labs", k)));
                    match cached {
                        Some(mut report) => {
                            step(&format!(
                                "lab {}: unchanged files, verdict from the cache",
                                lab.number
                            ));
                            from_cache += 1;
                            // The verdict is the code's; the answers are read afresh.
                            report.answers = lab.answers.as_ref().map(|file| {
                                Answers::new(
                                    &file.path,
                                    submission.answers(&self.grader.kit, lab),
                                    file.points,
                                )
                            });
                            report
                        }
                        None => {
                            let report = self.grade_lab(submission, lab, root, step);
                            match (&report, key) {
                                (Err(message), _) => {
                                    grader_error = true;
                                    problem = Some(message.clone());
                                    unreadable(lab, message)
                                }
                                (Ok(report), Some(key)) if cacheable(report) => {
                                    write_json(&self.cache_path("labs", key), report)?;
                                    report.clone()
                                }
                                (Ok(report), _) => report.clone(),
                            }
                        }
                    }
                }
                _ => unreadable(lab, "the submission could not be read"),
            };
            labs.push(lab_report);
        }
        let report = SubmissionReport {
            submission: entry.id.clone(),
            score: labs.iter().map(|l| l.score).sum(),
            max_score: labs.iter().map(|l| l.max_score).sum(),
            graded_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            kit_version: env!("CARGO_PKG_VERSION").to_string(),
            toolchain: self.toolchain.clone(),
            isolation: self.isolation.clone(),
            labs,
        };
        // A grader error is not the student's verdict: it is reported but not kept, so a rerun
        // tries again. Everything else is committed to the cache before the student's files.
        if !grader_error {
            write_json(&finished, &report)?;
        }
        self.log(&format!(
            "graded {} {} in {:.1}s{}",
            entry.id,
            score_text(&report),
            started.elapsed().as_secs_f64(),
            problem
                .as_ref()
                .map(|p| format!(" ({})", first_line(p)))
                .unwrap_or_default()
        ));
        self.write_student(&entry.id, &report)?;
        let _ = fs::remove_dir_all(unpack_dir);
        Ok(match problem {
            Some(message) => Outcome::Problem { message },
            None => Outcome::Graded {
                score: report.score,
                max_score: report.max_score,
                seconds: started.elapsed().as_secs_f64(),
                from_cache,
            },
        })
    }

    /// Finds the submission's tree: the folder, or the archive unpacked.
    fn prepare(&self, entry: &Entry, unpack_dir: &Path, step: &dyn Fn(&str)) -> Prepared {
        let lab_dirs: Vec<&str> = self.labs.iter().map(|l| l.dir_name.as_str()).collect();
        match entry.form {
            Form::Folder => Prepared::Tree(archive::submission_root(&entry.path, &lab_dirs)),
            Form::Unsupported => Prepared::Unreadable {
                reason: format!(
                    "{} is not a .zip, .tar.gz or .tgz archive: the grader cannot read it. \
                     Submit a .zip or a .tar.gz of your tree.",
                    file_name(&entry.path)
                ),
                content: content_hash(&entry.path),
            },
            Form::Archive(_) => {
                step("unpacking");
                let _ = fs::remove_dir_all(unpack_dir);
                match archive::extract(&entry.path, unpack_dir, self.options.limits) {
                    Ok(_) => Prepared::Tree(archive::submission_root(unpack_dir, &lab_dirs)),
                    Err(rejected) => Prepared::Unreadable {
                        reason: rejected.0,
                        content: content_hash(&entry.path),
                    },
                }
            }
        }
    }

    /// The key of a lab's verdict, or `None` when the submission lacks one of its files.
    fn lab_key(&self, submission: &Submission, lab: &Lab) -> Option<String> {
        let mut files = submission.editable_files(&self.grader.kit, lab).ok()?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut key = KeyHasher::new("lab");
        key.field(self.identity.as_bytes());
        key.field(self.lab_hashes.get(&lab.number)?.as_bytes());
        for file in &files {
            key.field(file.path.as_bytes());
            key.field(&file.contents);
        }
        Some(key.finish())
    }

    /// Grades one lab; a grader error or panic comes back as its message.
    fn grade_lab(
        &self,
        submission: &Submission,
        lab: &Lab,
        root: &Path,
        step: &dyn Fn(&str),
    ) -> Result<LabReport, String> {
        let options = Options {
            with_hidden: true,
            jobs: self.options.jobs,
            test_slots: Some(Arc::clone(&self.test_slots)),
        };
        let graded = catch_unwind(AssertUnwindSafe(|| {
            self.grader.grade(submission, &[lab], &options, step)
        }));
        let mut report = match graded {
            Ok(Ok(report)) => report
                .labs
                .into_iter()
                .next()
                .ok_or_else(|| "the grader returned no report for the lab".to_string())?,
            Ok(Err(error)) => return Err(format!("the grader failed on this lab: {error:#}")),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                return Err(format!("the grader panicked on this lab: {what}"));
            }
        };
        // Paths in messages are the student's, not the grader's scratch folders.
        if let Some(message) = &mut report.message {
            *message = message.replace(&format!("{}/", root.display()), "");
        }
        Ok(report)
    }

    fn cache_path(&self, kind: &str, key: &str) -> PathBuf {
        self.out
            .join(".cache")
            .join(kind)
            .join(format!("{key}.json"))
    }

    /// Writes the student's `feedback.md`, `results.json` and, last, `report.json`.
    fn write_student(&self, id: &str, report: &SubmissionReport) -> Result<()> {
        let dir = self.out.join(id);
        let json = report::json(report) + "\n";
        if fs::read_to_string(dir.join("report.json")).ok().as_deref() == Some(json.as_str())
            && dir.join("feedback.md").is_file()
            && dir.join("results.json").is_file()
        {
            return Ok(());
        }
        write_atomically(
            &dir.join("feedback.md"),
            &formats::markdown::feedback(report),
        )?;
        write_atomically(
            &dir.join("results.json"),
            &formats::gradescope::results(report),
        )?;
        write_atomically(&dir.join("report.json"), &json)
    }

    /// Appends a line to `batch.log`; the log is for people, so failing to write it is no error.
    fn log(&self, line: &str) {
        let stamp = humantime::format_rfc3339_seconds(SystemTime::now());
        if let Ok(mut file) = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.out.join("batch.log"))
        {
            let _ = writeln!(file, "{stamp} {line}");
        }
    }
}

/// Whether a lab's verdict may be reused: not when a test could not even be started, which is
/// the grader's trouble, not the submission's.
fn cacheable(report: &LabReport) -> bool {
    report.status != LabStatus::Graded
        || report.tests.iter().all(|t| t.status != TestStatus::NotRun)
}

/// A lab of a submission that could not be read: `missing`, with the reason.
fn unreadable(lab: &Lab, reason: &str) -> LabReport {
    let tests = selected_tests(lab, true)
        .into_iter()
        .map(|entry| {
            unrun(
                entry,
                TestStatus::NotRun,
                "the submission could not be graded",
            )
        })
        .collect();
    LabReport::new(
        lab.number,
        &lab.title,
        LabStatus::Missing,
        Some(reason.to_string()),
        tests,
    )
}

fn score_text(report: &SubmissionReport) -> String {
    format!(
        "{}/{}",
        report::points(report.score),
        report::points(report.max_score)
    )
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The SHA-256 of a file's bytes (empty if it cannot be read).
fn content_hash(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let mut hasher = KeyHasher::new("content");
            hasher.field(&bytes);
            hasher.finish()
        }
        Err(_) => String::new(),
    }
}

/// The kit's side of a lab's key: the files its build reads.
fn kit_hash(kit: &Kit, lab: &Lab) -> Result<String> {
    let mut hasher = KeyHasher::new("kit");
    for name in ["Cargo.toml", "Cargo.lock"] {
        hasher.field(name.as_bytes());
        hasher.field(&fs::read(kit.root.join(name)).unwrap_or_default());
    }
    for dir in [kit.root.join("labs").join("support"), kit.lab_dir(lab)] {
        let mut files = Vec::new();
        collect_files(&dir, &mut files)?;
        files.sort();
        for file in files {
            let relative = file.strip_prefix(&kit.root).unwrap_or(&file);
            hasher.field(relative.to_string_lossy().as_bytes());
            hasher.field(&fs::read(&file).with_context(|| format!("reading {}", file.display()))?);
        }
    }
    Ok(hasher.finish())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() && entry.file_name() != "target" {
            collect_files(&entry.path(), files)?;
        } else if kind.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}

/// A SHA-256 over length-prefixed fields, so that no two sequences of fields collide.
struct KeyHasher(Sha256);

impl KeyHasher {
    fn new(domain: &str) -> KeyHasher {
        let mut hasher = KeyHasher(Sha256::new());
        hasher.field(domain.as_bytes());
        hasher
    }

    fn field(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    fn finish(self) -> String {
        self.0
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_str(&fs::read_to_string(path).ok()?).ok()
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string(value).context("serialising a report")?;
    write_atomically(path, &text)
}

/// Every student's `report.json` in `out`, sorted by id. Unreadable ones are skipped; leftover
/// temporary files of an interrupted write are removed.
pub fn read_reports(out: &Path) -> Result<Vec<SubmissionReport>> {
    let mut reports = Vec::new();
    for entry in fs::read_dir(out).with_context(|| format!("reading {}", out.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_dir() {
            continue;
        }
        if let Ok(files) = fs::read_dir(entry.path()) {
            for file in files.flatten() {
                let file_name = file.file_name().to_string_lossy().into_owned();
                if file_name.starts_with('.') && file_name.contains(".tmp-") {
                    let _ = fs::remove_file(file.path());
                }
            }
        }
        if let Some(report) = read_json::<SubmissionReport>(&entry.path().join("report.json")) {
            reports.push(report);
        }
    }
    reports.sort_by(|a, b| a.submission.cmp(&b.submission));
    Ok(reports)
}

/// Rebuilds `gradebook.csv`, `junit.xml`, `summary.md` and `summary.html` from every report in
/// `out`; returns how many students they cover.
pub fn write_class_reports(out: &Path) -> Result<usize> {
    let reports = read_reports(out)?;
    let class = summary::summarise(&reports);
    write_atomically(&out.join("gradebook.csv"), &formats::gradebook(&reports))?;
    write_atomically(&out.join("junit.xml"), &formats::junit(&reports))?;
    write_atomically(&out.join("summary.md"), &summary::markdown(&class))?;
    write_atomically(&out.join("summary.html"), &summary::html(&class))?;
    Ok(reports.len())
}

/// Unpacks one archive submission for single grading into `dest`; returns its tree.
pub fn unpack_single(kit: &Kit, archive_path: &Path, dest: &Path) -> Result<PathBuf> {
    let lab_dirs: Vec<&str> = kit.labs.iter().map(|l| l.dir_name.as_str()).collect();
    archive::extract(archive_path, dest, Limits::default())?;
    Ok(archive::submission_root(dest, &lab_dirs))
}
