//! The authoritative DNS server: UDP and TCP on loopback, answering from the
//! loaded zones, with seeded fault injection and a never-answer list.
//!
//! Answers are authoritative (AA) and also set RA, so a crawler can use the
//! server as its only resolver. UDP responses larger than the client's EDNS
//! payload size (capped at 1232 bytes, the DNS Flag Day 2020 figure; 512 when
//! the query has no OPT, RFC 1035 §4.2.1) are sent empty with TC set, and the
//! client retries over TCP (RFC 7766 §5).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsCode;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::Instant;

use super::FaultOptions;
use super::synthetic::{SYNTHETIC_ZONE, Synthetic, SyntheticAnswer};
use super::zonefile::ZoneData;
use crate::generate::ApexSet;
use crate::rng::Rng;

mod fast;
pub(super) mod gso;

/// Largest UDP payload the server sends.
pub const MAX_UDP: u16 = 1232;
/// Longest CNAME chain followed within the served data.
const MAX_CNAME: usize = 8;
/// Most UDP queries in flight (more are dropped, like an overloaded server).
pub const MAX_UDP_IN_FLIGHT: usize = 4096;
/// Most UDP replies waiting out the fixed latency (more are dropped, like a
/// full queue on a slow path). They cost only their bytes: one task sends
/// them in order of arrival, so 65,536 hold a 50 ms path at over a million
/// queries per second without a timer per reply.
pub const MAX_UDP_DELAYED: usize = 65_536;
/// Most open TCP connections (more are closed at once).
pub const MAX_TCP_CONNECTIONS: usize = 256;

/// Shared state of the DNS server.
pub struct DnsState {
    /// The zones.
    pub data: ZoneData,
    /// Names (and their subtrees) whose queries are dropped.
    pub never_answer: ApexSet,
    /// Fault settings.
    pub faults: FaultOptions,
    /// The fault RNG.
    pub rng: Mutex<Rng>,
    /// A synthetic universe answered on the fly (scale runs).
    pub synthetic: Option<Synthetic>,
}

impl std::fmt::Debug for DnsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsState")
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

/// What to do with one query.
enum Action {
    Drop,
    /// Send these bytes, after the fixed latency and, when the flag is set,
    /// a latency spike.
    Reply(Vec<u8>, bool),
}

/// The faults drawn for one query.
#[derive(Debug, Clone, Copy, Default)]
struct Draw {
    drop: bool,
    servfail: bool,
    truncate: bool,
    spike: bool,
}

impl DnsState {
    /// Whether `name` lies in a delegation silenced by the faults.
    pub fn silent(&self, name: &str) -> bool {
        if self.faults.silent_rate <= 0.0 {
            return false;
        }
        let zone = match self.data.zone_for(name) {
            Some(z) => z,
            None if self.synthetic.is_some() && Synthetic::covers(name) => SYNTHETIC_ZONE,
            None => return false,
        };
        let Some(head) = name.strip_suffix(zone).and_then(|h| h.strip_suffix('.')) else {
            return false;
        };
        let label = head.rsplit('.').next().unwrap_or(head);
        self.faults.silences(&format!("{label}.{zone}"))
    }

    /// Whether `name` is a planted never-answer name or below one.
    pub fn never(&self, name: &str) -> bool {
        self.never_answer.covers(name)
    }

    fn draw(&self) -> Draw {
        let f = &self.faults;
        if f.drop_rate <= 0.0
            && f.servfail_rate <= 0.0
            && f.truncate_rate <= 0.0
            && f.spike_rate <= 0.0
        {
            // No fault to draw: no lock, no random numbers.
            return Draw::default();
        }
        match self.rng.lock() {
            Ok(mut r) => Draw {
                drop: r.chance(f.drop_rate),
                servfail: r.chance(f.servfail_rate),
                truncate: r.chance(f.truncate_rate),
                spike: r.chance(f.spike_rate),
            },
            Err(_) => Draw::default(),
        }
    }

