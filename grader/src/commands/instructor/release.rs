//! The student release: the tree students get, and the leak scan that guards it.
//!
//! The release holds the workspace (`Cargo.toml`, `Cargo.lock`), every lab with its stubs,
//! public tests and `lab.toml` (the public rubric) but without `hidden/`, the support crate, the
//! grader's sources (without its own tests, whose fixtures and assertions name hidden tests),
//! the docs without the instructor guide, the justfile and a student README. Never the
//! solutions, the hidden tests or their rubric, the fixture submissions, `target/` or `.git/`.
//!
//! Before it is accepted, the release is scanned: it fails if any hidden test's name appears in
//! it, or any line of a solution or a hidden test does (non-blank, trimmed, longer than
//! [`MIN_LEAK_LINE`] characters). Lines that the kit publishes on purpose are not leaks: a
//! solution line that is also in the lab's stubs (`use` lines, signatures), a hidden-test line
//! that is also in the public tests or the support crate (helper calls): every line of the
//! labs' public files and of the grader's sources counts as published. Lines a handout quotes
//! on purpose go into `release-allow.txt` at the kit's root (a maintainer's file: the release
//! does not ship it). The release's grader is built without the `instructor` feature. Whether a stub gives a solution
//! away is `selfcheck`'s question (stubs must score zero), not this scan's.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::kit::{Kit, Visibility};

/// Writes the release into `out_dir` and says what it holds.
pub fn command(kit: &Kit, out_dir: &Path, git: bool) -> Result<bool> {
    let released = release(kit, out_dir, git)?;
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

/// Shorter lines (`}`, `Ok(())`, `let mut buf = ...`) are too common to mean a leak.
pub const MIN_LEAK_LINE: usize = 20;

/// Top-level entries of the kit that go into the release.
const TOP_LEVEL: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "justfile",
    ".gitignore",
    "rust-toolchain.toml",
    "labs",
    "grader",
    "docs",
];

/// Docs pages for instructors only: the guide, and the pages that name hidden tests and quote
/// planted mistakes (what the hidden tests guarantee, the mutation report).
const INSTRUCTOR_DOCS: &[&str] = &["instructor.md", "coverage.md", "test-strength.md"];

/// What a release contains, for the report.
#[derive(Debug, Clone, Default)]
pub struct Released {
    pub files: usize,
    /// Lines and names that the scan looked for.
    pub scanned_for: usize,
}

/// A line or name of the solutions or hidden tests found in the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// Where in the release, relative to its root, with the line number.
    pub found_in: String,
    pub line: usize,
    /// Where it comes from in the kit.
    pub source: String,
    pub text: String,
}

/// Writes the release into `out` (which must not exist or be empty), scans it, and with `git`
/// makes it a fresh repository with one commit.
pub fn release(kit: &Kit, out: &Path, git: bool) -> Result<Released> {
    if out.exists()
        && fs::read_dir(out)
            .with_context(|| format!("reading {}", out.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty: the release goes into a new or empty folder",
            out.display()
        );
    }
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut files = 0;
    for name in TOP_LEVEL {
        let from = kit.root.join(name);
        if from.exists() {
            files += copy_filtered(&from, &out.join(name), Path::new(name))?;
        }
    }
    lean_grader(out)?;
    fs::write(out.join("README.md"), student_readme(kit))?;
    files += 1;
    let workflow = out.join(crate::commands::instructor::classroom::WORKFLOW_PATH);
    fs::create_dir_all(workflow.parent().expect("the workflow path has folders"))?;
    fs::write(
        &workflow,
        crate::commands::instructor::classroom::workflow(kit),
    )?;
    files += 1;
    remove_instructor_docs(out)?;
    remove_mutant_notes(out)?;

    let needles = leak_needles(kit)?;
    let leaks = scan(out, &needles)?;
    if !leaks.is_empty() {
        let list: Vec<String> = leaks
            .iter()
            .take(200)
            .map(|l| {
                format!(
                    "{}:{}: {:?} (from {})",
                    l.found_in, l.line, l.text, l.source
                )
            })
            .collect();
        let _ = fs::remove_dir_all(out);
        bail!(
            "the release leaked {} line(s) or name(s) of the solutions or hidden tests, so {} \
             was removed. Rephrase these, or list a deliberate quote in {ALLOW_FILE}:\n{}",
            leaks.len(),
            out.display(),
            list.join("\n")
        );
    }
    if git {
        make_repository(out)?;
    }
    Ok(Released {
        files,
        scanned_for: needles.len(),
    })
}

