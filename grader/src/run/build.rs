//! Building a lab with cargo, in one of two ways.
//!
//! - **Staged** (instructor grading: `grade`, batches, `selfcheck`, Gradescope): a staged copy
//!   of the kit is built into the grader's own target directory, with the kit's `Cargo.lock`
//!   (`--locked`), so tokio, mio and the rest compile once per machine, and with a cleared
//!   environment: a student's `RUSTFLAGS` or `CARGO_*` settings play no part. The library
//!   alone first, then its test targets.
//! - **In place** (the student's `grader lab N`): the student's own checkout, built exactly as
//!   their `cargo test -p labN` builds it (their environment, cargo's usual target directory,
//!   the same profile and features), so each build serves the other and nothing compiles
//!   twice.
//!
//! Either way cargo's progress is relayed while it builds (which crate, how many are left,
//! whether it waits on another cargo's lock), so a first build never looks hung.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::kit::Lab;

/// Runs cargo for the grader.
#[derive(Debug, Clone)]
pub struct Cargo {
    program: OsString,
    /// `None`: in place, into cargo's usual target directory (`CARGO_TARGET_DIR`, else the
    /// workspace's `target/`), in the caller's environment.
    target_dir: Option<PathBuf>,
    offline: bool,
    /// How often at most a build's progress is passed on (lock waits: at once).
    progress_every: Duration,
}

/// A build that failed: the compiler's first error, with the file it points at.
#[derive(Debug, Clone)]
pub struct BuildFailure {
    /// The first error as the compiler rendered it (paths relative to the lab).
    pub first_error: String,
    /// The file of the first error, relative to the lab folder, when it names one.
    pub file: Option<String>,
}

/// Executables by target name: tests (`public`, `hidden`) and binaries (`lab1`).
pub type TestBinaries = BTreeMap<String, PathBuf>;

/// What a build produced.
#[derive(Debug, Clone, Default)]
pub struct Artifacts {
    /// Test executables by target name (`public`, `hidden`).
    pub tests: TestBinaries,
    /// The lab's provided programs (`lab1`, which starts the student's server).
    pub programs: BTreeMap<String, PathBuf>,
    /// Compiler warnings (in place only), each as (its primary file, relative to the
    /// workspace, and the warning as rustc rendered it).
    pub warnings: Vec<(String, String)>,
}

/// Variables that `cargo run` sets for the program it runs (the grader), which the student's
/// own cargo never sees: removed before an in-place build, so that it matches theirs.
const SET_BY_CARGO_RUN: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
];

