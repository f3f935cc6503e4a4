//! The student release: what it holds, the leak scan, and that it builds and runs `lab 1`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// A copy of the kit's sources (no target/, no .git/), to release from without touching it.
fn copy_kit(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["target", ".git", "book"].contains(&name.to_str().unwrap_or("")) {
            continue;
        }
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_kit(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn release(kit: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grader"))
        .arg("--kit")
        .arg(kit)
        .arg("release")
        .arg(out)
        .arg("--git")
        .output()
        .unwrap()
}

/// The `found in` files and the quoted lines of a failed release's leak list.
fn leaks(output: &Output) -> Vec<(String, String)> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|line| {
            let (place, rest) = line.split_once(": \"")?;
            let quoted = rest.rsplit_once("\" (from ")?.0;
            let file = place.rsplit_once(':')?.0.to_string();
            Some((file, quoted.replace("\\\"", "\"").replace("\\\\", "\\")))
        })
        .collect()
}

fn all_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() == ".git" || entry.file_name() == "target" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                found.push(entry.path().strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    found
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn the_release_leaks_nothing_builds_and_runs_lab_1() {
    let dir = tempfile::tempdir().unwrap();
    let kit = dir.path().join("kit");
    copy_kit(&kit_root(), &kit);
    let out = dir.path().join("release");

    // The handouts may quote the slides' code where it equals a solution line: such quotes
    // must be listed in release-allow.txt, and nothing else may be flagged.
    let first = release(&kit, &out);
    if !first.status.success() {
        let found = leaks(&first);
        assert!(
            !found.is_empty(),
            "{}",
            String::from_utf8_lossy(&first.stderr)
        );
        for (file, _) in &found {
            assert!(
                file.starts_with("docs/src/") && file.ends_with(".md"),
                "only handouts may quote a solution; {file} leaks:\n{}",
                String::from_utf8_lossy(&first.stderr)
            );
        }
        assert!(!out.exists(), "a leaking release is removed");
        let allow: Vec<String> = found.into_iter().map(|(_, line)| line).collect();
        fs::write(
            kit.join("release-allow.txt"),
            format!("# deliberate quotes\n{}\n", allow.join("\n")),
        )
        .unwrap();
        let second = release(&kit, &out);
        assert!(
            second.status.success(),
            "{}",
            String::from_utf8_lossy(&second.stderr)
        );
    }

    let files = all_files(&out);
    for file in &files {
        let text = file.to_string_lossy();
        assert!(
            !text.starts_with("solutions")
                && !text.contains("/hidden/")
                && !text.starts_with("grader/tests"),
            "{text} must not be in the release"
        );
    }
    for required in [
        "Cargo.toml",
        "Cargo.lock",
        "justfile",
        "README.md",
        "labs/lab1-blocking/src/server.rs",
        "labs/lab1-blocking/tests/public.rs",
        "labs/lab1-blocking/lab.toml",
        "grader/src/main.rs",
        "docs/src/lab1.md",
        ".github/workflows/classroom.yml",
    ] {
        assert!(out.join(required).is_file(), "{required} is missing");
    }
    assert!(!out.join("docs/src/instructor.md").exists());
    let readme = fs::read_to_string(out.join("README.md")).unwrap();
    assert!(readme.contains("cargo run -p grader -- lab 1"), "{readme}");
    assert!(!readme.contains("solutions"), "{readme}");
    let log = Command::new("git")
        .args(["log", "--oneline"])
        .current_dir(&out)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&log.stdout).lines().count(), 1);

    // In the release, the kit's own tests build and a student can run lab 1. Dependencies
    // come from the kit's lock file, offline, into the grader's own target directory with the
    // staged builds' environment, so tokio, mio and the rest are the ones grading compiled.
    let kit = grader::kit::Kit::load(&kit_root()).unwrap();
    let target = grader::run::stage::work_dir(&kit).join("target");
    let env = grader::run::build::staged_build_env(&target);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(&cargo)
        .args(["test", "--no-run", "--offline", "--locked"])
        .env_clear()
        .envs(env.iter().cloned())
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "cargo test does not build in the release:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let lab = Command::new(&cargo)
        .args([
            "run",
            "-q",
            "--offline",
            "--locked",
            "-p",
            "grader",
            "--",
            "lab",
            "1",
        ])
        .env_clear()
        .envs(env)
        .current_dir(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&lab.stdout);
    assert!(
        lab.status.success() && text.contains("Lab 1 score: 0 / "),
        "grader lab 1 in the release:\n{text}\n{}",
        String::from_utf8_lossy(&lab.stderr)
    );
}

#[test]
fn a_solution_line_pasted_into_a_public_file_fails_the_release() {
    let dir = tempfile::tempdir().unwrap();
    let kit = dir.path().join("kit");
    copy_kit(&kit_root(), &kit);
    // Quote the handouts' deliberate lines, so that only the pasted line can be flagged.
    let out = dir.path().join("release");
    let first = release(&kit, &out);
    let allow: Vec<String> = leaks(&first).into_iter().map(|(_, l)| l).collect();
    fs::write(kit.join("release-allow.txt"), allow.join("\n")).unwrap();
    let solution = fs::read_to_string(kit.join("solutions/lab1-blocking/src/pool.rs")).unwrap();
    let stub_path = kit.join("labs/lab1-blocking/src/pool.rs");
    let stub = fs::read_to_string(&stub_path).unwrap();
    let secret = solution
        .lines()
        .map(str::trim)
        .filter(|l| l.len() > 25 && !stub.contains(*l))
        .find(|l| {
            !fs::read_to_string(kit.join("labs/lab1-blocking/tests/public.rs"))
                .unwrap()
                .contains(*l)
        })
        .expect("the solution has a line of its own")
        .to_string();
    fs::write(
        kit.join("docs/src/lab1.md"),
        format!(
            "{}\n\n    {secret}\n",
            fs::read_to_string(kit.join("docs/src/lab1.md")).unwrap()
        ),
    )
    .unwrap();
    let leaked = release(&kit, &dir.path().join("release2"));
    assert!(!leaked.status.success());
    let found = leaks(&leaked);
    assert!(
        found
            .iter()
            .any(|(file, line)| file == "docs/src/lab1.md" && *line == secret),
        "{}",
        String::from_utf8_lossy(&leaked.stderr)
    );
    assert!(!dir.path().join("release2").exists());
}
