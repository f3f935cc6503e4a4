//! The bench's figures for people: tables on a terminal (plain in a pipe), the same tables in
//! Markdown for `bench.md`, and the raw figures as JSON for `bench.json`.

use std::fmt::Write as _;

use comfy_table::{presets, Cell, CellAlignment, Color, ContentArrangement, Table};

use super::results::{BenchReport, Status};

/// How the tables are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Box drawing and colour, for a terminal.
    Terminal,
    /// Plain ASCII, for a pipe or a log.
    Plain,
    /// Markdown pipe tables and headings.
    Markdown,
}

/// Everything measured, as tables with a few lines of explanation.
pub fn report(report: &BenchReport, style: Style) -> String {
    let mut out = String::new();
    let markdown = style == Style::Markdown;
    // Markdown needs a blank line to end a table before the notes under it.
    let gap = if markdown { "\n" } else { "" };
    let heading = |out: &mut String, text: &str| {
        if markdown {
            let _ = writeln!(out, "## {text}\n");
        } else {
            let _ = writeln!(out, "{text}");
        }
    };
    if markdown {
        let _ = writeln!(out, "# grader bench: {}\n", report.submission);
    }
    let _ = writeln!(
        out,
        "{} measured {} on {} cores ({}, kit {}).\n",
        report.submission, report.measured_at, report.cores, report.toolchain, report.kit_version
    );
    for note in &report.notes {
        let _ = writeln!(out, "{}{note}", bullet(markdown));
    }

    let settings = &report.settings;
    heading(
        &mut out,
        &format!(
            "Servers: idle clients held, then an echo load ({} connections for {} ms at each level)",
            settings.load_connections, settings.load_ms
        ),
    );
    let _ = writeln!(out, "{}{gap}", servers_table(report, style));
    for server in &report.servers {
        if let Some(reason) = &server.reason {
            let _ = writeln!(
                out,
                "{}{}: not working yet: {reason}",
                bullet(markdown),
                server.title
            );
        }
    }
    let notes = [
        "RSS/conn = (RSS with n idle clients - RSS with none) / n: the memory an idle connection \
         really costs.",
        "virtual = the address space reserved (VmSize). Every Rust thread reserves a 2 MiB stack \
         (the main thread and plain pthreads 8 MiB) but touches only a few KiB of it: the slide's \
         \"5000 threads = 40 GB\" is this column, not RSS.",
        "req/s and p99: echo round trips (request, then wait for the reply) while the idle \
         clients stay connected.",
    ];
    for note in notes {
        let _ = writeln!(out, "{}{note}", bullet(markdown));
    }
    let _ = writeln!(out);

    heading(
        &mut out,
        &format!(
            "Throughput by model, with the most idle clients held (redis: redis-benchmark -n {} -c {})",
            settings.redis_requests, settings.redis_connections
        ),
    );
    let _ = writeln!(out, "{}{gap}", throughput_table(report, style));
    let _ = writeln!(
        out,
        "{}redis-benchmark: {}",
        bullet(markdown),
        report.redis_benchmark.note
    );
    for server in &report.servers {
        if let Some(note) = &server.redis_benchmark_note {
            let _ = writeln!(out, "{}{}: {note}", bullet(markdown), server.title);
        }
    }
    let _ = writeln!(out);

    let executor = &report.executor;
    heading(
        &mut out,
        &format!(
            "lab 6: spawn + complete, time per task ({} trivial tasks, median of several rounds)",
            executor
                .tasks
                .map(thousands)
                .unwrap_or_else(|| "?".to_string())
        ),
    );
    let _ = writeln!(out, "{}{gap}", executor_table(report, style));
    if let Some(reason) = &executor.reason {
        let _ = writeln!(out, "{}lab 6: not working yet: {reason}", bullet(markdown));
    }
    let _ = writeln!(out, "{}built: {}", bullet(markdown), executor.build);
    out
}

fn bullet(markdown: bool) -> &'static str {
    if markdown {
        "- "
    } else {
        "  "
    }
}

