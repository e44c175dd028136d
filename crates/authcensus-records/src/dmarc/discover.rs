//! DMARC policy discovery over the [`Resolver`] trait, by either standard.
//!
//! * [`discover_rfc9989`]: RFC 9989 §4.10.1 "DMARC Policy Discovery" with the
//!   §4.10 "DNS Tree Walk" (at most 8 queries) and the §4.10.2 selection of
//!   the Organizational Domain (`psd=n` / `psd=y` / fewest labels).
//! * [`discover_rfc7489`]: RFC 7489 §6.6.3: `_dmarc.<domain>`, then
//!   `_dmarc.<organizational domain>`, where the Organizational Domain comes
//!   from a public suffix list (RFC 7489 §3.2) through the [`OrgDomain`]
//!   trait, so this crate stays PSL-free.
//!
//! Both return a [`DmarcDiscovery`]: a status, where the record was found, the
//! parsed record, every query made and the effective policy for the domain's
//! mail. A failed lookup is `temperror`, never "no record".

use super::parse::{DmarcParse, Mode, is_dmarc_record, parse};
use super::types::{Policy, PsdFlag};
use crate::dns::{Lookup, Resolver};
use crate::name::{has_valid_lengths, label_count, normalize};

/// RFC 9989 §4.10: "Author Domains with more than eight labels do not result
/// in more than eight DNS queries." The most queries [`discover_rfc9989`] makes.
pub const MAX_TREE_WALK_QUERIES: usize = 8;
/// The most queries [`discover_rfc7489`] makes (RFC 7489 §6.6.3 steps 1 and 3).
pub const MAX_RFC7489_QUERIES: usize = 2;

/// The Organizational Domain of a name by the public suffix list (RFC 7489
/// §3.2: the registrable domain). Implemented by the input crate over the PSL;
/// closures `Fn(&str) -> Option<String>` implement it too.
pub trait OrgDomain {
    /// The Organizational Domain of `name` (lowercase, no trailing dot), or
    /// `None` when it has none (the name is a public suffix or unknown).
    fn organizational_domain(&self, name: &str) -> Option<String>;
}

impl<F> OrgDomain for F
where
    F: Fn(&str) -> Option<String>,
{
    fn organizational_domain(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Outcome of policy discovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryStatus {
    /// No DMARC record applies (RFC 7489 §6.6.3, RFC 9989 §4.10.1: DMARC is
    /// not applied).
    None,
    /// A usable record applies ([`Verdict::Valid`](super::Verdict::Valid) or
    /// [`Verdict::TreatedAsNone`](super::Verdict::TreatedAsNone)).
    Valid,
    /// A record was found but is unusable, or several records were published
    /// where one was needed (RFC 7489 §6.6.3 step 5).
    Invalid,
    /// A lookup failed, so whether a record applies is unknown.
    TempError,
}

impl DiscoveryStatus {
    /// Stable label (`none`, `valid`, `invalid`, `temperror`).
    pub fn label(self) -> &'static str {
        match self {
            DiscoveryStatus::None => "none",
            DiscoveryStatus::Valid => "valid",
            DiscoveryStatus::Invalid => "invalid",
            DiscoveryStatus::TempError => "temperror",
        }
    }
}

/// Where the applied record was found relative to the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicySource {
    /// At `_dmarc.<domain>` itself.
    Domain,
    /// At the Organizational Domain.
    Organizational,
    /// At the Public Suffix Domain (RFC 9989 §4.10.1, third preference).
    PublicSuffix,
}

impl PolicySource {
    /// Stable label.
    pub fn label(self) -> &'static str {
        match self {
            PolicySource::Domain => "domain",
            PolicySource::Organizational => "organizational",
            PolicySource::PublicSuffix => "public_suffix",
        }
    }
}

/// One TXT query made during discovery.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DmarcQuery {
    /// The name queried (`_dmarc.…`).
    pub name: String,
    /// The [`Lookup::label`] of the answer (`answer`, `nodata`, `nxdomain`, `timeout`, …).
    pub outcome: String,
    /// TXT records that start with `v=DMARC1`.
    pub dmarc_records: usize,
    /// Other TXT records (discarded).
    pub other_records: usize,
}

/// Something discovery noticed besides the applied record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// The domain is not a valid name (length limits of RFC 1035 §2.3.4).
    InvalidDomain,
    /// `_dmarc.<name>` would exceed 253 octets; not queried.
    NameTooLong,
    /// More than one `v=DMARC1` record at a name: RFC 7489 §6.6.3 step 5
    /// stops; RFC 9989 §4.10 step 2 discards them all and walks on.
    MultipleRecords,
    /// A lookup failed (the query's outcome names the failure).
    DnsFailure,
}

