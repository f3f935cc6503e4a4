//! `grader lab N --watch`: the student's edit-test loop. The lab's public tests run once, then
//! again every time an editable file is saved (editors save in bursts: write, rename, touch;
//! a debouncer turns a burst into one run). After the first run the screen is cleared and only
//! what changed is shown: the tests whose status changed (with the new failure message and
//! hint), the names of those still failing, and the score. A failure's message alone is not
//! compared: a broken server fails in racy ways ("connection refused" one run, "closed the
//! connection" the next), and that noise would hide real changes.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use notify_debouncer_mini::notify::RecursiveMode;
use notify_debouncer_mini::{new_debouncer, DebounceEventResult};

use crate::kit::Lab;
use crate::report::model::{LabReport, TestResult, TestStatus};
use crate::report::text::{failure_message, points};

/// How long a burst of file events must be quiet before a run starts.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// One test whose result changed between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub test: String,
    /// `None` for a test that the earlier run did not have.
    pub before: Option<TestStatus>,
    pub after: TestStatus,
    /// The failure message now, for a test that (still) fails.
    pub message: Option<String>,
    pub hint: Option<String>,
}

/// What a failing test says: its panic message, else the grader's note (a timeout, a crash).
fn message_of(test: &TestResult) -> String {
    let message = failure_message(&test.output, &test.name);
    if message.is_empty() {
        test.note.clone().unwrap_or_default()
    } else {
        message
    }
}

/// The tests whose status differs between `before` and `after` (or that are new).
pub fn changes(before: &LabReport, after: &LabReport) -> Vec<Change> {
    let earlier: BTreeMap<&str, TestStatus> = before
        .tests
        .iter()
        .map(|t| (t.name.as_str(), t.status))
        .collect();
    after
        .tests
        .iter()
        .filter_map(|test| {
            let message = message_of(test);
            let then = earlier.get(test.name.as_str());
            let same = then == Some(&test.status);
            (!same).then(|| {
                let failing = test.status != TestStatus::Passed;
                Change {
                    test: test.name.clone(),
                    before: then.copied(),
                    after: test.status,
                    message: failing.then(|| message.clone()),
                    hint: failing.then(|| test.hint.clone()),
                }
            })
        })
        .collect()
}

/// What is printed after a re-run: the changes and the score.
pub fn render_changes(saved: &[String], before: &LabReport, after: &LabReport) -> String {
    let mut out = format!(
        "Lab {}: re-ran after you saved {}\n\n",
        after.lab,
        saved.join(", ")
    );
    let changed = changes(before, after);
    if changed.is_empty() {
        out.push_str("No test changed.\n");
    }
    let still: Vec<&str> = after
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Passed && !changed.iter().any(|c| c.test == t.name))
        .map(|t| t.name.as_str())
        .collect();
    for change in &changed {
        let before = change.before.map(|s| s.label()).unwrap_or("new");
        out.push_str(&format!(
            "  {}: {before} -> {}\n",
            change.test,
            change.after.label()
        ));
        if let Some(message) = change.message.as_deref().filter(|m| !m.is_empty()) {
            for line in message.lines() {
                out.push_str(&format!("      {line}\n"));
            }
        }
        if let Some(hint) = &change.hint {
            out.push_str(&format!("      hint: {hint}\n"));
        }
    }
    if !still.is_empty() {
        out.push_str(&format!(
            "\nStill failing as before: {} (`grader lab {}` shows them in full).\n",
            still.join(", "),
            after.lab
        ));
    }
    let passed = |r: &LabReport| {
        r.tests
            .iter()
            .filter(|t| t.status == TestStatus::Passed)
            .count()
    };
    out.push_str(&format!(
        "\nLab {} score: {} / {} ({} of {} tests passed; was {})\n",
        after.lab,
        points(after.score),
        points(after.max_score),
        passed(after),
        after.tests.len(),
        points(before.score)
    ));
    out
}

