//! Static analysis of a domain's SPF policy: no client IP, worst case.
//!
//! [`analyze`] walks the record of a domain and every `include:`/`redirect=`
//! target it can resolve, and reports what `check_host()` (RFC 7208 §4)
//! would run into for *some* client: the lookup count, void lookups, loops,
//! missing targets, syntax errors, deprecated `ptr`, and the effective `all`.
//!
//! # Counting policy (RFC 7208 §4.6.4, worst case)
//!
//! - Every `include`, `a`, `mx`, `ptr` and `exists` term of every walked
//!   record counts 1, as if no earlier mechanism matched (a client that
//!   matches nothing makes the evaluator walk every term). `redirect=` counts
//!   1 when it takes effect, i.e. when the record has no `all` (§6.1).
//!   `all`, `ip4`, `ip6`, `exp=` and unknown modifiers count 0.
//! - The count is a total over the tree. A target included twice counts its
//!   whole subtree twice (evaluation would run it twice); its DNS answers come
//!   from a per-analysis cache, so the work is done once.
//! - A term counts even when its target contains macros that cannot be
//!   expanded without a client; such a target is not followed and not
//!   queried. For `include:` and `redirect=` this is the warning
//!   `macro_target_unexpanded` (the subtree is unknown); for `a`, `mx` and
//!   `exists` (where macros are the normal DNSBL-style use) it is silent.
//! - Void lookups (§4.6.4): per term occurrence whose query returns NODATA or
//!   NXDOMAIN: `a` when the name has neither A nor AAAA records, `mx` and
//!   `exists` when their MX / A query is void. `ptr` cannot be looked up
//!   without a client and never counts as void here.
//! - `mx` targets with more than 10 MX names are `too_many_mx` (§4.6.4);
//!   the address lookups of the MX hosts are not performed (they do not
//!   count toward the term limit).
//! - More than 10 counted terms is `too_many_lookups`, more than 2 void
//!   lookups `too_many_void_lookups`: both `permerror`.
//!
//! # Work bounds
//!
//! Records are hostile. The walk sends at most
//! [`Limits::max_analysis_queries`] DNS queries (cached answers are free),
//! nests at most [`Limits::max_depth`] records deep, walks at most
//! [`Limits::max_terms_per_record`] terms per record and at most
//! [`MAX_RECORDS_WALKED`] records in all. Hitting a bound is the finding
//! `work_budget_exhausted` (or `recursion_too_deep`); the analysis is then
//! marked incomplete.

use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::pin::Pin;

use super::eval::{Limits, is_valid_domain};
use super::parse::{Selection, SpfParseError, select_spf};
use super::types::{DomainSpec, Mechanism, Qualifier};
use crate::dns::{Lookup, MxRecord, Resolver, TxtRecord};

/// Most records one analysis walks (including repeated visits of a target).
pub const MAX_RECORDS_WALKED: u32 = 200;

/// Overall status of a domain's SPF policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisStatus {
    /// No SPF record (RFC 7208 §4.5 "none"), or an invalid domain (§4.3).
    None,
    /// A record that evaluates without errors for every client.
    Valid,
    /// Some client would get `permerror` (syntax, limits, missing targets…).
    PermError,
    /// A lookup failed; the policy could not be fully read.
    TempError,
}

