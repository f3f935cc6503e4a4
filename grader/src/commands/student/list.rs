//! `grader list`: every lab with its title, its public points and this checkout's last public
//! score (from the student's state), with a progress bar per lab and for the course.

use crate::commands::student::state::State;
use crate::kit::Kit;
use crate::report::text::points;

/// Prints every lab with its title, points and this checkout's last public score.
pub fn command(kit: &Kit) {
    let state = State::load(&kit.root);
    let width = kit.labs.iter().map(|l| l.title.len()).max().unwrap_or(5);
    println!(
        "{:<4} {:<width$} {:>13}  progress",
        "lab", "title", "public score"
    );
    let (mut earned, mut available) = (0.0, 0.0);
    for lab in &kit.labs {
        let max = lab.max_points(false);
        available += max;
        let (score, bar) = match state.score(lab.number) {
            Some((score, _)) => {
                earned += score;
                (
                    format!("{} / {}", points(score), points(max)),
                    progress_bar(score, max),
                )
            }
            None => (format!("- / {}", points(max)), "not run yet".to_string()),
        };
        println!(
            "{:<4} {:<width$} {:>13}  {bar}",
            lab.number, lab.title, score
        );
    }
    println!(
        "\n{:<4} {:<width$} {:>13}  {}",
        "",
        "all labs",
        format!("{} / {}", points(earned), points(available)),
        progress_bar(earned, available)
    );
    println!(
        "\nRun `cargo run -p grader -- lab N` (or `just lab N`) to test lab N, \
         `cargo run -p grader -- hint N` for a hint."
    );
}

/// `[#######.............]  35%`: plain characters, readable in a pipe.
fn progress_bar(earned: f64, available: f64) -> String {
    const WIDTH: usize = 20;
    let fraction = if available > 0.0 {
        (earned / available).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let filled = (fraction * WIDTH as f64).round() as usize;
    format!(
        "[{}{}] {:>3.0}%",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        fraction * 100.0
    )
}
