//! Message building, reply validation and answer extraction on hickory-proto.
//!
//! Everything here is pure: it turns names into wire queries and decoded
//! replies into [`RecordData`]. Replies are hostile input: every loop is
//! bounded by the record counts hickory already decoded, and the CNAME walk
//! by the configured hop limit.

use hickory_proto::op::{Header, Message, MessageType, Query};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use authcensus_records::dns::{MxRecord, TxtRecord};

use crate::types::{AnswerRecord, QueryType, RecordData};

/// The hickory record type of a [`QueryType`].
pub(crate) fn record_type(q: QueryType) -> RecordType {
    match q {
        QueryType::A => RecordType::A,
        QueryType::Aaaa => RecordType::AAAA,
        QueryType::Mx => RecordType::MX,
        QueryType::Txt => RecordType::TXT,
        QueryType::Ptr => RecordType::PTR,
        QueryType::Ns => RecordType::NS,
        QueryType::Cname => RecordType::CNAME,
    }
}

/// Parses a presentation name (trailing dot optional) into a fully qualified
/// [`Name`]; `None` when it cannot be a DNS name (RFC 1035 §2.3.4 limits:
/// labels ≤ 63 octets, names ≤ 255 octets) or is empty.
pub(crate) fn parse_name(s: &str) -> Option<Name> {
    let trimmed = s.strip_suffix('.').unwrap_or(s);
    if trimmed.is_empty() || trimmed.len() > 253 {
        return None;
    }
    let mut name = Name::from_ascii(trimmed).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// A name as the records crate wants it: lowercase, no trailing dot, `""`
/// for the root.
pub(crate) fn name_string(n: &Name) -> String {
    let mut s = n.to_ascii();
    if s.ends_with('.') {
        s.pop();
    }
    s.make_ascii_lowercase();
    s
}

/// Encodes a recursive query (RD=1) for `name`/`rtype` class IN with the
/// message `id` and an EDNS(0) OPT record advertising `payload` bytes
/// (RFC 6891; no DO bit).
///
/// Written by hand (RFC 1035 §4.1: a 12-octet header, one question, and the
/// OPT pseudo-record of RFC 6891 §6.1.2 in the additional section) into one
/// buffer of the exact size: building a hickory `Message` and encoding it
/// took 3.5 % of the crawler's CPU (benches/README.md). The bytes are the
/// ones hickory writes for the same query (a test compares them). `None`
/// when the name's wire form would exceed 255 octets (RFC 1035 §2.3.4).
pub(crate) fn encode_query(
    id: u16,
    name: &Name,
    rtype: RecordType,
    payload: u16,
) -> Option<Vec<u8>> {
    let name_len: usize = name.iter().map(|l| l.len() + 1).sum::<usize>() + 1;
    if name_len > 255 {
        return None;
    }
    let mut out = Vec::with_capacity(12 + name_len + 4 + 11);
    out.extend_from_slice(&id.to_be_bytes());
    // QR=0, OPCODE=QUERY, RD=1; RCODE 0. QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1.
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name.iter() {
        // Labels of a `Name` are 1..=63 octets.
        out.push(u8::try_from(label.len()).ok()?);
        out.extend_from_slice(label);
    }
    out.push(0);
    out.extend_from_slice(&u16::from(rtype).to_be_bytes());
    out.extend_from_slice(&u16::from(DNSClass::IN).to_be_bytes());
    // OPT: root owner, TYPE 41, CLASS = UDP payload size, TTL = extended
    // RCODE 0, VERSION 0, flags 0 (no DO), RDLENGTH 0.
    out.push(0);
    out.extend_from_slice(&41u16.to_be_bytes());
    out.extend_from_slice(&payload.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    Some(out)
}

/// What a datagram is, judged before and after a full decode.
pub(crate) enum Parsed {
    /// A fully decoded message.
    Full(Message),
    /// Not fully decodable, but the header says TC=1 and the single question
    /// decodes: a truncated reply whose records were cut mid-way. The client
    /// goes to TCP as for any TC=1 reply.
    TruncatedHeader {
        /// Message ID.
        id: u16,
        /// The question.
        query: Query,
    },
    /// A header saying it is not a response or has a question count other
    /// than one: no reply to any of our queries (counted as mismatched).
    NotOurs,
    /// Undecodable bytes (short packet, bad label, compression loop, …).
    Malformed,
}

/// Decodes one received datagram. The header is checked first so a hostile
/// packet claiming thousands of questions is rejected before any allocation.
pub(crate) fn parse_datagram(buf: &[u8]) -> Parsed {
    let mut dec = BinDecoder::new(buf);
    let Ok(header) = Header::read(&mut dec) else {
        return Parsed::Malformed;
    };
    if header.metadata.message_type != MessageType::Response || header.counts.queries != 1 {
        return Parsed::NotOurs;
    }
    match Message::from_vec(buf) {
        Ok(m) => Parsed::Full(m),
        Err(_) if header.metadata.truncation => match Query::read(&mut dec) {
            Ok(query) => Parsed::TruncatedHeader {
                id: header.metadata.id,
                query,
            },
            Err(_) => Parsed::Malformed,
        },
        Err(_) => Parsed::Malformed,
    }
}

/// RFC 1035 §7.3: after the ID, verify that the question section
/// corresponds to the one asked (name compared case-insensitively, type and class exactly).
pub(crate) fn query_matches(q: &Query, name: &Name, rtype: RecordType) -> bool {
    q.query_type() == rtype && q.query_class() == DNSClass::IN && q.name() == name
}

/// Whether a decoded reply is a response whose single question matches.
pub(crate) fn reply_matches(msg: &Message, name: &Name, rtype: RecordType) -> bool {
    msg.metadata.message_type == MessageType::Response
        && msg.queries.len() == 1
        && msg
            .queries
            .first()
            .is_some_and(|q| query_matches(q, name, rtype))
}

/// Converts record data of the types we ask for; `None` for anything else.
pub(crate) fn convert(data: &RData) -> Option<RecordData> {
    Some(match data {
        RData::A(a) => RecordData::A(a.0),
        RData::AAAA(a) => RecordData::Aaaa(a.0),
        RData::MX(mx) => RecordData::Mx(MxRecord {
            preference: mx.preference,
            exchange: name_string(&mx.exchange),
        }),
        RData::TXT(txt) => RecordData::Txt(TxtRecord {
            strings: txt.txt_data.iter().map(|s| s.to_vec()).collect(),
        }),
        RData::PTR(p) => RecordData::Ptr(name_string(&p.0)),
        RData::NS(n) => RecordData::Ns(name_string(&n.0)),
        RData::CNAME(c) => RecordData::Cname(name_string(&c.0)),
        _ => return None,
    })
}

/// Result of walking the answer section from the asked name.
#[derive(Debug)]
pub(crate) enum Chain {
    /// Records of the asked type at the end of the chain.
    Data(Vec<AnswerRecord>),
    /// No CNAME at the current name and no data: NODATA (or NXDOMAIN by RCODE).
    Empty,
    /// The chain ends at a CNAME target without data in this reply.
    /// `soa_in_authority` says whether the server vouched for the target's
    /// emptiness (a recursive resolver's NODATA carries the target zone's SOA).
    Dangling {
        /// The last CNAME target.
        target: Name,
        /// An SOA record is in the authority section.
        soa_in_authority: bool,
    },
    /// A CNAME pointed back into the chain, or the chain exceeded the hop limit.
    Loop,
}

fn is_in(r: &Record) -> bool {
    r.dns_class == DNSClass::IN
}

/// Follows the CNAME chain inside `msg`'s answer section starting at `start`
/// (RFC 1035 §3.3.1; alias rules of RFC 1034 and RFC 2181). `seen` holds every name already on the
/// chain (the asked name first); new names are pushed to it and to `chain`.
/// At most `max_len` names may be on the chain in all.
pub(crate) fn follow_chain(
    msg: &Message,
    start: &Name,
    rtype: RecordType,
    seen: &mut Vec<Name>,
    chain: &mut Vec<String>,
    max_len: usize,
) -> Chain {
    let mut current = start.clone();
    // Each step either returns or adds a name to `seen`, which is bounded by
    // `max_len`; the answer count bounds it as well.
    for _ in 0..=msg.answers.len() {
        let data: Vec<AnswerRecord> = msg
            .answers
            .iter()
            .filter(|r| is_in(r) && r.record_type() == rtype && r.name == current)
            .filter_map(|r| {
                convert(&r.data).map(|data| AnswerRecord {
                    name: name_string(&r.name),
                    ttl: r.ttl,
                    data,
                })
            })
            .collect();
        if !data.is_empty() {
            return Chain::Data(data);
        }
        if rtype == RecordType::CNAME {
            // Asked for the CNAME itself: it is the data, never followed.
            return Chain::Empty;
        }
        let target = msg.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(c) if is_in(r) && r.name == current => Some(c.0.clone()),
            _ => None,
        });
        let Some(mut target) = target else {
            return if current != *start {
                Chain::Dangling {
                    target: current,
                    soa_in_authority: has_soa(msg),
                }
            } else {
                Chain::Empty
            };
        };
        target.set_fqdn(true);
        if seen.contains(&target) || seen.len() >= max_len {
            return Chain::Loop;
        }
        chain.push(name_string(&target));
        seen.push(target.clone());
        current = target;
    }
    Chain::Loop
}

