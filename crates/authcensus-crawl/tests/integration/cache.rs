//! The shared DNS cache: a repeated include is resolved once per run;
//! negative answers are cached, failures are not; waiters handed a failure
//! ask once more.

use authcensus_crawl::{CachingResolver, CrawlContext, crawl_domain};
use authcensus_records::dns::{
    DnsFailure, Lookup, MemoryResolver, RecordType, Resolver, TxtRecord,
};

use crate::domain::{Org, Slow, org, settings, target};

/// Delay of the [`Slow`] resolver in the coalescing tests.
const SLOW: std::time::Duration = std::time::Duration::from_millis(50);

fn include_universe() -> MemoryResolver {
    let mut r = MemoryResolver::new();
    for d in ["a.example", "b.example", "c.example"] {
        r.add_txt(d, TxtRecord::single("v=spf1 include:_spf.google.com ~all"));
    }
    r.add_txt(
        "_spf.google.com",
        TxtRecord::single("v=spf1 include:_netblocks.google.com ~all"),
    )
    .add_txt(
        "_netblocks.google.com",
        TxtRecord::single("v=spf1 ip4:192.0.2.0/24 ~all"),
    );
    r
}

#[tokio::test]
async fn repeated_include_is_resolved_once() {
    let ctx: CrawlContext<MemoryResolver, Org> =
        CrawlContext::new(include_universe(), org as Org, settings()).unwrap();
    let mut queries = Vec::new();
    for d in ["a.example", "b.example", "c.example"] {
        let row = crawl_domain(&ctx, &target(d)).await;
        assert_eq!(row.spf_status, "valid");
        assert_eq!(row.spf_dns_lookups, Some(2));
        queries.push(row.dns_queries);
    }
    let log = ctx.resolver.inner().query_log();
    let count = |name: &str| {
        log.iter()
            .filter(|(n, t)| n == name && *t == RecordType::Txt)
            .count()
    };
    assert_eq!(count("_spf.google.com"), 1);
    assert_eq!(count("_netblocks.google.com"), 1);
    // The first domain paid for the two includes and the shared RFC 9989
    // tree-walk step `_dmarc.example`; the others did not. Per domain:
    // TXT, MX, _dmarc.<d>, _mta-sts, _smtp._tls, default._bimi, NS.
    assert_eq!(queries, vec![10, 7, 7]);
    let stats = ctx.resolver.stats();
    assert_eq!(stats.misses, ctx.resolver.inner().query_count());
    // The cache holds the shared names only: the two includes and
    // `_dmarc.example`, a hit for b and c (their SPF outcomes come from the
    // SPF memo, so the includes are not asked again). A domain's own names
    // (`_dmarc.<d>`, asked by both discoveries, `default._bimi.<d>`, its NS)
    // go past it, once each.
    assert_eq!((stats.hits, stats.entries), (2, 3), "{stats:?}");
}

/// A domain's own names go past the shared cache; the same names asked by
/// other domains (a subdomain's DMARC tree walk and organisational-domain
/// fallback, its registrable domain's NS) go through it: the parent's
/// `_dmarc` and NS are sent once more by the first subdomain, then cached.
#[tokio::test]
async fn own_names_bypass_the_cache_shared_ones_do_not() {
    let mut r = MemoryResolver::new();
    r.add_txt(
        "_dmarc.org.example",
        TxtRecord::single("v=DMARC1; p=reject"),
    )
    .add_ns("org.example", "ns1.dns.example");
    let ctx: CrawlContext<MemoryResolver, Org> =
        CrawlContext::new(r, org as Org, settings()).unwrap();
    for d in ["org.example", "a.org.example", "b.org.example"] {
        let row = crawl_domain(&ctx, &target(d)).await;
        assert_eq!(row.dmarc_policy.as_deref(), Some("reject"), "{d}");
    }
    let log = ctx.resolver.inner().query_log();
    let count =
        |name: &str, t: RecordType| log.iter().filter(|(n, q)| n == name && *q == t).count();
    // org.example's two discoveries share one query; a.org.example's walk
    // and fallback reach it through the cache (one more query), b's is a hit.
    assert_eq!(count("_dmarc.org.example", RecordType::Txt), 2);
    assert_eq!(count("org.example", RecordType::Ns), 2);
    for d in ["a.org.example", "b.org.example"] {
        assert_eq!(count(&format!("_dmarc.{d}"), RecordType::Txt), 1, "{d}");
        assert_eq!(
            count(&format!("default._bimi.{d}"), RecordType::Txt),
            1,
            "{d}"
        );
    }
    let stats = ctx.resolver.stats();
    assert_eq!(stats.misses, ctx.resolver.inner().query_count());
}

