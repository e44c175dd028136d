//! Bursts of queries as UDP GSO writes (`DnsConfig::udp_gso`): the server
//! still receives one well-formed, padded query per datagram.

use std::net::Ipv4Addr;
use std::time::Duration;

use authcensus_dns::testserver::{Behavior, TestServer, rr};
use authcensus_dns::{DnsClient, DnsConfig, QueryStatus, QueryType, RecordData};

const NAMES: usize = 400;

/// Octets of an unpadded query for `name` (no trailing dot) with an empty
/// OPT record: header 12, the name's wire form (its text plus the first
/// length octet and the root label), type and class 4, OPT 11.
fn unpadded_size(name: &str) -> usize {
    12 + name.len() + 2 + 4 + 11
}

fn ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, (i / 256) as u8, (i % 256) as u8)
}

/// Serves `NAMES` A records plus one name long enough that its query needs
/// two padding blocks, asks for all of them at once, and checks every answer.
async fn burst(gso: bool) -> (TestServer, authcensus_dns::StatsSnapshot) {
    let s = TestServer::start().await.unwrap();
    let long = format!("{}.{}.example", "l".repeat(60), "l".repeat(40));
    for i in 0..NAMES {
        let name = format!("host{i}.example");
        s.set(
            &name,
            QueryType::A,
            Behavior::Answer(vec![rr::a(&name, ip(i))]),
        );
    }
    s.set(
        &long,
        QueryType::A,
        Behavior::Answer(vec![rr::a(&long, ip(NAMES))]),
    );
    let mut cfg = DnsConfig::new(vec![s.addr()]);
    cfg.attempt_timeout = Duration::from_secs(5);
    cfg.udp_gso = gso;
    let c = DnsClient::new(cfg).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..=NAMES {
        let (c, name) = (
            c.clone(),
            if i == NAMES {
                long.clone()
            } else {
                format!("host{i}.example")
            },
        );
        tasks.spawn(async move { (i, c.query(&name, QueryType::A).await) });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, out) = done.unwrap();
        assert_eq!(out.status, QueryStatus::Answer, "query {i}");
        assert_eq!(out.attempts, 1, "query {i}");
        assert_eq!(out.records.len(), 1, "query {i}");
        assert_eq!(out.records[0].data, RecordData::A(ip(i)), "query {i}");
    }
    let st = c.stats().snapshot();
    (s, st)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gso_bursts_arrive_as_one_padded_query_per_datagram() {
    let (s, st) = burst(true).await;
    let log = s.queries();
    // One datagram per query, nothing lost or merged, none over TCP.
    assert_eq!(log.len(), NAMES + 1);
    assert!(log.iter().all(|q| !q.tcp && q.edns_payload == Some(1232)));
    // On Linux each is padded to whole 128-octet blocks: one block, two for
    // the long name. Elsewhere GSO is off and nothing is padded.
    for q in &log {
        let want = match (cfg!(target_os = "linux"), q.name.starts_with("lll")) {
            (true, true) => 256,
            (true, false) => 128,
            (false, _) => unpadded_size(&q.name),
        };
        assert_eq!(q.size, want, "{}", q.name);
    }
    assert_eq!(
        (st.sent, st.received, st.timeouts),
        (NAMES as u64 + 1, NAMES as u64 + 1, 0)
    );
    if cfg!(target_os = "linux") {
        // Hundreds of queries started together: most bursts hold several
        // one-block queries, which go out as GSO writes.
        assert!(st.gso_datagrams > 0, "{st:?}");
        assert!(
            st.gso_datagrams <= NAMES as u64,
            "the long query is never a segment: {st:?}"
        );
    } else {
        assert_eq!(st.gso_datagrams, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_gso_queries_are_not_padded() {
    let (s, st) = burst(false).await;
    let log = s.queries();
    assert_eq!(log.len(), NAMES + 1);
    for q in &log {
        assert_eq!(q.size, unpadded_size(&q.name), "{}", q.name);
    }
    assert_eq!(st.gso_datagrams, 0);
}

/// A server that answers a whole burst of queries with GSO writes, one per
/// client socket, as `authcensus testbed serve` does: every reply must still
/// reach its own query (the client does not ask for UDP GRO, so the kernel
/// splits each write into datagrams).
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_sent_as_one_gso_write_each_reach_their_query() {
    use hickory_proto::op::{Message, MessageType};
    use hickory_proto::rr::{RData, Record, rdata::A};
    use nix::sys::socket::{ControlMessage, MsgFlags, SockaddrStorage, sendmsg};
    use std::collections::BTreeMap;
    use std::io::IoSlice;
    use std::net::{SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd;

    const BURST: usize = 60;
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    // Names of one length, so every reply has one length.
    let name = |i: usize| format!("g{i:03}.example");
    let answering = std::thread::spawn(move || {
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut by_client: BTreeMap<SocketAddr, Vec<Vec<u8>>> = BTreeMap::new();
        let mut buf = [0u8; 2048];
        for _ in 0..BURST {
            let (n, from) = server.recv_from(&mut buf).unwrap();
            let q = Message::from_vec(&buf[..n]).unwrap();
            let qname = q.queries[0].name().clone();
            let i: usize = qname.to_ascii()[1..4].parse().unwrap();
            let mut r = Message::response(q.metadata.id, q.metadata.op_code);
            r.metadata.message_type = MessageType::Response;
            r.metadata.recursion_desired = true;
            r.metadata.recursion_available = true;
            r.queries = q.queries.clone();
            r.answers
                .push(Record::from_rdata(qname, 300, RData::A(A(ip(i)))));
            by_client.entry(from).or_default().push(r.to_vec().unwrap());
        }
        let mut largest = 0;
        for (to, replies) in &by_client {
            let segment = u16::try_from(replies[0].len()).unwrap();
            assert!(replies.iter().all(|r| r.len() == replies[0].len()));
            let iov: Vec<IoSlice<'_>> = replies.iter().map(|r| IoSlice::new(r)).collect();
            let cmsg = [ControlMessage::UdpGsoSegments(&segment)];
            let peer = SockaddrStorage::from(*to);
            sendmsg(
                server.as_raw_fd(),
                &iov,
                &cmsg,
                MsgFlags::empty(),
                Some(&peer),
            )
            .unwrap();
            largest = largest.max(replies.len());
        }
        largest
    });
    let mut cfg = DnsConfig::new(vec![addr]);
    cfg.attempt_timeout = Duration::from_secs(3);
    cfg.retries = 0;
    let c = DnsClient::new(cfg).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..BURST {
        let (c, name) = (c.clone(), name(i));
        tasks.spawn(async move { (i, c.query(&name, QueryType::A).await) });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, out) = done.unwrap();
        assert_eq!(out.status, QueryStatus::Answer, "query {i}");
        assert_eq!(out.records.len(), 1, "query {i}");
        assert_eq!(out.records[0].data, RecordData::A(ip(i)), "query {i}");
    }
    let largest = answering.join().unwrap();
    assert!(largest > 1, "some GSO write carried several replies");
    let st = c.stats().snapshot();
    assert_eq!(
        (st.received, st.dropped_malformed, st.dropped_mismatched),
        (BURST as u64, 0, 0)
    );
}
