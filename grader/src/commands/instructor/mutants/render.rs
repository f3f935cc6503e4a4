//! The mutants report: a summary on the terminal, and Markdown (a section per lab, merged
//! into an existing report so that one lab can be measured again on its own).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use super::operators::Operator;
use super::run::{LabRun, Tried, Verdict};

/// The command that regenerates `docs/src/test-strength.md`.
pub const REGENERATE: &str =
    "cargo run -p grader --release -- mutants --solutions --out docs/src/test-strength.md";

/// Counts of verdicts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub mutants: usize,
    pub caught: usize,
    pub timed_out: usize,
    pub missed: usize,
    pub unviable: usize,
    pub equivalent: usize,
}

impl Counts {
    pub fn of<'a>(tried: impl IntoIterator<Item = &'a Tried>) -> Counts {
        let mut counts = Counts::default();
        for one in tried {
            counts.mutants += 1;
            match one.verdict {
                Verdict::Caught { .. } => counts.caught += 1,
                Verdict::TimedOut { .. } => counts.timed_out += 1,
                Verdict::Missed => counts.missed += 1,
                Verdict::Unviable { .. } => counts.unviable += 1,
                Verdict::Equivalent { .. } => counts.equivalent += 1,
            }
        }
        counts
    }

    /// Caught or timed out, over the viable mutants that are not equivalent.
    pub fn kill_rate(&self) -> Option<f64> {
        let viable = self.caught + self.timed_out + self.missed;
        (viable > 0).then(|| (self.caught + self.timed_out) as f64 / viable as f64)
    }

    pub fn kill_rate_text(&self) -> String {
        match self.kill_rate() {
            Some(rate) => format!("{:.1} %", rate * 100.0),
            None => "n/a".into(),
        }
    }

    fn row(&self) -> String {
        format!(
            "{} | {} | {} | {} | {} | {} | {}",
            self.mutants,
            self.caught,
            self.timed_out,
            self.missed,
            self.unviable,
            self.equivalent,
            self.kill_rate_text()
        )
    }

    /// As the machine-readable comment a section carries.
    fn encode(&self, wall: Duration) -> String {
        format!(
            "mutants={} caught={} timed_out={} missed={} unviable={} equivalent={} wall_s={}",
            self.mutants,
            self.caught,
            self.timed_out,
            self.missed,
            self.unviable,
            self.equivalent,
            wall.as_secs()
        )
    }

    fn decode(text: &str) -> Option<(Counts, Duration)> {
        let fields: BTreeMap<&str, usize> = text
            .split_whitespace()
            .filter_map(|pair| pair.split_once('='))
            .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
            .collect();
        let counts = Counts {
            mutants: *fields.get("mutants")?,
            caught: *fields.get("caught")?,
            timed_out: *fields.get("timed_out")?,
            missed: *fields.get("missed")?,
            unviable: *fields.get("unviable")?,
            equivalent: *fields.get("equivalent")?,
        };
        Some((counts, Duration::from_secs(*fields.get("wall_s")? as u64)))
    }
}

/// `2 min 05 s`.
pub fn duration(wall: Duration) -> String {
    let seconds = wall.as_secs();
    if seconds >= 60 {
        format!("{} min {:02} s", seconds / 60, seconds % 60)
    } else {
        format!("{:.1} s", wall.as_secs_f64())
    }
}

/// The summary printed at the end of a run.
pub fn terminal(run: &LabRun) -> String {
    let mut out = String::new();
    let total = Counts::of(&run.tried);
    let _ = writeln!(
        out,
        "\nlab {}: {} mutants of {} in {}: {} caught, {} timed out, {} missed, {} unviable, {} \
         equivalent; kill rate {}",
        run.lab,
        total.mutants,
        run.subject,
        duration(run.wall),
        total.caught,
        total.timed_out,
        total.missed,
        total.unviable,
        total.equivalent,
        total.kill_rate_text()
    );
    for file in &run.files {
        let counts = Counts::of(run.tried.iter().filter(|t| &t.mutant.file == file));
        let _ = writeln!(out, "  {file}: {}", counts.row().replace(" | ", " / "));
    }
    for one in run.tried.iter().filter(|t| t.verdict == Verdict::Missed) {
        let _ = writeln!(
            out,
            "\nmissed {} ({})\n{}",
            one.mutant.id, one.mutant.description, one.diff
        );
    }
    for line in &run.failing_at_baseline {
        let _ = writeln!(
            out,
            "warning: {line} fails on the unmutated subject: left out"
        );
    }
    for id in &run.unknown_equivalents {
        let _ = writeln!(
            out,
            "warning: lab.toml declares {id} equivalent, but no such mutant was made"
        );
    }
    if let Some(note) = &run.cargo_mutants {
        let _ = writeln!(out, "cargo-mutants: {note}");
    }
    out
}

