//! SPF include trees: the provider records, the real-world records drawn from
//! the shared mxmap data, their materialised include targets, and the
//! generator's own model of RFC 7208 §4.6.4 that gives the expected lookup
//! and void-lookup counts.
//!
//! Counting model (the same worst-case reading as the crawl's static
//! analysis): every `include`, `a`, `mx`, `ptr` and `exists` term counts 1;
//! `redirect=` counts 1 when the record has no `all` (RFC 7208 §6.1); an
//! include target is walked recursively, except a target already on the
//! current include path (a loop: counted, not followed, `permerror`).
//! Void lookups (§4.6.4): an `a` term whose name has no A/AAAA, an `mx` term
//! whose name has no MX. More than 10 lookups or 2 voids is `permerror`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::model::Rr;
use crate::rng::stable_hash;

/// RFC 7208 §4.6.4: at most 10 DNS-querying terms.
pub const MAX_LOOKUPS: u32 = 10;
/// RFC 7208 §4.6.4: at most 2 void lookups.
pub const MAX_VOIDS: u32 = 2;
/// Bound on include nesting in the model (the generator never builds deeper).
const MAX_DEPTH: u32 = 20;

/// One mail provider: MX hosts and the SPF include customers use.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Identifier used in the manifest (and the records crate's provider table where known).
    pub id: &'static str,
    /// `(preference, exchange)`; `{label}` is replaced by the customer domain with dots as dashes.
    pub mx: &'static [(u16, &'static str)],
    /// SPF include target customers reference.
    pub include: &'static str,
}

/// The provider mix (see README for the figures).
pub const PROVIDERS: &[(Provider, u32)] = &[
    (
        Provider {
            id: "google",
            mx: &[
                (1, "aspmx.l.google.com"),
                (5, "alt1.aspmx.l.google.com"),
                (5, "alt2.aspmx.l.google.com"),
                (10, "alt3.aspmx.l.google.com"),
                (10, "alt4.aspmx.l.google.com"),
            ],
            include: "_spf.google.com",
        },
        30,
    ),
    (
        Provider {
            id: "microsoft",
            mx: &[(0, "{label}.mail.protection.outlook.com")],
            include: "spf.protection.outlook.com",
        },
        35,
    ),
    (
        Provider {
            id: "hostco",
            mx: &[(10, "mx1.hostco-mail.net"), (20, "mx2.hostco-mail.net")],
            include: "spf.hostco-mail.net",
        },
        12,
    ),
    (
        Provider {
            id: "mailbox_eu",
            mx: &[(10, "mx.mailbox-eu.org")],
            include: "_spf.mailbox-eu.org",
        },
        8,
    ),
];

/// Share of MX domains that run their own mail server (`mail.<domain>`).
pub const SELF_HOSTED_WEIGHT: u32 = 15;

/// The shared SPF records of the providers' include trees.
fn provider_trees() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "_spf.google.com",
            "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com include:_netblocks3.google.com ~all",
        ),
        (
            "_netblocks.google.com",
            "v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip4:66.249.80.0/20 ip4:72.14.192.0/18 ip4:74.125.0.0/16 ip4:108.177.8.0/21 ip4:173.194.0.0/16 ip4:209.85.128.0/17 ip4:216.58.192.0/19 ip4:216.239.32.0/19 ~all",
        ),
        (
            "_netblocks2.google.com",
            "v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 ip6:2607:f8b0:4000::/36 ip6:2800:3f0:4000::/36 ip6:2a00:1450:4000::/36 ip6:2c0f:fb50:4000::/36 ~all",
        ),
        (
            "_netblocks3.google.com",
            "v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 ip4:172.217.128.0/19 ip4:108.177.96.0/19 ip4:35.191.0.0/16 ip4:130.211.0.0/22 ~all",
        ),
        (
            "spf.protection.outlook.com",
            "v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 ip4:52.100.0.0/15 ip4:52.102.0.0/16 ip4:104.47.0.0/17 ip6:2a01:111:f400::/48 ip6:2a01:111:f403::/49 include:spfd.protection.outlook.com -all",
        ),
        (
            "spfd.protection.outlook.com",
            "v=spf1 ip4:51.4.72.0/24 ip4:51.5.72.0/24 ip4:51.5.80.0/27 ip4:20.47.149.138/32 -all",
        ),
        (
            "spf.hostco-mail.net",
            "v=spf1 ip4:198.51.100.0/24 include:spf2.hostco-mail.net ~all",
        ),
        ("spf2.hostco-mail.net", "v=spf1 ip4:203.0.113.0/25 ~all"),
        ("_spf.mailbox-eu.org", "v=spf1 ip4:198.18.0.0/24 -all"),
    ]
}

