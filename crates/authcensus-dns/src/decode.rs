//! Lean decoding of DNS replies: check the structure once, then read in place.
//!
//! Decoding every reply into a hickory `Message` built a `Name`, a `Record`
//! and an `RData` per record, and a `Query`, only for the crawl to keep the
//! few records of the asked type (≈ 9 % of the crawler's CPU with the name
//! parsing around it, benches/README.md). Here [`parse`] walks a datagram
//! once and checks all of it: the header and the question (RFC 1035 §4.1.1,
//! §4.1.2), every record of the answer, authority and additional sections
//! (§4.1.3), every name with its compression pointers (§4.1.4), and the
//! RDATA of the types the crawl reads (A, AAAA, MX, TXT, NS, PTR, CNAME, SOA
//! per §3.3 and RFC 3596), each of which must fill its RDLENGTH exactly. It
//! keeps only offsets: where the question is, where each answer record's
//! owner name and RDATA are, and whether the authority section holds an
//! SOA. A [`Reply`] is the datagram with those offsets; names and record
//! data are turned into strings only for the records a lookup returns.
//!
//! Replies are hostile input. Every index is checked; a compression pointer
//! must point before itself, and after a jump every octet of the name must
//! lie before that pointer (so a walk always ends, as in hickory's decoder);
//! at most [`MAX_JUMPS`] pointers per name and 255 octets per name
//! (RFC 1035 §2.3.4). The EDNS OPT record's extended RCODE bits (RFC 6891
//! §6.1.3) are merged into the RCODE. Records of other types are skipped by
//! their RDLENGTH without looking inside, so this decoder accepts everything
//! hickory accepts (a test checks it on generated and corrupted replies, with
//! the same answers) and a little more.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::qname::QName;

/// Record types read here (RFC 1035 §3.2.2, RFC 3596 §2.1, RFC 6891 §6.1.1).
pub(crate) const TYPE_A: u16 = 1;
pub(crate) const TYPE_NS: u16 = 2;
pub(crate) const TYPE_CNAME: u16 = 5;
pub(crate) const TYPE_SOA: u16 = 6;
pub(crate) const TYPE_PTR: u16 = 12;
pub(crate) const TYPE_MX: u16 = 15;
pub(crate) const TYPE_TXT: u16 = 16;
pub(crate) const TYPE_AAAA: u16 = 28;
const TYPE_OPT: u16 = 41;
/// Class IN (RFC 1035 §3.2.4).
pub(crate) const CLASS_IN: u16 = 1;

const HEADER_LEN: usize = 12;
/// Longest name in wire form, length octets and the root included
/// (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;
/// Compression pointers followed in one name. Honest encoders need one;
/// pointers that must point backwards already end every walk, this bounds
/// the work a hostile reply can ask for per name.
pub(crate) const MAX_JUMPS: usize = 64;

/// One record of the answer section, by offsets into the datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordRef {
    /// Offset of the owner name.
    owner: usize,
    /// TYPE.
    pub(crate) rtype: u16,
    /// CLASS.
    pub(crate) class: u16,
    /// TTL.
    pub(crate) ttl: u32,
    /// Offset and length of the RDATA.
    rdata: usize,
    rdlen: usize,
}

/// What [`parse`] found in a datagram, without the datagram.
#[derive(Debug)]
pub(crate) struct Layout {
    /// Message ID.
    pub(crate) id: u16,
    /// RCODE, with the EDNS extended bits merged in.
    pub(crate) rcode: u16,
    /// TC=1. The records are not read then (the caller goes to TCP).
    pub(crate) truncated: bool,
    /// Offset of the question's name, its type and class.
    qname: usize,
    pub(crate) qtype: u16,
    pub(crate) qclass: u16,
    answers: Vec<RecordRef>,
    soa_in_authority: bool,
}

