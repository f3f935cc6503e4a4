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

/// The workspace's `rust-version`, from the root `Cargo.toml`.
fn rust_version() -> String {
    let manifest = fs::read_to_string(kit_root().join("Cargo.toml")).unwrap();
    manifest
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once('=')?;
            (key.trim() == "rust-version").then(|| value.trim().trim_matches('"').to_string())
        })
        .expect("the root Cargo.toml has a rust-version")
}

#[test]
fn the_toolchain_version_in_the_book_is_the_workspaces_rust_version() {
    let wanted = rust_version();
    let mut texts = pages();
    texts.push((
        "README.md".to_string(),
        fs::read_to_string(kit_root().join("README.md")).unwrap(),
    ));
    let mut found_in_introduction = false;
    for (name, text) in &texts {
        for (at, _) in text
            .match_indices(" or newer")
            .chain(text.match_indices(" or later"))
        {
            let before = &text[..at];
            let word = before
                .rsplit(|c: char| c.is_whitespace() || c == '(')
                .next()
                .unwrap_or("")
                .trim_start_matches('v');
            let is_version = word.contains('.')
                && word.chars().all(|c| c.is_ascii_digit() || c == '.')
                && word.starts_with("1.");
            if !is_version {
                continue;
            }
            assert_eq!(
                word, wanted,
                "{name} asks for Rust {word} or newer, but Cargo.toml says rust-version = \
                 \"{wanted}\": keep them the same"
            );
            found_in_introduction |= name == "introduction.md";
        }
    }
    assert!(
        found_in_introduction,
        "introduction.md says which Rust toolchain is needed (\"{wanted} or newer\")"
    );
}

/// The shell lines a page shows: every line of its `sh`/`bash`/`shell`/`console` blocks, and
/// every `$ `-prompted line of its other blocks; lines continued with `\` are joined.
fn shell_lines(page: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut block: Option<String> = None;
    let mut continued = false;
    for line in page.lines() {
        let trimmed = line.trim_start();
        if let Some(fence) = trimmed.strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(fence.trim().to_string()),
            };
            continue;
        }
        let Some(language) = &block else { continue };
        let shell = ["sh", "bash", "shell", "console"].contains(&language.as_str());
        let text = if let Some(command) = trimmed.strip_prefix("$ ") {
            command
        } else if shell {
            trimmed
        } else {
            continue;
        };
        let (text, more) = match text.strip_suffix('\\') {
            Some(text) => (text, true),
            None => (text, false),
        };
        if continued {
            lines.last_mut().unwrap().push_str(text);
        } else {
            lines.push(text.to_string());
        }
        continued = more;
    }
    lines
}

/// The commands of a shell line: split at unquoted `|`, `;`, `&` and `(`/`)`, after dropping
/// a comment; `$(...)` and `(...)` give their own commands.
fn commands_of(line: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '#' && previous.is_whitespace() => break,
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None if matches!(c, '|' | ';' | '&' | '(' | ')') => {
                let ends_substitution = c == '(' && word.ends_with('$');
                if ends_substitution {
                    word.pop();
                }
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            None => word.push(c),
        }
        previous = c;
    }
    if !word.is_empty() {
        words.push(word);
    }
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// The program a command runs: past shell keywords, variable assignments and `sudo`.
fn program_of(words: &[String]) -> Option<&str> {
    const SKIPPED: &[&str] = &["do", "then", "else", "time", "!", "{", "}", "sudo", "exec"];
    words.iter().map(String::as_str).find(|word| {
        let assignment = word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        !assignment && !SKIPPED.contains(word)
    })
}

