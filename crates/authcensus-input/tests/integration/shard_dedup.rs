//! Sharding (pinned hash values, a partition of the input) and exact dedup
//! across inputs, in memory and past the spill threshold.

use std::collections::BTreeSet;

use authcensus_input::{
    Format, Shard, ShardEnv, ShardSource, StreamOptions, resolve_shard, shard_hash,
};
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

fn env(vars: &[(&str, &str)]) -> ShardEnv {
    ShardEnv::from_fn(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    })
}

/// The scheduler environments select the same shards as `--shard`, so the
/// pinned names land in the same shard whichever way K/N was given.
#[test]
fn shard_from_the_scheduler_environment_is_pinned_too() {
    let pinned = [
        ("example.com", 1_u64),
        ("gov", 2),
        ("xn--bcher-kva.de", 2),
        ("18f.gov", 0),
    ];
    for k in 0..4u64 {
        let ks = k.to_string();
        // Kubernetes Indexed Job: N from --shard-count.
        let (shard, source) = resolve_shard(None, Some(4), &env(&[("JOB_COMPLETION_INDEX", &ks)]))
            .unwrap()
            .unwrap();
        assert_eq!(
            (shard, source),
            (Shard::new(k, 4).unwrap(), ShardSource::IndexedJob)
        );
        // Slurm `--array=1-4`: ids start at the offset 1.
        let id = (k + 1).to_string();
        let (slurm, source) = resolve_shard(
            None,
            None,
            &env(&[
                ("SLURM_ARRAY_TASK_ID", &id),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!((slurm, source), (shard, ShardSource::SlurmArray));
        // Slurm `--array=10-16:2`.
        let id = (10 + 2 * k).to_string();
        let stepped = resolve_shard(
            None,
            Some(4),
            &env(&[
                ("SLURM_ARRAY_TASK_ID", &id),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "10"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
            ]),
        )
        .unwrap()
        .unwrap()
        .0;
        assert_eq!(stepped, shard);
        for (name, expected) in pinned {
            assert_eq!(shard.contains(name), expected == k, "{name} in {shard}");
        }
    }
    assert_eq!(authcensus_input::SHARD_ASSIGNMENT, "sha256_first8_be_mod_n");
}

#[test]
fn shard_settings_that_conflict_are_clear_errors() {
    let k8s = env(&[("JOB_COMPLETION_INDEX", "2")]);
    let slurm = env(&[
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ]);
    let both = env(&[
        ("JOB_COMPLETION_INDEX", "2"),
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ]);
    let flag = Some(Shard::new(1, 4).unwrap());
    // The flag wins over the environment.
    assert_eq!(
        resolve_shard(flag, None, &both).unwrap(),
        Some((Shard::new(1, 4).unwrap(), ShardSource::Flag))
    );
    assert_eq!(
        resolve_shard(None, None, &ShardEnv::default()).unwrap(),
        None
    );
    let cases: [(Option<Shard>, Option<u64>, &ShardEnv, &str); 9] = [
        (
            flag,
            Some(8),
            &k8s,
            "--shard 1/4 and --shard-count 8 disagree",
        ),
        (
            None,
            None,
            &both,
            "both JOB_COMPLETION_INDEX=2 (Kubernetes) and SLURM_ARRAY_TASK_ID=3",
        ),
        (None, None, &k8s, "give --shard-count N"),
        (
            None,
            Some(2),
            &k8s,
            "JOB_COMPLETION_INDEX=2 is not below --shard-count 2",
        ),
        (
            None,
            Some(8),
            &slurm,
            "--shard-count 8 and SLURM_ARRAY_TASK_COUNT=4 disagree",
        ),
        (None, Some(4), &ShardEnv::default(), "no shard index"),
        (None, Some(0), &k8s, "--shard-count must be at least 1"),
        (
            None,
            None,
            &env(&[
                ("SLURM_ARRAY_TASK_ID", "9"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
            ]),
            "SLURM_ARRAY_TASK_ID=9 (SLURM_ARRAY_TASK_MIN=1, step 1) does not map to a shard in 0..3",
        ),
        (
            None,
            None,
            &env(&[
                ("SLURM_ARRAY_TASK_ID", "x1"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ]),
            "SLURM_ARRAY_TASK_ID=x1 is not a non-negative integer",
        ),
    ];
    for (flag, count, env, message) in cases {
        let e = resolve_shard(flag, count, env).unwrap_err().to_string();
        assert!(
            e.starts_with("shard settings: ") && e.contains(message),
            "{e}"
        );
    }
}
