//! Lab 6: the cost of a task on the student's executors against tokio's runtimes.
//!
//! The lab ships the measurement itself, `benches/spawn.rs` (100 000 trivial tasks spawned
//! and awaited, median of several rounds, on both executors in one run). The bench stages the
//! submission's lab 6 and builds that target the way the grader builds a lab's tests (the
//! shared build tree and target directory under the build lock, the kit's lock file, a cleared
//! environment), runs it with a time limit in its own process group, and reads the figures it
//! prints. Using the lab's own program means the numbers are
//! the ones a student sees with `cargo bench -p lab6`, not a second implementation of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result};

use super::process;
use super::results::{Comparison, ExecutorBench, Status};
use crate::kit::submission::Submission;
use crate::kit::{Kit, Lab};
use crate::run::build::Message;
use crate::run::stage::{self, BuildLock, Slot};

/// The benchmark target of lab 6 (`[[bench]] name = "spawn"`).
pub const TARGET: &str = "spawn";

/// The longest the benchmark may run: the reference solution needs a few seconds; a student
/// executor that loses a wake-up would otherwise hang the bench.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The lines the benchmark prints: each setting, your executor's line, tokio's line.
const PAIRS: [(&str, &str, &str); 2] = [
    (
        "one thread",
        "your Executor",
        "tokio current-thread runtime",
    ),
    (
        "two worker threads",
        "your ThreadPool::new(2)",
        "tokio multi-thread runtime, 2 workers",
    ),
];

/// How the benchmark is built. `cargo build --bench` compiles with the dev profile, as the
/// grader builds the labs: dependencies (tokio) at `opt-level = 2`, the workspace's crates at 1.
/// The lab crate is raised to tokio's level so that both sides of the ratio are compiled
/// alike; debug assertions stay on for both.
pub const BUILD: &str = "dev profile as the grader builds the labs, with lab6 raised to tokio's \
     opt-level 2 (debug assertions on for both); `cargo bench -p lab6` optimises both fully";

