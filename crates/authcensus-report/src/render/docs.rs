//! The documents and CSV forms of each command's result.

use super::{Block, Chart, Doc, Table, csv, pct, share_text};
use crate::diff::{DIMENSIONS, DiffReport, strength};
use crate::profile::ProfileReport;
use crate::summary::{GroupFigures, HEADLINE, METRICS, MIXES, Report, label_of};
use crate::trend::TrendReport;

const POLICY_SEGMENTS: [&str; 4] = ["reject", "quarantine", "none", "(no valid record)"];

fn policy_counts(f: &GroupFigures) -> Vec<u64> {
    let valid: u64 = f
        .mixes
        .get("dmarc_policy")
        .map_or(0, |m| m.iter().map(|i| i.count).sum());
    vec![
        f.mix_count("dmarc_policy", "reject"),
        f.mix_count("dmarc_policy", "quarantine"),
        f.mix_count("dmarc_policy", "none"),
        f.base.saturating_sub(valid),
    ]
}

fn detail_blocks(f: &GroupFigures, out: &mut Vec<Block>) {
    for section in ["spf", "dmarc", "mx", "mta_sts", "tlsrpt", "bimi", "dns"] {
        let mut t = Table {
            columns: vec![
                section.replace('_', "-").to_uppercase(),
                "domains".into(),
                "share".into(),
            ],
            rows: Vec::new(),
        };
        for m in METRICS.iter().filter(|m| m.section == section) {
            let c = f.metrics.get(m.id).copied();
            t.rows.push(vec![
                m.label.to_string(),
                c.map_or(0, |c| c.count).to_string(),
                pct(c.and_then(|c| c.share)),
            ]);
        }
        for mix in MIXES.iter().filter(|m| m.section == section) {
            let items = f.mixes.get(mix.id).map_or(&[][..], Vec::as_slice);
            if items.is_empty() {
                continue;
            }
            t.rows.push(vec![
                format!("{}:", mix.label),
                String::new(),
                String::new(),
            ]);
            for i in items {
                t.rows.push(vec![
                    format!("  {}", i.value),
                    i.count.to_string(),
                    pct(i.share),
                ]);
            }
        }
        out.push(Block::Table(t));
    }
}

/// The document of a one-snapshot report.
pub fn report_doc(r: &Report) -> Doc {
    let mut blocks = Vec::new();
    let filters = if r.filters.is_empty() {
        String::new()
    } else {
        format!(", filter {}", r.filters.join(" and "))
    };
    blocks.push(Block::Note(format!(
        "{} rows selected{filters}; shares are of the {} in the denominator `{}` (domain_status shares: of all selected rows).",
        r.total.rows, r.total.base, r.denominator
    )));
    let mut status = Table {
        columns: vec!["domain_status".into(), "domains".into(), "share".into()],
        rows: Vec::new(),
    };
    for i in r
        .total
        .mixes
        .get("domain_status")
        .map_or(&[][..], Vec::as_slice)
    {
        status
            .rows
            .push(vec![i.value.clone(), i.count.to_string(), pct(i.share)]);
    }
    blocks.push(Block::Table(status));
    let mut bars = vec![("all".to_string(), policy_counts(&r.total))];
    if let Some(by) = &r.by {
        blocks.push(Block::Heading(format!("By {by}")));
        let mut t = Table {
            columns: [by.clone(), "rows".into(), "base".into()]
                .into_iter()
                .chain(HEADLINE.iter().map(|h| (*h).to_string()))
                .collect(),
            rows: Vec::new(),
        };
        for g in std::iter::once(&r.total).chain(&r.groups) {
            let mut row = vec![
                g.group.clone().unwrap_or_else(|| "(all)".into()),
                g.rows.to_string(),
                g.base.to_string(),
            ];
            row.extend(HEADLINE.iter().map(|h| pct(g.share(h))));
            t.rows.push(row);
        }
        blocks.push(Block::Table(t));
        bars.extend(
            r.groups
                .iter()
                .take(30)
                .map(|g| (g.group.clone().unwrap_or_default(), policy_counts(g))),
        );
    }
    blocks.push(Block::Chart(Chart::StackedBars {
        title: format!("DMARC effective policy mix (of the {} base)", r.denominator),
        segments: POLICY_SEGMENTS.iter().map(|s| (*s).to_string()).collect(),
        bars,
    }));
    blocks.push(Block::Heading("All selected domains".into()));
    detail_blocks(&r.total, &mut blocks);
    Doc {
        title: format!("authcensus report: snapshot {}", r.snapshot),
        blocks,
    }
}

