//! The wire-level path against the general one, query by query, over a
//! generated universe: both must send the same reply (compared decoded, as
//! hickory compresses names the fast path writes in full), or both none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{Name, RecordType};

use super::super::{Action, DnsState};
use crate::generate::{GenerateOptions, generate, read_manifest};
use crate::rng::Rng;
use crate::serve::FaultOptions;
use crate::serve::zonefile::load_dir;

/// The real-world record sets when the shared data is there (longer TXT
/// records, so truncation is exercised), else the generator's built-in set.
fn realworld() -> PathBuf {
    authcensus_testsupport::shared_data("realworld/mxmap/providers_ch.min.json")
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("/nonexistent/realworld"))
}

/// A generated universe's DNS state, and its planted never-answer names.
fn state(dir: &Path, faults: FaultOptions) -> (DnsState, Vec<String>) {
    let mut opts = GenerateOptions::new(600, 11, dir);
    opts.realworld = realworld();
    generate(&opts).expect("generate");
    let manifest = read_manifest(dir).expect("manifest");
    let state = DnsState {
        data: load_dir(&dir.join("zones")).expect("zones load"),
        never_answer: manifest.never_answer_set(),
        rng: Mutex::new(Rng::new(faults.seed, 0xFA)),
        faults,
        synthetic: None,
    };
    (state, manifest.never_answer.clone())
}

/// How a query is sent: EDNS payload size (none: no OPT record), a Padding
/// option, the name's letters in upper case (RFC 5452 §9.1 style).
#[derive(Clone, Copy, Debug)]
struct Style {
    payload: Option<u16>,
    padding: bool,
    upper: bool,
}

const STYLES: [Style; 4] = [
    // As authcensus sends them.
    Style {
        payload: Some(1232),
        padding: true,
        upper: false,
    },
    Style {
        payload: Some(4096),
        padding: false,
        upper: true,
    },
    Style {
        payload: Some(600),
        padding: false,
        upper: false,
    },
    Style {
        payload: None,
        padding: false,
        upper: false,
    },
];

fn query(id: u16, name: &str, rtype: RecordType, style: Style) -> Vec<u8> {
    let text = if style.upper {
        name.to_ascii_uppercase()
    } else {
        name.to_string()
    };
    let mut m = Message::query();
    m.metadata.id = id;
    m.metadata.recursion_desired = id.is_multiple_of(2);
    m.add_query(Query::query(
        Name::from_ascii(format!("{text}.")).expect("name"),
        rtype,
    ));
    if let Some(p) = style.payload {
        let mut e = Edns::new();
        e.set_max_payload(p);
        if style.padding {
            e.options_mut().insert(EdnsOption::Unknown(12, vec![0; 40]));
        }
        m.set_edns(e);
    }
    m.to_vec().expect("query encodes")
}

/// What a reply decodes to, with the question's case ignored and the
/// padding option's length ignored (the two paths' encodings differ in
/// length, so their padding does too; the padded length is checked apart).
fn decoded(bytes: &[u8]) -> (Message, bool) {
    let mut m = Message::from_vec(bytes).expect("reply decodes");
    for q in &mut m.queries {
        let lower = q.name().to_lowercase();
        q.set_name(lower);
    }
    let padded = m.edns.as_mut().is_some_and(|e| {
        let had = e.options().get(EdnsCode::Padding).is_some();
        e.options_mut().remove(EdnsCode::Padding);
        had
    });
    (m, padded)
}

/// The TTLs of the answer and authority records, in order.
fn ttls(m: &Message) -> Vec<u32> {
    m.answers
        .iter()
        .chain(&m.authorities)
        .map(|r| r.ttl)
        .collect()
}

