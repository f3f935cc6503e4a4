//! Resource caps by control group: one fresh cgroup per test process, with a memory cap and a
//! cap on the number of tasks (processes and threads), and a list of what is still inside it
//! after the test ended (a leak).
//!
//! Both cgroup versions are supported: v1 (a `memory` and a `pids` hierarchy, each with our own
//! group as parent) and v2 (one unified hierarchy). Whether it works is found once per run by
//! creating a probe group; where it does not (no write access, no delegation), tests run
//! without these caps and the reports say so through [`Caps::describe`].

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The most memory one test may use (resident, page cache included). Far above what any lab's
/// tests need (the 1000-client tests stay under 100 MiB), far below the machine.
pub const MEMORY_CAP_BYTES: u64 = 1024 * 1024 * 1024;

/// The most tasks (threads count, as the kernel sees them) alive at once in one test: lab 1's
/// thread-per-connection server holds 1000 idle clients (about 1010 tasks) under it.
pub const TASK_CAP: u64 = 1500;

/// Where the per-test groups are created, found once per run.
#[derive(Debug, Clone)]
enum Layout {
    /// cgroup v1: the memory and pids hierarchies' folders of this process's own groups.
    V1 { memory: PathBuf, pids: PathBuf },
    /// cgroup v2: this process's group in the unified hierarchy.
    V2 { parent: PathBuf },
}

/// What this machine lets the grader cap.
#[derive(Debug, Clone)]
pub struct Caps {
    layout: Option<Layout>,
}

impl Caps {
    /// Probes once per run. `LABKIT_CGROUPS=off` turns the caps off (to test the fallback).
    pub fn detect() -> &'static Caps {
        static CAPS: OnceLock<Caps> = OnceLock::new();
        CAPS.get_or_init(|| {
            let layout = if std::env::var("LABKIT_CGROUPS").as_deref() == Ok("off") {
                None
            } else {
                find_layout().filter(|layout| {
                    TestCgroup::create_in(layout)
                        .map(|probe| probe.remove())
                        .is_some()
                })
            };
            Caps { layout }
        })
    }

    /// Whether tests run under the memory and task caps.
    pub fn available(&self) -> bool {
        self.layout.is_some()
    }

    /// One line for reports and documentation.
    pub fn describe(&self) -> String {
        match &self.layout {
            Some(layout) => format!(
                "cgroup {}: memory {} MiB, {} tasks per test",
                match layout {
                    Layout::V1 { .. } => "v1",
                    Layout::V2 { .. } => "v2",
                },
                MEMORY_CAP_BYTES / (1024 * 1024),
                TASK_CAP
            ),
            None => "no cgroup caps (memory and task count unlimited)".to_string(),
        }
    }

    /// A fresh group for one test, or `None` where cgroups are not available.
    pub fn new_test_group(&self) -> Option<TestCgroup> {
        TestCgroup::create_in(self.layout.as_ref()?)
    }
}

/// This process's groups, from /proc/self/cgroup.
fn find_layout() -> Option<Layout> {
    let table = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let root = Path::new("/sys/fs/cgroup");
    let mut memory = None;
    let mut pids = None;
    let mut unified = None;
    for line in table.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        for controller in controllers.split(',') {
            match controller {
                "memory" => memory = Some(root.join("memory").join(relative)),
                "pids" => pids = Some(root.join("pids").join(relative)),
                "" => unified = Some(root.join(relative)),
                _ => {}
            }
        }
    }
    match (memory, pids, unified) {
        (Some(memory), Some(pids), _) if memory.is_dir() && pids.is_dir() => {
            Some(Layout::V1 { memory, pids })
        }
        (_, _, Some(parent)) if parent.join("cgroup.controllers").is_file() => {
            Some(Layout::V2 { parent })
        }
        _ => None,
    }
}

/// The group of one test process: created before the test starts, removed after it ended.
#[derive(Debug)]
pub struct TestCgroup {
    version: u8,
    /// The group's folders: one per hierarchy (v1: memory and pids; v2: one).
    dirs: Vec<PathBuf>,
    /// `cgroup.procs` of each folder, ready for the child to write itself into between fork
    /// and exec (no allocation there).
    procs: Vec<CString>,
}

