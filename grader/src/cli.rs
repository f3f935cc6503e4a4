//! The command line: the arguments of every command, and which command function they call.
//! Nothing else lives here: what a command does is in [`crate::commands`]. Exit codes: 0 when
//! the command did its job (whatever the score), 2 for usage errors ([`UsageError`]), 1 for
//! failures of the grader or kit.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[cfg(feature = "instructor")]
use crate::commands::instructor;
use crate::commands::{bench, student};
use crate::kit::Kit;
use crate::report::Format;

// Where `main` and other callers have always found it.
pub use crate::commands::UsageError;

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
        /// Run again on every save of one of the lab's editable files, showing what changed.
        #[arg(long)]
        watch: bool,
    },
    /// Show the hint of a failing test of lab N; asked again, a more specific one.
    Hint {
        /// The lab's number.
        number: u32,
        /// The test (default: the first test that failed in your last `grader lab N`).
        test: Option<String>,
    },
    /// Grade a submission (public and hidden tests): a student tree, an archive of one, this
    /// checkout, or a folder of many submissions (one sub-folder, .zip or .tar.gz per student).
    Grade {
        /// A student's tree or its .zip/.tar.gz (default: this checkout), or a folder of them
        /// (then --out names the reports folder).
        submission: Option<PathBuf>,
        /// Grade the reference solutions instead.
        #[arg(long, conflicts_with = "submission")]
        solutions: bool,
        /// Only these labs (repeatable; default: every lab).
        #[arg(long = "lab", value_name = "N")]
        labs: Vec<u32>,
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Write the report to this file instead of standard output; for a folder of
        /// submissions, the folder that receives every report.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Tests run at once (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Batch: grade again the submissions that an earlier run finished, ignoring cached
        /// verdicts.
        #[arg(long)]
        regrade: bool,
    },
    /// Write the student release into OUT_DIR: no solutions, no hidden tests, no fixtures;
    /// fails if a line of a solution or hidden test, or a hidden test's name, got in.
    Release {
        /// A new or empty folder.
        out_dir: PathBuf,
        /// Make it a fresh git repository with one commit (a GitHub Classroom template).
        #[arg(long)]
        git: bool,
    },
    /// Write a Gradescope autograder (setup.sh, run_autograder, the kit without solutions) for lab N.
    Gradescope {
        /// The lab's number.
        #[arg(long = "lab", value_name = "N")]
        lab: u32,
        /// The archive to write, e.g. autograder.zip.
        #[arg(long, value_name = "FILE.zip")]
        out: PathBuf,
    },
    /// Measure the labs' concurrency models: your servers of labs 1, 2, 5 and 7 under 100, 500
    /// and 1000 idle clients and an echo load, and your lab 6 executor against tokio.
    Bench {
        /// Measure the reference solutions instead of this checkout.
        #[arg(long)]
        solutions: bool,
        /// Also write the table (bench.md, bench.json) and the chart (bench.svg) into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Measure the grader instead: grade --copies copies of lab --lab's solution as a
        /// batch, and compare with plain `cargo test` on the same code.
        #[arg(long)]
        grading: bool,
        /// With --grading: the lab.
        #[arg(
            long = "lab",
            value_name = "N",
            default_value_t = 1,
            requires = "grading"
        )]
        lab: u32,
        /// With --grading: how many copies.
        #[arg(long, default_value_t = 10, requires = "grading")]
        copies: usize,
        /// With --grading: tests run at once (default: the number of cores).
        #[arg(long, requires = "grading")]
        jobs: Option<usize>,
    },
    /// Measure the tests' strength: plant mistakes (busy waking, lost wake-ups, blocking,
    /// a thread per job...) in a lab's editable files one at a time, grade each mutant with the
    /// public and hidden tests, and report the mutants caught, missed, unviable and timed out.
    Mutants {
        /// The lab (repeatable; default: every lab).
        #[arg(long = "lab", value_name = "N")]
        labs: Vec<u32>,
        /// A student tree to mutate (default: this checkout).
        submission: Option<PathBuf>,
        /// Mutate the reference solutions instead (what the kit's test-strength page measures).
        #[arg(long, conflicts_with = "submission")]
        solutions: bool,
        /// Only this editable file, relative to the lab folder (e.g. src/countdown.rs).
        #[arg(long, value_name = "PATH")]
        file: Option<String>,
        /// Write the Markdown report to FILE.md (the sections of labs not run are kept).
        #[arg(long, value_name = "FILE.md")]
        out: Option<PathBuf>,
        /// Tests run at once per mutant (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Do not run cargo-mutants' generic operators, even when it is installed.
        #[arg(long)]
        no_cargo_mutants: bool,
    },
    /// Check the kit: solutions score full marks, stubs zero, rubrics match the tests.
    Selfcheck {
        /// Tests run at once (default: the number of cores).
        #[arg(long)]
        jobs: Option<usize>,
    },
}