/// What a datagram is.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A well-formed response (or a TC=1 response whose question is well
    /// formed: its records are not read).
    Reply(Layout),
    /// A header saying it is not a response or has a question count other
    /// than one: no reply to any of our queries.
    NotOurs,
    /// Undecodable bytes (short packet, bad label, pointer loop, RDATA that
    /// does not fill its length, …).
    Malformed,
}

/// A checked reply: the datagram and its [`Layout`].
#[derive(Debug)]
pub(crate) struct Reply {
    buf: Vec<u8>,
    layout: Layout,
}

/// Reads a big-endian u16 at `at`.
fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(b.try_into().ok()?))
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

/// Checks the name at `start` and returns the offset just after its
/// in-place part (after the root octet or the first pointer).
fn skip_name(buf: &[u8], start: usize) -> Option<usize> {
    let mut walk = Labels::new(buf, start);
    for label in &mut walk {
        label?;
    }
    if walk.failed {
        return None;
    }
    walk.in_place_end
}

/// The labels of the name at an offset, following compression pointers
/// (see the module docs for the rules). Yields `None` once and stops when
/// the name is malformed; `failed` tells afterwards.
pub(crate) struct Labels<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Octets after a jump must lie before this offset.
    limit: usize,
    jumps: usize,
    len: usize,
    done: bool,
    failed: bool,
    /// Offset after the name's in-place part, once known.
    in_place_end: Option<usize>,
}

impl<'a> Labels<'a> {
    pub(crate) fn new(buf: &'a [u8], start: usize) -> Self {
        Labels {
            buf,
            pos: start,
            limit: buf.len(),
            jumps: 0,
            len: 1,
            done: false,
            failed: false,
            in_place_end: None,
        }
    }

    fn fail(&mut self) -> Option<Option<&'a [u8]>> {
        self.done = true;
        self.failed = true;
        Some(None)
    }
}

impl<'a> Iterator for Labels<'a> {
    type Item = Option<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        // Each step either ends the walk, jumps (at most MAX_JUMPS times) or
        // moves forward by at least two octets within `limit`.
        loop {
            if self.done {
                return None;
            }
            if self.pos >= self.limit {
                return self.fail();
            }
            let Some(&b) = self.buf.get(self.pos) else {
                return self.fail();
            };
            match b & 0xc0 {
                0x00 if b == 0 => {
                    if self.in_place_end.is_none() {
                        self.in_place_end = Some(self.pos + 1);
                    }
                    self.done = true;
                    return None;
                }
                0x00 => {
                    let n = usize::from(b);
                    let from = self.pos + 1;
                    let Some(label) = self.buf.get(from..from + n) else {
                        return self.fail();
                    };
                    self.len += n + 1;
                    if self.len > MAX_NAME {
                        return self.fail();
                    }
                    self.pos = from + n;
                    return Some(Some(label));
                }
                0xc0 => {
                    let Some(&lo) = self.buf.get(self.pos + 1) else {
                        return self.fail();
                    };
                    if self.pos + 1 >= self.limit {
                        return self.fail();
                    }
                    let target = usize::from(b & 0x3f) << 8 | usize::from(lo);
                    self.jumps += 1;
                    if target >= self.pos || self.jumps > MAX_JUMPS {
                        return self.fail();
                    }
                    if self.in_place_end.is_none() {
                        self.in_place_end = Some(self.pos + 2);
                    }
                    self.limit = self.pos;
                    self.pos = target;
                }
                // 0x40 and 0x80: reserved label types (RFC 6891 §5).
                _ => return self.fail(),
            }
        }
    }
}

