//! The student's progress: the last public score of each lab on this checkout, the tests that
//! failed then, and how many hints of each test were revealed, kept in a small git-ignored file
//! at the kit's root for `grader list` and `grader hint`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::model::{LabReport, TestStatus};

const FILE: &str = ".labkit-state.json";

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    labs: BTreeMap<u32, LabScore>,
    /// "lab/test" → how many of its hints `grader hint` has shown.
    #[serde(default)]
    hints_shown: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LabScore {
    score: f64,
    max_score: f64,
    /// The tests that did not pass in that run, in the rubric's order (`None` in a state
    /// file written before the grader recorded them).
    #[serde(default)]
    failing: Option<Vec<String>>,
}

impl State {
    /// The saved state, or an empty one if there is none (or it is unreadable).
    pub fn load(kit_root: &Path) -> State {
        std::fs::read_to_string(path(kit_root))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    /// Saves a lab's public score. Failing to save is not worth failing the command for.
    pub fn record(kit_root: &Path, lab: &LabReport) {
        let mut state = State::load(kit_root);
        state.labs.insert(
            lab.lab,
            LabScore {
                score: lab.score,
                max_score: lab.max_score,
                failing: Some(
                    lab.tests
                        .iter()
                        .filter(|t| t.status != TestStatus::Passed)
                        .map(|t| t.name.clone())
                        .collect(),
                ),
            },
        );
        state.save(kit_root);
    }

    /// Failing to save is not worth failing the command for.
    fn save(&self, kit_root: &Path) {
        if let Ok(text) = serde_json::to_string_pretty(self) {
            let _ = crate::files::write_atomically(&path(kit_root), &text);
        }
    }

    /// The tests of a lab that did not pass in its last run (`None`: never run).
    pub fn failing(&self, lab: u32) -> Option<&[String]> {
        self.labs.get(&lab)?.failing.as_deref()
    }

    /// How many hints of a test were shown so far.
    pub fn hints_shown(&self, lab: u32, test: &str) -> usize {
        self.hints_shown
            .get(&format!("{lab}/{test}"))
            .copied()
            .unwrap_or(0)
    }

    /// Records that `shown` hints of a test have now been shown, and saves.
    pub fn record_hints_shown(kit_root: &Path, lab: u32, test: &str, shown: usize) {
        let mut state = State::load(kit_root);
        state.hints_shown.insert(format!("{lab}/{test}"), shown);
        state.save(kit_root);
    }

    /// The last public score of a lab: (earned, available).
    pub fn score(&self, lab: u32) -> Option<(f64, f64)> {
        self.labs.get(&lab).map(|s| (s.score, s.max_score))
    }
}

fn path(kit_root: &Path) -> PathBuf {
    kit_root.join(FILE)
}
