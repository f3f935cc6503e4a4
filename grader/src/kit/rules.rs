//! Source rules: constructs a lab forbids in its editable files (`async` in the lab that
//! writes futures by hand, `std::thread` in the event-loop lab). Files are parsed with `syn`,
//! so a forbidden word in a comment or a string is not a violation, and a real use is found
//! wherever it stands.

use std::collections::BTreeSet;

use proc_macro2::Span;
use serde::{Deserialize, Serialize};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use crate::kit::submission::EditableFile;
// The `[[rules]]` model lives with the lab it belongs to; named here too, as before.
pub use crate::kit::{Construct, Rule};

/// A broken source rule, with the offending line. A report lists them under its lab:
/// `violations` for the lab's own rules, `flags` for what [`flags`] finds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Violation {
    pub file: String,
    pub line: usize,
    pub rule: String,
}

/// A violation together with the rule it breaks.
#[derive(Debug, Clone)]
pub struct Broken<'r> {
    pub rule: &'r Rule,
    pub violation: Violation,
}

/// Checks every file against every rule. A file that does not parse is left to the compiler.
pub fn check<'r>(rules: &'r [Rule], files: &[EditableFile]) -> Vec<Broken<'r>> {
    let mut broken = Vec::new();
    for file in files {
        let Ok(source) = std::str::from_utf8(&file.contents) else {
            continue;
        };
        let Ok(syntax) = syn::parse_file(source) else {
            continue;
        };
        for rule in rules.iter().filter(|r| r.applies_to(&file.path)) {
            let mut finder = Finder {
                rule,
                found: Vec::new(),
            };
            finder.visit_file(&syntax);
            let mut seen = BTreeSet::new();
            for (line, what) in finder.found {
                if seen.insert((line, what.clone())) {
                    broken.push(Broken {
                        rule,
                        violation: Violation {
                            file: file.path.clone(),
                            line,
                            rule: format!("{what}: {}", rule.description),
                        },
                    });
                }
            }
        }
    }
    broken.sort_by(|a, b| {
        (&a.violation.file, a.violation.line).cmp(&(&b.violation.file, b.violation.line))
    });
    broken
}

/// What no lab of the course needs, flagged in editable files for the instructor to read
/// (starting programs, reading the environment or files, raw memory): a determined student
/// could use them to reach outside the test, and the sandbox does not forbid them all.
const FLAGGED_PATHS: &[&str] = &["std::process", "std::env", "std::fs", "std::os", "libc"];

/// Constructs of the flagged kind in `files`, except the paths in `may_use`. They do not
/// change the score.
pub fn flags(files: &[EditableFile], may_use: &[String]) -> Vec<Violation> {
    let advisory = Rule {
        description: "not needed by this lab: flagged for the instructor to read (the score \
                      does not change)"
            .to_string(),
        files: Vec::new(),
        forbid: vec![Construct::Unsafe],
        forbid_paths: FLAGGED_PATHS
            .iter()
            .filter(|path| !may_use.iter().any(|allowed| allowed == *path))
            .map(|path| path.to_string())
            .collect(),
        tests: Vec::new(),
    };
    check(std::slice::from_ref(&advisory), files)
        .into_iter()
        .map(|broken| broken.violation)
        .collect()
}

struct Finder<'r> {
    rule: &'r Rule,
    found: Vec<(usize, String)>,
}

