//! The lean decoder against hickory's: on generated replies (hickory
//! encodes them, with name compression) and on corrupted copies, whenever
//! hickory decodes a datagram this decoder must too, with the same ID,
//! RCODE, TC flag, question, answer records and SOA finding.

use super::*;
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, NULL, PTR, SOA, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use rand::RngExt;

use crate::types::RecordData;
use authcensus_records::dns::{MxRecord, TxtRecord};

/// The conversion the crawl made from hickory's records before this
/// decoder (the oracle).
fn hickory_convert(data: &RData) -> Option<RecordData> {
    Some(match data {
        RData::A(a) => RecordData::A(a.0),
        RData::AAAA(a) => RecordData::Aaaa(a.0),
        RData::MX(mx) => RecordData::Mx(MxRecord {
            preference: mx.preference,
            exchange: crate::wire::name_string(&mx.exchange),
        }),
        RData::TXT(txt) => RecordData::Txt(TxtRecord {
            strings: txt.txt_data.iter().map(|s| s.to_vec()).collect(),
        }),
        RData::PTR(p) => RecordData::Ptr(crate::wire::name_string(&p.0)),
        RData::NS(n) => RecordData::Ns(crate::wire::name_string(&n.0)),
        RData::CNAME(c) => RecordData::Cname(crate::wire::name_string(&c.0)),
        _ => return None,
    })
}

/// A random label: mostly host-name characters, sometimes octets that need
/// escaping, sometimes upper case.
fn label(rng: &mut impl rand::Rng) -> Vec<u8> {
    let n = match rng.random_range(0..10) {
        0 => rng.random_range(40..=63),
        _ => rng.random_range(1..=8),
    };
    (0..n)
        .map(|_| match rng.random_range(0..20) {
            0 => b'-',
            1 => b'_',
            2 => b'*',
            3 => rng.random(),
            4 => b"\\. @\""
                .get(rng.random_range(0..5))
                .copied()
                .unwrap_or(b'.'),
            5..=7 => rng.random_range(b'A'..=b'Z'),
            8 => rng.random_range(b'0'..=b'9'),
            _ => rng.random_range(b'a'..=b'z'),
        })
        .collect()
}

/// A random name, often sharing a suffix with `base` (so compression kicks in).
fn name(rng: &mut impl rand::Rng, base: &Name) -> Name {
    let mut labels: Vec<Vec<u8>> = (0..rng.random_range(0..4)).map(|_| label(rng)).collect();
    if rng.random_range(0..3) > 0 {
        labels.extend(base.iter().map(<[u8]>::to_vec));
    } else {
        labels.push(b"example".to_vec());
    }
    // Names over 255 octets: drop labels until it fits.
    while labels.iter().map(|l| l.len() + 1).sum::<usize>() + 1 > 255 {
        labels.remove(0);
    }
    let mut n = Name::from_labels(labels).unwrap_or_else(|_| Name::root());
    n.set_fqdn(true);
    n
}

fn record(rng: &mut impl rand::Rng, owner: Name, base: &Name) -> Record {
    let data = match rng.random_range(0..9) {
        0 => RData::A(A::new(
            rng.random(),
            rng.random(),
            rng.random(),
            rng.random(),
        )),
        1 => RData::AAAA(AAAA::from(std::net::Ipv6Addr::from(rng.random::<u128>()))),
        2 => RData::MX(MX::new(rng.random(), name(rng, base))),
        3 => {
            let strings: Vec<String> = (0..rng.random_range(1..4))
                .map(|_| {
                    let len = rng.random_range(0..40);
                    (0..len)
                        .map(|_| char::from(rng.random_range(b' '..=b'~')))
                        .collect()
                })
                .collect();
            RData::TXT(TXT::new(strings))
        }
        4 => RData::NS(NS(name(rng, base))),
        5 => RData::PTR(PTR(name(rng, base))),
        6 => RData::CNAME(CNAME(name(rng, base))),
        7 => RData::SOA(SOA::new(
            name(rng, base),
            name(rng, base),
            rng.random(),
            1,
            2,
            3,
            4,
        )),
        _ => {
            let bytes: Vec<u8> = (0..rng.random_range(1..20)).map(|_| rng.random()).collect();
            RData::NULL(NULL::with(bytes))
        }
    };
    let mut r = Record::from_rdata(owner, rng.random(), data);
    if rng.random_range(0..20) == 0 {
        r.dns_class = DNSClass::CH;
    }
    r
}

