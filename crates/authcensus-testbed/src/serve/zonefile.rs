//! Loading the generated master files into memory. The parser reads the
//! subset the generator writes (RFC 1035 §5.1: `$ORIGIN`, `$TTL`, comments,
//! one record per line with an absolute owner, explicit TTL and class `IN`;
//! types SOA, NS, A, AAAA, MX, TXT, CNAME) and rejects anything else with
//! the line number.

use foldhash::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::Error;
use crate::generate::self_and_parents;

/// Every record of every zone, by lowercase owner (no trailing dot).
///
/// Hash sets and maps with foldhash: the latency benchmark's server looks
/// names up several times per query, and its CPU comes out of the two cores
/// the crawl it measures runs on (ordered sets cost ~20 string comparisons
/// per lookup in a 1M-domain universe; SipHash was most of a lookup).
#[derive(Debug, Default)]
pub struct ZoneData {
    /// Zone apex names.
    pub zones: HashSet<String>,
    /// Records by owner, then type, in file order.
    pub rrsets: HashMap<String, HashMap<RecordType, Vec<Record>>>,
    /// Every owner and every ancestor of an owner within its zone (empty
    /// non-terminals answer NODATA, not NXDOMAIN: RFC 8020).
    pub names: HashSet<String>,
    /// SOA record of each zone.
    pub soa: HashMap<String, Record>,
}

impl ZoneData {
    /// The longest zone that contains `name`.
    pub fn zone_for(&self, name: &str) -> Option<&str> {
        self_and_parents(name)
            .find_map(|n| self.zones.get(n))
            .map(String::as_str)
    }
}

/// Splits a character-string list (`"a" "b\"c" "\065"`) into byte strings.
pub fn parse_strings(s: &str) -> Result<Vec<Vec<u8>>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                i += 1;
                let mut cur = Vec::new();
                loop {
                    match b.get(i) {
                        None => return Err("unterminated string".into()),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let d = b.get(i + 1..i + 4).unwrap_or(&[]);
                            if d.len() == 3 && d.iter().all(u8::is_ascii_digit) {
                                let v = d.iter().fold(0u32, |a, x| a * 10 + u32::from(x - b'0'));
                                cur.push(u8::try_from(v).map_err(|_| "escape > 255")?);
                                i += 4;
                            } else if let Some(c) = b.get(i + 1) {
                                cur.push(*c);
                                i += 2;
                            } else {
                                return Err("dangling backslash".into());
                            }
                        }
                        Some(c) => {
                            cur.push(*c);
                            i += 1;
                        }
                    }
                }
                if cur.len() > 255 {
                    return Err("character-string over 255 bytes".into());
                }
                out.push(cur);
            }
            _ => return Err("expected a quoted string".into()),
        }
    }
    Ok(out)
}

fn name(s: &str) -> Result<Name, String> {
    if !s.ends_with('.') {
        return Err(format!("name {s:?} is not absolute"));
    }
    Name::from_ascii(s).map_err(|e| format!("name {s:?}: {e}"))
}

fn rdata(rtype: &str, text: &str) -> Result<RData, String> {
    let f: Vec<&str> = text.split_ascii_whitespace().collect();
    let num = |s: &str| s.parse::<u32>().map_err(|_| format!("bad number {s:?}"));
    Ok(match (rtype, f.as_slice()) {
        ("A", [ip]) => RData::A(A(ip.parse::<Ipv4Addr>().map_err(|e| e.to_string())?)),
        ("AAAA", [ip]) => RData::AAAA(AAAA(ip.parse::<Ipv6Addr>().map_err(|e| e.to_string())?)),
        ("MX", [p, host]) => RData::MX(MX::new(
            u16::try_from(num(p)?).map_err(|_| "preference")?,
            name(host)?,
        )),
        ("CNAME", [host]) => RData::CNAME(CNAME(name(host)?)),
        ("NS", [host]) => RData::NS(NS(name(host)?)),
        ("SOA", [m, r, serial, refresh, retry, expire, min]) => RData::SOA(SOA::new(
            name(m)?,
            name(r)?,
            num(serial)?,
            num(refresh)? as i32,
            num(retry)? as i32,
            num(expire)? as i32,
            num(min)?,
        )),
        ("TXT", _) => {
            let strings = parse_strings(text)?;
            if strings.is_empty() {
                return Err("TXT without strings".into());
            }
            RData::TXT(TXT::from_bytes(strings.iter().map(Vec::as_slice).collect()))
        }
        _ => return Err(format!("unsupported record {rtype} {text:?}")),
    })
}

/// Parses one master file into `data`.
pub fn load_file(path: &Path, data: &mut ZoneData) -> Result<(), Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let err = |line: usize, message: String| Error::Zone {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut origin = None::<String>;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        if let Some(o) = line.strip_prefix("$ORIGIN ") {
            let o = o.trim().trim_end_matches('.').to_ascii_lowercase();
            data.zones.insert(o.clone());
            origin = Some(o);
            continue;
        }
        if line.starts_with("$TTL ") {
            continue;
        }
        let mut parts = line.splitn(5, ' ');
        let (Some(owner), Some(ttl), Some(class), Some(rtype), Some(rest)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(err(i + 1, "expected: owner ttl IN type rdata".into()));
        };
        if class != "IN" {
            return Err(err(i + 1, format!("class {class}")));
        }
        let ttl: u32 = ttl.parse().map_err(|_| err(i + 1, format!("ttl {ttl}")))?;
        let Some(zone) = origin.clone() else {
            return Err(err(i + 1, "record before $ORIGIN".into()));
        };
        let owner_name = name(owner).map_err(|m| err(i + 1, m))?;
        let key = owner.trim_end_matches('.').to_ascii_lowercase();
        if key != zone && !key.ends_with(&format!(".{zone}")) {
            return Err(err(i + 1, format!("{key} is outside zone {zone}")));
        }
        let rd = rdata(rtype, rest).map_err(|m| err(i + 1, m))?;
        let record = Record::from_rdata(owner_name, ttl, rd);
        let rt = record.record_type();
        if rt == RecordType::SOA {
            data.soa.insert(zone.clone(), record.clone());
        }
        for n in self_and_parents(&key) {
            data.names.insert(n.to_string());
            if n == zone {
                break;
            }
        }
        data.rrsets
            .entry(key)
            .or_default()
            .entry(rt)
            .or_default()
            .push(record);
    }
    Ok(())
}

/// Loads every `*.zone` file of a directory, in name order.
pub fn load_dir(dir: &Path) -> Result<ZoneData, Error> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zone"))
        .collect();
    files.sort();
    let mut data = ZoneData::default();
    for f in files {
        load_file(&f, &mut data)?;
    }
    Ok(data)
}
