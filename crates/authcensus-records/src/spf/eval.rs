//! The `check_host()` function (RFC 7208 §4): evaluates the SPF policy of a
//! domain for a client IP and sender, over the [`Resolver`] trait.
//!
//! Processing limits (§4.6.4), all in [`Limits`]:
//! - at most 10 terms that cause DNS queries (`include`, `a`, `mx`, `ptr`,
//!   `exists`, `redirect`) across the whole evaluation, counted when the term is
//!   evaluated; the 11th gives `permerror` (`too_many_lookups`);
//! - at most 2 void lookups (a term whose query returned NODATA or NXDOMAIN);
//!   the 3rd gives `permerror` (`too_many_void_lookups`); `exp=` lookups never
//!   count (§6.2 happens after evaluation);
//! - an `mx` whose MX RRset has more than 10 names gives `permerror` (`too_many_mx`);
//! - `ptr` and `%{p}` validate at most the first 10 PTR names; the rest are ignored;
//! - hard work bounds that RFC 7208 leaves to the implementation: recursion
//!   depth, total DNS queries actually sent, macro expansion length. Exceeding
//!   the query budget or depth gives `permerror` (the record needs more work
//!   than any compliant record can).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use super::macros::{MacroVars, expand, truncate_domain, uses_letter};
use super::parse::{MacroContext, Selection, parse_macro_string, select_spf};
use super::types::{DomainSpec, MacroLetter, Mechanism, Qualifier, Record};
use crate::dns::{Lookup, Resolver, TxtRecord};

/// Processing limits for [`check_host`] and [`analyze`](super::analyze::analyze).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// RFC 7208 §4.6.4: terms causing DNS queries (default 10).
    pub max_dns_terms: u32,
    /// RFC 7208 §4.6.4: void lookups (default 2).
    pub max_void_lookups: u32,
    /// RFC 7208 §4.6.4: MX names per `mx` mechanism (default 10; more is `permerror`).
    pub max_mx_names: usize,
    /// RFC 7208 §4.6.4: PTR names validated per `ptr`/`%{p}` (default 10; the rest ignored).
    pub max_ptr_names: usize,
    /// Work bound for the static analysis: DNS queries actually sent (default 50).
    pub max_analysis_queries: u32,
    /// Work bound for `check_host`: DNS queries actually sent (default 250; a
    /// compliant record needs at most 10 × (1 + 10) plus the record lookups).
    pub max_eval_queries: u32,
    /// Work bound: include/redirect nesting depth (default 12).
    pub max_depth: u32,
    /// Work bound for the static analysis: terms walked per record (default 256).
    pub max_terms_per_record: usize,
    /// Work bound: bytes of one macro expansion (default 2048).
    pub max_macro_expansion: usize,
    /// Longest explanation kept (§6.2 "MAY limit the length", default 1024).
    pub max_explanation: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_dns_terms: 10,
            max_void_lookups: 2,
            max_mx_names: 10,
            max_ptr_names: 10,
            max_analysis_queries: 50,
            max_eval_queries: 250,
            max_depth: 12,
            max_terms_per_record: 256,
            max_macro_expansion: 2048,
            max_explanation: 1024,
        }
    }
}

/// The result of `check_host()` (RFC 7208 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpfResult {
    /// §2.6.1: no (valid) domain or no SPF record.
    None,
    /// §2.6.2: the domain makes no assertion.
    Neutral,
    /// §2.6.3: the client is authorized.
    Pass,
    /// §2.6.4: the client is not authorized.
    Fail,
    /// §2.6.5: weak statement that the client is probably not authorized.
    SoftFail,
    /// §2.6.6: a transient (DNS) error.
    TempError,
    /// §2.6.7: the published records could not be interpreted.
    PermError,
}

impl SpfResult {
    /// Stable label as in RFC 7208 (`none`, `neutral`, `pass`, `fail`,
    /// `softfail`, `temperror`, `permerror`).
    pub fn label(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }

