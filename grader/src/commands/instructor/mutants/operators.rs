//! The kit's own mutation operators: the mistakes this course is about, planted with `syn`.
//!
//! Each operator reads one editable file's syntax tree, finds the places where its mistake can
//! be made, and describes each mutant as text replacements at the byte ranges of the tokens
//! involved (found from `proc-macro2`'s line and column spans). Everything else in the file is
//! left as it was, so a mutant's diff is only the mistake.

use std::fmt;

use proc_macro2::{LineColumn, Span};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Arm, Block, Expr, ExprAwait, ExprBinary, ExprMethodCall, FnArg, Pat, Signature, Stmt};

/// A kind of mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operator {
    /// Wake the task at the start of every `poll`: right answers, one CPU at 100 %.
    BusyWake,
    /// Delete one statement that wakes a task or stores a waker: a lost wake-up.
    LostWake,
    /// Block the thread for 100 ms at the start of an `async fn` or async block.
    BlockAsync,
    /// Turn an awaited timer into `std::thread::sleep`: the executor's thread blocks.
    BlockingTimer,
    /// Run a queued job on a thread of its own: the pool no longer bounds the threads.
    ThreadPerJob,
    /// Delete a `notify_one`, `notify_all` or `unpark`: a sleeping thread is never told.
    SkipNotify,
    /// Delete a `deregister` or `shutdown`: resources are not given back.
    SkipCleanup,
    /// Turn `<` into `<=` (and back, and `>` with `>=`) in a comparison of times.
    DeadlineFlip,
}

impl Operator {
    pub const ALL: [Operator; 8] = [
        Operator::BusyWake,
        Operator::LostWake,
        Operator::BlockAsync,
        Operator::BlockingTimer,
        Operator::ThreadPerJob,
        Operator::SkipNotify,
        Operator::SkipCleanup,
        Operator::DeadlineFlip,
    ];

    /// The name in mutant ids and reports.
    pub fn name(self) -> &'static str {
        match self {
            Operator::BusyWake => "busy-wake",
            Operator::LostWake => "lost-wake",
            Operator::BlockAsync => "block-async",
            Operator::BlockingTimer => "blocking-timer",
            Operator::ThreadPerJob => "thread-per-job",
            Operator::SkipNotify => "skip-notify",
            Operator::SkipCleanup => "skip-cleanup",
            Operator::DeadlineFlip => "deadline-flip",
        }
    }

    /// What the mistake is, and what kind of test catches it.
    pub fn explanation(self) -> &'static str {
        match self {
            Operator::BusyWake => {
                "the future wakes itself on every poll (busy polling); caught by a test that \
                 counts polls or wake-ups while the future waits on a slow leaf"
            }
            Operator::LostWake => {
                "a wake-up or a stored waker is lost; caught by a test that waits on the \
                 future under a real executor with a time limit"
            }
            Operator::BlockAsync => {
                "async code blocks its thread for 100 ms; caught by a heartbeat on a \
                 current-thread runtime, or a latency bound"
            }
            Operator::BlockingTimer => {
                "an awaited timer blocks the thread instead; caught by concurrent requests \
                 on a current-thread runtime"
            }
            Operator::ThreadPerJob => {
                "work runs on a new thread per job; caught by a probe of the thread count"
            }
            Operator::SkipNotify => {
                "a waiting thread is never notified; caught by a test that waits with a \
                 time limit"
            }
            Operator::SkipCleanup => {
                "a resource is never deregistered or shut down; caught by a test that \
                 reuses or counts the resource"
            }
            Operator::DeadlineFlip => {
                "a time comparison is off by one instant; caught by a test at the boundary \
                 (a zero duration, a deadline that is exactly now)"
            }
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One text replacement: bytes `start..end` of the file become `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// One planted mistake in one file.
#[derive(Debug, Clone)]
pub struct Mutant {
    /// The editable file, relative to the lab folder (`src/countdown.rs`).
    pub file: String,
    /// The line of the mistake, from 1.
    pub line: usize,
    pub operator: Operator,
    /// `file:line:operator`, with `#2`, `#3`... when one line has several of a kind: stable
    /// while the file does not change, and what `[[equivalent_mutants]]` names.
    pub id: String,
    /// What was done, in a few words.
    pub description: String,
    pub edits: Vec<Edit>,
}

impl Mutant {
    /// The file's text with the mistake planted.
    pub fn apply(&self, source: &str) -> String {
        apply(source, &self.edits)
    }
}

