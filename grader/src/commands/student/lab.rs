//! `grader lab N [--watch]`: the public tests of one lab on this checkout, shown as the table
//! with hints (or another format); the score is remembered for `grader list` and `grader hint`.

use anyhow::{Context, Result};

use crate::commands::student::state::State;
use crate::commands::{progress, render, usage};
use crate::kit::submission::Submission;
use crate::kit::Kit;
use crate::report::model::SubmissionReport;
use crate::report::Format;
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
    let grader = Grader::new(kit);
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
