//! The kit: what is graded, before anything runs. The bottom of the pipeline: it imports
//! nothing else of the grader, and every other folder builds on it.
//!
//! - this module: finding the kit, its labs (`lab.toml`), each lab's rubric (public tests
//!   in `lab.toml`, hidden ones in `hidden/rubric.toml`) and its source [`Rule`]s;
//! - [`submission`]: where a submission's editable files come from;
//! - [`rules`]: checking editable files against the rules, and the [`rules::Violation`]s
//!   found.
//!
//! Inside the folder, imports go `rules` → `submission` → this module.

pub mod rules;
pub mod submission;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// Where a test's source lives and who may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// In `labs/<lab>/tests/public.rs`: students run it.
    Public,
    /// In `labs/<lab>/hidden/hidden.rs`: only the instructor's grading runs it.
    Hidden,
}

impl Visibility {
    /// The cargo test target that holds tests of this visibility.
    pub fn target(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Hidden => "hidden",
        }
    }
}

/// One test in a rubric.
#[derive(Debug, Clone, PartialEq)]
pub struct RubricEntry {
    pub name: String,
    pub points: f64,
    pub timeout_s: u64,
    pub hint: String,
    /// The address-space limit of the test's process where no cgroup caps its memory.
    pub address_space_mib: Option<u64>,
    /// More specific hints, in order, after `hint`.
    pub more_hints: Vec<String>,
    /// The concept a failure points to, and what to revisit: ("lost wake-up", "...").
    pub concept: Option<(String, String)>,
    pub visibility: Visibility,
}

/// One lab, as its `lab.toml` describes it.
#[derive(Debug, Clone)]
pub struct Lab {
    pub number: u32,
    /// The cargo package name (`lab1`).
    pub package: String,
    pub title: String,
    /// The folder name under `labs/` (`lab1-blocking`).
    pub dir_name: String,
    /// Paths relative to the lab folder of the only files a submission provides.
    pub editable: Vec<String>,
    /// Public tests first, then hidden ones (when the kit has them).
    pub tests: Vec<RubricEntry>,
    /// Constructs the editable files may not use.
    pub rules: Vec<Rule>,
    /// Paths this lab needs that the grader would otherwise flag (see [`rules::flags`]).
    pub may_use: Vec<String>,
    /// What usually makes a test of this lab time out (a lost wake-up, a blocked executor).
    pub timeout_hint: Option<String>,
    /// Mutants of `grader mutants` declared unable to change behaviour, counted apart.
    pub equivalent_mutants: Vec<EquivalentMutant>,
    /// Mutants that the tests miss on purpose, with why: still counted as missed.
    pub missed_mutants: Vec<MissedMutant>,
    /// The lab's written answers (`answers = "ANSWERS.md"` in `lab.toml`): handed in with the
    /// code, read and marked by hand, never part of the automatic score.
    pub answers: Option<AnswersFile>,
}

/// A lab's file of written answers, as `lab.toml` names it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswersFile {
    /// Relative to the lab folder (`ANSWERS.md`).
    pub path: String,
    /// The points the instructor gives by hand (`answers_points`), reported apart.
    pub points: Option<f64>,
}

impl Lab {
    pub fn public_tests(&self) -> impl Iterator<Item = &RubricEntry> {
        self.tests
            .iter()
            .filter(|t| t.visibility == Visibility::Public)
    }

    pub fn has_hidden_tests(&self) -> bool {
        self.tests
            .iter()
            .any(|t| t.visibility == Visibility::Hidden)
    }

    pub fn max_points(&self, with_hidden: bool) -> f64 {
        self.tests
            .iter()
            .filter(|t| with_hidden || t.visibility == Visibility::Public)
            .map(|t| t.points)
            .sum()
    }
}

/// A `[[rules]]` entry of `lab.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What the rule asks of the student, shown with every violation.
    pub description: String,
    /// The editable files it applies to (default: all of them).
    #[serde(default)]
    pub files: Vec<String>,
    /// Language constructs: `async` (functions, blocks, closures), `await`, `unsafe`.
    #[serde(default)]
    pub forbid: Vec<Construct>,
    /// Paths that may not be named, with everything under them: `std::thread`, `tokio`.
    #[serde(default)]
    pub forbid_paths: Vec<String>,
    /// The tests a violation zeroes (default: every test of the lab).
    #[serde(default)]
    pub tests: Vec<String>,
}

/// An `[[equivalent_mutants]]` entry of `lab.toml`: a mutant that `grader mutants` plants
/// but that cannot change the lab's behaviour, with why.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquivalentMutant {
    /// The mutant's id, `file:line:operator` (as the mutants report prints it).
    pub id: String,
    /// One line: why no test can tell the mutant from the original.
    pub reason: String,
}

