//! Sharding (pinned hash values, a partition of the input) and exact dedup
//! across inputs, in memory and past the spill threshold.

use std::collections::BTreeSet;

use authcensus_input::{Format, Shard, StreamOptions, shard_hash};
use authcensus_testsupport::shared_data;

use super::{assert_accounting, run_ok, spec};

/// Pinned: first 8 bytes of SHA-256, big-endian (`printf %s NAME | sha256sum`).
#[test]
fn shard_hash_pinned_values() {
    let pinned = [
        ("example.com", 0xa379_a6f6_eeaf_b9a5_u64, 1_u64),
        ("gov", 0x7b5f_e22b_5446_f7c6, 2),
        ("xn--bcher-kva.de", 0xdfb7_cbae_f73d_9812, 2),
        ("18f.gov", 0x0b83_3454_58bc_1780, 0),
    ];
    for (name, hash, mod4) in pinned {
        assert_eq!(shard_hash(name), hash, "{name}");
        assert_eq!(shard_hash(name) % 4, mod4, "{name}");
        assert!(Shard::new(mod4, 4).unwrap().contains(name));
    }
}

/// Every gov delegation lands in exactly one of 5 shards.
#[test]
fn shards_partition_the_gov_zone() {
    let Some(path) = shared_data("zones/gov.zone") else {
        return;
    };
    let all: BTreeSet<String> = run_ok(vec![spec(&path)], StreamOptions::default())
        .domains
        .into_iter()
        .map(|d| d.domain)
        .collect();
    let mut union = BTreeSet::new();
    let mut total = 0;
    for k in 0..5 {
        let options = StreamOptions {
            shard: Some(Shard::new(k, 5).unwrap()),
            ..StreamOptions::default()
        };
        let r = run_ok(vec![spec(&path)], options);
        assert_accounting(&r.stats);
        assert!(r.domains.iter().all(|d| shard_hash(&d.domain) % 5 == k));
        assert_eq!(
            r.stats.sources[0].other_shard + r.domains.len() as u64,
            all.len() as u64
        );
        // Roughly even: each shard holds 20% ± 3 points of 16,536.
        assert!(
            (2_800..3_800).contains(&r.domains.len()),
            "shard {k}: {}",
            r.domains.len()
        );
        total += r.domains.len();
        union.extend(r.domains.into_iter().map(|d| d.domain));
    }
    assert_eq!(total, all.len(), "no domain in two shards");
    assert_eq!(union, all);
}

fn write_lists(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let a = dir.join("a.txt");
    let b = dir.join("b.csv");
    let names_a: Vec<String> = (0..40).map(|i| format!("n{i}.example")).collect();
    std::fs::write(&a, names_a.join("\n")).unwrap();
    // b: ranks, overlapping a on n20..n39 (upper case, trailing dot), new n40..n59.
    let rows: Vec<String> = (20..60)
        .map(|i| format!("{},N{i}.Example.", i - 19))
        .collect();
    std::fs::write(&b, rows.join("\n")).unwrap();
    (a, b)
}

fn check_dedup(memory: usize, expect_spill: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = write_lists(dir.path());
    let mut sb = spec(&b);
    sb.tag = Some("ranked".into());
    let options = StreamOptions {
        dedup_memory: memory,
        spill_dir: Some(dir.path().to_path_buf()),
        ..StreamOptions::default()
    };
    let r = run_ok(vec![spec(&a), sb], options);
    assert_accounting(&r.stats);
    let got: Vec<&str> = r.domains.iter().map(|d| d.domain.as_str()).collect();
    let unique: BTreeSet<&str> = got.iter().copied().collect();
    assert_eq!(unique.len(), got.len(), "no name twice");
    let want: BTreeSet<String> = (0..60).map(|i| format!("n{i}.example")).collect();
    assert_eq!(
        unique
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        want
    );
    assert_eq!(r.stats.sources[1].format, Some(Format::Tranco));
    assert_eq!(r.stats.sources[0].emitted, 40);
    assert_eq!(r.stats.sources[1].emitted, 20);
    assert_eq!(r.stats.sources[1].duplicates, 20);
    assert_eq!(r.stats.spilled_runs > 0, expect_spill);
    // First arrival wins: n25 comes from a (no rank), n45 from b with its rank.
    let n25 = r
        .domains
        .iter()
        .find(|d| d.domain == "n25.example")
        .unwrap();
    assert_eq!(
        (n25.source.as_ref(), n25.rank),
        (a.display().to_string().as_str(), None)
    );
    let n45 = r
        .domains
        .iter()
        .find(|d| d.domain == "n45.example")
        .unwrap();
    assert_eq!(
        (n45.rank, n45.tag.as_deref(), n45.line),
        (Some(26), Some("ranked"), 26)
    );
}

#[test]
fn dedup_across_inputs_in_memory() {
    check_dedup(1_000, false);
}

#[test]
fn dedup_across_inputs_past_the_spill_threshold() {
    check_dedup(7, true);
}