/// Built-in typical records used when the shared data is absent.
const BUILTIN_REAL: &[&str] = &[
    "v=spf1 mx a include:spf.protection.outlook.com -all",
    "v=spf1 include:_spf.google.com ~all",
    "v=spf1 ip4:192.0.2.10 include:spf.protection.outlook.com include:_spf.mailbox-eu.org -all",
    "v=spf1 mx include:spf.hostco-mail.net ?all",
    "v=spf1 a mx ip4:198.51.100.25 ~all",
    "v=spf1 include:spf.protection.outlook.com include:_spf.google.com include:spf.hostco-mail.net -all",
];

/// One parsed term of a record the generator publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Term {
    Include(String),
    A(Option<String>),
    Mx(Option<String>),
    Redirect(String),
    All(char),
    Other,
}

/// RFC 7208 §7.1: `toplabel = ( *alphanum ALPHA *alphanum ) /
/// ( 1*alphanum "-" *( alphanum / "-" ) alphanum )` — an all-numeric last
/// label (`include:192.0.2.1`) is a syntax error, so such real records are
/// not drawn as valid ones.
fn valid_toplabel(l: &str) -> bool {
    let b = l.as_bytes();
    let alnum_only = b.iter().all(u8::is_ascii_alphanumeric);
    let has_alpha = b.iter().any(u8::is_ascii_alphabetic);
    let hyphenated = b.len() >= 3
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b.contains(&b'-');
    (alnum_only && has_alpha) || hyphenated
}

fn valid_target(t: &str) -> bool {
    t.len() <= 253
        && t.contains('.')
        && t.rsplit('.').next().is_some_and(valid_toplabel)
        && t.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Parses a record of the restricted grammar the generator accepts; `None`
/// for anything else (macros, `ptr`, `exists`, `exp=`, unknown terms).
fn terms(text: &str) -> Option<Vec<Term>> {
    let mut it = text.split_ascii_whitespace();
    if !it.next()?.eq_ignore_ascii_case("v=spf1") {
        return None;
    }
    let mut out = Vec::new();
    for tok in it {
        let lower = tok.to_ascii_lowercase();
        let (q, body) = match lower.as_bytes().first() {
            Some(b'+' | b'-' | b'~' | b'?') => (lower.chars().next().unwrap_or('+'), &lower[1..]),
            _ => ('+', lower.as_str()),
        };
        let target = |s: &str| -> Option<String> {
            let s = s.split('/').next().unwrap_or("").trim_end_matches('.');
            valid_target(s).then(|| s.to_string())
        };
        let term = if body == "all" {
            Term::All(q)
        } else if let Some(t) = body.strip_prefix("include:") {
            Term::Include(target(t)?)
        } else if let Some(t) = body.strip_prefix("redirect=") {
            Term::Redirect(target(t)?)
        } else if body == "a" || body.starts_with("a/") {
            Term::A(None)
        } else if let Some(t) = body.strip_prefix("a:") {
            Term::A(Some(target(t)?))
        } else if body == "mx" || body.starts_with("mx/") {
            Term::Mx(None)
        } else if let Some(t) = body.strip_prefix("mx:") {
            Term::Mx(Some(target(t)?))
        } else if body.starts_with("ip4:") || body.starts_with("ip6:") {
            if body.len() < 6 || body.contains('%') {
                return None;
            }
            Term::Other
        } else {
            return None;
        };
        out.push(term);
    }
    Some(out)
}

/// What the model expects for one domain's SPF.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpfExpect {
    /// Counted lookup terms.
    pub lookups: u32,
    /// Void lookups.
    pub voids: u32,
    /// `-all`, `~all`, `?all`, `+all` of the effective all term.
    pub all: Option<String>,
    /// A loop or a missing include target was met.
    pub broken: bool,
}

