//! The Gradescope autograder: `grader gradescope --lab N --out autograder.zip`.
//!
//! The archive holds the instructor's kit without its solutions, fixtures or build output (the
//! hidden tests stay: Gradescope's image is the staff's, students never see it), `setup.sh`,
//! which Gradescope runs once to build the image (toolchain, the grader, the lab's
//! dependencies, so that grading a submission is an offline build of one crate), and
//! `run_autograder`, which it runs for every submission: it grades
//! `/autograder/submission` and writes `/autograder/results/results.json`, hidden tests with
//! `visibility: after_published`. Every path can be moved with an environment variable
//! (`AUTOGRADER_ROOT`, `AUTOGRADER_KIT`, `AUTOGRADER_SUBMISSION`, `AUTOGRADER_RESULTS`,
//! `AUTOGRADER_GRADER`), so the kit's own tests run `run_autograder` on a fake tree.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use zip::write::SimpleFileOptions;

use crate::commands::usage;
use crate::kit::{Kit, Lab};
use crate::run::grade::Grader;

/// Writes lab `number`'s autograder to `out` and says what to do with it.
pub fn command(kit: Kit, number: u32, out: &Path) -> Result<bool> {
    let lab = kit.lab(number).map_err(|e| usage(e.to_string()))?.clone();
    let grader = Grader::new(kit);
    let files = autograder_zip(&grader.kit, &lab, grader.toolchain(), out)?;
    println!(
        "autograder for lab {} written to {}: {files} files (setup.sh, run_autograder, the kit \
         without solutions). Upload it as the assignment's autograder on Gradescope.",
        lab.number,
        out.display()
    );
    Ok(true)
}

/// Top-level entries of the kit that the image needs.
const KIT_ENTRIES: &[&str] = &["Cargo.toml", "Cargo.lock", "labs", "grader"];

/// Writes the autograder archive for `lab`; returns how many files it holds.
pub fn autograder_zip(kit: &Kit, lab: &Lab, toolchain: &str, out: &Path) -> Result<usize> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let file = fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let plain = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let executable = plain.unix_permissions(0o755);

    let version = toolchain.split_whitespace().nth(1).unwrap_or("stable");
    zip.start_file("setup.sh", executable)?;
    zip.write_all(setup_script(lab, version).as_bytes())?;
    zip.start_file("run_autograder", executable)?;
    zip.write_all(run_script(lab).as_bytes())?;
    let mut files = 2;
    for entry in KIT_ENTRIES {
        files += add(&mut zip, &kit.root, &kit.root.join(entry), plain)?;
    }
    zip.finish().context("finishing the autograder archive")?;
    Ok(files)
}

/// Adds a file or a folder (recursively) under `kit/`, leaving out what the image must not have.
fn add(
    zip: &mut zip::ZipWriter<fs::File>,
    root: &Path,
    path: &Path,
    options: SimpleFileOptions,
) -> Result<usize> {
    let relative = path
        .strip_prefix(root)?
        .to_string_lossy()
        .replace('\\', "/");
    // The grader's own tests carry fixture submissions built from the solutions.
    if relative == "grader/tests" || relative.ends_with("/target") {
        return Ok(0);
    }
    let metadata =
        fs::symlink_metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if metadata.is_dir() {
        let mut entries: Vec<_> = fs::read_dir(path)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        let mut files = 0;
        for entry in entries {
            files += add(zip, root, &entry.path(), options)?;
        }
        Ok(files)
    } else if metadata.is_file() {
        zip.start_file(format!("kit/{relative}"), options)?;
        zip.write_all(&fs::read(path)?)?;
        Ok(1)
    } else {
        Ok(0)
    }
}

fn setup_script(lab: &Lab, toolchain: &str) -> String {
    format!(
        r#"#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image for lab {number}.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
KIT="${{AUTOGRADER_KIT:-$ROOT/source/kit}}"

# The toolchain the kit was graded with when this archive was made.
if ! command -v cargo >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl ca-certificates build-essential
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
    | sh -s -- -y --profile minimal --default-toolchain {toolchain}
fi
# shellcheck disable=SC1091
. "$HOME/.cargo/env" 2>/dev/null || true

cd "$KIT"
cargo build --release --locked -p grader --features instructor
# Compile the lab's dependencies now, once: each submission then builds only its own crate.
./target/release/grader --kit "$KIT" grade "$KIT" --lab {number} --format json > /dev/null
"#,
        number = lab.number,
    )
}

fn run_script(lab: &Lab) -> String {
    // The editable files, and the written answers when the lab has them.
    let copies: String = lab
        .editable
        .iter()
        .chain(lab.answers.as_ref().map(|a| &a.path))
        .map(|file| {
            let name = Path::new(file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            format!(
                "  mkdir -p \"$TREE/labs/{dir}/$(dirname {file})\"\n  \
                 for candidate in \"$SUBMISSION/{file}\" \"$SUBMISSION/{name}\"; do\n    \
                 if [ -f \"$candidate\" ]; then cp \"$candidate\" \"$TREE/labs/{dir}/{file}\"; break; fi\n  \
                 done\n",
                dir = lab.dir_name,
            )
        })
        .collect();
    format!(
        r#"#!/usr/bin/env bash
# Gradescope runs this for every submission of lab {number}: the submission in, results.json out.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
KIT="${{AUTOGRADER_KIT:-$ROOT/source/kit}}"
SUBMISSION="${{AUTOGRADER_SUBMISSION:-$ROOT/submission}}"
RESULTS="${{AUTOGRADER_RESULTS:-$ROOT/results}}"
GRADER="${{AUTOGRADER_GRADER:-$KIT/target/release/grader}}"
# shellcheck disable=SC1091
. "$HOME/.cargo/env" 2>/dev/null || true
mkdir -p "$RESULTS"

# Students may upload their whole tree, the lab's folder, or only the files they edit: lay a
# flat upload out the way the lab expects it.
TREE="$SUBMISSION"
if [ ! -d "$SUBMISSION/labs/{dir}" ] && [ ! -d "$SUBMISSION/{dir}" ]; then
  TREE="$(mktemp -d)"
{copies}fi

"$GRADER" --kit "$KIT" grade "$TREE" --lab {number} --format gradescope --out "$RESULTS/results.json"
status=$?
if [ ! -s "$RESULTS/results.json" ]; then
  printf '{{"score": 0, "output": "The autograder could not grade this submission (grader exit status %s). Please tell the course staff."}}\n' "$status" > "$RESULTS/results.json"
fi
exit 0
"#,
        number = lab.number,
        dir = lab.dir_name,
    )
}