    /// Builds the answer to one query (`udp`: apply the UDP size limit and
    /// TC faults). The answer to a query that carries an EDNS(0) Padding
    /// option is padded too: RFC 7830 §3 says responders MUST, unless that
    /// would exceed the client's UDP payload size; to a multiple of
    /// [`REPLY_BLOCK`] octets (RFC 8467 §4.1).
    fn handle(&self, bytes: &[u8], udp: bool) -> Action {
        fast::answer(self, bytes, udp).unwrap_or_else(|| self.handle_general(bytes, udp))
    }

    /// [`Self::handle`] through hickory messages: every query the wire-level
    /// path in `fast.rs` leaves alone.
    fn handle_general(&self, bytes: &[u8], udp: bool) -> Action {
        let Ok(req) = Message::from_vec(bytes) else {
            return Action::Drop;
        };
        if req.metadata.message_type != MessageType::Query {
            return Action::Drop;
        }
        let padded = req
            .edns
            .as_ref()
            .is_some_and(|e| e.options().get(EdnsCode::Padding).is_some());
        let limit = udp_limit(req.edns.as_ref().map(Edns::max_payload));
        match self.respond(&req, udp, limit) {
            Action::Reply(mut out, spike) => {
                if padded {
                    pad_within(&mut out, udp, limit);
                }
                Action::Reply(out, spike)
            }
            Action::Drop => Action::Drop,
        }
    }

    /// The answer to the query `req`, unpadded; `limit` is the client's UDP
    /// payload size.
    fn respond(&self, req: &Message, udp: bool, limit: u16) -> Action {
        let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
        resp.metadata.recursion_desired = req.metadata.recursion_desired;
        resp.metadata.recursion_available = true;
        resp.queries = req.queries.clone();
        if req.edns.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(MAX_UDP);
            resp.set_edns(edns);
        }
        let [q] = req.queries.as_slice() else {
            resp.metadata.response_code = ResponseCode::FormErr;
            return encode(&resp);
        };
        if req.metadata.op_code != OpCode::Query {
            resp.metadata.response_code = ResponseCode::NotImp;
            return encode(&resp);
        }
        let qname = q
            .name()
            .to_ascii()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        if self.never(&qname) || self.silent(&qname) {
            return Action::Drop;
        }
        let draw = self.draw();
        if draw.drop {
            return Action::Drop;
        }
        if draw.servfail {
            resp.metadata.response_code = ResponseCode::ServFail;
            return spiked(encode(&resp), draw.spike);
        }
        self.answer(&qname, q.query_type(), &mut resp);
        spiked(finish(resp, udp, draw.truncate, limit), draw.spike)
    }

    fn answer(&self, qname: &str, qtype: RecordType, resp: &mut Message) {
        if let Some(a) = self.synthetic.and_then(|s| s.answer(qname, qtype)) {
            resp.metadata.authoritative = true;
            match a {
                SyntheticAnswer::Records(rs) => resp.answers.extend(rs),
                SyntheticAnswer::NoData => {}
                SyntheticAnswer::NxDomain => resp.metadata.response_code = ResponseCode::NXDomain,
            }
            return;
        }
        let Some(zone) = self.data.zone_for(qname) else {
            resp.metadata.response_code = ResponseCode::Refused;
            return;
        };
        resp.metadata.authoritative = true;
        let mut name = qname.to_string();
        for _ in 0..=MAX_CNAME {
            let sets = self.data.rrsets.get(&name);
            if let Some(rs) = sets.and_then(|s| s.get(&qtype)) {
                resp.answers.extend(rs.iter().cloned());
                return;
            }
            if qtype != RecordType::CNAME
                && let Some(c) = sets
                    .and_then(|s| s.get(&RecordType::CNAME))
                    .and_then(|v| v.first())
            {
                resp.answers.push(c.clone());
                let RData::CNAME(target) = &c.data else {
                    return;
                };
                let t = target
                    .0
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase();
                if self.data.zone_for(&t).is_none() {
                    return;
                }
                name = t;
                continue;
            }
            if !self.data.names.contains(&name) {
                resp.metadata.response_code = ResponseCode::NXDomain;
            }
            let z = self.data.zone_for(&name).unwrap_or(zone);
            if let Some(soa) = self.data.soa.get(z) {
                resp.authorities.push(soa.clone());
            }
            return;
        }
    }
}

