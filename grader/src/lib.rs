//! The lab kit's grader: discovers labs, stages a submission on a pristine copy of the kit,
//! builds it, runs every test in its own process, scores it with the rubric and reports.
//!
//! The folders read as the pipeline, and imports go one way, from the top down:
//!
//! 1. [`cli`]: the arguments of every command, and which command function they call.
//! 2. [`commands`]: what each command does. The student's (`lab`, `watch`, `hint`, `list`),
//!    the instructor's (`grade` and batches, `release`, `gradescope`, `selfcheck`) and
//!    `bench`.
//! 3. [`run`]: the pipeline on one submission: [`run::stage`] it on a scratch copy of the kit,
//!    [`run::build`] it, run each test in the [`run::sandbox`], [`run::score`] the outcomes;
//!    [`run::grade`] strings the steps together.
//! 4. [`report`]: the report model that grading fills in, and every format that shows it (the
//!    student's table, JSON, CSV, JUnit, Gradescope, Markdown, HTML, the class summary).
//! 5. [`kit`]: the kit, its labs and rubrics, a submission's editable files, and the source
//!    rules they are checked against.
//! 6. [`files`]: small helpers for the files the grader writes.
//!
//! A module imports only from its own folder and the folders below it: `commands` → `run` →
//! `report` → `kit` → `files`. The `folders_import_one_way` test below checks it.

pub mod cli;
pub mod commands;
pub mod files;
pub mod kit;
pub mod report;
pub mod run;

// The stable paths. Before the folders, every module sat at the crate's root, and the kit's
// tests (grader/tests), the scripts and other tools name them so (`grader::grade::Grader`,
// `grader::score::LabReport`, `grader::formats`...). Keep these when a module moves; inside
// the crate, use the folder paths.
pub use commands::bench;
#[cfg(feature = "instructor")]
pub use commands::bench::throughput;
#[cfg(feature = "instructor")]
pub use commands::instructor::{archive, batch, classroom, gradescope, release, selfcheck};
pub use commands::student::{hint, state, watch};
pub use kit::{rules, submission};
pub use report::{formats, summary};
pub use run::{build, cgroup, grade, sandbox, score, stage};

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    /// The layers, top first: a module may import from its own folder and from the layers
    /// below it, never from one above. (`lib.rs` and `main.rs` stand above them all.)
    const LAYERS: &[&str] = &["cli", "commands", "run", "report", "kit", "files"];

    /// The source files under `dir`, as (path relative to `src/`, text).
    fn sources(dir: &Path, root: &Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, root, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().to_string_lossy();
                found.push((
                    relative.replace('\\', "/"),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
    }

    /// The top-level module a source file belongs to: `run/grade.rs` → `run`, `cli.rs` → `cli`.
    fn folder_of(relative: &str) -> String {
        let first = relative.split('/').next().unwrap();
        first.trim_end_matches(".rs").to_string()
    }

    /// The top-level modules a source names with `crate::...`, in `use` lines and in paths.
    fn imports_of(text: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                let after = &rest[at + "crate::".len()..];
                // `use crate::{kit, report}` would hide its folders from this reader.
                assert!(
                    !after.starts_with('{'),
                    "name one folder per `crate::` path: {line}"
                );
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                // `crate::` after an identifier character (`mycrate::`) is not the crate.
                let before = rest[..at].chars().next_back();
                if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') && !name.is_empty() {
                    found.insert(name);
                }
                rest = after;
            }
        }
        found
    }

    type Graph = BTreeMap<String, BTreeSet<String>>;

    /// The folder-level import graph of `files` (path relative to `src/`, text), and what is
    /// wrong with it: a `crate::` path that names no folder of [`LAYERS`] (a stable alias of
    /// the crate's root, which would hide the real edge), a circle, an import upwards.
    fn layering(files: &[(String, String)]) -> (Graph, Vec<String>) {
        let mut graph = Graph::new();
        let mut problems = Vec::new();
        for (relative, text) in files {
            let folder = folder_of(relative);
            if folder == "lib" || folder == "main" {
                continue; // the root declares the folders; `main` calls `cli`
            }
            if !LAYERS.contains(&folder.as_str()) {
                problems.push(format!(
                    "src/{relative} is in {folder}, which is not a layer of {LAYERS:?}: add it"
                ));
            }
            for import in imports_of(text) {
                if !LAYERS.contains(&import.as_str()) {
                    problems.push(format!(
                        "src/{relative} names crate::{import}, an old flat path: name its folder"
                    ));
                } else if import != folder {
                    graph.entry(folder.clone()).or_default().insert(import);
                }
            }
        }
        // No circle: take away, one at a time, a folder that imports from none of those left.
        let mut left: BTreeSet<&str> = graph
            .iter()
            .flat_map(|(f, imports)| std::iter::once(f).chain(imports))
            .map(String::as_str)
            .collect();
        while let Some(leaf) = left.iter().copied().find(|f| {
            graph
                .get(*f)
                .is_none_or(|i| i.iter().all(|i| !left.contains(i.as_str())))
        }) {
            left.remove(leaf);
        }
        if !left.is_empty() {
            problems.push(format!(
                "the folders {left:?} import from each other in a circle"
            ));
        }
        // And every import goes down the layers.
        let rank = |f: &str| LAYERS.iter().position(|l| *l == f);
        for (folder, imports) in &graph {
            for import in imports {
                if rank(import) <= rank(folder) {
                    problems.push(format!("{folder} imports from {import}, a layer above it"));
                }
            }
        }
        (graph, problems)
    }

    /// The grader's own sources: no circle between folders, every import downwards.
    #[test]
    fn folders_import_one_way() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &src, &mut files);
        assert!(files.len() > 20, "the grader's sources are found");
        let (graph, problems) = layering(&files);
        for (folder, imports) in &graph {
            eprintln!("{folder} -> {imports:?}");
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        assert!(
            graph["commands"].contains("run"),
            "the graph is read: {graph:?}"
        );
    }

    #[test]
    fn a_circle_an_upward_import_and_an_old_path_are_found() {
        let files = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(p, t)| (p.to_string(), t.to_string()))
                .collect()
        };
        let circle = files(&[
            ("kit/rules.rs", "use crate::report::model::Violation;"),
            ("report/model.rs", "use crate::kit::Visibility;"),
        ]);
        let (_, problems) = layering(&circle);
        assert!(
            problems.iter().any(|p| p.contains("circle")),
            "{problems:?}"
        );
        assert!(problems
            .iter()
            .any(|p| p.contains("kit imports from report")));
        let old = files(&[("run/grade.rs", "use crate::score::judge;")]);
        let (_, problems) = layering(&old);
        assert!(
            problems.iter().any(|p| p.contains("old flat path")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_import_scanner_reads_paths_and_skips_comments() {
        let text = "use crate::kit::{Kit, Lab};\n\
                    let x = crate::report::text::points(1.0); // crate::commands\n\
                    mycrate::run::x();\n";
        let found: Vec<String> = imports_of(text).into_iter().collect();
        assert_eq!(found, ["kit", "report"]);
    }
}
