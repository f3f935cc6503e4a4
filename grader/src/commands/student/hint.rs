//! `grader hint N [TEST]`: hints one step at a time. The first hint is the one every failing
//! test already shows; each call reveals the next, more specific one, so a student asks for
//! exactly as much help as they need. Without TEST, the first test that failed in the last
//! `grader lab N` run is taken.

use std::fmt::Write;

use anyhow::Result;

use crate::commands::student::state::State;
use crate::commands::usage;
use crate::kit::{Kit, Lab, RubricEntry};

/// Prints the next hint of `test` (or of the first failing test) of lab `number`.
pub fn command(kit: &Kit, number: u32, test: Option<&str>) -> Result<bool> {
    let lab = kit.lab(number).map_err(|e| usage(e.to_string()))?;
    match show(kit, lab, test)? {
        HintOutcome::Shown(text) => print!("{text}"),
        HintOutcome::Nothing(text) => println!("{text}"),
        HintOutcome::UnknownTest(text) => return Err(usage(text)),
    }
    Ok(true)
}

/// What `grader hint` prints, or why it cannot: a usage problem for the caller to report.
pub enum HintOutcome {
    Shown(String),
    /// Nothing to hint at (every test passed, or the lab never ran).
    Nothing(String),
    /// A test name the lab does not have.
    UnknownTest(String),
}

/// Shows the hints of `test` (or of the first failing test) revealed so far plus the next one,
/// and remembers how far the student got.
pub fn show(kit: &Kit, lab: &Lab, test: Option<&str>) -> Result<HintOutcome> {
    let state = State::load(&kit.root);
    let name = match test {
        Some(name) => name.to_string(),
        None => match state.failing(lab.number) {
            None => {
                return Ok(HintOutcome::Nothing(format!(
                    "lab {} has not been run on this checkout yet: run `cargo run -p grader -- \
                     lab {}` first, or name a test: `grader hint {} TEST`",
                    lab.number, lab.number, lab.number
                )))
            }
            Some([]) => {
                return Ok(HintOutcome::Nothing(format!(
                    "every public test of lab {} passed in your last run: nothing to hint at",
                    lab.number
                )))
            }
            Some(failing) => failing[0].clone(),
        },
    };
    let Some(entry) = lab.tests.iter().find(|t| t.name == name) else {
        let names: Vec<&str> = lab.public_tests().map(|t| t.name.as_str()).collect();
        return Ok(HintOutcome::UnknownTest(format!(
            "lab {} has no test named {name:?}; its public tests are:\n  {}",
            lab.number,
            names.join("\n  ")
        )));
    };
    let hints = all_hints(entry);
    let shown = (state.hints_shown(lab.number, &name) + 1).min(hints.len());
    State::record_hints_shown(&kit.root, lab.number, &name, shown);
    Ok(HintOutcome::Shown(render(lab, entry, &hints, shown)))
}

/// Every hint of a test, from the most general to the most specific.
fn all_hints(entry: &RubricEntry) -> Vec<&str> {
    std::iter::once(entry.hint.as_str())
        .chain(entry.more_hints.iter().map(String::as_str))
        .collect()
}

fn render(lab: &Lab, entry: &RubricEntry, hints: &[&str], shown: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Lab {}, {}:", lab.number, entry.name);
    for (index, hint) in hints.iter().take(shown).enumerate() {
        let _ = writeln!(out, "\n  hint {} of {}: {hint}", index + 1, hints.len());
    }
    if let Some((concept, text)) = &entry.concept {
        let _ = writeln!(out, "\n  concept to revisit: {concept}. {text}");
    }
    if shown < hints.len() {
        let _ = writeln!(
            out,
            "\nStill stuck? `cargo run -p grader -- hint {} {}` again shows hint {} of {}.",
            lab.number,
            entry.name,
            shown + 1,
            hints.len()
        );
    } else {
        let _ = writeln!(
            out,
            "\nThat is the most specific hint. The handout (docs/src/lab{}.md) explains the \
             concept behind it.",
            lab.number
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::Visibility;

    fn entry() -> RubricEntry {
        RubricEntry {
            name: "wakes_after_pending".into(),
            points: 1.0,
            timeout_s: 10,
            hint: "general".into(),
            address_space_mib: None,
            more_hints: vec!["specific".into(), "most specific".into()],
            concept: Some(("lost wake-up".into(), "store the waker first".into())),
            visibility: Visibility::Public,
        }
    }

    #[test]
    fn hints_are_revealed_one_more_at_a_time() {
        let entry = entry();
        let hints = all_hints(&entry);
        let lab = crate::kit::Lab {
            number: 3,
            package: "lab3".into(),
            title: "t".into(),
            dir_name: "lab3".into(),
            editable: vec![],
            tests: vec![entry.clone()],
            rules: vec![],
            may_use: vec![],
            timeout_hint: None,
            equivalent_mutants: vec![],
            missed_mutants: vec![],
            answers: None,
        };
        let first = render(&lab, &entry, &hints, 1);
        assert!(first.contains("hint 1 of 3: general") && !first.contains("hint 2 of 3:"));
        assert!(first.contains("again shows hint 2 of 3"), "{first}");
        assert!(
            first.contains("concept to revisit: lost wake-up"),
            "{first}"
        );
        let last = render(&lab, &entry, &hints, 3);
        assert!(last.contains("hint 3 of 3: most specific"));
        assert!(last.contains("the most specific hint"), "{last}");
    }
}