impl NoteKind {
    /// Stable label.
    pub fn code(self) -> &'static str {
        match self {
            NoteKind::InvalidDomain => "invalid_domain",
            NoteKind::NameTooLong => "name_too_long",
            NoteKind::MultipleRecords => "multiple_records",
            NoteKind::DnsFailure => "dns_failure",
        }
    }
}

/// A note with the name it concerns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DiscoveryNote {
    /// What was noticed.
    pub kind: NoteKind,
    /// The name concerned (query name, or the domain).
    pub name: String,
}

/// The result of DMARC policy discovery for one domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DmarcDiscovery {
    /// The standard followed.
    pub mode: Mode,
    /// The domain (normalized: lowercase, no trailing dot).
    pub domain: String,
    /// The outcome.
    pub status: DiscoveryStatus,
    /// Where the applied record was found; `None` without a record.
    pub source: Option<PolicySource>,
    /// The domain at whose `_dmarc` the applied record was found.
    pub found_at: Option<String>,
    /// The record text (TXT strings joined, lossy UTF-8).
    pub record_text: Option<String>,
    /// The applied record, parsed in `mode`.
    pub parsed: Option<DmarcParse>,
    /// The Organizational Domain: RFC 7489 from [`OrgDomain`]; RFC 9989 from
    /// the tree walk (§4.10.2), or the domain itself when a `psd=n` record is
    /// found there; `None` when not determined (a record found at the domain
    /// without `psd=n` needs no walk for policy, or a lookup failed).
    pub organizational_domain: Option<String>,
    /// Every query made, in order.
    pub queries: Vec<DmarcQuery>,
    /// The policy for the domain's mail: `p` when found at the domain,
    /// otherwise `sp` (RFC 9989: `np` if `domain_exists` is false) falling
    /// back to `p`; `None` without a usable record.
    pub effective_policy: Option<Policy>,
    /// RFC 9989 `t=y`: the owner asks for [`Policy::downgraded`] treatment.
    pub testing: bool,
    /// Other observations.
    pub notes: Vec<DiscoveryNote>,
}

impl DmarcDiscovery {
    fn new(mode: Mode, domain: String) -> Self {
        DmarcDiscovery {
            mode,
            domain,
            status: DiscoveryStatus::None,
            source: None,
            found_at: None,
            record_text: None,
            parsed: None,
            organizational_domain: None,
            queries: Vec::new(),
            effective_policy: None,
            testing: false,
            notes: Vec::new(),
        }
    }

    /// Sets `effective_policy` for `domain_exists`, as if discovery had run
    /// with it: for a caller that learns whether the domain exists only
    /// after (or while) discovery runs, since no query depends on it. Only
    /// the choice between `sp` and `np` (RFC 9989 §4.7, §4.10.1) changes.
    pub fn set_domain_exists(&mut self, domain_exists: bool) {
        if let (Some(parsed), Some(source)) = (&self.parsed, self.source) {
            self.effective_policy =
                parsed.policy_for(source == PolicySource::Domain, domain_exists);
        }
    }

    fn note(&mut self, kind: NoteKind, name: &str) {
        self.notes.push(DiscoveryNote {
            kind,
            name: name.to_string(),
        });
    }

    fn apply(&mut self, found: Found, source: PolicySource, domain_exists: bool) {
        self.testing = found.parse.testing();
        self.status = if found.parse.verdict.is_usable() {
            DiscoveryStatus::Valid
        } else {
            DiscoveryStatus::Invalid
        };
        self.source = Some(source);
        self.found_at = Some(found.domain);
        self.record_text = Some(String::from_utf8_lossy(&found.text).into_owned());
        self.parsed = Some(found.parse);
        self.set_domain_exists(domain_exists);
    }

    fn temperror(&mut self) {
        self.status = DiscoveryStatus::TempError;
    }
}

/// A single DMARC record found at a name.
struct Found {
    domain: String,
    text: Vec<u8>,
    parse: DmarcParse,
}

impl Found {
    fn psd(&self) -> Option<PsdFlag> {
        self.parse.record.as_ref().and_then(|r| r.psd)
    }
}

enum Level {
    Failed,
    Empty,
    One(Vec<u8>),
    Multiple,
}