/// `source` with `edits` (which must not overlap) applied.
pub fn apply(source: &str, edits: &[Edit]) -> String {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.start));
    let mut text = source.to_string();
    for edit in sorted {
        text.replace_range(edit.start..edit.end, &edit.text);
    }
    text
}

/// Every mutant of the kit's operators in one file. A file that does not parse has none.
pub fn mutants_of(file: &str, source: &str) -> Vec<Mutant> {
    let Ok(tree) = syn::parse_file(source) else {
        return Vec::new();
    };
    let mut finder = Finder {
        lines: LineIndex::new(source),
        drafts: Vec::new(),
    };
    finder.visit_file(&tree);
    let mut drafts = finder.drafts;
    drafts.sort_by_key(|d| (d.edits[0].start, d.operator));
    let mut mutants: Vec<Mutant> = Vec::new();
    for draft in drafts {
        let mutated = apply(source, &draft.edits);
        // A mutant that changes nothing, or that no longer parses, teaches nothing.
        if mutated == source || syn::parse_file(&mutated).is_err() {
            continue;
        }
        let base = format!("{file}:{}:{}", draft.line, draft.operator);
        let same = mutants
            .iter()
            .filter(|m| m.line == draft.line && m.operator == draft.operator)
            .count();
        let id = if same == 0 {
            base
        } else {
            format!("{base}#{}", same + 1)
        };
        mutants.push(Mutant {
            file: file.to_string(),
            line: draft.line,
            operator: draft.operator,
            id,
            description: draft.description,
            edits: draft.edits,
        });
    }
    mutants
}

/// A unified diff of one mutant, with two lines of context.
pub fn diff(file: &str, original: &str, mutated: &str) -> String {
    let old: Vec<&str> = original.lines().collect();
    let new: Vec<&str> = mutated.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let context = 2;
    let start = prefix.saturating_sub(context);
    let old_end = (old.len() - suffix + context).min(old.len());
    let new_end = (new.len() - suffix + context).min(new.len());
    let mut out = format!(
        "--- a/{file}\n+++ b/{file}\n@@ -{},{} +{},{} @@\n",
        start + 1,
        old_end - start,
        start + 1,
        new_end - start
    );
    for line in &old[start..prefix] {
        out.push_str(&format!(" {line}\n"));
    }
    for line in &old[prefix..old.len() - suffix] {
        out.push_str(&format!("-{line}\n"));
    }
    for line in &new[prefix..new.len() - suffix] {
        out.push_str(&format!("+{line}\n"));
    }
    for line in &old[old.len() - suffix..old_end] {
        out.push_str(&format!(" {line}\n"));
    }
    out
}

/// Byte offsets from proc-macro2's lines (from 1) and columns (in characters, from 0).
struct LineIndex<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(source: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(at, _)| at + 1));
        LineIndex { source, starts }
    }

    fn offset(&self, at: LineColumn) -> usize {
        let start = self.starts[at.line.saturating_sub(1).min(self.starts.len() - 1)];
        let rest = &self.source[start..];
        rest.char_indices()
            .nth(at.column)
            .map_or(self.source.len(), |(i, _)| start + i)
    }

    /// The bytes that a syntax node covers (its span joins its first and last tokens).
    fn range(&self, span: Span) -> Option<(usize, usize)> {
        let (start, end) = (self.offset(span.start()), self.offset(span.end()));
        (start <= end).then_some((start, end))
    }

    fn text(&self, span: Span) -> Option<&'a str> {
        let (start, end) = self.range(span)?;
        Some(&self.source[start..end])
    }

    /// A node's text without spaces or comments, and with what is inside braces left out
    /// (nested blocks are statements of their own).
    fn flat(&self, span: Span) -> String {
        flat(self.text(span).unwrap_or(""))
    }
}

struct Draft {
    line: usize,
    operator: Operator,
    description: String,
    edits: Vec<Edit>,
}

struct Finder<'a> {
    lines: LineIndex<'a>,
    drafts: Vec<Draft>,
}

fn flat(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '{' => {
                if depth == 0 {
                    out.push_str("{}");
                }
                depth += 1;
            }
            '}' => depth = depth.saturating_sub(1),
            c if c.is_whitespace() || depth > 0 => {}
            c => out.push(c),
        }
    }
    out
}

