//! `bench.svg`: the two pictures of the lecture's argument, drawn with plotters' SVG backend
//! into a string (pure Rust: the SVG names a font family, the viewer draws the text, so no
//! font file is read).
//!
//! Left, what an idle connection costs in memory as clients grow, one line per model: a
//! thread per connection pays for a stack and a kernel thread, an event loop or a task only
//! for its buffers. Right, throughput by model, from the built-in echo load and, when it
//! ran, `redis-benchmark`'s GET.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::render::{kib, thousands};
use super::results::{BenchReport, ServerBench};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 480;
const FONT: &str = "sans-serif";

/// One colour per model, in the order of the report (colour-blind safe pairs).
const COLOURS: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
];

fn colour(index: usize) -> RGBColor {
    COLOURS[index % COLOURS.len()]
}

/// The chart as a standalone SVG document.
pub fn svg(report: &BenchReport) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (left, right) = root.split_horizontally(WIDTH * 11 / 20);
        memory_per_connection(&left, &report.servers).map_err(|e| e.to_string())?;
        throughput(&right, report).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn<'a> = Result<(), DrawingAreaErrorKind<<SVGBackend<'a> as DrawingBackend>::ErrorType>>;

/// RSS per connection (KiB) against idle clients, one line per model that measured any.
fn memory_per_connection<'a>(area: &Area<'a>, servers: &[ServerBench]) -> Drawn<'a> {
    /// One model's line: its colour index, its title, (clients, KiB per connection).
    struct Line<'s> {
        index: usize,
        title: &'s str,
        points: Vec<(f64, f64)>,
    }
    let lines: Vec<Line> = servers
        .iter()
        .enumerate()
        .map(|(index, server)| Line {
            index,
            title: &server.title,
            points: server
                .levels
                .iter()
                .filter_map(|l| Some((l.clients as f64, l.rss_per_connection_kib?)))
                .collect(),
        })
        .filter(|line| !line.points.is_empty())
        .collect();
    let values = lines.iter().flat_map(|l| l.points.iter().map(|(_, y)| *y));
    let (low, high) = values.fold((0.0f64, 1.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let max_clients = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|(x, _)| *x))
        .fold(100.0f64, f64::max);

    let mut chart = ChartBuilder::on(area)
        .caption("Memory per idle connection", (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        // Head room above the highest line for the legend.
        .build_cartesian_2d(0.0..max_clients * 1.05, low.min(0.0)..high * 1.6)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_desc("idle clients")
        .y_desc("RSS per connection (KiB)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style((FONT, 12))
        .draw()?;
    // End-of-line values already written: a close one goes below its point instead.
    let mut labelled: Vec<f64> = Vec::new();
    for line in &lines {
        let (colour, points) = (colour(line.index), &line.points);
        chart
            .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
            .label(line.title)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(
            points
                .iter()
                .map(|point| Circle::new(*point, 3, colour.filled())),
        )?;
        if let Some(&(x, y)) = points.last() {
            let crowded = labelled.iter().any(|other| (other - y).abs() < high * 0.08);
            let side = if crowded { VPos::Top } else { VPos::Bottom };
            labelled.push(y);
            chart.draw_series(std::iter::once(Text::new(
                kib(y),
                (x, y),
                TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Right, side)),
            )))?;
        }
    }
    if lines.is_empty() {
        chart.draw_series(std::iter::once(Text::new(
            "no server measured",
            (max_clients * 0.35, high * 0.6),
            (FONT, 16),
        )))?;
    } else {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 12))
            .draw()?;
    }
    Ok(())
}

/// Horizontal bars, a band per model: its echo requests per second at the highest level it
/// reached and, below it, `redis-benchmark`'s GET requests per second.
fn throughput<'a>(area: &Area<'a>, report: &BenchReport) -> Drawn<'a> {
    struct Bars<'s> {
        index: usize,
        title: &'s str,
        echo: Option<f64>,
        redis: Option<f64>,
    }
    let bars: Vec<Bars> = report
        .servers
        .iter()
        .enumerate()
        .map(|(index, server)| Bars {
            index,
            title: &server.title,
            echo: server
                .levels
                .iter()
                .rev()
                .find_map(|l| Some(l.echo.as_ref()?.requests_per_second)),
            redis: server
                .redis_benchmark
                .iter()
                .find(|f| f.test == "GET")
                .map(|f| f.requests_per_second),
        })
        .collect();
    let bands = bars.len().max(1) as f64;
    let top = bars
        .iter()
        .flat_map(|b| [b.echo, b.redis])
        .flatten()
        .fold(1.0f64, f64::max)
        * 1.3;

    let mut chart = ChartBuilder::on(area)
        .caption("Throughput by model", (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(8)
        .build_cartesian_2d(0.0..top, 0.0..bands)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .y_labels(0)
        .x_desc(format!(
            "requests per second (echo: {} connections; redis-benchmark GET: -c {})",
            report.settings.load_connections, report.settings.redis_connections
        ))
        .x_label_formatter(&|x| format!("{:.0}k", x / 1000.0))
        .label_style((FONT, 12))
        .draw()?;
    let small = TextStyle::from((FONT, 12).into_font());
    let left_top = small.pos(Pos::new(HPos::Left, VPos::Top));
    let left_centre = small.pos(Pos::new(HPos::Left, VPos::Center));
    for bar in &bars {
        // The first model at the top.
        let base = bands - 1.0 - bar.index as f64;
        let colour = colour(bar.index);
        chart.draw_series(std::iter::once(Text::new(
            bar.title.to_string(),
            (top * 0.01, base + 0.95),
            left_top.clone(),
        )))?;
        let rows = [
            (bar.echo, base + 0.42, base + 0.70, "echo", colour.filled()),
            (
                bar.redis,
                base + 0.10,
                base + 0.38,
                "redis GET",
                colour.mix(0.45).filled(),
            ),
        ];
        for (value, low, high, what, style) in rows {
            let label = match value {
                Some(value) => {
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [(0.0, low), (value, high)],
                        style,
                    )))?;
                    format!("{what} {}", thousands(value.round() as u64))
                }
                None if what == "echo" => "not working yet".to_string(),
                None => continue,
            };
            chart.draw_series(std::iter::once(Text::new(
                label,
                (value.unwrap_or(0.0) + top * 0.01, (low + high) / 2.0),
                left_centre.clone(),
            )))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::bench::results::fixtures::{report, server};

    #[test]
    fn the_chart_is_one_svg_document_with_escaped_titles() {
        let servers = vec![
            server(
                1,
                &[(0, None), (100, Some(20.0)), (1000, Some(18.0))],
                Some(40_000.0),
            ),
            server(2, &[(0, None), (100, Some(2.0)), (1000, Some(1.5))], None),
        ];
        let svg = svg(&report(servers)).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains("lab 1 &lt;model&gt; &amp; co"));
        assert!(svg.contains("Memory per idle connection"));
        assert!(svg.contains("not working yet"), "lab 2 has no echo figure");
    }

    #[test]
    fn no_data_still_makes_a_chart() {
        let svg = svg(&report(Vec::new())).unwrap();
        assert!(svg.contains("no server measured") && svg.trim_end().ends_with("</svg>"));
    }
}