/// Queries `_dmarc.<domain>` and keeps the records that start with `v=DMARC1`.
async fn fetch<R: Resolver>(
    resolver: &R,
    domain: &str,
    queries: &mut Vec<DmarcQuery>,
    notes: &mut Vec<DiscoveryNote>,
) -> Level {
    let name = crate::name::prefixed("_dmarc.", domain);
    let mut note = |kind| {
        notes.push(DiscoveryNote {
            kind,
            name: name.clone(),
        })
    };
    if !has_valid_lengths(&name) {
        note(NoteKind::NameTooLong);
        return Level::Empty;
    }
    let answer = resolver.txt(&name).await;
    let outcome = answer.label().to_string();
    let mut dmarc: Vec<Vec<u8>> = Vec::new();
    let mut other = 0;
    let mut count = 0;
    let level = match answer {
        Lookup::Failed(_) => Level::Failed,
        Lookup::NoData | Lookup::NxDomain => Level::Empty,
        Lookup::Records(records) => {
            for r in records {
                let text = r.joined();
                if is_dmarc_record(&text) {
                    dmarc.push(text);
                } else {
                    other += 1;
                }
            }
            count = dmarc.len();
            match count {
                0 => Level::Empty,
                1 => Level::One(dmarc.pop().unwrap_or_default()),
                _ => Level::Multiple,
            }
        }
    };
    match level {
        Level::Failed => note(NoteKind::DnsFailure),
        Level::Multiple => note(NoteKind::MultipleRecords),
        Level::Empty | Level::One(_) => {}
    }
    queries.push(DmarcQuery {
        name,
        outcome,
        dmarc_records: count,
        other_records: other,
    });
    level
}

fn start(mode: Mode, domain: &str) -> Result<String, Box<DmarcDiscovery>> {
    let domain = normalize(domain);
    if !has_valid_lengths(&domain) {
        let mut d = DmarcDiscovery::new(mode, domain.clone());
        d.note(NoteKind::InvalidDomain, &domain);
        return Err(Box::new(d));
    }
    Ok(domain)
}

/// The names a tree walk from `domain` queries (with `_dmarc.` prepended):
/// the name itself, then (RFC 9989 §4.10 step 4) "If x < 8, remove the
/// left-most label … If x >= 8, remove the left-most labels … until 7 labels
/// remain", then one label less each time down to one label. At most
/// [`MAX_TREE_WALK_QUERIES`] names.
pub fn walk_targets(domain: &str) -> Vec<String> {
    let first = label_count(domain)
        .saturating_sub(1)
        .min(MAX_TREE_WALK_QUERIES - 1);
    let mut out = vec![domain.to_string()];
    out.extend((1..=first).rev().map(|n| last_labels(domain, n)));
    out
}

/// RFC 9989 §4.10.2 selection among the records a walk from `start` found,
/// given longest name first: the first `psd=n` record's domain; else, for the
/// first `psd=y` record (other than at `start`), the domain one label below
/// it (and that record's index, the Public Suffix Domain's); else the domain
/// of the record with the fewest labels; with no record, `start` itself.
fn select_organizational_domain(start: &str, found: &[Found]) -> (String, Option<usize>) {
    for (i, f) in found.iter().enumerate() {
        match f.psd() {
            Some(PsdFlag::No) => return (f.domain.clone(), None),
            Some(PsdFlag::Yes) if f.domain != start => {
                return (last_labels(start, label_count(&f.domain) + 1), Some(i));
            }
            _ => {}
        }
    }
    let fewest = found
        .last()
        .map_or_else(|| start.to_string(), |f| f.domain.clone());
    (fewest, None)
}

/// The last `n` labels of `domain`.
fn last_labels(domain: &str, n: usize) -> String {
    let labels: Vec<&str> = domain.split('.').collect();
    labels[labels.len().saturating_sub(n)..].join(".")
}