/// What the kit's `grader/Cargo.toml` turns on by default, and what the release's says.
const KIT_FEATURES: &str = "default = [\"instructor\"]";
const STUDENT_FEATURES: &str = "default = []";

/// Writes the release's `grader/Cargo.toml` without the `instructor` feature: students build
/// only the student's commands, never the instructor's code and crates (archives, CSV, JUnit,
/// hashes). The lock file is the kit's: it lists optional crates whether or not they are used.
fn lean_grader(out: &Path) -> Result<()> {
    let manifest = out.join("grader").join("Cargo.toml");
    let text =
        fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    if text.lines().filter(|l| l.trim() == KIT_FEATURES).count() != 1 {
        bail!(
            "grader/Cargo.toml has no line `{KIT_FEATURES}` to turn into `{STUDENT_FEATURES}` \
             for the student release"
        );
    }
    let lean: Vec<&str> = text
        .lines()
        .map(|l| {
            if l.trim() == KIT_FEATURES {
                STUDENT_FEATURES
            } else {
                l
            }
        })
        .collect();
    fs::write(&manifest, lean.join("\n") + "\n")
        .with_context(|| format!("writing {}", manifest.display()))
}

/// Copies `from` to `to`, leaving out what students must not get. Returns the files copied.
fn copy_filtered(from: &Path, to: &Path, relative: &Path) -> Result<usize> {
    let name = relative
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let excluded = matches!(name.as_str(), "hidden" | "target" | ".git" | "book")
        || relative == Path::new("grader/tests")
        || name == ".labkit-state.json";
    if excluded {
        return Ok(0);
    }
    let kind = fs::symlink_metadata(from)?.file_type();
    if kind.is_dir() {
        fs::create_dir_all(to)?;
        let mut count = 0;
        let mut entries: Vec<_> = fs::read_dir(from)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            count += copy_filtered(
                &entry.path(),
                &to.join(entry.file_name()),
                &relative.join(entry.file_name()),
            )?;
        }
        Ok(count)
    } else if kind.is_file() {
        fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
        Ok(1)
    } else {
        Ok(0)
    }
}

/// Takes the `[[equivalent_mutants]]` and `[[missed_mutants]]` tables out of every released
/// `lab.toml`: they are the maintainers' notes on mutants of the reference solution, and their
/// reasons describe its design (which `grader mutants` needs, and students must not read).
fn remove_mutant_notes(out: &Path) -> Result<()> {
    let labs = out.join("labs");
    for entry in fs::read_dir(&labs).with_context(|| format!("reading {}", labs.display()))? {
        let manifest = entry?.path().join("lab.toml");
        if manifest.is_file() {
            let text = fs::read_to_string(&manifest)
                .with_context(|| format!("reading {}", manifest.display()))?;
            fs::write(&manifest, without_mutant_notes(&text))
                .with_context(|| format!("writing {}", manifest.display()))?;
        }
    }
    Ok(())
}

/// `lab.toml` without its `[[equivalent_mutants]]` and `[[missed_mutants]]` tables and the
/// comments just above them.
fn without_mutant_notes(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut in_table = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed == "[[equivalent_mutants]]" || trimmed == "[[missed_mutants]]" {
            in_table = true;
            while kept.last().is_some_and(|l| l.trim_start().starts_with('#')) {
                kept.pop();
            }
            continue;
        }
        if in_table && trimmed.starts_with('[') {
            in_table = false;
        }
        if !in_table {
            kept.push(line);
        }
    }
    let mut out = kept.join("\n").trim_end().to_string();
    out.push('\n');
    out
}

fn remove_instructor_docs(out: &Path) -> Result<()> {
    let src = out.join("docs").join("src");
    for page in INSTRUCTOR_DOCS {
        let _ = fs::remove_file(src.join(page));
    }
    let summary = src.join("SUMMARY.md");
    if let Ok(text) = fs::read_to_string(&summary) {
        let kept: Vec<&str> = text
            .lines()
            .filter(|line| {
                !INSTRUCTOR_DOCS
                    .iter()
                    .any(|p| line.contains(&format!("({p})")))
            })
            .collect();
        fs::write(&summary, kept.join("\n") + "\n")?;
    }
    // Links from the student pages to the instructor guide would dangle: point them at nothing.
    for entry in fs::read_dir(&src).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = fs::read_to_string(&path)?;
            let mut fixed = text.clone();
            for page in INSTRUCTOR_DOCS {
                fixed = strip_links_to(&fixed, page);
            }
            if fixed != text {
                fs::write(&path, fixed)?;
            }
        }
    }
    Ok(())
}

