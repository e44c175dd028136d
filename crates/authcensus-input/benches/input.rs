//! Throughput of the input layer.
//!
//! - `normalize/plain_ascii`: [`normalize_domain`] over generated LDH names
//!   (the fast path that skips IDNA); target ≥ 2M names/s/core.
//! - `normalize/idn`: names needing full UTS #46 processing.
//! - `stream/plain_list`: a whole plain list through [`DomainStream`]
//!   (lines, normalisation, dedup, PSL).
//! - `stream/gov_zone`: the real gov. zone (skipped when `../shared/data` is absent).
//!
//! Run: `cargo bench -p authcensus-input --bench input`.

use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;

use authcensus_input::{
    CountOnly, DomainStream, InputPath, InputSpec, PslSections, StreamOptions, SuffixList,
    normalize_domain,
};
use criterion::{Criterion, Throughput, criterion_main};

fn names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("Host-{i}.Example{}.com", i % 97))
        .collect()
}

fn bench_normalize(c: &mut Criterion) {
    let ascii = names(10_000);
    let idn: Vec<String> = (0..1_000).map(|i| format!("bücher{i}.例え.de")).collect();
    let mut g = c.benchmark_group("normalize");
    g.throughput(Throughput::Elements(ascii.len() as u64));
    g.bench_function("plain_ascii", |b| {
        b.iter(|| {
            for n in &ascii {
                let _ = black_box(normalize_domain(black_box(n)));
            }
        })
    });
    g.throughput(Throughput::Elements(idn.len() as u64));
    g.bench_function("idn", |b| {
        b.iter(|| {
            for n in &idn {
                let _ = black_box(normalize_domain(black_box(n)));
            }
        })
    });
    g.finish();
}

fn count(path: &std::path::Path, psl: &Arc<SuffixList>) -> usize {
    let spec = InputSpec::new(InputPath::File(path.to_path_buf()));
    DomainStream::new(
        vec![spec],
        StreamOptions::default(),
        Arc::clone(psl),
        CountOnly,
    )
    .filter(Result::is_ok)
    .count()
}

fn bench_stream(c: &mut Criterion) {
    let psl = match SuffixList::embedded(PslSections::All) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            eprintln!("cannot load PSL: {e}");
            return;
        }
    };
    let Ok(dir) = tempfile::tempdir() else { return };
    let list = dir.path().join("list.txt");
    let Ok(mut f) = std::fs::File::create(&list) else {
        return;
    };
    let n = 100_000;
    for name in names(n) {
        let _ = writeln!(f, "{name}");
    }
    drop(f);
    let mut g = c.benchmark_group("stream");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("plain_list", |b| b.iter(|| black_box(count(&list, &psl))));
    let zone = authcensus_testsupport::shared_data_dir().join("zones/gov.zone");
    if zone.exists() {
        g.throughput(Throughput::Bytes(
            std::fs::metadata(&zone).map_or(0, |m| m.len()),
        ));
        g.bench_function("gov_zone", |b| b.iter(|| black_box(count(&zone, &psl))));
    }
    g.finish();
}

// The macro defines an undocumented `pub fn benches`.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench_normalize, super::bench_stream);
}
use group::benches;
criterion_main!(benches);