/// RFC 9989 policy discovery for mail from `domain`.
///
/// §4.10.1: query `_dmarc.<domain>`; a single `v=DMARC1` record there is
/// applied with its `p`. Otherwise walk the tree (§4.10): the starting point
/// is the parent if the domain has eight or fewer labels, else its last seven
/// labels; then one label shorter each time down to the top-level label,
/// stopping at a record with `psd=y` or `psd=n`; at most
/// [`MAX_TREE_WALK_QUERIES`] queries in all. At each name, non-DMARC TXT
/// records are discarded and "if multiple DMARC Policy Records are returned
/// for a single target, they are all discarded" (step 2).
///
/// Among the records found, longest name first (§4.10.2): `psd=n` makes its
/// domain the Organizational Domain; `psd=y` makes the domain one label below
/// it the Organizational Domain; otherwise the record with the fewest labels
/// wins. The applied record (§4.10.1 preference order) is the Organizational
/// Domain's, or failing that the `psd=y` Public Suffix Domain's, and its
/// subdomain policy applies (`sp`, or `np` when `domain_exists` is false).
///
/// Choices where the text leaves room: a record that starts with `v=DMARC1`
/// but is otherwise unusable still counts as found (status `invalid`, the
/// walk stops there only through `psd`); a failed lookup before a record is
/// selected gives `temperror` (§4.10.1 leaves DNS errors to the receiver);
/// multiple records discarded with nothing else found give `invalid` (with a
/// `multiple_records` note) rather than `none`, to keep the breakage visible.
pub async fn discover_rfc9989<R: Resolver>(
    resolver: &R,
    domain: &str,
    domain_exists: bool,
) -> DmarcDiscovery {
    let domain = match start(Mode::Rfc9989, domain) {
        Ok(d) => d,
        Err(d) => return *d,
    };
    let mut out = DmarcDiscovery::new(Mode::Rfc9989, domain.clone());
    let mut multiple = false;
    match fetch(resolver, &domain, &mut out.queries, &mut out.notes).await {
        Level::Failed => {
            out.temperror();
            return out;
        }
        Level::One(text) => {
            let parse = parse(&text, Mode::Rfc9989);
            let found = Found {
                domain: domain.clone(),
                text,
                parse,
            };
            if found.psd() == Some(PsdFlag::No) {
                out.organizational_domain = Some(domain.clone());
            }
            out.apply(found, PolicySource::Domain, domain_exists);
            return out;
        }
        Level::Multiple => multiple = true,
        Level::Empty => {}
    }

    // §4.10 steps 3–7; §4.10.1: "If the Author Domain has eight or fewer
    // labels, the starting point will be the immediate parent domain".
    let mut found: Vec<Found> = Vec::new();
    for target in walk_targets(&domain).into_iter().skip(1) {
        match fetch(resolver, &target, &mut out.queries, &mut out.notes).await {
            Level::Failed => {
                out.temperror();
                return out;
            }
            Level::One(text) => {
                let parse = parse(&text, Mode::Rfc9989);
                let f = Found {
                    domain: target,
                    text,
                    parse,
                };
                let stop = matches!(f.psd(), Some(PsdFlag::Yes | PsdFlag::No));
                found.push(f);
                if stop {
                    break;
                }
            }
            Level::Multiple => multiple = true,
            Level::Empty => {}
        }
    }

    if found.is_empty() {
        // §4.10.2: "If this process does not determine the Organizational
        // Domain, then the initial target domain is the Organizational Domain."
        out.organizational_domain = Some(domain);
        if multiple {
            out.status = DiscoveryStatus::Invalid;
        }
        return out;
    }
    let (org, psd_index) = select_organizational_domain(&domain, &found);
    out.organizational_domain = Some(org.clone());
    let (index, source) = match found.iter().position(|f| f.domain == org) {
        Some(i) => (i, PolicySource::Organizational),
        None => match psd_index {
            Some(i) => (i, PolicySource::PublicSuffix),
            None => return out,
        },
    };
    let chosen = found.swap_remove(index);
    out.apply(chosen, source, domain_exists);
    out
}

/// The result of an RFC 9989 §4.10.2 Organizational Domain tree walk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrgDomainWalk {
    /// The name the walk started at (normalized).
    pub name: String,
    /// The Organizational Domain; `None` when a lookup failed or the name is
    /// invalid.
    pub organizational_domain: Option<String>,
    /// `valid` when chosen from records, `none` when no record was found
    /// (the name is its own Organizational Domain), `temperror` on a failed
    /// lookup.
    pub status: DiscoveryStatus,
    /// The domains where a single DMARC record was found, longest first.
    pub records_at: Vec<String>,
    /// Every query made, in order (at most [`MAX_TREE_WALK_QUERIES`]).
    pub queries: Vec<DmarcQuery>,
    /// Other observations.
    pub notes: Vec<DiscoveryNote>,
}

