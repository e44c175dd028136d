//! Throughput of the snapshot writer's encoding (pure CPU, no file system):
//! the work of the crawl's writer thread.
//!
//! - `write/rows_to_batch`: [`rows_to_batch`] over 50,000 rows (one row group).
//! - `write/encode_part`: one part file's work as [`SnapshotWriter`] does it,
//!   into memory: 100,000 rows sorted by domain ([`by_domain`]) and encoded
//!   by the writer's own [`encode_rows`] with [`writer_properties`] (zstd,
//!   dictionary encoding, statistics). The encoded size per row is printed
//!   at start.
//!
//! The rows are synthetic but shaped like a crawl's (see [`rows`]): unique
//! domains; SPF, MX and NS values drawn from shared pools with a few popular
//! ones; DMARC records and `rua` addresses that often name the domain itself;
//! the statuses and policies from their fixed lists.
//!
//! Run: `cargo bench -p authcensus-store --bench write`.
//!
//! [`SnapshotWriter`]: authcensus_store::SnapshotWriter

use std::hint::black_box;
use std::path::Path;

use authcensus_store::row::rows_to_batch;
use authcensus_store::writer::{by_domain, encode_rows, writer_properties};
use authcensus_store::{SnapshotRow, StoreError, WriterOptions};
use criterion::{Criterion, Throughput, criterion_main};

/// splitmix64: a fixed, seedable sequence, so every run encodes the same rows.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `p` percent.
    fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    /// An index into a pool of `n`, the first few far more likely (popular
    /// includes, the big mail and DNS providers).
    fn popular(&mut self, n: usize) -> usize {
        let n = n as u64;
        if self.pct(60) {
            self.below(n.min(8)) as usize
        } else {
            self.below(n) as usize
        }
    }
    fn label(&mut self, min: u64, max: u64) -> String {
        let len = min + self.below(max - min + 1);
        (0..len)
            .map(|_| char::from(b'a' + self.below(26) as u8))
            .collect()
    }
}

const SUFFIXES: [&str; 10] = [
    "com", "net", "org", "de", "jp", "co.uk", "gov", "fr", "go.jp", "ch",
];