/// Encodes the answer `resp`, applying the UDP size `limit` and the TC fault.
fn finish(mut resp: Message, udp: bool, truncate: bool, limit: u16) -> Action {
    if udp && truncate {
        resp.metadata.truncation = true;
        resp.answers.clear();
        resp.authorities.clear();
        return encode(&resp);
    }
    match resp.to_vec() {
        Ok(b) if udp && b.len() > usize::from(limit) => {
            resp.metadata.truncation = true;
            resp.answers.clear();
            resp.authorities.clear();
            encode(&resp)
        }
        Ok(b) => Action::Reply(b, false),
        Err(_) => {
            let mut e = Message::error_msg(
                resp.metadata.id,
                resp.metadata.op_code,
                ResponseCode::ServFail,
            );
            e.queries = resp.queries.clone();
            encode(&e)
        }
    }
}

/// Block length of padded replies: RFC 8467 §4.1 recommends that
/// responders pad to a multiple of 468 octets.
pub const REPLY_BLOCK: usize = 468;

/// Pads the encoded reply `msg` with an EDNS(0) Padding option (RFC 7830)
/// to a multiple of `block` octets, unless the result would be longer than
/// `limit`. `msg` must end with its OPT record without options, as hickory
/// encodes our replies; anything else is left alone.
pub fn pad_reply(msg: &mut Vec<u8>, block: usize, limit: usize) {
    // The OPT record's fixed part: root owner, TYPE 41, CLASS, TTL, RDLENGTH 0.
    let len = msg.len();
    let Some(opt) = len.checked_sub(11).filter(|&o| o >= 12) else {
        return;
    };
    if block == 0
        || msg.get(opt..opt + 3) != Some(&[0, 0, 41][..])
        || msg.get(len - 2..) != Some(&[0, 0][..])
    {
        return;
    }
    // The option's code and length take 4 octets, the padding the rest.
    let target = (len + 4).div_ceil(block) * block;
    let Ok(pad) = u16::try_from(target - len - 4) else {
        return;
    };
    if target > limit {
        return;
    }
    msg.truncate(len - 2);
    msg.extend_from_slice(&(pad + 4).to_be_bytes());
    msg.extend_from_slice(&12u16.to_be_bytes());
    msg.extend_from_slice(&pad.to_be_bytes());
    msg.resize(target, 0);
}

/// The client's UDP payload size (RFC 6891 §6.2.3) from its OPT record, at
/// most ours; 512 without OPT (RFC 1035 §4.2.1).
fn udp_limit(payload: Option<u16>) -> u16 {
    payload.map_or(512, |p| p.clamp(512, MAX_UDP))
}

/// Pads the reply `out` to a padded query: within the client's payload
/// size `limit` over UDP (RFC 7830 §3), within the TCP message limit
/// otherwise.
fn pad_within(out: &mut Vec<u8>, udp: bool, limit: u16) {
    let room = if udp { limit } else { u16::MAX };
    pad_reply(out, REPLY_BLOCK, usize::from(room));
}

/// Marks a reply as spiked.
fn spiked(a: Action, spike: bool) -> Action {
    match a {
        Action::Reply(b, _) => Action::Reply(b, spike),
        Action::Drop => Action::Drop,
    }
}

fn encode(m: &Message) -> Action {
    match m.to_vec() {
        Ok(b) => Action::Reply(b, false),
        Err(_) => Action::Drop,
    }
}

