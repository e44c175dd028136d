//! Record types, CNAMEs, NXDOMAIN vs NODATA, failures and deadlines.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use authcensus_dns::testserver::{Behavior, TestServer, rr};
use authcensus_dns::{DnsClient, DnsConfig, QueryStatus, QueryType};
use authcensus_records::dns::{DnsFailure, Lookup, MxRecord, Resolver, TxtRecord};

/// A client with short timeouts for tests.
pub async fn client_for(servers: &[&TestServer], timeout_ms: u64, retries: u32) -> DnsClient {
    let mut cfg = DnsConfig::new(servers.iter().map(|s| s.addr()).collect());
    cfg.attempt_timeout = Duration::from_millis(timeout_ms);
    cfg.retries = retries;
    cfg.retry_backoff = Duration::from_millis(5);
    DnsClient::new(cfg).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_type() {
    let s = TestServer::start().await.unwrap();
    s.set(
        "example.com",
        QueryType::Txt,
        Behavior::Answer(vec![
            rr::txt("example.com", &[b"v=spf1 ", b"-all"]),
            rr::txt("example.com", &[b"\xff\xfe raw", b""]),
        ]),
    );
    s.set(
        "example.com",
        QueryType::A,
        Behavior::Answer(vec![rr::a("example.com", Ipv4Addr::new(192, 0, 2, 1))]),
    );
    s.set(
        "example.com",
        QueryType::Aaaa,
        Behavior::Answer(vec![rr::aaaa(
            "example.com",
            "2001:db8::1".parse().unwrap(),
        )]),
    );
    s.set(
        "example.com",
        QueryType::Mx,
        Behavior::Answer(vec![
            rr::mx("example.com", 10, "MX1.Example.com."),
            rr::mx("example.com", 0, "."),
        ]),
    );
    s.set(
        "1.2.0.192.in-addr.arpa",
        QueryType::Ptr,
        Behavior::Answer(vec![rr::ptr("1.2.0.192.in-addr.arpa", "Host.Example.com.")]),
    );
    s.set(
        "example.com",
        QueryType::Ns,
        Behavior::Answer(vec![
            rr::ns("example.com", "ns1.example.net"),
            rr::ns("example.com", "ns2.example.net"),
        ]),
    );
    let c = client_for(&[&s], 1000, 1).await;

    assert_eq!(
        c.txt("example.com").await,
        Lookup::Records(vec![
            TxtRecord::from_strings([&b"v=spf1 "[..], b"-all"]),
            TxtRecord::from_strings([&b"\xff\xfe raw"[..], b""]),
        ])
    );
    assert_eq!(
        c.a("EXAMPLE.com").await,
        Lookup::Records(vec![Ipv4Addr::new(192, 0, 2, 1)])
    );
    assert_eq!(
        c.aaaa("example.com.").await,
        Lookup::Records(vec!["2001:db8::1".parse::<Ipv6Addr>().unwrap()])
    );
    assert_eq!(
        c.mx("example.com").await,
        Lookup::Records(vec![
            MxRecord {
                preference: 10,
                exchange: "mx1.example.com".into()
            },
            MxRecord {
                preference: 0,
                exchange: String::new()
            },
        ])
    );
    assert_eq!(
        c.ptr(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))).await,
        Lookup::Records(vec!["host.example.com".to_string()])
    );
    assert_eq!(
        c.ns("example.com").await,
        Lookup::Records(vec![
            "ns1.example.net".to_string(),
            "ns2.example.net".to_string()
        ])
    );
    // Queries went out with RD=1 and EDNS(0) at 1232 bytes.
    let log = s.queries();
    assert_eq!(log.len(), 6);
    assert!(
        log.iter()
            .all(|q| q.recursion_desired && q.edns_payload == Some(1232) && !q.tcp)
    );

    let out = c.query("example.com", QueryType::A).await;
    assert_eq!(out.status, QueryStatus::Answer);
    assert_eq!(out.rcode, Some(0));
    assert_eq!(out.records[0].ttl, 300);
    assert_eq!(out.attempts, 1);
    assert_eq!(out.upstream, Some(s.addr()));
    assert!(!out.tcp);
    let st = c.stats().snapshot();
    assert_eq!(
        (st.sent, st.received, st.timeouts, st.retries),
        (7, 7, 0, 0)
    );
    assert_eq!(c.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxdomain_nodata_servfail_refused() {
    let s = TestServer::start().await.unwrap();
    s.set(
        "exists.example",
        QueryType::A,
        Behavior::Answer(vec![rr::a("exists.example", Ipv4Addr::LOCALHOST)]),
    );
    s.set("sf.example", QueryType::Txt, Behavior::ServFail);
    s.set("ref.example", QueryType::Txt, Behavior::Refused);
    s.set("notimp.example", QueryType::Txt, Behavior::Rcode(4));
    let c = client_for(&[&s], 1000, 2).await;
    assert_eq!(c.txt("exists.example").await, Lookup::NoData);
    assert_eq!(c.txt("missing.example").await, Lookup::NxDomain);
    assert_eq!(s.query_count(), 2);

    let t = Instant::now();
    assert_eq!(
        c.txt("sf.example").await,
        Lookup::Failed(DnsFailure::ServFail)
    );
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "SERVFAIL retries are fast"
    );
    assert_eq!(
        s.count_for("sf.example", QueryType::Txt),
        3,
        "1 attempt + 2 retries"
    );
    assert_eq!(
        c.txt("ref.example").await,
        Lookup::Failed(DnsFailure::Refused)
    );
    assert_eq!(s.count_for("ref.example", QueryType::Txt), 3);
    let out = c.query("notimp.example", QueryType::Txt).await;
    assert_eq!(
        (out.status, out.rcode, out.attempts),
        (QueryStatus::OtherRcode, Some(4), 1)
    );
    assert_eq!(
        c.txt("notimp.example").await,
        Lookup::Failed(DnsFailure::Other)
    );
    assert_eq!(c.stats().snapshot().retries, 4);
    // An unencodable name is an outcome, and nothing is sent.
    let before = s.query_count();
    let long = format!("{}.example", "a".repeat(64));
    assert_eq!(
        c.query(&long, QueryType::Txt).await.status,
        QueryStatus::InvalidName
    );
    assert_eq!(c.txt(&long).await, Lookup::Failed(DnsFailure::Other));
    assert_eq!(s.query_count(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_respects_the_deadline() {
    let s = TestServer::start().await.unwrap();
    s.set("silent.example", QueryType::Txt, Behavior::Drop);
    let c = client_for(&[&s], 200, 1).await;
    let t = Instant::now();
    assert_eq!(
        c.txt("silent.example").await,
        Lookup::Failed(DnsFailure::Timeout)
    );
    let e = t.elapsed();
    assert!(
        e >= Duration::from_millis(400),
        "two attempts of 200 ms: {e:?}"
    );
    assert!(e < Duration::from_millis(1200), "deadline overrun: {e:?}");
    assert_eq!(s.count_for("silent.example", QueryType::Txt), 2);
    let st = c.stats().snapshot();
    assert_eq!(
        (st.timeouts, st.retries, st.sent, st.received),
        (2, 1, 2, 0)
    );
    assert_eq!(
        c.in_flight(),
        0,
        "timed-out attempts leave the in-flight table"
    );

    // A reply slower than the timeout is a timeout; one within it is an answer.
    s.set(
        "slow.example",
        QueryType::A,
        Behavior::Delay(
            Duration::from_millis(400),
            Box::new(Behavior::Answer(vec![rr::a(
                "slow.example",
                Ipv4Addr::LOCALHOST,
            )])),
        ),
    );
    s.set(
        "late.example",
        QueryType::A,
        Behavior::Delay(
            Duration::from_millis(50),
            Box::new(Behavior::Answer(vec![rr::a(
                "late.example",
                Ipv4Addr::LOCALHOST,
            )])),
        ),
    );
    let c0 = client_for(&[&s], 200, 0).await;
    assert_eq!(
        c0.a("slow.example").await,
        Lookup::Failed(DnsFailure::Timeout)
    );
    assert_eq!(
        c0.a("late.example").await,
        Lookup::Records(vec![Ipv4Addr::LOCALHOST])
    );
}

/// The lookups behind the `Resolver` trait keep a query's state on the heap
/// (`DnsClient::query_boxed`): a crawl joins seven of them per domain and
/// keeps thousands of domains in flight, and the inline state (attempts,
/// timers, the reply) made each domain's future 18.7 KB. The bound leaves
/// room for the pointer, the name and the record conversion, not for a query.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_futures_hold_no_inline_query_state() {
    let s = TestServer::start().await.unwrap();
    s.set(
        "example.com",
        QueryType::Txt,
        Behavior::Answer(vec![rr::txt("example.com", &[b"v=spf1 -all"])]),
    );
    let c = client_for(&[&s], 500, 1).await;
    let inline = std::mem::size_of_val(&c.query("example.com", QueryType::Txt));
    let txt = Resolver::txt(&c, "example.com");
    let mx = Resolver::mx(&c, "example.com");
    let ns = c.ns("example.com");
    for (what, size) in [
        ("txt", std::mem::size_of_val(&txt)),
        ("mx", std::mem::size_of_val(&mx)),
        ("ns", std::mem::size_of_val(&ns)),
    ] {
        assert!(
            size <= 256 && size * 4 <= inline,
            "{what} lookup future is {size} bytes (the inline query is {inline})"
        );
    }
    // Boxed or not, it still answers.
    assert!(matches!(txt.await, Lookup::Records(r) if r.len() == 1));
    drop((mx, ns));
}