/// Whether `text` calls `name(` as a method or a function (not `other_name(`).
fn calls(text: &str, name: &str) -> bool {
    let pattern = format!("{name}(");
    text.match_indices(&pattern).any(|(at, _)| {
        !text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// What a statement does that an operator deletes, if anything.
fn deletable(text: &str, is_assign: bool) -> Option<(Operator, &'static str)> {
    if calls(text, "wake") || calls(text, "wake_by_ref") {
        return Some((Operator::LostWake, "deleted a wake-up"));
    }
    let stores_waker = text.contains("waker")
        && (is_assign
            || text.contains(".replace(")
            || text.contains(".insert(")
            || text.contains(".push(")
            || text.contains("Some(waker"));
    if stores_waker {
        return Some((Operator::LostWake, "deleted storing a waker"));
    }
    if text.contains(".register(") {
        return Some((Operator::LostWake, "deleted a registration"));
    }
    for name in ["notify_one", "notify_all", "notify_waiters", "unpark"] {
        if text.contains(&format!(".{name}(")) {
            return Some((Operator::SkipNotify, "deleted a notification"));
        }
    }
    for name in ["deregister", "shutdown"] {
        if text.contains(&format!(".{name}(")) {
            return Some((Operator::SkipCleanup, "deleted a clean-up call"));
        }
    }
    None
}

fn is_block_like(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Unsafe(_)
            | Expr::Async(_)
            | Expr::Closure(_)
    )
}

const SLEEP_100MS: &str = "std::thread::sleep(std::time::Duration::from_millis(100));";

impl Finder<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.lines.starts.partition_point(|&s| s <= offset)
    }

    fn push(&mut self, operator: Operator, description: &str, edits: Vec<Edit>) {
        let line = self.line_of(edits[0].start);
        self.drafts.push(Draft {
            line,
            operator,
            description: description.to_string(),
            edits,
        });
    }

    /// An insertion right after a block's opening brace.
    fn insert_at_start(&mut self, block: &Block, operator: Operator, text: &str, what: &str) {
        let at = self.lines.offset(block.brace_token.span.open().end());
        self.push(
            operator,
            what,
            vec![Edit {
                start: at,
                end: at,
                text: format!(" {text}"),
            }],
        );
    }

    fn function(&mut self, sig: &Signature, block: &Block) {
        if sig.asyncness.is_some() {
            self.insert_at_start(
                block,
                Operator::BlockAsync,
                SLEEP_100MS,
                &format!("blocked 100 ms at the start of async fn {}", sig.ident),
            );
        }
        if sig.ident.to_string().starts_with("poll") {
            let context = sig.inputs.iter().find_map(|input| match input {
                FnArg::Typed(typed)
                    if self
                        .lines
                        .text(typed.ty.span())
                        .is_some_and(|t| t.contains("Context")) =>
                {
                    match &*typed.pat {
                        Pat::Ident(ident) => Some(ident.ident.to_string()),
                        _ => None,
                    }
                }
                _ => None,
            });
            if let Some(cx) = context.filter(|cx| cx != "_") {
                self.insert_at_start(
                    block,
                    Operator::BusyWake,
                    &format!("{cx}.waker().wake_by_ref();"),
                    &format!("woke the task at the start of {}", sig.ident),
                );
            }
        }
    }

    fn delete(&mut self, span: Span, replacement: &str, operator: Operator, what: &str) {
        if let Some((start, end)) = self.lines.range(span) {
            self.push(
                operator,
                what,
                vec![Edit {
                    start,
                    end,
                    text: replacement.to_string(),
                }],
            );
        }
    }
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item_fn(&mut self, node: &'ast syn::ItemFn) {
        self.function(&node.sig, &node.block);
        visit::visit_item_fn(self, node);
    }

    fn visit_impl_item_fn(&mut self, node: &'ast syn::ImplItemFn) {
        self.function(&node.sig, &node.block);
        visit::visit_impl_item_fn(self, node);
    }

    fn visit_trait_item_fn(&mut self, node: &'ast syn::TraitItemFn) {
        if let Some(block) = &node.default {
            self.function(&node.sig, block);
        }
        visit::visit_trait_item_fn(self, node);
    }

    fn visit_expr_async(&mut self, node: &'ast syn::ExprAsync) {
        self.insert_at_start(
            &node.block,
            Operator::BlockAsync,
            SLEEP_100MS,
            "blocked 100 ms at the start of an async block",
        );
        visit::visit_expr_async(self, node);
    }

    fn visit_expr_await(&mut self, node: &'ast ExprAwait) {
        if let Expr::Call(call) = &*node.base {
            let is_sleep = matches!(&*call.func, Expr::Path(p)
                if p.path.segments.last().is_some_and(|s| s.ident == "sleep"));
            if is_sleep && call.args.len() == 1 {
                let argument = self.lines.text(call.args.span());
                let whole = self.lines.range(node.span());
                if let (Some(argument), Some((start, end))) = (argument, whole) {
                    let text = format!("std::thread::sleep({argument})");
                    self.push(
                        Operator::BlockingTimer,
                        "an awaited sleep became std::thread::sleep",
                        vec![Edit { start, end, text }],
                    );
                }
            }
        }
        visit::visit_expr_await(self, node);
    }

    fn visit_block(&mut self, node: &'ast Block) {
        for stmt in &node.stmts {
            let expr = match stmt {
                Stmt::Expr(expr, _) if !is_block_like(expr) => Some(expr),
                // `let _ = registry.deregister(..);` names nothing: it can go like a statement.
                Stmt::Local(local) if matches!(local.pat, Pat::Wild(_)) => None,
                _ => continue,
            };
            let text = self.lines.flat(stmt.span());
            let is_assign = matches!(expr, Some(Expr::Assign(_)));
            if let Some((operator, what)) = deletable(&text, is_assign) {
                self.delete(stmt.span(), "", operator, what);
            }
            // A job handed to a pool at the call site: a thread of its own instead.
            if let Some(Expr::MethodCall(call)) = expr {
                if call.method == "execute" && call.args.len() == 1 {
                    if let Some(job) = self.lines.text(call.args.span()) {
                        let text = format!("std::thread::spawn({job});");
                        self.delete(
                            stmt.span(),
                            &text,
                            Operator::ThreadPerJob,
                            "ran the job on a new thread instead of the pool",
                        );
                    }
                }
            }
        }
        visit::visit_block(self, node);
    }

    fn visit_arm(&mut self, node: &'ast Arm) {
        if !is_block_like(&node.body) {
            let text = self.lines.flat(node.body.span());
            let is_assign = matches!(&*node.body, Expr::Assign(_));
            if let Some((operator, what)) = deletable(&text, is_assign) {
                self.delete(node.body.span(), "{}", operator, what);
            }
        }
        visit::visit_arm(self, node);
    }

    fn visit_expr_method_call(&mut self, node: &'ast ExprMethodCall) {
        let queues = ["send", "push_back", "push"];
        if queues.iter().any(|q| node.method == q) && node.args.len() == 1 {
            let job = self.lines.text(node.args.span()).unwrap_or("");
            let is_job = job.starts_with("move |")
                || job.starts_with('|')
                || job.starts_with("Box::new(")
                || ["job", "f", "work"].contains(&job);
            let whole = self.lines.range(node.span());
            if let (true, Some((start, end))) = (is_job, whole) {
                let text = if node.method == "send" {
                    format!("Ok::<(), String>(drop(std::thread::spawn({job})))")
                } else {
                    format!("drop(std::thread::spawn({job}))")
                };
                self.push(
                    Operator::ThreadPerJob,
                    "ran the queued job on a new thread",
                    vec![Edit { start, end, text }],
                );
            }
        }
        visit::visit_expr_method_call(self, node);
    }

    fn visit_expr_binary(&mut self, node: &'ast ExprBinary) {
        use syn::BinOp;
        let flipped = match node.op {
            BinOp::Lt(_) => Some("<="),
            BinOp::Le(_) => Some("<"),
            BinOp::Gt(_) => Some(">="),
            BinOp::Ge(_) => Some(">"),
            _ => None,
        };
        if let Some(flipped) = flipped {
            let operands = format!(
                "{} {}",
                self.lines.flat(node.left.span()),
                self.lines.flat(node.right.span())
            )
            .to_lowercase();
            let about_time = [
                "deadline", "now", "elapsed", "instant", "due", "expire", "at",
            ]
            .iter()
            .any(|w| {
                operands
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|word| word == *w || word.contains(w) && w.len() > 3)
            });
            if let (true, Some((start, end))) = (about_time, self.lines.range(node.op.span())) {
                self.push(
                    Operator::DeadlineFlip,
                    &format!("flipped a time comparison to {flipped}"),
                    vec![Edit {
                        start,
                        end,
                        text: flipped.to_string(),
                    }],
                );
            }
        }
        visit::visit_expr_binary(self, node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutated(source: &str, operator: Operator) -> Vec<String> {
        mutants_of("src/x.rs", source)
            .into_iter()
            .filter(|m| m.operator == operator)
            .map(|m| m.apply(source))
            .collect()
    }

    const POLL: &str = "impl Future for F {
    fn poll(self: Pin<&mut Self>, ctx: &mut Context<'_>) -> Poll<()> {
        if self.done { return Poll::Ready(()); }
        ctx.waker().wake_by_ref();
        match &state.waker {
            Some(w) if w.will_wake(ctx.waker()) => {}
            _ => state.waker = Some(ctx.waker().clone()),
        }
        Poll::Pending
    }
}
";

    #[test]
    fn busy_wake_wakes_with_the_context_s_own_name() {
        let found = mutated(POLL, Operator::BusyWake);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains(
            "-> Poll<()> { ctx.waker().wake_by_ref();\n        if self.done { return Poll::Ready(()); }"
        ));
    }

    #[test]
    fn lost_wake_deletes_one_wake_or_stored_waker_at_a_time() {
        let found = mutated(POLL, Operator::LostWake);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].contains("\n        \n        match"),
            "{}",
            found[0]
        );
        assert!(found[0].contains("state.waker = Some"));
        assert!(found[1].contains("_ => {},"), "{}", found[1]);
        assert!(found[1].contains("ctx.waker().wake_by_ref();"));
    }

    #[test]
    fn ids_are_file_line_operator() {
        let ids: Vec<String> = mutants_of("src/x.rs", POLL)
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(
            ids,
            [
                "src/x.rs:2:busy-wake",
                "src/x.rs:4:lost-wake",
                "src/x.rs:7:lost-wake"
            ]
        );
    }

    #[test]
    fn blocking_operators_block_async_code_and_awaited_timers() {
        let source = "async fn handle(d: Duration) -> u8 {
    let x = async { 1 }.await;
    tokio::time::sleep(d * 2).await;
    x
}
";
        let found = mutated(source, Operator::BlockAsync);
        assert_eq!(found.len(), 2);
        assert!(found[0].starts_with(
            "async fn handle(d: Duration) -> u8 { std::thread::sleep(std::time::Duration::from_millis(100));\n"
        ));
        assert!(found[1].contains(
            "async { std::thread::sleep(std::time::Duration::from_millis(100)); 1 }.await"
        ));
        let found = mutated(source, Operator::BlockingTimer);
        assert_eq!(
            found,
            [source.replace(
                "tokio::time::sleep(d * 2).await",
                "std::thread::sleep(d * 2)"
            )]
        );
    }

    #[test]
    fn thread_per_job_replaces_the_queue_by_a_thread() {
        let source = "fn serve(pool: &Pool) {
    pool.execute(move || handle(s));
}
fn execute(&self, job: Job) {
    self.queue.lock().unwrap().push_back(job);
    self.tx.send(Box::new(job)).unwrap();
}
";
        let found = mutated(source, Operator::ThreadPerJob);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].contains("    std::thread::spawn(move || handle(s));\n"));
        assert!(
            found[1].contains("unwrap().drop(std::thread::spawn(job));")
                || found[1].contains("drop(std::thread::spawn(job))")
        );
        assert!(
            found[2].contains("Ok::<(), String>(drop(std::thread::spawn(Box::new(job)))).unwrap()")
        );
    }

    #[test]
    fn generic_operators_flip_deadlines_and_drop_notifications() {
        let source = "fn f() {
    if Instant::now() >= deadline { cv.notify_one(); }
    let _ = registry.deregister(&mut s);
    if a < b { t.unpark(); }
}
";
        let flips = mutated(source, Operator::DeadlineFlip);
        assert_eq!(flips, [source.replace(">= deadline", "> deadline")]);
        let notify = mutated(source, Operator::SkipNotify);
        assert_eq!(notify.len(), 2);
        assert!(notify[0].contains("deadline {  }"));
        let cleanup = mutated(source, Operator::SkipCleanup);
        assert_eq!(
            cleanup,
            [source.replace("let _ = registry.deregister(&mut s);", "")]
        );
    }

    #[test]
    fn diffs_show_the_changed_lines_with_context() {
        let diff = diff("src/x.rs", "a\nb\nc\nd\ne\nf\n", "a\nb\nc\nD\ne\nf\n");
        assert_eq!(
            diff,
            "--- a/src/x.rs\n+++ b/src/x.rs\n@@ -2,5 +2,5 @@\n b\n c\n-d\n+D\n e\n f\n"
        );
    }
}