fn has_soa(msg: &Message) -> bool {
    msg.authorities
        .iter()
        .any(|r| r.record_type() == RecordType::SOA)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Edns, OpCode};
    use hickory_proto::rr::rdata::{A, CNAME, TXT};

    fn n(s: &str) -> Name {
        parse_name(s).unwrap()
    }

    fn reply(answers: Vec<Record>) -> Message {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.add_answers(answers);
        m
    }

    #[test]
    fn names_round_trip_lowercase_without_dot() {
        assert_eq!(name_string(&n("Example.COM.")), "example.com");
        assert_eq!(name_string(&n("_dmarc.example.com")), "_dmarc.example.com");
        assert!(parse_name("").is_none());
        assert!(parse_name(&"a".repeat(64)).is_none());
        assert!(parse_name(&format!("{}.com", "a".repeat(63))).is_some());
    }

    #[test]
    fn chain_in_answer_is_followed_and_loops_detected() {
        let m = reply(vec![
            Record::from_rdata(n("a.example"), 60, RData::CNAME(CNAME(n("B.example")))),
            Record::from_rdata(n("b.example"), 30, RData::TXT(TXT::new(vec!["x".into()]))),
        ]);
        let (mut seen, mut chain) = (vec![n("a.example")], vec![]);
        let c = follow_chain(
            &m,
            &n("a.example"),
            RecordType::TXT,
            &mut seen,
            &mut chain,
            9,
        );
        assert!(
            matches!(c, Chain::Data(ref d) if d.len() == 1 && d[0].ttl == 30 && d[0].name == "b.example")
        );
        assert_eq!(chain, vec!["b.example".to_string()]);

        let m = reply(vec![
            Record::from_rdata(n("a.example"), 60, RData::CNAME(CNAME(n("b.example")))),
            Record::from_rdata(n("b.example"), 60, RData::CNAME(CNAME(n("a.example")))),
        ]);
        let (mut seen, mut chain) = (vec![n("a.example")], vec![]);
        let c = follow_chain(&m, &n("a.example"), RecordType::A, &mut seen, &mut chain, 9);
        assert!(matches!(c, Chain::Loop));

        let m = reply(vec![Record::from_rdata(
            n("a.example"),
            60,
            RData::CNAME(CNAME(n("c.example"))),
        )]);
        let (mut seen, mut chain) = (vec![n("a.example")], vec![]);
        let c = follow_chain(&m, &n("a.example"), RecordType::A, &mut seen, &mut chain, 9);
        assert!(
            matches!(c, Chain::Dangling { ref target, soa_in_authority: false } if *target == n("c.example"))
        );

        // Records of another type or owner are not data for the question.
        let m = reply(vec![Record::from_rdata(
            n("x.example"),
            1,
            RData::A(A::new(1, 2, 3, 4)),
        )]);
        let (mut seen, mut chain) = (vec![n("a.example")], vec![]);
        let c = follow_chain(&m, &n("a.example"), RecordType::A, &mut seen, &mut chain, 9);
        assert!(matches!(c, Chain::Empty));
    }

    /// The query hickory itself encodes (the encoder used before the
    /// hand-written one).
    fn hickory_query(id: u16, name: &Name, rtype: RecordType, payload: u16) -> Vec<u8> {
        let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
        msg.metadata.recursion_desired = true;
        let mut q = Query::query(name.clone(), rtype);
        q.set_query_class(DNSClass::IN);
        msg.add_query(q);
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        edns.set_version(0);
        msg.set_edns(edns);
        msg.to_vec().unwrap()
    }

    #[test]
    fn hand_encoded_queries_are_the_bytes_hickory_writes() {
        let long = format!(
            "{}.{}.{}.example",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(60)
        );
        for (i, (name, rtype)) in [
            ("example.com", RecordType::TXT),
            ("_dmarc.Mixed-Case.example.org.", RecordType::TXT),
            ("_smtp._tls.a.b.c.d.e.f.g.example", RecordType::TXT),
            ("x", RecordType::MX),
            ("4.3.2.1.in-addr.arpa", RecordType::PTR),
            ("mta-sts.example.net", RecordType::AAAA),
            ("example.co.uk", RecordType::NS),
            (long.as_str(), RecordType::A),
        ]
        .into_iter()
        .enumerate()
        {
            let name = n(name);
            let id = 0x1234u16.wrapping_mul(i as u16 + 1);
            for payload in [512u16, 1232, 4096] {
                let ours = encode_query(id, &name, rtype, payload).unwrap();
                assert_eq!(
                    ours,
                    hickory_query(id, &name, rtype, payload),
                    "{name} {rtype}"
                );
                let back = Message::from_vec(&ours).unwrap();
                assert_eq!(back.queries[0].name(), &name);
                assert_eq!(back.max_payload(), payload.max(512));
            }
        }
        // The root name: one zero octet.
        let root = encode_query(1, &Name::root(), RecordType::NS, 1232).unwrap();
        assert_eq!(root, hickory_query(1, &Name::root(), RecordType::NS, 1232));
    }

    #[test]
    fn datagram_classification() {
        assert!(matches!(parse_datagram(&[1, 2, 3]), Parsed::Malformed));
        let q = encode_query(7, &n("example.com"), RecordType::A, 1232).unwrap();
        // A query is not a response.
        assert!(matches!(parse_datagram(&q), Parsed::NotOurs));
        // A response header with TC=1, the question, then a cut record.
        let mut r = q.clone();
        r.truncate(12 + 17);
        r[2] |= 0x80 | 0x02;
        r[7] = 1; // ANCOUNT = 1
        r[11] = 0; // ARCOUNT = 0
        r.extend_from_slice(&[0xc0, 0x0c, 0, 1]);
        match parse_datagram(&r) {
            Parsed::TruncatedHeader { id, query } => {
                assert_eq!(id, 7);
                assert!(query_matches(&query, &n("EXAMPLE.com"), RecordType::A));
            }
            _ => panic!("expected a truncated header"),
        }
        // Random corruption of a real reply never panics or hangs.
        let mut reply = Message::new(9, MessageType::Response, OpCode::Query);
        reply.add_query(Query::query(n("example.com"), RecordType::TXT));
        reply.add_answer(Record::from_rdata(
            n("example.com"),
            60,
            RData::TXT(TXT::new(vec!["v=spf1 -all".into(), "x".into()])),
        ));
        reply.add_answer(Record::from_rdata(
            n("example.com"),
            60,
            RData::CNAME(CNAME(n("a.example.com"))),
        ));
        let good = reply.to_vec().unwrap();
        assert!(matches!(parse_datagram(&good), Parsed::Full(_)));
        let mut kinds = [0usize; 4];
        for round in 0..20_000u32 {
            let mut b = good.clone();
            for _ in 0..(1 + round % 4) {
                let i = rand::random_range(0..b.len());
                b[i] = rand::random();
            }
            if round % 7 == 0 {
                b.truncate(rand::random_range(0..b.len()));
            }
            kinds[match parse_datagram(&b) {
                Parsed::Full(_) => 0,
                Parsed::TruncatedHeader { .. } => 1,
                Parsed::NotOurs => 2,
                Parsed::Malformed => 3,
            }] += 1;
        }
        assert!(kinds[0] > 0 && kinds[2] > 0 && kinds[3] > 0, "{kinds:?}");
        // A compression pointer to itself is a decoder error, not a hang.
        let mut looped = vec![0, 7, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        looped.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert!(matches!(parse_datagram(&looped), Parsed::Malformed));
    }
}
