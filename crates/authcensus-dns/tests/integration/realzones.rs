//! One expectation through two paths: the real hackclub production zones
//! (shared data `zones/hackclub-octodns/*.yaml`, octodns format) are loaded
//! into the records crate's `MemoryResolver` and into the test server; every
//! owner name is asked for A, AAAA, MX and TXT through both, and the
//! `Lookup`s must be identical. The test server answers a CNAME'd name with
//! the CNAME alone (no SOA), so every alias exercises the client's follow-up
//! path. NS records (which `MemoryResolver` does not model) are checked
//! against the zone data directly.
//!
//! Record types outside the `Resolver` trait (ALIAS, CAA, SRV) are skipped,
//! and the test asserts the exact skip counts.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use authcensus_dns::testserver::{Behavior, Record, TestServer, rr};
use authcensus_dns::{DnsClient, DnsConfig, QueryType};
use authcensus_records::dns::{Lookup, MemoryResolver, Resolver, TxtRecord};
use serde_yaml::Value;

/// The records of one owner name, in zone order.
#[derive(Default)]
struct Owner {
    a: Vec<Ipv4Addr>,
    aaaa: Vec<Ipv6Addr>,
    mx: Vec<(u16, String)>,
    txt: Vec<TxtRecord>,
    ns: Vec<String>,
    cname: Option<String>,
}

/// An owner label as written: YAML turns `44.74:` into a number and the
/// label `null:` (dino.icu has one) into Null.
fn key_string(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("unexpected key {other:?}"),
    }
}

fn values(rec: &Value) -> Vec<Value> {
    if let Some(v) = rec.get("values").and_then(Value::as_sequence) {
        return v.clone();
    }
    rec.get("value").cloned().into_iter().collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("unexpected value {other:?}"),
    }
}

fn fqdn_to_name(s: &str) -> String {
    s.trim_end_matches('.').to_ascii_lowercase()
}

/// octodns escapes `;` in TXT values; on the wire a value over 255 octets is
/// split into 255-octet character-strings (RFC 1035 §3.3.14).
fn txt_record(v: &str) -> TxtRecord {
    let raw = v.replace("\\;", ";").into_bytes();
    TxtRecord::from_strings(raw.chunks(255).map(<[u8]>::to_vec))
}

