//! The first, in-memory report over `Vec<SnapshotRow>` (kept for callers
//! that already hold rows, such as tests of other crates). The commands use
//! the DataFusion engine in [`crate::summary`], [`crate::diff`] and
//! [`crate::trend`].

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use authcensus_store::SnapshotRow;

/// Counts of one snapshot. Shares are computed against `resolving` (rows with
/// `domain_status = ok`), the denominator stated in every rendered line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Rows.
    pub domains: u64,
    /// Rows by `domain_status`.
    pub by_status: BTreeMap<String, u64>,
    /// `ok` rows: the denominator of the shares below.
    pub resolving: u64,
    /// `ok` rows by `spf_status`.
    pub spf_status: BTreeMap<String, u64>,
    /// `ok` rows with a valid SPF record, by `spf_all`.
    pub spf_all: BTreeMap<String, u64>,
    /// `ok` rows whose SPF tree exceeds 10 DNS lookups.
    pub spf_over_lookup_limit: u64,
    /// `ok` rows by `dmarc_status`.
    pub dmarc_status: BTreeMap<String, u64>,
    /// `ok` rows with a valid DMARC record, by effective policy.
    pub dmarc_policy: BTreeMap<String, u64>,
    /// Of those, records with pct < 100.
    pub dmarc_pct_below_100: u64,
    /// `ok` rows with a valid DMARC record found at the organisational domain.
    pub dmarc_organizational: u64,
    /// `ok` rows with at least one rua URI.
    pub dmarc_rua: u64,
    /// `ok` rows with a null MX.
    pub mx_null: u64,
    /// `ok` rows by mailbox provider (`unknown` when none identified, `none` without MX).
    pub mx_provider: BTreeMap<String, u64>,
    /// `ok` rows by `mta_sts_status`.
    pub mta_sts_status: BTreeMap<String, u64>,
    /// `ok` rows with a valid MTA-STS policy, by mode.
    pub mta_sts_mode: BTreeMap<String, u64>,
    /// `ok` rows by `tlsrpt_status`.
    pub tlsrpt_status: BTreeMap<String, u64>,
    /// `ok` rows by `bimi_status`.
    pub bimi_status: BTreeMap<String, u64>,
}

fn bump(m: &mut BTreeMap<String, u64>, k: &str) {
    *m.entry(k.to_string()).or_default() += 1;
}

/// Summarises one snapshot's rows.
pub fn summarize(rows: &[SnapshotRow]) -> Summary {
    let mut s = Summary::default();
    for r in rows {
        s.domains += 1;
        bump(&mut s.by_status, &r.domain_status);
        if r.domain_status != "ok" {
            continue;
        }
        s.resolving += 1;
        bump(&mut s.spf_status, &r.spf_status);
        if r.spf_status == "valid" {
            bump(&mut s.spf_all, r.spf_all.as_deref().unwrap_or("(no all)"));
        }
        if r.spf_dns_lookups.is_some_and(|n| n > 10) {
            s.spf_over_lookup_limit += 1;
        }
        bump(&mut s.dmarc_status, &r.dmarc_status);
        if r.dmarc_status == "valid" {
            bump(
                &mut s.dmarc_policy,
                r.dmarc_effective_policy.as_deref().unwrap_or("(none)"),
            );
            if r.dmarc_pct.is_some_and(|p| p < 100) {
                s.dmarc_pct_below_100 += 1;
            }
            if r.dmarc_source.as_deref() == Some("organizational") {
                s.dmarc_organizational += 1;
            }
        }
        if !r.dmarc_rua.is_empty() {
            s.dmarc_rua += 1;
        }
        if r.mx_null {
            s.mx_null += 1;
        }
        let provider = match (&r.mx_provider, r.mx_exchanges.is_empty()) {
            (Some(p), _) => p.as_str(),
            (None, true) => "none",
            (None, false) => "unknown",
        };
        bump(&mut s.mx_provider, provider);
        bump(&mut s.mta_sts_status, &r.mta_sts_status);
        if r.mta_sts_status == "valid"
            && let Some(m) = &r.mta_sts_mode
        {
            bump(&mut s.mta_sts_mode, m);
        }
        bump(&mut s.tlsrpt_status, &r.tlsrpt_status);
        bump(&mut s.bimi_status, &r.bimi_status);
    }
    s
}

fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / d as f64)
    }
}

