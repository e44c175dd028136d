//! The common query answered at wire level, without building hickory
//! messages: one question of class IN, at most an OPT record, a name whose
//! records are in the loaded zones (or that does not exist there), no CNAME
//! on the way, no fault configured. Anything else returns `None` and goes
//! through the general path in `dns.rs`, which this one must match record
//! for record (`tests` below compares the two over a generated universe).
//!
//! Why: in the 50 ms latency benchmark the server shares the two cores with
//! the crawler it measures, and decoding each query into a hickory `Message`,
//! cloning the records and encoding the reply was about a third of its CPU
//! (`benches/README.md`, eighteenth session).

use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{Action, DnsState, MAX_UDP, pad_within, udp_limit};

/// Longest name on the wire (RFC 1035 §3.1), and longest label (§2.3.4).
const MAX_NAME_WIRE: usize = 255;
const MAX_LABEL: usize = 63;
/// TYPE of the OPT pseudo-record (RFC 6891 §6.1.1) and the Padding option's
/// code (RFC 7830 §4).
const TYPE_OPT: u16 = 41;
const OPTION_PADDING: u16 = 12;
/// Header flags (RFC 1035 §4.1.1).
const FLAG_QR: u16 = 0x8000;
const FLAG_AA: u16 = 0x0400;
const FLAG_RD: u16 = 0x0100;
const FLAG_RA: u16 = 0x0080;
const RCODE_NXDOMAIN: u16 = 3;
/// A compression pointer to the question's name, which always starts right
/// after the 12-octet header (RFC 1035 §4.1.4).
const POINTER_TO_QNAME: [u8; 2] = [0xC0, 0x0C];

/// One query as the fast path needs it.
struct Question<'a> {
    id: u16,
    rd: bool,
    /// The question section as the client sent it (name, type, class).
    section: &'a [u8],
    /// The name in lowercase, dotted, without the trailing dot: the zones' key.
    name: String,
    qtype: RecordType,
    /// With an OPT record: the client's UDP payload size and whether it
    /// carried a Padding option.
    edns: Option<(u16, bool)>,
}

/// Reads a query the fast path can answer; `None` for anything else (the
/// general path then decides, also what is malformed).
fn parse(bytes: &[u8]) -> Option<Question<'_>> {
    let word = |at: usize| -> Option<u16> {
        let b = bytes.get(at..at + 2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    };
    let id = word(0)?;
    let flags = word(2)?;
    // A query (QR clear) with OPCODE 0, and exactly one question.
    if flags & 0xF800 != 0 || word(4)? != 1 || word(6)? != 0 || word(8)? != 0 {
        return None;
    }
    let additional = word(10)?;
    let mut pos = 12;
    let mut name = String::with_capacity(64);
    loop {
        let len = usize::from(*bytes.get(pos)?);
        pos += 1;
        if len == 0 {
            break;
        }
        // Compression pointers and extended label types are left to hickory.
        if len > MAX_LABEL || pos + len - 12 > MAX_NAME_WIRE {
            return None;
        }
        if !name.is_empty() {
            name.push('.');
        }
        for &b in bytes.get(pos..pos + len)? {
            // Host-name characters only; anything hickory would escape in
            // text goes the general way.
            if !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return None;
            }
            name.push(char::from(b.to_ascii_lowercase()));
        }
        pos += len;
    }
    let qtype = RecordType::from(word(pos)?);
    if word(pos + 2)? != 1 {
        return None;
    }
    pos += 4;
    let section = bytes.get(12..pos)?;
    let edns = match additional {
        0 if pos == bytes.len() => None,
        1 => Some(parse_opt(bytes.get(pos..)?)?),
        _ => return None,
    };
    Some(Question {
        id,
        rd: flags & FLAG_RD != 0,
        section,
        name,
        qtype,
        edns,
    })
}

/// The OPT record ending a query (RFC 6891 §6.1.2): root owner, EDNS
/// version 0, options walked to the end. The payload size and whether a
/// Padding option is among them.
fn parse_opt(rr: &[u8]) -> Option<(u16, bool)> {
    let fixed = rr.get(..11)?;
    let rdlen = usize::from(u16::from_be_bytes([fixed[9], fixed[10]]));
    if fixed[0] != 0
        || u16::from_be_bytes([fixed[1], fixed[2]]) != TYPE_OPT
        || fixed[6] != 0
        || rr.len() != 11 + rdlen
    {
        return None;
    }
    let payload = u16::from_be_bytes([fixed[3], fixed[4]]);
    let mut options = rr.get(11..)?;
    let mut padded = false;
    while !options.is_empty() {
        let head = options.get(..4)?;
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        padded |= u16::from_be_bytes([head[0], head[1]]) == OPTION_PADDING;
        options = options.get(4 + len..)?;
    }
    Some((payload, padded))
}

