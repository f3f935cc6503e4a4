//! What a run of `grader mutants` tries on one lab: the subject's editable files, every
//! mutant of them, and which of those the lab declares equivalent.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::kit::submission::{EditableFile, Submission};
use crate::kit::{Kit, Lab};

use super::operators::{self, Mutant};

/// The mutants of one lab.
pub struct Plan {
    pub lab: Lab,
    /// The subject's editable files, unmutated.
    pub files: Vec<EditableFile>,
    /// The files mutated (all editable `.rs` files, or the one `--file`).
    pub mutated_files: Vec<String>,
    pub mutants: Vec<Mutant>,
    /// Equivalent mutants by id, with the reason `lab.toml` gives.
    pub equivalents: BTreeMap<String, String>,
    /// `[[equivalent_mutants]]` ids that name no mutant of this run: stale declarations.
    pub unknown_equivalents: Vec<String>,
}

impl Plan {
    /// The unmutated text of an editable file.
    pub fn original(&self, path: &str) -> &str {
        self.files
            .iter()
            .find(|f| f.path == path)
            .map(|f| std::str::from_utf8(&f.contents).unwrap_or(""))
            .unwrap_or("")
    }
}

/// Plans the mutants of `lab` in `subject`'s editable files (only `only_file` when given).
pub fn plan(kit: &Kit, lab: &Lab, subject: &Submission, only_file: Option<&str>) -> Result<Plan> {
    let files = subject
        .editable_files(kit, lab)
        .map_err(|missing| anyhow::anyhow!("lab {}: {}", lab.number, missing.message))?;
    let mutated_files: Vec<String> = files
        .iter()
        .map(|f| f.path.clone())
        .filter(|path| path.ends_with(".rs"))
        .filter(|path| only_file.is_none_or(|only| only == path))
        .collect();
    let mut mutants = Vec::new();
    for path in &mutated_files {
        let file = files
            .iter()
            .find(|f| &f.path == path)
            .expect("listed above");
        let source = String::from_utf8_lossy(&file.contents);
        mutants.extend(operators::mutants_of(path, &source));
    }
    let equivalents: BTreeMap<String, String> = lab
        .equivalent_mutants
        .iter()
        .map(|e| (e.id.clone(), e.reason.clone()))
        .collect();
    // With --file, declarations about the other files are not stale, only out of scope; and
    // cargo-mutants' own mutants are judged by its run (`external`), not here.
    let unknown_equivalents = equivalents
        .keys()
        .filter(|id| !id.starts_with(super::external::CARGO_MUTANTS_ID))
        .filter(|id| {
            let file = id.split(':').next().unwrap_or("");
            mutated_files.iter().any(|f| f == file) && !mutants.iter().any(|m| &m.id == *id)
        })
        .cloned()
        .collect();
    Ok(Plan {
        lab: lab.clone(),
        files,
        mutated_files,
        mutants,
        equivalents,
        unknown_equivalents,
    })
}