fn section(out: &mut String, title: &str, m: &BTreeMap<String, u64>, d: u64) {
    let _ = writeln!(out, "  {title}");
    let mut items: Vec<_> = m.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (k, v) in items {
        let _ = writeln!(out, "    {k:<28} {v:>9}  {:>6}", pct(*v, d));
    }
}

/// Renders a summary as a plain-text table.
pub fn render_summary(title: &str, s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{title}: {} domains", s.domains);
    section(
        &mut out,
        "domain_status (of all domains)",
        &s.by_status,
        s.domains,
    );
    let d = s.resolving;
    let _ = writeln!(
        out,
        "  shares below are of the {d} resolving domains (domain_status = ok)"
    );
    section(&mut out, "SPF status", &s.spf_status, d);
    section(&mut out, "SPF `all` of valid records", &s.spf_all, d);
    let _ = writeln!(
        out,
        "    {:<28} {:>9}  {:>6}",
        "over 10 DNS lookups",
        s.spf_over_lookup_limit,
        pct(s.spf_over_lookup_limit, d)
    );
    section(&mut out, "DMARC status", &s.dmarc_status, d);
    section(
        &mut out,
        "DMARC effective policy (valid records)",
        &s.dmarc_policy,
        d,
    );
    for (label, n) in [
        ("pct < 100", s.dmarc_pct_below_100),
        ("found at organizational domain", s.dmarc_organizational),
        ("rua present", s.dmarc_rua),
        ("null MX", s.mx_null),
    ] {
        let _ = writeln!(out, "    {label:<28} {n:>9}  {:>6}", pct(n, d));
    }
    section(&mut out, "mailbox provider (primary MX)", &s.mx_provider, d);
    section(&mut out, "MTA-STS status", &s.mta_sts_status, d);
    section(
        &mut out,
        "MTA-STS mode (valid policies)",
        &s.mta_sts_mode,
        d,
    );
    section(&mut out, "TLS-RPT status", &s.tlsrpt_status, d);
    section(&mut out, "BIMI status", &s.bimi_status, d);
    out
}

/// Transitions between two snapshots.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diff {
    /// Domains in both.
    pub common: u64,
    /// Domains only in the new snapshot.
    pub appeared: Vec<String>,
    /// Domains only in the old snapshot.
    pub disappeared: Vec<String>,
    /// (old, new) DMARC effective policy → count, over common domains
    /// (`(none)` when no valid record).
    pub dmarc_policy: BTreeMap<(String, String), u64>,
    /// Common domains whose effective policy changed, with (old, new).
    pub dmarc_changed: Vec<(String, String, String)>,
}

fn policy_label(r: &SnapshotRow) -> String {
    if r.dmarc_status == "valid" {
        r.dmarc_effective_policy
            .clone()
            .unwrap_or_else(|| "(none)".into())
    } else {
        format!("({})", r.dmarc_status)
    }
}

/// Policy strength for adoption/regression: none < quarantine < reject.
fn strength(label: &str) -> i32 {
    match label {
        "reject" => 3,
        "quarantine" => 2,
        "none" => 1,
        _ => 0,
    }
}

/// Diffs two snapshots' rows.
pub fn diff(old: &[SnapshotRow], new: &[SnapshotRow]) -> Diff {
    let old_by: HashMap<&str, &SnapshotRow> = old.iter().map(|r| (r.domain.as_str(), r)).collect();
    let new_by: HashMap<&str, &SnapshotRow> = new.iter().map(|r| (r.domain.as_str(), r)).collect();
    let mut d = Diff::default();
    for r in new {
        match old_by.get(r.domain.as_str()) {
            None => d.appeared.push(r.domain.clone()),
            Some(o) => {
                d.common += 1;
                let (a, b) = (policy_label(o), policy_label(r));
                if a != b {
                    d.dmarc_changed
                        .push((r.domain.clone(), a.clone(), b.clone()));
                }
                *d.dmarc_policy.entry((a, b)).or_default() += 1;
            }
        }
    }
    for r in old {
        if !new_by.contains_key(r.domain.as_str()) {
            d.disappeared.push(r.domain.clone());
        }
    }
    d.appeared.sort();
    d.disappeared.sort();
    d.dmarc_changed.sort();
    d
}