    /// Parses a label (case-insensitive).
    pub fn from_label(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "none" => SpfResult::None,
            "neutral" => SpfResult::Neutral,
            "pass" => SpfResult::Pass,
            "fail" => SpfResult::Fail,
            "softfail" => SpfResult::SoftFail,
            "temperror" => SpfResult::TempError,
            "permerror" => SpfResult::PermError,
            _ => return None,
        })
    }
}

impl From<Qualifier> for SpfResult {
    fn from(q: Qualifier) -> Self {
        match q {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

/// The arguments of `check_host()` (RFC 7208 §4.1) plus the values of the
/// `exp`-only macros.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckHostParams {
    /// `<ip>`: the SMTP client address. IPv4-mapped IPv6 addresses are
    /// evaluated as IPv4 (§5: "clients on IPv4-mapped IPv6 addresses").
    pub ip: IpAddr,
    /// `<domain>`: the domain whose policy is checked.
    pub domain: String,
    /// `<sender>`: `local-part@domain` (MAIL FROM or `postmaster@<helo>`).
    pub sender: String,
    /// The HELO/EHLO name (`%{h}`).
    pub helo: String,
    /// The checking host's name (`%{r}`; empty → `unknown`).
    pub receiver: String,
    /// Seconds since the epoch (`%{t}`); the constructors set 0 (the crate
    /// reads no clock), callers set the time of the check.
    pub timestamp: u64,
}

impl CheckHostParams {
    /// Parameters for the MAIL FROM identity (RFC 7208 §2.4): `<domain>` is
    /// the part after the last `@`; a null reverse-path checks the HELO
    /// identity with `<sender>` = `postmaster@<helo>` (§2.3).
    pub fn mail_from(ip: IpAddr, mail_from: &str, helo: &str) -> Self {
        let (sender, domain) = if mail_from.is_empty() {
            (format!("postmaster@{helo}"), helo.to_string())
        } else {
            match mail_from.rfind('@') {
                Some(p) => (mail_from.to_string(), mail_from[p + 1..].to_string()),
                None => (format!("postmaster@{mail_from}"), mail_from.to_string()),
            }
        };
        CheckHostParams {
            ip,
            domain,
            sender,
            helo: helo.to_string(),
            receiver: String::new(),
            timestamp: 0,
        }
    }

    /// Parameters for the HELO identity (RFC 7208 §2.3).
    pub fn helo(ip: IpAddr, helo: &str) -> Self {
        Self::mail_from(ip, "", helo)
    }
}

/// What [`check_host`] returns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpfVerdict {
    /// The result.
    pub result: SpfResult,
    /// For `fail` with a usable `exp=` (§6.2): the expanded explanation.
    pub explanation: Option<String>,
    /// Why the result is `none`, `temperror` or `permerror` (a finding code such
    /// as `too_many_lookups`, `syntax`, `multiple_records`, `temperror_lookup`).
    pub reason: Option<&'static str>,
    /// Terms that counted toward the §4.6.4 limit of 10.
    pub dns_terms: u32,
    /// Void lookups (§4.6.4).
    pub void_lookups: u32,
    /// DNS queries actually sent.
    pub queries: u32,
}

/// An error that ends the whole evaluation (temperror/permerror, §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Abort {
    result: SpfResult,
    reason: &'static str,
}

fn perm(reason: &'static str) -> Abort {
    Abort {
        result: SpfResult::PermError,
        reason,
    }
}

fn temp(reason: &'static str) -> Abort {
    Abort {
        result: SpfResult::TempError,
        reason,
    }
}

enum Found {
    NoRecord,
    Result(SpfResult, Option<String>),
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// RFC 7208 §4.3: a domain is usable if it is a multi-label name with labels
/// of 1..=63 octets, at most 253 octets in all (one trailing dot allowed), and
/// not a domain literal.
pub fn is_valid_domain(domain: &str) -> bool {
    let d = domain.strip_suffix('.').unwrap_or(domain);
    crate::name::has_valid_lengths(d)
        && d.contains('.')
        && d.bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'[' && b != b']')
}

