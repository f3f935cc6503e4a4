# Short forms of the kit's commands. `just` is a convenience: every recipe is one cargo command
# you can type yourself.

# List the recipes.
default:
    @just --list

# Run the public tests of lab N on your code, with hints (students).
lab N:
    cargo run -q -p grader -- lab {{N}}

# Re-run lab N's public tests on every save of one of its files (Ctrl-C to stop).
watch N:
    cargo run -q -p grader -- lab {{N}} --watch

# The hint of your first failing test of lab N, or of TEST; again for a more specific one.
hint N *TEST:
    cargo run -q -p grader -- hint {{N}} {{TEST}}

# List the labs, their points and your last public score.
list:
    cargo run -q -p grader -- list

# Measure your servers and executor (threads, memory, throughput); ARGS: --solutions, --out DIR.
bench *ARGS:
    cargo run -q -p grader -- bench {{ARGS}}

# Run the kit's own tests (the grader, the support crate, the self-check).
test:
    cargo test

# Grade a submission with public and hidden tests (instructors): just grade path/to/tree
grade *ARGS:
    cargo run -q -p grader -- grade {{ARGS}}

# Write the student release (no solutions, no hidden tests) into DIR.
release DIR:
    cargo run -q -p grader -- release {{DIR}}

# Write a Gradescope autograder for lab N: just gradescope 1 autograder.zip
gradescope N OUT:
    cargo run -q -p grader -- gradescope --lab {{N}} --out {{OUT}}

# Check the kit: solutions score full marks, stubs zero, rubrics match the tests.
selfcheck:
    cargo run -q -p grader -- selfcheck

# Build the course book into book/ (needs mdbook: cargo install mdbook).
docs:
    mdbook build docs --dest-dir ../book
