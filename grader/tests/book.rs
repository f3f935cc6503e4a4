//! The course book (`docs/src/`) against the grader it documents: every grader command and
//! option the book shows exists in the grader's `--help`, every `just` recipe it shows exists
//! in the justfile, and every link between pages (and to a heading) resolves. A book that
//! drifts from the tool is worse than no book: students copy its commands.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn pages() -> Vec<(String, String)> {
    let mut pages: Vec<(String, String)> = fs::read_dir(kit_root().join("docs/src"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    pages.sort();
    assert!(pages.len() >= 10, "the book has its pages");
    pages
}

fn help(args: &[&str]) -> String {
    let output = Command::cargo_bin("grader")
        .unwrap()
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "grader {args:?} --help fails");
    String::from_utf8(output.stdout).unwrap()
}

/// The subcommands `grader --help` lists.
fn subcommands() -> BTreeSet<String> {
    let text = help(&[]);
    text.lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect()
}

/// The code of a page: every line of its code blocks and every inline code span.
fn code_of(page: &str) -> Vec<String> {
    let mut code: Vec<String> = Vec::new();
    let mut in_block = false;
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            code.push(line.to_string());
        } else {
            code.extend(line.split('`').skip(1).step_by(2).map(str::to_string));
        }
    }
    code
}

/// Every grader invocation in a page: what follows `cargo run -p grader --` or a `grader`
/// command word, in code blocks and inline code, up to a comment or the end of the code.
fn grader_invocations(page: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for snippet in code_of(page) {
        let snippet = snippet.split(" #").next().unwrap_or("");
        for part in snippet.split("&&").flat_map(|p| p.split(';')) {
            let words: Vec<&str> = part.split_whitespace().collect();
            let cargo_run = words
                .windows(2)
                .position(|w| w[0] == "cargo" && w[1] == "run");
            let start = if let Some(at) = cargo_run {
                words[at..]
                    .iter()
                    .position(|w| *w == "--")
                    .filter(|&dashes| words[at..at + dashes].contains(&"grader"))
                    .map(|dashes| at + dashes + 1)
            } else {
                words
                    .iter()
                    .position(|w| *w == "grader")
                    .filter(|&p| p == 0 || words[p - 1] == "$")
                    .map(|p| p + 1)
            };
            if let Some(start) = start {
                let args: Vec<String> = words[start..]
                    .iter()
                    .take_while(|w| !w.starts_with('|') && !w.starts_with('>'))
                    .map(|w| {
                        w.trim_matches(|c| c == '[' || c == ']' || c == '.')
                            .to_string()
                    })
                    .filter(|w| !w.is_empty())
                    .collect();
                if !args.is_empty() {
                    found.push(args);
                }
            }
        }
    }
    found
}

#[test]
fn every_grader_command_and_option_in_the_book_exists() {
    let commands = subcommands();
    for expected in [
        "list",
        "lab",
        "grade",
        "hint",
        "bench",
        "selfcheck",
        "release",
        "gradescope",
    ] {
        assert!(
            commands.contains(expected),
            "grader --help lists no {expected}: {commands:?}"
        );
    }
    let mut helps: BTreeMap<String, String> = BTreeMap::new();
    let mut checked = 0;
    for (name, page) in pages() {
        for args in grader_invocations(&page) {
            let command = &args[0];
            if command.starts_with('-') || command.starts_with('<') {
                continue; // `grader --help`, `grader <command>`
            }
            assert!(
                commands.contains(command),
                "docs/src/{name} shows `grader {}`, but the grader has no command {command:?} \
                 (it has: {commands:?})",
                args.join(" ")
            );
            let text = helps
                .entry(command.clone())
                .or_insert_with(|| help(&[command]));
            for option in args.iter().filter(|a| a.starts_with("--")) {
                let option = option.split('=').next().unwrap();
                assert!(
                    text.contains(&format!("{option} ")) || text.contains(&format!("{option}\n")),
                    "docs/src/{name} shows `grader {}`, but `grader {command} --help` has no \
                     option {option}",
                    args.join(" ")
                );
            }
            checked += 1;
            eprintln!("docs/src/{name}: grader {}", args.join(" "));
        }
    }
    assert!(
        checked >= 20,
        "the book shows grader commands ({checked} found)"
    );
}

#[test]
fn every_just_recipe_in_the_book_exists() {
    let justfile = fs::read_to_string(kit_root().join("justfile")).unwrap();
    let recipes: BTreeSet<String> = justfile
        .lines()
        .filter(|line| !line.starts_with([' ', '\t', '#']) && line.contains(':'))
        .filter_map(|line| line.split([' ', ':']).next().map(str::to_string))
        .filter(|name| !name.is_empty())
        .collect();
    let mut checked = 0;
    for (name, page) in pages() {
        for snippet in code_of(&page) {
            let words: Vec<&str> = snippet.split_whitespace().collect();
            for pair in words.windows(2).filter(|w| w[0] == "just") {
                if pair[1].starts_with('-') || pair[1] == "is" {
                    continue;
                }
                assert!(
                    recipes.contains(pair[1]),
                    "docs/src/{name} shows `{snippet}`, but the justfile has no recipe {:?} \
                     (it has: {recipes:?})",
                    pair[1]
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 8,
        "the book shows just recipes ({checked} found)"
    );
}

/// mdBook's id for a heading: lower case, spaces to dashes, other punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(page: &str) -> BTreeSet<String> {
    let mut in_block = false;
    let mut found = BTreeSet::new();
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
        } else if !in_block && line.starts_with('#') {
            found.insert(slug(line.trim_start_matches('#')));
        }
    }
    found
}

/// `(text, target)` of every Markdown link outside code.
fn links(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut in_block = false;
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            found.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    found
}

#[test]
fn every_link_between_pages_resolves() {
    let pages = pages();
    let by_name: BTreeMap<&str, &str> = pages
        .iter()
        .map(|(n, p)| (n.as_str(), p.as_str()))
        .collect();
    let mut checked = 0;
    for (name, page) in &pages {
        for target in links(page) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if file.is_empty() { name.as_str() } else { file };
            let linked = if let Some(page) = by_name.get(file) {
                page
            } else {
                // A link out of the book (to a file of the kit) must name a file that exists.
                let path = kit_root().join("docs/src").join(file);
                assert!(
                    path.exists(),
                    "docs/src/{name} links to {target}, which does not exist"
                );
                checked += 1;
                continue;
            };
            if let Some(anchor) = anchor {
                assert!(
                    anchors(linked).contains(anchor),
                    "docs/src/{name} links to {target}, but {file} has no heading with id \
                     {anchor:?} (it has: {:?})",
                    anchors(linked)
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "the book links its pages ({checked} links)");
    // Every page is in the summary, and the summary names only pages that exist.
    let summary = by_name["SUMMARY.md"];
    for (name, _) in &pages {
        if name != "SUMMARY.md" {
            assert!(
                summary.contains(&format!("({name})")),
                "docs/src/{name} is not in SUMMARY.md: mdBook would leave it out"
            );
        }
    }
}

#[test]
fn slugs_follow_mdbook() {
    assert_eq!(
        slug(" Resuming, the verdict cache and `--regrade`"),
        "resuming-the-verdict-cache-and---regrade"
    );
    assert_eq!(slug("Lab 1: A blocking server"), "lab-1-a-blocking-server");
}
