//! The DNS lookup abstraction the protocol modules use for follow-up queries.
//!
//! The records crate never touches the network. Protocols that need further
//! lookups (SPF `include:`/`redirect=`/`a`/`mx`/`exists`, the DMARC tree walk,
//! BIMI organisational-domain fallback, MTA-STS) call a [`Resolver`]. RFC 7208
//! lookup counting happens in the callers and counts calls to this trait, so it
//! is deterministic whatever the network does.
//!
//! Every query outcome is data ([`Lookup`]): an NXDOMAIN, an empty answer
//! (NODATA) or a timeout is a result to be classified, not a Rust error.
//! CNAME chains are followed by the implementation; callers see the records
//! of the final target under the name they asked for.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a query produced no usable answer although the name may exist.
///
/// These map to SPF `temperror` (RFC 7208 §2.6.6), DMARC `temperror` and
/// "unknown" protocol statuses: a failed lookup is never a missing record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsFailure {
    /// RCODE 2 (SERVFAIL) after retries.
    ServFail,
    /// RCODE 5 (REFUSED) after retries.
    Refused,
    /// No answer within the deadline after retries.
    Timeout,
    /// Any other failure: another RCODE, a malformed reply, a network error.
    Other,
}

impl DnsFailure {
    /// Stable label used in snapshots and reports.
    pub fn label(self) -> &'static str {
        match self {
            DnsFailure::ServFail => "servfail",
            DnsFailure::Refused => "refused",
            DnsFailure::Timeout => "timeout",
            DnsFailure::Other => "error",
        }
    }
}

/// The outcome of one DNS query for one record type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    /// NOERROR with at least one record of the asked type (after CNAMEs).
    Records(Vec<T>),
    /// NOERROR with no record of the asked type (NODATA).
    NoData,
    /// RCODE 3: the name does not exist.
    NxDomain,
    /// The query failed; the name's existence is unknown.
    Failed(DnsFailure),
}

impl<T> Lookup<T> {
    /// True for NODATA and NXDOMAIN: "no answer" in the sense of RFC 7208 §4.6.4
    /// void lookups.
    pub fn is_void(&self) -> bool {
        matches!(self, Lookup::NoData | Lookup::NxDomain)
    }

    /// Stable label of the outcome (`answer`, `nodata`, `nxdomain`, or the failure label).
    pub fn label(&self) -> &'static str {
        match self {
            Lookup::Records(_) => "answer",
            Lookup::NoData => "nodata",
            Lookup::NxDomain => "nxdomain",
            Lookup::Failed(f) => f.label(),
        }
    }

    /// Maps the records, keeping the outcome.
    pub fn map<U>(self, f: impl FnOnce(Vec<T>) -> Vec<U>) -> Lookup<U> {
        match self {
            Lookup::Records(r) => Lookup::Records(f(r)),
            Lookup::NoData => Lookup::NoData,
            Lookup::NxDomain => Lookup::NxDomain,
            Lookup::Failed(e) => Lookup::Failed(e),
        }
    }
}

/// One TXT resource record: its character-strings as raw bytes.
///
/// RFC 1035 §3.3.14: TXT-DATA is one or more `<character-string>`s. RFC 7208
/// §3.3: the strings of one record are concatenated with no separator before
/// parsing. Bytes are kept raw: records are hostile and need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TxtRecord {
    /// The character-strings, each at most 255 octets on the wire.
    pub strings: Vec<Vec<u8>>,
}

impl TxtRecord {
    /// A record of one string.
    pub fn single(s: impl Into<Vec<u8>>) -> Self {
        TxtRecord {
            strings: vec![s.into()],
        }
    }

    /// A record from several strings.
    pub fn from_strings<I, S>(strings: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Vec<u8>>,
    {
        TxtRecord {
            strings: strings.into_iter().map(Into::into).collect(),
        }
    }

    /// The strings joined with no separator (RFC 7208 §3.3, RFC 7489 §6.6.3).
    pub fn joined(&self) -> Vec<u8> {
        self.strings.concat()
    }

    /// The joined text, with invalid UTF-8 replaced by U+FFFD (for display and storage).
    pub fn joined_lossy(&self) -> String {
        String::from_utf8_lossy(&self.joined()).into_owned()
    }
}

/// One MX resource record (RFC 1035 §3.3.9).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MxRecord {
    /// PREFERENCE: lower is preferred.
    pub preference: u16,
    /// EXCHANGE, lowercase, no trailing dot; `""` for the root (null MX, RFC 7505).
    pub exchange: String,
}

