//! cargo-mutants' generic operators on the same files and tests, when it is installed. The
//! kit never needs it: without it, `grader mutants` says so and runs its own operators only.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::run::build::staged_build_env;
use crate::run::grade::Grader;
use crate::run::stage::{self, BuildLock};

use super::plan::Plan;
use super::render::Counts;

/// `cargo mutants --version`, if cargo-mutants is installed.
pub fn version() -> Option<String> {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["mutants", "--version"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Runs cargo-mutants on the plan's files, with the lab's public and hidden tests (plain
/// `cargo test` in a private copy of the staged kit), and returns its counts in a line.
pub fn run(grader: &Grader, plan: &Plan, version: &str) -> Result<String> {
    let lab = &plan.lab;
    let copy = tempfile::tempdir().context("creating a folder for cargo-mutants")?;
    {
        // Stage in the one build tree (the kit's files always win), then copy it out and
        // give the tree back: cargo-mutants may take minutes.
        let building = BuildLock::acquire(&grader.kit)?;
        let staged = stage::stage(&grader.kit, lab, &plan.files, &building)?;
        stage::add_hidden_tests(&grader.kit, lab, &staged)?;
        copy_tree(&staged.root, copy.path())?;
        let _ = std::fs::remove_file(staged.lab_dir.join("tests").join("hidden.rs"));
    }
    // A target directory of cargo-mutants' own, kept between runs (the dependencies build
    // once) and held by one run at a time. Not the grader's: cargo names a workspace member's
    // outputs by its path relative to the workspace root, so the copy's lab and the build
    // tree's lab would write the same files, and a grading running meanwhile would replace the
    // mutant's test binaries with its own (every mutant then "missed").
    let work = stage::work_dir(&grader.kit);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let lock_path = work.join("cargo-mutants.lock");
    let target_lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("creating {}", lock_path.display()))?;
    target_lock
        .lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    let target_dir = work.join("cargo-mutants-target");
    let out = copy.path().join("cargo-mutants-out");
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .args([
            "mutants",
            "--in-place",
            "--no-shuffle",
            "--package",
            &lab.package,
        ])
        .arg("--dir")
        .arg(copy.path())
        .arg("--output")
        .arg(&out)
        .args(["--minimum-test-timeout", "20"])
        // The staged builds' environment, with the target directory above.
        .env_clear()
        .envs(staged_build_env(&target_dir))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // The grader runs every test in its own process, and some tests depend on it: a probe that
    // counts the process's threads fails when other tests run beside it in one process, and
    // then cargo-mutants' baseline (the unmutated lab) fails and no mutant is tried.
    // cargo-nextest runs each test in its own process too; without it, one test at a time.
    let runner = TestRunner::detect();
    match runner {
        TestRunner::Nextest => {
            command.args(["--test-tool", "nextest"]);
        }
        TestRunner::OneThread => {
            command.args(["--", "--test-threads=1"]);
        }
    }
    let lab_prefix = format!("labs/{}/", lab.dir_name);
    for file in &plan.mutated_files {
        command.args(["--file", &format!("{lab_prefix}{file}")]);
    }
    // cargo-mutants exits non-zero when it finds missed mutants: read its outcomes instead.
    let _ = command.status().context("running cargo mutants")?;
    let outcomes = out.join("mutants.out").join("outcomes.json");
    let text = std::fs::read_to_string(&outcomes)
        .with_context(|| format!("cargo-mutants wrote no {}", outcomes.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).context("reading outcomes.json")?;
    if baseline_failed(&json) {
        anyhow::bail!(
            "the unmutated lab's tests failed under {} (cargo-mutants' baseline), so no mutant \
             was tried; run `cargo mutants` in a staged copy to see the failure",
            runner.describe()
        );
    }
    let mut counts = parse_outcomes(&json);
    // Missed mutants, one per line as cargo-mutants names them (file:line:column: the change).
    let missed_text =
        std::fs::read_to_string(out.join("mutants.out").join("missed.txt")).unwrap_or_default();
    let judged = judge_missed(&missed_text, &lab_prefix, &declared_equivalents(plan));
    counts.missed -= judged.equivalent.min(counts.missed);
    counts.equivalent = judged.equivalent;
    let mut line = format!(
        "{version}, generic operators on the same files and tests ({}): {} mutants, {} caught, \
         {} timed out, {} missed, {} unviable, {} declared equivalent in lab.toml; kill rate {}",
        runner.describe(),
        counts.mutants,
        counts.caught,
        counts.timed_out,
        counts.missed,
        counts.unviable,
        counts.equivalent,
        counts.kill_rate_text()
    );
    for name in &judged.missed {
        line.push_str(&format!("\n  - missed: `{name}`"));
        let id = format!("{CARGO_MUTANTS_ID}{name}");
        if let Some(note) = plan.lab.missed_mutants.iter().find(|note| note.id == id) {
            line.push_str(&format!(", left on purpose: {}", note.reason));
        }
    }
    for name in &judged.stale {
        line.push_str(&format!(
            "\n  - declared equivalent in lab.toml, but not missed in this run: `{name}`"
        ));
    }
    Ok(line)
}

/// How an `[[equivalent_mutants]]` id names one of cargo-mutants' mutants: this prefix, then the
/// name cargo-mutants prints, with the file relative to the lab folder
/// (`cargo-mutants: src/delay.rs:89:9: replace <impl PartialEq for Registration>::eq -> bool with true`).
pub const CARGO_MUTANTS_ID: &str = "cargo-mutants: ";

/// The cargo-mutants names that the lab declares equivalent.
fn declared_equivalents(plan: &Plan) -> Vec<String> {
    plan.lab
        .equivalent_mutants
        .iter()
        .filter_map(|e| e.id.strip_prefix(CARGO_MUTANTS_ID))
        .map(|name| name.trim().to_string())
        .collect()
}

/// cargo-mutants' missed mutants, told apart into those the lab declares equivalent and the
/// rest; and the declarations that name no missed mutant (stale, or now caught).
#[derive(Debug, Default, PartialEq)]
struct Judged {
    missed: Vec<String>,
    equivalent: usize,
    stale: Vec<String>,
}

fn judge_missed(missed_txt: &str, lab_prefix: &str, declared: &[String]) -> Judged {
    let mut judged = Judged::default();
    let mut used = vec![false; declared.len()];
    for line in missed_txt.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let name = line.strip_prefix(lab_prefix).unwrap_or(line);
        match declared.iter().position(|d| d == name) {
            Some(index) => {
                used[index] = true;
                judged.equivalent += 1;
            }
            None => judged.missed.push(name.to_string()),
        }
    }
    judged.stale = declared
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(name, _)| name.clone())
        .collect();
    judged
}

/// How cargo-mutants runs the tests of each mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TestRunner {
    /// `cargo nextest run`: each test in its own process, as the grader runs them.
    Nextest,
    /// `cargo test -- --test-threads=1`: one test at a time, in one process per test binary.
    OneThread,
}