impl Finder<'_> {
    fn construct(&mut self, construct: Construct, span: Span, what: &str) {
        if self.rule.forbid.contains(&construct) {
            self.found.push((span.start().line, what.to_string()));
        }
    }

    fn path(&mut self, segments: Vec<String>, span: Span) {
        let path = segments.join("::");
        for forbidden in &self.rule.forbid_paths {
            let forbidden = forbidden.trim_start_matches("::");
            if path == forbidden || path.starts_with(&format!("{forbidden}::")) {
                self.found.push((span.start().line, format!("`{path}`")));
            }
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.path(full, n.ident.span());
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                full.push(r.ident.to_string());
                self.path(full, r.ident.span());
            }
            syn::UseTree::Glob(g) => self.path(prefix.clone(), g.star_token.span()),
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, item);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        if let Some(token) = &sig.asyncness {
            self.construct(Construct::Async, token.span(), "`async fn`");
        }
        if let syn::Safety::Unsafe(token) = &sig.safety {
            self.construct(Construct::Unsafe, token.span(), "`unsafe fn`");
        }
        visit::visit_signature(self, sig);
    }

    fn visit_expr_async(&mut self, expr: &'ast syn::ExprAsync) {
        self.construct(
            Construct::Async,
            expr.async_token.span(),
            "an `async` block",
        );
        visit::visit_expr_async(self, expr);
    }

    fn visit_expr_closure(&mut self, expr: &'ast syn::ExprClosure) {
        if let Some(token) = &expr.asyncness {
            self.construct(Construct::Async, token.span(), "an `async` closure");
        }
        visit::visit_expr_closure(self, expr);
    }

    fn visit_expr_await(&mut self, expr: &'ast syn::ExprAwait) {
        self.construct(Construct::Await, expr.await_token.span(), "`.await`");
        visit::visit_expr_await(self, expr);
    }

    fn visit_expr_unsafe(&mut self, expr: &'ast syn::ExprUnsafe) {
        self.construct(
            Construct::Unsafe,
            expr.unsafe_token.span(),
            "an `unsafe` block",
        );
        visit::visit_expr_unsafe(self, expr);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some(token) = &item.unsafety {
            self.construct(Construct::Unsafe, token.span(), "an `unsafe impl`");
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        self.path(vec![item.ident.to_string()], item.ident.span());
        visit::visit_item_extern_crate(self, item);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        // A lone name outside a `use` (a variable, a local type, a function) names no crate:
        // a student's `let polling = ..` is not the `polling` crate. `::name` and `name::..`
        // may be one.
        if path.segments.len() > 1 || path.leading_colon.is_some() {
            let segments = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.path(segments, path.span());
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // Macro bodies are token streams; parse the common expression-list form so that
        // `vec![thread::spawn(..)]` or `println!("{}", x.await)` are seen too.
        if let Ok(exprs) = mac.parse_body_with(
            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
        ) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
        }
        visit::visit_macro(self, mac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(forbid: Vec<Construct>, paths: &[&str]) -> Rule {
        Rule {
            description: "test rule".into(),
            files: vec![],
            forbid,
            forbid_paths: paths.iter().map(|p| p.to_string()).collect(),
            tests: vec![],
        }
    }

    fn lines(rule: &Rule, source: &str) -> Vec<usize> {
        let file = EditableFile {
            path: "src/lib.rs".into(),
            contents: source.as_bytes().to_vec(),
        };
        check(std::slice::from_ref(rule), &[file])
            .into_iter()
            .map(|b| b.violation.line)
            .collect()
    }

    #[test]
    fn async_in_comments_and_strings_is_not_a_violation() {
        let no_async = rule(vec![Construct::Async, Construct::Await], &[]);
        let source =
            "// an async fn would be easier\nfn f() -> &'static str { \"async .await\" }\n";
        assert_eq!(lines(&no_async, source), Vec::<usize>::new());
    }

    #[test]
    fn async_fn_blocks_closures_and_await_are_found_on_their_lines() {
        let no_async = rule(vec![Construct::Async, Construct::Await], &[]);
        let source = "fn a() {}\nasync fn b() {}\nfn c() { let _ = async { 1 }; }\nfn d() { let _ = async || 2; }\nasync fn e(x: impl std::future::Future) { x.await; }\n";
        assert_eq!(lines(&no_async, source), vec![2, 3, 4, 5, 5]);
    }

    #[test]
    fn forbidden_paths_are_found_in_uses_expressions_and_macros() {
        let no_threads = rule(vec![], &["std::thread", "tokio"]);
        let source = "use std::{sync::Mutex, thread};\nfn f() {\n    std::thread::sleep(std::time::Duration::ZERO);\n    println!(\"{:?}\", ::tokio::spawn);\n}\n// std::thread in a comment\nuse std::threads_are_fine;\n";
        assert_eq!(lines(&no_threads, source), vec![1, 3, 4]);
    }

    #[test]
    fn a_local_name_like_a_forbidden_crate_is_not_the_crate() {
        let no_polling = rule(vec![], &["polling", "tokio"]);
        let source = "fn f(polling: bool) -> bool {\n    let tokio = polling;\n    tokio\n}\nfn g() { polling::Poller::new(); }\nextern crate tokio;\nuse polling as p;\n";
        assert_eq!(lines(&no_polling, source), vec![5, 6, 7]);
    }

    #[test]
    fn a_file_that_does_not_parse_is_left_to_the_compiler() {
        let no_async = rule(vec![Construct::Async], &[]);
        assert_eq!(lines(&no_async, "async fn broken( {"), Vec::<usize>::new());
    }
}
