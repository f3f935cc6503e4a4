//! The hostile fixtures that depend on how tests are contained, graded again under the
//! fallback isolation (`process-group`): a machine without user namespaces must still catch
//! escaped processes, cap memory and tasks where cgroups allow, and kill everything.
//! This file is its own test binary because the isolation level is chosen once per process.

mod common;

use common::assert_fixture;
use grader::sandbox::Isolation;

fn under_process_groups() {
    std::env::set_var("LABKIT_ISOLATION", "process-group");
    assert_eq!(
        Isolation::detect(),
        Isolation::ProcessGroup,
        "LABKIT_ISOLATION=process-group must force the fallback"
    );
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_escaped_setsid_process_is_found_killed_and_reported_without_namespaces() {
    under_process_groups();
    assert_fixture(1, "escaping-server");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn infinite_loops_time_out_and_leave_nothing_behind_without_namespaces() {
    under_process_groups();
    assert_fixture(1, "infinite-loop");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn memory_and_task_caps_hold_without_namespaces() {
    under_process_groups();
    if !grader::cgroup::Caps::detect().available() {
        eprintln!("SKIPPED: this machine gives the grader no writable cgroup, so no caps");
        return;
    }
    assert_fixture(1, "memory-hog");
    assert_fixture(1, "thread-flood");
}
