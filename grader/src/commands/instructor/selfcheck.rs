//! The kit checks itself: the reference solutions earn full marks, the pristine stubs earn
//! nothing, every rubric entry matches a test and every test has a rubric entry, and the
//! solution folders hold exactly the editable files.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;

use anyhow::{Context, Result};

use crate::kit::submission::Submission;
use crate::kit::Kit;
use crate::kit::Lab;
use crate::report::model::TestStatus;
use crate::run::grade::{selected_tests, Built, Grader, Options};
use crate::run::stage::Slot;

/// Runs every check and prints one line per check; `Ok(false)` if one failed.
pub fn command(kit: Kit, jobs: usize) -> Result<bool> {
    let grader = Grader::new(kit);
    let checks = run(&grader, jobs, &crate::commands::progress)?;
    let mut all_ok = true;
    for check in &checks {
        all_ok &= check.ok;
        println!(
            "{} lab {}: {}",
            if check.ok { "ok  " } else { "FAIL" },
            check.lab,
            check.what
        );
        for line in check.detail.lines() {
            println!("       {line}");
        }
    }
    println!(
        "\nselfcheck: {} of {} checks passed",
        checks.iter().filter(|c| c.ok).count(),
        checks.len()
    );
    Ok(all_ok)
}

/// One check and its verdict.
#[derive(Debug, Clone)]
pub struct Check {
    pub lab: u32,
    pub what: String,
    pub ok: bool,
    /// What went wrong, when it did.
    pub detail: String,
}

/// Runs every check on every lab, in lab order.
///
/// Two workers take the labs in turn, each in its own staging slot, as a class batch does:
/// builds go one at a time under the build lock, so one lab builds while the other's tests
/// run. Each worker runs half of `jobs` tests at once, so the machine never runs more than
/// `jobs` test processes, the load the hidden tests are checked against.
pub fn run(grader: &Grader, jobs: usize, progress: &(dyn Fn(&str) + Sync)) -> Result<Vec<Check>> {
    let labs = &grader.kit.labs;
    let workers = if jobs >= 2 && labs.len() >= 2 { 2 } else { 1 };
    let jobs_per_worker = (jobs / workers).max(1);
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Result<Vec<Check>>>>> =
        Mutex::new((0..labs.len()).map(|_| None).collect());
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let slot = match Slot::acquire(&grader.kit) {
                    Ok(slot) => slot,
                    Err(error) => {
                        // Hand the error to the first lab nobody took, and stop this worker.
                        let index = next.fetch_add(1, Ordering::SeqCst);
                        if index < labs.len() {
                            done.lock().unwrap_or_else(PoisonError::into_inner)[index] =
                                Some(Err(error));
                        }
                        return;
                    }
                };
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(lab) = labs.get(index) else { break };
                    let checks = check_lab(grader, lab, jobs_per_worker, &slot, progress);
                    done.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(checks);
                }
            });
        }
    });
    let mut checks = Vec::new();
    for (lab, outcome) in labs
        .iter()
        .zip(done.into_inner().unwrap_or_else(PoisonError::into_inner))
    {
        match outcome {
            Some(lab_checks) => checks.extend(lab_checks?),
            None => anyhow::bail!("selfcheck: no worker checked lab {}", lab.number),
        }
    }
    Ok(checks)
}

/// The checks of one lab: its solution files, the solutions against every test, the stubs.
fn check_lab(
    grader: &Grader,
    lab: &Lab,
    jobs: usize,
    slot: &Slot,
    progress: &dyn Fn(&str),
) -> Result<Vec<Check>> {
    let mut checks = vec![solution_files_match(grader, lab)?];
    checks.extend(solutions_pass(grader, lab, jobs, slot, progress)?);
    checks.push(stubs_score_zero(grader, lab, jobs, progress)?);
    Ok(checks)
}

fn check(lab: &Lab, what: &str, problems: Vec<String>) -> Check {
    Check {
        lab: lab.number,
        what: what.to_string(),
        ok: problems.is_empty(),
        detail: problems.join("\n"),
    }
}

fn solution_files_match(grader: &Grader, lab: &Lab) -> Result<Check> {
    let dir = grader.kit.solution_dir(lab);
    let mut found = BTreeSet::new();
    if dir.is_dir() {
        collect_files(&dir, &dir, &mut found)?;
    }
    let expected: BTreeSet<String> = lab.editable.iter().cloned().collect();
    let mut problems = Vec::new();
    for missing in expected.difference(&found) {
        problems.push(format!(
            "{} has no solution: add solutions/{}/{missing}",
            missing, lab.dir_name
        ));
    }
    for extra in found.difference(&expected) {
        problems.push(format!(
            "solutions/{}/{extra} is not an editable file of the lab: remove it or list it in lab.toml",
            lab.dir_name
        ));
    }
    Ok(check(
        lab,
        "solution files are exactly the editable files",
        problems,
    ))
}

