//! The instructor's commands: grading with the hidden tests, and shipping the kit.
//!
//! - [`grade`]: `grader grade`, one submission or (with [`batch`]) a class, unpacking student
//!   archives safely with [`archive`];
//! - [`release`]: `grader release`, the student release and its leak scan, with the GitHub
//!   Classroom workflow of [`classroom`];
//! - [`gradescope`]: `grader gradescope`, a Gradescope autograder for one lab;
//! - [`selfcheck`]: `grader selfcheck`, the kit checks itself;
//! - [`mutants`]: `grader mutants`, how many planted mistakes the tests catch.

pub mod archive;
pub mod batch;
pub mod classroom;
pub mod grade;
pub mod gradescope;
pub mod mutants;
pub mod release;
pub mod selfcheck;
