//! The lab kit's grader: discovers labs, stages a submission on a pristine copy of the kit,
//! builds it, runs every test in its own process, scores it with the rubric and reports.
//!
//! The pipeline, one module per step:
//!
//! 1. [`kit`]: find the kit and read each lab's `lab.toml` and `hidden/rubric.toml`.
//! 2. [`submission`]: where a submission's editable files come from (a student tree, the
//!    reference solutions, or this checkout).
//! 3. [`stage`]: copy the kit to a scratch slot and overlay only the editable files.
//! 4. [`build`]: build the library alone, then the test targets (hidden tests added), with the
//!    kit's `Cargo.lock`, into one reused target directory.
//! 5. [`sandbox`]: run one test in its own process group with a time limit, an output cap and
//!    a secret-keyed sentinel that proves the test body finished.
//! 6. [`score`]: turn outcomes into points with the rubric.
//! 7. [`report`]: the student's table and the instructor's JSON.
//!
//! [`grade`] strings the steps together; [`selfcheck`] checks the kit itself.
//!
//! The instructor's pipeline: [`batch`] grades a folder of submissions (resumable, with a
//! verdict cache), unpacking archives with [`archive`]; [`formats`] renders a report as CSV,
//! JUnit, Gradescope, Markdown or HTML; [`summary`] sums up the class; [`release`] writes
//! the student release and scans it for leaks.

pub mod archive;
pub mod batch;
pub mod bench;
pub mod build;
pub mod cgroup;
pub mod classroom;
pub mod cli;
pub mod formats;
pub mod grade;
pub mod gradescope;
pub mod hint;
pub mod kit;
pub mod release;
pub mod report;
pub mod rules;
pub mod sandbox;
pub mod score;
pub mod selfcheck;
pub mod stage;
pub mod state;
pub mod submission;
pub mod summary;
pub mod throughput;
pub mod watch;
