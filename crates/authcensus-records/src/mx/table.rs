//! The host-name pattern tables shared by the mailbox-provider and the
//! DNS-hosting-provider identification.

/// One way a host name can identify a provider. Host names are compared
/// lowercase without a trailing dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPattern {
    /// The host is this name or a subdomain of it (`protection.outlook.com`
    /// matches `x.mail.protection.outlook.com`, not `evilprotection.outlook.com`).
    Suffix(&'static str),
    /// The first label starts with `prefix` and the rest is a subdomain of (or
    /// equal to) `suffix`: `inbound-smtp.eu-west-1.amazonaws.com`.
    FirstLabel {
        /// Start of the first label.
        prefix: &'static str,
        /// Domain the host must be under (after the first label).
        suffix: &'static str,
    },
    /// Any label other than the first starts with this prefix
    /// (`ns-12.awsdns-34.co.uk` for `awsdns-`).
    LabelPrefix(&'static str),
}

fn is_under(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

impl HostPattern {
    /// True if `host` (lowercase, no trailing dot) matches.
    pub fn matches(&self, host: &str) -> bool {
        match *self {
            HostPattern::Suffix(s) => is_under(host, s),
            HostPattern::FirstLabel { prefix, suffix } => match host.split_once('.') {
                Some((first, rest)) => first.starts_with(prefix) && is_under(rest, suffix),
                None => false,
            },
            HostPattern::LabelPrefix(p) => host.split('.').skip(1).any(|l| l.starts_with(p)),
        }
    }
}

/// A provider known by the host names of its servers.
#[derive(Debug, PartialEq, Eq)]
pub struct Provider {
    /// Stable snake_case id (snapshot value).
    pub id: &'static str,
    /// Human-readable name.
    pub name: &'static str,
    /// Host patterns; any match identifies the provider.
    pub patterns: &'static [HostPattern],
}

/// The first provider of `table` (table order) with a pattern matching
/// `host`. The host is lowercased and one trailing dot removed first.
pub fn identify(table: &'static [Provider], host: &str) -> Option<&'static Provider> {
    let host = crate::name::normalize(host);
    if host.is_empty() {
        return None;
    }
    table
        .iter()
        .find(|p| p.patterns.iter().any(|pat| pat.matches(&host)))
}

/// `host` lowercased without one trailing dot, borrowed when it is already.
fn normalized(host: &str) -> std::borrow::Cow<'_, str> {
    if host.ends_with('.') || host.bytes().any(|b| b.is_ascii_uppercase()) {
        std::borrow::Cow::Owned(crate::name::normalize(host))
    } else {
        std::borrow::Cow::Borrowed(host)
    }
}

/// FNV-1a (64 bit) for the suffix index: its keys are the table's own
/// names, fixed at start, so a host name chosen to collide can only make one
/// lookup probe a few more of them; SipHash cost five times as much per
/// lookup.
#[derive(Debug, Clone, Copy, Default)]
struct Fnv;

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

#[derive(Debug)]
struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A provider table indexed by the names of its [`HostPattern::Suffix`]
/// patterns: [`ProviderIndex::identify`] answers as [`identify`] does with
/// a lookup per label of the host instead of a scan of every pattern (a
/// crawl identifies two or three host names per domain against tables of
/// some 75 patterns; the scans were about 2.5 % of the crawler's instructions).
#[derive(Debug)]
pub struct ProviderIndex {
    table: &'static [Provider],
    /// Suffix -> position of the first provider with that suffix pattern.
    by_suffix: std::collections::HashMap<&'static str, usize, Fnv>,
    /// The other patterns with their provider's position, in table order.
    others: Vec<(usize, &'static HostPattern)>,
}

impl ProviderIndex {
    /// Indexes `table`.
    pub fn new(table: &'static [Provider]) -> Self {
        let mut by_suffix = std::collections::HashMap::with_hasher(Fnv);
        let mut others = Vec::new();
        for (i, p) in table.iter().enumerate() {
            for pat in p.patterns {
                match pat {
                    HostPattern::Suffix(s) => {
                        by_suffix.entry(*s).or_insert(i);
                    }
                    _ => others.push((i, pat)),
                }
            }
        }
        ProviderIndex {
            table,
            by_suffix,
            others,
        }
    }

    /// The first provider of the table (table order) with a pattern
    /// matching `host`, as [`identify`]. A host is under a suffix exactly
    /// when the suffix is one of its [`crate::name::ancestors`].
    pub fn identify(&self, host: &str) -> Option<&'static Provider> {
        let host = normalized(host);
        if host.is_empty() {
            return None;
        }
        let mut best: Option<usize> = None;
        // The host and each name after one of its dots: its ancestors.
        let dots = host
            .bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'.')
            .map(|(i, _)| i + 1);
        for start in std::iter::once(0).chain(dots) {
            if let Some(&i) = host.get(start..).and_then(|name| self.by_suffix.get(name)) {
                best = Some(best.map_or(i, |b| b.min(i)));
            }
        }
        for &(i, pat) in &self.others {
            if best.is_some_and(|b| i >= b) {
                break;
            }
            if pat.matches(&host) {
                best = Some(i);
                break;
            }
        }
        self.table.get(best?)
    }

    /// The distinct providers of `hosts`, in order of first appearance, as
    /// [`identify_all`].
    pub fn identify_all<S: AsRef<str>>(&self, hosts: &[S]) -> Vec<&'static Provider> {
        distinct(hosts.iter().filter_map(|h| self.identify(h.as_ref())))
    }
}