/// A `[[missed_mutants]]` entry of `lab.toml`: a mutant that the tests do not catch, and why
/// no test should (a behaviour the handout does not ask for, a difference no test can see
/// on every machine). The report prints the reason next to the missed mutant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissedMutant {
    /// The mutant's id, as for [`EquivalentMutant::id`].
    pub id: String,
    /// One line: why the mutant is left missed.
    pub reason: String,
}

/// A construct a rule can forbid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Construct {
    Async,
    Await,
    Unsafe,
}

impl Rule {
    /// Whether the rule covers this editable file (relative to the lab folder).
    pub fn applies_to(&self, path: &str) -> bool {
        self.files.is_empty() || self.files.iter().any(|f| f == path)
    }
}

/// The kit: a cargo workspace with `labs/`.
#[derive(Debug, Clone)]
pub struct Kit {
    pub root: PathBuf,
    pub labs: Vec<Lab>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabToml {
    number: u32,
    package: String,
    title: String,
    editable: Vec<String>,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    tests: Vec<TestToml>,
    #[serde(default)]
    rules: Vec<Rule>,
    /// Paths the lab needs that are otherwise flagged for the instructor (`std::fs`...).
    #[serde(default)]
    may_use: Vec<String>,
    /// Lecture concepts that failures point to: name → what to revisit.
    #[serde(default)]
    concepts: std::collections::BTreeMap<String, String>,
    /// Mutants that cannot change behaviour (see `grader mutants`).
    #[serde(default)]
    equivalent_mutants: Vec<EquivalentMutant>,
    /// Mutants left missed on purpose, with why (see `grader mutants`).
    #[serde(default)]
    missed_mutants: Vec<MissedMutant>,
    /// The file of written answers, relative to the lab folder (`ANSWERS.md`).
    #[serde(default)]
    answers: Option<String>,
    /// Points for the written answers, given by hand.
    #[serde(default)]
    answers_points: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RubricToml {
    #[serde(default)]
    tests: Vec<TestToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default = "default_timeout")]
    timeout_s: u64,
    /// Added to the note of every test of the lab that times out: what usually causes it.
    #[serde(default)]
    timeout_hint: Option<String>,
    /// The address space a test may reserve, in MiB, on machines without a cgroup memory cap.
    /// Only for labs whose tests run few threads: every thread reserves a stack and malloc
    /// arenas, so a thread-per-connection test would need far more than it uses.
    #[serde(default)]
    address_space_mib: Option<u64>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            timeout_s: default_timeout(),
            timeout_hint: None,
            address_space_mib: None,
        }
    }
}