/// Converts a target-name for a query: lowercase, no trailing dot; `None`
/// if it is not a usable DNS name (§4.3, §4.8: "treated as non-existent").
fn query_name(expanded: &str) -> Option<String> {
    let t = truncate_domain(expanded);
    let t = t.strip_suffix('.').unwrap_or(t);
    if crate::name::has_valid_lengths(t) {
        Some(t.to_ascii_lowercase())
    } else {
        None
    }
}

fn in_prefix(ip: IpAddr, net: IpAddr, prefix: Option<u8>) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let p = u32::from(prefix.unwrap_or(32).min(32));
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            (u32::from(a) & mask) == (u32::from(b) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let p = u32::from(prefix.unwrap_or(128).min(128));
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            (u128::from(a) & mask) == (u128::from(b) & mask)
        }
        _ => false,
    }
}

/// Evaluation state shared by the whole `check_host()` tree.
struct Eval<'a, R: Resolver> {
    resolver: &'a R,
    limits: &'a Limits,
    ip: IpAddr,
    sender: String,
    local_part: String,
    sender_domain: String,
    helo: String,
    receiver: String,
    timestamp: u64,
    dns_terms: u32,
    voids: u32,
    queries: u32,
    /// PTR validation result, computed once: (PTR answer was void, validated names).
    ptr_cache: Option<(bool, Vec<String>)>,
}

impl<'a, R: Resolver> Eval<'a, R> {
    fn spend(&mut self) -> Result<(), Abort> {
        self.queries += 1;
        if self.queries > self.limits.max_eval_queries {
            return Err(perm("work_budget_exhausted"));
        }
        Ok(())
    }

    fn count_term(&mut self) -> Result<(), Abort> {
        self.dns_terms += 1;
        if self.dns_terms > self.limits.max_dns_terms {
            return Err(perm("too_many_lookups"));
        }
        Ok(())
    }

    fn count_void(&mut self) -> Result<(), Abort> {
        self.voids += 1;
        if self.voids > self.limits.max_void_lookups {
            return Err(perm("too_many_void_lookups"));
        }
        Ok(())
    }

    /// A or AAAA records of `name` for the client's address family.
    async fn addresses(&mut self, name: &str) -> Result<Lookup<IpAddr>, Abort> {
        self.spend()?;
        Ok(match self.ip {
            IpAddr::V4(_) => self
                .resolver
                .a(name)
                .await
                .map(|v| v.into_iter().map(IpAddr::V4).collect()),
            IpAddr::V6(_) => self
                .resolver
                .aaaa(name)
                .await
                .map(|v| v.into_iter().map(IpAddr::V6).collect()),
        })
    }

