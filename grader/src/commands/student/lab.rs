//! `grader lab N [--watch]`: the public tests of one lab on this checkout, shown as the table
//! with hints (or another format); the score is remembered for `grader list` and `grader hint`.
//! The lab is built in place, as `cargo test -p labN` builds it, and cargo's progress is shown
//! while it builds: a spinner on a terminal, plain lines otherwise.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::commands::student::state::State;
use crate::commands::{render, usage};
use crate::kit::submission::Submission;
use crate::kit::Kit;
use crate::report::model::SubmissionReport;
use crate::report::Format;
use crate::run::build::Cargo;
use crate::run::grade::{Grader, Options};

/// Runs lab `number`'s public tests once, or (`watch`) again on every save.
pub fn command(
    kit: Kit,
    number: u32,
    format: Option<Format>,
    jobs: usize,
    watch: bool,
) -> Result<bool> {
    let lab = kit.lab(number).map_err(|e| usage(e.to_string()))?.clone();
    let shown = Progress::new();
    let every = if shown.on_terminal {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(2)
    };
    let grader = Grader::for_student(kit, Cargo::in_place().with_progress_every(every));
    let progress = |message: &str| shown.say(message);
    let submission = Submission::tree(&grader.kit.root)?;
    let options = Options {
        with_hidden: false,
        jobs,
        test_slots: None,
    };
    let run = || -> Result<SubmissionReport> {
        let report = grader.grade(&submission, &[&lab], &options, &progress)?;
        if let Some(lab_report) = report.labs.first() {
            State::record(&grader.kit.root, lab_report);
        }
        Ok(report)
    };
    if !watch {
        print!("{}", render(&run()?, format));
        return Ok(true);
    }
    let lab_dir = grader.kit.root.join("labs").join(&lab.dir_name);
    let whole = std::cell::RefCell::new(None);
    crate::commands::student::watch::watch(
        &lab_dir,
        &lab,
        &|| {
            let report = run()?;
            let lab_report = report.labs.first().cloned().context("no lab report")?;
            *whole.borrow_mut() = Some(report);
            Ok(lab_report)
        },
        &|_| {
            if let Some(report) = whole.borrow().as_ref() {
                print!("{}", render(report, format));
            }
        },
    )?;
    Ok(true)
}

/// The steps of a run on standard error: on a terminal, a spinner that shows the build's
/// progress in place; otherwise one plain line per step.
struct Progress {
    on_terminal: bool,
    spinner: RefCell<Option<ProgressBar>>,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            on_terminal: std::io::stderr().is_terminal(),
            spinner: RefCell::new(None),
        }
    }

    fn say(&self, message: &str) {
        if !self.on_terminal {
            eprintln!("grader: {message}");
            return;
        }
        let mut spinner = self.spinner.borrow_mut();
        if message.contains(": building") {
            let bar = spinner.get_or_insert_with(|| {
                let bar = ProgressBar::new_spinner();
                if let Ok(style) =
                    ProgressStyle::with_template("{spinner} grader: {wide_msg} {elapsed}")
                {
                    bar.set_style(style);
                }
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            bar.set_message(message.to_string());
            return;
        }
        match spinner.take() {
            Some(bar) => {
                bar.finish_and_clear();
                eprintln!("grader: {message}");
            }
            None => eprintln!("grader: {message}"),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.spinner.borrow_mut().take() {
            bar.finish_and_clear();
        }
    }
}
