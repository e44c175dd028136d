//! Hostile and broken replies: decoys are dropped and counted, the real
//! reply is accepted; TC=1 goes to TCP; failover to the next resolver.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use authcensus_dns::testserver::{Behavior, TestServer, rr};
use authcensus_dns::{QueryStatus, QueryType};
use authcensus_records::dns::{DnsFailure, Lookup, Resolver, TxtRecord};

use crate::basic::client_for;

fn one_a(name: &str) -> Vec<authcensus_dns::testserver::Record> {
    vec![rr::a(name, Ipv4Addr::new(192, 0, 2, 53))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decoys_are_dropped_counted_and_the_real_reply_accepted() {
    let s = TestServer::start().await.unwrap();
    s.set(
        "wrongid.example",
        QueryType::A,
        Behavior::WrongIdFirst(one_a("wrongid.example")),
    );
    s.set(
        "othername.example",
        QueryType::A,
        Behavior::OtherNameFirst(one_a("othername.example")),
    );
    s.set(
        "othersrc.example",
        QueryType::A,
        Behavior::OtherSourceFirst(one_a("othersrc.example")),
    );
    s.set(
        "garbage.example",
        QueryType::A,
        Behavior::GarbageFirst(one_a("garbage.example")),
    );
    let c = client_for(&[&s], 1000, 0).await;
    let want = Lookup::Records(vec![Ipv4Addr::new(192, 0, 2, 53)]);

    assert_eq!(c.a("wrongid.example").await, want);
    let st = c.stats().snapshot();
    assert_eq!(
        (st.dropped_mismatched, st.dropped_malformed, st.received),
        (1, 0, 1)
    );

    assert_eq!(c.a("othername.example").await, want);
    let st = c.stats().snapshot();
    assert_eq!(
        (st.dropped_mismatched, st.dropped_malformed, st.received),
        (2, 0, 2)
    );

    // The decoy from another port never reaches the client: its sockets
    // are connected to the upstream, so the kernel drops it.
    assert_eq!(c.a("othersrc.example").await, want);
    let st = c.stats().snapshot();
    assert_eq!(
        (st.dropped_mismatched, st.dropped_malformed, st.received),
        (2, 0, 3)
    );

    // Garbage with the right ID: a compression pointer to itself.
    assert_eq!(c.a("garbage.example").await, want);
    let st = c.stats().snapshot();
    assert_eq!(
        (st.dropped_mismatched, st.dropped_malformed, st.received),
        (2, 1, 4)
    );
    assert_eq!((st.sent, st.timeouts, st.retries), (4, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_for_another_owner_are_not_an_answer() {
    let s = TestServer::start().await.unwrap();
    // Right question, but the answer section talks about another name.
    s.set(
        "victim.example",
        QueryType::A,
        Behavior::Answer(one_a("evil.example")),
    );
    s.set(
        "victim.example",
        QueryType::Txt,
        Behavior::Answer(vec![rr::txt("evil.example", &[b"v=spf1 +all"])]),
    );
    let c = client_for(&[&s], 1000, 0).await;
    assert_eq!(c.a("victim.example").await, Lookup::NoData);
    assert_eq!(c.txt("victim.example").await, Lookup::NoData);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_replies_are_fetched_over_tcp() {
    let s = TestServer::start().await.unwrap();
    // 6 strings of 250 bytes: 1 500 bytes of TXT, over the 1 232-byte payload.
    let big: Vec<Vec<u8>> = (0..6u8).map(|i| vec![b'a' + i; 250]).collect();
    let big_refs: Vec<&[u8]> = big.iter().map(Vec::as_slice).collect();
    s.set(
        "big.example",
        QueryType::Txt,
        Behavior::Answer(vec![rr::txt("big.example", &big_refs)]),
    );
    s.set(
        "tc.example",
        QueryType::A,
        Behavior::Truncate(one_a("tc.example")),
    );
    s.set(
        "cut.example",
        QueryType::A,
        Behavior::TruncateCut(one_a("cut.example")),
    );
    let c = client_for(&[&s], 1000, 0).await;

    let out = c.query("big.example", QueryType::Txt).await;
    assert_eq!(out.status, QueryStatus::Answer);
    assert!(out.tcp);
    assert_eq!(out.attempts, 2, "one UDP attempt, one TCP attempt");
    assert_eq!(
        c.txt("big.example").await,
        Lookup::Records(vec![TxtRecord::from_strings(big.clone())])
    );
    let log = s.queries();
    assert_eq!(log.iter().filter(|q| q.tcp).count(), 2);
    assert_eq!(log.iter().filter(|q| !q.tcp).count(), 2);

    assert_eq!(
        c.a("tc.example").await,
        Lookup::Records(vec![Ipv4Addr::new(192, 0, 2, 53)])
    );
    // A TC=1 datagram whose records are cut mid-way still triggers TCP.
    let out = c.query("cut.example", QueryType::A).await;
    assert_eq!((out.status, out.tcp), (QueryStatus::Answer, true));
    let st = c.stats().snapshot();
    assert_eq!(
        (st.tcp_fallbacks, st.tcp_failures, st.dropped_malformed),
        (4, 0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_replies_over_the_advertised_payload_are_taken_as_they_came() {
    // A server that ignores the advertised 1 232 bytes: its ~3,000- and
    // ~12,000-byte UDP answers are read whole (the receive buffer holds any
    // datagram), with no needless TCP attempt.
    let s = TestServer::start().await.unwrap();
    let strings = |n: u8| -> Vec<Vec<u8>> { (0..n).map(|i| vec![b'a' + i; 250]).collect() };
    let (mid, huge) = (strings(12), strings(48));
    for (name, data) in [("mid.example", &mid), ("huge.example", &huge)] {
        let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        s.set(
            name,
            QueryType::Txt,
            Behavior::Oversized(vec![rr::txt(name, &refs)]),
        );
    }
    let c = client_for(&[&s], 1000, 0).await;
    for (name, data) in [("mid.example", &mid), ("huge.example", &huge)] {
        let out = c.query(name, QueryType::Txt).await;
        assert_eq!(
            (out.status, out.tcp, out.attempts),
            (QueryStatus::Answer, false, 1),
            "{name}"
        );
        assert_eq!(
            c.txt(name).await,
            Lookup::Records(vec![TxtRecord::from_strings(data.clone())])
        );
    }
    let st = c.stats().snapshot();
    assert_eq!((st.tcp_fallbacks, st.dropped_malformed), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_fallback_has_a_deadline() {
    let s = TestServer::start().await.unwrap();
    // UDP says TC=1 at once, TCP never answers.
    s.set("stuck.example", QueryType::A, Behavior::TruncateSilentTcp);
    let c = client_for(&[&s], 300, 0).await;
    let t = Instant::now();
    let out = c.query("stuck.example", QueryType::A).await;
    let e = t.elapsed();
    assert_eq!(
        (out.status, out.attempts, out.tcp),
        (QueryStatus::TcpError, 2, false)
    );
    assert!(
        e >= Duration::from_millis(290) && e < Duration::from_millis(1200),
        "{e:?}"
    );
    assert_eq!(
        c.a("stuck.example").await,
        Lookup::Failed(DnsFailure::Other)
    );
    let st = c.stats().snapshot();
    assert_eq!((st.tcp_fallbacks, st.tcp_failures), (2, 2));
    assert_eq!(s.queries().iter().filter(|q| q.tcp).count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_to_the_second_resolver() {
    let dead = TestServer::start().await.unwrap();
    let live = TestServer::start().await.unwrap();
    dead.set("f.example", QueryType::Txt, Behavior::Drop);
    live.set(
        "f.example",
        QueryType::Txt,
        Behavior::Answer(vec![rr::txt("f.example", &[b"ok"])]),
    );
    live.set("sf.example", QueryType::Txt, Behavior::ServFail);
    dead.set("sf.example", QueryType::Txt, Behavior::Drop);
    let c = client_for(&[&dead, &live], 200, 2).await;

    let t = Instant::now();
    let out = c.query("f.example", QueryType::Txt).await;
    assert_eq!(out.status, QueryStatus::Answer);
    assert_eq!((out.attempts, out.upstream), (2, Some(live.addr())));
    assert!(t.elapsed() < Duration::from_millis(800));
    assert_eq!(dead.count_for("f.example", QueryType::Txt), 1);
    assert_eq!(live.count_for("f.example", QueryType::Txt), 1);

    // dead (timeout), live (SERVFAIL), dead (timeout): a reply beats silence.
    let out = c.query("sf.example", QueryType::Txt).await;
    assert_eq!(
        (out.status, out.attempts, out.rcode),
        (QueryStatus::ServFail, 3, Some(2))
    );
    assert_eq!(
        c.txt("sf.example").await,
        Lookup::Failed(DnsFailure::ServFail)
    );
    let st = c.stats().snapshot();
    assert_eq!(st.timeouts, 1 + 2 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_upstream_uses_an_ipv6_socket() {
    let Ok(s) = TestServer::start_on("::1".parse().unwrap()).await else {
        eprintln!("SKIP ipv6_upstream_uses_an_ipv6_socket: cannot bind ::1");
        return;
    };
    s.set(
        "v6.example",
        QueryType::Aaaa,
        Behavior::Answer(vec![rr::aaaa("v6.example", "2001:db8::6".parse().unwrap())]),
    );
    let v4 = TestServer::start().await.unwrap();
    v4.set("v6.example", QueryType::Aaaa, Behavior::Drop);
    // Mixed families: attempt 1 over IPv4 (silent), attempt 2 over IPv6.
    let c = client_for(&[&v4, &s], 200, 1).await;
    let out = c.query("v6.example", QueryType::Aaaa).await;
    assert_eq!(
        (out.status, out.attempts, out.upstream),
        (QueryStatus::Answer, 2, Some(s.addr()))
    );
    assert_eq!(s.count_for("v6.example", QueryType::Aaaa), 1);
}

/// The per-socket timeout queue: silent and answered attempts interleaved on
/// the same sockets, registered at different moments. Each silent one ends
/// at its own deadline (not earlier, and not held back by the others), the
/// answered ones at once; a reply after the deadline is dropped and counted;
/// and a second round after the queue emptied times out the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_attempt_times_out_at_its_own_deadline() {
    let s = TestServer::start().await.unwrap();
    for i in 0..20 {
        s.set(&format!("quiet{i}.example"), QueryType::A, Behavior::Drop);
        let loud = format!("loud{i}.example");
        s.set(&loud, QueryType::A, Behavior::Answer(one_a(&loud)));
    }
    s.set(
        "tardy.example",
        QueryType::A,
        Behavior::Delay(
            Duration::from_millis(450),
            Box::new(Behavior::Answer(one_a("tardy.example"))),
        ),
    );
    let c = client_for(&[&s], 300, 0).await;
    for round in 0..2 {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..20u64 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                // Registered 0-190 ms apart: deadlines spread over the queue.
                tokio::time::sleep(Duration::from_millis(10 * i)).await;
                let t = Instant::now();
                let quiet = c.query(&format!("quiet{i}.example"), QueryType::A).await;
                let quiet_took = t.elapsed();
                let t = Instant::now();
                let loud = c.query(&format!("loud{i}.example"), QueryType::A).await;
                (quiet.status, quiet_took, loud.status, t.elapsed())
            }));
        }
        for task in tasks {
            let (quiet, quiet_took, loud, loud_took) = task.await.unwrap();
            assert_eq!((quiet, loud), (QueryStatus::Timeout, QueryStatus::Answer));
            assert!(
                quiet_took >= Duration::from_millis(300) && quiet_took < Duration::from_millis(900),
                "round {round}: timed out after {quiet_took:?}, timeout 300 ms"
            );
            assert!(loud_took < Duration::from_millis(250), "{loud_took:?}");
        }
        assert!(start.elapsed() < Duration::from_secs(3));
        assert_eq!(c.in_flight(), 0, "round {round}");
    }
    let st = c.stats().snapshot();
    assert_eq!((st.timeouts, st.received), (40, 40));

    // Answered 150 ms after its 300 ms deadline: a timeout, and the reply
    // that comes afterwards is dropped as unmatched.
    let out = c.query("tardy.example", QueryType::A).await;
    assert_eq!(out.status, QueryStatus::Timeout);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let st = c.stats().snapshot();
    assert_eq!(
        (st.timeouts, st.received, st.dropped_mismatched),
        (41, 40, 1)
    );
}

/// An upstream whose port is closed answers with ICMP port unreachable,
/// which a connected socket reports as `ECONNREFUSED` on its next call:
/// each attempt there ends as a timeout, as with an upstream that is
/// silent, and the next upstream still answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_upstream_is_a_timeout_and_fails_over() {
    let closed = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let live = TestServer::start().await.unwrap();
    live.set(
        "c.example",
        QueryType::Txt,
        Behavior::Answer(vec![rr::txt("c.example", &[b"ok"])]),
    );
    let mut cfg = authcensus_dns::DnsConfig::new(vec![closed, live.addr()]);
    cfg.attempt_timeout = Duration::from_millis(150);
    cfg.retries = 3;
    cfg.retry_backoff = Duration::from_millis(5);
    cfg.sockets = 1;
    let c = authcensus_dns::DnsClient::new(cfg).await.unwrap();
    for i in 0..3 {
        let out = c.query("c.example", QueryType::Txt).await;
        assert_eq!(out.status, QueryStatus::Answer, "query {i}");
        assert_eq!((out.attempts, out.upstream), (2, Some(live.addr())));
    }
    assert_eq!(live.count_for("c.example", QueryType::Txt), 3);

    let mut cfg = authcensus_dns::DnsConfig::new(vec![closed]);
    cfg.attempt_timeout = Duration::from_millis(100);
    cfg.retries = 4;
    cfg.retry_backoff = Duration::from_millis(1);
    cfg.sockets = 1;
    let c = authcensus_dns::DnsClient::new(cfg).await.unwrap();
    // Concurrent queries: each datagram leaves an ICMP error that the next
    // send on the socket meets; it is not charged to that next query.
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.query(&format!("c{i}.example"), QueryType::Txt).await })
        })
        .collect();
    for t in tasks {
        let out = t.await.unwrap();
        assert_eq!((out.status, out.attempts), (QueryStatus::Timeout, 5));
    }
    let st = c.stats().snapshot();
    assert_eq!((st.sent, st.timeouts, st.received), (100, 100, 0));
}