    fn vars<'s>(&'s self, domain: &'s str, validated: Option<&'s str>) -> MacroVars<'s> {
        MacroVars {
            sender: &self.sender,
            local_part: &self.local_part,
            sender_domain: &self.sender_domain,
            domain,
            ip: self.ip,
            validated_name: validated,
            helo: &self.helo,
            receiver: &self.receiver,
            timestamp: self.timestamp,
        }
    }

    /// The validated names of `<ip>` (§5.5), computed once per evaluation.
    async fn validated_names(&mut self) -> Result<(bool, Vec<String>), Abort> {
        if let Some(c) = &self.ptr_cache {
            return Ok(c.clone());
        }
        self.spend()?;
        let (void, names) = match self.resolver.ptr(self.ip).await {
            Lookup::Records(n) => (false, n),
            Lookup::NoData | Lookup::NxDomain => (true, Vec::new()),
            // §5.5: "If a DNS error occurs while doing the PTR RR lookup,
            // then this mechanism fails to match."
            Lookup::Failed(_) => (false, Vec::new()),
        };
        let mut validated = Vec::new();
        for name in names.into_iter().take(self.limits.max_ptr_names) {
            let Some(q) = query_name(&name) else { continue };
            // §5.5: a DNS error on the address lookup skips the name.
            if let Lookup::Records(addrs) = self.addresses(&q).await?
                && addrs.contains(&self.ip)
            {
                validated.push(q);
            }
        }
        self.ptr_cache = Some((void, validated.clone()));
        Ok((void, validated))
    }

    /// The `%{p}` value (§7.3): `<domain>` if validated, else a validated
    /// subdomain of it, else any validated name, else `unknown`.
    async fn p_value(&mut self, domain: &str) -> Result<Option<String>, Abort> {
        let (_, names) = self.validated_names().await?;
        let d = domain.trim_end_matches('.').to_ascii_lowercase();
        let suffix = format!(".{d}");
        Ok(names
            .iter()
            .find(|n| **n == d)
            .or_else(|| names.iter().find(|n| n.ends_with(&suffix)))
            .or_else(|| names.first())
            .cloned())
    }

    /// Expands a macro-string for `domain`, looking up `%{p}` when used.
    async fn expand_for(
        &mut self,
        ms: &super::types::MacroString,
        domain: &str,
        max: usize,
    ) -> Result<Option<String>, Abort> {
        let p = if uses_letter(ms, MacroLetter::ValidatedName) {
            self.p_value(domain).await?
        } else {
            None
        };
        let vars = self.vars(domain, p.as_deref());
        Ok(expand(ms, &vars, max))
    }

    /// The target-name of a domain-spec (§4.8): `None` when the expansion is
    /// not a usable DNS name.
    async fn target(&mut self, spec: &DomainSpec, domain: &str) -> Result<Option<String>, Abort> {
        let max = self.limits.max_macro_expansion;
        match self.expand_for(&spec.0, domain, max).await? {
            Some(s) => Ok(query_name(&s)),
            None => Err(perm("macro_expansion_too_long")),
        }
    }

    async fn target_or_domain(
        &mut self,
        spec: Option<&DomainSpec>,
        domain: &str,
    ) -> Result<Option<String>, Abort> {
        match spec {
            Some(s) => self.target(s, domain).await,
            None => Ok(query_name(domain)),
        }
    }

    /// RFC 7208 §4.4–§4.6: look up, select and evaluate the record of `domain`.
    fn check<'s>(&'s mut self, domain: String, depth: u32) -> BoxFut<'s, Result<Found, Abort>> {
        Box::pin(async move {
            if depth > self.limits.max_depth {
                return Err(perm("recursion_too_deep"));
            }
            let Some(qname) = query_name(&domain) else {
                return Ok(Found::NoRecord);
            };
            self.spend()?;
            let records = match self.resolver.txt(&qname).await {
                Lookup::Records(r) => r,
                Lookup::NoData | Lookup::NxDomain => return Ok(Found::NoRecord),
                Lookup::Failed(_) => return Err(temp("temperror_lookup")),
            };
            let record = match select_spf(&records) {
                Selection::None => return Ok(Found::NoRecord),
                Selection::Multiple { .. } => return Err(perm("multiple_records")),
                Selection::One { parsed: Err(_), .. } => return Err(perm("syntax")),
                Selection::One { parsed: Ok(r), .. } => r,
            };
            let (result, explanation) = self.eval_record(&domain, &record, depth).await?;
            Ok(Found::Result(result, explanation))
        })
    }

    /// RFC 7208 §4.6.2, §4.7, §6.1: evaluate directives left to right, then
    /// `redirect=` (ignored when the record has an `all`), then `neutral`.
    async fn eval_record(
        &mut self,
        domain: &str,
        record: &Record,
        depth: u32,
    ) -> Result<(SpfResult, Option<String>), Abort> {
        for d in record.directives() {
            if d.mechanism.counts_as_lookup() {
                self.count_term()?;
            }
            if self.matches(&d.mechanism, domain, depth).await? {
                let result = SpfResult::from(d.qualifier);
                let explanation = if result == SpfResult::Fail {
                    self.explain(record, domain).await?
                } else {
                    None
                };
                return Ok((result, explanation));
            }
        }
        if record.all_qualifier().is_none()
            && let Some(spec) = record.redirect()
        {
            self.count_term()?;
            let Some(target) = self.target(spec, domain).await? else {
                return Err(perm("invalid_redirect_target"));
            };
            return match self.check(target, depth + 1).await? {
                Found::NoRecord => Err(perm("missing_redirect_target")),
                Found::Result(r, e) => Ok((r, e)),
            };
        }
        Ok((SpfResult::Neutral, None))
    }

    /// RFC 7208 §6.2: the explanation of a `fail`; any problem means "no explanation".
    async fn explain(&mut self, record: &Record, domain: &str) -> Result<Option<String>, Abort> {
        let Some(spec) = record.exp() else {
            return Ok(None);
        };
        let Some(target) = self.target(spec, domain).await? else {
            return Ok(None);
        };
        self.spend()?;
        let txts: Vec<TxtRecord> = match self.resolver.txt(&target).await {
            Lookup::Records(r) => r,
            _ => return Ok(None),
        };
        let [txt] = txts.as_slice() else {
            return Ok(None);
        };
        let Ok(ms) = parse_macro_string(&txt.joined(), 0, MacroContext::Explanation) else {
            return Ok(None);
        };
        let max = self.limits.max_explanation;
        // §6.2: the explanation "MUST be limited to US-ASCII" (macro values
        // such as a local-part could bring in other bytes).
        Ok(self
            .expand_for(&ms, domain, max)
            .await?
            .filter(|e| e.is_ascii()))
    }

    /// RFC 7208 §5: does the mechanism match?
    async fn matches(&mut self, m: &Mechanism, domain: &str, depth: u32) -> Result<bool, Abort> {
        match m {
            Mechanism::All => Ok(true),
            Mechanism::Ip4 { addr, prefix } => Ok(in_prefix(self.ip, IpAddr::V4(*addr), *prefix)),
            Mechanism::Ip6 { addr, prefix } => Ok(in_prefix(self.ip, IpAddr::V6(*addr), *prefix)),
            Mechanism::Include(spec) => {
                // §5.2: the included check_host(); none → permerror.
                let Some(target) = self.target(spec, domain).await? else {
                    return Err(perm("missing_include_target"));
                };
                match self.check(target, depth + 1).await? {
                    Found::NoRecord => Err(perm("missing_include_target")),
                    Found::Result(r, _) => Ok(r == SpfResult::Pass),
                }
            }
            Mechanism::A { domain: spec, cidr } => {
                let Some(target) = self.target_or_domain(spec.as_ref(), domain).await? else {
                    self.count_void()?;
                    return Ok(false);
                };
                let prefix = if self.ip.is_ipv4() { cidr.v4 } else { cidr.v6 };
                match self.addresses(&target).await? {
                    Lookup::Records(addrs) => {
                        Ok(addrs.iter().any(|a| in_prefix(self.ip, *a, prefix)))
                    }
                    Lookup::NoData | Lookup::NxDomain => {
                        self.count_void()?;
                        Ok(false)
                    }
                    Lookup::Failed(_) => Err(temp("temperror_lookup")),
                }
            }
            Mechanism::Mx { domain: spec, cidr } => {
                let Some(target) = self.target_or_domain(spec.as_ref(), domain).await? else {
                    self.count_void()?;
                    return Ok(false);
                };
                let prefix = if self.ip.is_ipv4() { cidr.v4 } else { cidr.v6 };
                self.spend()?;
                let mut mxs = match self.resolver.mx(&target).await {
                    Lookup::Records(r) => r,
                    Lookup::NoData | Lookup::NxDomain => {
                        self.count_void()?;
                        return Ok(false);
                    }
                    Lookup::Failed(_) => return Err(temp("temperror_lookup")),
                };
                // §4.6.4: more than 10 MX names → permerror.
                if mxs.len() > self.limits.max_mx_names {
                    return Err(perm("too_many_mx"));
                }
                mxs.sort_by_key(|m| m.preference);
                for mx in mxs {
                    let Some(q) = query_name(&mx.exchange) else {
                        continue;
                    };
                    match self.addresses(&q).await? {
                        Lookup::Records(addrs) => {
                            if addrs.iter().any(|a| in_prefix(self.ip, *a, prefix)) {
                                return Ok(true);
                            }
                        }
                        Lookup::NoData | Lookup::NxDomain => {}
                        Lookup::Failed(_) => return Err(temp("temperror_lookup")),
                    }
                }
                Ok(false)
            }
            Mechanism::Ptr(spec) => {
                let Some(target) = self.target_or_domain(spec.as_ref(), domain).await? else {
                    return Ok(false);
                };
                let (void, names) = self.validated_names().await?;
                if void {
                    self.count_void()?;
                }
                let suffix = format!(".{target}");
                Ok(names.iter().any(|n| *n == target || n.ends_with(&suffix)))
            }
            Mechanism::Exists(spec) => {
                let Some(target) = self.target(spec, domain).await? else {
                    self.count_void()?;
                    return Ok(false);
                };
                // §5.7: always an A query, whatever the client's address family.
                self.spend()?;
                match self.resolver.a(&target).await {
                    Lookup::Records(_) => Ok(true),
                    Lookup::NoData | Lookup::NxDomain => {
                        self.count_void()?;
                        Ok(false)
                    }
                    Lookup::Failed(_) => Err(temp("temperror_lookup")),
                }
            }
        }
    }
}

