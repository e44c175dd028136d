//! `authcensus diff OLD NEW`: what changed between two snapshots.
//!
//! Both snapshots are registered as tables and joined on `domain` (full
//! outer join) into one view with, per side, a *state label* of three
//! dimensions:
//!
//! - `dmarc`: the effective policy of a valid record (`none`, `quarantine`,
//!   `reject`), else `(<dmarc_status>)`, e.g. `(none)` without a record;
//! - `spf`: the `all` qualifier of a valid record (`-all`, `~all`, `?all`,
//!   `+all`, `(no all)`), else `(<spf_status>)`;
//! - `mta_sts`: the mode of a valid policy, else `(<mta_sts_status>)`.
//!
//! Transition matrices count common domains by (old label, new label).
//! Adoption and regression compare a strength order per dimension (see
//! [`strength`]). Attribution groups changed domains by the new snapshot's
//! DNS hosting provider and mailbox provider.

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use serde::Serialize;

use crate::ReportError;
use crate::diff_tally::Tally;
use crate::options::{Filter, filter_sql};
use crate::source::{Snapshot, Strings, register_as, session};

/// A compared dimension.
#[derive(Debug, Clone, Copy)]
pub struct Dimension {
    /// Stable id.
    pub id: &'static str,
    /// Human label.
    pub label: &'static str,
    /// SQL of the state label of one row.
    pub sql: &'static str,
}

/// The compared dimensions.
pub const DIMENSIONS: &[Dimension] = &[
    Dimension {
        id: "dmarc",
        label: "DMARC effective policy",
        sql: "CASE WHEN dmarc_status = 'valid' THEN coalesce(dmarc_effective_policy, '(unknown)') ELSE '(' || dmarc_status || ')' END",
    },
    Dimension {
        id: "spf",
        label: "SPF all qualifier",
        sql: "CASE WHEN spf_status = 'valid' THEN coalesce(spf_all, '(no all)') ELSE '(' || spf_status || ')' END",
    },
    Dimension {
        id: "mta_sts",
        label: "MTA-STS mode",
        sql: "CASE WHEN mta_sts_status = 'valid' THEN coalesce(mta_sts_mode, '(unknown)') ELSE '(' || mta_sts_status || ')' END",
    },
];

/// Strength of a state label, for adoption (stronger) and regression
/// (weaker): DMARC reject 3 > quarantine 2 > none 1 > no valid record 0;
/// SPF `-all` 4 > `~all` 3 > `?all`/no `all` 2 > `+all` 1 > no valid record 0
/// (RFC 7208 §5.1: `+all` authorises everyone); MTA-STS enforce 3 > testing
/// 2 > none 1 > no valid policy 0.
pub fn strength(dimension: &str, label: &str) -> u8 {
    match (dimension, label) {
        ("dmarc", "reject") => 3,
        ("dmarc", "quarantine") => 2,
        ("dmarc", "none") => 1,
        ("spf", "-all") => 4,
        ("spf", "~all") => 3,
        ("spf", "?all" | "(no all)") => 2,
        ("spf", "+all") => 1,
        ("mta_sts", "enforce") => 3,
        ("mta_sts", "testing") => 2,
        ("mta_sts", "none") => 1,
        _ => 0,
    }
}

/// One cell of a transition matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// Old state label.
    pub from: String,
    /// New state label.
    pub to: String,
    /// Common domains with that transition.
    pub count: u64,
}

/// The transitions of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionDiff {
    /// Dimension id (`dmarc`, `spf`, `mta_sts`).
    pub dimension: String,
    /// Every non-empty cell, by (from, to).
    pub matrix: Vec<Transition>,
    /// Common domains whose label changed.
    pub changed: u64,
    /// Common domains whose label got stronger.
    pub adopted: u64,
    /// Common domains whose label got weaker.
    pub regressed: u64,
    /// `adopted / common` (null when no common domain).
    pub adoption_rate: Option<f64>,
    /// `regressed / common`.
    pub regression_rate: Option<f64>,
}

/// Changed domains of one dimension grouped by a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// `dns_provider` or `mailbox_provider`.
    pub by: String,
    /// Dimension id.
    pub dimension: String,
    /// Provider (`(unknown)` when not identified).
    pub provider: String,
    /// Old label.
    pub from: String,
    /// New label.
    pub to: String,
    /// Domains.
    pub count: u64,
}

/// One changed domain (also a row of the `--changes` export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedDomain {
    /// The domain.
    pub domain: String,
    /// `appeared`, `disappeared` or `changed`.
    pub change: String,
    /// Old and new label per dimension id (null on the side where absent).
    pub labels: BTreeMap<String, (Option<String>, Option<String>)>,
}