/// `n` rows shaped like a crawl's (module docs); deterministic.
fn rows(n: usize) -> Vec<SnapshotRow> {
    let mut rng = Rng(0x5eed);
    let spf_pool: Vec<String> = (0..300)
        .map(|i| match i % 4 {
            0 => format!("v=spf1 include:_spf.{}.com ~all", rng.label(4, 10)),
            1 => format!("v=spf1 mx include:spf.{}.net -all", rng.label(4, 10)),
            2 => format!(
                "v=spf1 ip4:192.0.2.{} ip4:198.51.100.0/24 include:{}.org ?all",
                i % 250,
                rng.label(3, 8)
            ),
            _ => "v=spf1 include:spf.protection.outlook.com -all".to_string(),
        })
        .collect();
    let mx_pool: Vec<String> = (0..500)
        .map(|i| format!("mx{}.{}.com", i % 3, rng.label(4, 12)))
        .collect();
    let ns_pool: Vec<String> = (0..300)
        .map(|i| format!("ns{}.{}.net", i % 4, rng.label(4, 12)))
        .collect();
    let dmarc_pool = [
        "v=DMARC1; p=none",
        "v=DMARC1; p=reject; sp=reject; adkim=s; aspf=s",
        "v=DMARC1; p=quarantine; pct=50",
    ];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let suffix = SUFFIXES[rng.popular(SUFFIXES.len())];
        let domain = format!("{}{}.{suffix}", rng.label(3, 14), i % 97);
        let status = if rng.pct(97) {
            "ok"
        } else if rng.pct(60) {
            "nxdomain"
        } else {
            "error"
        };
        let mut r = SnapshotRow {
            registrable_domain: Some(domain.clone()),
            public_suffix: Some(suffix.to_string()),
            input_source: "majestic_million.csv".to_string(),
            input_tag: None,
            input_rank: Some(i as i64 + 1),
            crawled_at_us: 1_796_000_000_000_000 + (i as i64) * 50 + rng.below(40) as i64,
            domain_status: status.into(),
            spf_status: "none".into(),
            spf_dns_status: "nxdomain".into(),
            dmarc_status: "none".into(),
            dmarc_rfc7489_status: "none".into(),
            mx_dns_status: "nodata".into(),
            mta_sts_status: "none".into(),
            tlsrpt_status: "none".into(),
            bimi_status: "none".into(),
            dns_queries: 6 + rng.below(4) as i32,
            ..SnapshotRow::default()
        };
        if status == "ok" {
            r.spf_dns_status = "ok".into();
            r.mx_dns_status = "ok".into();
            if rng.pct(75) {
                let spf = spf_pool[rng.popular(spf_pool.len())].clone();
                r.spf_all = Some(
                    if spf.ends_with("-all") {
                        "fail"
                    } else {
                        "softfail"
                    }
                    .into(),
                );
                r.spf_record = Some(spf);
                r.spf_status = "valid".into();
                r.spf_dns_lookups = Some(1 + rng.below(9) as i32);
                r.spf_void_lookups = Some(0);
            }
            if rng.pct(45) {
                let rec = dmarc_pool[rng.popular(dmarc_pool.len())];
                let own = rng.pct(50);
                r.dmarc_record = Some(if own {
                    format!("{rec}; rua=mailto:dmarc@{domain}")
                } else {
                    rec.to_string()
                });
                if own {
                    r.dmarc_rua = vec![format!("mailto:dmarc@{domain}")];
                }
                r.dmarc_status = "valid".into();
                r.dmarc_source = Some("domain".into());
                r.dmarc_found_at = Some(format!("_dmarc.{domain}"));
                let p = rec.split("p=").nth(1).and_then(|p| p.split(';').next());
                r.dmarc_policy = p.map(|p| p.to_string().into());
                r.dmarc_effective_policy = r.dmarc_policy.clone();
                r.dmarc_rfc7489_status = "valid".into();
                r.dmarc_rfc7489_effective_policy = r.dmarc_policy.clone();
            }
            r.dmarc_org_domain_treewalk = Some(domain.clone());
            r.dmarc_org_domain_psl = Some(domain.clone());
            let mx = 1 + rng.below(3) as usize;
            r.mx_exchanges = (0..mx)
                .map(|_| mx_pool[rng.popular(mx_pool.len())].clone())
                .collect();
            r.mx_provider = rng.pct(40).then(|| "google".into());
            if rng.pct(3) {
                r.mta_sts_status = "valid".into();
                r.mta_sts_mode = Some("enforce".into());
                r.mta_sts_mx_mismatch = Some(false);
                r.mta_sts_id = Some(rng.label(8, 20));
            }
            if rng.pct(5) {
                r.tlsrpt_status = "valid".into();
                r.tlsrpt_rua = vec![format!("mailto:tlsrpt@{domain}")];
            }
            if rng.pct(1) {
                r.bimi_status = "valid".into();
                r.bimi_logo_url = Some(format!("https://{domain}/bimi/logo.svg"));
            }
            let ns = 2 + rng.below(3) as usize;
            r.ns_hosts = (0..ns)
                .map(|_| ns_pool[rng.popular(ns_pool.len())].clone())
                .collect();
            r.dns_provider = rng.pct(50).then(|| "cloudflare".into());
        }
        r.domain = domain;
        out.push(r);
    }
    out
}

/// One part file's encoding as the writer does it (module docs); returns the
/// encoded bytes.
fn encode_part(rows: &[SnapshotRow], options: &WriterOptions) -> Result<Vec<u8>, StoreError> {
    encode_rows(
        Vec::new(),
        Path::new("memory"),
        &by_domain(rows),
        options.row_group_rows,
        writer_properties(options, "bench"),
    )
}

fn bench_write(c: &mut Criterion) {
    let options = WriterOptions::default();
    let part = rows(options.rows_per_file);
    let group = &part[..options.row_group_rows.min(part.len())];
    match encode_part(&part, &options) {
        Ok(bytes) => eprintln!(
            "write/encode_part: {} rows, {} bytes ({:.1} bytes per row)",
            part.len(),
            bytes.len(),
            bytes.len() as f64 / part.len() as f64
        ),
        Err(e) => {
            eprintln!("write: the synthetic rows do not encode: {e}");
            return;
        }
    }
    let mut g = c.benchmark_group("write");
    g.sample_size(10);
    g.throughput(Throughput::Elements(group.len() as u64));
    g.bench_function("rows_to_batch", |b| {
        b.iter(|| black_box(rows_to_batch(black_box(group)).ok()))
    });
    g.throughput(Throughput::Elements(part.len() as u64));
    g.bench_function("encode_part", |b| {
        b.iter(|| black_box(encode_part(black_box(&part), &options).ok()))
    });
    g.finish();
}

// The macro defines an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_write);
}
use group::benches;
criterion_main!(benches);
