//! `redis-benchmark`, when it is installed: the tool students use in the handouts, run against
//! the same servers as a second opinion on the built-in load generator's throughput.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::process;
use super::results::RedisFigure;

/// The longest one `redis-benchmark` run may take: it stops (and is killed) after that.
pub const LIMIT: Duration = Duration::from_secs(10);

/// `redis-benchmark` on `PATH`, if any.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-benchmark"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `redis-benchmark -h 127.0.0.1 -p PORT -t ping,set,get -q -n REQUESTS -c CONNECTIONS`:
/// requests per second of each of its tests, or why there are none.
pub fn run(
    program: &std::path::Path,
    addr: SocketAddr,
    requests: u32,
    connections: u32,
) -> Result<Vec<RedisFigure>, String> {
    let mut command = process::command(program);
    command.args([
        "-h",
        &addr.ip().to_string(),
        "-p",
        &addr.port().to_string(),
        "-t",
        "ping,set,get",
        "-q",
        "-n",
        &requests.to_string(),
        "-c",
        &connections.to_string(),
    ]);
    let finished = process::run_with_limit(&mut command, LIMIT)
        .map_err(|e| format!("redis-benchmark did not start: {e}"))?;
    let figures = parse(&finished.stdout);
    let complete = finished.status.is_some_and(|s| s.success());
    if complete && !figures.is_empty() {
        return Ok(figures);
    }
    let said = finished
        .stderr
        .lines()
        .chain(finished.stdout.lines())
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.contains("rps="))
        .map(|line| format!(": {line}"))
        .unwrap_or_default();
    Err(format!(
        "redis-benchmark {}{said}",
        finished.describe(LIMIT)
    ))
}

/// The final lines of `-q` output, `SET: 41322.31 requests per second, p50=0.111 msec`;
/// progress lines (separated by carriage returns) are skipped.
pub fn parse(stdout: &str) -> Vec<RedisFigure> {
    stdout
        .split(['\r', '\n'])
        .filter_map(|line| {
            let (test, rest) = line.trim().split_once(':')?;
            let (rate, _) = rest.trim().split_once(" requests per second")?;
            Some(RedisFigure {
                test: test.trim().to_string(),
                requests_per_second: rate.trim().parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_output_gives_one_figure_per_test() {
        let stdout = "PING_INLINE: rps=0.0 (overall: nan) avg_msec=nan (overall: nan)\r\
            PING_INLINE: 49751.24 requests per second, p50=0.127 msec\n\
            PING_MBULK: 51282.05 requests per second, p50=0.119 msec\n\
            SET: rps=40000.0 (overall: 40000.0) avg_msec=0.2 (overall: 0.2)\r\
            SET: 45045.04 requests per second, p50=0.135 msec\n\
            GET: 47169.81 requests per second\n";
        let figures = parse(stdout);
        let names: Vec<&str> = figures.iter().map(|f| f.test.as_str()).collect();
        assert_eq!(names, ["PING_INLINE", "PING_MBULK", "SET", "GET"]);
        assert_eq!(figures[2].requests_per_second, 45045.04);
        assert!(parse("Could not connect to Redis at 127.0.0.1:1: refused\n").is_empty());
    }
}
