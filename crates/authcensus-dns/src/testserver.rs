//! Test infrastructure: a programmable in-process DNS server (feature `testserver`).
//!
//! [`TestServer::start`] binds UDP and TCP on the same `127.0.0.1` port and
//! answers from a map of (name, type) → [`Behavior`]: records, NXDOMAIN,
//! NODATA, SERVFAIL, silence, TC=1 then the full answer over TCP, a decoy
//! reply (wrong ID, another name, another source port, garbage bytes) before
//! the real one, or a delay. Unknown names are NXDOMAIN; a name that has any
//! entry (or was added with [`TestServer::add_name`]) is NODATA for other
//! types. Every query received is logged with its arrival time so tests can
//! count queries per server and check rate limits.
//!
//! UDP replies larger than the query's EDNS payload (512 without EDNS) are
//! sent as TC=1 with the question only, as EDNS(0) servers do (RFC 6891); TCP
//! replies are always complete. This module is for tests only: it trusts
//! its configuration and its clients.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, OpCode, ResponseCode};
pub use hickory_proto::rr::Record;
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, PTR, SOA, TXT};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use crate::types::QueryType;
use crate::wire::{name_string, parse_name, record_type};

/// How the server answers one (name, type).
#[derive(Debug, Clone)]
pub enum Behavior {
    /// NOERROR with these answer records (CNAMEs included as given).
    Answer(Vec<Record>),
    /// NOERROR with these answers and an SOA of `example` in the authority
    /// section (how a recursive resolver ends a CNAME chain at an empty target).
    AnswerWithSoa(Vec<Record>),
    /// NXDOMAIN with an SOA in the authority section.
    NxDomain,
    /// NOERROR, no answers, SOA in the authority section.
    NoData,
    /// SERVFAIL.
    ServFail,
    /// REFUSED.
    Refused,
    /// Any RCODE, no records.
    Rcode(u16),
    /// Never answer (UDP or TCP).
    Drop,
    /// UDP: TC=1 with the question only; TCP: the full answer.
    Truncate(Vec<Record>),
    /// UDP: TC=1 with the question only; TCP: never answers.
    TruncateSilentTcp,
    /// UDP: TC=1 with the answer cut inside its first record (undecodable);
    /// TCP: the full answer.
    TruncateCut(Vec<Record>),
    /// UDP: the full answer whatever payload the query advertised (a server
    /// that ignores EDNS); TCP: the full answer.
    Oversized(Vec<Record>),
    /// UDP: first a reply with another message ID, then the real one.
    WrongIdFirst(Vec<Record>),
    /// UDP: first a reply whose question names another name, then the real one.
    OtherNameFirst(Vec<Record>),
    /// UDP: first the real reply's bytes from another source port, then the real one.
    OtherSourceFirst(Vec<Record>),
    /// UDP: first undecodable bytes carrying the right ID, then the real one.
    GarbageFirst(Vec<Record>),
    /// Wait, then behave as the inner behaviour.
    Delay(Duration, Box<Behavior>),
}

/// One query as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedQuery {
    /// Arrival time.
    pub at: Instant,
    /// Lowercase name, no trailing dot.
    pub name: String,
    /// The record type code.
    pub rtype: u16,
    /// Received over TCP.
    pub tcp: bool,
    /// RD bit of the query.
    pub recursion_desired: bool,
    /// EDNS payload advertised, if any.
    pub edns_payload: Option<u16>,
    /// The client's address and port (the socket the query came from).
    pub from: SocketAddr,
    /// Octets of the query message as received (one UDP datagram's
    /// payload, or a TCP message without its length prefix).
    pub size: usize,
}

#[derive(Debug, Default)]
struct State {
    zone: Mutex<HashMap<(String, RecordType), Behavior>>,
    names: Mutex<Vec<String>>,
    log: Mutex<Vec<LoggedQuery>>,
}

