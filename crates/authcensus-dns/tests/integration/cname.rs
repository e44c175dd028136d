//! CNAME chains: inside the answer, by follow-up queries, loops and limits.

use std::net::Ipv4Addr;

use authcensus_dns::testserver::{Behavior, TestServer, rr};
use authcensus_dns::{QueryStatus, QueryType};
use authcensus_records::dns::{DnsFailure, Lookup, Resolver, TxtRecord};

use crate::basic::client_for;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_inside_the_answer_needs_no_followup() {
    let s = TestServer::start().await.unwrap();
    s.set(
        "_dmarc.a.example",
        QueryType::Txt,
        Behavior::Answer(vec![
            rr::cname("_dmarc.a.example", "_DMARC.b.example"),
            rr::cname("_dmarc.b.example", "_dmarc.c.example"),
            rr::txt("_dmarc.c.example", &[b"v=DMARC1; p=none"]),
        ]),
    );
    let c = client_for(&[&s], 1000, 0).await;
    let out = c.query("_dmarc.a.example", QueryType::Txt).await;
    assert_eq!(out.status, QueryStatus::Answer);
    assert_eq!(
        out.cname_chain,
        vec!["_dmarc.b.example", "_dmarc.c.example"]
    );
    assert_eq!((out.followups, out.attempts), (0, 1));
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.records[0].name, "_dmarc.c.example");
    assert_eq!(
        c.txt("_dmarc.a.example").await,
        Lookup::Records(vec![TxtRecord::single("v=DMARC1; p=none")])
    );
    assert_eq!(s.query_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dangling_cname_is_followed_up_unless_the_server_vouched() {
    let s = TestServer::start().await.unwrap();
    // An authoritative-style reply: only the CNAME, no SOA → ask the target.
    s.set(
        "www.a.example",
        QueryType::A,
        Behavior::Answer(vec![rr::cname("www.a.example", "edge.cdn.example")]),
    );
    s.set(
        "edge.cdn.example",
        QueryType::A,
        Behavior::Answer(vec![rr::a(
            "edge.cdn.example",
            Ipv4Addr::new(198, 51, 100, 7),
        )]),
    );
    // A recursive-style NODATA: CNAME plus the target zone's SOA → no follow-up.
    s.set(
        "www.b.example",
        QueryType::A,
        Behavior::AnswerWithSoa(vec![rr::cname("www.b.example", "empty.cdn.example")]),
    );
    // Follow-up to a target that does not exist.
    s.set(
        "www.c.example",
        QueryType::A,
        Behavior::Answer(vec![rr::cname("www.c.example", "gone.example")]),
    );
    let c = client_for(&[&s], 1000, 0).await;

    let out = c.query("www.a.example", QueryType::A).await;
    assert_eq!(out.status, QueryStatus::Answer);
    assert_eq!((out.followups, out.attempts), (1, 2));
    assert_eq!(out.cname_chain, vec!["edge.cdn.example"]);
    assert_eq!(s.count_for("edge.cdn.example", QueryType::A), 1);

    let out = c.query("www.b.example", QueryType::A).await;
    assert_eq!((out.status, out.followups), (QueryStatus::NoData, 0));
    assert_eq!(s.count_for("empty.cdn.example", QueryType::A), 0);

    let out = c.query("www.c.example", QueryType::A).await;
    assert_eq!(
        (out.status, out.followups, out.rcode),
        (QueryStatus::NxDomain, 1, Some(3))
    );
    assert_eq!(c.a("www.c.example").await, Lookup::NxDomain);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_and_overlong_chains_fail_bounded() {
    let s = TestServer::start().await.unwrap();
    // A loop inside one answer.
    s.set(
        "x.example",
        QueryType::Txt,
        Behavior::Answer(vec![
            rr::cname("x.example", "y.example"),
            rr::cname("y.example", "x.example"),
        ]),
    );
    // A loop across follow-ups: p → q (reply 1), q → p (reply 2).
    s.set(
        "p.example",
        QueryType::Txt,
        Behavior::Answer(vec![rr::cname("p.example", "q.example")]),
    );
    s.set(
        "q.example",
        QueryType::Txt,
        Behavior::Answer(vec![rr::cname("q.example", "p.example")]),
    );
    // A chain of 12 follow-ups: h0 → h1 → … → h12 (with data at h12).
    for i in 0..12 {
        let (from, to) = (format!("h{i}.example"), format!("h{}.example", i + 1));
        s.set(
            &from,
            QueryType::Txt,
            Behavior::Answer(vec![rr::cname(&from, &to)]),
        );
    }
    s.set(
        "h12.example",
        QueryType::Txt,
        Behavior::Answer(vec![rr::txt("h12.example", &[b"end"])]),
    );
    let c = client_for(&[&s], 1000, 0).await;

    let out = c.query("x.example", QueryType::Txt).await;
    assert_eq!((out.status, out.attempts), (QueryStatus::CnameLoop, 1));
    assert_eq!(
        c.txt("x.example").await,
        Lookup::Failed(DnsFailure::ServFail)
    );

    let out = c.query("p.example", QueryType::Txt).await;
    assert_eq!((out.status, out.followups), (QueryStatus::CnameLoop, 1));

    let out = c.query("h0.example", QueryType::Txt).await;
    assert_eq!(out.status, QueryStatus::CnameLoop);
    // Eight CNAMEs were followed (h0 → … → h8), the ninth (h8 → h9) refused:
    // the same limit as the records crate's MemoryResolver.
    assert_eq!((out.followups, out.attempts), (8, 9));
    assert_eq!(out.cname_chain.len(), 8);

    // Exactly 8 CNAMEs is still allowed: h4 → … → h12.
    let out = c.query("h4.example", QueryType::Txt).await;
    assert_eq!(out.status, QueryStatus::Answer);
    assert_eq!((out.followups, out.cname_chain.len()), (8, 8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_the_cname_itself_does_not_follow_it() {
    let s = TestServer::start().await.unwrap();
    s.set(
        "alias.example",
        QueryType::Cname,
        Behavior::Answer(vec![rr::cname("alias.example", "target.example")]),
    );
    let c = client_for(&[&s], 1000, 0).await;
    let out = c.query("alias.example", QueryType::Cname).await;
    assert_eq!(out.status, QueryStatus::Answer);
    assert_eq!(
        out.records[0].data,
        authcensus_dns::RecordData::Cname("target.example".into())
    );
    assert!(out.cname_chain.is_empty());
}