impl AnalysisStatus {
    /// Stable snake_case label.
    pub fn label(self) -> &'static str {
        match self {
            AnalysisStatus::None => "none",
            AnalysisStatus::Valid => "valid",
            AnalysisStatus::PermError => "permerror",
            AnalysisStatus::TempError => "temperror",
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Makes `check_host()` return `permerror` for some client.
    PermError,
    /// A lookup failed (`temperror`).
    TempError,
    /// Legal but discouraged, or the analysis could not look further.
    Warning,
}

/// A finding code. [`code`](FindingCode::code) gives the stable snake_case string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// More than one SPF record at a name (§4.5).
    MultipleRecords,
    /// A record with a syntax error (§4.6).
    Syntax,
    /// More than 10 DNS-querying terms in the tree (§4.6.4).
    TooManyLookups,
    /// More than 2 void lookups (§4.6.4).
    TooManyVoidLookups,
    /// An `include:` that leads back to a record on the current path.
    IncludeLoop,
    /// A `redirect=` that leads back to a record on the current path.
    RedirectLoop,
    /// An `include:` target without an SPF record (§5.2 table: permerror).
    MissingIncludeTarget,
    /// A `redirect=` target without an SPF record (§6.1: permerror).
    MissingRedirectTarget,
    /// A target that is not a usable domain name.
    InvalidTarget,
    /// The deprecated `ptr` mechanism (§5.5 "SHOULD NOT be published").
    PtrDeprecated,
    /// A DNS query failed (SERVFAIL, timeout…): temperror.
    TemperrorLookup,
    /// An `mx` target with more than 10 MX names (§4.6.4).
    TooManyMx,
    /// A target with macros that need a client to expand; counted, not followed.
    MacroTargetUnexpanded,
    /// `redirect=` in a record that has `all`: ignored (§6.1).
    RedirectIgnoredWithAll,
    /// A work bound was hit; the analysis is incomplete.
    WorkBudgetExhausted,
    /// include/redirect nesting deeper than the bound.
    RecursionTooDeep,
    /// More terms in one record than the bound; the rest were not walked.
    TooManyTerms,
}

impl FindingCode {
    /// Stable snake_case string.
    pub fn code(self) -> &'static str {
        match self {
            FindingCode::MultipleRecords => "multiple_records",
            FindingCode::Syntax => "syntax",
            FindingCode::TooManyLookups => "too_many_lookups",
            FindingCode::TooManyVoidLookups => "too_many_void_lookups",
            FindingCode::IncludeLoop => "include_loop",
            FindingCode::RedirectLoop => "redirect_loop",
            FindingCode::MissingIncludeTarget => "missing_include_target",
            FindingCode::MissingRedirectTarget => "missing_redirect_target",
            FindingCode::InvalidTarget => "invalid_target",
            FindingCode::PtrDeprecated => "ptr_deprecated",
            FindingCode::TemperrorLookup => "temperror_lookup",
            FindingCode::TooManyMx => "too_many_mx",
            FindingCode::MacroTargetUnexpanded => "macro_target_unexpanded",
            FindingCode::RedirectIgnoredWithAll => "redirect_ignored_with_all",
            FindingCode::WorkBudgetExhausted => "work_budget_exhausted",
            FindingCode::RecursionTooDeep => "recursion_too_deep",
            FindingCode::TooManyTerms => "too_many_terms",
        }
    }

    /// The severity of the finding.
    pub fn severity(self) -> Severity {
        match self {
            FindingCode::TemperrorLookup => Severity::TempError,
            FindingCode::PtrDeprecated
            | FindingCode::MacroTargetUnexpanded
            | FindingCode::RedirectIgnoredWithAll
            | FindingCode::WorkBudgetExhausted
            | FindingCode::TooManyTerms => Severity::Warning,
            _ => Severity::PermError,
        }
    }
}

/// One finding: its code, the domain whose record it concerns, and a detail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// What.
    pub code: FindingCode,
    /// Where (the record's domain).
    pub domain: String,
    /// Free-text detail (the term, the target, the parse error).
    pub detail: String,
}

/// How a walked record was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The analysed domain itself.
    Root,
    /// An `include:` target.
    Include,
    /// A `redirect=` target.
    Redirect,
}