/// The reply to `bytes` (`udp`: apply the client's UDP payload size), or
/// `None` when the general path must answer. A reply that would need
/// truncating goes the general way too: hickory compresses names inside
/// record data, this path does not, so only hickory's encoding decides
/// whether an answer fits.
pub(super) fn answer(state: &DnsState, bytes: &[u8], udp: bool) -> Option<Action> {
    let f = &state.faults;
    if state.synthetic.is_some()
        || f.drop_rate > 0.0
        || f.servfail_rate > 0.0
        || f.truncate_rate > 0.0
        || f.spike_rate > 0.0
    {
        return None;
    }
    let q = parse(bytes)?;
    if state.never(&q.name) || state.silent(&q.name) {
        return Some(Action::Drop);
    }
    let zone = state.data.zone_for(&q.name)?;
    let sets = state.data.rrsets.get(q.name.as_str());
    let mut out = Vec::with_capacity(512);
    let mut flags = FLAG_QR | FLAG_AA | FLAG_RA;
    if q.rd {
        flags |= FLAG_RD;
    }
    let (mut answers, mut authorities) = (0u16, 0u16);
    // The header goes in last, once the flags and counts are known.
    out.extend_from_slice(&[0; 12]);
    out.extend_from_slice(q.section);
    if let Some(rs) = sets.and_then(|s| s.get(&q.qtype)) {
        for r in rs {
            out.extend_from_slice(&POINTER_TO_QNAME);
            record(&mut out, r)?;
            answers = answers.checked_add(1)?;
        }
    } else {
        // A CNAME to follow: the general path's loop.
        if q.qtype != RecordType::CNAME && sets.is_some_and(|s| s.contains_key(&RecordType::CNAME))
        {
            return None;
        }
        if !state.data.names.contains(q.name.as_str()) {
            flags |= RCODE_NXDOMAIN;
        }
        // NXDOMAIN or NODATA: the zone's SOA in the authority section
        // (RFC 2308 §2.1, §2.2).
        if let Some(soa) = state.data.soa.get(zone) {
            name(&mut out, &soa.name)?;
            record(&mut out, soa)?;
            authorities = 1;
        }
    }
    if q.edns.is_some() {
        // OPT: root owner, our payload size, no extended RCODE, version 0,
        // no flags, no options (RFC 6891 §6.1.2).
        out.extend_from_slice(&[0, 0, 41]);
        out.extend_from_slice(&MAX_UDP.to_be_bytes());
        out.extend_from_slice(&[0; 6]);
    }
    let limit = udp_limit(q.edns.map(|(payload, _)| payload));
    if udp && out.len() > usize::from(limit) {
        return None;
    }
    let words = [
        q.id,
        flags,
        1,
        answers,
        authorities,
        u16::from(q.edns.is_some()),
    ];
    header(&mut out, words);
    if q.edns.is_some_and(|(_, padded)| padded) {
        pad_within(&mut out, udp, limit);
    }
    Some(Action::Reply(out, false))
}

/// Fills the 12 octets reserved for the header (RFC 1035 §4.1.1): ID,
/// flags, and the counts of questions, answers, authority and additional
/// records.
fn header(out: &mut [u8], words: [u16; 6]) {
    for (slot, word) in out.chunks_exact_mut(2).zip(words) {
        slot.copy_from_slice(&word.to_be_bytes());
    }
}

/// A name, uncompressed (RFC 1035 §3.1); `None` for a label too long.
fn name(out: &mut Vec<u8>, n: &Name) -> Option<()> {
    for label in n.iter() {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|&l| usize::from(l) <= MAX_LABEL)?;
        out.push(len);
        out.extend_from_slice(label);
    }
    out.push(0);
    Some(())
}

/// A record after its owner: TYPE, CLASS, TTL, RDLENGTH and RDATA in the
/// formats of RFC 1035 §3.3 (and RFC 3596 §2.2 for AAAA). `None` for a type
/// the zone loader does not produce.
fn record(out: &mut Vec<u8>, r: &Record) -> Option<()> {
    out.extend_from_slice(&u16::from(r.record_type()).to_be_bytes());
    out.extend_from_slice(&u16::from(r.dns_class).to_be_bytes());
    out.extend_from_slice(&r.ttl.to_be_bytes());
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    match &r.data {
        RData::A(a) => out.extend_from_slice(&a.0.octets()),
        RData::AAAA(a) => out.extend_from_slice(&a.0.octets()),
        RData::MX(mx) => {
            out.extend_from_slice(&mx.preference.to_be_bytes());
            name(out, &mx.exchange)?;
        }
        RData::NS(ns) => name(out, &ns.0)?,
        RData::CNAME(c) => name(out, &c.0)?,
        RData::TXT(t) => {
            for s in &t.txt_data {
                out.push(u8::try_from(s.len()).ok()?);
                out.extend_from_slice(s);
            }
        }
        RData::SOA(s) => {
            name(out, &s.mname)?;
            name(out, &s.rname)?;
            out.extend_from_slice(&s.serial.to_be_bytes());
            out.extend_from_slice(&s.refresh.to_be_bytes());
            out.extend_from_slice(&s.retry.to_be_bytes());
            out.extend_from_slice(&s.expire.to_be_bytes());
            out.extend_from_slice(&s.minimum.to_be_bytes());
        }
        _ => return None,
    }
    let len = u16::try_from(out.len() - at - 2).ok()?;
    out.get_mut(at..at + 2)?.copy_from_slice(&len.to_be_bytes());
    Some(())
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
