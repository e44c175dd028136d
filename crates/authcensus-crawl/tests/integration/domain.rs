//! `crawl_domain` against a MemoryResolver universe: every column.

use authcensus_crawl::{CrawlContext, CrawlSettings, CrawlTarget, crawl_domain};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use authcensus_records::dns::{
    DnsFailure, Lookup, MemoryResolver, MxRecord, RecordType, Resolver, TxtRecord,
};
use authcensus_store::SnapshotRow;

/// The organisational domain of the test universe: the last two labels
/// (every test name sits under a two-label "registrable" domain).
pub fn org(name: &str) -> Option<String> {
    let labels: Vec<&str> = name.split('.').collect();
    (labels.len() >= 2).then(|| labels[labels.len() - 2..].join("."))
}

pub type Org = fn(&str) -> Option<String>;

pub fn settings() -> CrawlSettings {
    CrawlSettings {
        system_roots: false,
        ..CrawlSettings::default()
    }
}

pub fn target(domain: &str) -> CrawlTarget {
    CrawlTarget {
        domain: domain.to_string(),
        registrable_domain: org(domain),
        public_suffix: Some(String::from("example")),
        source: String::from("test"),
        tag: Some(String::from("t1")),
        rank: Some(7),
    }
}

fn universe() -> MemoryResolver {
    let mut r = MemoryResolver::new();
    let txt = |s: &str| TxtRecord::single(s);
    // full.example: every protocol present.
    r.add_txt(
        "full.example",
        TxtRecord::from_strings(["v=spf1 include:_spf.provider.example", " -all"]),
    )
    .add_txt("full.example", txt("google-site-verification=abc"))
    .add_txt("_spf.provider.example", txt("v=spf1 ip4:192.0.2.0/24 ~all"))
    .add_txt(
        "_dmarc.full.example",
        txt("v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:a@full.example; ruf=mailto:f@full.example"),
    )
    .add_mx("full.example", 20, "alt1.aspmx.l.google.com")
    .add_mx("full.example", 10, "aspmx.l.google.com")
    .add_txt("_smtp._tls.full.example", txt("v=TLSRPTv1; rua=mailto:tls@full.example"))
    .add_txt("default._bimi.full.example", txt("v=BIMI1; l=; a=;"))
    .add_ns("full.example", "kara.ns.cloudflare.com")
    .add_ns("full.example", "bob.ns.cloudflare.com");
    // org.example: organisational DMARC record with sp and np.
    r.add_txt(
        "_dmarc.org.example",
        txt("v=DMARC1; p=reject; sp=none; np=quarantine"),
    )
    .add_txt(
        "sub.org.example",
        txt("v=spf1 include:missing.example -all"),
    )
    .add_ns("org.example", "ns1.unknown-dns.example");
    // cname.example: CNAME'd _dmarc, null MX, SPF temperror.
    r.add_cname("_dmarc.cname.example", "_dmarc.report.example")
        .add_txt("_dmarc.report.example", txt("v=DMARC1; p=quarantine"))
        .add_mx("cname.example", 0, ".")
        .add_txt("cname.example", txt("v=spf1 include:broken.example -all"))
        .add_txt("broken.example", txt("v=spf1 -all"))
        .fail("broken.example", RecordType::Txt, DnsFailure::Timeout);
    // ext.example: rua/ruf at three other organisations: one authorises, one
    // does not, one's lookup fails; one at its own domain needs no check.
    r.add_txt(
        "_dmarc.ext.example",
        txt("v=DMARC1; p=none; rua=mailto:a@agg.example,mailto:b@nope.example,mailto:c@ext.example; ruf=mailto:d@flaky.example"),
    )
    .add_txt("ext.example._report._dmarc.agg.example", txt("v=DMARC1"))
    .add_txt("ext.example", txt("v=spf1 -all"))
    .fail(
        "ext.example._report._dmarc.flaky.example",
        RecordType::Txt,
        DnsFailure::ServFail,
    );
    // dead.example: the domain's own lookups time out.
    r.fail("dead.example", RecordType::Txt, DnsFailure::Timeout)
        .fail("dead.example", RecordType::Mx, DnsFailure::Timeout);
    // hostile.example: a huge record with control characters.
    let long = format!("v=spf1 ip4:192.0.2.1 \n{} -all", "x".repeat(6000));
    r.add_txt("hostile.example", TxtRecord::single(long));
    r
}

async fn crawl_one(name: &str) -> (SnapshotRow, CrawlContext<MemoryResolver, Org>) {
    let ctx: CrawlContext<MemoryResolver, Org> =
        CrawlContext::new(universe(), org as Org, settings()).unwrap();
    let row = crawl_domain(&ctx, &target(name)).await;
    (row, ctx)
}

