//! Integration tests of the testbed: generation, zone files, DNS and HTTPS.
// Helpers outside #[test] fns: a panic there is a failed assertion too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dns;
mod evolve;
mod generation;
mod https;
mod records;
mod wire;
mod zones;

use std::path::{Path, PathBuf};

use authcensus_store::SnapshotRow;
use authcensus_testbed::{
    GenerateOptions, GenerateSummary, TestbedManifest, generate, read_manifest,
};

/// Domains per test universe.
pub const N: usize = 2000;

/// The real-world data directory, or a path that does not exist (the
/// generator then uses its built-in records).
pub fn realworld() -> PathBuf {
    authcensus_testsupport::shared_data("realworld/mxmap/providers_ch.min.json")
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/nonexistent/realworld"))
}

/// Generates a universe into a fresh temporary directory.
pub fn universe(seed: u64, n: usize) -> (tempfile::TempDir, GenerateSummary) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut opts = GenerateOptions::new(n, seed, dir.path().join("u"));
    opts.realworld = realworld();
    let summary = generate(&opts).expect("generate");
    (dir, summary)
}

/// The manifest of a universe.
pub fn manifest(dir: &Path) -> TestbedManifest {
    read_manifest(dir).expect("manifest")
}

/// The truth rows of a universe.
pub fn truth(dir: &Path) -> Vec<SnapshotRow> {
    authcensus_store::reader::read_rows(&dir.join("truth").join("part-00000.parquet"))
        .expect("truth parquet")
}

/// The truth row of one domain.
pub fn row<'a>(rows: &'a [SnapshotRow], domain: &str) -> &'a SnapshotRow {
    rows.iter()
        .find(|r| r.domain == domain)
        .unwrap_or_else(|| panic!("no truth row for {domain}"))
}

/// The domain planting a case.
pub fn case_domain(m: &TestbedManifest, case: &str) -> String {
    m.cases
        .iter()
        .find(|c| c.case == case)
        .unwrap_or_else(|| panic!("case {case} missing"))
        .domain
        .clone()
}