fn collect_files(root: &Path, dir: &Path, found: &mut BTreeSet<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, found)?;
        } else {
            found.insert(
                path.strip_prefix(root)?
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
    Ok(())
}

/// Builds the solutions with the hidden tests, compares the tests the binaries list with the
/// rubric, then runs them all.
fn solutions_pass(
    grader: &Grader,
    lab: &Lab,
    jobs: usize,
    slot: &Slot,
    progress: &dyn Fn(&str),
) -> Result<Vec<Check>> {
    let built = match grader.build_lab(&Submission::solutions(), lab, true, slot, progress)? {
        Built::Ready(built) => built,
        Built::Failed(report) => {
            let why = format!(
                "{:?}: {}",
                report.status,
                report.message.unwrap_or_default()
            );
            return Ok(vec![check(lab, "reference solutions build", vec![why])]);
        }
    };
    let broken: Vec<String> = built
        .broken
        .iter()
        .map(|(v, _)| {
            format!(
                "solutions/{}/{}:{}: {}",
                lab.dir_name, v.file, v.line, v.rule
            )
        })
        .collect();
    let rules_check = check(lab, "reference solutions obey the source rules", broken);
    let flagged: Vec<String> = built
        .flags
        .iter()
        .map(|v| {
            format!(
                "solutions/{}/{}:{}: {}",
                lab.dir_name, v.file, v.line, v.rule
            )
        })
        .collect();
    let flags_check = check(
        lab,
        "reference solutions use nothing the grader flags",
        flagged,
    );
    let mut listed = BTreeSet::new();
    for binary in built.binaries.values() {
        listed.extend(list_tests(binary)?);
    }
    let in_rubric: BTreeSet<String> = lab.tests.iter().map(|t| t.name.clone()).collect();
    let mut problems = Vec::new();
    for name in listed.difference(&in_rubric) {
        problems.push(format!(
            "test {name} has no rubric entry (lab.toml or hidden/rubric.toml)"
        ));
    }
    for name in in_rubric.difference(&listed) {
        problems.push(format!("rubric entry {name} matches no test"));
    }
    let rubric_check = check(
        lab,
        "every test has a rubric entry and every entry a test",
        problems,
    );

    let entries = selected_tests(lab, true);
    progress(&format!(
        "lab {}: running the solutions against {} tests",
        lab.number,
        entries.len()
    ));
    let results = grader.run_tests(&built, &entries, jobs);
    let failures: Vec<String> = results
        .iter()
        .filter(|r| r.status != TestStatus::Passed)
        .map(|r| {
            let why = r
                .note
                .clone()
                .unwrap_or_else(|| crate::report::text::failure_message(&r.output, &r.name));
            format!("{} is {}: {}", r.name, r.status.label(), why)
        })
        .collect();
    let passed = check(
        lab,
        &format!("reference solutions pass all {} tests", results.len()),
        failures,
    );
    Ok(vec![rules_check, flags_check, rubric_check, passed])
}

fn stubs_score_zero(
    grader: &Grader,
    lab: &Lab,
    jobs: usize,
    progress: &dyn Fn(&str),
) -> Result<Check> {
    progress(&format!("lab {}: grading the pristine stubs", lab.number));
    let stubs = Submission::tree(&grader.kit.root)?;
    let options = Options {
        with_hidden: true,
        jobs,
        test_slots: None,
    };
    let report = grader.grade(&stubs, &[lab], &options, progress)?;
    let lab_report = &report.labs[0];
    let mut problems: Vec<String> = lab_report
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::Passed)
        .map(|t| {
            format!(
                "{} passes on the stub: it checks no behaviour the student writes",
                t.name
            )
        })
        .collect();
    if lab_report
        .tests
        .iter()
        .any(|t| t.status == TestStatus::NotBuilt)
    {
        problems.push(format!(
            "the stubs do not build with the tests: {}",
            lab_report.message.clone().unwrap_or_default()
        ));
    }
    Ok(check(lab, "pristine stubs build and score zero", problems))
}

/// The tests a (trusted, reference) test binary contains, by `--list --format terse`.
fn list_tests(binary: &Path) -> Result<BTreeSet<String>> {
    let output = Command::new(binary)
        .args(["--list", "--format", "terse"])
        .env_clear()
        .output()
        .with_context(|| format!("listing the tests of {}", binary.display()))?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}