#[tokio::test]
async fn negative_answers_cached_failures_not() {
    let mut m = MemoryResolver::new();
    m.add_name("nodata.example")
        .fail("down.example", RecordType::Txt, DnsFailure::ServFail);
    let c = CachingResolver::new(m, 1 << 16);
    for _ in 0..3 {
        assert_eq!(c.txt("missing.example").await, Lookup::NxDomain);
        assert_eq!(c.txt("nodata.example").await, Lookup::NoData);
        assert_eq!(
            c.txt("down.example").await,
            Lookup::Failed(DnsFailure::ServFail)
        );
    }
    // NXDOMAIN and NODATA once each, the failure every time.
    assert_eq!(c.inner().query_count(), 1 + 1 + 3);
    let stats = c.stats();
    assert_eq!((stats.hits, stats.misses), (4, 5));
    // Types are cached apart.
    assert_eq!(c.a("nodata.example").await, Lookup::NoData);
    assert_eq!(c.inner().query_count(), 6);
}

#[tokio::test]
async fn capacity_bounds_the_cache_and_zero_disables_it() {
    let mut m = MemoryResolver::new();
    for i in 0..500 {
        m.add_txt(&format!("n{i}.example"), TxtRecord::single("x"));
    }
    // Each entry weighs about 110 bytes (name, overhead, one 1-byte string).
    let c = CachingResolver::new(m, 5_000);
    for i in 0..500 {
        let _ = c.txt(&format!("n{i}.example")).await;
    }
    let entries = c.stats().entries;
    assert!(entries > 0 && entries <= 50, "{:?}", c.stats());
    assert!(c.stats().bytes <= 5_000, "{:?}", c.stats());
    let off = CachingResolver::new(MemoryResolver::new(), 0);
    let _ = off.txt("x.example").await;
    let _ = off.txt("x.example").await;
    assert_eq!(off.inner().query_count(), 2);
    assert_eq!(off.stats().entries, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_queries_are_coalesced() {
    let mut m = MemoryResolver::new();
    m.add_txt("_spf.google.com", TxtRecord::single("v=spf1 -all"))
        .fail("down.example", RecordType::Txt, DnsFailure::Timeout);
    // Answers after 50 ms, so the queries overlap.
    let c = std::sync::Arc::new(CachingResolver::new(Slow::new(m, SLOW), 1 << 16));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = std::sync::Arc::clone(&c);
        tasks.push(tokio::spawn(async move { c.txt("_spf.google.com").await }));
    }
    for t in tasks {
        assert!(matches!(t.await.unwrap(), Lookup::Records(r) if r.len() == 1));
    }
    assert_eq!(c.inner().inner.query_count(), 1);
    assert_eq!((c.stats().hits, c.stats().misses), (7, 1));
    // A failure handed to waiting callers is not their answer yet: they ask
    // once more, together (one more query, not one each), and that answer
    // is final. Failures are not stored: later callers ask again.
    let (x, y, z) = tokio::join!(
        c.txt("down.example"),
        c.txt("down.example"),
        c.txt("down.example")
    );
    assert_eq!(x, Lookup::Failed(DnsFailure::Timeout));
    assert_eq!(y, Lookup::Failed(DnsFailure::Timeout));
    assert_eq!(z, Lookup::Failed(DnsFailure::Timeout));
    assert_eq!(c.inner().inner.query_count(), 3);
    assert_eq!(
        c.txt("down.example").await,
        Lookup::Failed(DnsFailure::Timeout)
    );
    assert_eq!(c.inner().inner.query_count(), 4);
}

/// One failed query of a shared name stays the outcome of the caller that
/// sent it; the callers that were waiting on it ask again, together, and
/// get the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_handed_a_failure_ask_once_more_together() {
    let mut m = MemoryResolver::new();
    m.add_txt("_spf.google.com", TxtRecord::single("v=spf1 -all"));
    // The first query fails (a timeout after the resolver's retries), the
    // later ones answer; each after 50 ms.
    let slow = Slow {
        fail_first: 1,
        ..Slow::new(m, SLOW)
    };
    let c = std::sync::Arc::new(CachingResolver::new(slow, 1 << 16));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = std::sync::Arc::clone(&c);
        tasks.push(tokio::spawn(async move { c.txt("_spf.google.com").await }));
        // The first caller's query is under way before the others ask.
        tokio::task::yield_now().await;
    }
    let mut failed = 0;
    let mut answered = 0;
    for t in tasks {
        match t.await.unwrap() {
            Lookup::Failed(DnsFailure::Timeout) => failed += 1,
            Lookup::Records(r) if r.len() == 1 => answered += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((failed, answered), (1, 7));
    assert_eq!(
        c.inner().asked.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "one query per round"
    );
}
