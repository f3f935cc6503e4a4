//! `grader bench`: measurements of the labs' concurrency models (being written).

use std::path::Path;

use crate::kit::Kit;

/// Runs the measurements and prints the table; with `out`, writes the files too.
pub fn command(_kit: &Kit, _solutions: bool, _out: Option<&Path>) -> anyhow::Result<bool> {
    anyhow::bail!("grader bench is not available in this build")
}
