//! Unpacking a submission archive (`.zip`, `.tar.gz`, `.tgz`) safely.
//!
//! An archive comes from a student and is untrusted. It is read entry by entry, and every entry
//! is checked before anything is written:
//!
//! - its path must be relative and stay inside the destination: an absolute path, a drive
//!   letter or a `..` component rejects the whole archive (zip-slip);
//! - only regular files and folders are accepted: a symbolic link, a hard link, a device or a
//!   FIFO rejects the archive;
//! - the files written may add up to at most [`Limits::max_bytes`] and [`Limits::max_files`]
//!   entries, counted on the bytes actually decompressed, not on what the headers claim;
//! - files are created fresh (modification time now, no permission bits taken from the
//!   archive), so nothing of the archive's metadata reaches a build.
//!
//! Build output and version control (`target/`, `.git/`) are never needed for grading: their
//! entries are skipped unread, so a student who zips a whole tree with its `target/` is still
//! graded. Skipped entries count towards a larger scan limit, which bounds the work a
//! decompression bomb can cause.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// Caps on what one archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total bytes of the files written.
    pub max_bytes: u64,
    /// Files and folders written.
    pub max_files: usize,
    /// Entries looked at, skipped ones included.
    pub max_entries: usize,
    /// Bytes decompressed, skipped entries included (a `.tar.gz` must be read through).
    pub max_scanned_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 50 * 1024 * 1024,
            max_files: 5000,
            max_entries: 100_000,
            max_scanned_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// The kinds of archive the grader unpacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    TarGz,
}

impl Kind {
    /// The kind of archive a file name names, from its extension.
    pub fn of(path: &Path) -> Option<Kind> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".zip") {
            Some(Kind::Zip)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Kind::TarGz)
        } else {
            None
        }
    }

    /// The file name without the archive's extension: the student's id.
    pub fn stem(self, file_name: &str) -> String {
        let lower = file_name.to_ascii_lowercase();
        let cut = match self {
            Kind::Zip => ".zip".len(),
            Kind::TarGz if lower.ends_with(".tgz") => ".tgz".len(),
            Kind::TarGz => ".tar.gz".len(),
        };
        file_name[..file_name.len().saturating_sub(cut)].to_string()
    }
}

/// Why an archive was not unpacked. The message is meant for the student's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}

/// What an unpacking wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unpacked {
    pub files: usize,
    pub bytes: u64,
    /// Entries under `target/` or `.git/`, left out.
    pub skipped: usize,
}

/// Unpacks `archive` into the folder `dest` (created if needed, expected empty).
pub fn extract(archive: &Path, dest: &Path, limits: Limits) -> Result<Unpacked, Rejected> {
    let kind = Kind::of(archive).ok_or_else(|| {
        Rejected(format!(
            "{} is not a .zip, .tar.gz or .tgz archive",
            display_name(archive)
        ))
    })?;
    fs::create_dir_all(dest)
        .map_err(|e| Rejected(format!("cannot create the unpacking folder: {e}")))?;
    let file = File::open(archive)
        .map_err(|e| Rejected(format!("cannot open {}: {e}", display_name(archive))))?;
    let mut writer = Writer {
        dest: dest.to_path_buf(),
        limits,
        done: Unpacked::default(),
        entries: 0,
        scanned: 0,
    };
    let result = match kind {
        Kind::Zip => unzip(file, &mut writer),
        Kind::TarGz => untar(file, &mut writer),
    };
    result.map_err(|reason| {
        Rejected(format!(
            "the archive {} was not unpacked: {reason}",
            display_name(archive)
        ))
    })?;
    Ok(writer.done)
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// What one entry is, as far as unpacking cares.
enum EntryKind {
    File,
    Folder,
    /// Anything else, named for the message.
    Other(&'static str),
}

struct Writer {
    dest: PathBuf,
    limits: Limits,
    done: Unpacked,
    entries: usize,
    scanned: u64,
}

impl Writer {
    /// Checks an entry's name and kind; `None` means "skip it".
    fn admit(&mut self, name: &str, kind: EntryKind) -> Result<Option<(PathBuf, bool)>, String> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(format!(
                "it holds more than {} entries",
                self.limits.max_entries
            ));
        }
        let relative = safe_relative_path(name)?;
        let Some(relative) = relative else {
            return Ok(None); // the archive's root folder itself
        };
        if relative
            .components()
            .any(|c| matches!(c.as_os_str().to_str(), Some("target" | ".git")))
        {
            self.done.skipped += 1;
            return Ok(None);
        }
        let is_folder = match kind {
            EntryKind::File => false,
            EntryKind::Folder => true,
            EntryKind::Other(what) => {
                return Err(format!(
                    "{name:?} is {what}; a submission may hold only regular files and folders"
                ))
            }
        };
        self.done.files += 1;
        if self.done.files > self.limits.max_files {
            return Err(format!(
                "it holds more than {} files and folders (leave out target/ and other build output)",
                self.limits.max_files
            ));
        }
        Ok(Some((self.dest.join(relative), is_folder)))
    }

    /// Writes one admitted entry from `reader`, counting what is actually decompressed.
    fn write(
        &mut self,
        target: &Path,
        is_folder: bool,
        reader: &mut dyn Read,
    ) -> Result<(), String> {
        if is_folder {
            return fs::create_dir_all(target).map_err(|e| format!("cannot create a folder: {e}"));
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("cannot create a folder: {e}"))?;
        }
        // A fresh file: a duplicate entry replaces the earlier one, never writes through it.
        let _ = fs::remove_file(target);
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(target)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        let room = self.limits.max_bytes - self.done.bytes;
        let copied = io::copy(&mut reader.take(room + 1), &mut out)
            .map_err(|e| format!("it is corrupt ({e})"))?;
        self.done.bytes += copied;
        self.scanned += copied;
        if copied > room {
            return Err(format!(
                "it unpacks to more than {} MiB",
                self.limits.max_bytes / (1024 * 1024)
            ));
        }
        Ok(())
    }

    /// Reads a skipped entry through (needed to reach the next one in a stream).
    fn skip(&mut self, reader: &mut dyn Read) -> Result<(), String> {
        let room = self.limits.max_scanned_bytes.saturating_sub(self.scanned);
        let read = io::copy(&mut reader.take(room + 1), &mut io::sink())
            .map_err(|e| format!("it is corrupt ({e})"))?;
        self.scanned += read;
        if read > room {
            return Err(format!(
                "it decompresses to more than {} MiB",
                self.limits.max_scanned_bytes / (1024 * 1024)
            ));
        }
        Ok(())
    }
}