fn asked(ctx: &CrawlContext<MemoryResolver, Org>, name: &str, rtype: RecordType) -> usize {
    let log = ctx.resolver.inner().query_log();
    log.iter().filter(|(n, t)| n == name && *t == rtype).count()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test]
async fn full_domain_fills_every_column() {
    let (row, ctx) = crawl_one("full.example").await;
    let sent = ctx.resolver.inner().query_count();
    let expected = SnapshotRow {
        domain: "full.example".into(),
        registrable_domain: Some("full.example".into()),
        public_suffix: Some("example".into()),
        input_source: "test".into(),
        input_tag: Some("t1".into()),
        input_rank: Some(7),
        crawled_at_us: row.crawled_at_us,
        domain_status: "ok".into(),
        spf_record: Some("v=spf1 include:_spf.provider.example -all".into()),
        spf_status: "valid".into(),
        spf_all: Some("-all".into()),
        spf_dns_lookups: Some(1),
        spf_void_lookups: Some(0),
        spf_errors: vec![],
        spf_dns_status: "answer".into(),
        dmarc_record: Some("v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:a@full.example; ruf=mailto:f@full.example".into()),
        dmarc_status: "valid".into(),
        dmarc_source: Some("domain".into()),
        dmarc_found_at: Some("full.example".into()),
        dmarc_policy: Some("reject".into()),
        dmarc_subdomain_policy: Some("quarantine".into()),
        dmarc_nonexistent_policy: None,
        dmarc_pct: Some(50),
        dmarc_effective_policy: Some("reject".into()),
        dmarc_rua: s(&["mailto:a@full.example"]),
        dmarc_ruf: s(&["mailto:f@full.example"]),
        dmarc_errors: vec![],
        dmarc_external_unauthorized: vec![],
        dmarc_org_domain_treewalk: None,
        dmarc_org_domain_psl: Some("full.example".into()),
        dmarc_rfc7489_status: "valid".into(),
        dmarc_rfc7489_effective_policy: Some("reject".into()),
        mx_exchanges: s(&["aspmx.l.google.com", "alt1.aspmx.l.google.com"]),
        mx_null: false,
        mx_dns_status: "answer".into(),
        mx_provider: Some("google".into()),
        mta_sts_status: "none".into(),
        mta_sts_mode: None,
        mta_sts_mx_mismatch: None,
        mta_sts_id: None,
        mta_sts_fetch_error: None,
        tlsrpt_status: "valid".into(),
        tlsrpt_rua: s(&["mailto:tls@full.example"]),
        bimi_status: "declined".into(),
        bimi_logo_url: None,
        bimi_authority_url: None,
        ns_hosts: s(&["bob.ns.cloudflare.com", "kara.ns.cloudflare.com"]),
        dns_provider: Some("cloudflare".into()),
        records_truncated: false,
        dns_queries: row.dns_queries,
    };
    assert_eq!(row, expected);
    // A fresh cache: every query the row counts reached the resolver, once.
    assert_eq!(row.dns_queries as u64, sent);
    // TXT+MX, SPF include, _dmarc (shared by both standards), _mta-sts,
    // _smtp._tls, default._bimi, NS.
    assert_eq!(row.dns_queries, 8);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    assert!((now - row.crawled_at_us).abs() < 60_000_000);
}

#[tokio::test]
async fn organizational_dmarc_and_spf_permerror() {
    let (row, _) = crawl_one("sub.org.example").await;
    assert_eq!(row.domain_status, "ok");
    assert_eq!(row.spf_status, "permerror");
    assert_eq!(row.spf_errors, s(&["missing_include_target"]));
    assert_eq!(row.spf_dns_lookups, Some(1));
    // The analyzer reports a missing include target as its own finding, not
    // as a void lookup (records crate, spf::analyze counting policy).
    assert_eq!(row.spf_void_lookups, Some(0));
    assert_eq!(row.dmarc_status, "valid");
    assert_eq!(row.dmarc_source.as_deref(), Some("organizational"));
    assert_eq!(row.dmarc_found_at.as_deref(), Some("org.example"));
    assert_eq!(row.dmarc_policy.as_deref(), Some("reject"));
    assert_eq!(row.dmarc_subdomain_policy.as_deref(), Some("none"));
    assert_eq!(row.dmarc_nonexistent_policy.as_deref(), Some("quarantine"));
    // An existing subdomain gets sp (RFC 9989 §4.10.1 / RFC 7489 §6.6.3).
    assert_eq!(row.dmarc_effective_policy.as_deref(), Some("none"));
    assert_eq!(row.dmarc_pct, Some(100));
    assert_eq!(
        row.dmarc_org_domain_treewalk.as_deref(),
        Some("org.example")
    );
    assert_eq!(row.dmarc_org_domain_psl.as_deref(), Some("org.example"));
    assert_eq!(row.dmarc_rfc7489_status, "valid");
    assert_eq!(row.dmarc_rfc7489_effective_policy.as_deref(), Some("none"));
    assert_eq!(row.mx_dns_status, "nodata");
    assert!(row.mx_exchanges.is_empty() && !row.mx_null && row.mx_provider.is_none());
    assert_eq!(row.ns_hosts, s(&["ns1.unknown-dns.example"]));
    assert_eq!(row.dns_provider, None);
    assert_eq!(row.tlsrpt_status, "none");
    assert_eq!(row.bimi_status, "none");
}