/// A diff (the `diff` JSON document, see the README).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    /// Always `authcensus.diff/1`.
    pub format: &'static str,
    /// Old snapshot id.
    pub old: String,
    /// New snapshot id.
    pub new: String,
    /// Filters as `KEY=VALUE` (applied to each side).
    pub filters: Vec<String>,
    /// Domains in both.
    pub common: u64,
    /// Domains only in the new snapshot.
    pub appeared: u64,
    /// Domains only in the old snapshot.
    pub disappeared: u64,
    /// Per dimension.
    pub dimensions: Vec<DimensionDiff>,
    /// Changed common domains by provider, largest groups first (at most
    /// `limit` per provider kind and dimension).
    pub attribution: Vec<Attribution>,
    /// Changed, appeared and disappeared domains, by domain (at most `limit`;
    /// the `--changes` export has all).
    pub changes: Vec<ChangedDomain>,
    /// Total number of entries `changes` would have without the limit.
    pub changes_total: u64,
}

/// Options of a diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Filters applied to both snapshots.
    pub filters: Vec<Filter>,
    /// Maximum number of listed changes and attribution rows per group.
    pub limit: usize,
}

/// The joined view `d`. With `dictionary`, the labels, providers and
/// presence are dictionary-encoded (a handful of distinct values each), so
/// the join moves integer keys instead of 10M copies of each string; the
/// diff's own pass reads those. The `--changes` export keeps plain strings.
fn view_sql(filters: &[Filter], dictionary: bool) -> String {
    let f = filter_sql(filters);
    let enc = |sql: &str| {
        if dictionary {
            format!("arrow_cast({sql}, 'Dictionary(Int32, Utf8)')")
        } else {
            sql.to_string()
        }
    };
    let side = |t: &str| {
        let labels: Vec<String> = DIMENSIONS
            .iter()
            .map(|d| format!("{} AS {}", enc(d.sql), d.id))
            .collect();
        format!(
            "SELECT domain, {}, {} AS dns_provider, {} AS mailbox_provider FROM {t} WHERE {f}",
            labels.join(", "),
            enc("coalesce(dns_provider, '(unknown)')"),
            enc(
                "coalesce(mx_provider, CASE WHEN mx_null OR coalesce(cardinality(mx_exchanges), 0) = 0 THEN '(no mx)' ELSE '(unknown)' END)"
            ),
        )
    };
    let mut cols = vec![
        "coalesce(n.domain, o.domain) AS domain".to_string(),
        format!(
            "{} AS presence",
            enc(
                "CASE WHEN o.domain IS NULL THEN 'appeared' WHEN n.domain IS NULL THEN 'disappeared' ELSE 'common' END"
            )
        ),
    ];
    for d in DIMENSIONS {
        cols.push(format!("o.{0} AS {0}_old, n.{0} AS {0}_new", d.id));
    }
    cols.push("coalesce(n.dns_provider, o.dns_provider) AS dns_provider".into());
    cols.push("coalesce(n.mailbox_provider, o.mailbox_provider) AS mailbox_provider".into());
    format!(
        "SELECT {} FROM ({}) o FULL OUTER JOIN ({}) n ON o.domain = n.domain",
        cols.join(", "),
        side("old_snap"),
        side("new_snap")
    )
}

fn changed_sql() -> String {
    let any: Vec<String> = DIMENSIONS
        .iter()
        .map(|d| format!("({0}_old IS DISTINCT FROM {0}_new)", d.id))
        .collect();
    format!(
        "SELECT domain, CASE WHEN presence = 'common' THEN 'changed' ELSE presence END AS change, {} , dns_provider, mailbox_provider FROM d WHERE presence <> 'common' OR ({})",
        DIMENSIONS
            .iter()
            .map(|d| format!("{0}_old, {0}_new", d.id))
            .collect::<Vec<_>>()
            .join(", "),
        any.join(" OR ")
    )
}

async fn prepare(
    old: &Snapshot,
    new: &Snapshot,
    filters: &[Filter],
    dictionary: bool,
) -> Result<SessionContext, ReportError> {
    let ctx = session();
    register_as(&ctx, "old_snap", old, Strings::Plain).await?;
    register_as(&ctx, "new_snap", new, Strings::Plain).await?;
    let view = ctx.sql(&view_sql(filters, dictionary)).await?;
    ctx.register_table("d", view.into_view())?;
    Ok(ctx)
}