impl Cargo {
    /// Cargo as the grader itself was started with (`$CARGO` under `cargo run`), building into
    /// `target_dir`. Dependencies are fetched once, so later builds can run offline.
    pub fn new(target_dir: PathBuf, kit_root: &Path) -> Cargo {
        let mut cargo = Cargo {
            program: program(),
            target_dir: Some(target_dir),
            offline: false,
            progress_every: Duration::from_secs(2),
        };
        cargo.offline = *FETCHED.get_or_init(|| {
            let mut fetch = cargo.command(kit_root);
            fetch
                .args(["fetch", "--locked"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            matches!(fetch.status(), Ok(status) if status.success())
        });
        cargo
    }

    /// Cargo for the student's own checkout: their environment, cargo's usual target
    /// directory, their `Cargo.lock` as their own `cargo test` would use it.
    pub fn in_place() -> Cargo {
        Cargo {
            program: program(),
            target_dir: None,
            offline: false,
            progress_every: Duration::from_secs(2),
        }
    }

    /// Whether this cargo builds the student's checkout in place.
    pub fn is_in_place(&self) -> bool {
        self.target_dir.is_none()
    }

    /// Passes a build's progress on at most this often (a terminal redraws more often).
    pub fn with_progress_every(mut self, every: Duration) -> Cargo {
        self.progress_every = every;
        self
    }

    /// `rustc --version` of the toolchain that builds the labs.
    pub fn toolchain(&self, dir: &Path) -> String {
        let rustc_path = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let output = Command::new(rustc_path)
            .arg("--version")
            .env_clear()
            .envs(allowed_env())
            .current_dir(dir)
            .output();
        match output {
            Ok(out) if out.status.success() => {
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            }
            _ => "unknown".into(),
        }
    }

    /// `cargo test -p <lab>` in a staged tree, as the grader builds (same target directory,
    /// environment, lock file): the baseline the grading-throughput benchmark compares with.
    pub fn plain_test(&self, root: &Path, lab: &Lab) -> Command {
        let mut command = self.command(root);
        command.args(["test", "-q", "-p", &lab.package, "--locked"]);
        if self.offline {
            command.arg("--offline");
        }
        command
    }

    fn command(&self, dir: &Path) -> Command {
        let mut command = Command::new(&self.program);
        command.current_dir(dir).stdin(Stdio::null());
        match &self.target_dir {
            Some(target_dir) => {
                command.env_clear().envs(staged_build_env(target_dir));
            }
            None => {
                for name in SET_BY_CARGO_RUN {
                    command.env_remove(name);
                }
                for (name, _) in std::env::vars_os() {
                    if name.to_string_lossy().starts_with("CARGO_PKG_") {
                        command.env_remove(name);
                    }
                }
            }
        }
        command
    }

    fn cargo_args(&self, command: &mut Command) {
        if self.is_in_place() {
            // As the student's own `cargo test`: no `--locked`, and the diagnostics as JSON,
            // so that the warnings of their files can be picked out.
            command.args(["--message-format", "json"]);
        } else {
            command.arg("--locked");
            if self.offline {
                command.arg("--offline");
            }
            command.args(["--message-format", "json-render-diagnostics"]);
        }
        // Cargo's progress bar even on a pipe: the grader reads it and relays it.
        command
            .env("CARGO_TERM_PROGRESS_WHEN", "always")
            .env("CARGO_TERM_PROGRESS_WIDTH", "160");
    }

    /// Phase 1: the lab's library alone (no test may exist yet that it could pull in).
    pub fn build_library(
        &self,
        root: &Path,
        lab: &Lab,
        lab_dir: &Path,
        progress: &dyn Fn(&str),
    ) -> Result<Result<(), BuildFailure>> {
        let mut command = self.command(root);
        command.args(["build", "--lib", "-p", &lab.package]);
        self.cargo_args(&mut command);
        Ok(self.run(command, lab, lab_dir, progress)?.map(|_| ()))
    }

    /// Phase 2 (or the only phase, in place): the test targets named in `targets`; returns
    /// their executables.
    pub fn build_tests(
        &self,
        root: &Path,
        lab: &Lab,
        lab_dir: &Path,
        targets: &[&str],
        progress: &dyn Fn(&str),
    ) -> Result<Result<Artifacts, BuildFailure>> {
        let command = || {
            let mut command = self.command(root);
            command.args(["test", "--no-run", "-p", &lab.package]);
            for target in targets {
                command.args(["--test", target]);
            }
            self.cargo_args(&mut command);
            command
        };
        match self.run(command(), lab, lab_dir, progress)? {
            // At opt-level 1, rustc's incremental caches occasionally link a test binary
            // against code units of an earlier version of the lab ("undefined hidden symbol:
            // anon.<hash>.llvm.<n>", rust-lang/rust#81280): a submission must never fail
            // because of what was graded before it. Linking once more without the caches
            // settles it; incremental builds stay the rule, as they halve the fixture corpus.
            Err(failure) if !self.is_in_place() && is_link_failure(&failure) => {
                progress(&format!(
                    "lab {}: linking failed; building again without incremental caches",
                    lab.number
                ));
                let mut again = command();
                again.env("CARGO_INCREMENTAL", "0");
                self.run(again, lab, lab_dir, progress)
            }
            built => Ok(built),
        }
    }

    fn run(
        &self,
        mut command: Command,
        lab: &Lab,
        lab_dir: &Path,
        progress: &dyn Fn(&str),
    ) -> Result<Result<Artifacts, BuildFailure>> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running {:?}", self.program))?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stdout).read_to_string(&mut text);
            text
        });
        let (events, heard) = mpsc::channel();
        let listener = std::thread::spawn(move || read_progress(stderr, events));
        Relay::new(lab.number, self.progress_every).follow(&heard, progress);
        let stderr_text = listener.join().unwrap_or_default();
        let stdout = reader.join().unwrap_or_default();
        let status = child.wait().context("waiting for cargo")?;