/// Names worth asking: every owner, the prefixes a crawl asks below every
/// zone apex, names that do not exist, and one outside every zone.
fn names(state: &DnsState, never: &[String]) -> Vec<String> {
    let mut names: Vec<String> = state.data.rrsets.keys().cloned().collect();
    for apex in &state.data.zones {
        for prefix in ["_dmarc", "_mta-sts", "_smtp._tls", "default._bimi", "nx-0"] {
            names.push(format!("{prefix}.{apex}"));
        }
    }
    for never in never.iter().take(5) {
        names.push(never.clone());
        names.push(format!("below.{never}"));
    }
    names.push("outside-every-zone.example".into());
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_wire_level_path_answers_like_the_general_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, never) = state(&dir.path().join("u"), FaultOptions::default());
    let types = [
        RecordType::TXT,
        RecordType::MX,
        RecordType::A,
        RecordType::AAAA,
        RecordType::NS,
        RecordType::CNAME,
        RecordType::SOA,
        RecordType::CAA,
    ];
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut id = 0u16;
    for name in names(&state, &never) {
        for &rtype in &types {
            for (s, &style) in STYLES.iter().enumerate() {
                id = id.wrapping_add(1);
                let q = query(id, &name, rtype, style);
                for udp in [true, false] {
                    let general = state.handle_general(&q, udp);
                    let Some(fast) = super::answer(&state, &q, udp) else {
                        *outcomes.entry("general".into()).or_default() += 1;
                        continue;
                    };
                    let what = format!("{name} {rtype} style {s} udp {udp}");
                    match (fast, general) {
                        (Action::Drop, Action::Drop) => {
                            *outcomes.entry("drop".into()).or_default() += 1;
                        }
                        (Action::Reply(f, fs), Action::Reply(g, gs)) => {
                            assert!(!fs && !gs, "{what}: no spike without faults");
                            let (fm, fp) = decoded(&f);
                            let (gm, gp) = decoded(&g);
                            assert_eq!(fm, gm, "{what}");
                            // hickory's record equality leaves out the TTL.
                            assert_eq!(ttls(&fm), ttls(&gm), "{what}: TTLs");
                            assert_eq!(fp, gp, "{what}: padded in one path only");
                            if fp {
                                assert_eq!(f.len() % super::super::REPLY_BLOCK, 0, "{what}");
                            }
                            let kind = match fm.metadata.response_code {
                                ResponseCode::NXDomain => "nxdomain",
                                _ if fm.answers.is_empty() => "nodata",
                                _ => "answer",
                            };
                            *outcomes.entry(kind.into()).or_default() += 1;
                        }
                        (f, g) => panic!(
                            "{what}: fast {} general {}",
                            matches!(f, Action::Drop),
                            matches!(g, Action::Drop)
                        ),
                    }
                }
            }
        }
    }
    let n = |k: &str| outcomes.get(k).copied().unwrap_or(0);
    // Every kind of reply went through the comparison, and the fast path
    // took the bulk of the queries (a path that always declined would pass
    // the comparisons above and fail here).
    for kind in ["answer", "nodata", "nxdomain", "drop", "general"] {
        assert!(n(kind) > 0, "no {kind} outcome: {outcomes:?}");
    }
    let fast = n("answer") + n("nodata") + n("nxdomain") + n("drop");
    assert!(fast > 4 * n("general"), "{outcomes:?}");
}

#[test]
fn faults_and_odd_queries_take_the_general_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let faults = FaultOptions {
        servfail_rate: 0.5,
        ..FaultOptions::default()
    };
    let (faulty, _) = state(&dir.path().join("u"), faults);
    let apex = faulty.data.zones.iter().next().expect("a zone").clone();
    let q = query(1, &apex, RecordType::SOA, STYLES[0]);
    assert!(
        super::answer(&faulty, &q, true).is_none(),
        "faults configured"
    );

    let dir2 = tempfile::tempdir().expect("tempdir");
    let (plain, _) = state(&dir2.path().join("u"), FaultOptions::default());
    let apex = plain.data.zones.iter().next().expect("a zone").clone();
    let good = query(2, &apex, RecordType::SOA, STYLES[0]);
    assert!(super::answer(&plain, &good, true).is_some());
    // A response, two questions, a truncated question, trailing bytes, a
    // compression pointer in the question, EDNS version 1, class CH.
    let mut response = good.clone();
    response[2] |= 0x80;
    let mut two = good.clone();
    two[5] = 2;
    let mut trailing = query(3, &apex, RecordType::SOA, STYLES[3]);
    trailing.push(0);
    let mut pointer = good.clone();
    pointer[12] = 0xC0;
    let mut version = good.clone();
    let opt = version.len() - 11 - (4 + 40);
    version[opt + 6] = 1;
    let mut chaos = query(4, &apex, RecordType::SOA, STYLES[3]);
    let class = chaos.len() - 1;
    chaos[class] = 3;
    for (what, q) in [
        ("response", &response),
        ("two questions", &two),
        ("short", &good[..20].to_vec()),
        ("trailing", &trailing),
        ("pointer", &pointer),
        ("edns version", &version),
        ("class", &chaos),
    ] {
        assert!(super::answer(&plain, q, true).is_none(), "{what}");
    }
}
