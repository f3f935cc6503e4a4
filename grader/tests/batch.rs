//! Batch grading through the grader's command line: a folder of lab 1 submissions (folders,
//! a .zip, a .tar.gz), every report file, resuming after SIGKILL, and hostile archives.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use grader::archive::{self, Limits};
use grader::score::SubmissionReport;
use serde_json::Value;

/// Commands that grade run one at a time: their tests are timing-sensitive.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const LAB: &str = "lab1-blocking";
const EDITABLE: [&str; 2] = ["src/server.rs", "src/pool.rs"];

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn grader() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grader"));
    command.current_dir(kit_root());
    command
}

/// A private copy of the grader binary in `dir`. The verdict cache is keyed by the grader's own
/// bytes, so a rerun must use the very same binary even if a parallel `cargo build` replaces
/// the one in target/.
fn private_grader(dir: &Path) -> PathBuf {
    let copy = dir.join("grader-under-test");
    fs::copy(env!("CARGO_BIN_EXE_grader"), &copy).unwrap();
    copy
}

/// Lab 1's editable files: the solution with a fixture's patches applied and its files laid
/// over it (see grader/tests/common/mod.rs for the fixture format).
fn lab1_files(fixture: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let fixture_dir =
        fixture.map(|name| kit_root().join(format!("grader/tests/fixtures/lab1/{name}")));
    let patches: Vec<toml::Value> = fixture_dir
        .as_ref()
        .map(|dir| {
            let text = fs::read_to_string(dir.join("fixture.toml")).unwrap();
            let parsed: toml::Value = toml::from_str(&text).unwrap();
            parsed
                .get("patch")
                .and_then(|p| p.as_array())
                .cloned()
                .unwrap_or_default()
        })
        .unwrap_or_default();
    EDITABLE
        .iter()
        .map(|file| {
            let overlay = fixture_dir
                .as_ref()
                .map(|dir| dir.join(format!("labs/{LAB}/{file}")));
            let source = match overlay {
                Some(path) if path.is_file() => path,
                _ => kit_root().join(format!("solutions/{LAB}/{file}")),
            };
            let mut text = fs::read_to_string(source).unwrap();
            for patch in patches.iter().filter(|p| p["file"].as_str() == Some(*file)) {
                let (find, replace) = (
                    patch["find"].as_str().unwrap(),
                    patch["replace"].as_str().unwrap(),
                );
                assert_eq!(
                    text.matches(find).count(),
                    1,
                    "a patch of {file} must match exactly once"
                );
                text = text.replacen(find, replace, 1);
            }
            (file.to_string(), text.into_bytes())
        })
        .collect()
}

fn stub_files() -> Vec<(String, Vec<u8>)> {
    EDITABLE
        .iter()
        .map(|file| {
            let path = kit_root().join(format!("labs/{LAB}/{file}"));
            (file.to_string(), fs::read(path).unwrap())
        })
        .collect()
}

/// Writes files under `root/prefix/`.
fn write_tree(root: &Path, prefix: &str, files: &[(String, Vec<u8>)]) {
    for (path, contents) in files {
        let target = root.join(prefix).join(path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, contents).unwrap();
    }
}

fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, contents) in entries {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(contents).unwrap();
    }
    zip.finish().unwrap();
}

fn write_tar_gz(path: &Path, entries: &[(String, Vec<u8>)]) {
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    for (name, contents) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, contents.as_slice())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

fn prefixed(prefix: &str, files: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .map(|(path, contents)| (format!("{prefix}{path}"), contents.clone()))
        .collect()
}

