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
        // The grader's target directory, with the staged builds' environment: the
        // dependencies are built already. The copy's own crates sit at another path, so their
        // outputs never mix with the grader's.
        .env_clear()
        .envs(staged_build_env(
            &stage::work_dir(&grader.kit).join("target"),
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let lab_prefix = format!("labs/{}/", lab.dir_name);
    for file in &plan.mutated_files {
        command.args(["--file", &format!("{lab_prefix}{file}")]);
    }
    // cargo-mutants exits non-zero when it finds missed mutants: read its outcomes instead.
    let _ = command.status().context("running cargo mutants")?;
    let outcomes = out.join("mutants.out").join("outcomes.json");
    let text = std::fs::read_to_string(&outcomes)
        .with_context(|| format!("cargo-mutants wrote no {}", outcomes.display()))?;
    let counts = parse_outcomes(&text)?;
    Ok(format!(
        "{version}, generic operators on the same files and tests: {} mutants, {} caught, {} \
         timed out, {} missed, {} unviable; kill rate {}",
        counts.mutants,
        counts.caught,
        counts.timed_out,
        counts.missed,
        counts.unviable,
        counts.kill_rate_text()
    ))
}

/// The summary counts of cargo-mutants' `outcomes.json`.
fn parse_outcomes(text: &str) -> Result<Counts> {
    let json: serde_json::Value = serde_json::from_str(text).context("reading outcomes.json")?;
    let count = |name: &str| json.get(name).and_then(|v| v.as_u64()).unwrap_or(0) as usize;
    Ok(Counts {
        mutants: count("total_mutants"),
        caught: count("caught"),
        timed_out: count("timeout"),
        missed: count("missed"),
        unviable: count("unviable"),
        equivalent: 0,
    })
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
