//! `grader mutants`: how strong a lab's tests are. It plants mistakes in the lab's editable
//! files one at a time, grades each mutant with the lab's public and hidden tests through the
//! grading pipeline (stage, build, sandbox), and reports per file the mutants caught, missed,
//! unviable (they do not build), timed out and declared equivalent, with the diff of every
//! missed one.
//!
//! - [`operators`]: the kit's own mutation operators, written with `syn` for the mistakes this
//!   course is about (busy waking, lost wake-ups, blocking the executor, a thread per job...);
//! - [`plan`]: the subject's files, their mutants, and the equivalents `lab.toml` declares;
//! - [`run`]: the baseline, then each mutant built once and run until its first failing test;
//! - [`external`]: cargo-mutants' generic operators, when it is installed;
//! - [`render`]: the summary on the terminal and the Markdown report.
//!
//! Inside the folder, imports go this module → `external`, `render`, `run` → `plan` →
//! `operators`.

pub mod external;
pub mod operators;
pub mod plan;
pub mod render;
pub mod run;

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::kit::submission::Submission;
use crate::kit::Kit;
use crate::run::grade::Grader;

use self::run::{Event, Verdict};

/// What `grader mutants` was asked.
#[derive(Debug, Clone)]
pub struct Request {
    /// The labs (empty: every lab).
    pub labs: Vec<u32>,
    /// A student tree (default: this checkout).
    pub submission: Option<PathBuf>,
    /// Mutate the reference solutions instead.
    pub solutions: bool,
    /// Only this editable file (relative to the lab folder, `src/countdown.rs`).
    pub file: Option<String>,
    /// Write the Markdown report here (merged with the labs already in it).
    pub out: Option<PathBuf>,
    /// Tests run at once.
    pub jobs: usize,
    /// Also run cargo-mutants when it is installed.
    pub cargo_mutants: bool,
}

/// Runs the mutants of every requested lab, prints a summary and writes the report.
pub fn command(kit: Kit, request: Request) -> Result<bool> {
    let labs: Vec<u32> = if request.labs.is_empty() {
        kit.labs.iter().map(|l| l.number).collect()
    } else {
        request.labs.clone()
    };
    for number in &labs {
        let lab = kit
            .lab(*number)
            .map_err(|e| crate::commands::usage(e.to_string()))?;
        if let Some(file) = &request.file {
            if !lab.editable.contains(file) {
                return Err(crate::commands::usage(format!(
                    "{file} is not an editable file of lab {number} (those are: {})",
                    lab.editable.join(", ")
                )));
            }
        }
    }
    let (subject, name) = match (&request.submission, request.solutions) {
        (_, true) => (
            Submission::solutions(),
            "the reference solutions".to_string(),
        ),
        (Some(path), false) => (Submission::tree(path)?, path.display().to_string()),
        (None, false) => (Submission::tree(&kit.root)?, "this checkout".to_string()),
    };
    let kit_labs: Vec<(u32, String)> = kit
        .labs
        .iter()
        .map(|l| (l.number, l.title.clone()))
        .collect();
    let cargo_mutants = request.cargo_mutants.then(external::version).flatten();
    if request.cargo_mutants && cargo_mutants.is_none() {
        println!(
            "cargo-mutants is not installed (`cargo install cargo-mutants`): running the kit's \
             own operators only"
        );
    }
    let grader = Grader::new(kit);
    let mut runs = Vec::new();
    for number in labs {
        let lab = grader.kit.lab(number)?.clone();
        let plan = plan::plan(&grader.kit, &lab, &subject, request.file.as_deref())?;
        let mut display = Progress::new(plan.mutants.len(), number);
        let mut run = run::run(&grader, &plan, &name, request.jobs, &mut |event| {
            display.show(event)
        })?;
        display.finish();
        if let Some(version) = &cargo_mutants {
            crate::commands::progress(&format!("lab {number}: running cargo-mutants"));
            run.cargo_mutants = Some(match external::run(&grader, &plan, version) {
                Ok(line) => line,
                Err(error) => format!("{version} did not finish: {error:#}"),
            });
        } else if request.cargo_mutants {
            run.cargo_mutants = Some("not installed: the kit's own operators only".into());
        }
        print!("{}", render::terminal(&run));
        runs.push(run);
    }
    if let Some(out) = &request.out {
        let existing = std::fs::read_to_string(out).unwrap_or_default();
        let text = render::merge(&existing, &runs, &kit_labs);
        crate::files::write_atomically(out, &text)
            .with_context(|| format!("writing {}", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(true)
}

/// Progress: a bar on a terminal, a plain line per mutant otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    lab: u32,
}

impl Progress {
    fn new(total: usize, lab: u32) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template(
                "lab {prefix} mutants {pos}/{len} [{elapsed_precise}] {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(lab.to_string());
            bar
        });
        Progress { bar, lab }
    }

    fn show(&mut self, event: Event) {
        let line = match event {
            Event::Baseline => {
                format!(
                    "lab {}: building and testing the unmutated subject",
                    self.lab
                )
            }
            Event::Mutant {
                index,
                total,
                tried,
            } => {
                let what = match &tried.verdict {
                    Verdict::Caught { test } => format!("caught by {test}"),
                    Verdict::TimedOut { test } => format!("timed out in {test}"),
                    Verdict::Missed => "MISSED".into(),
                    Verdict::Unviable { .. } => "unviable".into(),
                    Verdict::Equivalent { .. } => "equivalent (declared)".into(),
                };
                if let Some(bar) = &self.bar {
                    bar.set_position(index as u64);
                }
                format!(
                    "mutant {index}/{total} {}:{} {} … {what} ({:.1} s)",
                    tried.mutant.file,
                    tried.mutant.line,
                    tried.mutant.operator,
                    tried.duration.as_secs_f64()
                )
            }
        };
        match &self.bar {
            Some(bar) => {
                bar.println(&line);
                bar.set_message(line);
            }
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