/// The server; its tasks stop when it is dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    tasks: Vec<JoinHandle<()>>,
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl TestServer {
    /// Binds UDP and TCP on one free `127.0.0.1` port and starts serving.
    ///
    /// # Errors
    /// The bind error if no port could be bound for both protocols.
    pub async fn start() -> io::Result<TestServer> {
        Self::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await
    }

    /// Like [`TestServer::start`] on another local address (e.g. `::1`).
    ///
    /// # Errors
    /// The bind error if no port could be bound for both protocols.
    pub async fn start_on(ip: IpAddr) -> io::Result<TestServer> {
        let mut last_err = io::Error::other("no port tried");
        for _ in 0..20 {
            let udp = UdpSocket::bind((ip, 0)).await?;
            // Best effort, as the client's sockets: the default receive
            // buffer (~208 KiB) held fewer than the 401 queries a GSO test
            // sends at once when the server's task ran late under CI load,
            // and a dropped query is the harness's loss, not the client's.
            let _ = socket2::SockRef::from(&udp).set_recv_buffer_size(4 << 20);
            let addr = udp.local_addr()?;
            let tcp = match TcpListener::bind(addr).await {
                Ok(t) => t,
                Err(e) => {
                    last_err = e;
                    continue;
                }
            };
            let decoy = Arc::new(UdpSocket::bind((ip, 0)).await?);
            let state = Arc::new(State::default());
            let udp = Arc::new(udp);
            let tasks = vec![
                tokio::spawn(udp_loop(udp, decoy, Arc::clone(&state))),
                tokio::spawn(tcp_loop(tcp, Arc::clone(&state))),
            ];
            return Ok(TestServer { addr, state, tasks });
        }
        Err(last_err)
    }

    /// The address (UDP and TCP) to use as an upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets the behaviour for `name`/`qtype` (the name then exists).
    pub fn set(&self, name: &str, qtype: QueryType, behavior: Behavior) -> &Self {
        self.add_name(name);
        if let Ok(mut z) = self.state.zone.lock() {
            z.insert((key(name), record_type(qtype)), behavior);
        }
        self
    }

    /// Makes `name` exist (NODATA for types without a behaviour).
    pub fn add_name(&self, name: &str) -> &Self {
        if let Ok(mut n) = self.state.names.lock() {
            let k = key(name);
            if !n.contains(&k) {
                n.push(k);
            }
        }
        self
    }

    /// Every query received so far, in arrival order.
    pub fn queries(&self) -> Vec<LoggedQuery> {
        self.state.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// How many queries were received (UDP and TCP).
    pub fn query_count(&self) -> usize {
        self.state.log.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// How many queries for `name`/`qtype` were received.
    pub fn count_for(&self, name: &str, qtype: QueryType) -> usize {
        let (k, t) = (key(name), u16::from(record_type(qtype)));
        self.queries()
            .iter()
            .filter(|q| q.name == k && q.rtype == t)
            .count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Record constructors for [`Behavior`] (TTL 300 unless named otherwise).
pub mod rr {
    use super::*;

    fn name(s: &str) -> Name {
        parse_name(s).unwrap_or_else(Name::root)
    }

    fn rec(owner: &str, data: RData) -> Record {
        Record::from_rdata(name(owner), 300, data)
    }

    /// A TXT record of several raw character-strings (each ≤ 255 bytes).
    pub fn txt(owner: &str, strings: &[&[u8]]) -> Record {
        rec(owner, RData::TXT(TXT::from_bytes(strings.to_vec())))
    }
    /// An A record.
    pub fn a(owner: &str, ip: Ipv4Addr) -> Record {
        rec(owner, RData::A(A(ip)))
    }
    /// An A record with a TTL.
    pub fn a_ttl(owner: &str, ip: Ipv4Addr, ttl: u32) -> Record {
        Record::from_rdata(name(owner), ttl, RData::A(A(ip)))
    }
    /// An AAAA record.
    pub fn aaaa(owner: &str, ip: Ipv6Addr) -> Record {
        rec(owner, RData::AAAA(AAAA(ip)))
    }
    /// An MX record (`exchange` `"."` for a null MX).
    pub fn mx(owner: &str, preference: u16, exchange: &str) -> Record {
        rec(owner, RData::MX(MX::new(preference, name(exchange))))
    }
    /// A PTR record.
    pub fn ptr(owner: &str, target: &str) -> Record {
        rec(owner, RData::PTR(PTR(name(target))))
    }
    /// An NS record.
    pub fn ns(owner: &str, target: &str) -> Record {
        rec(owner, RData::NS(NS(name(target))))
    }
    /// A CNAME record.
    pub fn cname(owner: &str, target: &str) -> Record {
        rec(owner, RData::CNAME(CNAME(name(target))))
    }
    /// An SOA record for `zone`.
    pub fn soa(zone: &str) -> Record {
        let z = name(zone);
        let mname = z.prepend_label("ns").unwrap_or_else(|_| z.clone());
        let rname = z.prepend_label("hostmaster").unwrap_or_else(|_| z.clone());
        rec(
            zone,
            RData::SOA(SOA::new(mname, rname, 1, 3600, 600, 86400, 60)),
        )
    }
}

fn response(req: &Message, rcode: ResponseCode, answers: &[Record], soa: bool) -> Message {
    let mut m = Message::response(req.metadata.id, OpCode::Query);
    m.metadata.recursion_desired = req.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.metadata.response_code = rcode;
    m.add_queries(req.queries.iter().cloned());
    m.add_answers(answers.iter().cloned());
    if soa {
        m.add_authority(rr::soa("example"));
    }
    if req.edns.is_some() {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        m.set_edns(e);
    }
    m
}

/// The complete reply for `req` under `b` (decoys and delays unwrapped);
/// `None` for silence.
fn full_reply(req: &Message, b: &Behavior, udp: bool) -> Option<Message> {
    Some(match b {
        Behavior::Answer(r)
        | Behavior::Truncate(r)
        | Behavior::TruncateCut(r)
        | Behavior::Oversized(r)
        | Behavior::WrongIdFirst(r)
        | Behavior::OtherNameFirst(r)
        | Behavior::OtherSourceFirst(r)
        | Behavior::GarbageFirst(r) => response(req, ResponseCode::NoError, r, false),
        Behavior::AnswerWithSoa(r) => response(req, ResponseCode::NoError, r, true),
        Behavior::NxDomain => response(req, ResponseCode::NXDomain, &[], true),
        Behavior::NoData => response(req, ResponseCode::NoError, &[], true),
        Behavior::ServFail => response(req, ResponseCode::ServFail, &[], false),
        Behavior::Refused => response(req, ResponseCode::Refused, &[], false),
        Behavior::Rcode(c) => response(req, ResponseCode::from_low((*c & 0xf) as u8), &[], false),
        Behavior::TruncateSilentTcp if !udp => return None,
        Behavior::TruncateSilentTcp => response(req, ResponseCode::NoError, &[], false),
        Behavior::Drop => return None,
        Behavior::Delay(_, inner) => return full_reply(req, inner, udp),
    })
}

impl State {
    fn behavior(&self, req: &Message) -> Option<(Behavior, String, RecordType)> {
        let q = req.queries.first()?;
        let name = name_string(q.name());
        let rtype = q.query_type();
        let found = self
            .zone
            .lock()
            .ok()
            .and_then(|z| z.get(&(name.clone(), rtype)).cloned());
        let b = match found {
            Some(b) => b,
            None if self.names.lock().is_ok_and(|n| n.contains(&name)) => Behavior::NoData,
            None => Behavior::NxDomain,
        };
        Some((b, name, rtype))
    }

    fn log(
        &self,
        req: &Message,
        size: usize,
        q: (String, RecordType),
        tcp: bool,
        from: SocketAddr,
    ) {
        let (name, rtype) = q;
        if let Ok(mut l) = self.log.lock() {
            l.push(LoggedQuery {
                at: Instant::now(),
                name,
                rtype: u16::from(rtype),
                tcp,
                recursion_desired: req.metadata.recursion_desired,
                edns_payload: req.edns.as_ref().map(Edns::max_payload),
                from,
                size,
            });
        }
    }
}

async fn udp_loop(sock: Arc<UdpSocket>, decoy: Arc<UdpSocket>, state: Arc<State>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, src)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(req) = Message::from_vec(buf.get(..n).unwrap_or(&[])) else {
            continue;
        };
        let Some((b, name, rtype)) = state.behavior(&req) else {
            continue;
        };
        state.log(&req, n, (name, rtype), false, src);
        match b {
            Behavior::Delay(d, inner) => {
                let (sock, decoy) = (Arc::clone(&sock), Arc::clone(&decoy));
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    udp_respond(&sock, &decoy, &req, &inner, src);
                });
            }
            b => udp_respond(&sock, &decoy, &req, &b, src),
        }
    }
}

