//! Lab 1's fixtures: the kit's proof that each hidden test guards the mistake it names. Every
//! fixture submission (the reference solution with one deliberate mistake, or a hostile one)
//! must lose exactly the tests its `fixture.toml` lists, with exactly those statuses, and pass
//! every other test.

mod common;

use common::{assert_fixture, exclusively, failing_tests_of};
use grader::score::TestStatus;

#[test]
fn serving_clients_one_at_a_time_loses_only_the_silent_client_test() {
    assert_fixture(1, "serial-accept");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn sleeping_with_the_store_locked_loses_only_the_sleeping_client_test() {
    assert_fixture(1, "sleep-under-lock");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn locking_while_reading_a_request_loses_only_the_half_sent_request_test() {
    assert_fixture(1, "lock-while-reading");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_thread_per_job_pool_loses_only_the_own_workers_test() {
    assert_fixture(1, "thread-per-job");
}

#[test]
fn exit_zero_and_a_fake_summary_in_the_code_under_test_never_pass() {
    let report = assert_fixture(1, "exit-in-handle-client");
    let ping = report
        .tests
        .iter()
        .find(|t| t.name == "ping_gets_pong")
        .unwrap();
    assert!(
        ping.note
            .as_deref()
            .unwrap_or("")
            .contains("std::process::exit"),
        "the report must say why an exit status of 0 did not count: {:?}",
        ping.note
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn infinite_loops_time_out_within_the_limit_and_leave_no_process_behind() {
    let report = assert_fixture(1, "infinite-loop");
    for test in report
        .tests
        .iter()
        .filter(|t| t.status == TestStatus::TimedOut)
    {
        let limit_ms = if test.name == "dropping_an_idle_pool_returns" {
            15_000
        } else {
            10_000
        };
        assert!(
            test.duration_ms >= limit_ms && test.duration_ms < limit_ms + 2_000,
            "{} timed out after {} ms; its limit is {limit_ms} ms",
            test.name,
            test.duration_ms
        );
    }
}

/// Two graders at once share one target directory, where every slot's lab crate has the same
/// artifact names: neither may ever run the other's binary (a stale or foreign build).
#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn concurrent_graders_never_mix_up_submissions() {
    exclusively(|| {
        let graders: Vec<_> = [
            "serial-accept",
            "thread-per-job",
            "sleep-under-lock",
            "lock-while-reading",
        ]
        .into_iter()
        .map(|name| std::thread::spawn(move || (name, failing_tests_of(1, name))))
        .collect();
        for grader in graders {
            let (name, failing) = grader.join().unwrap();
            // The thread-per-job pool also starts a thread per pooled connection.
            let expected: &[&str] = match name {
                "serial-accept" => &["silent_client_does_not_block_the_threaded_server"],
                "thread-per-job" => &[
                    "pool_runs_jobs_only_on_its_own_workers",
                    "pooled_server_never_runs_more_threads_than_its_workers",
                ],
                "sleep-under-lock" => &["sleeping_client_does_not_hold_the_store_lock"],
                _ => &["half_sent_request_does_not_hold_the_store_lock"],
            };
            assert_eq!(
                failing,
                expected.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
                "{name} graded concurrently with three others"
            );
        }
    });
}

// The red-team corpus: one hostile submission per threat (docs/src/security.md).

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn exec_of_bin_true_never_passes() {
    assert_fixture(1, "exec-true");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_forged_confirmation_and_a_fake_summary_never_pass() {
    assert_fixture(1, "forged-sentinel");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_deadlock_times_out_within_its_limit() {
    let report = assert_fixture(1, "deadlock");
    let test = report
        .tests
        .iter()
        .find(|t| t.status == TestStatus::TimedOut)
        .unwrap();
    assert!(
        (10_000..12_000).contains(&test.duration_ms),
        "timed out after {} ms; the limit is 10 s",
        test.duration_ms
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_stack_overflow_is_a_crash_with_its_signal_named() {
    assert_fixture(1, "stack-overflow");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_abort_is_a_crash_with_its_signal_named() {
    assert_fixture(1, "abort");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_process_that_leaves_its_group_does_not_outlive_its_test_and_is_reported() {
    assert_fixture(1, "escaping-server");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn tests_cannot_write_the_graders_files_when_it_runs_as_root() {
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("SKIPPED: the grader is not root, so tests run as its own user and could write its files");
        return;
    }
    assert_fixture(1, "writes-grader-files");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_memory_hog_is_killed_at_the_memory_cap() {
    if !grader::cgroup::Caps::detect().available() {
        eprintln!("SKIPPED: this machine gives the grader no writable cgroup, so no memory cap");
        return;
    }
    assert_fixture(1, "memory-hog");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_thread_flood_is_stopped_at_the_task_cap() {
    if !grader::cgroup::Caps::detect().available() {
        eprintln!("SKIPPED: this machine gives the grader no writable cgroup, so no task cap");
        return;
    }
    assert_fixture(1, "thread-flood");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn tests_binding_the_same_fixed_port_in_parallel_do_not_collide() {
    if grader::sandbox::Isolation::detect() != grader::sandbox::Isolation::Namespaces {
        eprintln!("SKIPPED: this machine has no network namespaces; tests share one loopback");
        return;
    }
    assert_fixture(1, "fixed-port");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_gibibyte_of_output_is_capped_in_the_report() {
    let report = assert_fixture(1, "output-flood");
    let flooded = report
        .tests
        .iter()
        .find(|t| t.name == "dropping_the_pool_finishes_every_queued_job")
        .unwrap();
    assert!(
        flooded.output.contains("more bytes of stdout cut"),
        "the report must say the output was cut"
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn including_the_hidden_tests_fails_to_build_naming_the_file() {
    assert_fixture(1, "reads-hidden-tests");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn the_test_process_sees_only_the_allowed_environment() {
    // A canary in the grader's own environment that no test process may see.
    std::env::set_var("LABKIT_CANARY_SECRET", "the grader's environment leaked");
    assert_fixture(1, "environment-probe");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn files_dated_in_the_past_are_never_graded_from_a_stale_build() {
    assert_fixture(1, "stale-mtime");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn tampered_manifests_build_scripts_tests_and_toolchain_files_are_ignored() {
    assert_fixture(1, "tampered-build");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_pooled_server_with_a_thread_per_connection_loses_only_the_thread_bound_test() {
    assert_fixture(1, "pooled-thread-per-connection");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn writing_with_the_store_locked_loses_only_the_never_reading_client_test() {
    assert_fixture(1, "write-under-lock");
}