impl TestRunner {
    fn detect() -> TestRunner {
        let nextest = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["nextest", "--version"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match nextest {
            Ok(status) if status.success() => TestRunner::Nextest,
            _ => TestRunner::OneThread,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            TestRunner::Nextest => "each test in its own process, with cargo-nextest",
            TestRunner::OneThread => "cargo test, one test at a time",
        }
    }
}

/// Whether cargo-mutants found the unmutated tree's tests failing, and so tried no mutant.
fn baseline_failed(json: &serde_json::Value) -> bool {
    json.get("outcomes")
        .and_then(|outcomes| outcomes.as_array())
        .into_iter()
        .flatten()
        .any(|outcome| outcome["scenario"] == "Baseline" && outcome["summary"] != "Success")
}

/// The summary counts of cargo-mutants' `outcomes.json`.
fn parse_outcomes(json: &serde_json::Value) -> Counts {
    let count = |name: &str| json.get(name).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    Counts {
        mutants: count("total_mutants"),
        caught: count("caught"),
        timed_out: count("timeout"),
        missed: count("missed"),
        unviable: count("unviable"),
        equivalent: 0,
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_baseline_is_told_apart_from_a_run_with_no_mutants() {
        let failed: serde_json::Value = serde_json::json!({
            "outcomes": [{ "scenario": "Baseline", "summary": "Failure" }],
            "total_mutants": 18, "caught": 0, "missed": 0, "timeout": 0, "unviable": 0
        });
        assert!(baseline_failed(&failed));
        let passed: serde_json::Value = serde_json::json!({
            "outcomes": [
                { "scenario": "Baseline", "summary": "Success" },
                { "scenario": { "Mutant": {} }, "summary": "CaughtMutant" }
            ],
            "total_mutants": 18, "caught": 15, "missed": 1, "timeout": 1, "unviable": 1
        });
        assert!(!baseline_failed(&passed));
        let counts = parse_outcomes(&passed);
        assert_eq!(
            (
                counts.mutants,
                counts.caught,
                counts.missed,
                counts.timed_out,
                counts.unviable
            ),
            (18, 15, 1, 1, 1)
        );
    }

    #[test]
    fn declared_equivalents_are_counted_apart_and_stale_ones_are_named() {
        let judged = judge_missed(
            "labs/lab3-futures/src/delay.rs:89:9: replace eq -> bool with true\n\
             labs/lab3-futures/src/delay.rs:74:9: replace drop with ()\n",
            "labs/lab3-futures/",
            &[
                "src/delay.rs:89:9: replace eq -> bool with true".to_string(),
                "src/delay.rs:1:1: replace gone with ()".to_string(),
            ],
        );
        assert_eq!(
            judged,
            Judged {
                missed: vec!["src/delay.rs:74:9: replace drop with ()".to_string()],
                equivalent: 1,
                stale: vec!["src/delay.rs:1:1: replace gone with ()".to_string()],
            }
        );
    }
}