fn load(
    zone: &str,
    yaml: &str,
    owners: &mut BTreeMap<String, Owner>,
    skipped: &mut BTreeMap<String, usize>,
) {
    let doc: Value = serde_yaml::from_str(yaml).unwrap();
    let map = doc.as_mapping().unwrap();
    for (k, v) in map {
        let label = key_string(k).to_ascii_lowercase();
        let name = if label.is_empty() {
            zone.to_string()
        } else {
            format!("{label}.{zone}")
        };
        let records: Vec<Value> = match v {
            Value::Sequence(s) => s.clone(),
            other => vec![other.clone()],
        };
        let owner = owners.entry(name).or_default();
        for rec in records {
            let rtype = rec.get("type").and_then(Value::as_str).unwrap().to_string();
            let vals = values(&rec);
            match rtype.as_str() {
                "A" => owner
                    .a
                    .extend(vals.iter().map(|v| text(v).parse::<Ipv4Addr>().unwrap())),
                "AAAA" => owner
                    .aaaa
                    .extend(vals.iter().map(|v| text(v).parse::<Ipv6Addr>().unwrap())),
                "CNAME" => owner.cname = Some(fqdn_to_name(&text(&vals[0]))),
                "NS" => owner.ns.extend(vals.iter().map(|v| fqdn_to_name(&text(v)))),
                "TXT" => owner.txt.extend(vals.iter().map(|v| txt_record(&text(v)))),
                "MX" => owner.mx.extend(vals.iter().map(|v| {
                    let pref = v
                        .get("preference")
                        .or_else(|| v.get("priority"))
                        .and_then(Value::as_u64)
                        .unwrap();
                    let exch = v
                        .get("exchange")
                        .or_else(|| v.get("value"))
                        .map(text)
                        .unwrap();
                    (u16::try_from(pref).unwrap(), fqdn_to_name(&exch))
                })),
                other => *skipped.entry(other.to_string()).or_default() += 1,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_zones_resolve_identically_through_memory_and_network() {
    let Some(dir) = authcensus_testsupport::shared_data("zones/hackclub-octodns") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 18, "the README lists 18 zones");
    let mut owners = BTreeMap::new();
    let mut skipped = BTreeMap::new();
    for f in &files {
        let zone = f.file_stem().unwrap().to_str().unwrap().to_string();
        load(
            &zone,
            &std::fs::read_to_string(f).unwrap(),
            &mut owners,
            &mut skipped,
        );
    }
    let skipped_expected: BTreeMap<String, usize> = [("ALIAS", 9), ("CAA", 2), ("SRV", 5)]
        .map(|(k, v)| (k.to_string(), v))
        .into_iter()
        .collect();
    assert_eq!(skipped, skipped_expected);

    let server = TestServer::start().await.unwrap();
    let mut memory = MemoryResolver::new();
    let mut cnames = 0;
    for (name, o) in &owners {
        memory.add_name(name);
        server.add_name(name);
        if let Some(target) = &o.cname {
            cnames += 1;
            memory.add_cname(name, target);
            for qt in [
                QueryType::A,
                QueryType::Aaaa,
                QueryType::Mx,
                QueryType::Txt,
                QueryType::Ns,
            ] {
                server.set(name, qt, Behavior::Answer(vec![rr::cname(name, target)]));
            }
            continue;
        }
        let set = |qt, recs: Vec<Record>| {
            if !recs.is_empty() {
                server.set(name, qt, Behavior::Answer(recs));
            }
        };
        set(
            QueryType::A,
            o.a.iter().map(|ip| rr::a(name, *ip)).collect(),
        );
        set(
            QueryType::Aaaa,
            o.aaaa.iter().map(|ip| rr::aaaa(name, *ip)).collect(),
        );
        set(
            QueryType::Mx,
            o.mx.iter()
                .map(|(p, e)| rr::mx(name, *p, if e.is_empty() { "." } else { e }))
                .collect(),
        );
        set(
            QueryType::Ns,
            o.ns.iter().map(|t| rr::ns(name, t)).collect(),
        );
        set(
            QueryType::Txt,
            o.txt
                .iter()
                .map(|t| {
                    let parts: Vec<&[u8]> = t.strings.iter().map(Vec::as_slice).collect();
                    rr::txt(name, &parts)
                })
                .collect(),
        );
        for ip in &o.a {
            memory.add_a(name, *ip);
        }
        for ip in &o.aaaa {
            memory.add_aaaa(name, *ip);
        }
        for (p, e) in &o.mx {
            memory.add_mx(name, *p, e);
        }
        for t in &o.txt {
            memory.add_txt(name, t.clone());
        }
    }
    // The README's count of CNAMEs (1,393) is met exactly.
    assert_eq!((owners.len(), cnames), (1764, 1393));

    let mut cfg = DnsConfig::new(vec![server.addr()]);
    cfg.window_max = 64;
    let client = DnsClient::new(cfg).await.unwrap();
    let memory = Arc::new(memory);
    let names: Arc<Vec<String>> = Arc::new(owners.keys().cloned().collect());
    // Bounded: 16 tasks, each walking its share of the names.
    let mut set = tokio::task::JoinSet::new();
    for w in 0..16 {
        let (client, memory, names) = (client.clone(), Arc::clone(&memory), Arc::clone(&names));
        set.spawn(async move {
            let mut diffs = Vec::new();
            let mut compared = 0usize;
            for name in names.iter().skip(w).step_by(16) {
                let pairs = [
                    (
                        format!("{:?}", client.a(name).await),
                        format!("{:?}", memory.a(name).await),
                        "a",
                    ),
                    (
                        format!("{:?}", client.aaaa(name).await),
                        format!("{:?}", memory.aaaa(name).await),
                        "aaaa",
                    ),
                    (
                        format!("{:?}", client.mx(name).await),
                        format!("{:?}", memory.mx(name).await),
                        "mx",
                    ),
                    (
                        format!("{:?}", client.txt(name).await),
                        format!("{:?}", memory.txt(name).await),
                        "txt",
                    ),
                ];
                for (net, mem, t) in pairs {
                    compared += 1;
                    if net != mem {
                        diffs.push(format!("{name} {t}: network {net} / memory {mem}"));
                    }
                }
            }
            (compared, diffs)
        });
    }
    let (mut compared, mut diffs) = (0, Vec::new());
    while let Some(r) = set.join_next().await {
        let (c, d) = r.unwrap();
        compared += c;
        diffs.extend(d);
    }
    assert_eq!(compared, owners.len() * 4);
    assert!(
        diffs.is_empty(),
        "{} differences, first: {:?}",
        diffs.len(),
        &diffs[..diffs.len().min(5)]
    );

    // NS: straight from the zone data (and through aliases, never).
    let mut ns_checked = 0;
    for (name, o) in owners
        .iter()
        .filter(|(_, o)| !o.ns.is_empty() && o.cname.is_none())
    {
        assert_eq!(
            client.ns(name).await,
            Lookup::Records(o.ns.clone()),
            "{name}"
        );
        ns_checked += 1;
    }
    assert_eq!(ns_checked, 11);
    let st = client.stats().snapshot();
    assert_eq!(
        (st.timeouts, st.dropped_malformed, st.dropped_mismatched),
        (0, 0, 0),
        "{st:?}"
    );
    eprintln!(
        "real zones: {} owners ({cnames} CNAMEs), {compared} lookups identical, {ns_checked} NS sets; {st:?}",
        owners.len()
    );
}
