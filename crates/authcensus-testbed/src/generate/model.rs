//! The universe model: published resource records, per-domain plans with their
//! ground truth, and the MTA-STS policy hosts. Zone files, policies, the
//! manifest and the truth Parquet are all written from this one model.

use serde::{Deserialize, Serialize};

/// Default TTL of every generated record.
pub const TTL: u32 = 3600;

/// One resource record in presentation form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rr {
    /// Owner name, lowercase A-labels, no trailing dot.
    pub owner: String,
    /// `A`, `AAAA`, `MX`, `TXT`, `CNAME`, `NS`, `SOA`.
    pub rtype: String,
    /// RDATA in zone-file presentation form (TXT: quoted strings).
    pub rdata: String,
}

impl Rr {
    /// A record of any type.
    pub fn new(owner: &str, rtype: &str, rdata: impl Into<String>) -> Self {
        Rr {
            owner: owner.to_string(),
            rtype: rtype.to_string(),
            rdata: rdata.into(),
        }
    }

    /// A TXT record whose text is split into strings of at most `chunk` bytes
    /// (RFC 1035 §3.3.14: a character-string holds at most 255 bytes).
    pub fn txt(owner: &str, text: &str, chunk: usize) -> Self {
        let chunk = chunk.clamp(1, 255);
        let bytes = text.as_bytes();
        let mut parts = Vec::new();
        for piece in bytes.chunks(chunk) {
            parts.push(quote(piece));
        }
        if parts.is_empty() {
            parts.push("\"\"".to_string());
        }
        Rr::new(owner, "TXT", parts.join(" "))
    }

    /// A TXT record with exactly these strings.
    pub fn txt_strings(owner: &str, strings: &[&str]) -> Self {
        let parts: Vec<String> = strings.iter().map(|s| quote(s.as_bytes())).collect();
        Rr::new(owner, "TXT", parts.join(" "))
    }
}

/// Quotes a character-string for a zone file (RFC 1035 §5.1): `"` and `\`
/// escaped, bytes outside printable ASCII as `\DDD`.
pub fn quote(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(b as char);
            }
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03}")),
        }
    }
    s.push('"');
    s
}

/// How the DNS server treats a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Existence {
    /// Published normally.
    Normal,
    /// In the input list, but no record exists anywhere at or below it.
    NxDomain,
    /// The server drops every query at or below this name (fault list).
    NeverAnswers,
}

/// The values the crawl must produce for one domain (the contract columns;
/// see `crate::CONTRACT`).
#[allow(missing_docs)] // each field is the snapshot column of the same name
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Truth {
    pub domain_status: String,
    pub spf_record: Option<String>,
    pub spf_status: String,
    pub spf_all: Option<String>,
    pub spf_dns_lookups: Option<i32>,
    pub spf_void_lookups: Option<i32>,
    pub dmarc_record: Option<String>,
    pub dmarc_status: String,
    pub dmarc_source: Option<String>,
    pub dmarc_found_at: Option<String>,
    pub dmarc_policy: Option<String>,
    pub dmarc_subdomain_policy: Option<String>,
    pub dmarc_pct: Option<i32>,
    pub dmarc_effective_policy: Option<String>,
    pub dmarc_rua: Vec<String>,
    pub mx_exchanges: Vec<String>,
    pub mx_null: bool,
    pub mx_provider: Option<String>,
    pub mta_sts_status: String,
    pub mta_sts_mode: Option<String>,
    pub mta_sts_mx_mismatch: Option<bool>,
    pub mta_sts_id: Option<String>,
    pub mta_sts_fetch_error: Option<String>,
    pub tlsrpt_status: String,
    pub bimi_status: String,
    pub bimi_logo_url: Option<String>,
}

/// A simple DMARC policy, published as `_dmarc.<domain>` TXT; the part of a
/// domain that `--evolve` changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmarcPlan {
    /// p=
    pub p: String,
    /// sp= if published.
    pub sp: Option<String>,
    /// pct= if published (absent means 100).
    pub pct: Option<i32>,
    /// rua= URIs.
    pub rua: Vec<String>,
}

impl DmarcPlan {
    /// The record text, tags in the conventional order.
    pub fn text(&self) -> String {
        let mut s = format!("v=DMARC1; p={}", self.p);
        if let Some(sp) = &self.sp {
            s.push_str(&format!("; sp={sp}"));
        }
        if let Some(pct) = self.pct {
            s.push_str(&format!("; pct={pct}"));
        }
        if !self.rua.is_empty() {
            s.push_str(&format!("; rua={}", self.rua.join(",")));
        }
        s
    }

    /// Fills the DMARC truth columns for a record found at the domain itself.
    pub fn apply_truth(&self, t: &mut Truth) {
        t.dmarc_record = Some(self.text());
        t.dmarc_status = "valid".into();
        t.dmarc_source = Some("domain".into());
        t.dmarc_policy = Some(self.p.clone());
        t.dmarc_subdomain_policy = self.sp.clone();
        t.dmarc_pct = Some(self.pct.unwrap_or(100));
        t.dmarc_effective_policy = Some(self.p.clone());
        t.dmarc_rua = self.rua.clone();
    }
}

/// One input domain: what is published for it and what the crawl must find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainPlan {
    /// The input name (A-label).
    pub name: String,
    /// Its registrable domain (PSL eTLD+1).
    pub registrable: String,
    /// Its public suffix.
    pub suffix: String,
    /// The hard case this domain plants, if any.
    pub case: Option<String>,
    /// How the server treats it.
    pub existence: Existence,
    /// Records published for it (owner at or below the name, or helper names).
    pub records: Vec<Rr>,
    /// Its structured DMARC policy (published in addition to `records`).
    pub dmarc: Option<DmarcPlan>,
    /// The expected crawl result.
    pub truth: Truth,
}

impl DomainPlan {
    /// Every record of the domain, DMARC included, in a stable order.
    pub fn all_records(&self) -> Vec<Rr> {
        let mut out = self.records.clone();
        if let Some(d) = &self.dmarc {
            out.push(Rr::txt(&format!("_dmarc.{}", self.name), &d.text(), 255));
        }
        out
    }
}

/// How the HTTPS server answers for one policy host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Serving {
    /// 200 `text/plain` with the policy body.
    Ok,
    /// This status code with a short body.
    Status {
        /// HTTP status.
        code: u16,
    },
    /// 200 with this content type.
    ContentType {
        /// The Content-Type header value.
        value: String,
    },
    /// 301 to this location.
    Redirect {
        /// The Location header value.
        location: String,
    },
    /// The TLS handshake presents a certificate for another host.
    BadCertificate,
    /// The connection is accepted and never answered.
    Timeout,
}

/// One MTA-STS policy host (`mta-sts.<domain>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyHost {
    /// Host name.
    pub host: String,
    /// Policy body served at `/.well-known/mta-sts.txt`.
    pub body: String,
    /// Serving behaviour.
    pub serving: Serving,
}

/// The whole universe before it is written out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Universe {
    /// Seed it was generated from.
    pub seed: u64,
    /// Generation number (0 for a fresh universe, +1 per `--evolve`).
    pub generation: u32,
    /// Input domains, sorted by name.
    pub domains: Vec<DomainPlan>,
    /// Shared records (provider include trees, MX hosts, hard-case helpers).
    pub shared: Vec<Rr>,
    /// MTA-STS policy hosts, sorted by host.
    pub policy_hosts: Vec<PolicyHost>,
    /// Planted hard cases.
    pub cases: Vec<super::cases::CaseInfo>,
}

/// The zone (one per TLD) that holds `name`.
pub fn zone_of(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}
