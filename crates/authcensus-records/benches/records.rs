//! Throughput of the record parsers (pure CPU, no DNS).
//!
//! - `spf/parse_real`: [`spf::parse_record`] over every non-empty SPF record of
//!   the real mxmap municipality data (`realworld/mxmap/providers_ch.min.json`
//!   and `providers_at.min.json` in `../shared/data`), read at bench start;
//!   skipped with a message when that data is absent. Reported as records/s.
//! - `dmarc/parse_rfc9989`, `dmarc/parse_both`: [`dmarc::parse`] and
//!   [`dmarc::parse_both`] over a set of typical DMARC records.
//! - `mta_sts/parse_policy`, `mta_sts/parse_txt`: policy file and TXT record.
//! - `bimi/parse`: typical BIMI records.
//!
//! Run: `cargo bench -p authcensus-records --bench records`; the classifiers
//! are in `benches/classify.rs`.

mod common;

use std::hint::black_box;

use authcensus_records::{bimi, dmarc, mta_sts, spf};
use criterion::{Criterion, Throughput, criterion_main};

fn bench_spf(c: &mut Criterion) {
    // Every municipality's record as listed (a domain listed twice counts
    // twice), as before the loader was shared with the classify bench.
    let records: Vec<String> = common::mxmap_listed()
        .into_iter()
        .map(|m| m.spf)
        .filter(|s| !s.is_empty())
        .collect();
    if records.is_empty() {
        eprintln!("SKIP spf/parse_real: no mxmap SPF records under ../shared/data");
        return;
    }
    let ok = records
        .iter()
        .filter(|r| spf::parse_record(r.as_bytes()).is_ok())
        .count();
    eprintln!(
        "spf/parse_real: {} real SPF records ({} parse without error)",
        records.len(),
        ok
    );
    let mut g = c.benchmark_group("spf");
    g.throughput(Throughput::Elements(records.len() as u64));
    g.bench_function("parse_real", |b| {
        b.iter(|| {
            for r in &records {
                let _ = black_box(spf::parse_record(black_box(r.as_bytes())));
            }
        })
    });
    g.finish();
}

const DMARC: &[&str] = &[
    "v=DMARC1; p=none",
    "v=DMARC1; p=reject",
    "v=DMARC1; p=quarantine; pct=100; rua=mailto:dmarc@example.com",
    "v=DMARC1; p=none; rua=mailto:dmarc_agg@vali.email,mailto:abc@rua.dmarcian.com; ruf=mailto:abc@ruf.dmarcian.com; fo=1",
    "v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s; rua=mailto:reports@example.org; ri=86400",
    "v=DMARC1; p=quarantine; sp=none; np=reject; psd=n; t=y; rua=mailto:d@example.net!10m",
    "v=DMARC1;p=reject;rua=mailto:a@x.example,mailto:b@y.example;ruf=mailto:f@x.example;fo=d:s;rf=afrf",
    "v=DMARC1; p=none; pct=50; adkim=r; aspf=r; rua=mailto:x@example.com; ruf=mailto:y@example.com; fo=0",
    // Broken ones are part of the real mix.
    "v=DMARC1; p=rejected; rua=dmarc@example.com",
    "v=DMARC1 p=none",
];

fn bench_dmarc(c: &mut Criterion) {
    let mut g = c.benchmark_group("dmarc");
    g.throughput(Throughput::Elements(DMARC.len() as u64));
    g.bench_function("parse_rfc9989", |b| {
        b.iter(|| {
            for r in DMARC {
                black_box(dmarc::parse(black_box(r.as_bytes()), dmarc::Mode::Rfc9989));
            }
        })
    });
    g.bench_function("parse_both", |b| {
        b.iter(|| {
            for r in DMARC {
                black_box(dmarc::parse_both(black_box(r.as_bytes())));
            }
        })
    });
    g.finish();
}

const STS_POLICIES: &[&str] = &[
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
    "version: STSv1\nmode: testing\nmx: *.mail.protection.outlook.com\nmax_age: 86400\n",
    "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n",
    "version: STSv1\r\nmode: enforce\r\nmx: aspmx.l.google.com\r\nmx: alt1.aspmx.l.google.com\r\nmx: alt2.aspmx.l.google.com\r\nmx: alt3.aspmx.l.google.com\r\nmx: alt4.aspmx.l.google.com\r\nmax_age: 31557600\r\n",
];

const STS_TXT: &[&str] = &[
    "v=STSv1; id=20240101000000Z;",
    "v=STSv1; id=abc123",
    "v=STSv1;id=2019080701;",
];

fn bench_mta_sts(c: &mut Criterion) {
    let mut g = c.benchmark_group("mta_sts");
    g.throughput(Throughput::Elements(STS_POLICIES.len() as u64));
    g.bench_function("parse_policy", |b| {
        b.iter(|| {
            for p in STS_POLICIES {
                let _ = black_box(mta_sts::parse_policy(black_box(p.as_bytes())));
            }
        })
    });
    g.throughput(Throughput::Elements(STS_TXT.len() as u64));
    g.bench_function("parse_txt", |b| {
        b.iter(|| {
            for t in STS_TXT {
                let _ = black_box(mta_sts::parse_txt(black_box(t.as_bytes())));
            }
        })
    });
    g.finish();
}

const BIMI: &[&str] = &[
    "v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem",
    "v=BIMI1; l=https://cdn.example.net/brand/bimi-logo.svg;",
    "v=BIMI1; l=; a=;",
    "v=BIMI1; l=https://example.org/l.svg; a=https://example.org/cert.pem; avp=brand",
];

fn bench_bimi(c: &mut Criterion) {
    let mut g = c.benchmark_group("bimi");
    g.throughput(Throughput::Elements(BIMI.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for r in BIMI {
                black_box(bimi::parse(black_box(r.as_bytes())));
            }
        })
    });
    g.finish();
}

// The macro defines an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(
        benches,
        super::bench_spf,
        super::bench_dmarc,
        super::bench_mta_sts,
        super::bench_bimi
    );
}
use group::benches;
criterion_main!(benches);