/// The lookups the protocol modules need.
///
/// Names are passed lowercase A-labels without a trailing dot. Implementations
/// follow CNAMEs, apply their own timeouts and retries, and report every
/// outcome as a [`Lookup`]. The futures are `Send` so the crawl may run them
/// on a multi-threaded runtime; this crate itself never spawns or blocks.
pub trait Resolver: Sync {
    /// TXT records at `name`.
    fn txt(&self, name: &str) -> impl Future<Output = Lookup<TxtRecord>> + Send;
    /// A records at `name`.
    fn a(&self, name: &str) -> impl Future<Output = Lookup<Ipv4Addr>> + Send;
    /// AAAA records at `name`.
    fn aaaa(&self, name: &str) -> impl Future<Output = Lookup<Ipv6Addr>> + Send;
    /// MX records at `name`.
    fn mx(&self, name: &str) -> impl Future<Output = Lookup<MxRecord>> + Send;
    /// PTR records for `ip` (names lowercase, no trailing dot).
    fn ptr(&self, ip: IpAddr) -> impl Future<Output = Lookup<String>> + Send;
    /// NS records at `name` (host names lowercase, no trailing dot), for
    /// identifying the DNS hosting provider.
    fn ns(&self, name: &str) -> impl Future<Output = Lookup<String>> + Send;
}

/// Record types the [`MemoryResolver`] serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// TXT
    Txt,
    /// A
    A,
    /// AAAA
    Aaaa,
    /// MX
    Mx,
    /// PTR
    Ptr,
    /// NS
    Ns,
}

#[derive(Debug, Default)]
struct NodeData {
    txt: Vec<TxtRecord>,
    a: Vec<Ipv4Addr>,
    aaaa: Vec<Ipv6Addr>,
    mx: Vec<MxRecord>,
    ptr: Vec<String>,
    ns: Vec<String>,
    cname: Option<String>,
}

/// An in-memory [`Resolver`] for tests, fixtures and the static analysis of
/// known records: names that were never added are NXDOMAIN, names that were
/// added but lack the asked type are NODATA, and failures can be planted per
/// name and type. It counts every query it answers.
#[derive(Debug, Default)]
pub struct MemoryResolver {
    nodes: HashMap<String, NodeData>,
    failures: HashMap<(String, RecordType), DnsFailure>,
    queries: AtomicU64,
    log: Mutex<Vec<(String, RecordType)>>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Most CNAMEs the memory resolver follows before answering SERVFAIL
/// (a loop or an over-long chain).
const MAX_CNAME_CHAIN: usize = 8;

impl MemoryResolver {
    /// An empty resolver: every name is NXDOMAIN.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `name` exist (NODATA for every type until records are added).
    pub fn add_name(&mut self, name: &str) -> &mut Self {
        self.nodes.entry(key(name)).or_default();
        self
    }

    /// Adds a TXT record.
    pub fn add_txt(&mut self, name: &str, record: TxtRecord) -> &mut Self {
        self.nodes.entry(key(name)).or_default().txt.push(record);
        self
    }

    /// Adds an A record.
    pub fn add_a(&mut self, name: &str, ip: Ipv4Addr) -> &mut Self {
        self.nodes.entry(key(name)).or_default().a.push(ip);
        self
    }

    /// Adds an AAAA record.
    pub fn add_aaaa(&mut self, name: &str, ip: Ipv6Addr) -> &mut Self {
        self.nodes.entry(key(name)).or_default().aaaa.push(ip);
        self
    }

    /// Adds an MX record.
    pub fn add_mx(&mut self, name: &str, preference: u16, exchange: &str) -> &mut Self {
        self.nodes.entry(key(name)).or_default().mx.push(MxRecord {
            preference,
            exchange: key(exchange),
        });
        self
    }

    /// Adds a PTR record at the reverse name of `ip`.
    pub fn add_ptr(&mut self, ip: IpAddr, target: &str) -> &mut Self {
        self.nodes
            .entry(reverse_name(ip))
            .or_default()
            .ptr
            .push(key(target));
        self
    }

    /// Adds an NS record.
    pub fn add_ns(&mut self, name: &str, host: &str) -> &mut Self {
        self.nodes.entry(key(name)).or_default().ns.push(key(host));
        self
    }

    /// Makes `name` a CNAME to `target` (followed for every type).
    pub fn add_cname(&mut self, name: &str, target: &str) -> &mut Self {
        self.nodes.entry(key(name)).or_default().cname = Some(key(target));
        self
    }

    /// Plants a failure for queries of `rtype` at `name`.
    pub fn fail(&mut self, name: &str, rtype: RecordType, failure: DnsFailure) -> &mut Self {
        self.failures.insert((key(name), rtype), failure);
        self
    }