/// The tests a fixture must lose, from its `fixture.toml`.
fn must_lose(fixture: &str) -> Vec<String> {
    let text = fs::read_to_string(
        kit_root().join(format!("grader/tests/fixtures/lab1/{fixture}/fixture.toml")),
    )
    .unwrap();
    let parsed: toml::Value = toml::from_str(&text).unwrap();
    parsed["expect"]
        .as_table()
        .unwrap()
        .values()
        .flat_map(|tests| tests.as_array().unwrap().iter())
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

fn run_batch(binary: &Path, submissions: &Path, out: &Path, extra: &[&str]) -> String {
    let output = Command::new(binary)
        .current_dir(kit_root())
        .arg("grade")
        .arg(submissions)
        .arg("--out")
        .arg(out)
        .args(["--lab", "1", "--jobs", "2"])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "the batch failed:\n{stderr}");
    stderr
}

fn report_of(out: &Path, student: &str) -> SubmissionReport {
    let path = out.join(student).join("report.json");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} is missing: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is invalid: {e}", path.display()))
}

fn statuses(report: &SubmissionReport) -> BTreeMap<String, String> {
    report.labs[0]
        .tests
        .iter()
        .map(|t| (t.name.clone(), t.status.label().to_string()))
        .collect()
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_folder_of_six_submissions_gets_every_report_and_the_class_reports() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let submissions = dir.path().join("submissions");
    let out = dir.path().join("reports");
    let binary = private_grader(dir.path());
    // A whole tree, a bare lab folder, two mutants, a zip wrapped in a top-level folder (with a
    // target/ folder that must be skipped) and a tar.gz of the lab folders only.
    write_tree(
        &submissions.join("alice"),
        &format!("labs/{LAB}"),
        &lab1_files(None),
    );
    write_tree(&submissions.join("bob"), LAB, &stub_files());
    write_tree(
        &submissions.join("carol"),
        &format!("labs/{LAB}"),
        &lab1_files(Some("serial-accept")),
    );
    write_tree(
        &submissions.join("dave"),
        &format!("labs/{LAB}"),
        &lab1_files(Some("thread-per-job")),
    );
    let mut zipped = prefixed(
        &format!("erin/labs/{LAB}/"),
        &lab1_files(Some("sleep-under-lock")),
    );
    zipped.push(("erin/target/debug/huge.bin".into(), vec![0; 64 * 1024]));
    write_zip(&submissions.join("erin.zip"), &zipped);
    write_tar_gz(
        &submissions.join("frank.tar.gz"),
        &prefixed(&format!("{LAB}/"), &lab1_files(Some("lock-while-reading"))),
    );
    fs::write(submissions.join("README.txt"), "not a submission").unwrap();

    let stderr = run_batch(&binary, &submissions, &out, &[]);
    assert!(
        stderr.contains("README.txt"),
        "ignored entries are named:\n{stderr}"
    );

    let students = ["alice", "bob", "carol", "dave", "erin", "frank"];
    let mut reports = BTreeMap::new();
    for student in students {
        let report = report_of(&out, student);
        assert_eq!(report.submission, student);
        assert_eq!(report.labs.len(), 1, "{student}: only lab 1 was asked for");
        let lab = &report.labs[0];
        assert_eq!(
            lab.status,
            grader::score::LabStatus::Graded,
            "{student}: {:?}",
            lab.message
        );
        // The report is exactly the spec's JSON, as `SubmissionReport` serialises.
        let raw: Value = serde_json::from_str(
            &fs::read_to_string(out.join(student).join("report.json")).unwrap(),
        )
        .unwrap();
        for field in [
            "submission",
            "score",
            "max_score",
            "graded_at",
            "kit_version",
            "toolchain",
            "isolation",
            "labs",
        ] {
            assert!(
                raw.get(field).is_some(),
                "{student}: report.json lacks {field}"
            );
        }
        reports.insert(student, report);
    }
    let max = reports["alice"].max_score;
    assert!(max > 0.0);
    assert_eq!(reports["alice"].score, max, "the solution earns full marks");
    assert_eq!(reports["bob"].score, 0.0, "the stubs earn nothing");
    for (student, fixture) in [
        ("carol", "serial-accept"),
        ("dave", "thread-per-job"),
        ("erin", "sleep-under-lock"),
        ("frank", "lock-while-reading"),
    ] {
        let report = &reports[student];
        let status = statuses(report);
        for test in must_lose(fixture) {
            assert_ne!(
                status[&test], "passed",
                "{student} ({fixture}) must lose {test}"
            );
        }
        assert!(
            report.score > 0.0 && report.score < max,
            "{student} ({fixture}) is the solution with one mistake: {} / {max}",
            report.score
        );
    }

    // Per student: Markdown feedback and Gradescope results.
    for (student, report) in &reports {
        let feedback = fs::read_to_string(out.join(student).join("feedback.md")).unwrap();
        assert!(feedback.starts_with(&format!("# Feedback for {student}")));
        for test in report.labs[0]
            .tests
            .iter()
            .filter(|t| t.score < t.max_score)
        {
            assert!(
                feedback.contains(&format!("### `{}`", test.name)),
                "{student}: feedback.md must explain {}",
                test.name
            );
            assert!(
                feedback.contains(&test.hint),
                "{student}: the hint of {}",
                test.name
            );
        }
        let results: Value = serde_json::from_str(
            &fs::read_to_string(out.join(student).join("results.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(results["score"].as_f64().unwrap(), report.score);
        let tests = results["tests"].as_array().unwrap();
        assert_eq!(tests.len(), report.labs[0].tests.len());
        for (entry, test) in tests.iter().zip(&report.labs[0].tests) {
            assert_eq!(entry["max_score"].as_f64().unwrap(), test.max_score);
            let expected_status = if test.status == grader::score::TestStatus::Passed {
                "passed"
            } else {
                "failed"
            };
            assert_eq!(entry["status"], expected_status);
            let visibility = match test.visibility {
                grader::kit::Visibility::Public => "visible",
                grader::kit::Visibility::Hidden => "after_published",
            };
            assert_eq!(entry["visibility"], visibility, "{}", test.name);
        }
    }

    // The class: gradebook, JUnit, summaries.
    let gradebook = fs::read_to_string(out.join("gradebook.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(gradebook.as_bytes());
    assert_eq!(
        rows.headers().unwrap().iter().collect::<Vec<_>>(),
        ["student", "lab1", "total"]
    );
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6, "{gradebook}");
    for row in &rows {
        let report = &reports[&row[0]];
        assert_eq!(row[1].parse::<f64>().unwrap(), report.labs[0].score);
        assert_eq!(row[2].parse::<f64>().unwrap(), report.score);
    }
    let junit = fs::read_to_string(out.join("junit.xml")).unwrap();
    assert_eq!(
        junit.matches("<testsuite ").count(),
        6,
        "a testsuite per student and lab"
    );
    let tests_per_lab = reports["alice"].labs[0].tests.len();
    assert_eq!(junit.matches("<testcase ").count(), 6 * tests_per_lab);
    assert!(junit.contains("name=\"carol lab 1\""));
    assert!(
        junit.contains("<failure"),
        "failures are in the JUnit report"
    );

    let summary_md = fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary_md.contains("6 students"), "{summary_md}");
    for test in &reports["alice"].labs[0].tests {
        assert!(summary_md.contains(&format!("`{}`", test.name)));
    }
    let html = fs::read_to_string(out.join("summary.html")).unwrap();
    assert!(html.contains("<svg"), "charts are inline SVG");
    for external in ["<script", "<link", "src=", "@import", "url("] {
        assert!(
            !html.contains(external),
            "summary.html must be self-contained: {external}"
        );
    }
    assert_eq!(
        html.matches("http").count(),
        html.matches("http://www.w3.org/2000/svg").count(),
        "no address but the SVG namespace"
    );
    // The pass-rate chart lists the test the class failed most first.
    let rates: Vec<f64> = summary_md
        .lines()
        .skip_while(|l| !l.starts_with("## Tests by pass rate"))
        .filter(|l| l.starts_with("| 1 |"))
        .map(|l| {
            let cell = l.split('|').nth(4).unwrap().trim();
            cell.trim_end_matches('%').parse::<f64>().unwrap()
        })
        .collect();
    assert_eq!(rates.len(), tests_per_lab);
    assert!(
        rates.windows(2).all(|w| w[0] <= w[1]),
        "sorted ascending: {rates:?}"
    );

    // A rerun grades nothing again and changes no report.
    let before: Vec<String> = students
        .iter()
        .map(|s| fs::read_to_string(out.join(s).join("report.json")).unwrap())
        .collect();
    let stderr = run_batch(&binary, &submissions, &out, &[]);
    assert!(stderr.contains("0 graded, 6 already graded"), "{stderr}");
    let after: Vec<String> = students
        .iter()
        .map(|s| fs::read_to_string(out.join(s).join("report.json")).unwrap())
        .collect();
    assert_eq!(
        before, after,
        "a rerun keeps every finished report as it was"
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_batch_killed_half_way_resumes_without_regrading_or_losing_anyone() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let submissions = dir.path().join("submissions");
    let out = dir.path().join("reports");
    let binary = private_grader(dir.path());
    let students = ["s1", "s2", "s3", "s4"];
    for (index, student) in students.iter().enumerate() {
        // Distinct files, so that no verdict comes from the cache of another student.
        let mut files = lab1_files(None);
        files[0]
            .1
            .extend_from_slice(format!("\n// copy {index}\n").as_bytes());
        write_tree(&submissions.join(student), &format!("labs/{LAB}"), &files);
    }

    let mut child = Command::new(&binary)
        .current_dir(kit_root())
        .arg("grade")
        .arg(&submissions)
        .arg("--out")
        .arg(&out)
        .args(["--lab", "1", "--jobs", "2"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Two workers grade at once, so students may finish out of order: wait for any two.
    let reports_done = || {
        students
            .iter()
            .filter(|s| out.join(s).join("report.json").exists())
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    while reports_done() < 2 {
        assert!(Instant::now() < deadline, "two students were never graded");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the batch ended before it could be killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        reports_done() < students.len(),
        "the batch was killed before its end"
    );
    let finished: Vec<(String, String)> = students
        .iter()
        .filter(|s| out.join(s).join("report.json").exists())
        .map(|s| {
            (
                s.to_string(),
                fs::read_to_string(out.join(s).join("report.json")).unwrap(),
            )
        })
        .collect();
    assert!(
        finished.len() >= 2,
        "two students had finished before the kill"
    );

    let stderr = run_batch(&binary, &submissions, &out, &[]);
    for (student, before) in &finished {
        let after = fs::read_to_string(out.join(student).join("report.json")).unwrap();
        assert_eq!(
            &after, before,
            "{student} was finished before the kill: its report (and graded_at) must not change"
        );
    }
    let log = fs::read_to_string(out.join("batch.log")).unwrap();
    for student in students {
        let report = report_of(&out, student);
        assert_eq!(
            report.labs[0].status,
            grader::score::LabStatus::Graded,
            "{student}: {stderr}"
        );
        assert!(report.score > 0.0, "{student} is a copy of the solution");
        for file in ["feedback.md", "results.json"] {
            assert!(out.join(student).join(file).is_file(), "{student}/{file}");
        }
        let graded = log
            .lines()
            .filter(|l| l.contains(&format!(" graded {student} ")))
            .count();
        assert_eq!(graded, 1, "{student} must be graded exactly once:\n{log}");
    }
    let gradebook = fs::read_to_string(out.join("gradebook.csv")).unwrap();
    assert_eq!(gradebook.lines().count(), 1 + students.len(), "{gradebook}");
    let leftovers: Vec<String> = students
        .iter()
        .flat_map(|s| fs::read_dir(out.join(s)).unwrap())
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // --regrade grades a finished student again.
    let stderr = run_batch(&binary, &submissions, &out, &["--regrade"]);
    assert!(stderr.contains("4 graded, 0 already graded"), "{stderr}");
}

/// A tar.gz entry whose name is written into the header as is, bypassing the builder's checks.
fn raw_tar_gz(path: &Path, name: &[u8], kind: tar::EntryType, contents: &[u8]) {
    let gz = flate2::write::GzEncoder::new(
        fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
    header.set_size(contents.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(kind);
    if kind == tar::EntryType::Symlink {
        header.set_link_name("/etc/passwd").unwrap();
    }
    header.set_cksum();
    tar.append(&header, contents).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn zip_slip_and_links_are_rejected_and_nothing_lands_outside() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("inside").join("unpack");
    let solution = lab1_files(None);
    let mut escaping = prefixed(&format!("labs/{LAB}/"), &solution);
    escaping.push(("../../escaped.rs".into(), b"fn evil() {}".to_vec()));
    /// An archive's name, how to make it, and what its rejection must say.
    type Case = (&'static str, Box<dyn Fn(&Path)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            "dotdot.zip",
            Box::new(move |p: &Path| write_zip(p, &escaping)),
            "`..`",
        ),
        (
            "absolute.zip",
            Box::new(|p: &Path| write_zip(p, &[("/tmp/escaped.rs".into(), b"x".to_vec())])),
            "absolute path",
        ),
        (
            "symlink.zip",
            Box::new(|p: &Path| {
                let mut zip = zip::ZipWriter::new(fs::File::create(p).unwrap());
                zip.add_symlink(
                    format!("labs/{LAB}/src/server.rs"),
                    "/etc/passwd",
                    zip::write::SimpleFileOptions::default(),
                )
                .unwrap();
                zip.finish().unwrap();
            }),
            "symbolic link",
        ),
        (
            "dotdot.tar.gz",
            Box::new(|p: &Path| raw_tar_gz(p, b"../../escaped.rs", tar::EntryType::Regular, b"x")),
            "`..`",
        ),
        (
            "absolute.tar.gz",
            Box::new(|p: &Path| raw_tar_gz(p, b"/tmp/escaped.rs", tar::EntryType::Regular, b"x")),
            "absolute path",
        ),
        (
            "symlink.tar.gz",
            Box::new(|p: &Path| {
                raw_tar_gz(p, b"labs/x/src/server.rs", tar::EntryType::Symlink, b"")
            }),
            "symbolic link",
        ),
        (
            "hardlink.tar.gz",
            Box::new(|p: &Path| raw_tar_gz(p, b"server.rs", tar::EntryType::Link, b"")),
            "hard link",
        ),
        (
            "device.tar.gz",
            Box::new(|p: &Path| raw_tar_gz(p, b"dev", tar::EntryType::Char, b"")),
            "device",
        ),
    ];
    for (name, make, why) in cases {
        let archive_path = dir.path().join(name);
        make(&archive_path);
        let _ = fs::remove_dir_all(&dest);
        let rejected = archive::extract(&archive_path, &dest, Limits::default())
            .expect_err(&format!("{name} must be rejected"));
        assert!(rejected.0.contains(why), "{name}: {rejected}");
    }
    for escaped in [
        dir.path().join("escaped.rs"),
        dir.path().join("inside").join("escaped.rs"),
        PathBuf::from("/tmp/escaped.rs"),
    ] {
        assert!(!escaped.exists(), "{} was written", escaped.display());
    }
}

#[test]
fn archives_over_their_caps_are_rejected_on_the_bytes_they_really_hold() {
    let dir = tempfile::tempdir().unwrap();
    let small = Limits {
        max_bytes: 1000,
        max_files: 3,
        ..Limits::default()
    };
    let big = dir.path().join("big.zip");
    write_zip(&big, &[("a.rs".into(), vec![b'a'; 5000])]);
    let rejected = archive::extract(&big, &dir.path().join("u1"), small).unwrap_err();
    assert!(rejected.0.contains("more than"), "{rejected}");
    let many = dir.path().join("many.tar.gz");
    let entries: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("f{i}.rs"), b"x".to_vec()))
        .collect();
    write_tar_gz(&many, &entries);
    let rejected = archive::extract(&many, &dir.path().join("u2"), small).unwrap_err();
    assert!(rejected.0.contains("more than 3 files"), "{rejected}");
    // target/ and .git/ are skipped, not counted.
    let tree = dir.path().join("tree.zip");
    let mut entries: Vec<(String, Vec<u8>)> = (0..10)
        .map(|i| (format!("target/debug/f{i}"), vec![0; 500]))
        .collect();
    entries.push(("labs/x/src/a.rs".into(), b"fn a() {}".to_vec()));
    write_zip(&tree, &entries);
    let unpacked = archive::extract(&tree, &dir.path().join("u3"), small).unwrap();
    assert_eq!(unpacked.files, 1);
    assert_eq!(unpacked.skipped, 10);
    assert!(dir.path().join("u3/labs/x/src/a.rs").is_file());
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn corrupt_and_hostile_archives_get_a_report_and_never_stop_the_batch() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let submissions = dir.path().join("submissions");
    let out = dir.path().join("reports");
    let binary = private_grader(dir.path());
    fs::create_dir_all(&submissions).unwrap();
    let solution = prefixed(&format!("labs/{LAB}/"), &lab1_files(None));
    // A zip cut in half, random bytes named .tar.gz, a gzip of garbage, a zip-slip, a .rar.
    let good_zip = dir.path().join("good.zip");
    write_zip(&good_zip, &solution);
    let bytes = fs::read(&good_zip).unwrap();
    fs::write(submissions.join("amy.zip"), &bytes[..bytes.len() / 2]).unwrap();
    fs::write(submissions.join("ben.tar.gz"), b"definitely not gzip").unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&[0x5a; 3000]).unwrap();
    fs::write(submissions.join("cat.tgz"), gz.finish().unwrap()).unwrap();
    let mut slip = solution.clone();
    slip.push(("../../../escaped.rs".into(), b"x".to_vec()));
    write_zip(&submissions.join("dan.zip"), &slip);
    fs::write(submissions.join("eve.rar"), b"Rar!").unwrap();
    // And a folder that lacks pool.rs: missing, named, graded without a build.
    let partial = submissions.join("fay/labs").join(LAB).join("src");
    fs::create_dir_all(&partial).unwrap();
    fs::copy(
        kit_root().join(format!("solutions/{LAB}/src/server.rs")),
        partial.join("server.rs"),
    )
    .unwrap();

    run_batch(&binary, &submissions, &out, &[]);
    let expectations = [
        ("amy", "amy.zip was not unpacked"),
        ("ben", "ben.tar.gz was not unpacked"),
        ("cat", "cat.tgz was not unpacked"),
        ("dan", "leaves the archive's folder"),
        ("eve", "Submit a .zip or a .tar.gz"),
        ("fay", "pool.rs"),
    ];
    for (student, why) in expectations {
        let report = report_of(&out, student);
        let lab = &report.labs[0];
        assert_eq!(lab.status, grader::score::LabStatus::Missing, "{student}");
        let message = lab.message.clone().unwrap_or_default();
        assert!(message.contains(why), "{student}: {message}");
        assert!(
            lab.tests
                .iter()
                .all(|t| t.status == grader::score::TestStatus::NotRun),
            "{student}"
        );
        let feedback = fs::read_to_string(out.join(student).join("feedback.md")).unwrap();
        assert!(feedback.contains("**Missing**"), "{student}: {feedback}");
        assert!(out.join(student).join("results.json").is_file());
    }
    assert!(!dir.path().join("escaped.rs").exists());
    let summary = fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("| dan | 1 |"), "{summary}");
}

#[test]
fn a_folder_without_submissions_or_out_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("alice")).unwrap();
    let output = grader().arg("grade").arg(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--out"), "{stderr}");
}
