//! `grader bench` on the reference solutions: the lecture's claims about threads hold on every
//! machine, so they are asserted; timings vary, so they are only checked to be measured.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

fn kit_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The figures of one model at one level of idle clients.
fn level(server: &Value, clients: u64) -> &Value {
    server["levels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["clients"] == clients)
        .unwrap_or_else(|| panic!("{} has no row for {clients} clients", server["model"]))
}

fn threads(server: &Value, clients: u64) -> u64 {
    level(server, clients)["threads"].as_u64().unwrap()
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn bench_on_the_solutions_shows_the_lectures_claims() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::cargo_bin("grader")
        .unwrap()
        .arg("--kit")
        .arg(kit_root())
        .args(["bench", "--solutions", "--out"])
        .arg(out.path())
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "grader bench failed: {:?}\n{stdout}\n{stderr}",
        output.status
    );
    for lab in ["lab 1", "lab 2", "lab 5", "lab 6"] {
        assert!(
            stdout.contains(lab),
            "the table must mention {lab}:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("not working yet"),
        "every solution works:\n{stdout}"
    );

    let json = std::fs::read_to_string(out.path().join("bench.json")).unwrap();
    let report: Value = serde_json::from_str(&json).unwrap();
    let servers = report["servers"].as_array().unwrap();
    let models: Vec<&str> = servers
        .iter()
        .map(|s| s["model"].as_str().unwrap())
        .collect();
    assert_eq!(
        models,
        [
            "lab1-thread-per-connection",
            "lab2-event-loop",
            "lab5-tokio-current-thread",
            "lab5-tokio-2-workers",
            "lab7-own-runtime"
        ]
    );
    // The capstone's runtime is one thread, whatever the number of clients: the reactor and
    // the timers live in the loop, not in threads of their own.
    assert_eq!(threads(&servers[4], 1000), 1, "lab 7 at 1000 clients");
    for server in servers {
        assert_eq!(server["status"], "measured", "{server}");
        for clients in [100, 500, 1000] {
            let row = level(server, clients);
            assert!(row["threads"].as_u64().unwrap() > 0, "{row}");
            assert!(row["rss_kib"].as_u64().unwrap() > 0, "{row}");
            assert!(
                row["virtual_kib"].as_u64() >= row["rss_kib"].as_u64(),
                "{row}"
            );
            assert!(row["rss_per_connection_kib"].is_number(), "{row}");
            assert!(row["echo"]["requests_per_second"].as_f64().unwrap() > 0.0);
            assert!(row["echo"]["p99_us"].as_f64().unwrap() > 0.0);
        }
        if report["redis_benchmark"]["ran"] == true {
            let figures = server["redis_benchmark"].as_array().unwrap();
            assert!(
                !figures.is_empty()
                    && figures
                        .iter()
                        .all(|f| f["requests_per_second"].as_f64().unwrap() > 0.0),
                "redis-benchmark ran, so it has figures for {}: {server}",
                server["model"]
            );
        }
    }

    // A thread per connection: a thread per idle client, and its stack in virtual memory.
    let lab1 = &servers[0];
    assert!(threads(lab1, 100) >= 100 && threads(lab1, 100) < threads(lab1, 500));
    assert!(threads(lab1, 500) < threads(lab1, 1000));
    assert!(threads(lab1, 1000) >= 1000, "{lab1}");
    assert!(
        level(lab1, 1000)["virtual_kib"].as_u64().unwrap() > 1000 * 1024,
        "1000 threads reserve over a GiB of stacks: {lab1}"
    );
    // One event loop thread, whatever the clients.
    let lab2 = &servers[1];
    for clients in [0, 100, 500, 1000] {
        assert_eq!(threads(lab2, clients), 1, "{lab2}");
    }
    // tokio: the runtime's threads, not one per client.
    let (current, workers) = (&servers[2], &servers[3]);
    for clients in [100, 500, 1000] {
        assert_eq!(threads(current, clients), 1, "{current}");
        assert!(threads(workers, clients) <= 4, "{workers}");
        assert_eq!(threads(workers, clients), threads(workers, 100));
    }

    let executor = &report["executor"];
    assert_eq!(executor["status"], "measured", "{executor}");
    let one_thread = &executor["comparisons"][0];
    assert_eq!(one_thread["setting"], "one thread");
    assert!(one_thread["yours_ns_per_task"].as_f64().unwrap() > 0.0);
    assert!(one_thread["tokio_ns_per_task"].as_f64().unwrap() > 0.0);

    let svg = std::fs::read_to_string(out.path().join("bench.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("Memory per idle connection") && svg.contains("Throughput by model"));
    let markdown = std::fs::read_to_string(out.path().join("bench.md")).unwrap();
    assert!(markdown.starts_with("# grader bench"), "{markdown}");
    assert!(markdown.contains("| lab 1: a thread per connection"));
}
