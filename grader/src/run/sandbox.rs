//! Running one test in its own process, and judging how it ended.
//!
//! The test binary is untrusted: it contains the student's code. So the grader
//!
//! - starts it in a new process group, with a cleared environment and an allow-list,
//!   stdin closed and core dumps off;
//! - kills the whole group when the time limit passes, and again after it exits, so nothing
//!   it started survives it;
//! - keeps at most [`OUTPUT_CAP`] bytes of its stdout and stderr (and drains the rest);
//! - believes neither its exit code nor its output alone. The harness (`support::grading`)
//!   reads a fresh random secret from an inherited pipe before any student code runs and writes
//!   it back on a second pipe after the test's last assertion. A test passes only if the
//!   process exits 0 *and* the secret comes back.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The most output kept per stream of one test.
pub const OUTPUT_CAP: usize = 32 * 1024;

/// The descriptors the harness reads the secret from and writes its confirmation to; the
/// variable naming them and the confirmation's format belong to the harness.
const SECRET_FD: i32 = 3;
const REPLY_FD: i32 = 4;
use support::grading::{FINISHED_PREFIX, SENTINEL_FDS_ENV};

use crate::run::cgroup::Caps;

/// How a test process ended, as the grader judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exited 0 and the harness confirmed that the test body finished.
    Passed,
    /// An assertion failed, or the process ended without confirming.
    Failed,
    /// Still running at the time limit; the process group was killed.
    TimedOut,
    /// Killed by a signal (abort, segmentation fault, stack overflow...).
    Crashed { signal: String },
}

/// Everything the grader observed about one test process.
#[derive(Debug, Clone)]
pub struct Observation {
    pub outcome: Outcome,
    pub duration: Duration,
    /// Captured stdout then stderr, each capped.
    pub output: String,
    /// Why the grader decided as it did, when the output alone would not say.
    pub note: Option<String>,
}

/// How test processes are contained, as named in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Each test runs in its own PID namespace (everything it starts dies with it, even a
    /// process that left its group with `setsid`) and its own network namespace with only
    /// loopback up (it cannot reach the network, nor collide with other tests' ports).
    Namespaces,
    /// Each test runs in its own process group, killed as a whole afterwards.
    ProcessGroup,
}

impl Isolation {
    pub fn name(self) -> &'static str {
        match self {
            Isolation::Namespaces => "namespaces",
            Isolation::ProcessGroup => "process-group",
        }
    }

    /// The strongest isolation this machine allows, found once per run by starting a trivial
    /// program in it. `LABKIT_ISOLATION=process-group` forces the fallback.
    pub fn detect() -> Isolation {
        static DETECTED: std::sync::OnceLock<Isolation> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| {
            if std::env::var("LABKIT_ISOLATION").as_deref() == Ok("process-group") {
                return Isolation::ProcessGroup;
            }
            let mut probe = Command::new("true");
            probe
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let plan = ChildPlan::new(-1, -1, Duration::from_secs(5), Isolation::Namespaces);
            // SAFETY: as in `run_test`.
            unsafe {
                probe.pre_exec(move || plan.enter());
            }
            match probe.status() {
                Ok(status) if status.success() => Isolation::Namespaces,
                _ => Isolation::ProcessGroup,
            }
        })
    }
}

/// The largest file a test may write.
const MAX_FILE_BYTES: libc::rlim_t = 256 * 1024 * 1024;

/// The limits of one test process, beyond those every test gets.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock time; the CPU-time limit follows from it.
    pub wall: Duration,
    /// An address-space limit, applied only where no cgroup caps the test's memory.
    pub address_space_mib: Option<u64>,
}

