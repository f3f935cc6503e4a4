//! The student's path: `grader lab N` builds the student's own checkout in place, as their
//! `cargo test -p labN` does, and shows the compiler's warnings about their editable files.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The target directory the grader under test was built into: building a copy of the kit
/// there reuses the dependencies (tokio...) that are already compiled.
fn shared_target_dir() -> PathBuf {
    let grader = Path::new(env!("CARGO_BIN_EXE_grader"));
    grader
        .parent()
        .and_then(Path::parent)
        .expect("the grader is in <target>/<profile>/")
        .to_path_buf()
}

/// Copies what a student's checkout holds: the workspace, the labs and the grader's sources.
fn copy(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let skipped = ["target", ".git", "hidden"].contains(&name.as_ref())
            || (name == "tests" && from.ends_with("grader"));
        if skipped {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy(&path, &to.join(entry.file_name()));
        } else {
            fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

fn student_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let kit = kit_root();
    fs::copy(kit.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    // Cargo names the artifacts of a workspace's own crates by their path inside the workspace,
    // so the copy's `support` would overwrite the kit's in the shared target directory, and the
    // kit's next `cargo test` would compile `support` and the grader again. Another version
    // gives the copy's crates names of their own; the dependencies are still shared.
    let manifest = fs::read_to_string(kit.join("Cargo.toml")).unwrap();
    let version_line = manifest
        .lines()
        .find(|line| line.starts_with("version = \""))
        .expect("the kit's Cargo.toml sets the workspace's version");
    let copy_version = version_line.trim_end_matches('"').to_string() + "-student-checkout\"";
    fs::write(
        dir.path().join("Cargo.toml"),
        manifest.replacen(version_line, &copy_version, 1),
    )
    .unwrap();
    copy(&kit.join("labs"), &dir.path().join("labs"));
    copy(&kit.join("grader"), &dir.path().join("grader"));
    dir
}

fn append(path: &Path, text: &str) {
    let mut source = fs::read_to_string(path).unwrap();
    source.push_str(text);
    fs::write(path, source).unwrap();
}

#[test]
fn a_warning_in_an_editable_file_is_shown_and_costs_nothing() {
    let checkout = student_checkout();
    // Lab 1: `grader lab 1` on the kit itself (tests/cli.rs) builds the same dependencies into
    // the same target directory, so only the copy's own crates compile here.
    let lab = checkout.path().join("labs/lab1-blocking");
    append(
        &lab.join("src/pool.rs"),
        "\npub fn planted() -> u32 {\n    let planted_unused = 7;\n    0\n}\n",
    );
    // A warning outside the editable files is not the student's business.
    append(
        &lab.join("src/lib.rs"),
        "\npub fn not_editable() {\n    let outside_unused = 7;\n}\n",
    );
    let output = Command::cargo_bin("grader")
        .unwrap()
        .args(["lab", "1"])
        .current_dir(checkout.path())
        .env("CARGO_TARGET_DIR", shared_target_dir())
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("The compiler warns about your files"),
        "{stdout}\n{stderr}"
    );
    // As rustc renders it: the message, the file and line, the source line.
    assert!(
        stdout.contains("unused variable: `planted_unused`"),
        "{stdout}"
    );
    assert!(stdout.contains("src/pool.rs:"), "{stdout}");
    assert!(stdout.contains("let planted_unused = 7;"), "{stdout}");
    assert!(!stdout.contains("outside_unused"), "{stdout}");
    // Never a change of score: the stubs score nothing either way.
    assert!(stdout.contains("Lab 1 score: 0 / "), "{stdout}");
    // The build's progress went to standard error.
    assert!(stderr.contains("lab 1: building"), "{stderr}");
}
