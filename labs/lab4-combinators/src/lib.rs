//! Lab 4: combinators (work in progress).
