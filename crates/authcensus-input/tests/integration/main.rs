//! Integration tests of the input layer (one test binary for the crate).
//!
//! Fixtures: real data from `../shared/data` (never copied into the repo),
//! located with `authcensus_testsupport::shared_data`:
//!
//! | fixture | tests |
//! |---|---|
//! | `zones/gov.zone` | `real_data::gov_zone_*`, `shard_dedup::*` |
//! | `zones/root-2018031200.zone` | `real_data::root_zone_yields_the_tlds` |
//! | `domains/dotgov/current-full.csv` | `real_data::dotgov_csv`, `lists::us_gov_list_matches_cisa_csv` |
//! | `domains/majestic/majestic_million_top15000.csv` | `real_data::majestic_with_ranks` |
//! | `psl/tests.txt`, `psl/test_psl.txt`, `psl/public_suffix_list.dat` | `psl_suite::*` |
//!
//! Hostile inputs are generated inside the tests (`hostile`).

// Helpers outside `#[test]` functions panic on failure too: in a test that is
// a failed assertion (clippy.toml only covers `#[test]` bodies).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod hostile;
mod lists;
mod psl_suite;
mod real_data;
mod shard_dedup;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use authcensus_input::{
    DomainStream, InputDomain, InputError, InputPath, InputSpec, InputStats, PslSections,
    Rejection, StreamOptions, SuffixList,
};

/// The embedded PSL, parsed once.
pub fn psl() -> Arc<SuffixList> {
    static PSL: OnceLock<Arc<SuffixList>> = OnceLock::new();
    Arc::clone(PSL.get_or_init(|| Arc::new(SuffixList::embedded(PslSections::All).unwrap())))
}

/// A spec for a file path.
pub fn spec(path: &Path) -> InputSpec {
    InputSpec::new(InputPath::File(path.to_path_buf()))
}

/// Everything one run produced.
pub struct Run {
    /// Domains yielded, in order.
    pub domains: Vec<InputDomain>,
    /// Rejections, in order.
    pub rejections: Vec<Rejection>,
    /// Final counts.
    pub stats: InputStats,
    /// The error that ended the stream, if any.
    pub error: Option<InputError>,
}

/// Runs the stream to its end (or first error).
pub fn run(inputs: Vec<InputSpec>, options: StreamOptions) -> Run {
    let mut stream = DomainStream::new(inputs, options, psl(), Vec::new());
    let mut domains = Vec::new();
    let mut error = None;
    for item in stream.by_ref() {
        match item {
            Ok(d) => domains.push(d),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(stream.next().is_none(), "stream must end after an error");
    let (stats, rejections) = stream.into_parts();
    Run {
        domains,
        rejections,
        stats,
        error,
    }
}

/// Runs and requires success.
pub fn run_ok(inputs: Vec<InputSpec>, options: StreamOptions) -> Run {
    let r = run(inputs, options);
    if let Some(e) = &r.error {
        panic!("unexpected error: {e}");
    }
    r
}

/// Every physical line has one outcome.
pub fn assert_accounting(stats: &InputStats) {
    for s in &stats.sources {
        assert_eq!(
            s.lines,
            s.skipped_total() + s.rejected_total() + s.candidates,
            "line accounting for {}",
            s.name
        );
        assert_eq!(
            s.candidates,
            s.emitted + s.duplicates + s.other_shard,
            "candidate accounting for {}",
            s.name
        );
    }
}
