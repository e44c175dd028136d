//! Compliance profiles (`report --profile FILE.toml`): a small declarative
//! set of rules checked for every selected domain, with pass/fail counts per
//! rule and the failing domains listed.
//!
//! ```toml
//! name = "example"
//! [dmarc]
//! min_policy = "reject"                # effective policy at least this
//! require_pct_100 = true               # pct absent or 100 (RFC 7489 §6.3)
//! subdomain_policy_not_weaker = true   # sp absent or at least p
//! required_rua = ["mailto:reports@example.gov"]
//! [spf]
//! require = true                       # a valid SPF record
//! allowed_all = ["-all", "~all"]       # the record ends in one of these
//! within_lookup_limits = true          # ≤ 10 lookups, ≤ 2 void lookups (RFC 7208 §4.6.4)
//! [mta_sts]
//! require_enforce = false
//! [parked]
//! exempt = ["mta_sts_enforce"]         # rule ids a parked domain passes by definition
//! ```
//!
//! A *parked* domain is one with a null MX (RFC 7505) and the SPF record
//! `v=spf1 -all`; parked domains are counted and flagged in the list.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::ReportError;
use crate::options::{ReportOptions, filter_sql};
use crate::query::{lit, rows};
use crate::source::{Snapshot, register, session};
use crate::summary::{PARKED, TABLE};

/// A profile file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile name.
    pub name: String,
    /// What it models.
    #[serde(default)]
    pub description: Option<String>,
    /// DMARC rules.
    #[serde(default)]
    pub dmarc: DmarcRules,
    /// SPF rules.
    #[serde(default)]
    pub spf: SpfRules,
    /// MTA-STS rules.
    #[serde(default)]
    pub mta_sts: MtaStsRules,
    /// Parked-domain handling.
    #[serde(default)]
    pub parked: ParkedRules,
}

/// `[dmarc]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DmarcRules {
    /// `none`, `quarantine` or `reject`.
    #[serde(default)]
    pub min_policy: Option<String>,
    /// pct absent or 100.
    #[serde(default)]
    pub require_pct_100: bool,
    /// sp absent or not weaker than p.
    #[serde(default)]
    pub subdomain_policy_not_weaker: bool,
    /// Addresses that must each be among the rua URIs (case-insensitive;
    /// a `!size` suffix is allowed).
    #[serde(default)]
    pub required_rua: Vec<String>,
}

/// `[spf]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpfRules {
    /// A valid SPF record.
    #[serde(default)]
    pub require: bool,
    /// Allowed `all` qualifiers of the effective record.
    #[serde(default)]
    pub allowed_all: Vec<String>,
    /// Within the RFC 7208 §4.6.4 lookup limits.
    #[serde(default)]
    pub within_lookup_limits: bool,
}

/// `[mta_sts]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MtaStsRules {
    /// A valid policy in mode enforce.
    #[serde(default)]
    pub require_enforce: bool,
}

/// `[parked]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParkedRules {
    /// Rule ids that parked domains pass by definition.
    #[serde(default)]
    pub exempt: Vec<String>,
}

/// One rule compiled to SQL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// What it checks.
    pub description: String,
    /// SQL condition (true = pass).
    #[serde(skip)]
    pub sql: String,
}

const POLICY_STRENGTH: &str =
    "CASE {} WHEN 'reject' THEN 3 WHEN 'quarantine' THEN 2 WHEN 'none' THEN 1 ELSE 0 END";

fn strength_sql(col: &str) -> String {
    POLICY_STRENGTH.replace("{}", col)
}

