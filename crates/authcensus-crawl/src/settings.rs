//! What to crawl ([`CrawlTarget`]) and the limits of a crawl ([`CrawlSettings`]).
//!
//! Every limit has a name, a documented default and a place in the run
//! manifest (`limits`, via [`CrawlSettings::manifest_limits`]).

use std::path::PathBuf;
use std::time::Duration;

use authcensus_records::spf::Limits;

/// One domain to survey, as the binary maps it from the input crate's items.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct CrawlTarget {
    /// Normalised A-label, lowercase, no trailing dot.
    pub domain: String,
    /// PSL eTLD+1; `None` when the name is itself a public suffix.
    pub registrable_domain: Option<String>,
    /// PSL public suffix.
    pub public_suffix: Option<String>,
    /// Source name of the input the domain came from.
    pub source: String,
    /// Per-input label (`--tag`).
    pub tag: Option<String>,
    /// Rank in a ranked list.
    pub rank: Option<i64>,
}

impl CrawlTarget {
    /// A target with only a domain and a source (tests, one-off runs).
    pub fn new(domain: &str, source: &str) -> Self {
        CrawlTarget {
            domain: domain.to_string(),
            source: source.to_string(),
            ..CrawlTarget::default()
        }
    }
}

/// The default User-Agent of MTA-STS policy fetches.
pub fn default_user_agent() -> String {
    format!(
        "authcensus/{} (+email-auth survey)",
        env!("CARGO_PKG_VERSION")
    )
}

/// RFC 8461 §3.3 suggests a policy body limit of 64 KiB.
pub const DEFAULT_MAX_POLICY_BODY: usize = authcensus_records::mta_sts::SUGGESTED_MAX_POLICY_SIZE;

/// Limits and knobs of one crawl. Serialised into the manifest's `limits`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CrawlSettings {
    /// Domains in flight at once (default 1024). A domain spends most of
    /// its time waiting: 3-5 round trips of lookups, some in parallel. Through
    /// a recursive resolver on the internet (20-200 ms per answer) 1024
    /// domains keep roughly 1,000-3,000 queries outstanding, about
    /// 5,000-20,000 queries/s; more only pays against a resolver that is both
    /// distant and fast (then raise it: each domain in flight costs a few
    /// tens of KiB).
    pub concurrency: usize,
    /// Threads crawling domains, each driving its own single-threaded
    /// runtime (a lane; `concurrency` is split among them). Default 1; the
    /// binary's `--threads` defaults to the number of CPUs. Not a limit on
    /// what is measured, so not in the manifest.
    #[serde(skip)]
    pub threads: usize,
    /// Added to each crawl thread's nice value (Linux; 0 leaves it alone,
    /// the library's default). The binary's `--nice` defaults to 10: a
    /// resolver on the same machine (Unbound, or Knot in the benchmarks)
    /// then runs as soon as a query reaches it instead of waiting for the
    /// crawl threads' time slices, so answers come back sooner and the
    /// crawl, bound by its in-flight window over the round trip, gets more
    /// done (`benches/README.md`, "Nice crawl threads"). Not a limit on what
    /// is measured, so not in the manifest.
    #[serde(skip)]
    pub nice: i32,
    /// SPF walk limits (RFC 7208 §4.6.4 and the analysis work bounds).
    #[serde(serialize_with = "ser_limits")]
    pub spf_limits: Limits,
    /// Total deadline of one MTA-STS policy fetch: connect, TLS, headers and
    /// body (default 20 s). RFC 8461 §3.3 suggests one minute and asks Policy
    /// Hosts to answer within it; a survey keeps its tail shorter, so a host
    /// answering after 20 s is recorded as a `timeout` fetch failure.
    #[serde(
        serialize_with = "ser_duration_ms",
        rename = "mta_sts_fetch_timeout_ms"
    )]
    pub mta_sts_fetch_timeout: Duration,
    /// Largest policy body read (default 64 KiB, RFC 8461 §3.3); more is `too_large`.
    pub max_policy_body: usize,
    /// User-Agent of the policy fetches.
    pub user_agent: String,
    /// TCP port of the Policy Host (default 443; other values only for tests and demos).
    pub https_port: u16,
    /// MTA-STS fetches in flight at once, whole crawl (default 64).
    pub https_concurrency: usize,
    /// MTA-STS fetches in flight at once per Policy Host address (default 2).
    pub per_host_https_concurrency: usize,
    /// Bytes of answers kept in the shared DNS cache (approximate, default
    /// 32 MiB; 0 disables the cache). The cache pays off for names many
    /// domains share (SPF includes, providers' `_dmarc`, NS of registrable
    /// domains): a few hundred thousand entries hold them; the rest are
    /// one-off answers, which filled the former 128 MiB default and made the
    /// resident memory grow with the run.
    pub dns_cache_bytes: u64,
    /// Bytes of outcomes kept in the "policy fetched once per (host, id)"
    /// map (approximate, bodies included; default 16 MiB; 0 disables it).
    pub fetch_memo_bytes: u64,
    /// Extra trust anchors (PEM) added to the system roots (`--ca-file`).
    pub ca_file: Option<PathBuf>,
    /// Load the operating system's trust anchors (default true; tests turn it off).
    pub system_roots: bool,
    /// BIMI selector looked up (default `default`).
    pub bimi_selector: String,
    /// Bytes kept of an SPF or DMARC record text (default 4096).
    pub max_record_text: usize,
    /// Bytes kept of a URI or other short text (default 1024).
    pub max_short_text: usize,
    /// Entries kept of a list column (default 64).
    pub max_list_items: usize,
}

impl Default for CrawlSettings {
    fn default() -> Self {
        CrawlSettings {
            concurrency: 1024,
            threads: 1,
            nice: 0,
            spf_limits: Limits::default(),
            mta_sts_fetch_timeout: Duration::from_secs(20),
            max_policy_body: DEFAULT_MAX_POLICY_BODY,
            user_agent: default_user_agent(),
            https_port: 443,
            https_concurrency: 64,
            per_host_https_concurrency: 2,
            dns_cache_bytes: 32 << 20,
            fetch_memo_bytes: 16 << 20,
            ca_file: None,
            system_roots: true,
            bimi_selector: String::from("default"),
            max_record_text: 4096,
            max_short_text: 1024,
            max_list_items: 64,
        }
    }
}

impl CrawlSettings {
    /// The settings as the manifest's `limits` object.
    pub fn manifest_limits(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn ser_duration_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn ser_limits<S: serde::Serializer>(l: &Limits, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut st = s.serialize_struct("Limits", 10)?;
    st.serialize_field("max_dns_terms", &l.max_dns_terms)?;
    st.serialize_field("max_void_lookups", &l.max_void_lookups)?;
    st.serialize_field("max_mx_names", &l.max_mx_names)?;
    st.serialize_field("max_ptr_names", &l.max_ptr_names)?;
    st.serialize_field("max_analysis_queries", &l.max_analysis_queries)?;
    st.serialize_field("max_eval_queries", &l.max_eval_queries)?;
    st.serialize_field("max_depth", &l.max_depth)?;
    st.serialize_field("max_terms_per_record", &l.max_terms_per_record)?;
    st.serialize_field("max_macro_expansion", &l.max_macro_expansion)?;
    st.serialize_field("max_explanation", &l.max_explanation)?;
    st.end()
}