/// The long-format CSV of a report: `group,metric,value,count,base,share`.
/// `value` is empty for a metric and the counted value for a mix.
pub fn report_csv(r: &Report) -> String {
    let mut rows = Vec::new();
    for g in std::iter::once(&r.total).chain(&r.groups) {
        let group = g.group.clone().unwrap_or_default();
        rows.push(vec![
            group.clone(),
            "rows".into(),
            String::new(),
            g.rows.to_string(),
            g.rows.to_string(),
            String::new(),
        ]);
        for m in METRICS {
            let c = g.metrics.get(m.id).copied();
            rows.push(vec![
                group.clone(),
                m.id.to_string(),
                String::new(),
                c.map_or(0, |c| c.count).to_string(),
                g.base.to_string(),
                share_text(c.and_then(|c| c.share)),
            ]);
        }
        for (id, items) in &g.mixes {
            let base = if id == "domain_status" {
                g.rows
            } else {
                g.base
            };
            for i in items {
                rows.push(vec![
                    group.clone(),
                    id.clone(),
                    i.value.clone(),
                    i.count.to_string(),
                    base.to_string(),
                    share_text(i.share),
                ]);
            }
        }
    }
    csv(
        &["group", "metric", "value", "count", "base", "share"],
        &rows,
    )
}

fn ordered_labels(dim: &str, labels: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = labels.collect();
    v.sort_by(|a, b| strength(dim, b).cmp(&strength(dim, a)).then(a.cmp(b)));
    v.dedup();
    v
}

/// The document of a diff.
pub fn diff_doc(d: &DiffReport) -> Doc {
    let mut blocks = vec![Block::Note(format!(
        "{} domains in both, {} appeared, {} disappeared{}.",
        d.common,
        d.appeared,
        d.disappeared,
        if d.filters.is_empty() {
            String::new()
        } else {
            format!(" (filter {})", d.filters.join(" and "))
        }
    ))];
    let mut summary = Table {
        columns: vec![
            "dimension".into(),
            "changed".into(),
            "adopted".into(),
            "adoption rate".into(),
            "regressed".into(),
            "regression rate".into(),
        ],
        rows: Vec::new(),
    };
    for dd in &d.dimensions {
        summary.rows.push(vec![
            dd.dimension.clone(),
            dd.changed.to_string(),
            dd.adopted.to_string(),
            pct(dd.adoption_rate),
            dd.regressed.to_string(),
            pct(dd.regression_rate),
        ]);
    }
    blocks.push(Block::Table(summary));
    for dd in &d.dimensions {
        let label = DIMENSIONS
            .iter()
            .find(|x| x.id == dd.dimension)
            .map_or(dd.dimension.as_str(), |x| x.label);
        blocks.push(Block::Heading(format!(
            "{label}: old (rows) -> new (columns)"
        )));
        let labels = ordered_labels(
            &dd.dimension,
            dd.matrix
                .iter()
                .flat_map(|t| [t.from.clone(), t.to.clone()]),
        );
        let cells: Vec<Vec<u64>> = labels
            .iter()
            .map(|a| {
                labels
                    .iter()
                    .map(|b| {
                        dd.matrix
                            .iter()
                            .find(|t| &t.from == a && &t.to == b)
                            .map_or(0, |t| t.count)
                    })
                    .collect()
            })
            .collect();
        let mut t = Table {
            columns: std::iter::once("old \\ new".to_string())
                .chain(labels.iter().cloned())
                .collect(),
            rows: Vec::new(),
        };
        for (a, row) in labels.iter().zip(&cells) {
            t.rows.push(
                std::iter::once(a.clone())
                    .chain(row.iter().map(u64::to_string))
                    .collect(),
            );
        }
        blocks.push(Block::Table(t));
        blocks.push(Block::Chart(Chart::Heat {
            title: format!("{label} transitions"),
            rows: labels.clone(),
            cols: labels,
            cells,
        }));
    }
    if !d.attribution.is_empty() {
        blocks.push(Block::Heading("Attribution of changes by provider".into()));
        let mut t = Table {
            columns: ["by", "dimension", "provider", "from", "to", "domains"]
                .map(String::from)
                .to_vec(),
            rows: Vec::new(),
        };
        for a in &d.attribution {
            t.rows.push(vec![
                a.by.clone(),
                a.dimension.clone(),
                a.provider.clone(),
                a.from.clone(),
                a.to.clone(),
                a.count.to_string(),
            ]);
        }
        blocks.push(Block::Table(t));
    }
    blocks.push(Block::Heading(format!(
        "Changed domains ({} of {})",
        d.changes.len(),
        d.changes_total
    )));
    let mut t = Table {
        columns: std::iter::once("domain".to_string())
            .chain(std::iter::once("change".to_string()))
            .chain(DIMENSIONS.iter().map(|x| x.id.to_string()))
            .collect(),
        rows: Vec::new(),
    };
    for c in &d.changes {
        let mut row = vec![c.domain.clone(), c.change.clone()];
        for x in DIMENSIONS {
            let (a, b) = c.labels.get(x.id).cloned().unwrap_or_default();
            row.push(match (a, b) {
                (Some(a), Some(b)) if a == b => a,
                (a, b) => format!(
                    "{} -> {}",
                    a.unwrap_or_else(|| "-".into()),
                    b.unwrap_or_else(|| "-".into())
                ),
            });
        }
        t.rows.push(row);
    }
    blocks.push(Block::Table(t));
    Doc {
        title: format!("authcensus diff: {} -> {}", d.old, d.new),
        blocks,
    }
}

