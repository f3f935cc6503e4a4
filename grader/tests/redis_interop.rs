//! MiniKV really is Redis-compatible: the real `redis-cli` and `redis-benchmark` (Debian's
//! redis-tools, which `.ci/run` installs) against the reference lab 1 server. Skips, saying so,
//! where the tools are not installed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use grader::grade::{Built, Grader};
use grader::kit::Kit;
use grader::stage::Slot;
use grader::submission::Submission;

fn installed(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Kills the server however the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a command to completion within `limit`; returns its stdout.
fn run(command: &mut Command, limit: Duration) -> String {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting a redis tool");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{command:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn redis_cli_and_redis_benchmark_work_against_the_reference_lab1_server() {
    if !installed("redis-cli") || !installed("redis-benchmark") {
        eprintln!("SKIPPED: redis-cli and redis-benchmark are not installed (apt-get install redis-tools)");
        return;
    }
    let kit = Kit::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("..")).unwrap();
    let lab = kit.lab(1).unwrap().clone();
    let grader = Grader::new(kit);
    let slot = Slot::acquire(&grader.kit).unwrap();
    let Built::Ready(built) = grader
        .build_lab(&Submission::solutions(), &lab, false, &slot, &|_| {})
        .unwrap()
    else {
        panic!("the reference solution of lab 1 must build");
    };
    let program = built
        .programs
        .get("lab1")
        .expect("the lab1 launcher is built with the tests");

    let mut child = Command::new(program)
        .args(["--addr", "127.0.0.1:0", "--workers", "16"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let _server = Server(child);
    let port = first_line.trim().rsplit(':').next().unwrap().to_string();
    assert!(
        first_line.starts_with("lab1 listening on 127.0.0.1:"),
        "unexpected first line {first_line:?}"
    );

    let cli = |args: &[&str]| {
        let mut command = Command::new("redis-cli");
        command.args(["-h", "127.0.0.1", "-p", &port]).args(args);
        run(&mut command, Duration::from_secs(10))
            .trim_end()
            .to_string()
    };
    assert_eq!(cli(&["PING"]), "PONG");
    assert_eq!(cli(&["SET", "greeting", "hello world"]), "OK");
    assert_eq!(cli(&["GET", "greeting"]), "hello world");
    assert_eq!(cli(&["ECHO", "café ☕"]), "café ☕");
    assert_eq!(cli(&["DEL", "greeting", "missing"]), "1");
    assert_eq!(cli(&["GET", "greeting"]), "");
    assert_eq!(cli(&["SLEEP", "10"]), "SLEPT 10");
    assert!(
        cli(&["FLY"]).contains("unknown command"),
        "unknown commands get an error"
    );

    let mut benchmark = Command::new("redis-benchmark");
    benchmark.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "ping,set,get",
        "-n",
        "2000",
        "-c",
        "8",
        "-q",
    ]);
    let report = run(&mut benchmark, Duration::from_secs(60));
    for test in ["PING_INLINE", "PING_MBULK", "SET", "GET"] {
        let line = report.lines().find(|l| l.contains(&format!("{test}:")));
        assert!(
            line.is_some_and(|l| l.contains("requests per second")),
            "redis-benchmark must complete {test}:\n{report}"
        );
    }
    println!("redis-benchmark against the reference lab 1 server:\n{report}");
}