/// A record visited by the walk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalkedRecord {
    /// Its domain.
    pub domain: String,
    /// How it was reached.
    pub via: Via,
    /// Nesting depth (root 0).
    pub depth: u32,
    /// Its text (lossy UTF-8).
    pub text: String,
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpfAnalysis {
    /// The analysed domain (normalized).
    pub domain: String,
    /// Overall status.
    pub status: AnalysisStatus,
    /// The root record's text (lossy UTF-8), when exactly one SPF record exists.
    pub record_text: Option<String>,
    /// The root record's syntax error, if any (kind, byte offset, token).
    #[serde(skip)]
    pub syntax_error: Option<SpfParseError>,
    /// Its stable code (`SpfParseErrorKind::code`), for storage.
    pub syntax_error_code: Option<&'static str>,
    /// Findings, in walk order.
    pub findings: Vec<Finding>,
    /// DNS-querying terms counted per §4.6.4 over the tree (see the module docs).
    pub dns_lookups: u32,
    /// Void lookups counted over the tree.
    pub void_lookups: u32,
    /// DNS queries actually sent (cache misses).
    pub queries: u32,
    /// The qualifier of `all` that ends evaluation after following
    /// `redirect=`; `None` when there is none (default `neutral`, §4.7).
    pub effective_all: Option<Qualifier>,
    /// False if a work bound stopped the walk.
    pub complete: bool,
    /// Every record visited, in walk order (repeated visits included).
    pub records: Vec<WalkedRecord>,
    /// Every name whose TXT records the walk asked for (the root included),
    /// in no particular order: see [`SpfAnalysis::shareable`].
    #[serde(skip)]
    pub txt_names: Vec<String>,
    /// The root record has an `a` or `mx` term without a domain-spec, i.e.
    /// one that queries the analysed domain's own name (RFC 7208 §5.3, §5.4).
    pub names_own_domain: bool,
}

impl SpfAnalysis {
    /// True if a finding with `code` is present.
    pub fn has(&self, code: FindingCode) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    /// True when another valid domain name whose one SPF record has the same
    /// text as the root record here, and which is not among
    /// [`txt_names`](Self::txt_names), would get the same status, codes,
    /// counts and effective `all` from [`analyze`] (with the same limits and
    /// the same DNS answers). The outcome depends on the domain's name only
    /// through implicit `a`/`mx` terms (excluded here) and through the loop
    /// checks, which compare targets with the names on the include path: a
    /// walk that looped is not shareable, and a domain the walk asked for
    /// would meet itself in its own walk, hence the `txt_names` condition.
    /// A walk that was cut short or saw a failed lookup is not shareable
    /// either: a later domain should try again. Only the codes are shared:
    /// the findings' `domain` and `detail` fields and `records` name the
    /// analysed domain.
    ///
    /// The crawl memoises analyses by record text with this test, so that a
    /// million domains publishing `v=spf1 include:spf.protection.outlook.com
    /// -all` walk that tree once.
    pub fn shareable(&self) -> bool {
        self.complete
            && self.record_text.is_some()
            && !self.names_own_domain
            && matches!(
                self.status,
                AnalysisStatus::Valid | AnalysisStatus::PermError
            )
            && !self.findings.iter().any(|f| {
                matches!(
                    f.code,
                    FindingCode::TemperrorLookup
                        | FindingCode::IncludeLoop
                        | FindingCode::RedirectLoop
                )
            })
    }

    /// The finding codes as strings, in order, without duplicates.
    pub fn codes(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for f in &self.findings {
            if !out.contains(&f.code.code()) {
                out.push(f.code.code());
            }
        }
        out
    }
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

enum Walk {
    /// No SPF record (or NXDOMAIN/NODATA).
    NoRecord,
    /// A record was found (maybe broken); its effective `all`.
    Record(Option<Qualifier>),
    /// Could not look (failure, budget).
    Unknown,
}

struct Analyzer<'a, R: Resolver> {
    resolver: &'a R,
    limits: &'a Limits,
    txt: HashMap<String, Lookup<TxtRecord>>,
    a: HashMap<String, Lookup<Ipv4Addr>>,
    aaaa: HashMap<String, Lookup<Ipv6Addr>>,
    mx: HashMap<String, Lookup<MxRecord>>,
    queries: u32,
    lookups: u32,
    voids: u32,
    walked: u32,
    complete: bool,
    findings: Vec<Finding>,
    records: Vec<WalkedRecord>,
    stack: Vec<String>,
    root_error: Option<SpfParseError>,
    names_own_domain: bool,
}