/// Diffs two snapshots.
///
/// # Errors
/// A snapshot cannot be read or a query failed.
pub async fn diff(
    old: &Snapshot,
    new: &Snapshot,
    opts: &DiffOptions,
) -> Result<DiffReport, ReportError> {
    let ctx = prepare(old, new, &opts.filters, true).await?;
    let mut cols = vec!["domain".to_string(), "presence".to_string()];
    for d in DIMENSIONS {
        cols.push(format!("{0}_old, {0}_new", d.id));
    }
    cols.push("dns_provider, mailbox_provider".to_string());
    let df = ctx
        .sql(&format!("SELECT {} FROM d", cols.join(", ")))
        .await?;
    let mut stream = df.execute_stream().await?;
    let mut tally = Tally::new(DIMENSIONS.len(), opts.limit);
    while let Some(batch) = stream.next().await {
        tally.add(&batch?)?;
    }
    let presence = &tally.presence();
    let common = presence.get("common").copied().unwrap_or(0);
    let mut dims = Vec::new();
    let mut attribution = Vec::new();
    for (i, d) in DIMENSIONS.iter().enumerate() {
        let mut dd = DimensionDiff {
            dimension: d.id.to_string(),
            matrix: Vec::new(),
            changed: 0,
            adopted: 0,
            regressed: 0,
            adoption_rate: None,
            regression_rate: None,
        };
        for (from, to, count) in tally.matrix(i) {
            let t = Transition { from, to, count };
            if t.from != t.to {
                dd.changed += t.count;
            }
            let (a, b) = (strength(d.id, &t.from), strength(d.id, &t.to));
            if b > a {
                dd.adopted += t.count;
            } else if b < a {
                dd.regressed += t.count;
            }
            dd.matrix.push(t);
        }
        if common > 0 {
            dd.adoption_rate = Some(dd.adopted as f64 / common as f64);
            dd.regression_rate = Some(dd.regressed as f64 / common as f64);
        }
        dims.push(dd);
        for (kind, by) in ["dns_provider", "mailbox_provider"].into_iter().enumerate() {
            for (provider, from, to, count) in tally.attribution(kind as u8, i) {
                attribution.push(Attribution {
                    by: by.to_string(),
                    dimension: d.id.to_string(),
                    provider,
                    from,
                    to,
                    count,
                });
            }
        }
    }
    let appeared = presence.get("appeared").copied().unwrap_or(0);
    let disappeared = presence.get("disappeared").copied().unwrap_or(0);
    let changes_total = tally.changes_total;
    let changes = tally
        .first_changes()
        .into_iter()
        .map(|c| ChangedDomain {
            domain: c.domain,
            change: c.change,
            labels: DIMENSIONS
                .iter()
                .map(|d| d.id.to_string())
                .zip(c.labels)
                .collect(),
        })
        .collect();
    Ok(DiffReport {
        format: "authcensus.diff/1",
        old: old.id.clone(),
        new: new.id.clone(),
        filters: opts.filters.iter().map(ToString::to_string).collect(),
        common,
        appeared,
        disappeared,
        dimensions: dims,
        attribution,
        changes,
        changes_total,
    })
}

/// Writes every changed, appeared and disappeared domain to `path`: CSV when
/// it ends in `.csv`, Parquet when it ends in `.parquet`. Columns: `domain`,
/// `change`, `<dimension>_old`, `<dimension>_new` per dimension,
/// `dns_provider`, `mailbox_provider`. Streams; nothing is held in memory.
///
/// # Errors
/// Another extension, or a failed query or write.
pub async fn export_changes(
    old: &Snapshot,
    new: &Snapshot,
    filters: &[Filter],
    path: &Path,
) -> Result<u64, ReportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let ctx = prepare(old, new, filters, false).await?;
    let df = ctx
        .sql(&format!(
            "SELECT * FROM ({}) AS c ORDER BY domain",
            changed_sql()
        ))
        .await?;
    let path_str = std::path::absolute(path)
        .map_err(|e| ReportError::Io {
            path: path.to_path_buf(),
            source: e,
        })?
        .to_string_lossy()
        .into_owned();
    let write = DataFrameWriteOptions::new().with_single_file_output(true);
    let batches = match ext.as_deref() {
        Some("csv") => df.write_csv(&path_str, write, None).await?,
        Some("parquet") => df.write_parquet(&path_str, write, None).await?,
        _ => {
            return Err(ReportError::Usage(format!(
                "--changes {}: the file name must end in .csv or .parquet",
                path.display()
            )));
        }
    };
    let mut n = 0;
    for b in batches {
        let v = crate::query::rows_of(&b)?;
        n += v.first().and_then(|r| r.first()).map_or(0, |v| v.count());
    }
    Ok(n)
}

/// Domain list SQL helper for tests and analysis: the state label SQL of a
/// dimension id.
pub fn dimension_sql(id: &str) -> Option<&'static str> {
    DIMENSIONS.iter().find(|d| d.id == id).map(|d| d.sql)
}