/// Runs `test_name` from the test executable `binary` in `cwd`, within `limits`.
pub fn run_test(
    binary: &Path,
    test_name: &str,
    limits: &Limits,
    cwd: &Path,
) -> std::io::Result<Observation> {
    let limit = limits.wall;
    let secret = fresh_secret()?;
    let (secret_read, secret_write) = pipe()?;
    let (reply_read, reply_write) = pipe()?;
    // The namespace's relay reports on this pipe how many processes outlived the test.
    let (leak_read, leak_write) = pipe()?;
    let isolation = Isolation::detect();
    let cgroup = Caps::detect().new_test_group();
    // Without namespaces or a cgroup, a process that left the test's group is found by this
    // tag in its environment (inherited unless it clears its environment on purpose).
    let run_tag = fresh_secret()?;
    {
        let mut writer = File::from(secret_write);
        writer.write_all(secret.as_bytes())?;
        // Dropping the writer closes it: the harness reads the secret, then end-of-file.
    }

    let mut command = Command::new(binary);
    command
        .args([test_name, "--exact", "--test-threads=1", "--color=never"])
        .current_dir(cwd)
        .env_clear()
        .envs(
            crate::run::build::allowed_env()
                .into_iter()
                .filter(|(name, _)| name == "PATH"),
        )
        .env("HOME", cwd)
        .env("LANG", "C.UTF-8")
        .env("RUST_BACKTRACE", "0")
        .env(SENTINEL_FDS_ENV, format!("{SECRET_FD},{REPLY_FD}"))
        .env(RUN_TAG_ENV, &run_tag)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut plan = ChildPlan::new(
        secret_read.as_raw_fd(),
        reply_write.as_raw_fd(),
        limit,
        isolation,
    );
    plan.leak_fd = leak_write.as_raw_fd();
    if cgroup.is_none() {
        plan.address_space = limits
            .address_space_mib
            .map(|mib| (mib * 1024 * 1024) as libc::rlim_t);
    }
    plan.run_as = unprivileged_user(binary, cwd);
    if let Some((uid, gid)) = plan.run_as {
        // The harness opens its descriptors by path (/dev/fd/3): the pipes must be the test
        // user's for that to be allowed.
        for fd in [secret_read.as_raw_fd(), reply_write.as_raw_fd()] {
            // SAFETY: changes the owner of a pipe this function created and owns.
            if unsafe { libc::fchown(fd, uid, gid) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    if let Some(group) = &cgroup {
        plan.cgroup_procs = group.procs_files().to_vec();
    }
    // SAFETY: only async-signal-safe system calls run between fork and exec (see
    // `ChildPlan::enter`), on descriptors that stay open in the parent until spawn returns,
    // and with every buffer prepared before the fork.
    unsafe {
        command.pre_exec(move || plan.enter());
    }

    let started = Instant::now();
    let mut child = command.spawn()?;
    drop(secret_read);
    drop(reply_write);
    drop(leak_write);
    let group = child.id() as libc::pid_t;

    let stdout = capture(child.stdout.take(), OUTPUT_CAP);
    let stderr = capture(child.stderr.take(), OUTPUT_CAP);
    let reply = capture(Some(File::from(reply_read)), 4096);
    let leak_report = capture(Some(File::from(leak_read)), 64);

    // Wait for the exit without reaping, so the group id cannot be reused before it is killed.
    let (exited_tx, exited_rx) = mpsc::channel();
    thread::spawn(move || {
        wait_without_reaping(group);
        let _ = exited_tx.send(());
    });
    let timed_out = match exited_rx.recv_timeout(limit) {
        Ok(()) => false,
        Err(_) => {
            kill_group(group);
            let _ = exited_rx.recv();
            true
        }
    };
    let duration = started.elapsed();
    // What still runs now that the test process ended was left behind by it (in namespaces,
    // init counts those instead: nothing of the test is outside the namespace).
    let survivors: Vec<libc::pid_t> = if timed_out {
        Vec::new()
    } else if let Some(cgroup) = &cgroup {
        cgroup.members()
    } else if isolation == Isolation::ProcessGroup {
        tagged(&run_tag)
    } else {
        Vec::new()
    };
    let mut leaked = survivors.iter().filter(|pid| **pid != group).count();
    // Whatever the test left behind in its group dies now, before the leader is reaped.
    kill_group(group);
    let status = child.wait()?;

    let grace = Duration::from_secs(2);
    let stdout = stdout.recv_timeout(grace).unwrap_or_default();
    let stderr = stderr.recv_timeout(grace).unwrap_or_default();
    let reply = reply.recv_timeout(grace).unwrap_or_default();
    let leak_report = leak_report.recv_timeout(grace).unwrap_or_default();
    // Processes that outlived the test: counted by the namespace's init, or found in the
    // test's cgroup, or by the run tag; all are killed here.
    leaked += String::from_utf8_lossy(&leak_report.kept)
        .trim()
        .parse::<usize>()
        .unwrap_or(0);
    // Kill what escaped the group kill: everything still in the test's cgroup, or carrying
    // its tag.
    let (mut memory_cap_hit, mut task_cap_hit) = (false, false);
    if let Some(cgroup) = cgroup {
        cgroup.kill_members();
        memory_cap_hit = cgroup.memory_cap_hit();
        task_cap_hit = cgroup.task_cap_hit();
        cgroup.remove();
    } else if isolation == Isolation::ProcessGroup {
        for pid in tagged(&run_tag) {
            // SAFETY: sends a signal to a process that carries this test's tag.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    if timed_out {
        // The grader killed the test and everything with it: whatever was still running
        // then is part of the time-out, not something the test left behind.
        leaked = 0;
    }
    let confirmed = String::from_utf8_lossy(&reply.kept)
        .lines()
        .any(|line| line.strip_prefix(FINISHED_PREFIX) == Some(secret.as_str()));

    let mut output = String::from_utf8_lossy(&stdout.kept).into_owned();
    if stdout.total > stdout.kept.len() {
        output.push_str(&format!(
            "\n[... {} more bytes of stdout cut]\n",
            stdout.total - stdout.kept.len()
        ));
    }
    if !stderr.kept.is_empty() {
        output.push_str(&String::from_utf8_lossy(&stderr.kept));
        if stderr.total > stderr.kept.len() {
            output.push_str(&format!(
                "\n[... {} more bytes of stderr cut]\n",
                stderr.total - stderr.kept.len()
            ));
        }
    }

    let (outcome, note) = if timed_out {
        (
            Outcome::TimedOut,
            Some(format!(
                "still running after its time limit of {limit:?}; killed"
            )),
        )
    } else if let Some(signal) = status.signal() {
        let name = signal_name(signal);
        let why = match signal {
            libc::SIGABRT => {
                " (an abort: a stack overflow, a double panic, or std::process::abort)"
            }
            libc::SIGSEGV | libc::SIGBUS => " (an invalid memory access or a stack overflow)",
            libc::SIGKILL => " (killed, possibly for using too much memory)",
            _ => "",
        };
        (
            Outcome::Crashed {
                signal: name.clone(),
            },
            Some(format!("the test process was killed by {name}{why}")),
        )
    } else if status.code() == Some(0) && confirmed {
        (Outcome::Passed, None)
    } else if status.code() == Some(0) {
        let why = if output.contains("running 0 tests") {
            "the test binary has no test of this name".to_string()
        } else {
            "the process exited with status 0 before the test finished: the code under test ended \
             the process (std::process::exit?); that never counts as a pass"
                .to_string()
        };
        (Outcome::Failed, Some(why))
    } else {
        let code = status.code().unwrap_or(-1);
        let why = (code != 101).then(|| format!("the test process exited with status {code}"));
        (Outcome::Failed, why)
    };
    let (mut outcome, mut note) = (outcome, note);
    let mut add_note = |extra: String| {
        note = Some(match note.take() {
            Some(earlier) => format!("{earlier}; {extra}"),
            None => extra,
        });
    };
    if memory_cap_hit {
        add_note(format!(
            "it went over the memory cap of {} MiB and the kernel killed it",
            crate::run::cgroup::MEMORY_CAP_BYTES / (1024 * 1024)
        ));
    }
    if task_cap_hit {
        add_note(format!(
            "it tried to run more than {} threads and processes at once, and was refused more",
            crate::run::cgroup::TASK_CAP
        ));
    }
    if leaked > 0 {
        add_note(format!(
            "it left {leaked} process{} running after it ended (killed by the grader): a test must \
             not leave anything behind (a child never waited for, a server started with setsid)",
            if leaked == 1 { "" } else { "es" }
        ));
        if outcome == Outcome::Passed {
            outcome = Outcome::Failed;
        }
    }
    Ok(Observation {
        outcome,
        duration,
        output,
        note,
    })
}

/// `nobody`, when the grader runs as root and that user can reach the test executable and its
/// working directory (every folder above them open to others). `LABKIT_TEST_USER=grader` keeps
/// the grader's own user.
fn unprivileged_user(binary: &Path, cwd: &Path) -> Option<(libc::uid_t, libc::gid_t)> {
    // SAFETY: getuid cannot fail.
    let root = unsafe { libc::getuid() } == 0;
    if !root || std::env::var("LABKIT_TEST_USER").as_deref() == Ok("grader") {
        return None;
    }
    let reachable = |path: &Path| {
        use std::os::unix::fs::PermissionsExt;
        path.ancestors()
            .skip(1)
            .all(|dir| std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
    };
    (reachable(binary) && reachable(&cwd.join("."))).then_some((NOBODY, NOBODY))
}

/// The conventional unprivileged user and group.
const NOBODY: libc::uid_t = 65534;

/// The environment variable carrying the per-test tag that finds escaped processes.
const RUN_TAG_ENV: &str = "LABKIT_RUN_TAG";

/// The processes whose environment carries `tag`. A process in the middle of an `exec` shows an
/// empty environment for a moment, so the scan is repeated and the results merged.
fn tagged(tag: &str) -> Vec<libc::pid_t> {
    let mut found = Vec::new();
    for round in 0..3 {
        if round > 0 {
            thread::sleep(Duration::from_millis(10));
        }
        for pid in tagged_once(tag) {
            if !found.contains(&pid) {
                found.push(pid);
            }
        }
    }
    found
}

fn tagged_once(tag: &str) -> Vec<libc::pid_t> {
    let needle = format!("{RUN_TAG_ENV}={tag}\0").into_bytes();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        let Ok(environment) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environment
            .windows(needle.len())
            .any(|w| w == needle.as_slice())
        {
            found.push(pid);
        }
    }
    found
}

/// Everything the child does between fork and exec, prepared before the fork.
#[derive(Clone)]
struct ChildPlan {
    /// The sentinel pipes to place at descriptors 3 and 4 (-1: none, for the probe).
    secret_fd: i32,
    reply_fd: i32,
    cpu_seconds: libc::rlim_t,
    isolation: Isolation,
    /// For a user namespace when the grader is not root: "0 <uid> 1" and "0 <gid> 1".
    user_maps: Option<(Vec<u8>, Vec<u8>)>,
    /// Where the namespace's relay writes how many processes outlived the test (-1: nowhere).
    leak_fd: i32,
    /// The test's cgroup, joined before anything else starts (empty: none).
    cgroup_procs: Vec<std::ffi::CString>,
    /// An address-space limit (where no cgroup caps memory, for labs that set one).
    address_space: Option<libc::rlim_t>,
    /// The unprivileged user and group the test runs as, when the grader runs as root: the
    /// test then cannot write the grader's files (another submission's build tree, reports).
    run_as: Option<(libc::uid_t, libc::gid_t)>,
}

impl ChildPlan {
    fn new(secret_fd: i32, reply_fd: i32, limit: Duration, isolation: Isolation) -> ChildPlan {
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let user_maps = (uid != 0).then(|| {
            (
                format!("0 {uid} 1").into_bytes(),
                format!("0 {gid} 1").into_bytes(),
            )
        });
        ChildPlan {
            secret_fd,
            reply_fd,
            // Generous: several threads may legitimately keep both cores busy until the limit.
            cpu_seconds: 4 * limit.as_secs().max(1) + 5,
            isolation,
            user_maps,
            leak_fd: -1,
            cgroup_procs: Vec::new(),
            address_space: None,
            run_as: None,
        }
    }

    /// Runs in the child between fork and exec.
    fn enter(&self) -> std::io::Result<()> {
        // SAFETY: plain system calls on integers and on buffers prepared before the fork.
        unsafe {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Join the test's cgroup first: everything started from here on is capped.
            for procs in &self.cgroup_procs {
                if !write_file(procs, b"0") {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // Out of the way of descriptors 3 and 4 (close-on-exec: the test never has it).
            let leak_fd = if self.leak_fd >= 0 {
                libc::fcntl(self.leak_fd, libc::F_DUPFD_CLOEXEC, 10)
            } else {
                -1
            };
            if self.secret_fd >= 0 {
                // Move both descriptors out of the way first: either may already be 3 or 4.
                let high_secret = libc::fcntl(self.secret_fd, libc::F_DUPFD_CLOEXEC, 10);
                let high_reply = libc::fcntl(self.reply_fd, libc::F_DUPFD_CLOEXEC, 10);
                if high_secret < 0 || high_reply < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // dup2 clears close-on-exec on the copies: the test inherits exactly these.
                if libc::dup2(high_secret, SECRET_FD) < 0 || libc::dup2(high_reply, REPLY_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            limit(libc::RLIMIT_CORE, 0, 0);
            limit(libc::RLIMIT_FSIZE, MAX_FILE_BYTES, MAX_FILE_BYTES);
            limit(libc::RLIMIT_CPU, self.cpu_seconds, self.cpu_seconds + 2);
            if let Some(bytes) = self.address_space {
                limit(libc::RLIMIT_AS, bytes, bytes);
            }
            if self.isolation == Isolation::Namespaces {
                self.enter_namespaces(leak_fd)?;
            }
            // Last, in the test's own process: no way back to the grader's privileges.
            if let Some((uid, gid)) = self.run_as {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(gid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
            }
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        }
        Ok(())
    }

    /// Moves into new PID and network namespaces and forks twice: this process stays outside
    /// and relays the test's exit status; its child is the namespace's init (PID 1), which
    /// reaps; the grandchild returns to exec the test. When the test ends, init ends, and the
    /// kernel kills whatever else is left in the namespace.
    unsafe fn enter_namespaces(&self, leak_fd: libc::c_int) -> std::io::Result<()> {
        let mut flags = libc::CLONE_NEWPID | libc::CLONE_NEWNET;
        if self.user_maps.is_some() {
            flags |= libc::CLONE_NEWUSER;
        }
        if libc::unshare(flags) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if let Some((uid_map, gid_map)) = &self.user_maps {
            write_file(c"/proc/self/setgroups", b"deny");
            if !write_file(c"/proc/self/gid_map", gid_map)
                || !write_file(c"/proc/self/uid_map", uid_map)
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        if !loopback_up() {
            return Err(std::io::Error::last_os_error());
        }
        let mut status_pipe = [0 as libc::c_int; 2];
        if libc::pipe2(status_pipe.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let init = libc::fork();
        if init < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if init > 0 {
            close_all_but(&[status_pipe[0], leak_fd]);
            relay_status(init, status_pipe[0], leak_fd);
        }
        let test = libc::fork();
        if test < 0 {
            libc::_exit(126);
        }
        if test > 0 {
            close_all_but(&[status_pipe[1]]);
            reap_until(test, status_pipe[1]);
        }
        libc::close(status_pipe[0]);
        libc::close(status_pipe[1]);
        Ok(())
    }
}

unsafe fn limit(resource: libc::__rlimit_resource_t, soft: libc::rlim_t, hard: libc::rlim_t) {
    let value = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    libc::setrlimit(resource, &value);
}

unsafe fn write_file(path: &std::ffi::CStr, contents: &[u8]) -> bool {
    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
    if fd < 0 {
        return false;
    }
    let written = libc::write(fd, contents.as_ptr().cast(), contents.len());
    libc::close(fd);
    written == contents.len() as isize
}

/// A new network namespace has only a loopback interface, and it is down.
unsafe fn loopback_up() -> bool {
    let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
    if socket < 0 {
        return false;
    }
    let mut request: libc::ifreq = std::mem::zeroed();
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    let mut ok = libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request) == 0;
    if ok {
        request.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        ok = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request) == 0;
    }
    libc::close(socket);
    ok
}

/// Closes every descriptor but those in `keep` (negative entries are ignored).
unsafe fn close_all_but(keep: &[libc::c_int]) {
    let mut next: libc::c_int = 0;
    let mut sorted = [-1; 2];
    for (slot, fd) in sorted.iter_mut().zip(keep) {
        *slot = *fd;
    }
    if sorted[0] > sorted[1] {
        sorted.swap(0, 1);
    }
    for fd in sorted {
        if fd < 0 {
            continue;
        }
        if fd > next {
            libc::syscall(libc::SYS_close_range, next, fd - 1, 0);
        }
        next = fd + 1;
    }
    libc::syscall(libc::SYS_close_range, next, libc::c_uint::MAX, 0);
}

/// The namespace's init: reaps every process until the test itself ends, then reports its
/// wait status on `report` and exits (which ends the namespace).
unsafe fn reap_until(test: libc::pid_t, report: libc::c_int) -> ! {
    loop {
        let mut status = 0;
        let reaped = libc::waitpid(-1, &mut status, 0);
        if reaped == test {
            // Children that already ended are not leaks; whatever still runs is: kill it all
            // (every process of the namespace but init) and count it.
            let mut ended = 0;
            while libc::waitpid(-1, &mut ended, libc::WNOHANG) > 0 {}
            libc::kill(-1, libc::SIGKILL);
            let mut leaked: libc::c_int = 0;
            loop {
                let gone = libc::waitpid(-1, &mut ended, 0);
                if gone > 0 {
                    leaked += 1;
                } else if *libc::__errno_location() != libc::EINTR {
                    break;
                }
            }
            let words = [status, leaked];
            libc::write(report, words.as_ptr().cast(), std::mem::size_of_val(&words));
            libc::_exit(0);
        }
        if reaped < 0 && *libc::__errno_location() != libc::EINTR {
            libc::_exit(125);
        }
    }
}

/// Outside the namespace: ends the way the test ended, so the grader sees its exit status or
/// its signal.
unsafe fn relay_status(init: libc::pid_t, report: libc::c_int, leak_fd: libc::c_int) -> ! {
    let mut words: [libc::c_int; 2] = [0, 0];
    let size = std::mem::size_of_val(&words);
    let got = libc::read(report, words.as_mut_ptr().cast(), size) == size as isize;
    let mut init_status = 0;
    while libc::waitpid(init, &mut init_status, 0) < 0 && *libc::__errno_location() == libc::EINTR {
    }
    let [status, leaked] = words;
    if got && leaked > 0 && leak_fd >= 0 {
        // A decimal count, written without allocating.
        let mut digits = [0u8; 12];
        let mut at = digits.len();
        let mut rest = leaked;
        while rest > 0 && at > 0 {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        libc::write(leak_fd, digits[at..].as_ptr().cast(), digits.len() - at);
    }
    let status = if got { status } else { init_status };
    if libc::WIFEXITED(status) {
        libc::_exit(libc::WEXITSTATUS(status));
    }
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::kill(libc::getpid(), signal);
    }
    libc::_exit(127)
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two new descriptors into `fds`, which we then own.
    let result = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn fresh_secret() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn kill_group(group: libc::pid_t) {
    // SAFETY: sends a signal; the group leader is unreaped, so the id still names our group.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

fn wait_without_reaping(pid: libc::pid_t) {
    loop {
        // SAFETY: waitid fills `info`; WNOWAIT leaves the child to be reaped by Child::wait.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if result == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGABRT => "SIGABRT",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGPIPE => "SIGPIPE",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// What a reader thread kept of a stream.
#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    total: usize,
}

/// Reads `stream` to its end on a thread, keeping the first `cap` bytes.
fn capture<R: Read + Send + 'static>(stream: Option<R>, cap: usize) -> mpsc::Receiver<Captured> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut captured = Captured::default();
        if let Some(mut stream) = stream {
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                match stream.read(&mut chunk) {
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let room = cap.saturating_sub(captured.kept.len());
                        captured.kept.extend_from_slice(&chunk[..n.min(room)]);
                        captured.total += n;
                    }
                }
            }
        }
        let _ = tx.send(captured);
    });
    rx
}