macro_rules! cached {
    ($self:ident, $map:ident, $method:ident, $name:expr) => {{
        let name: &str = $name;
        if let Some(v) = $self.$map.get(name) {
            Some(v.clone())
        } else if $self.spend() {
            let v = $self.resolver.$method(name).await;
            $self.$map.insert(name.to_string(), v.clone());
            Some(v)
        } else {
            None
        }
    }};
}

impl<'a, R: Resolver> Analyzer<'a, R> {
    fn finding(&mut self, code: FindingCode, domain: &str, detail: impl Into<String>) {
        self.findings.push(Finding {
            code,
            domain: domain.to_string(),
            detail: detail.into(),
        });
    }

    /// Takes one query from the budget; false (and a finding, once) if spent.
    fn spend(&mut self) -> bool {
        if self.queries >= self.limits.max_analysis_queries {
            if self.complete {
                self.complete = false;
                self.findings.push(Finding {
                    code: FindingCode::WorkBudgetExhausted,
                    domain: String::new(),
                    detail: format!("{} DNS queries", self.queries),
                });
            }
            return false;
        }
        self.queries += 1;
        true
    }

    /// A literal target, normalized; records findings for invalid targets and,
    /// when `follow` (include/redirect), for targets with macros.
    fn literal_target(&mut self, spec: &DomainSpec, domain: &str, follow: bool) -> Option<String> {
        let Some(lit) = spec.as_literal() else {
            if follow && spec.has_macros() {
                self.finding(FindingCode::MacroTargetUnexpanded, domain, spec.to_string());
            }
            return None;
        };
        // `%%`, `%_`, `%-` without letters expand to fixed text; treat as literal.
        let t = lit.strip_suffix('.').unwrap_or(&lit).to_ascii_lowercase();
        if crate::name::has_valid_lengths(&t) {
            Some(t)
        } else {
            self.finding(FindingCode::InvalidTarget, domain, spec.to_string());
            None
        }
    }

