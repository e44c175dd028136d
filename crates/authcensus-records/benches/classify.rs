//! Throughput of the record classifiers (pure CPU; lookups answered from
//! maps in memory, no DNS).
//!
//! - `classify/mx_real`: [`mx::classify_records`] (null MX, ordering, mailbox
//!   provider of every exchange) over the MX sets of every municipality in the
//!   real mxmap data (`realworld/mxmap/providers_{ch,at}.min.json` in
//!   `../shared/data`, about 4,000 distinct domains). Reported as domains/s.
//! - `classify/spf_analyze_real`: [`spf::analyze`] (the static walk with its
//!   RFC 7208 §4.6.4 counts) of every municipality with an SPF record, against
//!   a resolver over maps ([`MapResolver`]) holding all their real SPF records
//!   and MX sets.
//!   Include and redirect targets outside that data (the providers'
//!   records) are NXDOMAIN there, so this measures the walk over the
//!   domains' own records, with their void lookups, not over the providers'.
//! - `classify/dmarc_discover`: RFC 9989 discovery ([`dmarc::discover_rfc9989`])
//!   for `mail.<domain>` of every municipality, whose record sits at the
//!   domain: the tree walk's two queries and the parse.
//! - `classify/mta_sts_real`: [`mta_sts::classify`] of a valid `_mta-sts` TXT
//!   and each real policy file (`mta-sts/real-policies/`) served as a
//!   `200 text/plain` response.
//! - `classify/bimi_vectors`: [`bimi::classify_txt`] of each record of
//!   Mail::BIMI's record vectors (`bimi/mail-bimi/`) as a one-record TXT answer.
//!
//! Each group is skipped with a message when its data is absent.
//! Run: `cargo bench -p authcensus-records --bench classify`.

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use authcensus_records::dns::{Lookup, MxRecord, Resolver, TxtRecord};
use authcensus_records::mta_sts::{HttpResponse, PolicyFetch};
use authcensus_records::{bimi, dmarc, mta_sts, mx, spf};
use criterion::{Criterion, Throughput, criterion_main};
use futures::executor::block_on;

/// The benchmarks' resolver: TXT and MX records in two maps keyed by the
/// name as the classifiers pass it (lowercase, no trailing dot); NODATA for
/// another type at a name that has records, NXDOMAIN for any other name; no
/// CNAMEs. The crate's `MemoryResolver` also logs every query, and that log
/// would grow through criterion's iterations and be timed with them.
#[derive(Default)]
struct MapResolver {
    txt: HashMap<String, Vec<TxtRecord>>,
    mx: HashMap<String, Vec<MxRecord>>,
}

impl MapResolver {
    fn answer<T: Clone>(&self, records: Option<&Vec<T>>, name: &str) -> Lookup<T> {
        match records {
            Some(r) => Lookup::Records(r.clone()),
            None if self.txt.contains_key(name) || self.mx.contains_key(name) => Lookup::NoData,
            None => Lookup::NxDomain,
        }
    }
}

impl Resolver for MapResolver {
    fn txt(&self, name: &str) -> impl Future<Output = Lookup<TxtRecord>> + Send {
        std::future::ready(self.answer(self.txt.get(name), name))
    }
    fn a(&self, name: &str) -> impl Future<Output = Lookup<Ipv4Addr>> + Send {
        std::future::ready(self.answer(None, name))
    }
    fn aaaa(&self, name: &str) -> impl Future<Output = Lookup<Ipv6Addr>> + Send {
        std::future::ready(self.answer(None, name))
    }
    fn mx(&self, name: &str) -> impl Future<Output = Lookup<MxRecord>> + Send {
        std::future::ready(self.answer(self.mx.get(name), name))
    }
    fn ptr(&self, _ip: IpAddr) -> impl Future<Output = Lookup<String>> + Send {
        std::future::ready(Lookup::NxDomain)
    }
    fn ns(&self, name: &str) -> impl Future<Output = Lookup<String>> + Send {
        std::future::ready(self.answer(None, name))
    }
}

/// Times `f` over every item of `items` as the group `classify`'s `name`,
/// reported as items per second.
fn bench_each<T, R>(c: &mut Criterion, name: &str, items: &[T], f: impl Fn(&T) -> R) {
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function(name, |b| {
        b.iter(|| {
            for x in items {
                black_box(f(black_box(x)));
            }
        })
    });
    g.finish();
}

/// MX records as mxmap lists them: in order, preferences 10, 20, ...
fn mx_records(hosts: &[String]) -> Vec<MxRecord> {
    hosts
        .iter()
        .enumerate()
        .map(|(i, h)| MxRecord {
            preference: u16::try_from(10 * (i + 1)).unwrap_or(u16::MAX),
            exchange: h.trim_end_matches('.').to_ascii_lowercase(),
        })
        .collect()
}

