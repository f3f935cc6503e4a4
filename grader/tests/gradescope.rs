//! `grader gradescope`: the autograder archive, and its `run_autograder` grading a flat upload
//! on a fake `/autograder` tree.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn grader() -> Command {
    let mut command = Command::cargo_bin("grader").unwrap();
    command.current_dir(kit_root());
    command
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn the_autograder_grades_a_flat_upload_into_results_json() {
    let work = tempfile::tempdir().unwrap();
    let archive = work.path().join("autograder.zip");
    let status = grader()
        .args(["gradescope", "--lab", "1", "--out"])
        .arg(&archive)
        .status()
        .unwrap();
    assert!(status.success(), "grader gradescope must succeed");

    // What the archive holds, and what it must not.
    let mut zip = zip::ZipArchive::new(fs::File::open(&archive).unwrap()).unwrap();
    let names: Vec<String> = zip
        .file_names()
        .map(|name| name.unwrap().into_owned())
        .collect();
    for needed in [
        "setup.sh",
        "run_autograder",
        "kit/Cargo.lock",
        "kit/labs/lab1-blocking/hidden/hidden.rs",
        "kit/grader/src/main.rs",
    ] {
        assert!(
            names.iter().any(|n| n == needed),
            "the archive needs {needed}"
        );
    }
    for name in &names {
        assert!(
            !name.starts_with("kit/solutions/")
                && !name.starts_with("kit/grader/tests/")
                && !name.contains("/target/"),
            "{name} must not be in the autograder"
        );
    }
    let mode = zip.by_name("run_autograder").unwrap().unix_mode().unwrap();
    assert_eq!(mode & 0o111, 0o111, "run_autograder must be executable");

    // Gradescope's layout: /autograder/source (the archive), /autograder/submission.
    let root = work.path().join("autograder");
    zip.extract(root.join("source")).unwrap();
    let submission = root.join("submission");
    fs::create_dir_all(&submission).unwrap();
    for file in ["server.rs", "pool.rs"] {
        fs::copy(
            kit_root().join("solutions/lab1-blocking/src").join(file),
            submission.join(file),
        )
        .unwrap();
    }
    let grader_binary = assert_cmd::cargo::cargo_bin("grader");
    let status = Command::new("bash")
        .arg(root.join("source/run_autograder"))
        .env("AUTOGRADER_ROOT", &root)
        .env("AUTOGRADER_GRADER", &grader_binary)
        .status()
        .unwrap();
    assert!(status.success());

    let results: Value =
        serde_json::from_slice(&fs::read(root.join("results/results.json")).unwrap()).unwrap();
    // Full marks are every point of lab 1's rubrics, public and hidden.
    let kit = grader::kit::Kit::load(&kit_root()).unwrap();
    let full_marks: f64 = kit.lab(1).unwrap().tests.iter().map(|t| t.points).sum();
    assert_eq!(
        results["score"], full_marks,
        "the reference files, uploaded flat, earn full marks: {results:#}"
    );
    let tests = results["tests"].as_array().unwrap();
    assert!(
        tests.iter().any(|t| t["visibility"] == "after_published"),
        "hidden tests show after publishing"
    );
    assert!(
        tests.iter().any(|t| t["visibility"] == "visible"),
        "public tests are visible"
    );
}