fn message(rng: &mut impl rand::Rng) -> (Message, Name) {
    let qname = name(
        rng,
        &Name::from_ascii("Mail.Example.ORG.").unwrap_or_else(|_| Name::root()),
    );
    let qtype = [
        RecordType::TXT,
        RecordType::MX,
        RecordType::A,
        RecordType::CNAME,
    ][rng.random_range(0..4)];
    let mut m = Message::new(rng.random(), MessageType::Response, OpCode::Query);
    m.add_query(Query::query(qname.clone(), qtype));
    m.metadata.response_code = [
        ResponseCode::NoError,
        ResponseCode::NXDomain,
        ResponseCode::ServFail,
        ResponseCode::Refused,
    ][rng.random_range(0..4)];
    m.metadata.truncation = rng.random_range(0..10) == 0;
    for _ in 0..rng.random_range(0..6) {
        let owner = if rng.random() {
            qname.clone()
        } else {
            name(rng, &qname)
        };
        m.add_answer(record(rng, owner, &qname));
    }
    for _ in 0..rng.random_range(0..3) {
        let owner = name(rng, &qname);
        m.add_authority(record(rng, owner, &qname));
    }
    if rng.random() {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        if rng.random_range(0..4) == 0 {
            edns.set_rcode_high(rng.random_range(1..4));
        }
        m.set_edns(edns);
    }
    (m, qname)
}

/// Everything the crawl reads from a reply: ID, RCODE, TC, the answers
/// (owner, type, class, TTL, data) and whether the authority has an SOA.
type View = (
    u16,
    u16,
    bool,
    Vec<(String, u16, u16, u32, Option<RecordData>)>,
    bool,
);

/// [`View`] from hickory's decoding.
fn hickory_view(m: &Message) -> View {
    let answers = m
        .answers
        .iter()
        .map(|r| {
            (
                crate::wire::name_string(&r.name),
                u16::from(r.record_type()),
                u16::from(r.dns_class),
                r.ttl,
                hickory_convert(&r.data),
            )
        })
        .collect();
    let soa = m
        .authorities
        .iter()
        .any(|r| r.record_type() == RecordType::SOA);
    (
        m.metadata.id,
        u16::from(m.metadata.response_code),
        m.metadata.truncation,
        answers,
        soa,
    )
}

fn lean_view(r: &Reply) -> View {
    let l = r.layout();
    let answers = r
        .answers()
        .iter()
        .map(|rr| {
            (
                r.owner_string(rr),
                rr.rtype,
                rr.class,
                rr.ttl,
                crate::wire::convert(r, rr),
            )
        })
        .collect();
    (l.id, l.rcode, l.truncated, answers, r.soa_in_authority())
}

/// Checks one datagram against hickory; returns whether hickory decoded it.
fn compare(bytes: &[u8]) -> bool {
    let ours = parse_full(bytes);
    let Ok(m) = Message::from_vec(bytes) else {
        return false;
    };
    if m.metadata.message_type != MessageType::Response || m.queries.len() != 1 {
        assert!(matches!(ours, Parsed::NotOurs), "{m:?}");
        return true;
    }
    let Parsed::Reply(layout) = ours else {
        panic!("hickory decodes what we reject: {m:?} {bytes:02x?}");
    };
    let q = &m.queries[0];
    assert!(
        question_is(
            bytes,
            &layout,
            &crate::qname::QName::from_labels(q.name().iter()).unwrap(),
            u16::from(q.query_type())
        ) == (q.query_class() == DNSClass::IN)
    );
    let reply = Reply::new(bytes.to_vec(), layout);
    assert_eq!(lean_view(&reply), hickory_view(&m), "{bytes:02x?}");
    true
}

