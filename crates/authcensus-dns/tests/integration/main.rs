//! Integration tests of authcensus-dns against the in-process test server
//! (`authcensus_dns::testserver`, enabled for tests by the crate's
//! dev-dependency on itself with feature `testserver`).

// Helpers outside `#[test]` functions may unwrap too: a panic in a test is a
// failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod basic;
mod cname;
mod gso;
mod lanes;
mod limits;
mod perf;
mod realzones;
mod robust;
mod window;