impl SpfExpect {
    /// The `spf_status` label: `permerror` past the limits or when broken.
    pub fn status(&self) -> &'static str {
        if self.broken || self.lookups > MAX_LOOKUPS || self.voids > MAX_VOIDS {
            "permerror"
        } else {
            "valid"
        }
    }
}

/// The SPF world: every shared SPF record and which names have A / MX.
#[derive(Debug, Clone, Default)]
pub struct SpfWorld {
    /// Name to SPF text of shared records (include/redirect targets).
    pub records: BTreeMap<String, String>,
    /// Shared names with an A record.
    pub a_names: BTreeSet<String>,
    /// Shared names with an MX record.
    pub mx_names: BTreeSet<String>,
    /// Real-world records usable as they are.
    pub real: Vec<String>,
    /// Where the real records came from.
    pub real_source: String,
}

impl SpfWorld {
    /// The provider trees plus the real records found under `realworld`
    /// (`mxmap/providers_{ch,at}.min.json`), or the built-in set.
    pub fn load(realworld: &Path) -> Self {
        let mut w = SpfWorld::default();
        for (name, text) in provider_trees() {
            w.records.insert(name.to_string(), text.to_string());
        }
        let mut real = BTreeSet::new();
        let mut files = Vec::new();
        for f in ["providers_ch.min.json", "providers_at.min.json"] {
            let p = realworld.join("mxmap").join(f);
            let parsed = std::fs::read(&p)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
            if let Some(v) = parsed {
                files.push(f);
                let list = v.get("municipalities").and_then(|m| m.as_array());
                for m in list.into_iter().flatten() {
                    if let Some(s) = m.get("spf").and_then(|s| s.as_str())
                        && s.len() <= 1000
                        && terms(s).is_some()
                    {
                        real.insert(s.trim().to_string());
                    }
                }
            }
        }
        if real.is_empty() {
            real.extend(BUILTIN_REAL.iter().map(|s| s.to_string()));
            w.real_source = "built-in".into();
        } else {
            w.real_source = format!("mxmap {}", files.join(", "));
        }
        w.real = real.into_iter().collect();
        let reals = w.real.clone();
        for r in &reals {
            w.materialise(r);
        }
        w
    }

    /// Gives every target of `text` something to find: include/redirect
    /// targets get a synthetic `ip4` record (chosen by the name's hash),
    /// `a:` targets an A record, `mx:` targets an MX record.
    fn materialise(&mut self, text: &str) {
        for t in terms(text).unwrap_or_default() {
            match t {
                Term::Include(n) | Term::Redirect(n) => {
                    self.records.entry(n).or_insert_with_key(|n| {
                        let h = stable_hash(n);
                        format!(
                            "v=spf1 ip4:198.{}.{}.0/24 {}all",
                            18 + (h % 2),
                            (h >> 8) % 256,
                            if h & 0x10000 == 0 { '-' } else { '~' }
                        )
                    });
                }
                Term::A(Some(n)) => {
                    self.a_names.insert(n);
                }
                Term::Mx(Some(n)) => {
                    self.mx_names.insert(n);
                }
                _ => {}
            }
        }
    }

    /// The shared records to publish (SPF TXT, A, MX).
    pub fn rrs(&self) -> Vec<Rr> {
        let mut out = Vec::new();
        for (n, t) in &self.records {
            out.push(Rr::txt(n, t, 255));
        }
        for n in &self.a_names {
            out.push(Rr::new(n, "A", "192.0.2.53"));
        }
        for n in &self.mx_names {
            out.push(Rr::new(n, "MX", format!("10 mx.{n}.")));
        }
        out
    }