fn udp_respond(sock: &UdpSocket, decoy: &UdpSocket, req: &Message, b: &Behavior, src: SocketAddr) {
    if let Behavior::Delay(_, inner) = b {
        return udp_respond(sock, decoy, req, inner, src);
    }
    let Some(full) = full_reply(req, b, true) else {
        return;
    };
    let Ok(mut bytes) = full.to_vec() else {
        return;
    };
    let payload = req
        .edns
        .as_ref()
        .map_or(512, |e| usize::from(e.max_payload().max(512)));
    let send = |b: &[u8]| {
        let _ = sock.try_send_to(b, src);
    };
    match b {
        Behavior::WrongIdFirst(_) => {
            let mut wrong = bytes.clone();
            let id = req.metadata.id.wrapping_add(1).to_be_bytes();
            wrong[..2].copy_from_slice(&id);
            send(&wrong);
        }
        Behavior::OtherNameFirst(r) => {
            let mut other = req.clone();
            if let Some(q) = other.queries.first_mut() {
                q.set_name(parse_name("other.invalid").unwrap_or_else(Name::root));
            }
            if let Some(Ok(v)) =
                full_reply(&other, &Behavior::Answer(r.clone()), true).map(|m| m.to_vec())
            {
                send(&v);
            }
        }
        Behavior::OtherSourceFirst(_) => {
            let _ = decoy.try_send_to(&bytes, src);
        }
        Behavior::GarbageFirst(_) => {
            let mut g = req.metadata.id.to_be_bytes().to_vec();
            // One question whose name is a compression pointer to itself.
            g.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]);
            send(&g);
        }
        _ => {}
    }
    let force_tc = matches!(
        b,
        Behavior::Truncate(_) | Behavior::TruncateCut(_) | Behavior::TruncateSilentTcp
    );
    let fits = bytes.len() <= payload || matches!(b, Behavior::Oversized(_));
    if force_tc || !fits {
        if matches!(b, Behavior::TruncateCut(_)) {
            // Keep the header (counts intact), the question and 3 bytes of the
            // first answer: a TC=1 datagram that does not decode.
            let qlen = req.queries.first().map_or(0, |q| q.name().len() + 1 + 4);
            bytes.truncate((12 + qlen + 3).min(bytes.len()));
            if let Some(flags) = bytes.get_mut(2) {
                *flags |= 0x02;
            }
        } else {
            let mut tc = response(req, full.metadata.response_code, &[], false);
            tc.metadata.truncation = true;
            let Ok(v) = tc.to_vec() else { return };
            bytes = v;
        }
    }
    send(&bytes);
}

async fn tcp_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        if let Ok((stream, from)) = listener.accept().await {
            tokio::spawn(tcp_conn(stream, from, Arc::clone(&state)));
        }
    }
}

async fn tcp_conn(mut stream: TcpStream, from: SocketAddr, state: Arc<State>) {
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut buf).await.is_err() {
            return;
        }
        let Ok(req) = Message::from_vec(&buf) else {
            return;
        };
        let Some((mut b, name, rtype)) = state.behavior(&req) else {
            return;
        };
        state.log(&req, buf.len(), (name, rtype), true, from);
        while let Behavior::Delay(d, inner) = b {
            tokio::time::sleep(d).await;
            b = *inner;
        }
        let Some(Ok(bytes)) = full_reply(&req, &b, false).map(|m| m.to_vec()) else {
            // Silence: hold the connection until the client gives up.
            let _ = stream.read(&mut len).await;
            return;
        };
        let Ok(n) = u16::try_from(bytes.len()) else {
            return;
        };
        let mut out = n.to_be_bytes().to_vec();
        out.extend_from_slice(&bytes);
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}