        let mut artifacts = Artifacts::default();
        let mut first_error: Option<BuildFailure> = None;
        for line in stdout.lines() {
            let Ok(message) = serde_json::from_str::<Message>(line) else {
                continue;
            };
            match message.reason.as_str() {
                "compiler-artifact" => {
                    if let (Some(target), Some(executable)) = (message.target, message.executable) {
                        if target.kind.iter().any(|k| k == "test") {
                            artifacts.tests.insert(target.name, executable);
                        } else if target.kind.iter().any(|k| k == "bin") {
                            artifacts.programs.insert(target.name, executable);
                        }
                    }
                }
                "compiler-message" => match message.message {
                    Some(diagnostic) if diagnostic.level == "error" && first_error.is_none() => {
                        first_error = Some(failure_from(&diagnostic, lab_dir));
                    }
                    Some(diagnostic) if diagnostic.level == "warning" => {
                        if let (Some(span), Some(rendered)) = (
                            diagnostic.spans.iter().find(|s| s.is_primary),
                            &diagnostic.rendered,
                        ) {
                            let warning = (span.file_name.clone(), rendered.clone());
                            if !artifacts.warnings.contains(&warning) {
                                artifacts.warnings.push(warning);
                            }
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        if status.success() {
            return Ok(Ok(artifacts));
        }
        // No compiler error: cargo itself refused (a manifest, the lock file, the toolchain).
        let failure = first_error.unwrap_or_else(|| BuildFailure {
            first_error: tail(&cargo_complaint(&stderr_text, lab_dir), 40),
            file: None,
        });
        Ok(Err(failure))
    }
}

fn program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// What cargo's standard error says about a build's progress.
#[derive(Debug, Clone, PartialEq)]
enum Heard {
    /// `Blocking waiting for file lock on build directory`: what it waits for.
    Blocking(String),
    /// `Compiling tokio v1.47.1`: the crate's name.
    Compiling(String),
    /// `Building [===>   ] 42/97: tokio, mio`: units done, units in all, those in progress.
    Building {
        done: usize,
        total: usize,
        active: String,
    },
}

/// One line (or carriage-return-separated redraw) of cargo's standard error, understood.
fn hear(line: &str) -> Option<Heard> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("Blocking waiting for file lock on ") {
        return Some(Heard::Blocking(rest.trim().to_string()));
    }
    if let Some(rest) = line.strip_prefix("Compiling ") {
        let name = rest.split_whitespace().next()?;
        return Some(Heard::Compiling(name.to_string()));
    }
    let rest = line.strip_prefix("Building [")?;
    let (_, counts) = rest.split_once("] ")?;
    let (counts, active) = counts.split_once(':').unwrap_or((counts, ""));
    let (done, total) = counts.trim().split_once('/')?;
    Some(Heard::Building {
        done: done.trim().parse().ok()?,
        total: total.trim().parse().ok()?,
        active: active.trim().to_string(),
    })
}

/// Reads cargo's standard error to its end, passing on what it hears; returns the text
/// without the progress redraws (for a complaint).
fn read_progress(stderr: impl Read, events: mpsc::Sender<Heard>) -> String {
    let mut kept = String::new();
    let mut reader = BufReader::new(stderr);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        // Cargo redraws its progress bar after a carriage return; other lines end in `\n`.
        match read_until_either(&mut reader, &mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\r', '\n']);
        match hear(line) {
            Some(heard @ Heard::Building { .. }) => {
                let _ = events.send(heard);
            }
            Some(heard) => {
                kept.push_str(line);
                kept.push('\n');
                let _ = events.send(heard);
            }
            None if !line.trim().is_empty() => {
                kept.push_str(line);
                kept.push('\n');
            }
            None => {}
        }
    }
    kept
}

/// Reads up to and including the next `\n` or `\r`.
fn read_until_either(reader: &mut impl BufRead, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut read = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(read);
        }
        match available.iter().position(|b| *b == b'\n' || *b == b'\r') {
            Some(at) => {
                buffer.extend_from_slice(&available[..=at]);
                reader.consume(at + 1);
                return Ok(read + at + 1);
            }
            None => {
                let length = available.len();
                buffer.extend_from_slice(available);
                reader.consume(length);
                read += length;
            }
        }
    }
}

/// Turns what cargo says into progress messages: at most one every `every`, a lock wait at
/// once, and a sign of life when cargo has been quiet for a while (one crate can take a minute).
struct Relay {
    lab: u32,
    every: Duration,
    started: Instant,
    last_said: Option<Instant>,
    said: String,
    counts: Option<(usize, usize)>,
    active: String,
}

/// Cargo quiet for this long: say that it still works.
const QUIET: Duration = Duration::from_secs(10);

impl Relay {
    fn new(lab: u32, every: Duration) -> Relay {
        Relay {
            lab,
            every,
            started: Instant::now(),
            last_said: None,
            said: String::new(),
            counts: None,
            active: String::new(),
        }
    }