/// One lab's Markdown section, between markers that [`merge`] finds again.
pub fn section(run: &LabRun) -> String {
    let mut out = String::new();
    let total = Counts::of(&run.tried);
    let _ = writeln!(out, "<!-- mutants:lab {} begin -->", run.lab);
    let _ = writeln!(
        out,
        "<!-- mutants:lab {} {} -->",
        run.lab,
        total.encode(run.wall)
    );
    // A heading of the lab's number alone: its anchor is `#lab-N`, which the summary links to.
    let _ = writeln!(out, "## Lab {}\n\n{}.\n", run.lab, run.title);
    let _ = writeln!(
        out,
        "Subject: {}. Each mutant graded with {} tests (public and hidden). Wall time {}. \
         Kill rate **{}**.\n",
        run.subject,
        run.tests,
        duration(run.wall),
        total.kill_rate_text()
    );
    out.push_str(
        "| File | Mutants | Caught | Timed out | Missed | Unviable | Equivalent | Kill rate |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for file in &run.files {
        let counts = Counts::of(run.tried.iter().filter(|t| &t.mutant.file == file));
        let _ = writeln!(out, "| `{file}` | {} |", counts.row());
    }
    let _ = writeln!(out, "| **Total** | {} |\n", total.row());

    out.push_str("| Operator | Mutants | Caught | Timed out | Missed | Unviable | Equivalent | Kill rate |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for operator in Operator::ALL {
        let counts = Counts::of(run.tried.iter().filter(|t| t.mutant.operator == operator));
        if counts.mutants > 0 {
            let _ = writeln!(out, "| {operator} | {} |", counts.row());
        }
    }
    out.push('\n');

    let missed: Vec<&Tried> = run
        .tried
        .iter()
        .filter(|t| t.verdict == Verdict::Missed)
        .collect();
    if missed.is_empty() {
        out.push_str("No mutant is missed.\n\n");
    } else {
        let _ = writeln!(out, "### Missed mutants\n");
        for one in missed {
            let why = match run.missed_reasons.get(&one.mutant.id) {
                Some(reason) => format!("Left missed on purpose: {reason}"),
                None => format!(
                    "Left because no test checks it: {}.",
                    one.mutant.operator.explanation()
                ),
            };
            let _ = writeln!(
                out,
                "#### `{}`\n\n{}. {why}\n\n```diff\n{}```\n",
                one.mutant.id,
                capitalised(&one.mutant.description),
                one.diff
            );
        }
    }
    let equivalent: Vec<(&Tried, &String)> = run
        .tried
        .iter()
        .filter_map(|t| match &t.verdict {
            Verdict::Equivalent { reason } => Some((t, reason)),
            _ => None,
        })
        .collect();
    if !equivalent.is_empty() {
        let _ = writeln!(out, "### Equivalent mutants (declared in lab.toml)\n");
        for (one, reason) in equivalent {
            let _ = writeln!(out, "- `{}`: {reason}", one.mutant.id);
        }
        out.push('\n');
    }
    if !run.failing_at_baseline.is_empty() {
        let _ = writeln!(
            out,
            "Left out because they fail on the unmutated subject: {}.\n",
            run.failing_at_baseline.join(", ")
        );
    }
    if let Some(note) = &run.cargo_mutants {
        let _ = writeln!(out, "cargo-mutants: {note}\n");
    }
    let _ = writeln!(out, "<!-- mutants:lab {} end -->", run.lab);
    out
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The sections of an existing report, by lab.
fn sections_of(existing: &str) -> BTreeMap<u32, String> {
    let mut found = BTreeMap::new();
    let mut rest = existing;
    while let Some(at) = rest.find("<!-- mutants:lab ") {
        let after = &rest[at + "<!-- mutants:lab ".len()..];
        let number: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        let end_marker = format!("<!-- mutants:lab {number} end -->");
        let (Ok(lab), Some(end)) = (number.parse::<u32>(), rest[at..].find(&end_marker)) else {
            break;
        };
        let end = at + end + end_marker.len();
        found.insert(lab, format!("{}\n", &rest[at..end]));
        rest = &rest[end..];
    }
    found
}

/// The whole Markdown report: `runs` replace their labs' sections of `existing`, the others
/// are kept; the summary table lists every lab of the kit, measured or not.
pub fn merge(existing: &str, runs: &[LabRun], kit_labs: &[(u32, String)]) -> String {
    let mut sections = sections_of(existing);
    for run in runs {
        sections.insert(run.lab, section(run));
    }
    let mut out = String::new();
    out.push_str("# Test strength\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated by `grader mutants`: do not edit by hand. -->\n\n\
         How many planted mistakes the tests catch. `grader mutants` plants one mistake at a \
         time in a lab's editable files (here, the reference solutions), grades each mutant \
         with the lab's public and hidden tests, and counts it **caught** when a test fails, \
         **timed out** when a test runs out of time, **missed** when every test still passes, \
         **unviable** when it does not compile, and **equivalent** when the lab's `lab.toml` \
         declares (under `[[equivalent_mutants]]`) that it cannot change behaviour. The kill \
         rate is (caught + timed out) / (caught + timed out + missed).\n\n\
         Regenerate this page with `{REGENERATE}`; add `--lab N` to measure one lab again \
         (its section is replaced, the others kept).\n"
    );
    out.push_str("| Lab | Mutants | Caught | Timed out | Missed | Unviable | Equivalent | Kill rate | Wall time |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (lab, title) in kit_labs {
        let decoded = sections.get(lab).and_then(|text| {
            let marker = format!("<!-- mutants:lab {lab} mutants=");
            let at = text.find(&marker)?;
            let line = text[at + marker.len() - "mutants=".len()..]
                .lines()
                .next()?;
            Counts::decode(line.trim_end_matches("-->"))
        });
        match decoded {
            Some((counts, wall)) => {
                let _ = writeln!(
                    out,
                    "| [{lab}: {title}](#lab-{lab}) | {} | {} |",
                    counts.row(),
                    duration(wall)
                );
            }
            None => {
                let _ = writeln!(out, "| {lab}: {title} | not yet measured | | | | | | | |");
            }
        }
    }
    out.push_str("\n## The operators\n\n");
    out.push_str(
        "Written for this course's mistakes (with `syn`, over the editable files; a mutant's \
         id is `file:line:operator`):\n\n",
    );
    for operator in Operator::ALL {
        let _ = writeln!(out, "- **{operator}**: {}.", operator.explanation());
    }
    out.push('\n');
    for section in sections.values() {
        out.push_str(section);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_survive_the_section_marker() {
        let counts = Counts {
            mutants: 9,
            caught: 5,
            timed_out: 1,
            missed: 1,
            unviable: 1,
            equivalent: 1,
        };
        let encoded = counts.encode(Duration::from_secs(75));
        assert_eq!(
            Counts::decode(&encoded),
            Some((counts, Duration::from_secs(75)))
        );
        assert_eq!(counts.kill_rate_text(), "85.7 %");
    }

    #[test]
    fn merging_keeps_the_sections_of_labs_not_run_again() {
        let existing =
            "# old\n<!-- mutants:lab 4 begin -->\n<!-- mutants:lab 4 mutants=2 caught=2 \
                        timed_out=0 missed=0 unviable=0 equivalent=0 wall_s=3 -->\nfour\n\
                        <!-- mutants:lab 4 end -->\n";
        let merged = merge(existing, &[], &[(3, "three".into()), (4, "four".into())]);
        assert!(merged.contains("| 3: three | not yet measured"), "{merged}");
        assert!(merged.contains("| [4: four](#lab-4) | 2 | 2 | 0 | 0 | 0 | 0 | 100.0 % | 3.0 s |"));
        assert!(merged.contains("four\n<!-- mutants:lab 4 end -->"));
        assert!(!merged.contains("# old"));
    }
}
