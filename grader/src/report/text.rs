//! The words every format shares: points as people write them, and the panic messages that
//! explain a failed test.

/// Points without a needless `.0`.
pub fn points(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// The panic messages in a test's output: the test's own thread first, then at most one
/// other (often the real cause: a stub still unwritten, or an `unwrap` in a server thread).
pub fn failure_message(output: &str, test_name: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let mut panics: Vec<(bool, String)> = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if !(line.starts_with("thread '") && line.contains("panicked at")) {
            continue;
        }
        let own = line.starts_with(&format!("thread '{test_name}'"));
        let mut text = vec![line.trim_end_matches(':').to_string()];
        for next in lines.iter().skip(index + 1).take(30) {
            if next.is_empty()
                || next.starts_with("note: ")
                || next.starts_with("thread '")
                || next.starts_with("failures:")
            {
                break;
            }
            text.push(format!("  {next}"));
        }
        panics.push((own, text.join("\n")));
    }
    panics.sort_by_key(|(own, _)| !own);
    panics
        .into_iter()
        .take(2)
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_message_puts_the_test_threads_panic_first() {
        let output = "running 1 test\n\
            thread '<unnamed>' panicked at src/server.rs:4:5:\n\
            not yet implemented\n\
            note: run with `RUST_BACKTRACE=1`\n\
            thread 'ping_gets_pong' panicked at tests/public.rs:9:9:\n\
            handle_client should answer PING: the server closed the connection\n\
            \n\
            failures:\n";
        let message = failure_message(output, "ping_gets_pong");
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(
            lines[0],
            "thread 'ping_gets_pong' panicked at tests/public.rs:9:9"
        );
        assert_eq!(
            lines[1],
            "  handle_client should answer PING: the server closed the connection"
        );
        assert_eq!(lines[2], "thread '<unnamed>' panicked at src/server.rs:4:5");
        assert_eq!(lines[3], "  not yet implemented");
    }

    #[test]
    fn points_drop_needless_decimals() {
        assert_eq!(points(2.0), "2");
        assert_eq!(points(2.5), "2.5");
    }
}