/// Every shell command the book shows is a tool that the kit provides or that every machine
/// of the course has (or that the book says how to install): no `nc`, no binary started from a
/// `target/` directory (wrong whenever `CARGO_TARGET_DIR` is set; `cargo run` finds it).
#[test]
fn every_shell_command_in_the_book_is_a_known_tool() {
    // The kit's own tools and the toolchain; the Redis tools the handouts install
    // (troubleshooting.md says how); package managers, for the install lines; the shell and
    // the standard tools of any Linux (coreutils, procps, iproute2); `jq` for the
    // instructor's scripts over JSON reports.
    const KNOWN: &str = "cargo just rustup rustc mdbook git \
        redis-cli redis-benchmark \
        apt-get apt brew dnf pacman pipx pip \
        for while if fi done wait break continue exit cd export ulimit echo cat ls mkdir rm cp \
        mv grep head tail wc sort uniq diff find xargs env seq yes sleep kill ps pgrep top \
        watch ss nproc free uname unzip tar zip true false test \
        jq";
    let known: Vec<&str> = KNOWN.split_whitespace().collect();
    const FORBIDDEN: &[&str] = &["nc", "ncat", "netcat", "telnet", "socat"];
    let mut checked = 0;
    let mut problems = Vec::new();
    for (name, page) in pages() {
        for line in shell_lines(&page) {
            for command in commands_of(&line) {
                let Some(program) = program_of(&command) else {
                    continue; // only assignments: `SERVER=$!`
                };
                checked += 1;
                if !known.contains(&program) {
                    problems.push(format!(
                        "docs/src/{name}: `{line}` runs {program:?}, which is not one of the \
                         known tools: {KNOWN}"
                    ));
                }
            }
        }
        for snippet in code_of(&page) {
            let first = snippet.split_whitespace().next().unwrap_or("");
            if FORBIDDEN.contains(&first) {
                problems.push(format!(
                    "docs/src/{name} shows `{snippet}`: {first} is not on a fresh machine; use \
                     the kit's `cargo run -p support --bin idle-clients` or redis-cli"
                ));
            }
            if snippet.contains("target/debug/") || snippet.contains("target/release/") {
                problems.push(format!(
                    "docs/src/{name} shows `{snippet}`: a path into cargo's target directory \
                     is wrong whenever CARGO_TARGET_DIR is set; show `cargo run -p ...`"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        checked >= 40,
        "the book shows shell commands ({checked} found)"
    );
}

/// The workspace's packages: name to directory.
fn packages() -> BTreeMap<String, PathBuf> {
    let root = kit_root();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = manifest
        .lines()
        .find(|line| line.trim_start().starts_with("members"))
        .expect("the workspace lists its members");
    members
        .split('"')
        .skip(1)
        .step_by(2)
        .filter_map(|member| {
            let dir = root.join(member);
            let text = fs::read_to_string(dir.join("Cargo.toml")).ok()?;
            let name = text.lines().find_map(|line| {
                let (key, value) = line.split_once('=')?;
                (key.trim() == "name").then(|| value.trim().trim_matches('"').to_string())
            })?;
            Some((name, dir))
        })
        .collect()
}

/// Every `cargo run -p PACKAGE [--bin NAME] -- ARGS` in the book names a package of the
/// workspace, a program it has, and options that program knows (the grader's are checked
/// against its `--help` above).
#[test]
fn every_program_the_book_runs_exists_with_its_options() {
    let packages = packages();
    let mut checked = 0;
    for (name, page) in pages() {
        for line in shell_lines(&page).into_iter().chain(code_of(&page)) {
            for command in commands_of(&line) {
                let Some(run) = command
                    .windows(2)
                    .position(|w| w[0] == "cargo" && w[1] == "run")
                else {
                    continue;
                };
                let words = &command[run + 2..];
                let dashes = words.iter().position(|w| w == "--").unwrap_or(words.len());
                let cargo_args = &words[..dashes];
                let program_args = words.get(dashes + 1..).unwrap_or_default();
                let value_of = |flag: &str| {
                    cargo_args
                        .windows(2)
                        .find(|w| w[0] == flag)
                        .map(|w| w[1].clone())
                };
                let Some(package) = value_of("-p") else {
                    continue;
                };
                if package == "grader" {
                    continue;
                }
                let dir = packages.get(&package).unwrap_or_else(|| {
                    panic!(
                        "docs/src/{name} shows `{line}`, but the workspace has no package \
                         {package:?} (it has: {:?})",
                        packages.keys().collect::<Vec<_>>()
                    )
                });
                let source = match value_of("--bin") {
                    Some(bin) => dir.join("src/bin").join(format!("{bin}.rs")),
                    None => dir.join("src/main.rs"),
                };
                let text = fs::read_to_string(&source).unwrap_or_else(|_| {
                    panic!(
                        "docs/src/{name} shows `{line}`, but {} does not exist",
                        source.display()
                    )
                });
                for option in program_args.iter().filter(|a| a.starts_with("--")) {
                    assert!(
                        text.contains(&format!("\"{option}\"")),
                        "docs/src/{name} shows `{line}`, but {} knows no option {option}",
                        source.display()
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 10,
        "the book runs the labs' programs ({checked} found)"
    );
}

/// Each lab's `ANSWERS.md` (the home of its written answers) is named by the lab's handout,
/// and every question it holds is asked there, word for word.
#[test]
fn every_answers_file_matches_its_handout() {
    let mut checked = 0;
    for entry in fs::read_dir(kit_root().join("labs")).unwrap().flatten() {
        let answers_path = entry.path().join("ANSWERS.md");
        let Ok(answers) = fs::read_to_string(&answers_path) else {
            continue;
        };
        let dir = entry.file_name().to_string_lossy().into_owned();
        let manifest = fs::read_to_string(entry.path().join("lab.toml")).unwrap();
        let number = manifest
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once('=')?;
                (key.trim() == "number").then(|| value.trim().to_string())
            })
            .expect("lab.toml has a number");
        let handout_name = format!("lab{number}.md");
        let handout = fs::read_to_string(kit_root().join("docs/src").join(&handout_name))
            .unwrap_or_else(|_| panic!("labs/{dir} has an ANSWERS.md but no {handout_name}"));
        let flat = handout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(&format!("labs/{dir}/ANSWERS.md")),
            "docs/src/{handout_name} must tell students to answer in labs/{dir}/ANSWERS.md"
        );
        let questions: Vec<&str> = answers
            .lines()
            .filter_map(|line| line.strip_prefix("## "))
            .filter_map(|heading| {
                let (number, question) = heading.split_once(". ")?;
                number
                    .chars()
                    .all(|c| c.is_ascii_digit())
                    .then_some(question)
            })
            .collect();
        assert!(
            !questions.is_empty(),
            "labs/{dir}/ANSWERS.md has its questions as `## N. ...` headings"
        );
        for question in questions {
            assert!(
                flat.contains(question),
                "labs/{dir}/ANSWERS.md asks {question:?}, which docs/src/{handout_name} does \
                 not ask word for word"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "the labs ask written questions ({checked})");
}
