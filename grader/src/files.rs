//! Files the grader writes: small helpers at the bottom of the stack, which import nothing
//! else of the grader, so that every layer (reports, the student's state, batch folders, bench
//! tables) can use them.

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `text` to `path` through a temporary file and a rename: a reader never sees half.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = path
        .file_name()
        .context("the output path has no file name")?
        .to_string_lossy();
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&temporary, text).with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("moving the report to {}", path.display()))?;
    Ok(())
}