impl TestCgroup {
    fn create_in(layout: &Layout) -> Option<TestCgroup> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "labkit-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let (version, dirs) = match layout {
            Layout::V1 { memory, pids } => (1, vec![memory.join(&name), pids.join(&name)]),
            Layout::V2 { parent } => (2, vec![parent.join(&name)]),
        };
        let mut group = TestCgroup {
            version,
            dirs: Vec::new(),
            procs: Vec::new(),
        };
        for dir in &dirs {
            if std::fs::create_dir(dir).is_err() {
                group.remove();
                return None;
            }
            group.dirs.push(dir.clone());
            let procs = dir.join("cgroup.procs");
            group
                .procs
                .push(CString::new(procs.into_os_string().into_encoded_bytes()).ok()?);
        }
        let memory = MEMORY_CAP_BYTES.to_string();
        let tasks = TASK_CAP.to_string();
        let limited = match version {
            1 => {
                let (memory_dir, pids_dir) = (&group.dirs[0], &group.dirs[1]);
                let ok = write(memory_dir, "memory.limit_in_bytes", &memory)
                    && write(pids_dir, "pids.max", &tasks);
                // Without swap accounting the limit above is the whole story; with it, swap
                // must not be a way around the cap.
                if memory_dir.join("memory.memsw.limit_in_bytes").exists() {
                    let _ = write(memory_dir, "memory.memsw.limit_in_bytes", &memory);
                }
                ok
            }
            _ => {
                let dir = &group.dirs[0];
                let ok = write(dir, "memory.max", &memory) && write(dir, "pids.max", &tasks);
                if dir.join("memory.swap.max").exists() {
                    let _ = write(dir, "memory.swap.max", "0");
                }
                ok
            }
        };
        if !limited {
            group.remove();
            return None;
        }
        Some(group)
    }

    /// The `cgroup.procs` files the child writes `0` into to join the group.
    pub fn procs_files(&self) -> &[CString] {
        &self.procs
    }

    /// The processes still in the group.
    pub fn members(&self) -> Vec<libc::pid_t> {
        let mut members = Vec::new();
        for dir in &self.dirs {
            if let Ok(list) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                for pid in list.lines().filter_map(|line| line.trim().parse().ok()) {
                    if !members.contains(&pid) {
                        members.push(pid);
                    }
                }
            }
        }
        members
    }

    /// Kills whatever is still in the group and returns how many processes that was.
    pub fn kill_members(&self) -> usize {
        let mut killed = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let members = self.members();
            if members.is_empty() || Instant::now() > deadline {
                break;
            }
            for pid in members {
                // SAFETY: sends a signal. A pid listed in our own test's group is a process
                // of that test (or one of its children); it cannot be reused by another
                // process while it is still listed.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
                if !killed.contains(&pid) {
                    killed.push(pid);
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        killed.len()
    }

    /// Whether the kernel killed something in the group for going over the memory cap.
    pub fn memory_cap_hit(&self) -> bool {
        let (file, key) = match self.version {
            1 => ("memory.oom_control", "oom_kill"),
            _ => ("memory.events", "oom_kill"),
        };
        counter(&self.dirs[0], file, key) > 0
    }

    /// Whether the group tried to have more tasks than the cap allows.
    pub fn task_cap_hit(&self) -> bool {
        let dir = self.dirs.last().expect("a group has at least one folder");
        counter(dir, "pids.events", "max") > 0
    }

    /// Removes the group's folders (once empty; a few retries while the last processes exit).
    pub fn remove(self) {
        for dir in self.dirs.iter().rev() {
            let deadline = Instant::now() + Duration::from_secs(1);
            while std::fs::remove_dir(dir).is_err() && dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn write(dir: &Path, file: &str, value: &str) -> bool {
    std::fs::write(dir.join(file), value).is_ok()
}

/// A `key value` line of a cgroup statistics file (0 when missing).
fn counter(dir: &Path, file: &str, key: &str) -> u64 {
    std::fs::read_to_string(dir.join(file))
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let (name, value) = line.split_once(' ')?;
                (name == key).then(|| value.trim().parse().ok())?
            })
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_by_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
        )
        .unwrap();
        assert_eq!(counter(dir.path(), "memory.oom_control", "oom_kill"), 3);
        assert_eq!(counter(dir.path(), "memory.oom_control", "missing"), 0);
        assert_eq!(counter(dir.path(), "absent", "oom_kill"), 0);
    }

    #[test]
    fn a_group_is_created_with_its_caps_and_removed() {
        let caps = Caps::detect();
        let Some(group) = caps.new_test_group() else {
            eprintln!("skipped: no writable cgroups here ({})", caps.describe());
            return;
        };
        assert!(group.dirs.iter().all(|dir| dir.is_dir()));
        assert!(group.members().is_empty(), "a new group has no process");
        assert!(!group.memory_cap_hit() && !group.task_cap_hit());
        let dirs = group.dirs.clone();
        group.remove();
        assert!(
            dirs.iter().all(|dir| !dir.exists()),
            "the group's folders are removed"
        );
    }
}
