//! The bench's figures, as `bench.json` holds them: what the table, the Markdown and the
//! chart are all rendered from.
//!
//! Sizes are in KiB because that is what `/proc/<pid>/status` gives; times in microseconds
//! or nanoseconds as named. A model that does not work yet keeps whatever it measured before
//! it failed, with the reason.

use serde::{Deserialize, Serialize};

/// Everything one `grader bench` run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    /// `solutions`, or the checkout's folder name.
    pub submission: String,
    pub measured_at: String,
    pub kit_version: String,
    pub toolchain: String,
    /// Cores the machine offers: the figures only compare within one machine.
    pub cores: usize,
    pub settings: Settings,
    /// One entry per server model (labs 1, 2, 5 and 7).
    pub servers: Vec<ServerBench>,
    /// Lab 6: your executors against tokio's runtimes.
    pub executor: ExecutorBench,
    /// Whether `redis-benchmark` ran, and if not, why.
    pub redis_benchmark: ToolStatus,
    /// What limited the run on this machine (the open-files limit...).
    pub notes: Vec<String>,
}

/// How the servers were loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Idle clients held at each level (0 is the baseline).
    pub levels: Vec<usize>,
    /// Connections of the echo load, each one a client thread doing round trips.
    pub load_connections: usize,
    /// How long the echo load runs at each level.
    pub load_ms: u64,
    /// Requests per test of `redis-benchmark -n`.
    pub redis_requests: u32,
    /// Connections of `redis-benchmark -c`.
    pub redis_connections: u32,
}

/// Whether a measurement worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every figure was measured.
    Measured,
    /// The code does not work yet (a stub, a build failure, a server that stopped
    /// answering): `reason` says which.
    NotWorking,
}

/// One server model: a lab's program started one way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerBench {
    pub lab: u32,
    /// A stable name for scripts: `lab1-threads`.
    pub model: String,
    /// For people: `lab 1: a thread per connection`.
    pub title: String,
    pub status: Status,
    pub reason: Option<String>,
    /// One per level reached, baseline first.
    pub levels: Vec<Level>,
    /// `redis-benchmark` against this server, when it ran.
    pub redis_benchmark: Vec<RedisFigure>,
    /// Why `redis-benchmark` has no figures for this server, when it has none.
    pub redis_benchmark_note: Option<String>,
}

/// A server holding `clients` idle connections.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Level {
    pub clients: usize,
    pub threads: u64,
    pub rss_kib: u64,
    pub virtual_kib: u64,
    /// (RSS here − RSS at the baseline) / clients; none at the baseline itself.
    pub rss_per_connection_kib: Option<f64>,
    /// The echo load run while these clients stayed idle.
    pub echo: Option<Echo>,
}

/// The built-in echo load's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Echo {
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

/// One test of `redis-benchmark -q` (`PING_INLINE`, `SET`...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisFigure {
    pub test: String,
    pub requests_per_second: f64,
}

/// Whether an optional tool was used.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolStatus {
    pub ran: bool,
    pub note: String,
}

/// Lab 6: spawn and complete trivial tasks, yours against tokio.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutorBench {
    pub status: Status,
    pub reason: Option<String>,
    /// Tasks per round, as the benchmark printed it.
    pub tasks: Option<u64>,
    /// How the benchmark program was built (an honest comparison needs the same settings
    /// on both sides).
    pub build: String,
    /// One thread, then two worker threads.
    pub comparisons: Vec<Comparison>,
    /// The benchmark's own output (capped).
    pub output: String,
}

/// Your executor and tokio's runtime in the same setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// `one thread`, `two worker threads`.
    pub setting: String,
    /// `your Executor`.
    pub yours: String,
    /// `tokio current-thread runtime`.
    pub tokio: String,
    /// Spawn + complete time per task, nanoseconds; none if yours panicked.
    pub yours_ns_per_task: Option<f64>,
    pub tokio_ns_per_task: Option<f64>,
}

impl Comparison {
    /// Yours / tokio: above 1, yours is slower.
    pub fn ratio(&self) -> Option<f64> {
        match (self.yours_ns_per_task, self.tokio_ns_per_task) {
            (Some(yours), Some(tokio)) if tokio > 0.0 => Some(yours / tokio),
            _ => None,
        }
    }
}

/// Memory each idle connection costs: the growth of RSS since the baseline, shared out.
/// Negative when the server gave memory back meanwhile (noise, reported as measured).
pub fn rss_per_connection(baseline_kib: u64, now_kib: u64, clients: usize) -> Option<f64> {
    (clients > 0).then(|| (now_kib as f64 - baseline_kib as f64) / clients as f64)
}

/// Small reports for the renderers' tests.
#[cfg(test)]
pub mod fixtures {
    use super::*;

    pub fn server(index: u32, rss: &[(usize, Option<f64>)], rps: Option<f64>) -> ServerBench {
        ServerBench {
            lab: index,
            model: format!("lab{index}"),
            title: format!("lab {index} <model> & co"),
            status: Status::Measured,
            reason: None,
            levels: rss
                .iter()
                .map(|&(clients, per)| Level {
                    clients,
                    threads: 1,
                    rss_kib: 4000,
                    virtual_kib: 9000,
                    rss_per_connection_kib: per,
                    echo: rps.map(|r| Echo {
                        requests: 10,
                        requests_per_second: r,
                        p50_us: 50.0,
                        p99_us: 90.0,
                    }),
                })
                .collect(),
            redis_benchmark: vec![RedisFigure {
                test: "GET".into(),
                requests_per_second: 30_000.0,
            }],
            redis_benchmark_note: None,
        }
    }

    pub fn report(servers: Vec<ServerBench>) -> BenchReport {
        BenchReport {
            submission: "solutions".into(),
            measured_at: "now".into(),
            kit_version: "0".into(),
            toolchain: "rustc".into(),
            cores: 2,
            settings: Settings {
                levels: vec![0, 100],
                load_connections: 8,
                load_ms: 500,
                redis_requests: 1000,
                redis_connections: 8,
            },
            servers,
            executor: crate::commands::bench::executor::not_working("stub".into()),
            redis_benchmark: ToolStatus {
                ran: true,
                note: "ran".into(),
            },
            notes: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_per_connection_shares_the_growth_since_the_baseline() {
        assert_eq!(rss_per_connection(4_000, 4_000, 0), None);
        assert_eq!(rss_per_connection(4_000, 24_000, 1000), Some(20.0));
        assert_eq!(rss_per_connection(4_000, 4_050, 100), Some(0.5));
        assert_eq!(rss_per_connection(4_000, 3_900, 100), Some(-1.0));
    }

    #[test]
    fn the_ratio_needs_both_sides() {
        let mut comparison = Comparison {
            setting: "one thread".into(),
            yours: "your Executor".into(),
            tokio: "tokio current-thread runtime".into(),
            yours_ns_per_task: Some(300.0),
            tokio_ns_per_task: Some(100.0),
        };
        assert_eq!(comparison.ratio(), Some(3.0));
        comparison.yours_ns_per_task = None;
        assert_eq!(comparison.ratio(), None);
    }
}