/// The entry's path relative to the destination, or `None` for the root itself. Rejects
/// absolute paths, drive letters, `..` and NUL bytes. Backslashes count as separators.
fn safe_relative_path(name: &str) -> Result<Option<PathBuf>, String> {
    let bad = |why: &str| Err(format!("the entry {name:?} {why}"));
    if name.contains('\0') {
        return bad("has a NUL byte in its name");
    }
    let normalised = name.replace('\\', "/");
    if normalised.starts_with('/') {
        return bad("has an absolute path");
    }
    let first = normalised.split('/').next().unwrap_or("");
    if first.len() >= 2 && first.as_bytes()[1] == b':' {
        return bad("has a drive letter");
    }
    let mut path = PathBuf::new();
    for component in Path::new(&normalised).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::CurDir => {}
            Component::ParentDir => return bad("leaves the archive's folder with `..`"),
            Component::RootDir | Component::Prefix(_) => return bad("has an absolute path"),
        }
    }
    Ok((!path.as_os_str().is_empty()).then_some(path))
}

fn unzip(file: File, writer: &mut Writer) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file))
        .map_err(|e| format!("it is not a readable zip file ({e})"))?;
    for index in 0..zip.len() {
        let mut entry = zip
            .by_index(index)
            .map_err(|e| format!("it is corrupt or uses an unsupported feature ({e})"))?;
        let name = entry
            .name()
            .map_err(|e| format!("an entry's name cannot be read ({e})"))?
            .into_owned();
        let mode = entry.unix_mode().unwrap_or(0) & 0o170000;
        let kind = if entry.is_symlink() {
            EntryKind::Other("a symbolic link")
        } else if entry.is_dir() {
            EntryKind::Folder
        } else if mode == 0 || mode == 0o100000 {
            EntryKind::File
        } else {
            EntryKind::Other("a special file (device, FIFO or socket)")
        };
        // Zip entries are reached by index: a skipped one needs no reading through.
        if let Some((target, is_folder)) = writer.admit(&name, kind)? {
            writer.write(&target, is_folder, &mut entry)?;
        }
    }
    Ok(())
}

fn untar(file: File, writer: &mut Writer) -> Result<(), String> {
    let gz = flate2::read::GzDecoder::new(io::BufReader::new(file));
    let mut tar = tar::Archive::new(gz);
    let entries = tar
        .entries()
        .map_err(|e| format!("it is not a readable .tar.gz file ({e})"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("it is corrupt ({e})"))?;
        let kind = entry.header().entry_type();
        use tar::EntryType as T;
        let kind = match kind {
            T::Regular | T::Continuous => EntryKind::File,
            T::Directory => EntryKind::Folder,
            // Metadata records (`git archive` writes a pax global header): nothing to unpack.
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => {
                writer.skip(&mut entry)?;
                continue;
            }
            T::Symlink => EntryKind::Other("a symbolic link"),
            T::Link => EntryKind::Other("a hard link"),
            T::Char | T::Block => EntryKind::Other("a device"),
            T::Fifo => EntryKind::Other("a FIFO"),
            _ => EntryKind::Other("an entry of an unsupported kind"),
        };
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        match writer.admit(&name, kind)? {
            Some((target, is_folder)) => writer.write(&target, is_folder, &mut entry)?,
            None => writer.skip(&mut entry)?,
        }
    }
    Ok(())
}

/// The folder of an unpacked archive that holds the submission: the destination itself, or
/// its only top-level folder when the archive wraps everything in one (`alice/labs/...`).
/// `__MACOSX` and hidden entries do not count.
pub fn submission_root(dest: &Path, lab_dirs: &[&str]) -> PathBuf {
    let holds_labs =
        |dir: &Path| dir.join("labs").is_dir() || lab_dirs.iter().any(|lab| dir.join(lab).is_dir());
    if holds_labs(dest) {
        return dest.to_path_buf();
    }
    let visible: Vec<PathBuf> = fs::read_dir(dest)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !name.starts_with('.') && name != "__MACOSX"
        })
        .map(|e| e.path())
        .collect();
    match visible.as_slice() {
        [only] if only.is_dir() => only.clone(),
        _ => dest.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside() {
        assert_eq!(
            safe_relative_path("a/./b.rs").unwrap(),
            Some(PathBuf::from("a/b.rs"))
        );
        assert_eq!(safe_relative_path("./").unwrap(), None);
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "a\\..\\..\\x",
            "\\x",
        ] {
            assert!(safe_relative_path(bad).is_err(), "{bad} must be rejected");
        }
    }

    #[test]
    fn stems_drop_the_extension() {
        assert_eq!(Kind::Zip.stem("alice.zip"), "alice");
        assert_eq!(Kind::TarGz.stem("bob.tar.gz"), "bob");
        assert_eq!(Kind::TarGz.stem("carol.TGZ"), "carol");
        assert_eq!(Kind::of(Path::new("x.tar")), None);
    }
}
