//! Building a staged lab with cargo: the library alone first, then its test targets.
//!
//! Every build goes into one target directory shared by all slots, with the kit's
//! `Cargo.lock` (`--locked`), so tokio, mio and the rest compile once per machine. Cargo runs
//! with a cleared environment: a student's `RUSTFLAGS` or `CARGO_*` settings play no part.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::kit::Lab;

/// Runs cargo for the grader.
#[derive(Debug, Clone)]
pub struct Cargo {
    program: OsString,
    target_dir: PathBuf,
    offline: bool,
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
    /// The lab's provided programs by name (`lab1`, which starts the student's server).
    pub programs: BTreeMap<String, PathBuf>,
}

impl Cargo {
    /// Cargo as the grader itself was started with (`$CARGO` under `cargo run`), building into
    /// `target_dir`. Dependencies are fetched once, so later builds can run offline.
    pub fn new(target_dir: PathBuf, kit_root: &Path) -> Cargo {
        let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cargo = Cargo {
            program,
            target_dir,
            offline: false,
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
        command
            .current_dir(dir)
            .env_clear()
            .envs(allowed_env())
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env("CARGO_TERM_COLOR", "never")
            .stdin(Stdio::null());
        command
    }

    fn cargo_args(&self, command: &mut Command) {
        command.arg("--locked");
        if self.offline {
            command.arg("--offline");
        }
        command.args(["--message-format", "json-render-diagnostics"]);
    }

    /// Phase 1: the lab's library alone (no test may exist yet that it could pull in).
    pub fn build_library(
        &self,
        root: &Path,
        lab: &Lab,
        lab_dir: &Path,
    ) -> Result<Result<(), BuildFailure>> {
        let mut command = self.command(root);
        command.args(["build", "--lib", "-p", &lab.package]);
        self.cargo_args(&mut command);
        Ok(self.run(command, lab_dir)?.map(|_| ()))
    }

    /// Phase 2: the test targets named in `targets`; returns their executables.
    pub fn build_tests(
        &self,
        root: &Path,
        lab: &Lab,
        lab_dir: &Path,
        targets: &[&str],
    ) -> Result<Result<Artifacts, BuildFailure>> {
        let mut command = self.command(root);
        command.args(["test", "--no-run", "-p", &lab.package]);
        for target in targets {
            command.args(["--test", target]);
        }
        self.cargo_args(&mut command);
        self.run(command, lab_dir)
    }

    fn run(&self, mut command: Command, lab_dir: &Path) -> Result<Result<Artifacts, BuildFailure>> {
        let output = command
            .output()
            .with_context(|| format!("running {:?}", self.program))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
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
                "compiler-message" if first_error.is_none() => {
                    if let Some(diagnostic) = message.message.filter(|d| d.level == "error") {
                        first_error = Some(failure_from(&diagnostic, lab_dir));
                    }
                }
                _ => {}
            }
        }
        if output.status.success() {
            return Ok(Ok(artifacts));
        }
        // No compiler error: cargo itself refused (a manifest, the lock file, the toolchain).
        let failure = first_error.unwrap_or_else(|| BuildFailure {
            first_error: tail(
                &cargo_complaint(&String::from_utf8_lossy(&output.stderr), lab_dir),
                40,
            ),
            file: None,
        });
        Ok(Err(failure))
    }
}

static FETCHED: OnceLock<bool> = OnceLock::new();

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

#[derive(Deserialize)]
struct Message {
    reason: String,
    target: Option<Target>,
    executable: Option<PathBuf>,
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    rendered: Option<String>,
    message: String,
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
