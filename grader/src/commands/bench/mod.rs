//! `grader bench`: measurements of the labs' concurrency models, the lecture's claims checked
//! on the student's own code (or the reference solutions).
//!
//! - Labs 1, 2, 5 and 7: each lab's provided server program is started on a free loopback port
//!   and made to hold 100, 500 and 1000 idle clients; at each level the bench reads the
//!   server's threads, resident memory and virtual size from `/proc`, then runs a short echo
//!   load (and `redis-benchmark`, when installed, once at the top level). A thread per
//!   connection shows a thread and a stack per client; an event loop or tokio shows neither.
//! - Lab 6: the lab's own benchmark program, spawn + complete time per task on the student's
//!   executor against tokio's.
//!
//! One module per job: [`server`] starts and watches a server, [`load`] is the clients,
//! [`redis`] runs `redis-benchmark`, [`executor`] is lab 6, [`results`] holds the figures,
//! [`render`] and [`chart`] present them, [`process`] makes sure no child outlives the bench.
//!
//! An unfinished lab never fails the bench: a stub that panics, a build failure or a server
//! that stops answering becomes a "not working yet" row with the reason, and the bench goes
//! on. Everything is bounded in time (every socket operation, every child process), uses
//! loopback addresses only and ports the kernel picks.

mod chart;
mod executor;
mod load;
mod process;
mod redis;
mod render;
pub mod results;
mod server;
#[cfg(feature = "instructor")]
pub mod throughput;

use std::collections::btree_map::{BTreeMap, Entry};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

use crate::kit::submission::Submission;
use crate::kit::Kit;
use crate::report::model::LabStatus;
use crate::run::build::Cargo;
use crate::run::grade::{Built, Grader};
use crate::run::stage::Slot;

use load::IdleClients;
use results::{BenchReport, Level, ServerBench, Settings, Status, ToolStatus};
use server::{ProcStatus, Server};

/// Idle clients held at each level; 0 is the baseline that RSS per connection is counted from.
const LEVELS: [usize; 4] = [0, 100, 500, 1000];
/// Connections of the echo load: a few more than the cores, as in the handouts' examples.
const LOAD_CONNECTIONS: usize = 8;
/// How long the echo load runs at each level: tens of thousands of round trips on loopback,
/// plenty for a rate and a 99th percentile, and the whole bench stays well under a minute.
const LOAD_TIME: Duration = Duration::from_millis(500);
/// `redis-benchmark -n`: small, so its three tests take about a second per server.
const REDIS_REQUESTS: u32 = 5000;
/// `redis-benchmark -c`: as many connections as the built-in load, so the two compare.
const REDIS_CONNECTIONS: u32 = LOAD_CONNECTIONS as u32;
/// Open files the bench asks for: its own clients and the server's sockets both stay below.
const WANTED_OPEN_FILES: u64 = 4096;
/// Descriptors kept spare beside the idle clients (load clients, pipes, the binary...).
const SPARE_OPEN_FILES: usize = 100;

/// A server model: one lab's program started one way.
struct Model {
    lab: u32,
    id: &'static str,
    title: &'static str,
    args: &'static [&'static str],
}

/// What is measured. Lab 1's pool (`--workers N`) is left out: N idle clients occupy all of
/// its workers and every later client waits, which is the pool's point, not a measurement.
/// Lab 5 gets a fixed number of workers so that its thread count is the same on any machine.
/// Lab 7 is the capstone: the student's own runtime, lab 2's loop under lab 6's executor.
const MODELS: [Model; 5] = [
    Model {
        lab: 1,
        id: "lab1-thread-per-connection",
        title: "lab 1: a thread per connection",
        args: &[],
    },
    Model {
        lab: 2,
        id: "lab2-event-loop",
        title: "lab 2: mio event loop, one thread",
        args: &[],
    },
    Model {
        lab: 5,
        id: "lab5-tokio-current-thread",
        title: "lab 5: tokio, current-thread runtime",
        args: &["--threads", "1"],
    },
    Model {
        lab: 5,
        id: "lab5-tokio-2-workers",
        title: "lab 5: tokio, 2 worker threads",
        args: &["--threads", "2"],
    },
    Model {
        lab: 7,
        id: "lab7-own-runtime",
        title: "lab 7: your own runtime (mio reactor), one thread",
        args: &[],
    },
];