#[tokio::test]
async fn nonexistent_subdomain_gets_np() {
    let (row, _) = crawl_one("gone.org.example").await;
    assert_eq!(row.domain_status, "nxdomain");
    assert_eq!(row.spf_status, "none");
    assert_eq!(row.spf_dns_status, "nxdomain");
    assert_eq!(row.spf_record, None);
    assert_eq!(row.spf_dns_lookups, None);
    assert_eq!(row.mx_dns_status, "nxdomain");
    assert_eq!(row.dmarc_source.as_deref(), Some("organizational"));
    // RFC 9989 np= applies to a non-existent subdomain; RFC 7489 has no np.
    assert_eq!(row.dmarc_effective_policy.as_deref(), Some("quarantine"));
    assert_eq!(row.dmarc_rfc7489_effective_policy.as_deref(), Some("none"));
}

#[tokio::test]
async fn cname_dmarc_null_mx_and_spf_temperror() {
    let (row, _) = crawl_one("cname.example").await;
    assert_eq!(row.domain_status, "ok");
    assert_eq!(row.dmarc_status, "valid");
    assert_eq!(row.dmarc_source.as_deref(), Some("domain"));
    assert_eq!(row.dmarc_record.as_deref(), Some("v=DMARC1; p=quarantine"));
    assert_eq!(row.dmarc_effective_policy.as_deref(), Some("quarantine"));
    assert!(row.mx_null);
    assert!(row.mx_exchanges.is_empty());
    assert_eq!(row.spf_status, "temperror");
    assert_eq!(row.spf_errors, s(&["temperror_lookup"]));
    assert_eq!(
        row.spf_record.as_deref(),
        Some("v=spf1 include:broken.example -all")
    );
}

#[tokio::test]
async fn timeouts_make_an_error_row() {
    let (row, ctx) = crawl_one("dead.example").await;
    let sent = ctx.resolver.inner().query_count();
    assert_eq!(row.domain_status, "error");
    assert_eq!(row.spf_status, "temperror");
    assert_eq!(row.spf_dns_status, "timeout");
    assert_eq!(row.mx_dns_status, "timeout");
    assert_eq!(row.spf_record, None);
    // The failed TXT and MX are asked once each: the SPF walk reuses them.
    assert_eq!(asked(&ctx, "dead.example", RecordType::Txt), 1);
    assert_eq!(asked(&ctx, "dead.example", RecordType::Mx), 1);
    assert_eq!(row.dns_queries as u64, sent);
}

#[tokio::test]
async fn hostile_text_is_escaped_and_bounded() {
    let (row, _) = crawl_one("hostile.example").await;
    let spf = row.spf_record.unwrap();
    assert!(row.records_truncated);
    assert_eq!(spf.len(), 4096);
    assert!(spf.starts_with("v=spf1 ip4:192.0.2.1 \\u{a}xxx"));
    assert!(!spf.chars().any(char::is_control));
}

#[tokio::test]
async fn external_report_destinations_are_verified() {
    let (row, ctx) = crawl_one("ext.example").await;
    assert_eq!(row.dmarc_status, "valid");
    assert_eq!(
        row.dmarc_external_unauthorized,
        s(&["mailto:b@nope.example"])
    );
    assert!(
        row.dmarc_errors
            .contains(&"external_destination_temperror".to_string()),
        "{:?}",
        row.dmarc_errors
    );
    for name in [
        "ext.example._report._dmarc.agg.example",
        "ext.example._report._dmarc.nope.example",
        "ext.example._report._dmarc.flaky.example",
    ] {
        assert_eq!(asked(&ctx, name, RecordType::Txt), 1, "{name}");
    }
    assert_eq!(
        asked(
            &ctx,
            "ext.example._report._dmarc.ext.example",
            RecordType::Txt
        ),
        0
    );
    // The full domain's reports stay inside its organisation: nothing to check.
    let (full, _) = crawl_one("full.example").await;
    assert!(full.dmarc_external_unauthorized.is_empty());
}