/// The long-format CSV of a diff: `dimension,from,to,count` for every
/// matrix cell, plus `presence,common|appeared|disappeared,,count` rows.
pub fn diff_csv(d: &DiffReport) -> String {
    let mut rows = vec![
        vec![
            "presence".into(),
            "common".into(),
            String::new(),
            d.common.to_string(),
        ],
        vec![
            "presence".into(),
            "appeared".into(),
            String::new(),
            d.appeared.to_string(),
        ],
        vec![
            "presence".into(),
            "disappeared".into(),
            String::new(),
            d.disappeared.to_string(),
        ],
    ];
    for dd in &d.dimensions {
        for t in &dd.matrix {
            rows.push(vec![
                dd.dimension.clone(),
                t.from.clone(),
                t.to.clone(),
                t.count.to_string(),
            ]);
        }
    }
    csv(&["dimension", "from", "to", "count"], &rows)
}

/// The document of a trend.
pub fn trend_doc(t: &TrendReport) -> Doc {
    let mut blocks = vec![Block::Note(format!(
        "{} snapshots; shares of the `{}` denominator{}.",
        t.snapshots.len(),
        t.denominator,
        if t.filters.is_empty() {
            String::new()
        } else {
            format!(", filter {}", t.filters.join(" and "))
        }
    ))];
    let total = t.series(None);
    let mut table = Table {
        columns: ["snapshot", "rows", "base"]
            .map(String::from)
            .into_iter()
            .chain(HEADLINE.iter().map(|h| (*h).to_string()))
            .collect(),
        rows: Vec::new(),
    };
    for p in &total {
        let mut row = vec![
            p.snapshot.clone(),
            p.figures.rows.to_string(),
            p.figures.base.to_string(),
        ];
        row.extend(HEADLINE.iter().map(|h| pct(p.figures.share(h))));
        table.rows.push(row);
    }
    blocks.push(Block::Table(table));
    let lines = [
        "dmarc_valid",
        "dmarc_enforcing",
        "dmarc_enforcing_strict",
        "dmarc_reject",
        "spf_valid",
        "mta_sts_enforce",
    ];
    blocks.push(Block::Chart(Chart::Lines {
        title: "Adoption over time (all selected domains)".into(),
        x: t.snapshots.clone(),
        series: lines
            .iter()
            .map(|m| {
                (
                    label_of(m).to_string(),
                    total.iter().map(|p| p.figures.share(m)).collect(),
                )
            })
            .collect(),
    }));
    if let Some(by) = &t.by {
        let mut groups: Vec<(String, u64)> = Vec::new();
        for p in &t.points {
            if let Some(g) = &p.figures.group {
                match groups.iter_mut().find(|(n, _)| n == g) {
                    Some(e) => e.1 += p.figures.base,
                    None => groups.push((g.clone(), p.figures.base)),
                }
            }
        }
        groups.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for metric in ["dmarc_reject", "dmarc_enforcing"] {
            blocks.push(Block::Heading(format!("{} by {by}", label_of(metric))));
            let mut table = Table {
                columns: std::iter::once(by.clone())
                    .chain(t.snapshots.iter().cloned())
                    .collect(),
                rows: Vec::new(),
            };
            let mut series = Vec::new();
            for (g, _) in &groups {
                let ys: Vec<Option<f64>> = t
                    .snapshots
                    .iter()
                    .map(|s| {
                        t.points
                            .iter()
                            .find(|p| &p.snapshot == s && p.figures.group.as_deref() == Some(g))
                            .and_then(|p| p.figures.share(metric))
                    })
                    .collect();
                table.rows.push(
                    std::iter::once(g.clone())
                        .chain(ys.iter().map(|y| pct(*y)))
                        .collect(),
                );
                if series.len() < 8 {
                    series.push((g.clone(), ys));
                }
            }
            blocks.push(Block::Table(table));
            blocks.push(Block::Chart(Chart::Lines {
                title: format!("{} by {by} (largest 8 groups)", label_of(metric)),
                x: t.snapshots.clone(),
                series,
            }));
        }
    }
    Doc {
        title: "authcensus trend".into(),
        blocks,
    }
}