/// Runs the command; `Ok(false)` means the command ran but found problems (exit 1).
pub fn run(cli: Cli) -> Result<bool> {
    let kit = Kit::locate(cli.kit.as_deref())?;
    match cli.command {
        Command::List => {
            student::list::command(&kit);
            Ok(true)
        }
        Command::Lab {
            number,
            format,
            jobs,
            watch,
        } => student::lab::command(kit, number, format, jobs_or_default(jobs), watch),
        Command::Hint { number, test } => student::hint::command(&kit, number, test.as_deref()),
        #[cfg(feature = "instructor")]
        Command::Grade {
            submission,
            solutions,
            labs,
            format,
            out,
            jobs,
            regrade,
        } => instructor::grade::command(
            kit,
            instructor::grade::Request {
                submission,
                solutions,
                labs,
                format,
                out,
                jobs: jobs_or_default(jobs),
                regrade,
            },
        ),
        #[cfg(feature = "instructor")]
        Command::Gradescope { lab, out } => instructor::gradescope::command(kit, lab, &out),
        #[cfg(feature = "instructor")]
        Command::Release { out_dir, git } => instructor::release::command(&kit, &out_dir, git),
        #[cfg(feature = "instructor")]
        Command::Bench {
            grading: true,
            lab,
            copies,
            jobs,
            out,
            ..
        } => bench::throughput::command(&kit, lab, copies, jobs_or_default(jobs), out.as_deref()),
        #[cfg(not(feature = "instructor"))]
        Command::Bench { grading: true, .. } => {
            Err(crate::commands::instructor_only("bench --grading"))
        }
        Command::Bench { solutions, out, .. } => bench::command(&kit, solutions, out.as_deref()),
        #[cfg(feature = "instructor")]
        Command::Mutants {
            labs,
            submission,
            solutions,
            file,
            out,
            jobs,
            no_cargo_mutants,
        } => instructor::mutants::command(
            kit,
            instructor::mutants::Request {
                labs,
                submission,
                solutions,
                file,
                out,
                jobs: jobs_or_default(jobs),
                cargo_mutants: !no_cargo_mutants,
            },
        ),
        #[cfg(feature = "instructor")]
        Command::Selfcheck { jobs } => instructor::selfcheck::command(kit, jobs_or_default(jobs)),
        // The student release's grader: the instructor's commands say how to get them.
        #[cfg(not(feature = "instructor"))]
        Command::Grade { .. } => Err(crate::commands::instructor_only("grade")),
        #[cfg(not(feature = "instructor"))]
        Command::Gradescope { .. } => Err(crate::commands::instructor_only("gradescope")),
        #[cfg(not(feature = "instructor"))]
        Command::Release { .. } => Err(crate::commands::instructor_only("release")),
        #[cfg(not(feature = "instructor"))]
        Command::Mutants { .. } => Err(crate::commands::instructor_only("mutants")),
        #[cfg(not(feature = "instructor"))]
        Command::Selfcheck { .. } => Err(crate::commands::instructor_only("selfcheck")),
    }
}

/// `--jobs`, or the number of cores.
fn jobs_or_default(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
    .max(1)
}