/// RFC 7208 §4: `check_host(<ip>, <domain>, <sender>)`.
///
/// §4.3: a malformed `<domain>` (empty or over-long label, not multi-label,
/// domain literal) gives `none`; an empty local-part of `<sender>` becomes
/// `postmaster`. §4.4: a DNS failure of the record lookup gives `temperror`,
/// NXDOMAIN or no SPF record gives `none`. §4.5: several SPF records or a
/// syntax error give `permerror`.
pub async fn check_host<R: Resolver>(
    resolver: &R,
    params: &CheckHostParams,
    limits: &Limits,
) -> SpfVerdict {
    let ip = match params.ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    let (local, sdomain) = match params.sender.rfind('@') {
        Some(p) => (&params.sender[..p], &params.sender[p + 1..]),
        None => ("", params.sender.as_str()),
    };
    let local_part = if local.is_empty() {
        "postmaster"
    } else {
        local
    };
    let mut ev = Eval {
        resolver,
        limits,
        ip,
        sender: format!("{local_part}@{sdomain}"),
        local_part: local_part.to_string(),
        sender_domain: sdomain.to_string(),
        helo: params.helo.clone(),
        receiver: params.receiver.clone(),
        timestamp: params.timestamp,
        dns_terms: 0,
        voids: 0,
        queries: 0,
        ptr_cache: None,
    };
    let (result, explanation, reason) = if !is_valid_domain(&params.domain) {
        (SpfResult::None, None, Some("invalid_domain"))
    } else {
        match ev.check(params.domain.clone(), 0).await {
            Ok(Found::NoRecord) => (SpfResult::None, None, Some("no_record")),
            Ok(Found::Result(r, e)) => (r, e, None),
            Err(a) => (a.result, None, Some(a.reason)),
        }
    };
    SpfVerdict {
        result,
        explanation,
        reason,
        dns_terms: ev.dns_terms,
        void_lookups: ev.voids,
        queries: ev.queries,
    }
}
