//! The MTA-STS fetcher against an in-process HTTPS server: the 17
//! postfix-mta-sts-resolver scenarios end to end through `crawl_domain`,
//! then redirects, size cap, timeout, sharing and transport failures.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authcensus_crawl::{CrawlContext, MtaStsFetcher, crawl_domain};
use authcensus_records::dns::{MemoryResolver, RecordType, TxtRecord};
use authcensus_records::mta_sts::{
    FetchFailure, FetchProblem, PolicyFetch, TlsFailure, assess_fetch,
};

use crate::domain::{Org, org, target};
use crate::support::{CertKind, Site, TestServer};

#[derive(serde::Deserialize)]
struct Scenarios {
    scenarios: Vec<Scenario>,
}

#[derive(serde::Deserialize)]
struct Scenario {
    domain: String,
    txt: Option<String>,
    http_status: Option<u16>,
    content_type: Option<String>,
    cert: Option<String>,
    body: Option<String>,
    expect_policy: String,
}

/// Expected row values per scenario: (domain, mta_sts_status, mode,
/// mta_sts_fetch_error). The fetch-error column carries the fetch failure
/// code, or the policy parse error code for `invalid_policy`.
const EXPECTED: &[(&str, &str, Option<&str>, Option<&str>)] = &[
    ("good.loc", "valid", Some("enforce"), None),
    ("bad-record1.loc", "invalid_txt", None, None),
    ("bad-record2.loc", "invalid_txt", None, None),
    ("bad-record3.loc", "invalid_txt", None, None),
    ("no-record.loc", "none", None, None),
    (
        "bad-policy1.loc",
        "invalid_policy",
        None,
        Some("missing_colon"),
    ),
    (
        "bad-policy2.loc",
        "invalid_policy",
        None,
        Some("missing_mx"),
    ),
    (
        "bad-policy3.loc",
        "policy_fetch_failed",
        None,
        Some("content_type"),
    ),
    (
        "bad-policy4.loc",
        "policy_fetch_failed",
        None,
        Some("http_status"),
    ),
    (
        "bad-policy5.loc",
        "invalid_policy",
        None,
        Some("bad_max_age"),
    ),
    (
        "bad-policy6.loc",
        "invalid_policy",
        None,
        Some("max_age_too_large"),
    ),
    (
        "bad-policy7.loc",
        "invalid_policy",
        None,
        Some("missing_mode"),
    ),
    ("bad-policy8.loc", "invalid_policy", None, Some("bad_mode")),
    (
        "bad-cert1.loc",
        "policy_fetch_failed",
        None,
        Some("tls_invalid_certificate"),
    ),
    (
        "bad-cert2.loc",
        "policy_fetch_failed",
        None,
        Some("tls_invalid_certificate"),
    ),
    ("valid-none.loc", "valid", Some("none"), None),
    ("testing.loc", "valid", Some("testing"), None),
];

/// The coarse class the scenario's own `expect_policy` text names, checked
/// against [`EXPECTED`] so the table cannot drift from the vectors.
fn class_of(expect: &str) -> &'static str {
    if expect.starts_with("valid") {
        "valid"
    } else if expect.starts_with("no _mta-sts") {
        "none"
    } else if expect.starts_with("invalid TXT") {
        "invalid_txt"
    } else if expect.starts_with("fetch must fail")
        || expect.contains("Content-Type")
        || expect.contains("HTTP status")
    {
        "policy_fetch_failed"
    } else if expect.starts_with("invalid") {
        "invalid_policy"
    } else {
        "unknown"
    }
}