/// Stages the submission's lab 6 and builds its benchmark; the executable (copied into the
/// grader's slot), or why there is none (missing files, the compiler's first error).
///
/// Staging, building and copying the executable out all happen under the grader's build lock,
/// as `Grader::build_lab` does: every grader builds in one tree into one target directory, and
/// cargo rebuilds the lab crate only for sources newer than the last build, whoever made it.
/// Files staged before another grader's build would look older than its output, and the bench
/// would measure that grader's submission.
pub fn build(
    kit: &Kit,
    lab: &Lab,
    submission: &Submission,
    slot: &Slot,
) -> Result<Result<PathBuf, String>> {
    let files = match submission.editable_files(kit, lab) {
        Ok(files) => files,
        Err(missing) => return Ok(Err(format!("its files are missing: {}", missing.message))),
    };
    let building = BuildLock::acquire(kit)?;
    let staged = stage::stage(kit, lab, &files, &building)?;
    let root = staged.root.as_path();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo_in = |args: &[&str]| {
        let mut command = process::command(&cargo);
        command
            .current_dir(root)
            .env("CARGO_TARGET_DIR", stage::work_dir(kit).join("target"))
            .env("CARGO_TERM_COLOR", "never")
            .args(args);
        command
    };
    // Offline when every dependency is already on this machine, as the grader's builds.
    let offline = cargo_in(&["fetch", "--locked", "--offline"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let opt_level = format!("profile.dev.package.{}.opt-level=2", lab.package);
    // Plain `json`: compiler errors arrive rendered inside the messages (where
    // `json-render-diagnostics` would print them to standard error instead).
    let mut args = vec![
        "build",
        "--bench",
        TARGET,
        "-p",
        &lab.package,
        "--locked",
        "--config",
        &opt_level,
        "--message-format",
        "json",
    ];
    if offline {
        args.push("--offline");
    }
    let output = cargo_in(&args)
        .output()
        .with_context(|| format!("running {cargo:?}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (executable, first_error) = read_messages(&stdout);
    match executable {
        Some(executable) if output.status.success() => {
            let kept = slot.keep_executables(&BTreeMap::from([(
                format!("{}-bench-{TARGET}", lab.package),
                executable,
            )]))?;
            Ok(Ok(kept
                .into_values()
                .next()
                .context("the kept benchmark")?))
        }
        _ => {
            let error = first_error.unwrap_or_else(|| {
                let stderr = String::from_utf8_lossy(&output.stderr);
                stderr
                    .lines()
                    .find(|line| line.starts_with("error"))
                    .unwrap_or("cargo failed without a message")
                    .to_string()
            });
            let error = error.replace(&format!("{}/", root.display()), "");
            let said: Vec<&str> = error
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(2)
                .collect();
            Ok(Err(format!(
                "it does not build: {} (`cargo build -p {}` shows every error)",
                said.join(" "),
                lab.package
            )))
        }
    }
}

/// The benchmark's executable and the first compiler error, from cargo's JSON messages.
fn read_messages(stdout: &str) -> (Option<PathBuf>, Option<String>) {
    let mut executable = None;
    let mut first_error = None;
    for message in stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Message>(line).ok())
    {
        match message.reason.as_str() {
            "compiler-artifact"
                if message
                    .target
                    .as_ref()
                    .is_some_and(|t| t.kind.iter().any(|k| k == "bench")) =>
            {
                executable = message.executable.or(executable);
            }
            "compiler-message" if first_error.is_none() => {
                first_error = message
                    .message
                    .filter(|d| d.level == "error")
                    .map(|d| d.rendered.unwrap_or(d.message));
            }
            _ => {}
        }
    }
    (executable, first_error)
}

/// Runs the built benchmark in `cwd` and reads its figures. `timeout_hint` is the lab's word
/// on what usually makes it hang.
pub fn run(executable: &Path, cwd: &Path, timeout_hint: Option<&str>) -> ExecutorBench {
    let mut command = process::command(executable);
    command.current_dir(cwd);
    let finished = match process::run_with_limit(&mut command, LIMIT) {
        Ok(finished) => finished,
        Err(error) => return not_working(format!("the benchmark did not start: {error}")),
    };
    let mut bench = figures(&finished.stdout);
    let complete = |c: &Comparison| c.yours_ns_per_task.is_some() && c.tokio_ns_per_task.is_some();
    if bench.comparisons.iter().all(complete) && bench.comparisons.len() == PAIRS.len() {
        return bench;
    }
    let mut reason = match finished.status {
        None => format!(
            "the benchmark {}{}",
            finished.describe(LIMIT),
            timeout_hint.map(|h| format!(". {h}")).unwrap_or_default()
        ),
        Some(status) if !status.success() => {
            format!("the benchmark {}", process::describe_exit(status))
        }
        Some(_) => "your executor panicked".to_string(),
    };
    if let Some(message) = process::panic_message(&finished.stderr) {
        reason.push_str(": ");
        reason.push_str(&message);
    }
    bench.reason = Some(reason);
    if !bench
        .comparisons
        .iter()
        .any(|c| c.yours_ns_per_task.is_some())
    {
        bench.status = Status::NotWorking;
    }
    bench
}

/// A lab 6 that could not be measured at all.
pub fn not_working(reason: String) -> ExecutorBench {
    ExecutorBench {
        status: Status::NotWorking,
        reason: Some(reason),
        tasks: None,
        build: BUILD.to_string(),
        comparisons: Vec::new(),
        output: String::new(),
    }
}

/// Reads the benchmark's output:
///
/// ```text
/// spawn 100000 trivial tasks and await them all (median of 7 rounds)
/// one thread:
///   your Executor                               12.34 ms      123 ns/task
///   tokio current-thread runtime                 5.67 ms       57 ns/task
/// ```
///
/// A setting appears once the benchmark got to print it; an executor that panicked says
/// `not working yet` where its figures would be.
pub fn figures(stdout: &str) -> ExecutorBench {
    let tasks = stdout.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next() == Some("spawn"))
            .then(|| words.next()?.parse::<u64>().ok())
            .flatten()
    });
    let line_of = |name: &str| {
        stdout
            .lines()
            .find(|line| line.trim_start().starts_with(name))
    };
    let comparisons = PAIRS
        .iter()
        .filter(|(_, yours, tokio)| line_of(yours).is_some() || line_of(tokio).is_some())
        .map(|(setting, yours, tokio)| Comparison {
            setting: setting.to_string(),
            yours: yours.to_string(),
            tokio: tokio.to_string(),
            yours_ns_per_task: line_of(yours).and_then(|l| ns_per_task(l, tasks)),
            tokio_ns_per_task: line_of(tokio).and_then(|l| ns_per_task(l, tasks)),
        })
        .collect::<Vec<_>>();
    let status = if comparisons.iter().any(|c| c.yours_ns_per_task.is_some()) {
        Status::Measured
    } else {
        Status::NotWorking
    };
    ExecutorBench {
        status,
        reason: None,
        tasks,
        build: BUILD.to_string(),
        comparisons,
        output: stdout.chars().take(4096).collect(),
    }
}