/// RFC 9989 §4.10.2: the Organizational Domain of `name` (an Author Domain or
/// an Authenticated Identifier) for identifier alignment, by a DNS Tree Walk
/// that starts at `name` itself ([`walk_targets`]) and stops at a record with
/// `psd=y` or `psd=n` (§4.10 steps 2 and 6). Selection as in
/// [`discover_rfc9989`]; "If this process does not determine the
/// Organizational Domain, then the initial target domain is the
/// Organizational Domain." A `psd=y` record at `name` itself is not used by
/// rule 2 (it is "the domain where the tree walk started").
pub async fn organizational_domain_rfc9989<R: Resolver>(resolver: &R, name: &str) -> OrgDomainWalk {
    let name = normalize(name);
    let mut out = OrgDomainWalk {
        name: name.clone(),
        organizational_domain: None,
        status: DiscoveryStatus::None,
        records_at: Vec::new(),
        queries: Vec::new(),
        notes: Vec::new(),
    };
    if !has_valid_lengths(&name) {
        out.notes.push(DiscoveryNote {
            kind: NoteKind::InvalidDomain,
            name,
        });
        return out;
    }
    let mut found: Vec<Found> = Vec::new();
    for target in walk_targets(&name) {
        match fetch(resolver, &target, &mut out.queries, &mut out.notes).await {
            Level::Failed => {
                out.status = DiscoveryStatus::TempError;
                return out;
            }
            Level::One(text) => {
                let parse = parse(&text, Mode::Rfc9989);
                let f = Found {
                    domain: target,
                    text,
                    parse,
                };
                let stop = matches!(f.psd(), Some(PsdFlag::Yes | PsdFlag::No));
                found.push(f);
                if stop {
                    break;
                }
            }
            Level::Multiple | Level::Empty => {}
        }
    }
    let (org, _) = select_organizational_domain(&name, &found);
    out.organizational_domain = Some(org);
    out.records_at = found.into_iter().map(|f| f.domain).collect();
    if !out.records_at.is_empty() {
        out.status = DiscoveryStatus::Valid;
    }
    out
}

/// RFC 7489 §6.6.3 policy discovery for mail from `domain`.
///
/// 1. Query `_dmarc.<domain>`; 2. discard records that do not start with
///    `v=DMARC1`; 3. if none remain, query `_dmarc.<organizational domain>`
///    (when it differs; from `org`); 4. discard again; 5. "If the remaining set
///    contains multiple records or no records, policy discovery terminates"
///    (status `invalid` with a `multiple_records` note, or `none`); 6. an
///    invalid `p`/`sp` is handled by the parse
///    ([`Verdict::TreatedAsNone`](super::Verdict::TreatedAsNone)).
///
/// A failed lookup gives `temperror` ("any indication that there is no such
/// record as opposed to a transient DNS error"). At most
/// [`MAX_RFC7489_QUERIES`] queries. `domain_exists` does not matter here
/// (RFC 7489 has no `np`); it is taken for symmetry with [`discover_rfc9989`].
pub async fn discover_rfc7489<R: Resolver, O: OrgDomain + Sync>(
    resolver: &R,
    org: &O,
    domain: &str,
    domain_exists: bool,
) -> DmarcDiscovery {
    let domain = match start(Mode::Rfc7489, domain) {
        Ok(d) => d,
        Err(d) => return *d,
    };
    let mut out = DmarcDiscovery::new(Mode::Rfc7489, domain.clone());
    let org_domain = org.organizational_domain(&domain).map(|o| normalize(&o));
    out.organizational_domain = org_domain.clone();
    match fetch(resolver, &domain, &mut out.queries, &mut out.notes).await {
        Level::Failed => {
            out.temperror();
            return out;
        }
        Level::Multiple => {
            out.status = DiscoveryStatus::Invalid;
            return out;
        }
        Level::One(text) => {
            let parse = parse(&text, Mode::Rfc7489);
            let found = Found {
                domain: domain.clone(),
                text,
                parse,
            };
            out.apply(found, PolicySource::Domain, domain_exists);
            return out;
        }
        Level::Empty => {}
    }
    let Some(org_domain) = org_domain.filter(|o| *o != domain && has_valid_lengths(o)) else {
        return out;
    };
    match fetch(resolver, &org_domain, &mut out.queries, &mut out.notes).await {
        Level::Failed => out.temperror(),
        Level::Multiple => out.status = DiscoveryStatus::Invalid,
        Level::Empty => {}
        Level::One(text) => {
            let parse = parse(&text, Mode::Rfc7489);
            let found = Found {
                domain: org_domain,
                text,
                parse,
            };
            out.apply(found, PolicySource::Organizational, domain_exists);
        }
    }
    out
}

/// Discovery by either standard: RFC 9989 ignores `org`.
pub async fn discover<R: Resolver, O: OrgDomain + Sync>(
    mode: Mode,
    resolver: &R,
    org: &O,
    domain: &str,
    domain_exists: bool,
) -> DmarcDiscovery {
    match mode {
        Mode::Rfc9989 => discover_rfc9989(resolver, domain, domain_exists).await,
        Mode::Rfc7489 => discover_rfc7489(resolver, org, domain, domain_exists).await,
    }
}
