//! `authcensus trend ROOT`: the report's metrics for every snapshot under a
//! root, in snapshot-id order (ids are dates in practice, so this is time).

use std::path::Path;

use serde::Serialize;

use crate::ReportError;
use crate::options::ReportOptions;
use crate::source::{list_snapshots, register, session};
use crate::summary::{GroupFigures, TABLE, figures};

/// The figures of one snapshot (and group).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendPoint {
    /// Snapshot id.
    pub snapshot: String,
    /// The figures; `group` is null for the whole selection.
    #[serde(flatten)]
    pub figures: GroupFigures,
}

/// A trend (the `trend` JSON document, see the README).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendReport {
    /// Always `authcensus.trend/1`.
    pub format: &'static str,
    /// Snapshot ids, in order.
    pub snapshots: Vec<String>,
    /// `all`, `resolving` or `with-mx`.
    pub denominator: String,
    /// Grouping dimension, if any.
    pub by: Option<String>,
    /// Filters as `KEY=VALUE`.
    pub filters: Vec<String>,
    /// One point per snapshot for the whole selection (`group` null) and,
    /// with `by`, one per snapshot and group; by snapshot, then group.
    pub points: Vec<TrendPoint>,
}

impl TrendReport {
    /// The points of one group (`None`: the whole selection), in snapshot order.
    pub fn series(&self, group: Option<&str>) -> Vec<&TrendPoint> {
        self.points
            .iter()
            .filter(|p| p.figures.group.as_deref() == group)
            .collect()
    }
}

/// Computes the trend of every snapshot under `root`.
///
/// # Errors
/// No snapshot, a refused snapshot, or a failed query.
pub async fn trend(root: &Path, opts: &ReportOptions) -> Result<TrendReport, ReportError> {
    let snapshots = list_snapshots(root)?;
    let mut points = Vec::new();
    for s in &snapshots {
        let ctx = session();
        register(&ctx, TABLE, s).await?;
        let (total, groups) = figures(&ctx, TABLE, opts).await?;
        points.push(TrendPoint {
            snapshot: s.id.clone(),
            figures: total,
        });
        points.extend(groups.into_iter().map(|g| TrendPoint {
            snapshot: s.id.clone(),
            figures: g,
        }));
    }
    Ok(TrendReport {
        format: "authcensus.trend/1",
        snapshots: snapshots.iter().map(|s| s.id.clone()).collect(),
        denominator: opts.denominator.name().to_string(),
        by: opts.by.map(|b| b.name().to_string()),
        filters: opts.filters.iter().map(ToString::to_string).collect(),
        points,
    })
}