async fn delay(state: &DnsState, spike: bool) {
    let mut d = state.faults.latency;
    if spike {
        d += state.faults.spike_latency;
    }
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// A UDP reply waiting for its send time.
struct Delayed {
    due: Instant,
    peer: SocketAddr,
    bytes: Vec<u8>,
}

/// Sends delayed replies when they are due. Replies queue in order of
/// arrival and share one latency, so the head is always due first (up to the
/// microseconds by which concurrent handlers finish out of order). All
/// replies due by the time the task wakes go out together: those of one
/// length to one peer (padded replies mostly are one length) as UDP GSO
/// writes on Linux, the rest one by one. The server's send path was 40 % of
/// its CPU in the 50 ms latency benchmark, where it shares the two cores
/// with the crawler it measures.
async fn send_delayed(sock: Arc<UdpSocket>, mut rx: mpsc::Receiver<Delayed>) {
    let mut batch = Vec::with_capacity(256);
    let mut gso = cfg!(target_os = "linux");
    while rx.recv_many(&mut batch, 256).await > 0 {
        let mut start = 0;
        while let Some(head) = batch.get(start) {
            if head.due > Instant::now() {
                tokio::time::sleep_until(head.due).await;
            }
            let now = Instant::now();
            let due = batch
                .get(start..)
                .unwrap_or(&[])
                .iter()
                .take_while(|d| d.due <= now)
                .count()
                .max(1);
            let end = start + due;
            if let Some(group) = batch.get_mut(start..end) {
                send_group(&sock, group, &mut gso).await;
            }
            start = end;
        }
        batch.clear();
    }
}

/// Most segments in one GSO write (`UDP_MAX_SEGMENTS` of Linux 4.18-6.x),
/// and most octets (a UDP payload's limit, less headroom).
const GSO_MAX_SEGMENTS: usize = 64;
const GSO_MAX_BYTES: usize = 65_000;

/// Sends replies that are due, grouped by peer and length (reorders `group`).
async fn send_group(sock: &UdpSocket, group: &mut [Delayed], gso: &mut bool) {
    if *gso && group.len() > 1 {
        group.sort_unstable_by_key(|d| (d.peer, d.bytes.len()));
    }
    let mut rest = group;
    while let Some(first) = rest.first() {
        let (peer, len) = (first.peer, first.bytes.len());
        let max = (GSO_MAX_BYTES / len.max(1)).clamp(1, GSO_MAX_SEGMENTS);
        let run = rest
            .iter()
            .take(max)
            .take_while(|d| d.peer == peer && d.bytes.len() == len)
            .count();
        let (chunk, tail) = rest.split_at_mut(run);
        if !(*gso && chunk.len() > 1 && gso::send(sock, chunk, gso).await) {
            for d in chunk.iter() {
                let _ = sock.send_to(&d.bytes, d.peer).await;
            }
        }
        rest = tail;
    }
}

/// Serves UDP until `stop` changes.
///
/// On Linux the socket (bound with [`gso::enable_gro`]) asks for UDP GRO
/// (`udp(7)`): a burst of equal-length
/// queries one client sent as a GSO write (authcensus pads its queries for
/// that) then arrives in one receive call, split here at the segment size,
/// instead of one system call per query.
pub async fn run_udp(sock: UdpSocket, state: Arc<DnsState>, mut stop: watch::Receiver<bool>) {
    let sock = Arc::new(sock);
    let slots = Arc::new(Semaphore::new(MAX_UDP_IN_FLIGHT));
    // The fixed latency goes through one queue instead of a timer per reply
    // (spiked replies, rare, still wait on their own timer).
    let delayed = (!state.faults.latency.is_zero()).then(|| {
        let (tx, rx) = mpsc::channel(MAX_UDP_DELAYED);
        tokio::spawn(send_delayed(Arc::clone(&sock), rx));
        tx
    });
    let gro = gso::gro_enabled(&sock);
    let mut buf = vec![0u8; 65_535];
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            r = gso::recv(&sock, &mut buf, gro) => {
                let Ok((n, segment, peer)) = r else { continue };
                let received = Instant::now();
                // Bounded: at most 65,535 segments of at least one octet.
                for query in buf.get(..n).unwrap_or(&[]).chunks(segment.max(1)) {
                    let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else { continue };
                    on_query(&state, &sock, delayed.as_ref(), query, peer, received, permit);
                }
            }
        }
    }
}