fn cert_kind(cert: Option<&str>) -> CertKind {
    match cert {
        Some(c) if c.starts_with("untrusted") => CertKind::OtherCa,
        Some(c) if c.starts_with("name mismatch") => CertKind::WrongName,
        _ => CertKind::Valid,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postfix_mta_sts_resolver_scenarios_end_to_end() {
    let Some(path) =
        authcensus_testsupport::shared_data("mta-sts/postfix-mta-sts-resolver/scenarios.json")
    else {
        return;
    };
    let file: Scenarios = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(file.scenarios.len(), 17);
    let names: BTreeSet<&str> = file.scenarios.iter().map(|s| s.domain.as_str()).collect();
    let table: BTreeSet<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(names, table, "the expectation table covers every scenario");

    let mut sites = HashMap::new();
    let mut dns = MemoryResolver::new();
    for sc in &file.scenarios {
        if let Some(txt) = &sc.txt {
            dns.add_txt(
                &format!("_mta-sts.{}", sc.domain),
                TxtRecord::single(txt.as_str()),
            );
        }
        dns.add_a(&format!("mta-sts.{}", sc.domain), Ipv4Addr::LOCALHOST);
        // testing.loc's MX is outside its policy: the mismatch column.
        let mx = if sc.domain == "testing.loc" {
            "mx.elsewhere.example"
        } else {
            "mail.loc"
        };
        dns.add_mx(&sc.domain, 10, mx);
        if let Some(status) = sc.http_status {
            sites.insert(
                sc.domain.clone(),
                Site {
                    cert: cert_kind(sc.cert.as_deref()),
                    status,
                    content_type: sc.content_type.clone(),
                    location: None,
                    body: sc.body.clone().unwrap_or_default().into_bytes(),
                    hang: false,
                    delay_ms: 0,
                    drip_bytes: 0,
                    drip_ms: 0,
                },
            );
        }
    }
    let server = TestServer::start(sites).await;
    let ctx: CrawlContext<MemoryResolver, Org> =
        CrawlContext::new(dns, org as Org, server.settings()).unwrap();
    let mut passed = 0;
    for sc in &file.scenarios {
        let (_, status, mode, error) = EXPECTED.iter().find(|e| e.0 == sc.domain).unwrap();
        assert_eq!(class_of(&sc.expect_policy), *status, "{}", sc.domain);
        let row = crawl_domain(&ctx, &target(&sc.domain)).await;
        assert_eq!(row.mta_sts_status, *status, "{}", sc.domain);
        assert_eq!(row.mta_sts_mode.as_deref(), *mode, "{}", sc.domain);
        assert_eq!(row.mta_sts_fetch_error.as_deref(), *error, "{}", sc.domain);
        let has_record = matches!(*status, "valid" | "invalid_policy" | "policy_fetch_failed");
        assert_eq!(row.mta_sts_id.is_some(), has_record, "{}", sc.domain);
        if has_record {
            assert_eq!(row.mta_sts_id.as_deref(), Some("20180907T090909"));
        }
        // testing.loc's MX is outside its patterns; valid-none.loc's policy
        // (mode none) has no mx patterns, so it covers no MX host (the
        // column states the fact; mode none is not special-cased).
        let uncovered = matches!(sc.domain.as_str(), "testing.loc" | "valid-none.loc");
        let mismatch = (*status == "valid").then_some(uncovered);
        assert_eq!(row.mta_sts_mx_mismatch, mismatch, "{}", sc.domain);
        // HTTP requests reach the server only when a valid record asks for
        // a fetch and the TLS handshake succeeds.
        let reached = has_record && !sc.domain.starts_with("bad-cert");
        assert_eq!(
            server.requests_for(&sc.domain),
            u64::from(reached),
            "{}",
            sc.domain
        );
        passed += 1;
    }
    // The Policy Host's address was asked once per fetched host: the fetch's
    // own lookup (counted in the row) and the connector's (a cache hit).
    let log = ctx.resolver.inner().query_log();
    let a_queries = |d: &str| {
        log.iter()
            .filter(|(n, t)| *n == format!("mta-sts.{d}") && *t == RecordType::A)
            .count()
    };
    assert_eq!(a_queries("good.loc"), 1);
    assert_eq!(a_queries("no-record.loc"), 0);
    println!("postfix-mta-sts-resolver scenarios: {passed}/17 passed");
    assert_eq!(passed, 17);
}

struct Rig {
    server: TestServer,
    fetcher: MtaStsFetcher<MemoryResolver>,
}

async fn rig(sites: Vec<(&str, Site)>, timeout: Duration) -> Rig {
    rig_with(sites, timeout, 2).await
}

async fn rig_with(sites: Vec<(&str, Site)>, timeout: Duration, per_host: usize) -> Rig {
    let mut dns = MemoryResolver::new();
    for (d, _) in &sites {
        dns.add_a(&format!("mta-sts.{d}"), Ipv4Addr::LOCALHOST);
    }
    let server =
        TestServer::start(sites.into_iter().map(|(d, s)| (d.to_string(), s)).collect()).await;
    let mut settings = server.settings();
    settings.mta_sts_fetch_timeout = timeout;
    settings.per_host_https_concurrency = per_host;
    let fetcher = MtaStsFetcher::new(Arc::new(dns), &settings).unwrap();
    Rig { server, fetcher }
}

const POLICY: &str = "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n";

fn failure(f: &PolicyFetch) -> Option<FetchFailure> {
    match assess_fetch(f, 64 * 1024) {
        Err(FetchProblem::Failed(f)) => Some(f),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_is_not_followed() {
    let mut site = Site::ok("text/plain", "moved");
    site.status = 301;
    site.location = Some("https://mta-sts.target.loc/.well-known/mta-sts.txt".into());
    let r = rig(
        vec![
            ("moved.loc", site),
            ("target.loc", Site::ok("text/plain", POLICY)),
        ],
        Duration::from_secs(5),
    )
    .await;
    let f = r.fetcher.fetch("moved.loc", "1").await;
    let PolicyFetch::Response(resp) = &f else {
        panic!("{f:?}")
    };
    assert_eq!(resp.status, 301);
    assert_eq!(
        resp.location.as_deref(),
        Some("https://mta-sts.target.loc/.well-known/mta-sts.txt")
    );
    assert_eq!(failure(&f), Some(FetchFailure::Redirect));
    assert_eq!(r.server.requests_for("target.loc"), 0);
    assert_eq!(r.server.requests_for("moved.loc"), 1);
    assert_eq!(r.server.total.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_64k_is_too_large() {
    let big = format!("{POLICY}{}", "x".repeat(70 * 1024));
    let exact = format!("{POLICY}{}", "#".repeat(64 * 1024 - POLICY.len()));
    let r = rig(
        vec![
            ("big.loc", Site::ok("text/plain", &big)),
            ("exact.loc", Site::ok("text/plain", &exact)),
        ],
        Duration::from_secs(5),
    )
    .await;
    let f = r.fetcher.fetch("big.loc", "1").await;
    let PolicyFetch::Response(resp) = &f else {
        panic!("{f:?}")
    };
    assert!(resp.truncated);
    assert_eq!(resp.body.len(), 64 * 1024);
    assert_eq!(failure(&f), Some(FetchFailure::TooLarge));
    // Exactly 64 KiB is read whole and is not cut.
    let f = r.fetcher.fetch("exact.loc", "1").await;
    let PolicyFetch::Response(resp) = &f else {
        panic!("{f:?}")
    };
    assert!(!resp.truncated);
    assert_eq!(resp.body.len(), 64 * 1024);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_times_out_within_the_deadline() {
    let mut site = Site::ok("text/plain", POLICY);
    site.hang = true;
    let r = rig(vec![("slow.loc", site)], Duration::from_millis(800)).await;
    let start = Instant::now();
    let f = r.fetcher.fetch("slow.loc", "1").await;
    let took = start.elapsed();
    assert_eq!(f, PolicyFetch::Timeout);
    assert!(
        took >= Duration::from_millis(700) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(r.server.requests_for("slow.loc"), 1);
}

/// A 10 MB policy dripped 1 KiB every 20 ms (a slowloris server, which
/// would take over three minutes to send it): the fetch ends at its deadline
/// or at the 64 KiB cap, whichever comes first, never reading the whole body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_10_mb_policy_is_cut_at_the_deadline() {
    let body = format!("{POLICY}{}", "#".repeat(10 * 1024 * 1024));
    let mut site = Site::ok("text/plain", &body);
    site.drip_bytes = 1024;
    site.drip_ms = 20;
    let r = rig(vec![("drip.loc", site)], Duration::from_millis(800)).await;
    let start = Instant::now();
    let f = r.fetcher.fetch("drip.loc", "1").await;
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "bounded by the 0.8 s deadline: {took:?}"
    );
    match &f {
        PolicyFetch::Timeout => {}
        PolicyFetch::Response(resp) => {
            assert!(resp.body.len() <= 64 * 1024, "{}", resp.body.len());
            assert!(failure(&f).is_some(), "{f:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.server.requests_for("drip.loc"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_is_fetched_once_per_host_and_id() {
    let r = rig(
        vec![("shared.loc", Site::ok("text/plain", POLICY))],
        Duration::from_secs(5),
    )
    .await;
    let (a, b) = tokio::join!(
        r.fetcher.fetch("shared.loc", "20240101"),
        r.fetcher.fetch("shared.loc", "20240101")
    );
    assert_eq!(a, b);
    assert!(
        matches!(&a, PolicyFetch::Response(x) if x.status == 200 && x.body == POLICY.as_bytes())
    );
    let c = r.fetcher.fetch("SHARED.loc.", "20240101").await;
    assert_eq!(a, c);
    assert_eq!(r.server.requests_for("shared.loc"), 1);
    // A new policy id is a new policy: fetched again.
    let _ = r.fetcher.fetch("shared.loc", "20240102").await;
    assert_eq!(r.server.requests_for("shared.loc"), 2);
    let stats = r.fetcher.stats();
    assert_eq!((stats.requests, stats.shared), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_to_one_address_are_limited() {
    let delayed = || {
        let mut s = Site::ok("text/plain", POLICY);
        s.delay_ms = 600;
        s
    };
    // Two Policy Hosts on one address (127.0.0.1): with a per-address limit
    // of 1 the second fetch waits for the first.
    let r = rig_with(
        vec![("p1.loc", delayed()), ("p2.loc", delayed())],
        Duration::from_secs(10),
        1,
    )
    .await;
    let start = Instant::now();
    let (a, b) = tokio::join!(
        r.fetcher.fetch("p1.loc", "1"),
        r.fetcher.fetch("p2.loc", "1")
    );
    let serial = start.elapsed();
    assert!(matches!(a, PolicyFetch::Response(ref x) if x.status == 200));
    assert!(matches!(b, PolicyFetch::Response(ref x) if x.status == 200));
    assert!(serial >= Duration::from_millis(1200), "{serial:?}");
    // With a limit of 2 they overlap.
    let r = rig_with(
        vec![("p1.loc", delayed()), ("p2.loc", delayed())],
        Duration::from_secs(10),
        2,
    )
    .await;
    let start = Instant::now();
    let _ = tokio::join!(
        r.fetcher.fetch("p1.loc", "1"),
        r.fetcher.fetch("p2.loc", "1")
    );
    let parallel = start.elapsed();
    assert!(parallel < Duration::from_millis(1200), "{parallel:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_failures() {
    let r = rig(
        vec![("ok.loc", Site::ok("text/plain", POLICY))],
        Duration::from_secs(5),
    )
    .await;
    // No address in the crawl's resolver (the system resolver is never asked).
    assert_eq!(
        r.fetcher.fetch("localhost", "1").await,
        PolicyFetch::NoAddress
    );
    // SNI names a host the server has no certificate for: handshake failure.
    let mut dns = MemoryResolver::new();
    dns.add_a("mta-sts.nocert.loc", Ipv4Addr::LOCALHOST);
    let fetcher = MtaStsFetcher::new(Arc::new(dns), &r.server.settings()).unwrap();
    assert_eq!(
        fetcher.fetch("nocert.loc", "1").await,
        PolicyFetch::Tls(TlsFailure::Handshake)
    );
    // Nothing listens on the port: connection failure.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut settings = r.server.settings();
    settings.https_port = port;
    let mut dns = MemoryResolver::new();
    dns.add_a("mta-sts.ok.loc", Ipv4Addr::LOCALHOST);
    let fetcher = MtaStsFetcher::new(Arc::new(dns), &settings).unwrap();
    assert_eq!(
        fetcher.fetch("ok.loc", "1").await,
        PolicyFetch::ConnectFailed
    );
    // Without the CA file the test CA is untrusted.
    let mut settings = r.server.settings();
    settings.ca_file = None;
    let mut dns = MemoryResolver::new();
    dns.add_a("mta-sts.ok.loc", Ipv4Addr::LOCALHOST);
    let fetcher = MtaStsFetcher::new(Arc::new(dns), &settings).unwrap();
    assert_eq!(
        fetcher.fetch("ok.loc", "1").await,
        PolicyFetch::Tls(TlsFailure::InvalidCertificate)
    );
    assert_eq!(r.server.requests_for("ok.loc"), 0);
}

#[tokio::test]
async fn bad_ca_file_is_a_setup_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let settings = authcensus_crawl::CrawlSettings {
        ca_file: Some(empty),
        system_roots: false,
        ..Default::default()
    };
    let err = MtaStsFetcher::new(Arc::new(MemoryResolver::new()), &settings).unwrap_err();
    assert!(err.to_string().contains("no certificate found"), "{err}");
}