/// The long-format CSV of a trend: `snapshot,group,metric,count,base,share`.
pub fn trend_csv(t: &TrendReport) -> String {
    let mut rows = Vec::new();
    for p in &t.points {
        for m in METRICS {
            let c = p.figures.metrics.get(m.id).copied();
            rows.push(vec![
                p.snapshot.clone(),
                p.figures.group.clone().unwrap_or_default(),
                m.id.to_string(),
                c.map_or(0, |c| c.count).to_string(),
                p.figures.base.to_string(),
                share_text(c.and_then(|c| c.share)),
            ]);
        }
    }
    csv(
        &["snapshot", "group", "metric", "count", "base", "share"],
        &rows,
    )
}

/// The document of a profile check.
pub fn profile_doc(p: &ProfileReport) -> Doc {
    let mut blocks = vec![Block::Note(format!(
        "{} domains checked (denominator `{}`), {} compliant with every rule, {} failing, {} parked (null MX and v=spf1 -all).",
        p.domains, p.denominator, p.compliant, p.failing_total, p.parked
    ))];
    let mut t = Table {
        columns: ["rule", "description", "pass", "fail", "pass share"]
            .map(String::from)
            .to_vec(),
        rows: Vec::new(),
    };
    for r in &p.rules {
        t.rows.push(vec![
            r.rule.id.clone(),
            r.rule.description.clone(),
            r.pass.to_string(),
            r.fail.to_string(),
            pct((p.domains > 0).then(|| r.pass as f64 / p.domains as f64)),
        ]);
    }
    blocks.push(Block::Table(t));
    blocks.push(Block::Chart(Chart::StackedBars {
        title: "Pass / fail per rule".into(),
        segments: vec!["pass".into(), "fail".into()],
        bars: p
            .rules
            .iter()
            .map(|r| (r.rule.id.clone(), vec![r.pass, r.fail]))
            .collect(),
    }));
    blocks.push(Block::Heading(format!(
        "Failing domains ({} of {})",
        p.failing.len(),
        p.failing_total
    )));
    let mut t = Table {
        columns: ["domain", "parked", "failed rules"]
            .map(String::from)
            .to_vec(),
        rows: Vec::new(),
    };
    for f in &p.failing {
        t.rows.push(vec![
            f.domain.clone(),
            if f.parked { "parked" } else { "" }.into(),
            f.failed.join(" "),
        ]);
    }
    blocks.push(Block::Table(t));
    Doc {
        title: format!(
            "authcensus profile `{}`: snapshot {}",
            p.profile, p.snapshot
        ),
        blocks,
    }
}

/// CSV of a profile check: one row per failing domain
/// (`domain,parked,failed_rules`, rule ids separated by spaces).
pub fn profile_csv(p: &ProfileReport) -> String {
    let rows: Vec<Vec<String>> = p
        .failing
        .iter()
        .map(|f| vec![f.domain.clone(), f.parked.to_string(), f.failed.join(" ")])
        .collect();
    csv(&["domain", "parked", "failed_rules"], &rows)
}
