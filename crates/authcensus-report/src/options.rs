//! Grouping, filtering and denominators shared by `report`, `diff` and `trend`.

use std::fmt;
use std::str::FromStr;

use crate::ReportError;
use crate::query::lit;

/// A grouping dimension (`--by`) or filter key (`--filter KEY=VALUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// `public_suffix` (e.g. `go.jp`).
    Suffix,
    /// Last label of the domain.
    Tld,
    /// `input_tag`.
    Tag,
    /// Rank band of `input_rank`: `1-1k`, `1k-10k`, `10k-100k`, `100k-1M`,
    /// `>1M`, `unranked` (exclusive bands: `1k-10k` is 1,001..=10,000).
    RankBucket,
    /// `mx_provider`; `(no mx)` without exchanges, `(unknown)` when not identified.
    MailboxProvider,
    /// `dns_provider`; `(unknown)` when not identified.
    DnsProvider,
}

impl GroupBy {
    /// Every dimension, in documentation order.
    pub const ALL: [GroupBy; 6] = [
        GroupBy::Suffix,
        GroupBy::Tld,
        GroupBy::Tag,
        GroupBy::RankBucket,
        GroupBy::MailboxProvider,
        GroupBy::DnsProvider,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Suffix => "suffix",
            GroupBy::Tld => "tld",
            GroupBy::Tag => "tag",
            GroupBy::RankBucket => "rank-bucket",
            GroupBy::MailboxProvider => "mailbox-provider",
            GroupBy::DnsProvider => "dns-provider",
        }
    }

    /// The SQL expression of the group key (never NULL).
    pub fn sql(self) -> &'static str {
        match self {
            GroupBy::Suffix => "coalesce(public_suffix, '(none)')",
            GroupBy::Tld => "reverse(split_part(reverse(domain), '.', 1))",
            GroupBy::Tag => "coalesce(input_tag, '(none)')",
            GroupBy::RankBucket => {
                "CASE WHEN input_rank IS NULL THEN 'unranked' \
                 WHEN input_rank <= 1000 THEN '1-1k' \
                 WHEN input_rank <= 10000 THEN '1k-10k' \
                 WHEN input_rank <= 100000 THEN '10k-100k' \
                 WHEN input_rank <= 1000000 THEN '100k-1M' ELSE '>1M' END"
            }
            GroupBy::MailboxProvider => {
                "coalesce(mx_provider, CASE WHEN mx_null OR coalesce(cardinality(mx_exchanges), 0) = 0 \
                 THEN '(no mx)' ELSE '(unknown)' END)"
            }
            GroupBy::DnsProvider => "coalesce(dns_provider, '(unknown)')",
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for GroupBy {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        GroupBy::ALL
            .into_iter()
            .find(|g| g.name() == s)
            .ok_or_else(|| {
                ReportError::Usage(format!(
                    "unknown dimension `{s}`; one of: {}",
                    GroupBy::ALL.map(GroupBy::name).join(", ")
                ))
            })
    }
}

/// `--filter KEY=VALUE`: rows whose dimension `KEY` equals `VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The dimension.
    pub key: GroupBy,
    /// The value it must have.
    pub value: String,
}

impl FromStr for Filter {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            ReportError::Usage(format!("filter `{s}` is not KEY=VALUE (e.g. suffix=go.jp)"))
        })?;
        Ok(Filter {
            key: k.trim().parse()?,
            value: v.trim().to_string(),
        })
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// The SQL condition of all `filters` (`TRUE` without any).
pub fn filter_sql(filters: &[Filter]) -> String {
    if filters.is_empty() {
        return "TRUE".to_string();
    }
    filters
        .iter()
        .map(|f| format!("({} = {})", f.key.sql(), lit(&f.value)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The base of the shares (`--denominator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Denominator {
    /// Every row (every input domain).
    All,
    /// Rows with `domain_status = 'ok'`.
    #[default]
    Resolving,
    /// Resolving rows with at least one MX exchange that is not a null MX.
    WithMx,
}

impl Denominator {
    /// Every denominator.
    pub const ALL: [Denominator; 3] = [
        Denominator::All,
        Denominator::Resolving,
        Denominator::WithMx,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Denominator::All => "all",
            Denominator::Resolving => "resolving",
            Denominator::WithMx => "with-mx",
        }
    }

    /// The SQL condition selecting the base rows.
    pub fn sql(self) -> &'static str {
        match self {
            Denominator::All => "TRUE",
            Denominator::Resolving => "domain_status = 'ok'",
            Denominator::WithMx => {
                "domain_status = 'ok' AND NOT mx_null AND coalesce(cardinality(mx_exchanges), 0) > 0"
            }
        }
    }

    /// One sentence naming the base.
    pub fn describe(self) -> &'static str {
        match self {
            Denominator::All => "all input domains",
            Denominator::Resolving => "resolving domains (domain_status = ok)",
            Denominator::WithMx => "resolving domains with an MX that is not a null MX",
        }
    }
}

impl FromStr for Denominator {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Denominator::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                ReportError::Usage(format!(
                    "unknown denominator `{s}`; one of: all, resolving, with-mx"
                ))
            })
    }
}

impl fmt::Display for Denominator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Options of a one-snapshot report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Grouping dimension; `None` for the whole snapshot only.
    pub by: Option<GroupBy>,
    /// Row filters, all of which must hold.
    pub filters: Vec<Filter>,
    /// Base of the shares.
    pub denominator: Denominator,
}
