//! Integration tests of authcensus-crawl: one test binary, one module per area.

mod cache;
mod domain;
mod fetch;
mod pipeline;
mod support;
