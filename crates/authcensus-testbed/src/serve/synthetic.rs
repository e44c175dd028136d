//! A synthetic universe answered on the fly, for scale runs (issue 9): the
//! domains `d0.test` … `d{N-1}.test` exist without any zone file or list on
//! disk, so a 10,000,000-domain crawl needs no 10M-line zone and the server's
//! memory does not grow with N. Each domain's records are a pure function of
//! its index (a SplitMix64 hash), with the mix of a real survey: most
//! domains publish SPF (including one of 100 shared providers, so the crawl's
//! cache matters) and MX, about four in five DMARC with every policy, one in
//! four TLS-RPT; none publishes MTA-STS or BIMI (no HTTPS site is served).
//!
//! There is no ground truth file: the scale run measures throughput and
//! memory, while exactness is checked on the generated universes.

use std::net::Ipv4Addr;

use hickory_proto::rr::rdata::{A, MX, NS, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// The zone every synthetic name lives in.
pub const SYNTHETIC_ZONE: &str = "test";

/// Number of shared providers (SPF includes, MX and NS hosts).
const PROVIDERS: u64 = 100;

/// TTL of every synthetic record.
const TTL: u32 = 3600;

/// The name of synthetic domain `i`.
#[must_use]
pub fn synthetic_domain(i: u64) -> String {
    format!("d{i}.{SYNTHETIC_ZONE}")
}

/// What the synthetic zone says about one (name, type).
#[derive(Debug, PartialEq)]
pub enum SyntheticAnswer {
    /// NOERROR with these records.
    Records(Vec<Record>),
    /// NOERROR, no records of that type (the name exists).
    NoData,
    /// The name does not exist.
    NxDomain,
}

impl SyntheticAnswer {
    /// The TXT strings of the answer (each record's strings joined), empty
    /// for NODATA, NXDOMAIN and other types.
    #[must_use]
    pub fn txt_strings(&self) -> Vec<String> {
        match self {
            SyntheticAnswer::Records(rs) => rs
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(t) => Some(t.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The synthetic universe of `count` domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Synthetic {
    /// Number of domains `d0.test` … `d{count-1}.test`.
    pub count: u64,
}

/// SplitMix64: a well-mixed hash of the index.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn txt(owner: &Name, text: &str) -> Record {
    Record::from_rdata(
        owner.clone(),
        TTL,
        RData::TXT(TXT::from_bytes(vec![text.as_bytes()])),
    )
}

fn host(s: &str) -> Option<Name> {
    Name::from_ascii(format!("{s}.")).ok()
}

impl Synthetic {
    /// Whether `qname` (lowercase, no trailing dot) is in the synthetic zone.
    #[must_use]
    pub fn covers(qname: &str) -> bool {
        qname == SYNTHETIC_ZONE || qname.ends_with(".test")
    }

    /// The answer for `qname`/`qtype`, or `None` when the name is outside
    /// the synthetic zone.
    #[must_use]
    pub fn answer(&self, qname: &str, qtype: RecordType) -> Option<SyntheticAnswer> {
        if !Self::covers(qname) {
            return None;
        }
        let Some(owner) = host(qname) else {
            return Some(SyntheticAnswer::NxDomain);
        };
        let head = qname.strip_suffix(".test").unwrap_or("");
        let labels: Vec<&str> = head.rsplit('.').collect();
        Some(match labels.as_slice() {
            [] | [""] => SyntheticAnswer::NoData,
            [p, rest @ ..] if p.starts_with('p') => provider(p, rest, &owner, qtype),
            [d, rest @ ..] => match d.strip_prefix('d').and_then(|n| n.parse::<u64>().ok()) {
                Some(i) if i < self.count && !(d.len() > 2 && d.starts_with("d0")) => {
                    domain(i, rest, &owner, qtype)
                }
                _ => SyntheticAnswer::NxDomain,
            },
        })
    }
}

/// Records of provider `pK.test` and its hosts.
fn provider(p: &str, rest: &[&str], owner: &Name, qtype: RecordType) -> SyntheticAnswer {
    let Some(k) = p[1..].parse::<u64>().ok().filter(|k| *k < PROVIDERS) else {
        return SyntheticAnswer::NxDomain;
    };
    let ip = Ipv4Addr::new(192, 0, 2, u8::try_from(k).unwrap_or(0));
    match (rest, qtype) {
        ([], _) => SyntheticAnswer::NoData,
        (["_spf"], RecordType::TXT) => SyntheticAnswer::Records(vec![txt(
            owner,
            &format!("v=spf1 ip4:{ip} ip6:2001:db8:{k:x}::/48 -all"),
        )]),
        (["mx"] | ["ns1"], RecordType::A) => SyntheticAnswer::Records(vec![Record::from_rdata(
            owner.clone(),
            TTL,
            RData::A(A(ip)),
        )]),
        (["_spf"] | ["mx"] | ["ns1"], _) => SyntheticAnswer::NoData,
        _ => SyntheticAnswer::NxDomain,
    }
}

/// Records of domain `i` and the names below it.
fn domain(i: u64, rest: &[&str], owner: &Name, qtype: RecordType) -> SyntheticAnswer {
    let h = mix(i);
    let k = h % PROVIDERS;
    let some = |r: Option<Record>| match r {
        Some(r) => SyntheticAnswer::Records(vec![r]),
        None => SyntheticAnswer::NoData,
    };
    match (rest, qtype) {
        ([], RecordType::TXT) if h % 10 < 8 => {
            let all = ["-all", "~all", "?all"][usize::try_from((h >> 8) % 3).unwrap_or(0)];
            SyntheticAnswer::Records(vec![
                txt(owner, &format!("v=spf1 include:_spf.p{k}.test {all}")),
                txt(owner, &format!("site-verification={h:016x}")),
            ])
        }
        ([], RecordType::MX) if h % 10 < 9 => some(
            host(&format!("mx.p{k}.test"))
                .map(|n| Record::from_rdata(owner.clone(), TTL, RData::MX(MX::new(10, n)))),
        ),
        ([], RecordType::NS) => some(
            host(&format!("ns1.p{}.test", (h >> 16) % PROVIDERS))
                .map(|n| Record::from_rdata(owner.clone(), TTL, RData::NS(NS(n)))),
        ),
        ([], _) => SyntheticAnswer::NoData,
        (["_dmarc"], RecordType::TXT) => {
            let policy = match (h >> 24) % 5 {
                0 => return SyntheticAnswer::NxDomain,
                1 => "p=none",
                2 => "p=quarantine",
                3 => "p=reject",
                _ => "p=reject; pct=50",
            };
            let rua = format!("mailto:dmarc@d{i}.test");
            SyntheticAnswer::Records(vec![txt(owner, &format!("v=DMARC1; {policy}; rua={rua}"))])
        }
        (["_tls", "_smtp"], RecordType::TXT) if (h >> 32).is_multiple_of(4) => {
            SyntheticAnswer::Records(vec![txt(
                owner,
                &format!("v=TLSRPTv1; rua=mailto:tls@d{i}.test"),
            )])
        }
        (["_dmarc"] | ["_tls", "_smtp"], _) => SyntheticAnswer::NoData,
        (["_tls"], _) if (h >> 32).is_multiple_of(4) => SyntheticAnswer::NoData,
        _ => SyntheticAnswer::NxDomain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(a: &SyntheticAnswer) -> Vec<String> {
        a.txt_strings()
    }

    #[test]
    fn names_inside_and_outside_the_count() {
        let s = Synthetic { count: 1000 };
        assert_eq!(synthetic_domain(7), "d7.test");
        assert!(matches!(
            s.answer("d999.test", RecordType::NS),
            Some(SyntheticAnswer::Records(_))
        ));
        assert_eq!(
            s.answer("d1000.test", RecordType::NS),
            Some(SyntheticAnswer::NxDomain)
        );
        assert_eq!(
            s.answer("d007.test", RecordType::NS),
            Some(SyntheticAnswer::NxDomain),
            "one spelling per index"
        );
        assert_eq!(s.answer("example.com", RecordType::TXT), None);
        assert_eq!(
            s.answer("x.d5.test", RecordType::TXT),
            Some(SyntheticAnswer::NxDomain)
        );
    }

    #[test]
    fn the_mix_over_many_domains() {
        let s = Synthetic { count: 10_000 };
        let (mut spf, mut dmarc, mut reject, mut tlsrpt) = (0, 0, 0, 0);
        for i in 0..10_000 {
            let d = synthetic_domain(i);
            if texts(
                &s.answer(&d, RecordType::TXT)
                    .unwrap_or(SyntheticAnswer::NoData),
            )
            .iter()
            .any(|t| t.starts_with("v=spf1 include:_spf.p"))
            {
                spf += 1;
            }
            let dm = texts(
                &s.answer(&format!("_dmarc.{d}"), RecordType::TXT)
                    .unwrap_or(SyntheticAnswer::NoData),
            );
            if !dm.is_empty() {
                dmarc += 1;
            }
            if dm.iter().any(|t| t.contains("p=reject;")) {
                reject += 1;
            }
            if !texts(
                &s.answer(&format!("_smtp._tls.{d}"), RecordType::TXT)
                    .unwrap_or(SyntheticAnswer::NoData),
            )
            .is_empty()
            {
                tlsrpt += 1;
            }
        }
        assert!((7_500..8_500).contains(&spf), "{spf}");
        assert!((7_500..8_500).contains(&dmarc), "{dmarc}");
        assert!((3_500..4_500).contains(&reject), "{reject}");
        assert!((2_000..3_000).contains(&tlsrpt), "{tlsrpt}");
        let inc = texts(
            &s.answer("_spf.p42.test", RecordType::TXT)
                .unwrap_or(SyntheticAnswer::NoData),
        );
        assert_eq!(inc, vec!["v=spf1 ip4:192.0.2.42 ip6:2001:db8:2a::/48 -all"]);
    }
}