/// The folders to watch (those holding the editable files) and the files that matter.
fn watched(lab_dir: &Path, lab: &Lab) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let files: Vec<PathBuf> = lab.editable.iter().map(|f| lab_dir.join(f)).collect();
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    (dirs, files)
}

/// Waits for the next save of one of `files`: the first batch of events that names one, and
/// every batch that follows it within twice the debounce time (the debouncer reports a long
/// burst in several batches). `None` when the watcher is gone.
///
/// Only a real save counts: the file's modification time, size or contents changed since
/// `snapshot` (which is updated). Reading a file (the grader itself does, to stage it) also
/// raises events, and must not start another run.
fn next_save(
    rx: &mpsc::Receiver<DebounceEventResult>,
    lab_dir: &Path,
    files: &[PathBuf],
    snapshot: &mut BTreeMap<PathBuf, Option<FileState>>,
) -> Option<Vec<String>> {
    loop {
        let mut batch = rx.recv().ok()?;
        let mut touched = false;
        loop {
            touched |= batch
                .into_iter()
                .flatten()
                .any(|event| files.contains(&event.path));
            match rx.recv_timeout(DEBOUNCE * 2) {
                Ok(next) => batch = next,
                Err(_) => break,
            }
        }
        if !touched {
            continue;
        }
        let mut saved = Vec::new();
        for file in files {
            let now = FileState::of(file);
            if snapshot.get(file) != Some(&now) {
                snapshot.insert(file.clone(), now);
                if let Ok(relative) = file.strip_prefix(lab_dir) {
                    saved.push(relative.display().to_string());
                }
            }
        }
        if !saved.is_empty() {
            return Some(saved);
        }
    }
}

/// What tells one save of a file from the next.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileState {
    modified: Option<std::time::SystemTime>,
    contents: Vec<u8>,
}

impl FileState {
    fn of(path: &Path) -> Option<FileState> {
        Some(FileState {
            modified: std::fs::metadata(path).ok()?.modified().ok(),
            contents: std::fs::read(path).ok()?,
        })
    }
}

fn snapshot_of(files: &[PathBuf]) -> BTreeMap<PathBuf, Option<FileState>> {
    files
        .iter()
        .map(|file| (file.clone(), FileState::of(file)))
        .collect()
}