/// The time per task on one line: from the total in milliseconds (two decimals) when the
/// number of tasks is known, which is finer than the rounded `ns/task` figure.
fn ns_per_task(line: &str, tasks: Option<u64>) -> Option<f64> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let before = |unit: &str| {
        let at = words.iter().position(|w| *w == unit)?;
        words.get(at.checked_sub(1)?)?.parse::<f64>().ok()
    };
    match (before("ms"), tasks) {
        (Some(ms), Some(tasks)) if tasks > 0 => Some(ms * 1e6 / tasks as f64),
        _ => before("ns/task"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "spawn 100000 trivial tasks and await them all (median of 7 rounds)\n\
        \n\
        one thread:\n\
        \x20 your Executor                              25.00 ms      250 ns/task\n\
        \x20 tokio current-thread runtime               10.00 ms      100 ns/task\n\
        \x20 ratio (yours / tokio)                       2.50x\n\
        \n\
        two worker threads:\n\
        \x20 your ThreadPool::new(2)                not working yet (it panicked: see above)\n\
        \x20 tokio multi-thread runtime, 2 workers      20.00 ms      200 ns/task\n";

    #[test]
    fn the_benchmark_output_gives_ns_per_task_on_both_sides() {
        let bench = figures(OUTPUT);
        assert_eq!(bench.tasks, Some(100_000));
        assert_eq!(bench.status, Status::Measured);
        assert_eq!(bench.comparisons.len(), 2);
        let one = &bench.comparisons[0];
        assert_eq!(one.yours_ns_per_task, Some(250.0));
        assert_eq!(one.tokio_ns_per_task, Some(100.0));
        assert_eq!(one.ratio(), Some(2.5));
        let two = &bench.comparisons[1];
        assert_eq!(two.yours_ns_per_task, None);
        assert_eq!(two.tokio_ns_per_task, Some(200.0));
    }

    #[test]
    fn a_stub_executor_is_not_working() {
        let output = "spawn 100000 trivial tasks and await them all (median of 7 rounds)\n\n\
            one thread:\n\
            \x20 your Executor                          not working yet (it panicked: see above)\n\
            \x20 tokio current-thread runtime               10.00 ms      100 ns/task\n";
        let bench = figures(output);
        assert_eq!(bench.status, Status::NotWorking);
        assert_eq!(bench.comparisons[0].tokio_ns_per_task, Some(100.0));
        assert_eq!(figures("").comparisons, Vec::new());
    }

    #[test]
    fn without_the_task_count_the_rounded_figure_is_used() {
        assert_eq!(
            ns_per_task("  your Executor   25.00 ms   251 ns/task", None),
            Some(251.0)
        );
    }

    #[test]
    fn cargo_messages_give_the_bench_executable_and_the_first_error() {
        let stdout = concat!(
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"lab6"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-message","message":{"level":"warning","rendered":"w","message":"w"}}"#,
            "\n",
            r#"{"reason":"compiler-message","message":{"level":"error","rendered":"error[E0308]: mismatched types","message":"m"}}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["bench"],"name":"spawn"},"executable":"/t/spawn-1"}"#,
            "\n"
        );
        let (executable, error) = read_messages(stdout);
        assert_eq!(executable, Some(PathBuf::from("/t/spawn-1")));
        assert_eq!(error.as_deref(), Some("error[E0308]: mismatched types"));
    }
}
