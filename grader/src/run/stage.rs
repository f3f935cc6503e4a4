//! Staging: a pristine scratch copy of the kit with a submission's editable files laid over it.
//!
//! Each concurrent grader holds one *slot* (`<kit>/target/grader/stage-N`, locked with an
//! exclusive file lock), so paths stay fixed from one submission to the next and cargo reuses
//! everything but the lab crate itself. The kit's manifests, lock file, tests and build
//! settings always win: only the editable files come from the submission, written fresh so
//! their modification time is now and cargo never reuses a binary built from older sources.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::kit::submission::EditableFile;
use crate::kit::{Kit, Lab};

/// How many graders may stage at once on one kit.
const MAX_SLOTS: usize = 16;

/// Top-level entries of the kit that a build never needs: copying them would only let a test
/// read what it should not (solutions, fixtures) or slow staging down.
const NOT_STAGED: &[&str] = &[
    "target",
    ".git",
    "solutions",
    "docs",
    "book",
    ".labkit-state.json",
];

/// The grader's work area inside the kit: staging slots and the shared target directory.
pub fn work_dir(kit: &Kit) -> PathBuf {
    kit.root.join("target").join("grader")
}

/// An exclusively held staging folder.
pub struct Slot {
    pub dir: PathBuf,
    _lock: File,
}

impl Slot {
    /// Takes the first free slot.
    pub fn acquire(kit: &Kit) -> Result<Slot> {
        let work = work_dir(kit);
        fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        for index in 0..MAX_SLOTS {
            let lock_path = work.join(format!("stage-{index}.lock"));
            let lock = File::create(&lock_path)
                .with_context(|| format!("creating {}", lock_path.display()))?;
            if lock.try_lock().is_ok() {
                return Ok(Slot {
                    dir: work.join(format!("stage-{index}")),
                    _lock: lock,
                });
            }
        }
        bail!(
            "all {MAX_SLOTS} staging slots in {} are busy",
            work.display()
        )
    }
}

impl Slot {
    /// An empty folder of the slot for running tests in (their working and home directory);
    /// writable by the unprivileged user tests run as when the grader is root.
    pub fn run_dir(&self) -> Result<PathBuf> {
        let run = self.dir.join("run");
        if run.exists() {
            fs::remove_dir_all(&run).with_context(|| format!("clearing {}", run.display()))?;
        }
        fs::create_dir_all(&run).with_context(|| format!("creating {}", run.display()))?;
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&run, fs::Permissions::from_mode(0o777))
            .with_context(|| format!("opening {} to the tests", run.display()))?;
        Ok(run)
    }

    /// Copies built executables into the slot, so that the next build (by any grader) cannot
    /// replace them while their tests run. Returns the copies by name.
    pub fn keep_executables(
        &self,
        built: &BTreeMap<String, PathBuf>,
    ) -> Result<BTreeMap<String, PathBuf>> {
        let bin = self.dir.join("bin");
        fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
        built
            .iter()
            .map(|(name, path)| {
                let kept = bin.join(name);
                let _ = fs::remove_file(&kept);
                fs::copy(path, &kept)
                    .with_context(|| format!("copying {} to {}", path.display(), kept.display()))?;
                Ok((name.clone(), kept))
            })
            .collect()
    }
}

/// Held while building: one grader at a time uses the shared target directory.
pub struct BuildLock {
    _lock: File,
}

impl BuildLock {
    /// Waits for the other graders' builds to finish.
    pub fn acquire(kit: &Kit) -> Result<BuildLock> {
        let work = work_dir(kit);
        fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let path = work.join("build.lock");
        let lock = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        lock.lock()
            .with_context(|| format!("locking {}", path.display()))?;
        Ok(BuildLock { _lock: lock })
    }
}

/// A lab staged in the build tree, ready to build.
pub struct Staged {
    /// The root of the staged workspace.
    pub root: PathBuf,
    /// The staged lab folder.
    pub lab_dir: PathBuf,
}

/// The one tree every build happens in. Cargo fingerprints a workspace member by its path, so
/// building each submission at the same path lets it reuse the shared dependencies' outputs
/// (the support crate, tokio...) instead of rebuilding them whenever the path changes.
pub fn build_tree(kit: &Kit) -> PathBuf {
    work_dir(kit).join("build").join("kit")
}

/// Copies the kit into the build tree (without any lab's hidden tests) and overlays `files`.
/// Holding the build lock is the proof that no other grader uses the tree.
pub fn stage(
    kit: &Kit,
    lab: &Lab,
    files: &[EditableFile],
    _building: &BuildLock,
) -> Result<Staged> {
    let root = build_tree(kit);
    if root.exists() {
        fs::remove_dir_all(&root).with_context(|| format!("clearing {}", root.display()))?;
    }
    copy_tree(&kit.root, &root, 0)?;
    let lab_dir = root.join("labs").join(&lab.dir_name);
    for file in files {
        let target = lab_dir.join(&file.path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        // A fresh file: new inode, modification time now.
        let _ = fs::remove_file(&target);
        fs::write(&target, &file.contents)
            .with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(Staged { root, lab_dir })
}

/// Adds the lab's hidden tests as `tests/hidden.rs`: only after the library has been built
/// alone, so no `include_str!` or `#[path]` in student code can reach them.
pub fn add_hidden_tests(kit: &Kit, lab: &Lab, staged: &Staged) -> Result<()> {
    let source = kit.lab_dir(lab).join("hidden").join("hidden.rs");
    let target = staged.lab_dir.join("tests").join("hidden.rs");
    fs::copy(&source, &target)
        .with_context(|| format!("copying {} to {}", source.display(), target.display()))?;
    Ok(())
}

/// Gives a staged copy of a kit file the original's modification time. Cargo decides what to
/// rebuild by comparing sources' modification times with its outputs': a copy stamped "now"
/// would rebuild the support crate, and everything above it, for every submission. Only the
/// submission's own files are written fresh. Best effort: if the time cannot be set, the copy
/// is merely rebuilt.
fn keep_modification_time(original: &Path, copy: &Path) {
    let modified = fs::metadata(original).and_then(|meta| meta.modified());
    if let Ok(modified) = modified {
        if let Ok(file) = fs::File::options().write(true).open(copy) {
            let _ = file.set_modified(modified);
        }
    }
}

fn copy_tree(from: &Path, to: &Path, depth: usize) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if depth == 0 && NOT_STAGED.contains(&name_str.as_ref()) {
            continue;
        }
        // Hidden tests and the grader's fixture submissions never enter a stage by copying.
        if name_str == "hidden" || (name_str == "fixtures" && from.ends_with("tests")) {
            continue;
        }
        let kind = entry.file_type()?;
        let target = to.join(&name);
        if kind.is_dir() {
            copy_tree(&entry.path(), &target, depth + 1)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
            keep_modification_time(&entry.path(), &target);
        }
    }
    Ok(())
}