/// `providers` without repeats (by id), in order of first appearance.
pub(crate) fn distinct(
    providers: impl Iterator<Item = &'static Provider>,
) -> Vec<&'static Provider> {
    let mut out: Vec<&'static Provider> = Vec::new();
    for p in providers {
        if !out.iter().any(|q| q.id == p.id) {
            out.push(p);
        }
    }
    out
}

/// The distinct providers of `hosts`, in order of first appearance.
pub fn identify_all<S: AsRef<str>>(
    table: &'static [Provider],
    hosts: &[S],
) -> Vec<&'static Provider> {
    distinct(hosts.iter().filter_map(|h| identify(table, h.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mx::{DNS_PROVIDERS, MAIL_PROVIDERS};

    /// Host names around every pattern of `table`: the pattern's own names
    /// with labels before them, inside them and glued to them, in other
    /// cases, with trailing dots and empty labels.
    fn hosts(table: &'static [Provider]) -> Vec<String> {
        let mut out = vec![String::new(), ".".into(), "com".into(), "x..com".into()];
        for p in table {
            for pat in p.patterns {
                let names: Vec<String> = match pat {
                    HostPattern::Suffix(s) => vec![(*s).to_string()],
                    HostPattern::FirstLabel { prefix, suffix } => {
                        vec![format!("{prefix}7.{suffix}"), (*suffix).to_string()]
                    }
                    HostPattern::LabelPrefix(l) => vec![format!("ns1.{l}12.net"), format!("{l}x")],
                };
                for n in names {
                    let tail = n.split_once('.').map_or("", |(_, t)| t).to_string();
                    out.extend([
                        n.clone(),
                        format!("mx1.{n}"),
                        format!("a.b.{n}."),
                        format!("x{n}"),
                        format!("mx.x{n}"),
                        n.to_ascii_uppercase(),
                        format!("{n}.evil.example"),
                        format!("mx..{n}"),
                        tail,
                    ]);
                }
            }
        }
        out
    }

    #[test]
    fn the_index_answers_as_the_table_scan() {
        for table in [MAIL_PROVIDERS, DNS_PROVIDERS] {
            let index = ProviderIndex::new(table);
            let hosts = hosts(table);
            let mut known = 0;
            for h in &hosts {
                let want = identify(table, h).map(|p| p.id);
                assert_eq!(index.identify(h).map(|p| p.id), want, "{h:?}");
                known += usize::from(want.is_some());
            }
            // Both answers were seen.
            assert!(
                known > 100 && known < hosts.len(),
                "{known} of {}",
                hosts.len()
            );
            let ids = |v: Vec<&'static Provider>| v.iter().map(|p| p.id).collect::<Vec<_>>();
            assert_eq!(
                ids(index.identify_all(&hosts)),
                ids(identify_all(table, &hosts))
            );
        }
    }
}
