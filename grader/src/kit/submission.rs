//! Where a submission's editable files come from.
//!
//! A submission is a student's tree (the release with their edits), or only its lab folders.
//! The grader reads nothing from it but the editable files each `lab.toml` lists: never its
//! `Cargo.toml`, a `build.rs`, its tests or its cargo configuration.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::kit::{Kit, Lab};

/// The largest editable file the grader accepts.
pub const MAX_EDITABLE_BYTES: u64 = 1024 * 1024;

/// What to grade.
#[derive(Debug, Clone)]
pub enum Source {
    /// A folder: a student tree (`labs/<lab>/src/...`) or a folder of lab folders (`<lab>/src/...`).
    Tree(PathBuf),
    /// The kit's reference solutions (`solutions/<lab>/...`).
    Solutions,
}

/// One submission and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Submission {
    pub id: String,
    pub source: Source,
}

/// An editable file as read from a submission.
#[derive(Debug, Clone)]
pub struct EditableFile {
    /// Relative to the lab folder (`src/server.rs`).
    pub path: String,
    pub contents: Vec<u8>,
}

/// Why a lab of a submission cannot be graded.
#[derive(Debug, Clone)]
pub struct Missing {
    pub message: String,
}

impl Submission {
    /// A student tree or a checkout, reported under its folder name.
    pub fn tree(path: &Path) -> Result<Submission> {
        let path = path
            .canonicalize()
            .with_context(|| format!("the submission {} does not exist", path.display()))?;
        if !path.is_dir() {
            anyhow::bail!(
                "the submission {} is not a folder (archives are not supported yet: unpack it first)",
                path.display()
            );
        }
        let id = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "submission".into());
        Ok(Submission {
            id,
            source: Source::Tree(path),
        })
    }

    /// The kit's reference solutions.
    pub fn solutions() -> Submission {
        Submission {
            id: "solutions".into(),
            source: Source::Solutions,
        }
    }

    /// Reads the lab's editable files, or says which one is missing and where it was looked for.
    pub fn editable_files(&self, kit: &Kit, lab: &Lab) -> Result<Vec<EditableFile>, Missing> {
        let base = self.lab_base(kit, lab);
        lab.editable
            .iter()
            .map(|relative| read_editable(&base, relative))
            .collect()
    }

    /// The lab's written answers as handed in (lossy UTF-8), or `None` when the lab has no
    /// answers file or the submission holds none: not an error, the report says so.
    pub fn answers(&self, kit: &Kit, lab: &Lab) -> Option<String> {
        let answers = lab.answers.as_ref()?;
        let base = self.lab_base(kit, lab);
        let file = read_editable(&base, &answers.path).ok()?;
        Some(String::from_utf8_lossy(&file.contents).into_owned())
    }

    /// Where the submission keeps a lab's files.
    fn lab_base(&self, kit: &Kit, lab: &Lab) -> PathBuf {
        match &self.source {
            Source::Solutions => kit.solution_dir(lab),
            Source::Tree(root) => {
                let in_tree = root.join("labs").join(&lab.dir_name);
                let bare = root.join(&lab.dir_name);
                if in_tree.is_dir() || !bare.is_dir() {
                    in_tree
                } else {
                    bare
                }
            }
        }
    }
}

fn read_editable(base: &Path, relative: &str) -> Result<EditableFile, Missing> {
    let path = base.join(relative);
    let missing = |why: String| Missing {
        message: format!("{}: {why}", path.display()),
    };
    let metadata = fs::symlink_metadata(&path).map_err(|_| {
        missing("not found; the submission must contain this file (copy it from the student release if you did not change it)".into())
    })?;
    if !metadata.file_type().is_file() {
        return Err(missing(
            "is not a regular file (symbolic links are not accepted)".into(),
        ));
    }
    if metadata.len() > MAX_EDITABLE_BYTES {
        return Err(missing(format!(
            "is {} bytes; an editable file may be at most {MAX_EDITABLE_BYTES}",
            metadata.len()
        )));
    }
    let contents = fs::read(&path).map_err(|error| missing(format!("cannot be read: {error}")))?;
    Ok(EditableFile {
        path: relative.to_string(),
        contents,
    })
}