    /// Expected analysis of `text` published at `domain`. `local` holds the
    /// domain's own SPF helper records; `has_a` / `has_mx` tell whether a
    /// non-shared name has A / MX records.
    pub fn expect(
        &self,
        domain: &str,
        text: &str,
        local: &BTreeMap<String, String>,
        has_a: &dyn Fn(&str) -> bool,
        has_mx: &dyn Fn(&str) -> bool,
    ) -> SpfExpect {
        let mut e = SpfExpect::default();
        let mut stack = vec![domain.to_string()];
        e.all = self.walk(domain, text, local, has_a, has_mx, &mut stack, &mut e, 0);
        e
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        domain: &str,
        text: &str,
        local: &BTreeMap<String, String>,
        has_a: &dyn Fn(&str) -> bool,
        has_mx: &dyn Fn(&str) -> bool,
        stack: &mut Vec<String>,
        e: &mut SpfExpect,
        depth: u32,
    ) -> Option<String> {
        let Some(ts) = terms(text) else {
            e.broken = true;
            return None;
        };
        if depth > MAX_DEPTH {
            e.broken = true;
            return None;
        }
        let find = |n: &str| local.get(n).or_else(|| self.records.get(n)).cloned();
        let a_ok = |n: &str| self.a_names.contains(n) || has_a(n);
        let mx_ok = |n: &str| self.mx_names.contains(n) || has_mx(n);
        let mut all = None;
        let mut redirect = None;
        for t in ts {
            match t {
                Term::Include(n) => {
                    e.lookups += 1;
                    if stack.contains(&n) {
                        e.broken = true;
                        continue;
                    }
                    match find(&n) {
                        Some(sub) => {
                            stack.push(n.clone());
                            self.walk(&n, &sub, local, has_a, has_mx, stack, e, depth + 1);
                            stack.pop();
                        }
                        None => e.broken = true,
                    }
                }
                Term::A(n) => {
                    e.lookups += 1;
                    if !a_ok(n.as_deref().unwrap_or(domain)) {
                        e.voids += 1;
                    }
                }
                Term::Mx(n) => {
                    e.lookups += 1;
                    if !mx_ok(n.as_deref().unwrap_or(domain)) {
                        e.voids += 1;
                    }
                }
                Term::Redirect(n) => redirect = Some(n),
                Term::All(q) => all = Some(format!("{q}all")),
                Term::Other => {}
            }
        }
        if all.is_none()
            && let Some(n) = redirect
        {
            e.lookups += 1;
            if stack.contains(&n) {
                e.broken = true;
                return None;
            }
            return match find(&n) {
                Some(sub) => {
                    stack.push(n.clone());
                    let r = self.walk(&n, &sub, local, has_a, has_mx, stack, e, depth + 1);
                    stack.pop();
                    r
                }
                None => {
                    e.broken = true;
                    None
                }
            };
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_targets_need_an_rfc7208_toplabel() {
        assert!(valid_target("_spf.example.com"));
        assert!(valid_target("spf.x-1.a-b"));
        assert!(!valid_target("193.186.94.36"));
        assert!(!valid_target("mail.example.-ab"));
        assert!(!valid_target("mail.example.a_b"));
        assert!(!valid_target("localhost"));
    }

    fn world() -> SpfWorld {
        SpfWorld::load(Path::new("/nonexistent"))
    }

    #[test]
    fn provider_counts() {
        let w = world();
        let none = BTreeMap::new();
        let no = |_: &str| false;
        let g = w.expect(
            "x.com",
            "v=spf1 include:_spf.google.com ~all",
            &none,
            &no,
            &no,
        );
        assert_eq!((g.lookups, g.voids, g.all.as_deref()), (4, 0, Some("~all")));
        let m = w.expect(
            "x.com",
            "v=spf1 mx a include:spf.protection.outlook.com -all",
            &none,
            &no,
            &no,
        );
        assert_eq!((m.lookups, m.voids, m.status()), (4, 2, "valid"));
        let r = w.expect("x.com", "v=spf1 redirect=_spf.google.com", &none, &no, &no);
        assert_eq!((r.lookups, r.all.as_deref()), (4, Some("~all")));
    }

    #[test]
    fn rejects_macros_and_ptr() {
        assert!(terms("v=spf1 ptr -all").is_none());
        assert!(terms("v=spf1 exists:%{i}.x.com -all").is_none());
        assert!(terms("v=spf1 include:_spf.google.com ~all").is_some());
    }
}