fn default_timeout() -> u64 {
    10
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestToml {
    name: String,
    points: f64,
    timeout_s: Option<u64>,
    hint: String,
    /// More specific hints, revealed one at a time by `grader hint N TEST`.
    #[serde(default)]
    more_hints: Vec<String>,
    /// The lecture concept a failure of this test points to (a key of `[concepts]`).
    #[serde(default)]
    concept: Option<String>,
}

impl Kit {
    /// Finds the kit: `explicit` if given, else the nearest folder at or above the current
    /// directory that holds `labs/` and a `Cargo.toml`, else the checkout this grader was
    /// built from.
    pub fn locate(explicit: Option<&Path>) -> Result<Kit> {
        if let Some(root) = explicit {
            return Kit::load(root);
        }
        let cwd = std::env::current_dir().context("reading the current directory")?;
        for dir in cwd.ancestors() {
            if is_kit_root(dir) {
                return Kit::load(dir);
            }
        }
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        if is_kit_root(&built_from) {
            return Kit::load(&built_from);
        }
        bail!(
            "no lab kit found at or above {}: run the grader inside the kit (the folder with \
             Cargo.toml and labs/), or pass --kit DIR",
            cwd.display()
        )
    }

    /// Reads every `labs/*/lab.toml` under `root`.
    pub fn load(root: &Path) -> Result<Kit> {
        let root = root
            .canonicalize()
            .with_context(|| format!("the kit folder {} does not exist", root.display()))?;
        if !is_kit_root(&root) {
            bail!(
                "{} is not a lab kit: it needs Cargo.toml and labs/",
                root.display()
            );
        }
        let mut labs = Vec::new();
        let entries = fs::read_dir(root.join("labs"))
            .with_context(|| format!("reading {}", root.join("labs").display()))?;
        for entry in entries {
            let dir = entry?.path();
            if dir.join("lab.toml").is_file() {
                labs.push(load_lab(&dir)?);
            }
        }
        labs.sort_by_key(|lab| lab.number);
        for pair in labs.windows(2) {
            if pair[0].number == pair[1].number {
                bail!(
                    "labs/{} and labs/{} both claim to be lab {}",
                    pair[0].dir_name,
                    pair[1].dir_name,
                    pair[0].number
                );
            }
        }
        Ok(Kit { root, labs })
    }

    /// The lab with this number, or an error that lists the labs there are.
    pub fn lab(&self, number: u32) -> Result<&Lab> {
        self.labs
            .iter()
            .find(|lab| lab.number == number)
            .ok_or_else(|| {
                let known: Vec<String> = self.labs.iter().map(|l| l.number.to_string()).collect();
                anyhow::anyhow!(
                    "there is no lab {number} in this kit (labs: {}); `grader list` shows them",
                    known.join(", ")
                )
            })
    }

    /// `labs/<dir_name>` of a lab.
    pub fn lab_dir(&self, lab: &Lab) -> PathBuf {
        self.root.join("labs").join(&lab.dir_name)
    }

    /// `solutions/<dir_name>`, which holds exactly the editable files, solved.
    pub fn solution_dir(&self, lab: &Lab) -> PathBuf {
        self.root.join("solutions").join(&lab.dir_name)
    }
}

fn is_kit_root(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("labs").is_dir()
}

fn load_lab(dir: &Path) -> Result<Lab> {
    let manifest = dir.join("lab.toml");
    let text =
        fs::read_to_string(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let parsed: LabToml = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid lab manifest", manifest.display()))?;
    let dir_name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("lab folder name is not UTF-8")?
        .to_string();
    for path in &parsed.editable {
        if Path::new(path).is_absolute()
            || path.split('/').any(|part| part == ".." || part.is_empty())
        {
            bail!(
                "{}: editable path {path:?} must be relative and stay inside the lab",
                manifest.display()
            );
        }
    }
    if let Some(path) = &parsed.answers {
        if Path::new(path).is_absolute()
            || path.split('/').any(|part| part == ".." || part.is_empty())
            || parsed.editable.contains(path)
        {
            bail!(
                "{}: answers {path:?} must be relative, stay inside the lab and not be an \
                 editable source file",
                manifest.display()
            );
        }
    }
    if parsed.answers_points.is_some() && parsed.answers.is_none() {
        bail!(
            "{}: answers_points without an answers file",
            manifest.display()
        );
    }
    let answers = parsed.answers.clone().map(|path| AnswersFile {
        path,
        points: parsed.answers_points,
    });
    let timeout = parsed.defaults.timeout_s;
    let timeout_hint = parsed.defaults.timeout_hint.clone();
    let concepts = parsed.concepts.clone();
    let address_space = parsed.defaults.address_space_mib;
    let mut tests = entries(
        parsed.tests,
        timeout,
        address_space,
        Visibility::Public,
        &concepts,
    )
    .with_context(|| format!("in {}", manifest.display()))?;
    let rubric = dir.join("hidden").join("rubric.toml");
    if rubric.is_file() {
        let text =
            fs::read_to_string(&rubric).with_context(|| format!("reading {}", rubric.display()))?;
        let hidden: RubricToml = toml::from_str(&text)
            .with_context(|| format!("{} is not a valid rubric", rubric.display()))?;
        tests.extend(
            entries(
                hidden.tests,
                timeout,
                address_space,
                Visibility::Hidden,
                &concepts,
            )
            .with_context(|| format!("in {}", rubric.display()))?,
        );
    }
    let mut names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        bail!(
            "lab {}: test {:?} appears twice in its rubrics",
            parsed.number,
            pair[0]
        );
    }
    for rule in &parsed.rules {
        for file in &rule.files {
            if !parsed.editable.contains(file) {
                bail!(
                    "{}: a rule names {file:?}, which is not an editable file",
                    manifest.display()
                );
            }
        }
    }
    Ok(Lab {
        rules: parsed.rules,
        may_use: parsed.may_use,
        timeout_hint,
        number: parsed.number,
        package: parsed.package,
        title: parsed.title,
        dir_name,
        editable: parsed.editable,
        tests,
        equivalent_mutants: parsed.equivalent_mutants,
        missed_mutants: parsed.missed_mutants,
        answers,
    })
}

fn entries(
    tests: Vec<TestToml>,
    default_timeout: u64,
    address_space_mib: Option<u64>,
    visibility: Visibility,
    concepts: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<RubricEntry>> {
    tests
        .into_iter()
        .map(|t| {
            let concept = match t.concept {
                None => None,
                Some(name) => match concepts.get(&name) {
                    Some(text) => Some((name, text.clone())),
                    None => bail!(
                        "test {} names concept {name:?}, which lab.toml's [concepts] does not \
                         define (it has: {})",
                        t.name,
                        concepts.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                },
            };
            Ok(RubricEntry {
                name: t.name,
                points: t.points,
                timeout_s: t.timeout_s.unwrap_or(default_timeout),
                hint: t.hint,
                address_space_mib,
                more_hints: t.more_hints,
                concept,
                visibility,
            })
        })
        .collect()
}