#[test]
fn same_as_hickory_on_generated_and_corrupted_replies() {
    let mut rng = rand::rng();
    let (mut decoded, mut corrupted_decoded) = (0, 0);
    for round in 0..4_000 {
        let (m, _) = message(&mut rng);
        let Ok(good) = m.to_vec() else { continue };
        assert!(compare(&good), "hickory must decode what it encoded");
        decoded += 1;
        for _ in 0..8 {
            let mut b = good.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..b.len());
                b[i] = if round % 2 == 0 {
                    rng.random()
                } else {
                    b[i] ^ (1 << rng.random_range(0..8))
                };
            }
            if rng.random_range(0..6) == 0 {
                b.truncate(rng.random_range(0..b.len()));
            }
            corrupted_decoded += usize::from(compare(&b));
        }
    }
    assert!(decoded > 3_000, "{decoded}");
    // Some corrupted copies still decode (flipped TTLs, addresses, text).
    assert!(corrupted_decoded > 1_000, "{corrupted_decoded}");
}

#[test]
fn names_print_as_hickory_prints_them() {
    let mut rng = rand::rng();
    for _ in 0..2_000 {
        let n = name(&mut rng, &Name::root());
        let mut buf = vec![0u8; 12];
        for l in n.iter() {
            buf.push(l.len() as u8);
            buf.extend_from_slice(l);
        }
        buf.push(0);
        assert_eq!(name_string(&buf, 12), crate::wire::name_string(&n), "{n:?}");
        let ours = crate::qname::QName::from_labels(n.iter()).unwrap();
        assert!(name_is(&buf, 12, &ours));
        assert_eq!(
            to_name(&buf, 12).map(|q| q.wire().to_vec()),
            Some(ours.wire().to_vec())
        );
        // A name one label longer or shorter is another name.
        let longer = crate::qname::QName::from_labels(n.iter().chain([&b"x"[..]]));
        if let Some(longer) = longer {
            assert!(!name_is(&buf, 12, &longer), "{n:?}");
        }
        let shorter = crate::qname::QName::from_labels(n.iter().skip(1)).unwrap();
        assert_eq!(name_is(&buf, 12, &shorter), n.iter().count() == 0, "{n:?}");
    }
}

#[test]
fn names_compare_in_place_through_pointers_and_label_by_label() {
    let q = |s: &str| crate::qname::QName::parse(s).unwrap();
    let mut buf = vec![0u8; 12];
    buf.extend_from_slice(b"\x03abc\x07example\x00"); // 12: in place
    let ptr = buf.len();
    buf.extend_from_slice(&[0xc0, 12]); // a pointer to it
    let mid = buf.len();
    buf.extend_from_slice(&[3, b'w', b'w', b'w', 0xc0, 16]); // www + "example"
    let tail = buf.len();
    buf.extend_from_slice(&[0xc0, 16]); // a pointer into the middle
    let forward = buf.len();
    buf.extend_from_slice(&[0xc0, u8::try_from(forward + 2).unwrap(), 1, b'x', 0]);
    for at in [12, ptr] {
        assert!(name_is(&buf, at, &q("abc.example")));
        assert!(name_is(&buf, at, &q("ABC.Example.")));
        assert!(!name_is(&buf, at, &q("abc.exampl")));
        assert!(!name_is(&buf, at, &q("abc.example.com")));
        assert!(!name_is(&buf, at, &q("example")));
    }
    assert!(name_is(&buf, mid, &q("WWW.example")));
    assert!(!name_is(&buf, mid, &q("www")));
    assert!(!name_is(&buf, mid, &q("abc.example")));
    assert!(name_is(&buf, tail, &q("example")));
    assert!(!name_is(&buf, tail, &q("abc.example")));
    // A pointer forward is malformed, whatever lies there.
    assert!(!name_is(&buf, forward, &q("x")));
}