    /// How many queries were answered so far.
    pub fn query_count(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Every query answered so far, in order.
    pub fn query_log(&self) -> Vec<(String, RecordType)> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn answer<T: Clone>(
        &self,
        name: &str,
        rtype: RecordType,
        get: impl Fn(&NodeData) -> &Vec<T>,
    ) -> Lookup<T> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let mut current = key(name);
        if let Ok(mut log) = self.log.lock() {
            log.push((current.clone(), rtype));
        }
        for _ in 0..=MAX_CNAME_CHAIN {
            if let Some(f) = self.failures.get(&(current.clone(), rtype)) {
                return Lookup::Failed(*f);
            }
            let Some(node) = self.nodes.get(&current) else {
                return Lookup::NxDomain;
            };
            if let Some(target) = &node.cname {
                current = target.clone();
                continue;
            }
            let records = get(node);
            return if records.is_empty() {
                Lookup::NoData
            } else {
                Lookup::Records(records.clone())
            };
        }
        Lookup::Failed(DnsFailure::ServFail)
    }
}

/// The reverse-mapping name of an address (`in-addr.arpa` / `ip6.arpa`,
/// RFC 1035 §3.5 and RFC 3596 §2.5), lowercase, no trailing dot.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

impl Resolver for MemoryResolver {
    fn txt(&self, name: &str) -> impl Future<Output = Lookup<TxtRecord>> + Send {
        std::future::ready(self.answer(name, RecordType::Txt, |n| &n.txt))
    }
    fn a(&self, name: &str) -> impl Future<Output = Lookup<Ipv4Addr>> + Send {
        std::future::ready(self.answer(name, RecordType::A, |n| &n.a))
    }
    fn aaaa(&self, name: &str) -> impl Future<Output = Lookup<Ipv6Addr>> + Send {
        std::future::ready(self.answer(name, RecordType::Aaaa, |n| &n.aaaa))
    }
    fn mx(&self, name: &str) -> impl Future<Output = Lookup<MxRecord>> + Send {
        std::future::ready(self.answer(name, RecordType::Mx, |n| &n.mx))
    }
    fn ptr(&self, ip: IpAddr) -> impl Future<Output = Lookup<String>> + Send {
        std::future::ready(self.answer(&reverse_name(ip), RecordType::Ptr, |n| &n.ptr))
    }
    fn ns(&self, name: &str) -> impl Future<Output = Lookup<String>> + Send {
        std::future::ready(self.answer(name, RecordType::Ns, |n| &n.ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn nxdomain_nodata_and_records_are_distinct() {
        let mut r = MemoryResolver::new();
        r.add_txt("Example.COM.", TxtRecord::from_strings(["v=spf1 ", "-all"]));
        r.add_name("empty.example");
        assert_eq!(
            block_on(r.txt("example.com")),
            Lookup::Records(vec![TxtRecord::from_strings(["v=spf1 ", "-all"])])
        );
        assert_eq!(block_on(r.a("example.com")), Lookup::NoData);
        assert_eq!(block_on(r.txt("empty.example")), Lookup::NoData);
        assert_eq!(block_on(r.txt("missing.example")), Lookup::NxDomain);
        r.add_ns("example.com", "NS1.Provider.example.");
        assert_eq!(
            block_on(r.ns("example.com")),
            Lookup::Records(vec!["ns1.provider.example".to_string()])
        );
        assert_eq!(r.query_count(), 5);
    }

    #[test]
    fn cname_is_followed_and_loops_fail() {
        let mut r = MemoryResolver::new();
        r.add_cname("_dmarc.a.example", "_dmarc.b.example");
        r.add_txt("_dmarc.b.example", TxtRecord::single("v=DMARC1; p=none"));
        r.add_cname("x.example", "y.example");
        r.add_cname("y.example", "x.example");
        assert!(matches!(block_on(r.txt("_dmarc.a.example")), Lookup::Records(v) if v.len() == 1));
        assert_eq!(
            block_on(r.txt("x.example")),
            Lookup::Failed(DnsFailure::ServFail)
        );
    }

    #[test]
    fn planted_failures_and_joined_strings() {
        let mut r = MemoryResolver::new();
        r.fail("t.example", RecordType::Txt, DnsFailure::Timeout);
        assert_eq!(
            block_on(r.txt("t.example")),
            Lookup::Failed(DnsFailure::Timeout)
        );
        assert_eq!(
            TxtRecord::from_strings(["v=spf1 include:a", ".example -all"]).joined(),
            b"v=spf1 include:a.example -all".to_vec()
        );
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("192.0.2.1".parse().unwrap()),
            "1.2.0.192.in-addr.arpa"
        );
        assert_eq!(
            reverse_name("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }
}
