//! The command line: parses arguments and calls the pipeline. Exit codes: 0 when the command
//! did its job (whatever the score), 2 for usage errors, 1 for failures of the grader or kit.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::batch::{self, BatchOptions, Event, Outcome};
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
    /// Measure the labs' concurrency models: your servers of labs 1, 2 and 5 under 100, 500
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
            watch,
        } => {
            let lab = kit.lab(number).map_err(|e| usage(e.to_string()))?.clone();
            let grader = Grader::new(kit);
            let submission = Submission::tree(&grader.kit.root)?;
            let options = Options {
                with_hidden: false,
                jobs: jobs_or_default(jobs),
                test_slots: None,
            };
            let run = || -> Result<crate::score::SubmissionReport> {
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
            crate::watch::watch(
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
        Command::Hint { number, test } => {
            let lab = kit.lab(number).map_err(|e| usage(e.to_string()))?;
            match crate::hint::show(&kit, lab, test.as_deref())? {
                crate::hint::HintOutcome::Shown(text) => print!("{text}"),
                crate::hint::HintOutcome::Nothing(text) => println!("{text}"),
                crate::hint::HintOutcome::UnknownTest(text) => return Err(usage(text)),
            }
            Ok(true)
        }
        Command::Grade {
            submission,
            solutions,
            labs,
            format,
            out,
            jobs,
            regrade,
        } => {
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
                    jobs: jobs_or_default(jobs),
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
            } else if path.is_file() && crate::archive::Kind::of(&path).is_some() {
                let work = crate::stage::work_dir(&kit);
                std::fs::create_dir_all(&work)?;
                let scratch = tempfile::Builder::new()
                    .prefix("unpack-")
                    .tempdir_in(&work)?;
                let root = batch::unpack_single(&kit, &path, scratch.path())?;
                let kind = crate::archive::Kind::of(&path).expect("checked above");
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                _unpacked = Some(scratch);
                Submission {
                    id: kind.stem(&name),
                    source: crate::submission::Source::Tree(root),
                }
            } else {
                check_submission_shape(&path, &selected)?;
                Submission::tree(&path)?
            };
            let options = Options {
                with_hidden: true,
                jobs: jobs_or_default(jobs),
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
        Command::Gradescope { lab, out } => {
            let lab = kit.lab(lab).map_err(|e| usage(e.to_string()))?.clone();
            let grader = Grader::new(kit);
            let files =
                crate::gradescope::autograder_zip(&grader.kit, &lab, grader.toolchain(), &out)?;
            println!(
                "autograder for lab {} written to {}: {files} files (setup.sh, run_autograder, the kit \
                 without solutions). Upload it as the assignment's autograder on Gradescope.",
                lab.number,
                out.display()
            );
            Ok(true)
        }
        Command::Release { out_dir, git } => {
            let released = crate::release::release(&kit, &out_dir, git)?;
            println!(
                "release written to {}: {} files; leak scan clean ({} solution and hidden-test \
                 lines and hidden test names looked for){}",
                out_dir.display(),
                released.files,
                released.scanned_for,
                if git {
                    "; a git repository with one commit"
                } else {
                    ""
                }
            );
            Ok(true)
        }
        Command::Bench {
            grading: true,
            lab,
            copies,
            jobs,
            out,
            ..
        } => {
            let lab = kit.lab(lab).map_err(|e| usage(e.to_string()))?.clone();
            eprintln!(
                "grader: grading {copies} copies of lab {}'s solution three times, then cargo test",
                lab.number
            );
            let measured = crate::throughput::measure(&kit, &lab, copies, jobs_or_default(jobs))?;
            let table = measured.table();
            print!("{table}");
            if let Some(out) = out {
                std::fs::create_dir_all(&out)?;
                write_atomically(&out.join("grading.txt"), &table)?;
                write_atomically(
                    &out.join("grading.json"),
                    &(serde_json::to_string_pretty(&measured)? + "\n"),
                )?;
            }
            Ok(true)
        }
        Command::Bench { solutions, out, .. } => {
            crate::bench::command(&kit, solutions, out.as_deref())
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
    let width = kit.labs.iter().map(|l| l.title.len()).max().unwrap_or(5);
    println!(
        "{:<4} {:<width$} {:>13}  progress",
        "lab", "title", "public score"
    );
    let (mut earned, mut available) = (0.0, 0.0);
    for lab in &kit.labs {
        let max = lab.max_points(false);
        available += max;
        let (score, bar) = match state.score(lab.number) {
            Some((score, _)) => {
                earned += score;
                (
                    format!("{} / {}", points(score), points(max)),
                    progress_bar(score, max),
                )
            }
            None => (format!("- / {}", points(max)), "not run yet".to_string()),
        };
        println!(
            "{:<4} {:<width$} {:>13}  {bar}",
            lab.number, lab.title, score
        );
    }
    println!(
        "\n{:<4} {:<width$} {:>13}  {}",
        "",
        "all labs",
        format!("{} / {}", points(earned), points(available)),
        progress_bar(earned, available)
    );
    println!(
        "\nRun `cargo run -p grader -- lab N` (or `just lab N`) to test lab N, \
         `cargo run -p grader -- hint N` for a hint."
    );
}

/// `[#######.............]  35%`: plain characters, readable in a pipe.
fn progress_bar(earned: f64, available: f64) -> String {
    const WIDTH: usize = 20;
    let fraction = if available > 0.0 {
        (earned / available).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let filled = (fraction * WIDTH as f64).round() as usize;
    format!(
        "[{}{}] {:>3.0}%",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        fraction * 100.0
    )
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