/// Runs the measurements and prints the table; with `out`, writes the files too.
pub fn command(kit: &Kit, solutions: bool, out: Option<&Path>) -> Result<bool> {
    let started = Instant::now();
    let submission = if solutions {
        Submission::solutions()
    } else {
        Submission::tree(&kit.root)?
    };
    let open_files = open_files_limit();
    let levels: Vec<usize> = LEVELS
        .into_iter()
        .filter(|n| n + SPARE_OPEN_FILES <= open_files)
        .collect();
    let mut notes = Vec::new();
    if levels.len() < LEVELS.len() {
        notes.push(format!(
            "only up to {} idle clients: this process may open {open_files} files (ulimit -n)",
            levels.last().copied().unwrap_or(0)
        ));
    }

    // The student's own checkout is built in place, sharing `grader lab N`'s build; the
    // reference solutions are staged.
    let grader = if solutions {
        Grader::new(kit.clone())
    } else {
        Grader::for_student(kit.clone(), Cargo::in_place())
    };
    let slot = Slot::acquire(kit)?;
    // Everything is built before anything is measured: no compiler competes for the CPU.
    let mut programs = BTreeMap::new();
    for lab in MODELS.iter().map(|m| m.lab) {
        if let Entry::Vacant(entry) = programs.entry(lab) {
            entry.insert(build_server(&grader, &submission, lab, &slot)?);
        }
    }
    let lab6 = build_executor_bench(&grader, &submission, &slot)?;

    // The programs run in an empty folder of this grader's slot.
    let run_dir = slot.run_dir()?;
    let redis = redis::find();
    let servers: Vec<ServerBench> = MODELS
        .iter()
        .map(|model| {
            let program = programs.get(&model.lab).expect("built above");
            measure_server(model, program, &run_dir, &levels, redis.as_deref())
        })
        .collect();
    let executor = match lab6 {
        Ok(bench) => {
            progress("lab 6: spawning tasks on your executors and on tokio's");
            let hint = kit.lab(6).ok().and_then(|lab| lab.timeout_hint.as_deref());
            executor::run(&bench, &run_dir, hint)
        }
        Err(reason) => executor::not_working(reason),
    };

    let redis_benchmark = match &redis {
        Some(path) if servers.iter().any(|s| s.status == Status::Measured) => ToolStatus {
            ran: true,
            note: format!(
                "{} -t ping,set,get -q -n {REDIS_REQUESTS} -c {REDIS_CONNECTIONS} ran against \
                 each working server with its idle clients still connected",
                path.display()
            ),
        },
        Some(path) => ToolStatus {
            ran: false,
            note: format!("{} found, but no server works yet", path.display()),
        },
        None => ToolStatus {
            ran: false,
            note: "not on PATH: skipped (it comes with Redis, e.g. the redis-tools package)"
                .to_string(),
        },
    };

    let report = BenchReport {
        submission: submission.id.clone(),
        measured_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        kit_version: env!("CARGO_PKG_VERSION").to_string(),
        toolchain: grader.toolchain().to_string(),
        cores: thread::available_parallelism().map_or(1, |n| n.get()),
        settings: Settings {
            levels,
            load_connections: LOAD_CONNECTIONS,
            load_ms: LOAD_TIME.as_millis() as u64,
            redis_requests: REDIS_REQUESTS,
            redis_connections: REDIS_CONNECTIONS,
        },
        servers,
        executor,
        redis_benchmark,
        notes,
    };

    let terminal = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let style = if terminal {
        render::Style::Terminal
    } else {
        render::Style::Plain
    };
    print!("{}", render::report(&report, style));
    if let Some(dir) = out {
        write_files(&report, dir)?;
        println!(
            "\nwrote bench.md, bench.json and bench.svg to {}",
            dir.display()
        );
    }
    progress(&format!(
        "finished in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(true)
}

fn progress(message: &str) {
    eprintln!("grader: bench: {message}");
}

/// The open-files limit after asking for [`WANTED_OPEN_FILES`]; children inherit it, so the
/// servers can hold as many sockets as the bench opens.
fn open_files_limit() -> usize {
    let raised = support::testing::raise_open_files_limit(WANTED_OPEN_FILES);
    if raised > 0 {
        return raised as usize;
    }
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given and nothing else.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if read == 0 {
        limit.rlim_cur as usize
    } else {
        1024
    }
}

/// Builds a server lab; its program, or why there is none.
fn build_server(
    grader: &Grader,
    submission: &Submission,
    number: u32,
    slot: &Slot,
) -> Result<Result<PathBuf, String>> {
    let Ok(lab) = grader.kit.lab(number) else {
        return Ok(Err(format!("this kit has no lab {number}")));
    };
    progress(&format!("building lab {number}"));
    Ok(
        match grader.build_lab(submission, lab, false, slot, &|m| progress(m))? {
            Built::Ready(built) => built.programs.get(&lab.package).cloned().ok_or_else(|| {
                format!(
                    "the lab built, but without its program `{}` (src/main.rs)",
                    lab.package
                )
            }),
            Built::Failed(report) => Err(unbuilt(
                &lab.package,
                report.status,
                report.message.as_deref(),
            )),
        },
    )
}

/// Builds lab 6's benchmark, or says why lab 6 cannot be measured.
fn build_executor_bench(
    grader: &Grader,
    submission: &Submission,
    slot: &Slot,
) -> Result<Result<PathBuf, String>> {
    let Ok(lab) = grader.kit.lab(6) else {
        return Ok(Err("this kit has no lab 6".into()));
    };
    progress("building lab 6's benchmark");
    executor::build(&grader.kit, lab, submission, slot)
}

/// Why a lab that did not build has nothing to measure, on one line.
fn unbuilt(package: &str, status: LabStatus, message: Option<&str>) -> String {
    let said: Vec<&str> = message
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(2)
        .collect();
    match status {
        LabStatus::Missing => format!("its files are missing: {}", said.join(" ")),
        _ => format!(
            "it does not build: {} (`cargo build -p {package}` shows every error)",
            said.join(" ")
        ),
    }
}

/// Starts one model's server, holds each level of idle clients, and measures. Returns what
/// it got, with the reason if the server stopped working on the way.
fn measure_server(
    model: &Model,
    program: &Result<PathBuf, String>,
    cwd: &Path,
    levels: &[usize],
    redis: Option<&Path>,
) -> ServerBench {
    let mut bench = ServerBench {
        lab: model.lab,
        model: model.id.to_string(),
        title: model.title.to_string(),
        status: Status::Measured,
        reason: None,
        levels: Vec::new(),
        redis_benchmark: Vec::new(),
        redis_benchmark_note: None,
    };
    let failed = |mut bench: ServerBench, reason: String| {
        bench.status = Status::NotWorking;
        bench.reason = Some(reason);
        bench
    };
    let program = match program {
        Ok(program) => program,
        Err(reason) => return failed(bench, reason.clone()),
    };
    progress(&format!("{}: starting", model.title));
    let mut server = match Server::start(program, model.args, cwd) {
        Ok(server) => server,
        Err(reason) => return failed(bench, reason),
    };
    let mut idle = IdleClients::default();
    let outcome = hold_levels(model, &mut server, &mut idle, levels, &mut bench.levels);
    if let Err(error) = outcome {
        // A server that died explains itself better than the client that noticed.
        let reason = server.exit_reason().unwrap_or(error);
        return failed(bench, reason);
    }
    if let Some(redis) = redis {
        progress(&format!("{}: redis-benchmark", model.title));
        match redis::run(redis, server.addr, REDIS_REQUESTS, REDIS_CONNECTIONS) {
            Ok(figures) => bench.redis_benchmark = figures,
            Err(reason) => bench.redis_benchmark_note = Some(reason),
        }
    }
    // The server goes first: its side of each connection then closes first and keeps the
    // TIME_WAIT, not the bench's ephemeral ports.
    drop(server);
    drop(idle);
    bench
}

/// Grows the idle clients level by level; at each, reads the server's figures, then runs
/// the echo load. Stops at the first failure, keeping the levels measured before it.
fn hold_levels(
    model: &Model,
    server: &mut Server,
    idle: &mut IdleClients,
    levels: &[usize],
    measured: &mut Vec<Level>,
) -> Result<(), String> {
    // One connection first, so one-time costs (the store, a first thread's allocator arena)
    // are in the baseline rather than charged to the idle clients.
    load::ping_once(server.addr)?;
    let mut baseline_kib = None;
    for &clients in levels {
        progress(&format!("{}: {clients} idle clients", model.title));
        idle.grow_to(server.addr, clients)?;
        let status = settled_status(server)?;
        let baseline = *baseline_kib.get_or_insert(status.rss_kib);
        let echo = load::echo_load(server.addr, LOAD_CONNECTIONS, LOAD_TIME);
        measured.push(Level {
            clients,
            threads: status.threads,
            rss_kib: status.rss_kib,
            virtual_kib: status.virtual_kib,
            rss_per_connection_kib: results::rss_per_connection(baseline, status.rss_kib, clients),
            echo: echo.as_ref().ok().map(|echo| results::Echo {
                requests: echo.requests,
                requests_per_second: echo.requests_per_second,
                p50_us: echo.p50_us,
                p99_us: echo.p99_us,
            }),
        });
        // The level's threads and memory stay in the report; the load's failure ends it.
        echo.map_err(|e| format!("echo load with {clients} idle clients: {e}"))?;
    }
    Ok(())
}

/// The server's figures once its thread count holds still: threads of connections that
/// closed a moment ago (the previous level's load) have ended.
fn settled_status(server: &Server) -> Result<ProcStatus, String> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut last = server.status()?;
    loop {
        thread::sleep(Duration::from_millis(50));
        let now = server.status()?;
        if now.threads == last.threads || Instant::now() >= deadline {
            return Ok(now);
        }
        last = now;
    }
}

/// `bench.md`, `bench.json` and `bench.svg` in `dir`.
fn write_files(report: &BenchReport, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let svg = chart::svg(report).map_err(|e| anyhow::anyhow!("drawing bench.svg: {e}"))?;
    let files = [
        ("bench.md", render::report(report, render::Style::Markdown)),
        ("bench.json", render::json(report)),
        ("bench.svg", svg),
    ];
    for (name, text) in files {
        crate::files::write_atomically(&dir.join(name), &text)?;
    }
    Ok(())
}