    fn walk<'s>(&'s mut self, domain: String, via: Via, depth: u32) -> BoxFut<'s, Walk> {
        Box::pin(async move {
            if depth > self.limits.max_depth {
                self.finding(
                    FindingCode::RecursionTooDeep,
                    &domain,
                    format!("depth {depth}"),
                );
                self.complete = false;
                return Walk::Unknown;
            }
            self.walked += 1;
            if self.walked > MAX_RECORDS_WALKED {
                if self.complete {
                    self.complete = false;
                    self.finding(
                        FindingCode::WorkBudgetExhausted,
                        &domain,
                        format!("{MAX_RECORDS_WALKED} records walked"),
                    );
                }
                return Walk::Unknown;
            }
            let Some(txt) = cached!(self, txt, txt, &domain) else {
                return Walk::Unknown;
            };
            let records = match txt {
                Lookup::Records(r) => r,
                Lookup::NoData | Lookup::NxDomain => return Walk::NoRecord,
                Lookup::Failed(f) => {
                    self.finding(
                        FindingCode::TemperrorLookup,
                        &domain,
                        format!("TXT {}", f.label()),
                    );
                    return Walk::Unknown;
                }
            };
            let record = match select_spf(&records) {
                Selection::None => return Walk::NoRecord,
                Selection::Multiple { texts } => {
                    self.finding(
                        FindingCode::MultipleRecords,
                        &domain,
                        format!("{} records", texts.len()),
                    );
                    return Walk::Record(None);
                }
                Selection::One { text, parsed } => {
                    let text = String::from_utf8_lossy(&text).into_owned();
                    self.records.push(WalkedRecord {
                        domain: domain.clone(),
                        via,
                        depth,
                        text,
                    });
                    match parsed {
                        Ok(r) => r,
                        Err(e) => {
                            self.finding(FindingCode::Syntax, &domain, e.to_string());
                            if via == Via::Root {
                                self.root_error = Some(e);
                            }
                            return Walk::Record(None);
                        }
                    }
                }
            };
            let limit = self.limits.max_terms_per_record;
            if record.terms.len() > limit {
                self.finding(
                    FindingCode::TooManyTerms,
                    &domain,
                    format!("{} terms", record.terms.len()),
                );
            }
            if via == Via::Root {
                self.names_own_domain = record.directives().any(|d| {
                    matches!(
                        d.mechanism,
                        Mechanism::A { domain: None, .. } | Mechanism::Mx { domain: None, .. }
                    )
                });
            }
            self.stack.push(domain.clone());
            for d in record.directives().take(limit) {
                let m = &d.mechanism;
                if m.counts_as_lookup() {
                    self.lookups += 1;
                }
                match m {
                    Mechanism::Include(spec) => {
                        let Some(target) = self.literal_target(spec, &domain, true) else {
                            continue;
                        };
                        if self.stack.contains(&target) {
                            self.finding(FindingCode::IncludeLoop, &domain, target);
                            continue;
                        }
                        if let Walk::NoRecord =
                            self.walk(target.clone(), Via::Include, depth + 1).await
                        {
                            self.finding(FindingCode::MissingIncludeTarget, &domain, target);
                        }
                    }
                    Mechanism::A { domain: spec, .. } => {
                        let target = match spec {
                            Some(s) => self.literal_target(s, &domain, false),
                            None => Some(domain.clone()),
                        };
                        if let Some(t) = target {
                            self.check_a(&domain, &t).await;
                        }
                    }
                    Mechanism::Mx { domain: spec, .. } => {
                        let target = match spec {
                            Some(s) => self.literal_target(s, &domain, false),
                            None => Some(domain.clone()),
                        };
                        if let Some(t) = target {
                            self.check_mx(&domain, &t).await;
                        }
                    }
                    Mechanism::Exists(spec) => {
                        if let Some(t) = self.literal_target(spec, &domain, false) {
                            match cached!(self, a, a, &t) {
                                Some(Lookup::Failed(f)) => self.finding(
                                    FindingCode::TemperrorLookup,
                                    &domain,
                                    format!("A {t} {}", f.label()),
                                ),
                                Some(l) if l.is_void() => self.voids += 1,
                                _ => {}
                            }
                        }
                    }
                    Mechanism::Ptr(_) => {
                        self.finding(FindingCode::PtrDeprecated, &domain, d.to_string());
                    }
                    Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. } => {}
                }
            }
            let mut effective = record.all_qualifier();
            if let Some(spec) = record.redirect() {
                if effective.is_some() {
                    self.finding(
                        FindingCode::RedirectIgnoredWithAll,
                        &domain,
                        spec.to_string(),
                    );
                } else {
                    self.lookups += 1;
                    if let Some(target) = self.literal_target(spec, &domain, true) {
                        if self.stack.contains(&target) {
                            self.finding(FindingCode::RedirectLoop, &domain, target);
                        } else {
                            match self.walk(target.clone(), Via::Redirect, depth + 1).await {
                                Walk::NoRecord => self.finding(
                                    FindingCode::MissingRedirectTarget,
                                    &domain,
                                    target,
                                ),
                                Walk::Record(q) => effective = q,
                                Walk::Unknown => {}
                            }
                        }
                    }
                }
            }
            self.stack.pop();
            Walk::Record(effective)
        })
    }

    /// `a`: void when the name has neither A nor AAAA records.
    async fn check_a(&mut self, domain: &str, target: &str) {
        match cached!(self, a, a, target) {
            Some(Lookup::Records(_)) | None => {}
            Some(Lookup::Failed(f)) => self.finding(
                FindingCode::TemperrorLookup,
                domain,
                format!("A {target} {}", f.label()),
            ),
            Some(_) => match cached!(self, aaaa, aaaa, target) {
                Some(Lookup::Failed(f)) => self.finding(
                    FindingCode::TemperrorLookup,
                    domain,
                    format!("AAAA {target} {}", f.label()),
                ),
                Some(l) if l.is_void() => self.voids += 1,
                _ => {}
            },
        }
    }

    /// `mx`: void when the MX query is void; more than 10 names is `too_many_mx`.
    async fn check_mx(&mut self, domain: &str, target: &str) {
        match cached!(self, mx, mx, target) {
            Some(Lookup::Records(r)) if r.len() > self.limits.max_mx_names => self.finding(
                FindingCode::TooManyMx,
                domain,
                format!("{target}: {} MX names", r.len()),
            ),
            Some(Lookup::Failed(f)) => self.finding(
                FindingCode::TemperrorLookup,
                domain,
                format!("MX {target} {}", f.label()),
            ),
            Some(l) if l.is_void() => self.voids += 1,
            _ => {}
        }
    }
}