fn bench_mx(c: &mut Criterion, data: &[common::Municipality]) {
    let sets: Vec<Vec<MxRecord>> = data
        .iter()
        .filter(|m| !m.mx.is_empty())
        .map(|m| mx_records(&m.mx))
        .collect();
    let identified = sets
        .iter()
        .filter(|s| mx::classify_records(s).primary_provider.is_some())
        .count();
    eprintln!(
        "classify/mx_real: {} real MX sets ({identified} with a known mailbox provider)",
        sets.len()
    );
    bench_each(c, "mx_real", &sets, |s| mx::classify_records(s));
}

fn bench_spf(c: &mut Criterion, data: &[common::Municipality]) {
    let mut resolver = MapResolver::default();
    let mut domains = Vec::new();
    for m in data.iter().filter(|m| !m.spf.is_empty()) {
        resolver
            .txt
            .insert(m.domain.clone(), vec![TxtRecord::single(m.spf.as_bytes())]);
        if !m.mx.is_empty() {
            resolver.mx.insert(m.domain.clone(), mx_records(&m.mx));
        }
        domains.push(m.domain.clone());
    }
    let limits = spf::Limits::default();
    let lookups: u64 = domains
        .iter()
        .map(|d| u64::from(block_on(spf::analyze(&resolver, d, &limits)).queries))
        .sum();
    eprintln!(
        "classify/spf_analyze_real: {} real SPF records, {lookups} lookups per pass",
        domains.len()
    );
    bench_each(c, "spf_analyze_real", &domains, |d| {
        block_on(spf::analyze(&resolver, d, &limits))
    });
}

/// Typical DMARC records, published at the municipalities' domains in turn.
const DMARC: &[&str] = &[
    "v=DMARC1; p=none; rua=mailto:dmarc@example.com",
    "v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:reports@example.org",
    "v=DMARC1; p=quarantine; pct=100; rua=mailto:d@example.net; ruf=mailto:f@example.net; fo=1",
    "v=DMARC1; p=none",
];

fn bench_dmarc(c: &mut Criterion, data: &[common::Municipality]) {
    let mut resolver = MapResolver::default();
    let mut names = Vec::new();
    for (i, m) in data.iter().enumerate() {
        let record = DMARC[i % DMARC.len()];
        resolver.txt.insert(
            format!("_dmarc.{}", m.domain),
            vec![TxtRecord::single(record)],
        );
        names.push(format!("mail.{}", m.domain));
    }
    let found = names
        .iter()
        .filter(|n| {
            block_on(dmarc::discover_rfc9989(&resolver, n, true))
                .found_at
                .is_some()
        })
        .count();
    eprintln!(
        "classify/dmarc_discover: {} names one label below their record ({found} found)",
        names.len()
    );
    bench_each(c, "dmarc_discover", &names, |n| {
        block_on(dmarc::discover_rfc9989(&resolver, n, true))
    });
}

fn bench_mta_sts(c: &mut Criterion) {
    let fetches: Vec<PolicyFetch> = common::real_policies()
        .into_iter()
        .map(|body| {
            PolicyFetch::Response(HttpResponse {
                status: 200,
                content_type: Some("text/plain".to_string()),
                body,
                ..HttpResponse::default()
            })
        })
        .collect();
    if fetches.is_empty() {
        eprintln!("SKIP classify/mta_sts_real: no real policy files under ../shared/data");
        return;
    }
    let txt = Lookup::Records(vec![TxtRecord::single("v=STSv1; id=20240101T000000;")]);
    const MAX_BODY: usize = 64 * 1024;
    eprintln!("classify/mta_sts_real: {} real policy files", fetches.len());
    bench_each(c, "mta_sts_real", &fetches, |f| {
        mta_sts::classify(&txt, Some(f), MAX_BODY)
    });
}

fn bench_bimi(c: &mut Criterion) {
    let answers: Vec<Lookup<TxtRecord>> = common::bimi_vectors()
        .iter()
        .map(|r| Lookup::Records(vec![TxtRecord::single(r.as_bytes())]))
        .collect();
    if answers.is_empty() {
        eprintln!("SKIP classify/bimi_vectors: no Mail::BIMI vectors under ../shared/data");
        return;
    }
    eprintln!(
        "classify/bimi_vectors: {} Mail::BIMI records",
        answers.len()
    );
    bench_each(c, "bimi_vectors", &answers, bimi::classify_txt);
}

fn bench_classify(c: &mut Criterion) {
    let data = common::mxmap_all();
    if data.is_empty() {
        eprintln!(
            "SKIP classify/mx_real, spf_analyze_real, dmarc_discover: no mxmap data under ../shared/data"
        );
    } else {
        bench_mx(c, &data);
        bench_spf(c, &data);
        bench_dmarc(c, &data);
    }
    bench_mta_sts(c);
    bench_bimi(c);
}

// The macro defines an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_classify);
}
use group::benches;
criterion_main!(benches);
