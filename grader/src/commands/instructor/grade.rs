//! `grader grade`: one submission (a student's tree, an archive of one, this checkout or the
//! reference solutions) graded with the hidden tests, or a folder of many graded as a
//! [`batch`] with a progress display.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::commands::instructor::archive;
use crate::commands::instructor::batch::{self, BatchOptions, Event, Outcome};
use crate::commands::{progress, render, usage};
use crate::files::write_atomically;
use crate::kit::submission::{Source, Submission};
use crate::kit::{Kit, Lab};
use crate::report::{self, points, Format};
use crate::run::grade::{Grader, Options};
use crate::run::stage;

/// What `grader grade` was asked to grade, and how to report it.
pub struct Request {
    /// A student's tree or archive, or a folder of them (default: this checkout).
    pub submission: Option<PathBuf>,
    /// Grade the reference solutions instead.
    pub solutions: bool,
    /// Only these labs (default: every lab).
    pub labs: Vec<u32>,
    pub format: Option<Format>,
    /// The report's file, or a batch's reports folder.
    pub out: Option<PathBuf>,
    /// Tests run at once.
    pub jobs: usize,
    /// Batch: ignore the cached verdicts and finished students.
    pub regrade: bool,
}

/// Grades one submission and prints or writes its report, or grades a folder as a batch.
pub fn command(kit: Kit, request: Request) -> Result<bool> {
    let Request {
        submission,
        solutions,
        labs,
        format,
        out,
        jobs,
        regrade,
    } = request;
    let selected = select_labs(&kit, &labs)?;
    let path = submission.unwrap_or_else(|| PathBuf::from("."));
    if !solutions && batch::is_batch(&kit, &path) {
        if let Some(format) = format {
            return Err(usage(format!(
                "--format {format:?} is for one submission; a batch writes every format \
                 into its --out folder"
            )));
        }
        let Some(out) = out else {
            return Err(usage(format!(
                "{} holds no labs/ folder (such as labs/{}/), so it is taken as a folder \
                 of submissions: name the reports folder with --out REPORTS_DIR",
                path.display(),
                selected
                    .first()
                    .map(|l| l.dir_name.as_str())
                    .unwrap_or("lab1")
            )));
        };
        let grader = Grader::new(kit.clone());
        let options = BatchOptions {
            jobs,
            regrade,
            limits: Default::default(),
        };
        return grade_batch(&grader, &path, &out, &selected, &options);
    }
    let grader = Grader::new(kit.clone());
    // An archive of one submission is unpacked into a scratch folder first.
    let mut _unpacked = None;
    let submission = if solutions {
        Submission::solutions()
    } else if path.is_file() && archive::Kind::of(&path).is_some() {
        let work = stage::work_dir(&kit);
        std::fs::create_dir_all(&work)?;
        let scratch = tempfile::Builder::new()
            .prefix("unpack-")
            .tempdir_in(&work)?;
        let root = batch::unpack_single(&kit, &path, scratch.path())?;
        let kind = archive::Kind::of(&path).expect("checked above");
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        _unpacked = Some(scratch);
        Submission {
            id: kind.stem(&name),
            source: Source::Tree(root),
        }
    } else {
        check_submission_shape(&path, &selected)?;
        Submission::tree(&path)?
    };
    let options = Options {
        with_hidden: true,
        jobs,
        test_slots: None,
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
            "the submission {} is neither a folder nor a .zip, .tar.gz or .tgz archive",
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

/// Grades a folder of submissions, with a progress bar on a terminal and plain lines in a pipe.
fn grade_batch(
    grader: &Grader,
    dir: &Path,
    out: &Path,
    labs: &[&Lab],
    options: &BatchOptions,
) -> Result<bool> {
    let display = BatchDisplay::new(std::io::stderr().is_terminal());
    let result = batch::run(grader, dir, out, labs, options, &|event| {
        display.show(event)
    })?;
    display.finish();
    eprintln!(
        "grader: {} submissions: {} graded, {} already graded, {} with problems; class reports \
         ({} students) in {}",
        result.total,
        result.graded,
        result.reused,
        result.problems,
        result.in_class_reports,
        out.display()
    );
    Ok(true)
}

/// How a batch shows its progress: an indicatif bar (done/total, current student, elapsed,
/// ETA) on a terminal, one plain line per event in a pipe.
struct BatchDisplay {
    bar: Option<indicatif::ProgressBar>,
    started: std::time::Instant,
    state: std::sync::Mutex<DisplayState>,
}

#[derive(Default)]
struct DisplayState {
    total: usize,
    done: usize,
    /// Students graded (not reused) so far: with the elapsed time, the ETA's basis (two
    /// students are graded at once, so their own durations would overstate it).
    graded: usize,
}

impl BatchDisplay {
    fn new(terminal: bool) -> BatchDisplay {
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new(0);
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} ETA {prefix} {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix("?");
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        BatchDisplay {
            bar,
            started: std::time::Instant::now(),
            state: Default::default(),
        }
    }

    fn eta(&self, state: &DisplayState) -> String {
        if state.graded == 0 {
            return "?".into();
        }
        let left = state.total.saturating_sub(state.done) as f64;
        let per_student = self.started.elapsed().as_secs_f64() / state.graded as f64;
        let seconds = (per_student * left).round() as u64;
        humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("grader: {text}"),
        }
    }

    fn show(&self, event: Event) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match event {
            Event::Started { total, ignored } => {
                state.total = total;
                if let Some(bar) = &self.bar {
                    bar.set_length(total as u64);
                }
                drop(state);
                self.line(&format!("grading {total} submissions"));
                if !ignored.is_empty() {
                    self.line(&format!(
                        "ignored (not a folder, .zip or .tar.gz): {}",
                        ignored.join(", ")
                    ));
                }
            }
            Event::Student { index, id } => match &self.bar {
                Some(bar) => bar.set_message(id.to_string()),
                None => eprintln!("grader: [{}/{}] {id}", index + 1, state.total),
            },
            Event::Step { id, message } => match &self.bar {
                Some(bar) => bar.set_message(format!("{id}: {message}")),
                None => eprintln!("grader:     {id}: {message}"),
            },
            Event::Finished { index, id, outcome } => {
                state.done += 1;
                let text = match outcome {
                    Outcome::Graded {
                        score,
                        max_score,
                        seconds,
                        from_cache,
                    } => {
                        state.graded += 1;
                        format!(
                            "{}/{} in {seconds:.1}s{}",
                            points(*score),
                            points(*max_score),
                            if *from_cache > 0 {
                                format!(" ({from_cache} labs unchanged, from the cache)")
                            } else {
                                String::new()
                            }
                        )
                    }
                    Outcome::Reused { score, max_score } => format!(
                        "{}/{}, already graded (unchanged; --regrade grades it again)",
                        points(*score),
                        points(*max_score)
                    ),
                    Outcome::Problem { message } => {
                        format!("problem: {}", message.lines().next().unwrap_or(""))
                    }
                };
                let eta = self.eta(&state);
                let (done, total) = (state.done, state.total);
                drop(state);
                match &self.bar {
                    Some(bar) => {
                        bar.set_prefix(eta);
                        bar.inc(1);
                        bar.println(format!("{id}: {text}"));
                    }
                    None => eprintln!(
                        "grader: [{}/{total}] {id}: {text} (done {done}/{total}, elapsed {}, ETA {eta})",
                        index + 1,
                        humantime::format_duration(std::time::Duration::from_secs(
                            self.started.elapsed().as_secs()
                        )),
                    ),
                }
            }
            Event::ClassReports => {
                drop(state);
                match &self.bar {
                    Some(bar) => bar.set_message("writing the class reports"),
                    None => eprintln!("grader: writing the class reports"),
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
