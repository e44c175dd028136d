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

/// The distinct providers of `hosts`, in order of first appearance.
pub fn identify_all<S: AsRef<str>>(
    table: &'static [Provider],
    hosts: &[S],
) -> Vec<&'static Provider> {
    let mut out: Vec<&'static Provider> = Vec::new();
    for h in hosts {
        if let Some(p) = identify(table, h.as_ref())
            && !out.iter().any(|q| q.id == p.id)
        {
            out.push(p);
        }
    }
    out
}