impl Diff {
    /// Common domains whose policy got stronger.
    pub fn strengthened(&self) -> u64 {
        self.dmarc_changed
            .iter()
            .filter(|(_, a, b)| strength(b) > strength(a))
            .count() as u64
    }
    /// Common domains whose policy got weaker (or lost their record).
    pub fn weakened(&self) -> u64 {
        self.dmarc_changed
            .iter()
            .filter(|(_, a, b)| strength(b) < strength(a))
            .count() as u64
    }
}

/// Renders a diff as text: counts, the DMARC transition matrix, and up to
/// `list` changed domains.
pub fn render_diff(old_name: &str, new_name: &str, d: &Diff, list: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "diff {old_name} -> {new_name}: {} domains in both, {} appeared, {} disappeared",
        d.common,
        d.appeared.len(),
        d.disappeared.len()
    );
    let _ = writeln!(
        out,
        "  DMARC effective policy: {} strengthened, {} weakened, {} changed",
        d.strengthened(),
        d.weakened(),
        d.dmarc_changed.len()
    );
    let mut labels: Vec<&String> = d.dmarc_policy.keys().flat_map(|(a, b)| [a, b]).collect();
    labels.sort_by_key(|l| (-strength(l), (*l).clone()));
    labels.dedup();
    let _ = write!(out, "  {:<18}", "old \\ new");
    for l in &labels {
        let _ = write!(out, " {l:>13}");
    }
    let _ = writeln!(out);
    for a in &labels {
        let _ = write!(out, "  {a:<18}");
        for b in &labels {
            let n = d
                .dmarc_policy
                .get(&((*a).clone(), (*b).clone()))
                .copied()
                .unwrap_or(0);
            let _ = write!(out, " {n:>13}");
        }
        let _ = writeln!(out);
    }
    for (domain, a, b) in d.dmarc_changed.iter().take(list) {
        let _ = writeln!(out, "    {domain}: {a} -> {b}");
    }
    if d.dmarc_changed.len() > list {
        let _ = writeln!(out, "    ... {} more", d.dmarc_changed.len() - list);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(domain: &str, status: &str, policy: Option<&str>) -> SnapshotRow {
        SnapshotRow {
            domain: domain.into(),
            domain_status: "ok".into(),
            dmarc_status: status.into(),
            dmarc_effective_policy: policy.map(Into::into),
            spf_status: "none".into(),
            mta_sts_status: "none".into(),
            tlsrpt_status: "none".into(),
            bimi_status: "none".into(),
            ..SnapshotRow::default()
        }
    }

    #[test]
    fn summary_counts_by_hand() {
        let mut rows = vec![
            row("a.example", "valid", Some("reject")),
            row("b.example", "valid", Some("none")),
            row("c.example", "none", None),
        ];
        rows[0].dmarc_pct = Some(50);
        rows.push(SnapshotRow {
            domain: "gone.example".into(),
            domain_status: "nxdomain".into(),
            ..SnapshotRow::default()
        });
        let s = summarize(&rows);
        assert_eq!(s.domains, 4);
        assert_eq!(s.resolving, 3);
        assert_eq!(s.dmarc_status.get("valid"), Some(&2));
        assert_eq!(s.dmarc_policy.get("reject"), Some(&1));
        assert_eq!(s.dmarc_pct_below_100, 1);
        assert_eq!(s.by_status.get("nxdomain"), Some(&1));
        let text = render_summary("t", &s);
        assert!(text.contains("reject"), "{text}");
        assert!(text.contains("33.3%"), "{text}");
    }

    #[test]
    fn diff_transitions_by_hand() {
        let old = vec![
            row("a.example", "valid", Some("none")),
            row("b.example", "valid", Some("reject")),
            row("c.example", "valid", Some("quarantine")),
            row("old.example", "none", None),
        ];
        let new = vec![
            row("a.example", "valid", Some("reject")),
            row("b.example", "valid", Some("none")),
            row("c.example", "valid", Some("quarantine")),
            row("new.example", "none", None),
        ];
        let d = diff(&old, &new);
        assert_eq!(d.common, 3);
        assert_eq!(d.appeared, ["new.example"]);
        assert_eq!(d.disappeared, ["old.example"]);
        assert_eq!(d.strengthened(), 1);
        assert_eq!(d.weakened(), 1);
        assert_eq!(
            d.dmarc_policy
                .get(&("none".to_string(), "reject".to_string())),
            Some(&1)
        );
        assert_eq!(
            d.dmarc_policy
                .get(&("quarantine".to_string(), "quarantine".to_string())),
            Some(&1)
        );
    }
}