/// Checks the RDATA of the types read here; other types are skipped.
fn check_rdata(buf: &[u8], rtype: u16, at: usize, len: usize) -> Option<()> {
    let end = at + len;
    // A zero RDLENGTH carries no data (it is read as no record of the type).
    if len == 0 {
        return Some(());
    }
    let name_fills = |from: usize| skip_name(buf, from).filter(|&e| e == end).map(|_| ());
    match rtype {
        TYPE_A => (len == 4).then_some(()),
        TYPE_AAAA => (len == 16).then_some(()),
        TYPE_NS | TYPE_CNAME | TYPE_PTR => name_fills(at),
        TYPE_MX if len > 2 => name_fills(at + 2),
        TYPE_MX => None,
        TYPE_TXT => {
            let mut p = at;
            // Each string takes at least its length octet.
            while p < end {
                p += 1 + usize::from(*buf.get(p)?);
            }
            (p == end).then_some(())
        }
        TYPE_SOA => {
            let rname = skip_name(buf, at)?;
            let serials = skip_name(buf, rname)?;
            (serials + 20 == end).then_some(())
        }
        _ => Some(()),
    }
}

/// Reads one record at `at`; returns it and the offset after it.
fn read_record(buf: &[u8], at: usize) -> Option<(RecordRef, usize)> {
    let after_name = skip_name(buf, at)?;
    let rtype = u16_at(buf, after_name)?;
    let class = u16_at(buf, after_name + 2)?;
    let ttl = u32_at(buf, after_name + 4)?;
    let rdlen = usize::from(u16_at(buf, after_name + 8)?);
    let rdata = after_name + 10;
    if rdata + rdlen > buf.len() {
        return None;
    }
    check_rdata(buf, rtype, rdata, rdlen)?;
    Some((
        RecordRef {
            owner: at,
            rtype,
            class,
            ttl,
            rdata,
            rdlen,
        },
        rdata + rdlen,
    ))
}

/// Checks a datagram (see the module docs). The header is looked at first,
/// so a packet claiming thousands of questions is rejected before any
/// allocation; the answer list is bounded by the records that fit.
pub(crate) fn parse(buf: &[u8]) -> Parsed {
    parse_with(buf, false)
}

/// [`parse`], reading the records of a TC=1 reply too (for a reply over
/// TCP, where TC=1 has no further fallback).
pub(crate) fn parse_full(buf: &[u8]) -> Parsed {
    parse_with(buf, true)
}

fn parse_with(buf: &[u8], read_truncated: bool) -> Parsed {
    let (Some(id), Some(flags), Some(qd), Some(an), Some(ns), Some(ar)) = (
        u16_at(buf, 0),
        u16_at(buf, 2),
        u16_at(buf, 4),
        u16_at(buf, 6),
        u16_at(buf, 8),
        u16_at(buf, 10),
    ) else {
        return Parsed::Malformed;
    };
    // QR=1 (RFC 1035 §4.1.1) and exactly one question.
    if flags & 0x8000 == 0 || qd != 1 {
        return Parsed::NotOurs;
    }
    match parse_sections(buf, id, flags, [an, ns, ar], read_truncated) {
        Some(layout) => Parsed::Reply(layout),
        None => Parsed::Malformed,
    }
}

fn parse_sections(
    buf: &[u8],
    id: u16,
    flags: u16,
    counts: [u16; 3],
    read_truncated: bool,
) -> Option<Layout> {
    let qname = HEADER_LEN;
    let after_q = skip_name(buf, qname)?;
    let qtype = u16_at(buf, after_q)?;
    let qclass = u16_at(buf, after_q + 2)?;
    let truncated = flags & 0x0200 != 0;
    let mut layout = Layout {
        id,
        rcode: flags & 0x000f,
        truncated,
        qname,
        qtype,
        qclass,
        answers: Vec::new(),
        soa_in_authority: false,
    };
    if truncated && !read_truncated {
        return Some(layout);
    }
    let [an, ns, ar] = counts;
    // A record takes at least 11 octets: no more can be in the datagram.
    layout.answers.reserve(usize::from(an).min(buf.len() / 11));
    let mut at = after_q + 4;
    for _ in 0..an {
        let (rr, next) = read_record(buf, at)?;
        layout.answers.push(rr);
        at = next;
    }
    for _ in 0..ns {
        let (rr, next) = read_record(buf, at)?;
        layout.soa_in_authority |= rr.rtype == TYPE_SOA;
        at = next;
    }
    let mut opt_seen = false;
    for _ in 0..ar {
        let (rr, next) = read_record(buf, at)?;
        if rr.rtype == TYPE_OPT && !opt_seen {
            opt_seen = true;
            // RFC 6891 §6.1.3: the TTL's top octet is the RCODE's upper 8 bits.
            let high = (rr.ttl >> 24) as u16;
            layout.rcode |= high << 4;
        }
        at = next;
    }
    Some(layout)
}

