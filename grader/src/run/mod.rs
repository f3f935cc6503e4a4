//! Running the pipeline on one submission: the steps between the kit and the report. Below
//! the commands, above the kit; it fills in the [`crate::report::model`].
//!
//! 1. [`stage`]: copy the kit to a scratch slot and overlay only the editable files.
//! 2. [`build`]: build the library alone, then the test targets (hidden tests added), with the
//!    kit's `Cargo.lock`, into one reused target directory.
//! 3. [`sandbox`]: run one test in its own process group with a time limit, an output cap and
//!    a secret-keyed sentinel that proves the test body finished; [`cgroup`] caps its memory
//!    and tasks where control groups are available.
//! 4. [`score`]: turn outcomes into points with the rubric.
//!
//! [`grade`] strings the steps together for one submission, lab by lab.
//!
//! Inside the folder, imports go `grade` → `stage`, `build`, `sandbox`, `score`; `score` →
//! `sandbox` → `build`, `cgroup`.

pub mod build;
pub mod cgroup;
pub mod grade;
pub mod sandbox;
pub mod score;
pub mod stage;