fn header(qd: u16, an: u16, flags: u16) -> Vec<u8> {
    let mut b = vec![0, 7];
    b.extend_from_slice(&flags.to_be_bytes());
    b.extend_from_slice(&qd.to_be_bytes());
    b.extend_from_slice(&an.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    b
}

#[test]
fn hostile_datagrams_are_rejected_without_hanging() {
    assert!(matches!(parse(&[1, 2, 3]), Parsed::Malformed));
    // A query (QR=0) and a response with two questions are not ours.
    assert!(matches!(parse(&header(1, 0, 0x0100)), Parsed::NotOurs));
    assert!(matches!(parse(&header(2, 0, 0x8000)), Parsed::NotOurs));
    // A question name pointing at itself.
    let mut b = header(1, 0, 0x8000);
    b.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert!(matches!(parse(&b), Parsed::Malformed));
    // Pointing forwards.
    let mut b = header(1, 0, 0x8000);
    b.extend_from_slice(&[0xc0, 14, 0, 0, 1, 0, 1]);
    assert!(matches!(parse(&b), Parsed::Malformed));
    // Two pointers taking turns (a loop through earlier octets): the second
    // jump lands on the first pointer, at or after the limit.
    let mut b = header(1, 1, 0x8000);
    b.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1]); // question a.
    let first = b.len();
    b.extend_from_slice(&[1, b'b', 0xc0, (first + 4) as u8, 0xc0, first as u8]);
    b.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
    assert!(matches!(parse(&b), Parsed::Malformed));
    // A reserved label type.
    let mut b = header(1, 0, 0x8000);
    b.extend_from_slice(&[0x41, 0, 0, 1, 0, 1]);
    assert!(matches!(parse(&b), Parsed::Malformed));
    // A name over 255 octets.
    let mut b = header(1, 0, 0x8000);
    for _ in 0..5 {
        b.push(63);
        b.extend_from_slice(&[b'a'; 63]);
    }
    b.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert!(matches!(parse(&b), Parsed::Malformed));
    // More records claimed than present; RDATA that does not fill its length.
    let mut b = header(1, 3, 0x8000);
    b.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1]);
    b.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
    assert!(matches!(parse(&b), Parsed::Malformed));
    let mut b = header(1, 1, 0x8000);
    b.extend_from_slice(&[1, b'a', 0, 0, 16, 0, 1]);
    b.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 1, 0, 3, 5, b'x', b'y']);
    assert!(matches!(parse(&b), Parsed::Malformed));
    // A chain of MAX_JUMPS + 1 pointers, each to the one before.
    let mut b = header(1, 0, 0x8000);
    b.extend_from_slice(&[1, b'a', 0]);
    let mut prev = 12;
    for _ in 0..=MAX_JUMPS {
        let here = b.len();
        b.extend_from_slice(&[0xc0 | (prev >> 8) as u8, prev as u8]);
        prev = here;
    }
    // From the last pointer: one jump too many.
    let mut walk = Labels::new(&b, prev);
    assert!(walk.by_ref().any(|l| l.is_none()));
    assert!(walk.failed);
    // From the one before: MAX_JUMPS jumps, then the label `a`.
    let mut walk = Labels::new(&b, prev - 2);
    assert_eq!(walk.by_ref().flatten().count(), 1);
    assert!(!walk.failed);
    // TC=1: the question is read, the records are not (a cut record is fine).
    let mut b = header(1, 1, 0x8200);
    b.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1, 0xc0]);
    assert!(matches!(parse(&b), Parsed::Reply(ref l) if l.truncated && l.id == 7));
    assert!(matches!(parse_full(&b), Parsed::Malformed));
}

#[test]
fn extended_rcode_is_merged() {
    let mut m = Message::new(5, MessageType::Response, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("a.example.").unwrap_or_else(|_| Name::root()),
        RecordType::A,
    ));
    let mut edns = Edns::new();
    edns.set_rcode_high(1);
    m.set_edns(edns);
    m.metadata.response_code = ResponseCode::from(1, 0);
    let b = m.to_vec().unwrap_or_default();
    let Parsed::Reply(l) = parse(&b) else {
        panic!("not decoded")
    };
    assert_eq!(l.rcode, 16); // BADVERS
}