impl Reply {
    /// Keeps `buf` with the layout [`parse`] found in it.
    pub(crate) fn new(buf: Vec<u8>, layout: Layout) -> Self {
        Reply { buf, layout }
    }

    /// The layout.
    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The answer records.
    pub(crate) fn answers(&self) -> &[RecordRef] {
        &self.layout.answers
    }

    /// Whether the authority section holds an SOA record.
    pub(crate) fn soa_in_authority(&self) -> bool {
        self.layout.soa_in_authority
    }

    /// Whether `rr`'s owner is `name` (ASCII case-insensitively).
    pub(crate) fn owner_is(&self, rr: &RecordRef, name: &QName) -> bool {
        name_is(&self.buf, rr.owner, name)
    }

    /// `rr`'s owner in presentation form (see [`name_string`]).
    pub(crate) fn owner_string(&self, rr: &RecordRef) -> String {
        name_string(&self.buf, rr.owner)
    }

    /// The RDATA of `rr`.
    fn rdata(&self, rr: &RecordRef) -> &[u8] {
        self.buf.get(rr.rdata..rr.rdata + rr.rdlen).unwrap_or(&[])
    }

    /// The address of an A record.
    pub(crate) fn a(&self, rr: &RecordRef) -> Option<Ipv4Addr> {
        let b: [u8; 4] = self.rdata(rr).try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// The address of an AAAA record.
    pub(crate) fn aaaa(&self, rr: &RecordRef) -> Option<Ipv6Addr> {
        let b: [u8; 16] = self.rdata(rr).try_into().ok()?;
        Some(Ipv6Addr::from(b))
    }

    /// The character-strings of a TXT record.
    pub(crate) fn txt(&self, rr: &RecordRef) -> Option<Vec<Vec<u8>>> {
        let data = self.rdata(rr);
        if data.is_empty() {
            return None;
        }
        let mut strings = Vec::with_capacity(1);
        let mut rest = data;
        // Each string takes at least one octet.
        while let Some((&n, tail)) = rest.split_first() {
            let s = tail.get(..usize::from(n))?;
            strings.push(s.to_vec());
            rest = tail.get(usize::from(n)..)?;
        }
        Some(strings)
    }

    /// The name in the RDATA of an NS, PTR or CNAME record (presentation form).
    pub(crate) fn target_string(&self, rr: &RecordRef) -> Option<String> {
        (rr.rdlen > 0).then(|| name_string(&self.buf, rr.rdata))
    }

    /// The name in the RDATA of an NS, PTR or CNAME record.
    pub(crate) fn target_name(&self, rr: &RecordRef) -> Option<QName> {
        (rr.rdlen > 0).then(|| to_name(&self.buf, rr.rdata))?
    }

    /// Preference and exchange of an MX record.
    pub(crate) fn mx(&self, rr: &RecordRef) -> Option<(u16, String)> {
        if rr.rdlen < 3 {
            return None;
        }
        let pref = u16_at(&self.buf, rr.rdata)?;
        Some((pref, name_string(&self.buf, rr.rdata + 2)))
    }
}

/// Whether the question found in `buf` is `name`/`rtype` class IN.
pub(crate) fn question_is(buf: &[u8], layout: &Layout, name: &QName, rtype: u16) -> bool {
    layout.qtype == rtype && layout.qclass == CLASS_IN && name_is(buf, layout.qname, name)
}

/// Whether the (checked) name at `at` equals `name`, ASCII case-insensitively:
/// each label of the reply against the next length octet and label of
/// `name`'s wire form.
fn name_is(buf: &[u8], at: usize, name: &QName) -> bool {
    let wire = name.wire();
    // The usual cases first: the name in place (a question), or a pointer
    // back to where it lies in place (an owner pointing at the question).
    // Where `wire` has a length octet (at most 63) a pointer's first octet
    // (0xc0 or more) differs, so bytes equal to `wire` are this very name.
    let in_place = |from: usize| {
        buf.get(from..from + wire.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(wire))
    };
    if in_place(at) {
        return true;
    }
    if let Some(&[hi, lo]) = buf.get(at..at + 2)
        && hi & 0xc0 == 0xc0
    {
        let target = usize::from(hi & 0x3f) << 8 | usize::from(lo);
        // Only backward pointers are valid (see `Labels`).
        if target < at && in_place(target) {
            return true;
        }
    }
    let mut ours = wire;
    let mut walk = Labels::new(buf, at);
    for label in &mut walk {
        let Some(label) = label else {
            return false;
        };
        let Some((&len, rest)) = ours.split_first() else {
            return false;
        };
        match rest.split_at_checked(usize::from(len)) {
            Some((l, tail)) if l.eq_ignore_ascii_case(label) => ours = tail,
            _ => return false,
        }
    }
    !walk.failed && ours == [0]
}

/// The name at `at` as the records crate wants it: labels joined by dots,
/// lowercase, no trailing dot, `""` for the root; octets escaped as
/// hickory's `Name::to_ascii` does (the strings the crawl wrote before this
/// decoder; a test compares them).
pub(crate) fn name_string(buf: &[u8], at: usize) -> String {
    // Sized first (a second walk over a few labels is cheaper than the
    // reallocations of growing the string label by label); escapes, rare,
    // may still grow it.
    let len: usize = Labels::new(buf, at)
        .map_while(|l| l)
        .map(|l| l.len() + 1)
        .sum();
    let mut s = String::with_capacity(len.saturating_sub(1));
    for (i, label) in Labels::new(buf, at).map_while(|l| l).enumerate() {
        if i > 0 {
            s.push('.');
        }
        for (j, &b) in label.iter().enumerate() {
            let c = char::from(b.to_ascii_lowercase());
            let safe = c.is_ascii_alphanumeric()
                || (c == '-' && j > 0)
                || c == '_'
                || (c == '*' && j == 0);
            if safe {
                s.push(c);
            } else if b > 0x20 && b < 0x7f {
                s.push('\\');
                s.push(c);
            } else {
                s.push_str(&format!("\\{b:03o}"));
            }
        }
    }
    s
}

/// The name at `at`, in wire form.
fn to_name(buf: &[u8], at: usize) -> Option<QName> {
    let mut failed = false;
    let name = QName::from_labels(Labels::new(buf, at).map_while(|l| {
        failed |= l.is_none();
        l
    }));
    name.filter(|_| !failed)
}

/// Every decoding path over one datagram, as the client takes them: both
/// parses, the question, each answer's owner and data, and the CNAME walk
/// from the question (the fuzz target's entry, [`crate::fuzz_reply`]).
pub(crate) fn exercise(buf: &[u8]) -> usize {
    let mut n = 0;
    for parsed in [parse(buf), parse_full(buf)] {
        let Parsed::Reply(layout) = parsed else {
            continue;
        };
        let (qname, qtype) = (layout.qname, layout.qtype);
        n += name_string(buf, qname).len();
        let reply = Reply::new(buf.to_vec(), layout);
        for rr in reply.answers() {
            n += reply.owner_string(rr).len();
            n += usize::from(crate::wire::convert(&reply, rr).is_some());
            n += usize::from(reply.target_name(rr).is_some());
        }
        if let Some(q) = to_name(buf, qname) {
            let (mut seen, mut chain) = (vec![q.clone()], Vec::new());
            let rtype = hickory_proto::rr::RecordType::from(qtype);
            let _ = crate::wire::follow_chain(&reply, &q, rtype, &mut seen, &mut chain, 9);
            n += chain.len();
        }
    }
    n
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
