//! Integration tests of authcensus-crawl: one test binary, one module per area.

// Helpers outside #[test] functions (servers, universes) may unwrap too: a
// panic there is a failed test, not a crashed crawl.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
mod domain;
mod fetch;
mod hostile;
mod pipeline;
mod support;