/// Answers one UDP query. With a fixed latency, inline, the reply queued
/// for the send task: building an answer never waits, and a task per query
/// cost as much as the answer itself (the latency benchmark shares its two
/// cores with the crawler, so the server's CPU per query limits the crawl
/// it measures).
fn on_query(
    state: &Arc<DnsState>,
    sock: &Arc<UdpSocket>,
    delayed: Option<&mpsc::Sender<Delayed>>,
    query: &[u8],
    peer: SocketAddr,
    received: Instant,
    permit: OwnedSemaphorePermit,
) {
    if let Some(tx) = delayed {
        match state.handle(query, true) {
            Action::Reply(out, false) => {
                let due = received + state.faults.latency;
                // A full queue drops the reply.
                let _ = tx.try_send(Delayed {
                    due,
                    peer,
                    bytes: out,
                });
            }
            Action::Reply(out, true) => {
                let (state, sock) = (Arc::clone(state), Arc::clone(sock));
                tokio::spawn(async move {
                    let _permit = permit;
                    delay(&state, true).await;
                    let _ = sock.send_to(&out, peer).await;
                });
            }
            Action::Drop => {}
        }
        return;
    }
    let bytes = query.to_vec();
    let (state, sock) = (Arc::clone(state), Arc::clone(sock));
    tokio::spawn(async move {
        let _permit = permit;
        let Action::Reply(out, spike) = state.handle(&bytes, true) else {
            return;
        };
        delay(&state, spike).await;
        let _ = sock.send_to(&out, peer).await;
    });
}

async fn tcp_conn(mut s: TcpStream, state: Arc<DnsState>) {
    // Bounded: at most 100 queries per connection, 10 s idle.
    for _ in 0..100 {
        let mut len = [0u8; 2];
        let read = tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut len)).await;
        if !matches!(read, Ok(Ok(_))) {
            return;
        }
        let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if s.read_exact(&mut msg).await.is_err() {
            return;
        }
        if let Action::Reply(out, spike) = state.handle(&msg, false) {
            delay(&state, spike).await;
            let Ok(l) = u16::try_from(out.len()) else {
                return;
            };
            let mut framed = l.to_be_bytes().to_vec();
            framed.extend_from_slice(&out);
            if s.write_all(&framed).await.is_err() {
                return;
            }
        }
    }
}

/// Serves TCP until `stop` changes.
pub async fn run_tcp(l: TcpListener, state: Arc<DnsState>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_TCP_CONNECTIONS));
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            r = l.accept() => {
                if let Ok((s, _)) = r {
                    let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else { continue };
                    let st = Arc::clone(&state);
                    let mut stop2 = stop.clone();
                    tokio::spawn(async move {
                        let _permit = permit;
                        tokio::select! {
                            _ = stop2.changed() => {}
                            _ = tcp_conn(s, st) => {}
                        }
                    });
                }
            }
        }
    }
}

/// A record list helper for tests and tools: the records at `name` of `rtype`.
pub fn lookup<'a>(data: &'a ZoneData, name: &str, rtype: RecordType) -> &'a [Record] {
    data.rrsets
        .get(name)
        .and_then(|s| s.get(&rtype))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::Name;

    fn reply(edns: bool) -> Vec<u8> {
        let mut m = Message::response(7, OpCode::Query);
        m.add_query(Query::query(
            Name::from_ascii("example.com.").expect("name"),
            RecordType::TXT,
        ));
        if edns {
            m.set_edns(Edns::new());
        }
        m.to_vec().expect("encode")
    }

    #[test]
    fn replies_are_padded_to_whole_blocks_within_the_limit() {
        let plain = reply(true);
        let mut padded = plain.clone();
        pad_reply(&mut padded, REPLY_BLOCK, 1232);
        assert_eq!(padded.len(), REPLY_BLOCK);
        let m = Message::from_vec(&padded).expect("decodes");
        assert!(
            m.edns
                .expect("edns")
                .options()
                .get(EdnsCode::Padding)
                .is_some()
        );
        assert_eq!(m.queries, Message::from_vec(&plain).expect("plain").queries);
        // RFC 7830 §3: not past the client's payload size.
        let mut small = plain.clone();
        pad_reply(&mut small, REPLY_BLOCK, REPLY_BLOCK - 1);
        assert_eq!(small, plain);
        // No OPT record at the end: left alone.
        let no_edns = reply(false);
        let mut same = no_edns.clone();
        pad_reply(&mut same, REPLY_BLOCK, 1232);
        assert_eq!(same, no_edns);
        // A reply padded already is not padded again.
        let mut twice = padded.clone();
        pad_reply(&mut twice, REPLY_BLOCK, 4096);
        assert_eq!(twice, padded);
    }
}