/// Answers after `delay` (on tokio's clock), like a resolver one round trip
/// away; with `only_under`, only names ending in it are delayed (and no
/// reverse lookups). The first `fail_first` queries (of any type, delayed
/// or not) end in a timeout instead of their answer, like a lookup that
/// lost all its attempts; `asked` counts the queries.
pub struct Slow {
    pub inner: MemoryResolver,
    pub delay: Duration,
    pub only_under: Option<&'static str>,
    pub fail_first: u32,
    pub asked: AtomicU32,
}

impl Slow {
    /// Every answer after `delay`.
    pub fn new(inner: MemoryResolver, delay: Duration) -> Self {
        Slow {
            inner,
            delay,
            only_under: None,
            fail_first: 0,
            asked: AtomicU32::new(0),
        }
    }

    async fn after<T>(&self, name: Option<&str>, answer: Lookup<T>) -> Lookup<T> {
        let n = self.asked.fetch_add(1, Ordering::SeqCst);
        let delayed = match (self.only_under, name) {
            (None, _) => true,
            (Some(suffix), Some(name)) => name.ends_with(suffix),
            (Some(_), None) => false,
        };
        if delayed {
            tokio::time::sleep(self.delay).await;
        }
        if n < self.fail_first {
            return Lookup::Failed(DnsFailure::Timeout);
        }
        answer
    }
}

impl Resolver for Slow {
    async fn txt(&self, name: &str) -> Lookup<TxtRecord> {
        self.after(Some(name), self.inner.txt(name).await).await
    }
    async fn a(&self, name: &str) -> Lookup<Ipv4Addr> {
        self.after(Some(name), self.inner.a(name).await).await
    }
    async fn aaaa(&self, name: &str) -> Lookup<Ipv6Addr> {
        self.after(Some(name), self.inner.aaaa(name).await).await
    }
    async fn mx(&self, name: &str) -> Lookup<MxRecord> {
        self.after(Some(name), self.inner.mx(name).await).await
    }
    async fn ptr(&self, ip: IpAddr) -> Lookup<String> {
        self.after(None, self.inner.ptr(ip).await).await
    }
    async fn ns(&self, name: &str) -> Lookup<String> {
        self.after(Some(name), self.inner.ns(name).await).await
    }
}

/// All of a domain's lookups start at once: a domain costs one round trip
/// plus what its records chain (an SPF include, a DMARC tree-walk step), and
/// a dead domain one round of timeouts, not one for its own TXT and MX and
/// another for the rest. Its own TXT and MX are still asked once each.
#[tokio::test(start_paused = true)]
async fn lookups_start_together_one_round_trip_per_chain_step() {
    let mut r = universe();
    let txt = |s: &str| TxtRecord::single(s);
    r.add_txt("one.example", txt("v=spf1 ip4:192.0.2.1 -all"))
        .add_txt("_dmarc.one.example", txt("v=DMARC1; p=reject"))
        .add_mx("one.example", 10, "mx.one.example")
        .add_txt("_dmarc.dead2.example", txt("v=DMARC1; p=none"))
        .fail("dead2.example", RecordType::Txt, DnsFailure::Timeout)
        .fail("dead2.example", RecordType::Mx, DnsFailure::Timeout);
    let rtt = Duration::from_millis(100);
    let ctx: CrawlContext<Slow, Org> =
        CrawlContext::new(Slow::new(r, rtt), org as Org, settings()).unwrap();
    for (domain, round_trips) in [
        ("one.example", 1),
        ("dead2.example", 1),
        // TXT, then its include.
        ("full.example", 2),
        // The RFC 9989 walk: _dmarc.gone.org.example (none), then
        // _dmarc.org.example and _dmarc.example, one after the other.
        ("gone.org.example", 3),
    ] {
        let t0 = tokio::time::Instant::now();
        let row = crawl_domain(&ctx, &target(domain)).await;
        assert_eq!(t0.elapsed(), rtt * round_trips, "{domain}: {row:?}");
        let log = ctx.resolver.inner().inner.query_log();
        for rtype in [RecordType::Txt, RecordType::Mx] {
            let n = log
                .iter()
                .filter(|(n, t)| n == domain && *t == rtype)
                .count();
            assert_eq!(n, 1, "{domain} {rtype:?}");
        }
    }
}