/// Replaces Markdown links `[text](page...)` by their text.
fn strip_links_to(text: &str, page: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('[') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let parsed = after.find("](").and_then(|close| {
            let target_start = close + 2;
            after[target_start..]
                .find(')')
                .map(|end| (close, target_start, target_start + end))
        });
        match parsed {
            Some((close, target_start, end))
                if after[target_start..end].starts_with(page) && !after[1..close].contains('[') =>
            {
                out.push_str(&after[1..close]);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('[');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What the scan looks for: lines of the solutions and hidden tests that the kit does not
/// publish anyway, and the names of the hidden tests. Each with where it comes from.
pub fn leak_needles(kit: &Kit) -> Result<BTreeMap<String, String>> {
    let mut needles = BTreeMap::new();
    let mut public = public_code_lines(kit)?;
    public.extend(allowed_quotes(kit));
    for lab in &kit.labs {
        let lab_dir = kit.lab_dir(lab);
        let secret = source_lines(&kit.solution_dir(lab), &kit.root)?
            .into_iter()
            .chain(source_lines(&lab_dir.join("hidden"), &kit.root)?);
        for (line, source) in secret {
            if !public.contains(&line) {
                needles.entry(line).or_insert(source);
            }
        }
        for test in lab
            .tests
            .iter()
            .filter(|t| t.visibility == Visibility::Hidden)
        {
            needles
                .entry(test.name.clone())
                .or_insert_with(|| format!("the name of a hidden test of lab {}", lab.number));
        }
    }
    Ok(needles)
}

/// Lines of the code the kit publishes on purpose: every lab's stubs and public tests, the
/// support crate and the grader's sources. A solution or hidden-test line found there is
/// shared code (`use std::time::{Duration, Instant};`, a helper call), not a leak.
fn public_code_lines(kit: &Kit) -> Result<BTreeSet<String>> {
    let mut public = BTreeSet::new();
    for dir in [kit.root.join("labs"), kit.root.join("grader").join("src")] {
        for file in files_under(&dir)? {
            if file.components().any(|c| c.as_os_str() == "hidden") {
                continue;
            }
            if let Ok(text) = fs::read_to_string(&file) {
                public.extend(significant(&text).map(|(_, line)| line.to_string()));
            }
        }
    }
    Ok(public)
}

/// Lines the kit quotes on purpose (a handout showing the slide's code), from the optional
/// `release-allow.txt` at the kit's root: one trimmed line per line, `#` starts a comment.
pub const ALLOW_FILE: &str = "release-allow.txt";

fn allowed_quotes(kit: &Kit) -> BTreeSet<String> {
    fs::read_to_string(kit.root.join(ALLOW_FILE))
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The lines of `text` that the scan cares about: trimmed, longer than [`MIN_LEAK_LINE`].
fn significant(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim()))
        .filter(|(_, line)| line.chars().count() > MIN_LEAK_LINE)
}

/// The significant lines of every text file under `dir`, each with `file:line`.
fn source_lines(dir: &Path, root: &Path) -> Result<Vec<(String, String)>> {
    let mut found = Vec::new();
    for file in files_under(dir)? {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let relative = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (number, line) in significant(&text) {
            found.push((line.to_string(), format!("{relative}:{number}")));
        }
    }
    Ok(found)
}

fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(files);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in
            fs::read_dir(&current).with_context(|| format!("reading {}", current.display()))?
        {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() && entry.file_name() != "target" && entry.file_name() != ".git" {
                stack.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every place in the tree `root` where a needle appears: a whole trimmed line equal to a
/// source line, or a hidden test's name anywhere in a line.
pub fn scan(root: &Path, needles: &BTreeMap<String, String>) -> Result<Vec<Leak>> {
    let names: Vec<(&String, &String)> = needles
        .iter()
        .filter(|(needle, _)| !needle.contains(char::is_whitespace) && is_identifier(needle))
        .collect();
    let mut leaks = Vec::new();
    for file in files_under(root)? {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let relative = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (index, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if let Some(source) = needles.get(trimmed) {
                leaks.push(Leak {
                    found_in: relative.clone(),
                    line: index + 1,
                    source: source.clone(),
                    text: trimmed.to_string(),
                });
                continue;
            }
            for (name, source) in &names {
                if contains_word(line, name) {
                    leaks.push(Leak {
                        found_in: relative.clone(),
                        line: index + 1,
                        source: (*source).clone(),
                        text: (*name).clone(),
                    });
                }
            }
        }
    }
    Ok(leaks)
}

fn is_identifier(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `word` appears in `line` not as part of a longer identifier.
fn contains_word(line: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

fn student_readme(kit: &Kit) -> String {
    let mut labs = String::new();
    for lab in &kit.labs {
        labs.push_str(&format!(
            "| {} | `labs/{}` | {} | {} |\n",
            lab.number,
            lab.dir_name,
            lab.title,
            lab.editable
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    format!(
        "# Asynchronous Programming in Rust: labs\n\n\
         One lab per step of the lecture. Every server lab speaks MiniKV, a Redis-compatible\n\
         subset: talk to your server with `redis-cli` and load it with `redis-benchmark`.\n\n\
         | lab | folder | what you build | files you edit |\n|---|---|---|---|\n{labs}\n\
         ## Quick start\n\n\
         ```sh\n\
         cargo run -p grader -- lab 1     # lab 1's public tests on your code, with hints (or: just lab 1)\n\
         cargo run -p grader -- list      # every lab, its points and your last score\n\
         ```\n\n\
         The first run compiles the grader and the labs' dependencies (a few minutes on two\n\
         cores; `cargo test -p labN` reuses them); later runs take seconds.\n\n\
         ## How to work\n\n\
         1. Read the lab's handout in `docs/src/` (`docs/src/lab1.md` for lab 1).\n\
         2. Edit only the files listed above. The grader takes nothing else from your tree: not\n   \
            your `Cargo.toml`, not your copy of the tests.\n\
         3. Run `cargo run -p grader -- lab N`. Each test shows its status, points and time; a\n   \
            failing one shows its message and a hint.\n\
         4. Try your server for real: `cargo run -p lab1 -- --addr 127.0.0.1:6380`, then\n   \
            `redis-cli -p 6380 PING`.\n\n\
         When your work is graded, hidden tests check the same behaviour under harder conditions\n\
         (slow clients, many clients, odd packet boundaries). Passing the public tests is the\n\
         start, not the finish.\n\n\
         Hand in your whole tree (or only its `labs/` folder) as a folder, a `.zip` or a\n\
         `.tar.gz`, without `target/`. `docs/src/grader.md` explains the grader's statuses.\n\n\
         If your course uses GitHub Classroom, every push runs the public tests on GitHub\n\
         (`.github/workflows/classroom.yml`, one step per test, worth its points): the same\n\
         tests as `cargo run -p grader -- lab N`, so run them here first.\n"
    )
}

/// `git init`, add everything, one commit (for a GitHub Classroom template).
fn make_repository(out: &Path) -> Result<()> {
    let git = |args: &[&str]| -> Result<()> {
        let status = Command::new("git")
            .args(args)
            .current_dir(out)
            .env("GIT_AUTHOR_NAME", "Course staff")
            .env("GIT_AUTHOR_EMAIL", "staff@example.invalid")
            .env("GIT_COMMITTER_NAME", "Course staff")
            .env("GIT_COMMITTER_EMAIL", "staff@example.invalid")
            .status()
            .with_context(|| format!("running git {}", args.join(" ")))?;
        if !status.success() {
            bail!("git {} failed", args.join(" "));
        }
        Ok(())
    };
    git(&["init", "--quiet", "--initial-branch=main"])?;
    git(&["add", "--all"])?;
    git(&["commit", "--quiet", "--message", "Lab kit: student release"])
}

#[cfg(test)]
mod tests {
    #[test]
    fn released_lab_toml_keeps_everything_but_the_mutant_notes() {
        let kit = "[lab]\nnumber = 3\n\n[[equivalent_mutants]]\nid = \"src/a.rs:1:busy-wake\"\n\
                   reason = \"the reference's design\"\n\n# About the next one.\n\
                   [[equivalent_mutants]]\nid = \"cargo-mutants: x\"\nreason = \"y\"\n\n\
                   [[missed_mutants]]\nid = \"cargo-mutants: z\"\nreason = \"w\"\n\n\
                   [[rules]]\nforbid = \"async\"\n";
        let released = without_mutant_notes(kit);
        assert_eq!(
            released,
            "[lab]\nnumber = 3\n\n[[rules]]\nforbid = \"async\"\n"
        );
    }

    use super::*;

    #[test]
    fn links_to_instructor_pages_become_plain_text() {
        assert_eq!(
            strip_links_to(
                "see the [guide](instructor.md#x) and [the grader](grader.md)",
                "instructor.md"
            ),
            "see the guide and [the grader](grader.md)"
        );
    }

    #[test]
    fn names_match_whole_identifiers_only() {
        assert!(contains_word(
            "fn pool_runs_every_job() {",
            "pool_runs_every_job"
        ));
        assert!(!contains_word(
            "pool_runs_every_job_twice",
            "pool_runs_every_job"
        ));
    }
}