/// Statically analyses the SPF policy of `domain` (see the module docs for
/// the counting policy and the work bounds). Never fails: every problem is a
/// [`Finding`].
pub async fn analyze<R: Resolver>(resolver: &R, domain: &str, limits: &Limits) -> SpfAnalysis {
    let name = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    let mut an = Analyzer {
        resolver,
        limits,
        txt: HashMap::new(),
        a: HashMap::new(),
        aaaa: HashMap::new(),
        mx: HashMap::new(),
        queries: 0,
        lookups: 0,
        voids: 0,
        walked: 0,
        complete: true,
        findings: Vec::new(),
        records: Vec::new(),
        stack: Vec::new(),
        root_error: None,
        names_own_domain: false,
    };
    if !is_valid_domain(&name) {
        return SpfAnalysis {
            domain: name,
            status: AnalysisStatus::None,
            record_text: None,
            syntax_error: None,
            syntax_error_code: None,
            findings: Vec::new(),
            dns_lookups: 0,
            void_lookups: 0,
            queries: 0,
            effective_all: None,
            complete: true,
            records: Vec::new(),
            txt_names: Vec::new(),
            names_own_domain: false,
        };
    }
    let root = an.walk(name.clone(), Via::Root, 0).await;
    if an.lookups > limits.max_dns_terms {
        let n = an.lookups;
        an.finding(FindingCode::TooManyLookups, &name, format!("{n} lookups"));
    }
    if an.voids > limits.max_void_lookups {
        let n = an.voids;
        an.finding(
            FindingCode::TooManyVoidLookups,
            &name,
            format!("{n} void lookups"),
        );
    }
    let record_text = an
        .records
        .iter()
        .find(|r| r.via == Via::Root)
        .map(|r| r.text.clone());
    let severities: Vec<Severity> = an.findings.iter().map(|f| f.code.severity()).collect();
    let (status, effective_all) = match root {
        Walk::NoRecord => (AnalysisStatus::None, None),
        Walk::Unknown if !severities.contains(&Severity::PermError) => {
            (AnalysisStatus::TempError, None)
        }
        Walk::Unknown => (AnalysisStatus::PermError, None),
        Walk::Record(all) => {
            if severities.contains(&Severity::PermError) {
                (AnalysisStatus::PermError, all)
            } else if severities.contains(&Severity::TempError) {
                (AnalysisStatus::TempError, all)
            } else {
                (AnalysisStatus::Valid, all)
            }
        }
    };
    SpfAnalysis {
        domain: name,
        status,
        record_text,
        syntax_error_code: an.root_error.as_ref().map(SpfParseError::code),
        syntax_error: an.root_error,
        findings: an.findings,
        dns_lookups: an.lookups,
        void_lookups: an.voids,
        queries: an.queries,
        effective_all,
        complete: an.complete,
        records: an.records,
        txt_names: an.txt.into_keys().collect(),
        names_own_domain: an.names_own_domain,
    }
}
