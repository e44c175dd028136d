//! Comparing a crawl's snapshot with a universe's ground truth.
//!
//! Every truth row must have exactly one crawled row and vice versa. For an
//! `ok` truth row every [`CONTRACT`] column is compared (minus the planted
//! case's `unasserted` columns); for other rows only `domain`,
//! `registrable_domain`, `public_suffix` and `domain_status`. A mismatch
//! names the domain and the column.

use std::collections::{BTreeMap, HashMap};

use authcensus_store::SnapshotRow;

use crate::generate::TestbedManifest;
use crate::generate::truth::CONTRACT;

/// Columns asserted for rows whose truth status is not `ok`.
const IDENTITY: &[&str] = &[
    "domain",
    "registrable_domain",
    "public_suffix",
    "domain_status",
];

/// One disagreement between truth and crawl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The domain.
    pub domain: String,
    /// The column.
    pub column: String,
    /// The truth's value (JSON).
    pub expected: String,
    /// The crawl's value (JSON).
    pub actual: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: expected {} got {}",
            self.domain, self.column, self.expected, self.actual
        )
    }
}

/// The outcome of a comparison.
#[derive(Debug, Default)]
pub struct TruthReport {
    /// Truth rows with exactly one crawled row.
    pub rows_compared: usize,
    /// Cells compared.
    pub cells_compared: usize,
    /// Truth domains with no crawled row.
    pub missing: Vec<String>,
    /// Crawled domains absent from the truth.
    pub extra: Vec<String>,
    /// Domains with more than one crawled row.
    pub duplicated: Vec<String>,
    /// Cell mismatches.
    pub mismatches: Vec<Mismatch>,
}

impl TruthReport {
    /// True when every row and cell agrees.
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty()
            && self.extra.is_empty()
            && self.duplicated.is_empty()
            && self.mismatches.is_empty()
    }

    /// One line of counts: rows and cells compared, mismatches, missing,
    /// extra and duplicated rows.
    pub fn summary(&self) -> String {
        format!(
            "{} rows, {} cells compared; {} mismatches, {} missing, {} extra, {} duplicated",
            self.rows_compared,
            self.cells_compared,
            self.mismatches.len(),
            self.missing.len(),
            self.extra.len(),
            self.duplicated.len()
        )
    }

    /// Mismatches counted by column.
    pub fn by_column(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for x in &self.mismatches {
            *m.entry(x.column.clone()).or_default() += 1;
        }
        m
    }
}

fn as_json(row: &SnapshotRow) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(row) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// Compares `crawled` with `truth` under the manifest's planted-case exceptions.
pub fn compare(
    truth: &[SnapshotRow],
    crawled: &[SnapshotRow],
    manifest: &TestbedManifest,
) -> TruthReport {
    let unasserted: HashMap<&str, &[String]> = manifest
        .cases
        .iter()
        .map(|c| (c.domain.as_str(), c.unasserted.as_slice()))
        .collect();
    let mut by_domain: HashMap<&str, Vec<&SnapshotRow>> = HashMap::new();
    for r in crawled {
        by_domain.entry(r.domain.as_str()).or_default().push(r);
    }
    let mut report = TruthReport::default();
    let truth_domains: std::collections::HashSet<&str> =
        truth.iter().map(|r| r.domain.as_str()).collect();
    for r in crawled {
        if !truth_domains.contains(r.domain.as_str()) {
            report.extra.push(r.domain.clone());
        }
    }
    for t in truth {
        let rows = by_domain.get(t.domain.as_str()).map(Vec::as_slice);
        let c = match rows {
            None | Some([]) => {
                report.missing.push(t.domain.clone());
                continue;
            }
            Some([one]) => *one,
            Some([first, ..]) => {
                report.duplicated.push(t.domain.clone());
                *first
            }
        };
        report.rows_compared += 1;
        let columns: &[&str] = if t.domain_status == "ok" {
            CONTRACT
        } else {
            IDENTITY
        };
        let skip = unasserted.get(t.domain.as_str()).copied().unwrap_or(&[]);
        let (tj, cj) = (as_json(t), as_json(c));
        for col in columns {
            if skip.iter().any(|s| s == col) {
                continue;
            }
            report.cells_compared += 1;
            let (e, a) = (tj.get(*col), cj.get(*col));
            if e != a {
                report.mismatches.push(Mismatch {
                    domain: t.domain.clone(),
                    column: (*col).to_string(),
                    expected: e.map(ToString::to_string).unwrap_or_default(),
                    actual: a.map(ToString::to_string).unwrap_or_default(),
                });
            }
        }
    }
    report
}