fn new_table(style: Style, header: Vec<String>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(match style {
            Style::Terminal => presets::UTF8_FULL_CONDENSED,
            Style::Plain => presets::ASCII_FULL_CONDENSED,
            Style::Markdown => presets::ASCII_MARKDOWN,
        })
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    if style == Style::Terminal {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

fn right(text: impl Into<String>) -> Cell {
    Cell::new(text.into()).set_alignment(CellAlignment::Right)
}

fn not_working(style: Style) -> Cell {
    let cell = Cell::new("not working yet");
    if style == Style::Terminal {
        cell.fg(Color::Yellow)
    } else {
        cell
    }
}

fn servers_table(report: &BenchReport, style: Style) -> Table {
    let header = [
        "lab / model",
        "clients",
        "threads",
        "RSS",
        "RSS/conn",
        "virtual",
        "req/s",
        "p99",
    ];
    let mut table = new_table(style, header.map(String::from).to_vec());
    for server in &report.servers {
        for (index, level) in server.levels.iter().enumerate() {
            let title = if index == 0 {
                server.title.as_str()
            } else {
                ""
            };
            let echo = level.echo.as_ref();
            table.add_row(vec![
                Cell::new(title),
                right(thousands(level.clients as u64)),
                right(thousands(level.threads)),
                right(kib(level.rss_kib as f64)),
                right(
                    level
                        .rss_per_connection_kib
                        .map(kib)
                        .unwrap_or_else(|| "-".into()),
                ),
                right(kib(level.virtual_kib as f64)),
                right(
                    echo.map(|e| thousands(e.requests_per_second.round() as u64))
                        .unwrap_or_else(|| "-".into()),
                ),
                right(echo.map(|e| micros(e.p99_us)).unwrap_or_else(|| "-".into())),
            ]);
        }
        if server.status == Status::NotWorking {
            let title = if server.levels.is_empty() {
                server.title.as_str()
            } else {
                ""
            };
            let mut row = vec![Cell::new(title), not_working(style)];
            row.extend((0..6).map(|_| right("-")));
            table.add_row(row);
        }
    }
    table
}

/// The echo figures at the highest level a server reached, where `redis-benchmark` ran too.
fn throughput_table(report: &BenchReport, style: Style) -> Table {
    let mut tests: Vec<&str> = Vec::new();
    for figure in report.servers.iter().flat_map(|s| &s.redis_benchmark) {
        if !tests.contains(&figure.test.as_str()) {
            tests.push(&figure.test);
        }
    }
    let mut header = vec![
        "lab / model".to_string(),
        "idle clients".to_string(),
        format!("echo req/s ({} conns)", report.settings.load_connections),
        "echo p99".to_string(),
    ];
    header.extend(tests.iter().map(|t| format!("redis {t}")));
    let mut table = new_table(style, header);
    for server in &report.servers {
        let last = server.levels.iter().rev().find(|l| l.echo.is_some());
        let mut row = vec![Cell::new(&server.title)];
        match last.and_then(|l| Some((l, l.echo.as_ref()?))) {
            Some((level, echo)) => {
                row.push(right(thousands(level.clients as u64)));
                row.push(right(thousands(echo.requests_per_second.round() as u64)));
                row.push(right(micros(echo.p99_us)));
            }
            None => {
                row.push(not_working(style));
                row.push(right("-"));
                row.push(right("-"));
            }
        }
        for test in &tests {
            let figure = server.redis_benchmark.iter().find(|f| f.test == *test);
            row.push(right(
                figure
                    .map(|f| thousands(f.requests_per_second.round() as u64))
                    .unwrap_or_else(|| "-".into()),
            ));
        }
        table.add_row(row);
    }
    table
}

fn executor_table(report: &BenchReport, style: Style) -> Table {
    let header = ["lab 6: setting", "yours", "tokio", "yours / tokio"];
    let mut table = new_table(style, header.map(String::from).to_vec());
    let executor = &report.executor;
    if executor.comparisons.is_empty() {
        table.add_row(vec![
            Cell::new("your Executor vs tokio current-thread runtime"),
            not_working(style),
            right("-"),
            right("-"),
        ]);
    }
    for comparison in &executor.comparisons {
        let yours = match comparison.yours_ns_per_task {
            Some(ns) => right(nanos(ns)),
            None => not_working(style),
        };
        table.add_row(vec![
            Cell::new(format!(
                "{}: {} vs {}",
                comparison.setting, comparison.yours, comparison.tokio
            )),
            yours,
            right(
                comparison
                    .tokio_ns_per_task
                    .map(nanos)
                    .unwrap_or_else(|| "-".into()),
            ),
            right(
                comparison
                    .ratio()
                    .map(|r| format!("{r:.2}x"))
                    .unwrap_or_else(|| "-".into()),
            ),
        ]);
    }
    table
}

/// The raw figures, pretty-printed.
pub fn json(report: &BenchReport) -> String {
    serde_json::to_string_pretty(report).expect("bench reports always serialise") + "\n"
}

/// A size given in KiB, in the unit that reads best: `12.5 KiB`, `3.4 MiB`, `2.01 GiB`.
pub fn kib(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude < 1024.0 {
        format!("{value:.1} KiB")
    } else if magnitude < 1024.0 * 1024.0 {
        format!("{:.1} MiB", value / 1024.0)
    } else {
        format!("{:.2} GiB", value / (1024.0 * 1024.0))
    }
}

/// `41230` → `41,230`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Microseconds as `85 µs` or `1.25 ms`.
pub fn micros(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

/// Nanoseconds as `123 ns` or `4.5 µs`.
fn nanos(ns: f64) -> String {
    if ns < 10_000.0 {
        format!("{ns:.0} ns")
    } else {
        format!("{:.1} µs", ns / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::bench::results::fixtures;

    fn sample() -> BenchReport {
        let mut broken = fixtures::server(2, &[], None);
        broken.status = Status::NotWorking;
        broken.reason = Some("the server exited with status 101".into());
        broken.redis_benchmark.clear();
        fixtures::report(vec![
            fixtures::server(1, &[(0, None), (100, Some(22.2))], Some(41_230.4)),
            broken,
        ])
    }

    #[test]
    fn plain_tables_show_figures_and_reasons() {
        let text = report(&sample(), Style::Plain);
        assert!(text.contains("| lab / model"), "{text}");
        let lab1 = text.lines().find(|l| l.contains("lab 1 <model>")).unwrap();
        assert!(lab1.contains("41,230") && lab1.contains("90 µs"), "{lab1}");
        assert!(text.contains("22.2 KiB"), "{text}");
        let lab2 = text
            .lines()
            .find(|l| l.contains("| lab 2 <model>"))
            .unwrap();
        assert!(lab2.contains("not working yet"), "{lab2}");
        assert!(
            text.contains("lab 2 <model> & co: not working yet: the server exited with status 101")
        );
        assert!(
            text.contains("redis GET") && text.contains("30,000"),
            "{text}"
        );
        assert!(!text.contains('\u{1b}'), "no colour in a pipe");
    }

    #[test]
    fn markdown_has_headings_and_tables_that_end() {
        let text = report(&sample(), Style::Markdown);
        assert!(text.starts_with("# grader bench: solutions\n"), "{text}");
        assert!(text.contains("\n## Servers"), "{text}");
        assert!(text.contains("|---"), "{text}");
        // A table ends at a blank line before the notes under it.
        assert!(text.contains("|\n\n- "), "{text}");
    }

    #[test]
    fn sizes_read_in_the_best_unit() {
        assert_eq!(kib(18.44), "18.4 KiB");
        assert_eq!(kib(-2.0), "-2.0 KiB");
        assert_eq!(kib(5.0 * 1024.0), "5.0 MiB");
        assert_eq!(kib(2.5 * 1024.0 * 1024.0), "2.50 GiB");
    }

    #[test]
    fn counts_and_times() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(41_230), "41,230");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(micros(85.4), "85 µs");
        assert_eq!(micros(1250.0), "1.25 ms");
        assert_eq!(nanos(123.4), "123 ns");
        assert_eq!(nanos(45_000.0), "45.0 µs");
    }
}