impl Profile {
    /// Reads and validates a profile file.
    ///
    /// # Errors
    /// Unreadable file, TOML error, unknown key, or an invalid value.
    pub fn load(path: &Path) -> Result<Profile, ReportError> {
        let err = |message: String| ReportError::Profile {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let p: Profile = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        p.rules().map_err(err)?;
        Ok(p)
    }

    /// The rules, in order.
    ///
    /// # Errors
    /// An invalid policy, `all` qualifier, or exempt rule id.
    pub fn rules(&self) -> Result<Vec<Rule>, String> {
        let mut out = Vec::new();
        let mut push = |id: &str, description: String, sql: String| {
            out.push(Rule {
                id: id.to_string(),
                description,
                sql,
            });
        };
        let d = &self.dmarc;
        if let Some(min) = &d.min_policy {
            let allowed: &[&str] = match min.as_str() {
                "none" => &["none", "quarantine", "reject"],
                "quarantine" => &["quarantine", "reject"],
                "reject" => &["reject"],
                other => {
                    return Err(format!(
                        "dmarc.min_policy `{other}`: none, quarantine or reject"
                    ));
                }
            };
            let list: Vec<String> = allowed.iter().map(|p| lit(p)).collect();
            push(
                "dmarc_min_policy",
                format!("valid DMARC record with effective policy at least p={min}"),
                format!(
                    "dmarc_status = 'valid' AND dmarc_effective_policy IN ({})",
                    list.join(", ")
                ),
            );
        }
        if d.require_pct_100 {
            push(
                "dmarc_pct_100",
                "valid DMARC record with pct=100 (or no pct)".into(),
                "dmarc_status = 'valid' AND coalesce(dmarc_pct, 100) = 100".into(),
            );
        }
        if d.subdomain_policy_not_weaker {
            push(
                "dmarc_sp_not_weaker",
                "valid DMARC record whose sp= is absent or not weaker than p=".into(),
                format!(
                    "dmarc_status = 'valid' AND (dmarc_subdomain_policy IS NULL OR {} >= {})",
                    strength_sql("dmarc_subdomain_policy"),
                    strength_sql("dmarc_policy")
                ),
            );
        }
        for (i, addr) in d.required_rua.iter().enumerate() {
            let a = addr.trim().to_ascii_lowercase();
            if a.is_empty() || a.contains(char::is_whitespace) {
                return Err(format!("dmarc.required_rua `{addr}` is not a URI"));
            }
            let hay = "(' ' || lower(array_to_string(dmarc_rua, ' ')) || ' ')";
            push(
                &format!("dmarc_rua_{}", i + 1),
                format!("DMARC rua includes {addr}"),
                format!(
                    "dmarc_status = 'valid' AND (strpos({hay}, {}) > 0 OR strpos({hay}, {}) > 0)",
                    lit(&format!(" {a} ")),
                    lit(&format!(" {a}!"))
                ),
            );
        }
        let s = &self.spf;
        if s.require {
            push(
                "spf_valid",
                "valid SPF record".into(),
                "spf_status = 'valid'".into(),
            );
        }
        if !s.allowed_all.is_empty() {
            for q in &s.allowed_all {
                if !matches!(q.as_str(), "-all" | "~all" | "?all" | "+all") {
                    return Err(format!("spf.allowed_all `{q}`: -all, ~all, ?all or +all"));
                }
            }
            let list: Vec<String> = s.allowed_all.iter().map(|q| lit(q)).collect();
            push(
                "spf_all",
                format!("valid SPF record ending in {}", s.allowed_all.join(" or ")),
                format!("spf_status = 'valid' AND spf_all IN ({})", list.join(", ")),
            );
        }
        if s.within_lookup_limits {
            push(
                "spf_lookup_limits",
                "SPF within 10 DNS lookups and 2 void lookups (RFC 7208 §4.6.4)".into(),
                "coalesce(spf_dns_lookups, 0) <= 10 AND coalesce(spf_void_lookups, 0) <= 2 \
                 AND NOT array_has(spf_errors, 'too_many_lookups')"
                    .into(),
            );
        }
        if self.mta_sts.require_enforce {
            push(
                "mta_sts_enforce",
                "valid MTA-STS policy in mode enforce".into(),
                "mta_sts_status = 'valid' AND mta_sts_mode = 'enforce'".into(),
            );
        }
        for id in &self.parked.exempt {
            if !out.iter().any(|r| &r.id == id) {
                return Err(format!(
                    "parked.exempt `{id}` is not a rule of this profile"
                ));
            }
        }
        for r in &mut out {
            r.sql = if self.parked.exempt.contains(&r.id) {
                format!("coalesce(({PARKED}) OR ({}), false)", r.sql)
            } else {
                format!("coalesce(({}), false)", r.sql)
            };
        }
        Ok(out)
    }
}

/// Pass/fail of one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleResult {
    /// The rule.
    #[serde(flatten)]
    pub rule: Rule,
    /// Domains passing.
    pub pass: u64,
    /// Domains failing.
    pub fail: u64,
}