/// Calls `run` once, then again after every burst of saves of the lab's editable files, until
/// the process is interrupted. `run` returns the lab's report; the first is printed whole by
/// `first`, the later ones as changes.
pub fn watch(
    lab_dir: &Path,
    lab: &Lab,
    run: &dyn Fn() -> Result<LabReport>,
    first: &dyn Fn(&LabReport),
) -> Result<()> {
    let lab_dir = &lab_dir
        .canonicalize()
        .with_context(|| format!("reading {}", lab_dir.display()))?;
    let (dirs, files) = watched(lab_dir, lab);
    let (tx, rx) = mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(DEBOUNCE, tx).context("starting the file watcher")?;
    for dir in &dirs {
        debouncer
            .watcher()
            .watch(dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("watching {}", dir.display()))?;
    }
    let mut snapshot = snapshot_of(&files);
    let mut last = run()?;
    first(&last);
    let shown: Vec<String> = lab.editable.clone();
    println!(
        "\nWatching {} for saves (Ctrl-C to stop).",
        shown.join(", ")
    );
    let terminal = std::io::stdout().is_terminal();
    while let Some(saved) = next_save(&rx, lab_dir, &files, &mut snapshot) {
        if terminal {
            print!("\x1b[2J\x1b[H");
        }
        let next = run()?;
        print!("{}", render_changes(&saved, &last, &next));
        println!(
            "\nWatching {} for saves (Ctrl-C to stop).",
            shown.join(", ")
        );
        last = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::Visibility;
    use crate::report::model::LabStatus;

    fn test(name: &str, status: TestStatus, output: &str) -> TestResult {
        TestResult {
            name: name.into(),
            visibility: Visibility::Public,
            status,
            score: if status == TestStatus::Passed {
                1.0
            } else {
                0.0
            },
            max_score: 1.0,
            duration_ms: 1,
            output: output.into(),
            hint: format!("hint of {name}"),
            note: None,
        }
    }

    fn lab(tests: Vec<TestResult>) -> LabReport {
        LabReport::new(1, "t", LabStatus::Graded, None, tests)
    }

    #[test]
    fn only_tests_whose_status_changed_are_shown_in_full() {
        let before = lab(vec![
            test(
                "a",
                TestStatus::Failed,
                "thread 'a' panicked at src/x.rs:1:1:\nold message",
            ),
            test(
                "b",
                TestStatus::Failed,
                "thread 'b' panicked at src/x.rs:1:1:\nsame",
            ),
            test("c", TestStatus::Passed, ""),
            test(
                "d",
                TestStatus::Failed,
                "thread 'd' panicked at src/x.rs:1:1:\nstill",
            ),
        ]);
        let after = lab(vec![
            test("a", TestStatus::Passed, ""),
            test(
                "b",
                TestStatus::Failed,
                "thread 'b' panicked at src/x.rs:1:1:\nsame",
            ),
            test("c", TestStatus::TimedOut, ""),
            test(
                "d",
                TestStatus::Failed,
                "thread 'd' panicked at src/x.rs:1:1:\nnew message",
            ),
        ]);
        let changed: Vec<String> = changes(&before, &after)
            .into_iter()
            .map(|c| c.test)
            .collect();
        assert_eq!(
            changed,
            ["a", "c"],
            "d failed before and still does: no change"
        );
        let text = render_changes(&["src/server.rs".into()], &before, &after);
        assert!(text.contains("a: failed -> passed"), "{text}");
        assert!(text.contains("c: passed -> timed_out"), "{text}");
        assert!(text.contains("Still failing as before: b, d"), "{text}");
        assert!(
            !text.contains("b: "),
            "an unchanged test is not shown: {text}"
        );
        assert!(text.contains("was 1"), "{text}");
        let none = render_changes(&["src/server.rs".into()], &after, &after);
        assert!(none.contains("No test changed."), "{none}");
    }

    #[test]
    fn a_save_of_an_editable_file_is_seen_once_debounced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        let file = dir.path().join("src/server.rs");
        std::fs::write(&file, "// before").unwrap();
        let (tx, rx) = mpsc::channel::<DebounceEventResult>();
        let mut debouncer = new_debouncer(DEBOUNCE, tx).unwrap();
        debouncer
            .watcher()
            .watch(&dir.path().join("src"), RecursiveMode::NonRecursive)
            .unwrap();
        // A burst of writes, as an editor makes when it saves, and a file nobody edits.
        for n in 0..5 {
            std::fs::write(&file, format!("// save {n}")).unwrap();
        }
        std::fs::write(dir.path().join("src/notes.txt"), "not watched").unwrap();
        let lab_dir = dir.path().canonicalize().unwrap();
        let files = [lab_dir.join("src/server.rs")];
        let mut snapshot = BTreeMap::new();
        let saved = next_save(&rx, &lab_dir, &files, &mut snapshot).expect("the save is seen");
        assert_eq!(
            saved,
            ["src/server.rs"],
            "one burst is one save of one file"
        );
        // Reading the file (as staging does, and as next_save itself does) is no save.
        let _ = std::fs::read(&file).unwrap();
        let (tx, quiet) = mpsc::channel();
        let files_again = files.to_vec();
        let lab_dir_again = lab_dir.clone();
        std::thread::spawn(move || {
            let saved = next_save(&rx, &lab_dir_again, &files_again, &mut snapshot);
            let _ = tx.send(saved);
        });
        assert!(
            quiet.recv_timeout(DEBOUNCE * 5).is_err(),
            "reading a file must not count as a save"
        );
    }
}