    /// Until cargo closes its standard error.
    fn follow(&mut self, heard: &mpsc::Receiver<Heard>, progress: &dyn Fn(&str)) {
        loop {
            match heard.recv_timeout(self.every.min(QUIET)) {
                Ok(Heard::Blocking(what)) => {
                    let message = format!(
                        "lab {}: waiting for another cargo (a build or `cargo test` still \
                         running?) to release its file lock on the {what}",
                        self.lab
                    );
                    self.say(&message, progress);
                }
                Ok(Heard::Compiling(name)) => {
                    if self.counts.is_none() {
                        self.active = name;
                        self.maybe_say(progress);
                    }
                }
                Ok(Heard::Building {
                    done,
                    total,
                    active,
                }) => {
                    self.counts = Some((done, total));
                    self.active = active;
                    self.maybe_say(progress);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let quiet = self.last_said.is_none_or(|t| t.elapsed() >= QUIET);
                    if quiet && self.started.elapsed() >= QUIET {
                        let message = format!(
                            "{} (still working, {}s so far)",
                            self.building(),
                            self.started.elapsed().as_secs()
                        );
                        self.say(&message, progress);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn building(&self) -> String {
        let mut message = format!("lab {}: building", self.lab);
        if let Some((done, total)) = self.counts {
            message.push_str(&format!(
                ", {done} of {total} crates compiled, {} to go",
                total.saturating_sub(done)
            ));
        }
        if !self.active.is_empty() {
            message.push_str(&format!("; compiling {}", self.active));
        }
        message
    }

    fn maybe_say(&mut self, progress: &dyn Fn(&str)) {
        if self.last_said.is_none_or(|t| t.elapsed() >= self.every) {
            let message = self.building();
            if message != self.said {
                self.say(&message, progress);
            }
        }
    }

    fn say(&mut self, message: &str, progress: &dyn Fn(&str)) {
        progress(message);
        self.said = message.to_string();
        self.last_said = Some(Instant::now());
    }
}

static FETCHED: OnceLock<bool> = OnceLock::new();

/// The whole environment of a staged build into `target_dir`: the toolchain's variables and
/// the grader's own settings. Anything else that builds into the grader's target directory
/// (the release check) uses it too, so that it reuses what the staged builds compiled.
pub fn staged_build_env(target_dir: &Path) -> Vec<(String, OsString)> {
    let mut env: Vec<(String, OsString)> = allowed_env()
        .into_iter()
        .map(|(name, value)| (name, value.into()))
        .collect();
    env.extend([
        ("CARGO_TARGET_DIR".to_string(), target_dir.into()),
        ("CARGO_TERM_COLOR".to_string(), "never".into()),
        // Graded tests run with RUST_BACKTRACE=0, and a panic's file and line are compiled
        // in, not read from debuginfo: without it every graded build compiles and links
        // faster, and the build tree is smaller.
        ("CARGO_PROFILE_DEV_DEBUG".to_string(), "false".into()),
        ("CARGO_PROFILE_TEST_DEBUG".to_string(), "false".into()),
    ]);
    env
}

/// A build that compiled and failed to link. The compiler reports a student's mistakes before
/// linking, so this is almost always the incremental caches; a link failure of the student's
/// own (an `extern` block naming a missing library) fails again on the retry and is reported.
fn is_link_failure(failure: &BuildFailure) -> bool {
    failure.first_error.contains("error: linking with")
}

/// The only variables a build or a test sees: enough to find the toolchain, nothing else.
pub fn allowed_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        "PATH",
        "HOME",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
    ]
    .iter()
    .filter_map(|name| {
        std::env::var(name)
            .ok()
            .map(|value| (name.to_string(), value))
    })
    .collect();
    if !env.iter().any(|(name, _)| name == "PATH") {
        env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_failure_is_told_from_a_compile_error() {
        let failure = |text: &str| BuildFailure {
            first_error: text.to_string(),
            file: None,
        };
        assert!(is_link_failure(&failure(
            "error: linking with `cc` failed: exit status: 1\n  = note: rust-lld: error: \
             undefined hidden symbol: anon.64c7.0.llvm.7774"
        )));
        assert!(!is_link_failure(&failure(
            "error[E0308]: mismatched types\n --> src/pool.rs:3:5"
        )));
    }

    #[test]
    fn cargo_progress_is_heard() {
        assert_eq!(
            hear("    Blocking waiting for file lock on build directory"),
            Some(Heard::Blocking("build directory".into()))
        );
        assert_eq!(
            hear("   Compiling tokio v1.47.1"),
            Some(Heard::Compiling("tokio".into()))
        );
        assert_eq!(
            hear("    Building [=====>     ] 42/97: tokio, mio(build)      "),
            Some(Heard::Building {
                done: 42,
                total: 97,
                active: "tokio, mio(build)".into()
            })
        );
        assert_eq!(hear("warning: unused variable"), None);
    }

    #[test]
    fn a_relay_says_counts_and_lock_waits() {
        let (send, receive) = mpsc::channel();
        let stderr =
            "    Blocking waiting for file lock on build directory\n   Compiling a v1\n    \
                      Building [=>  ] 1/4: b\r    Building [==> ] 2/4: c\r\nerror: oops\n";
        let kept = read_progress(stderr.as_bytes(), send);
        assert!(
            kept.contains("error: oops") && !kept.contains("2/4"),
            "{kept}"
        );
        let said = std::cell::RefCell::new(Vec::new());
        Relay::new(3, Duration::ZERO).follow(&receive, &|m| said.borrow_mut().push(m.to_string()));
        let said = said.into_inner();
        assert!(
            said[0].contains("file lock on the build directory"),
            "{said:?}"
        );
        assert_eq!(
            said.last().unwrap(),
            "lab 3: building, 2 of 4 crates compiled, 2 to go; compiling c"
        );
    }

    #[test]
    fn cargo_complaints_lose_progress_lines_and_scratch_paths() {
        let lab = Path::new("/work/kit/target/grader/stage-1/kit/labs/lab1-blocking");
        let stderr = "   Compiling support v0.1.0 (/work/kit/target/grader/stage-1/kit/labs/support)\n\
            error: failed to parse manifest at `/work/kit/target/grader/stage-1/kit/labs/lab1-blocking/Cargo.toml`\n";
        assert_eq!(
            cargo_complaint(stderr, lab),
            "error: failed to parse manifest at `Cargo.toml`"
        );
    }
}

/// One line of cargo's `--message-format json` output (the fields the grader reads); the
/// bench reads its own builds with it too.
#[derive(Deserialize)]
pub(crate) struct Message {
    pub(crate) reason: String,
    pub(crate) target: Option<Target>,
    pub(crate) executable: Option<PathBuf>,
    pub(crate) message: Option<Diagnostic>,
}

#[derive(Deserialize)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) kind: Vec<String>,
}

#[derive(Deserialize)]
pub(crate) struct Diagnostic {
    pub(crate) level: String,
    pub(crate) rendered: Option<String>,
    pub(crate) message: String,
    #[serde(default)]
    spans: Vec<Span>,
}

#[derive(Deserialize)]
struct Span {
    file_name: String,
    is_primary: bool,
}

fn failure_from(diagnostic: &Diagnostic, lab_dir: &Path) -> BuildFailure {
    let rendered = diagnostic
        .rendered
        .clone()
        .unwrap_or_else(|| diagnostic.message.clone());
    let tidy = |text: &str| without_scratch_paths(text, lab_dir);
    let file = diagnostic
        .spans
        .iter()
        .find(|span| span.is_primary)
        .map(|span| tidy(&span.file_name));
    BuildFailure {
        first_error: tail(&tidy(&rendered), 40),
        file,
    }
}

/// Paths inside the grader's scratch copy, made relative to the lab or the kit.
fn without_scratch_paths(text: &str, lab_dir: &Path) -> String {
    let lab_prefix = format!("{}/", lab_dir.display());
    let root = lab_dir.parent().and_then(Path::parent).unwrap_or(lab_dir);
    text.replace(&lab_prefix, "")
        .replace(&format!("{}/", root.display()), "")
        .replace(&format!(" ({})", root.display()), "")
        .replace(&root.display().to_string(), ".")
}

/// Cargo's own complaint, without its progress lines.
fn cargo_complaint(stderr: &str, lab_dir: &Path) -> String {
    let progress = [
        "Compiling",
        "Checking",
        "Blocking",
        "Downloaded",
        "Downloading",
        "Finished",
        "Building",
        "Fresh",
        "Locking",
        "Updating",
    ];
    let kept: Vec<&str> = stderr
        .lines()
        .filter(|line| {
            !progress
                .iter()
                .any(|word| line.trim_start().starts_with(word))
        })
        .collect();
    without_scratch_paths(&kept.join("\n"), lab_dir)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
