//! Query building and answer extraction.
//!
//! Everything here is pure: it turns names into wire queries and checked
//! replies ([`crate::decode`]) into [`RecordData`]. Replies are hostile
//! input: every loop is bounded by the record counts the decoder checked,
//! and the CNAME walk by the configured hop limit.

#[cfg(any(test, feature = "testserver"))]
use hickory_proto::rr::Name;
use hickory_proto::rr::{DNSClass, RecordType};

use authcensus_records::dns::{MxRecord, TxtRecord};

use crate::decode::{
    CLASS_IN, RecordRef, Reply, TYPE_A, TYPE_AAAA, TYPE_CNAME, TYPE_MX, TYPE_NS, TYPE_PTR, TYPE_TXT,
};
use crate::qname::QName;
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

/// Parses a presentation name (trailing dot optional) into a fully
/// qualified hickory [`Name`], as [`QName::parse`] reads it; for the test
/// server and tests, which build replies with hickory.
#[cfg(any(test, feature = "testserver"))]
pub(crate) fn parse_name(s: &str) -> Option<Name> {
    let q = QName::parse(s)?;
    let mut decoder = hickory_proto::serialize::binary::BinDecoder::new(q.wire());
    let mut name =
        <Name as hickory_proto::serialize::binary::BinDecodable>::read(&mut decoder).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// A hickory name as the records crate wants it: lowercase, no trailing
/// dot, `""` for the root.
#[cfg(any(test, feature = "testserver"))]
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
/// With `pad_block` > 0 the query is padded as [`pad_query`] does, in the
/// same buffer (sized for it: growing it was one reallocation per query).
pub(crate) fn encode_query(
    id: u16,
    name: &QName,
    rtype: RecordType,
    payload: u16,
    pad_block: usize,
) -> Option<Vec<u8>> {
    let name_len = name.wire().len();
    if name_len > crate::qname::WIRE_MAX {
        return None;
    }
    let len = 12 + name_len + 4 + 11;
    let capacity = match pad_block {
        0 => len,
        b => padded_len(len, b),
    };
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&id.to_be_bytes());
    // QR=0, OPCODE=QUERY, RD=1; RCODE 0. QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1.
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    // The name's wire form ends with the root octet.
    out.extend_from_slice(name.wire());
    out.extend_from_slice(&u16::from(rtype).to_be_bytes());
    out.extend_from_slice(&u16::from(DNSClass::IN).to_be_bytes());
    // OPT: root owner, TYPE 41, CLASS = UDP payload size, TTL = extended
    // RCODE 0, VERSION 0, flags 0 (no DO), RDLENGTH 0.
    out.push(0);
    out.extend_from_slice(&41u16.to_be_bytes());
    out.extend_from_slice(&payload.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    pad_query(&mut out, pad_block);
    Some(out)
}

/// EDNS(0) option code of Padding (RFC 7830 §3).
const OPTION_PADDING: u16 = 12;

/// Length of a query of `len` octets once [`pad_query`] has added its
/// Padding option (4 octets of code and length, then the padding) and
/// filled the last `block` (> 0).
fn padded_len(len: usize, block: usize) -> usize {
    (len + 4).div_ceil(block) * block
}

/// Pads a query made by [`encode_query`] to the next multiple of `block`
/// octets with an EDNS(0) Padding option (RFC 7830 §3: the option's
/// octets are zero) in its OPT record, the last record of the message.
/// Leaves the query unchanged when `block` is 0 or the query does not end
/// with an empty OPT record.
pub(crate) fn pad_query(query: &mut Vec<u8>, block: usize) {
    // The OPT record's fixed part is 11 octets: root owner, TYPE 41, CLASS,
    // TTL, and RDLENGTH, which is 0 for a query from `encode_query` (and
    // not for one padded already).
    let len = query.len();
    let Some(opt) = len.checked_sub(11).filter(|&o| o >= 12) else {
        return;
    };
    if block == 0
        || query.get(opt..opt + 3) != Some(&[0, 0, 41][..])
        || query.get(len - 2..) != Some(&[0, 0][..])
    {
        return;
    }
    // The option's code and length take 4 octets, the padding the rest.
    let target = padded_len(len, block);
    let Ok(pad) = u16::try_from(target - len - 4) else {
        return;
    };
    let rdlength = pad + 4;
    query.truncate(len - 2);
    query.extend_from_slice(&rdlength.to_be_bytes());
    query.extend_from_slice(&OPTION_PADDING.to_be_bytes());
    query.extend_from_slice(&pad.to_be_bytes());
    query.resize(target, 0);
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
        target: QName,
        /// An SOA record is in the authority section.
        soa_in_authority: bool,
    },
    /// A CNAME pointed back into the chain, or the chain exceeded the hop limit.
    Loop,
}

