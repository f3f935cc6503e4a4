//! The command line: parses arguments and calls the pipeline. Exit codes: 0 when the command
//! did its job (whatever the score), 2 for usage errors, 1 for failures of the grader or kit.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::grade::{Grader, Options};
use crate::kit::{Kit, Lab};
use crate::report::{self, points, Format};
use crate::selfcheck;
use crate::state::State;
use crate::submission::Submission;

#[derive(Parser)]
#[command(
    name = "grader",
    version,
    about = "Runs, scores and explains the labs' tests"
)]
pub struct Cli {
    /// The kit's folder (default: found from the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    kit: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the labs with their titles, points and this checkout's last public score.
    List,
    /// Run the public tests of lab N on this checkout, with hints for what fails.
    Lab {
        /// The lab's number.
        number: u32,
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Tests run at once (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Grade a submission (public and hidden tests): a student tree, or this checkout.
    Grade {
        /// The student's tree (default: this checkout).
        submission: Option<PathBuf>,
        /// Grade the reference solutions instead.
        #[arg(long, conflicts_with = "submission")]
        solutions: bool,
        /// Only these labs (repeatable; default: every lab).
        #[arg(long = "lab", value_name = "N")]
        labs: Vec<u32>,
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Write the report to this file instead of standard output.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Tests run at once (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
    /// Check the kit: solutions score full marks, stubs zero, rubrics match the tests.
    Selfcheck {
        /// Tests run at once (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
}

/// A mistake in how the grader was called: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

/// Runs the command; `Ok(false)` means the command ran but found problems (exit 1).
pub fn run(cli: Cli) -> Result<bool> {
    let kit = Kit::locate(cli.kit.as_deref())?;
    match cli.command {
        Command::List => {
            list(&kit);
            Ok(true)
        }
        Command::Lab {
            number,
            format,
            jobs,
        } => {
            let lab = kit.lab(number).map_err(|e| usage(e.to_string()))?.clone();
            let grader = Grader::new(kit);
            let submission = Submission::tree(&grader.kit.root)?;
            let options = Options {
                with_hidden: false,
                jobs: jobs_or_default(jobs),
            };
            let report = grader.grade(&submission, &[&lab], &options, &progress)?;
            if let Some(lab_report) = report.labs.first() {
                State::record(&grader.kit.root, lab_report);
            }
            print!("{}", render(&report, format));
            Ok(true)
        }
        Command::Grade {
            submission,
            solutions,
            labs,
            format,
            out,
            jobs,
        } => {
            let selected = select_labs(&kit, &labs)?;
            let grader = Grader::new(kit.clone());
            let submission = if solutions {
                Submission::solutions()
            } else {
                let path = submission.unwrap_or_else(|| PathBuf::from("."));
                check_submission_shape(&path, &selected)?;
                Submission::tree(&path)?
            };
            let options = Options {
                with_hidden: true,
                jobs: jobs_or_default(jobs),
            };
            let report = grader.grade(&submission, &selected, &options, &progress)?;
            let rendered = match (format, &out) {
                (Some(f), _) => report::render(&report, f, false),
                (None, Some(_)) => report::json(&report),
                (None, None) => render(&report, None),
            };
            match out {
                Some(path) => write_atomically(&path, &rendered)?,
                None => print!("{rendered}"),
            }
            Ok(true)
        }
        Command::Selfcheck { jobs } => {
            let grader = Grader::new(kit);
            let checks = selfcheck::run(&grader, jobs_or_default(jobs), &progress)?;
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
    }
}

fn list(kit: &Kit) {
    let state = State::load(&kit.root);
    println!(
        "{:<4} {:<58} {:>7} {:>13}",
        "lab", "title", "points", "your score"
    );
    for lab in &kit.labs {
        let score = state
            .score(lab.number)
            .map(|(score, max)| format!("{} / {}", points(score), points(max)))
            .unwrap_or_else(|| "not run".into());
        println!(
            "{:<4} {:<58} {:>7} {:>13}",
            lab.number,
            lab.title,
            points(lab.max_points(false)),
            score
        );
    }
    println!("\nRun `cargo run -p grader -- lab N` (or `just lab N`) to test lab N.");
}

fn select_labs<'k>(kit: &'k Kit, numbers: &[u32]) -> Result<Vec<&'k Lab>> {
    if numbers.is_empty() {
        return Ok(kit.labs.iter().collect());
    }
    numbers
        .iter()
        .map(|&n| kit.lab(n).map_err(|e| usage(e.to_string())))
        .collect()
}

/// A folder that holds none of the selected labs is almost certainly the wrong folder.
fn check_submission_shape(path: &Path, labs: &[&Lab]) -> Result<()> {
    if !path.exists() {
        return Err(usage(format!(
            "the submission {} does not exist",
            path.display()
        )));
    }
    if !path.is_dir() {
        return Err(usage(format!(
            "the submission {} is not a folder; unpack an archive first (archives come with batch grading)",
            path.display()
        )));
    }
    let has_any = labs.iter().any(|lab| {
        path.join("labs").join(&lab.dir_name).is_dir() || path.join(&lab.dir_name).is_dir()
    });
    if !has_any {
        let expected: Vec<String> = labs
            .iter()
            .map(|l| format!("labs/{}/", l.dir_name))
            .collect();
        return Err(usage(format!(
            "{} does not look like a submission: it holds none of {}",
            path.display(),
            expected.join(", ")
        )));
    }
    Ok(())
}

fn render(report: &crate::score::SubmissionReport, format: Option<Format>) -> String {
    let terminal = std::io::stdout().is_terminal();
    let color = terminal && std::env::var_os("NO_COLOR").is_none();
    report::render(report, format.unwrap_or(Format::Table), color)
}

fn progress(message: &str) {
    eprintln!("grader: {message}");
}

fn jobs_or_default(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
    .max(1)
}

/// Writes `text` to `path` through a temporary file and a rename: a reader never sees half.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .context("the output path has no file name")?
        .to_string_lossy();
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&temporary, text).with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("moving the report to {}", path.display()))?;
    Ok(())
}
