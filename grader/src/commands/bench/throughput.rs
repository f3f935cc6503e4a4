//! `grader bench --grading`: what grading costs. It grades N copies of a lab's reference
//! solution as a batch (each copy differs by a comment, so the verdict cache cannot answer for
//! the others), first into an empty reports folder, then again with `--regrade`, then once more
//! unchanged (every verdict comes from the cache); and it times plain `cargo test -p labN` on
//! the same code with the hidden tests, built the same way. The ratio says what the grader's
//! isolation (a process per test, the sentinel, the sandbox) costs over cargo's own harness.

use std::fmt::Write as _;
use std::fs;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::commands::instructor::batch::{self, BatchOptions};
use crate::commands::usage;
use crate::files::write_atomically;
use crate::kit::submission::Submission;
use crate::kit::{Kit, Lab};
use crate::run::grade::Grader;
use crate::run::stage::{self, BuildLock};

/// `grader bench --grading`: measures lab `number`, prints the table, and writes it (with
/// the JSON) into `out` if given.
pub fn command(
    kit: &Kit,
    number: u32,
    copies: usize,
    jobs: usize,
    out: Option<&std::path::Path>,
) -> Result<bool> {
    let lab = kit.lab(number).map_err(|e| usage(e.to_string()))?.clone();
    eprintln!(
        "grader: grading {copies} copies of lab {}'s solution three times, then cargo test",
        lab.number
    );
    let measured = measure(kit, &lab, copies, jobs)?;
    let table = measured.table();
    print!("{table}");
    if let Some(out) = out {
        std::fs::create_dir_all(out)?;
        write_atomically(&out.join("grading.txt"), &table)?;
        write_atomically(
            &out.join("grading.json"),
            &(serde_json::to_string_pretty(&measured)? + "\n"),
        )?;
    }
    Ok(true)
}

/// The measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub lab: u32,
    pub copies: usize,
    pub jobs: usize,
    /// Grading every copy into an empty reports folder.
    pub first_run_s: f64,
    /// Grading every copy again with `--regrade`.
    pub regrade_s: f64,
    /// The regrade's time per submission.
    pub marginal_s: f64,
    /// A rerun with nothing changed: every report comes from the cache.
    pub cached_rerun_s: f64,
    /// `cargo test -p labN` on one copy, with the hidden tests, after staging fresh files.
    pub cargo_test_s: f64,
    /// Whether that `cargo test` passed (a failure makes the comparison meaningless).
    pub cargo_test_passed: bool,
}

impl Throughput {
    /// Grading one submission, as a multiple of `cargo test` on it.
    pub fn ratio(&self) -> f64 {
        self.marginal_s / self.cargo_test_s.max(1e-9)
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Grading lab {} ({} copies of the reference solution, --jobs {})\n",
            self.lab, self.copies, self.jobs
        );
        let rows = [
            ("batch, first run (empty reports folder)", self.first_run_s),
            ("batch, rerun with --regrade", self.regrade_s),
            ("  per submission (marginal)", self.marginal_s),
            (
                "batch, rerun unchanged (all from the cache)",
                self.cached_rerun_s,
            ),
            (
                "cargo test -p lab, same code + hidden tests",
                self.cargo_test_s,
            ),
        ];
        for (what, seconds) in rows {
            let _ = writeln!(out, "  {what:<46} {seconds:>8.2} s");
        }
        let _ = writeln!(
            out,
            "\n  grading one submission costs {:.2}x a plain cargo test{}",
            self.ratio(),
            if self.cargo_test_passed {
                ""
            } else {
                " (cargo test failed: compare with care)"
            }
        );
        out
    }
}

/// Runs the measurement for `lab`.
pub fn measure(kit: &Kit, lab: &Lab, copies: usize, jobs: usize) -> Result<Throughput> {
    if copies == 0 {
        bail!("--copies must be at least 1");
    }
    let work = stage::work_dir(kit);
    fs::create_dir_all(&work)?;
    let scratch = tempfile::Builder::new()
        .prefix("throughput-")
        .tempdir_in(&work)?;
    let submissions = scratch.path().join("submissions");
    let solution = Submission::solutions()
        .editable_files(kit, lab)
        .map_err(|missing| anyhow::anyhow!(missing.message))?;
    for copy in 0..copies {
        let lab_dir = submissions
            .join(format!("copy-{copy:03}"))
            .join("labs")
            .join(&lab.dir_name);
        for (index, file) in solution.iter().enumerate() {
            let target = lab_dir.join(&file.path);
            fs::create_dir_all(target.parent().context("an editable file has a folder")?)?;
            let mut contents = file.contents.clone();
            if index == 0 {
                // The same code, a different file: no copy's verdict is another's.
                contents.extend_from_slice(format!("\n// copy {copy}\n").as_bytes());
            }
            fs::write(&target, contents)?;
        }
    }
    let grader = Grader::new(kit.clone());
    let reports = scratch.path().join("reports");
    let batch = |regrade: bool| -> Result<f64> {
        let options = BatchOptions {
            jobs,
            regrade,
            limits: Default::default(),
        };
        let started = Instant::now();
        let result = batch::run(&grader, &submissions, &reports, &[lab], &options, &|_| {})?;
        if result.problems > 0 {
            bail!("{} copies could not be graded", result.problems);
        }
        Ok(started.elapsed().as_secs_f64())
    };
    let first_run_s = batch(false)?;
    let regrade_s = batch(true)?;
    let cached_rerun_s = batch(false)?;

    let (cargo_test, cargo_test_passed) = plain_cargo_test(&grader, lab, &solution)?;
    Ok(Throughput {
        lab: lab.number,
        copies,
        jobs,
        first_run_s,
        regrade_s,
        marginal_s: regrade_s / copies as f64,
        cached_rerun_s,
        cargo_test_s: cargo_test.as_secs_f64(),
        cargo_test_passed,
    })
}

/// Stages the solution as the grader does (fresh files, hidden tests added) and times
/// `cargo test` on it: compiling the lab crate and its tests, then running every test in one
/// process per test target.
fn plain_cargo_test(
    grader: &Grader,
    lab: &Lab,
    files: &[crate::kit::submission::EditableFile],
) -> Result<(Duration, bool)> {
    let building = BuildLock::acquire(&grader.kit)?;
    let staged = stage::stage(&grader.kit, lab, files, &building)?;
    stage::add_hidden_tests(&grader.kit, lab, &staged)?;
    let started = Instant::now();
    let output = grader
        .cargo()
        .plain_test(&staged.root, lab)
        .output()
        .context("running cargo test")?;
    Ok((started.elapsed(), output.status.success()))
}
