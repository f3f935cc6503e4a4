//! The weakest containment the grader falls back to: process groups and no cgroup (no user
//! namespaces, no writable cgroup hierarchy). A process that left the test's group must still
//! be found (by the tag in its environment), killed and reported.
//! This file is its own test binary because both choices are made once per process.

mod common;

use common::assert_fixture;
use grader::sandbox::Isolation;

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn an_escaped_setsid_process_is_found_by_its_tag_killed_and_reported() {
    std::env::set_var("LABKIT_ISOLATION", "process-group");
    std::env::set_var("LABKIT_CGROUPS", "off");
    assert_eq!(Isolation::detect(), Isolation::ProcessGroup);
    assert!(
        !grader::cgroup::Caps::detect().available(),
        "LABKIT_CGROUPS=off must turn the caps off"
    );
    assert_fixture(1, "escaping-server");
}

#[test]
#[ignore = "full corpus: cargo test -- --ignored"]
fn a_memory_hog_hits_the_address_space_limit_of_a_lab_with_few_threads() {
    std::env::set_var("LABKIT_ISOLATION", "process-group");
    std::env::set_var("LABKIT_CGROUPS", "off");
    assert!(!grader::cgroup::Caps::detect().available());
    assert_fixture(3, "memory-hog");
}