/// Converts the data of an answer record of the types we ask for; `None`
/// for anything else (and for records without data).
pub(crate) fn convert(reply: &Reply, rr: &RecordRef) -> Option<RecordData> {
    Some(match rr.rtype {
        TYPE_A => RecordData::A(reply.a(rr)?),
        TYPE_AAAA => RecordData::Aaaa(reply.aaaa(rr)?),
        TYPE_MX => {
            let (preference, exchange) = reply.mx(rr)?;
            RecordData::Mx(MxRecord {
                preference,
                exchange,
            })
        }
        TYPE_TXT => RecordData::Txt(TxtRecord {
            strings: reply.txt(rr)?,
        }),
        TYPE_PTR => RecordData::Ptr(reply.target_string(rr)?),
        TYPE_NS => RecordData::Ns(reply.target_string(rr)?),
        TYPE_CNAME => RecordData::Cname(reply.target_string(rr)?),
        _ => return None,
    })
}

/// Follows the CNAME chain inside `reply`'s answer section starting at `start`
/// (RFC 1035 §3.3.1; alias rules of RFC 1034 and RFC 2181). `seen` holds every name already on the
/// chain, the asked name first; new names are pushed to it and to `chain`.
/// It may start empty: then `start` is the asked name and goes in first
/// when the chain first grows (most answers have no CNAME, and the query
/// path saves an allocation). At most `max_len` names may be on the chain
/// in all.
pub(crate) fn follow_chain(
    reply: &Reply,
    start: &QName,
    rtype: RecordType,
    seen: &mut Vec<QName>,
    chain: &mut Vec<String>,
    max_len: usize,
) -> Chain {
    let want = u16::from(rtype);
    let mut current = start.clone();
    // Whether `current` is a CNAME target rather than `start`.
    let mut followed = false;
    let answers = reply.answers();
    // Each step either returns or adds a name to `seen`, which is bounded by
    // `max_len`; the answer count bounds it as well.
    for _ in 0..=answers.len() {
        // All of them are owned by `current`: one string for the RRset.
        let mut owner: Option<String> = None;
        let data: Vec<AnswerRecord> = answers
            .iter()
            .filter(|r| r.class == CLASS_IN && r.rtype == want && reply.owner_is(r, &current))
            .filter_map(|r| {
                let data = convert(reply, r)?;
                let name = owner.get_or_insert_with(|| reply.owner_string(r)).clone();
                Some(AnswerRecord {
                    name,
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
        let target = answers.iter().find_map(|r| {
            (r.class == CLASS_IN && r.rtype == TYPE_CNAME && reply.owner_is(r, &current))
                .then(|| reply.target_name(r))
                .flatten()
        });
        let Some(target) = target else {
            return if followed {
                Chain::Dangling {
                    target: current,
                    soa_in_authority: reply.soa_in_authority(),
                }
            } else {
                Chain::Empty
            };
        };
        if seen.is_empty() {
            seen.push(start.clone());
        }
        if seen.iter().any(|s| s.same_as(&target)) || seen.len() >= max_len {
            return Chain::Loop;
        }
        chain.push(target.to_presentation());
        seen.push(target.clone());
        current = target;
        followed = true;
    }
    Chain::Loop
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{Parsed, parse};
    use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
    use hickory_proto::rr::rdata::{A, CNAME, TXT};
    use hickory_proto::rr::{RData, Record};

    fn n(s: &str) -> Name {
        parse_name(s).unwrap()
    }

    fn q(s: &str) -> QName {
        QName::parse(s).unwrap()
    }

    fn names(v: &[QName]) -> Vec<String> {
        v.iter().map(QName::to_presentation).collect()
    }

    /// A reply to `a.example` TXT with `answers`, encoded by hickory and
    /// checked by our decoder.
    fn reply(answers: Vec<Record>) -> Reply {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(n("a.example"), RecordType::TXT));
        m.add_answers(answers);
        let bytes = m.to_vec().unwrap();
        match parse(&bytes) {
            Parsed::Reply(layout) => Reply::new(bytes, layout),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_round_trip_lowercase_without_dot() {
        assert_eq!(q("Example.COM.").to_presentation(), "example.com");
        assert_eq!(name_string(&n("Example.COM.")), "example.com");
        assert_eq!(
            q("_dmarc.example.com").to_presentation(),
            "_dmarc.example.com"
        );
    }

    #[test]
    fn chain_in_answer_is_followed_and_loops_detected() {
        let m = reply(vec![
            Record::from_rdata(n("a.example"), 60, RData::CNAME(CNAME(n("B.example")))),
            Record::from_rdata(n("b.example"), 30, RData::TXT(TXT::new(vec!["x".into()]))),
        ]);
        let (mut seen, mut chain) = (vec![q("a.example")], vec![]);
        let c = follow_chain(
            &m,
            &q("a.example"),
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
        let (mut seen, mut chain) = (vec![q("a.example")], vec![]);
        let c = follow_chain(&m, &q("a.example"), RecordType::A, &mut seen, &mut chain, 9);
        assert!(matches!(c, Chain::Loop));
        // Starting with an empty `seen` (as the client does), the asked
        // name joins it first: the loop back to it is still found, and the
        // hop limit counts it.
        let (mut seen, mut chain) = (vec![], vec![]);
        let c = follow_chain(&m, &q("a.example"), RecordType::A, &mut seen, &mut chain, 9);
        assert!(matches!(c, Chain::Loop));
        assert_eq!(names(&seen), ["a.example", "b.example"]);
        let (mut seen, mut chain) = (vec![], vec![]);
        let c = follow_chain(&m, &q("a.example"), RecordType::A, &mut seen, &mut chain, 1);
        assert!(matches!(c, Chain::Loop));
        assert!(chain.is_empty());

        let m = reply(vec![Record::from_rdata(
            n("a.example"),
            60,
            RData::CNAME(CNAME(n("c.example"))),
        )]);
        let (mut seen, mut chain) = (vec![q("a.example")], vec![]);
        let c = follow_chain(&m, &q("a.example"), RecordType::A, &mut seen, &mut chain, 9);
        assert!(
            matches!(c, Chain::Dangling { ref target, soa_in_authority: false } if target.same_as(&q("C.example")))
        );

        // Records of another type or owner are not data for the question.
        let m = reply(vec![Record::from_rdata(
            n("x.example"),
            1,
            RData::A(A::new(1, 2, 3, 4)),
        )]);
        let (mut seen, mut chain) = (vec![q("a.example")], vec![]);
        let c = follow_chain(&m, &q("a.example"), RecordType::A, &mut seen, &mut chain, 9);
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
            let (ours_name, name) = (q(name), n(name));
            let id = 0x1234u16.wrapping_mul(i as u16 + 1);
            for payload in [512u16, 1232, 4096] {
                let ours = encode_query(id, &ours_name, rtype, payload, 0).unwrap();
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
        let root = encode_query(1, &QName::root(), RecordType::NS, 1232, 0).unwrap();
        assert_eq!(root, hickory_query(1, &Name::root(), RecordType::NS, 1232));
    }

    /// Padding (RFC 7830) brings a query to a multiple of the block, as one
    /// option of the OPT record that hickory still reads as the same query.
    #[test]
    fn padded_queries_fill_whole_blocks_and_decode_unchanged() {
        let long = format!(
            "{}.{}.{}.example",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(60)
        );
        let names = [
            "x",
            "example.com",
            "_dmarc.Mixed-Case.example.org.",
            // 124 octets unpadded: the Padding option's own 4 octets fill the block.
            &format!("{}.{}.example", "a".repeat(46), "b".repeat(40)),
            &format!("{}.{}.example", "a".repeat(47), "b".repeat(40)),
            &long,
        ];
        let mut lengths = Vec::new();
        for name in names {
            let (hname, name) = (n(name), q(name));
            let plain = encode_query(7, &name, RecordType::TXT, 1232, 0).unwrap();
            let mut padded = plain.clone();
            pad_query(&mut padded, 128);
            assert_eq!(padded.len() % 128, 0, "{hname}: {} octets", padded.len());
            assert!(padded.len() >= plain.len() + 4 && padded.len() < plain.len() + 4 + 128);
            assert_eq!(padded[..plain.len() - 2], plain[..plain.len() - 2]);
            let pad = padded.len() - plain.len() - 4;
            let tail = &padded[plain.len() - 2..];
            assert_eq!(tail[..2], u16::try_from(pad + 4).unwrap().to_be_bytes());
            assert_eq!(tail[2..4], OPTION_PADDING.to_be_bytes());
            assert_eq!(tail[4..6], u16::try_from(pad).unwrap().to_be_bytes());
            assert!(tail[6..].iter().all(|&b| b == 0));
            let back = Message::from_vec(&padded).unwrap();
            assert_eq!(back.queries[0].name(), &hname);
            assert_eq!(back.queries[0].query_type(), RecordType::TXT);
            assert_eq!(back.max_payload(), 1232);
            // Encoded padded at once: the same bytes, in a buffer of the
            // final size from the start.
            let direct = encode_query(7, &name, RecordType::TXT, 1232, 128).unwrap();
            assert_eq!(direct, padded, "{hname}");
            assert_eq!(direct.capacity(), direct.len(), "{hname}");
            lengths.push(padded.len());
        }
        assert_eq!(lengths, [128, 128, 128, 128, 256, 256]);
        // Padding twice, or a block of 0, changes nothing.
        let mut q = encode_query(
            7,
            &QName::parse("example.com").unwrap(),
            RecordType::MX,
            1232,
            0,
        )
        .unwrap();
        pad_query(&mut q, 128);
        let once = q.clone();
        pad_query(&mut q, 128);
        assert_eq!(q, once);
        let mut q = encode_query(
            7,
            &QName::parse("example.com").unwrap(),
            RecordType::MX,
            1232,
            0,
        )
        .unwrap();
        let plain = q.clone();
        pad_query(&mut q, 0);
        assert_eq!(q, plain);
    }
}