/// A domain failing at least one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailingDomain {
    /// The domain.
    pub domain: String,
    /// Parked (null MX and `v=spf1 -all`).
    pub parked: bool,
    /// Ids of the rules it fails.
    pub failed: Vec<String>,
}

/// A profile check (the `profile` JSON document, see the README).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileReport {
    /// Always `authcensus.profile/1`.
    pub format: &'static str,
    /// Profile name.
    pub profile: String,
    /// Snapshot id.
    pub snapshot: String,
    /// The denominator the domains were drawn from (`all`, `resolving` or
    /// `with-mx`): the rows checked are the filtered rows in it.
    pub denominator: String,
    /// Filters as `KEY=VALUE`.
    pub filters: Vec<String>,
    /// Domains checked.
    pub domains: u64,
    /// Of those, parked.
    pub parked: u64,
    /// Domains passing every rule.
    pub compliant: u64,
    /// Per rule.
    pub rules: Vec<RuleResult>,
    /// Failing domains by name (at most `limit`).
    pub failing: Vec<FailingDomain>,
    /// Number of failing domains without the limit.
    pub failing_total: u64,
}

/// Checks `profile` against a snapshot.
///
/// # Errors
/// Invalid profile, unreadable snapshot, or a failed query.
pub async fn check(
    snapshot: &Snapshot,
    profile: &Profile,
    opts: &ReportOptions,
    limit: usize,
) -> Result<ProfileReport, ReportError> {
    let rules = profile.rules().map_err(ReportError::Usage)?;
    let ctx = session();
    register(&ctx, TABLE, snapshot).await?;
    let cols: Vec<String> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{} AS r{i}", r.sql))
        .collect();
    let all_pass = if rules.is_empty() {
        "TRUE".to_string()
    } else {
        (0..rules.len())
            .map(|i| format!("r{i}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let view = format!(
        "SELECT domain, coalesce({PARKED}, false) AS parked{} FROM {TABLE} WHERE ({}) AND ({})",
        cols.iter().map(|c| format!(", {c}")).collect::<String>(),
        filter_sql(&opts.filters),
        opts.denominator.sql()
    );
    let df = ctx.sql(&view).await?;
    ctx.register_table("checked", df.into_view())?;
    let sums: String = (0..rules.len())
        .map(|i| format!(", sum(CASE WHEN r{i} THEN 1 ELSE 0 END)"))
        .collect();
    let agg = format!(
        "SELECT count(*), sum(CASE WHEN parked THEN 1 ELSE 0 END), sum(CASE WHEN {all_pass} THEN 1 ELSE 0 END){sums} FROM checked"
    );
    let r = rows(&ctx, &agg)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let get = |i: usize| r.get(i).map_or(0, |v| v.count());
    let domains = get(0);
    let results: Vec<RuleResult> = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| RuleResult {
            rule: rule.clone(),
            pass: get(3 + i),
            fail: domains.saturating_sub(get(3 + i)),
        })
        .collect();
    let rcols: String = (0..rules.len()).map(|i| format!(", r{i}")).collect();
    let list = format!(
        "SELECT domain, CASE WHEN parked THEN 1 ELSE 0 END{rcols} FROM checked WHERE NOT ({all_pass}) ORDER BY domain LIMIT {limit}"
    );
    let mut failing = Vec::new();
    for r in rows(&ctx, &list).await? {
        let failed = rules
            .iter()
            .enumerate()
            .filter(|(i, _)| r.get(2 + i).and_then(|v| v.opt_str()).as_deref() != Some("true"))
            .map(|(_, rule)| rule.id.clone())
            .collect();
        failing.push(FailingDomain {
            domain: r.first().map(|v| v.str_or_null()).unwrap_or_default(),
            parked: r.get(1).is_some_and(|v| v.int() == 1),
            failed,
        });
    }
    let compliant = get(2);
    Ok(ProfileReport {
        format: "authcensus.profile/1",
        profile: profile.name.clone(),
        snapshot: snapshot.id.clone(),
        denominator: opts.denominator.name().to_string(),
        filters: opts.filters.iter().map(ToString::to_string).collect(),
        domains,
        parked: get(1),
        compliant,
        rules: results,
        failing,
        failing_total: domains.saturating_sub(compliant),
    })
}
