//! Determinism, planted cases, truth values and distributions.

use std::collections::BTreeMap;
use std::path::Path;

use super::{N, case_domain, manifest, row, truth, universe};

fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).expect("prefix").display().to_string();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_different_seed_different_universe() {
    let (a, _) = universe(42, N);
    let (b, _) = universe(42, N);
    let (c, _) = universe(43, N);
    let fa = files(&a.path().join("u"));
    let fb = files(&b.path().join("u"));
    let fc = files(&c.path().join("u"));
    assert!(fa.len() > 10, "{} files", fa.len());
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(
            fb[k] == *v,
            "{k} differs between two runs with the same seed"
        );
    }
    assert_ne!(fa["domains.txt"], fc["domains.txt"]);
    assert_ne!(fa["zones/com.zone"], fc["zones/com.zone"]);
    for p in [
        "testbed.json",
        "universe.json",
        "domains.txt",
        "truth/part-00000.parquet",
        "policies/serving.json",
    ] {
        assert!(fa.contains_key(p), "missing {p}");
    }
}

#[test]
fn summary_manifest_and_lists_agree() {
    let (t, s) = universe(1, N);
    let dir = t.path().join("u");
    let m = manifest(&dir);
    assert_eq!(s.domains, N);
    assert_eq!(m.domains, N);
    assert_eq!(m.seed, 1);
    let list = std::fs::read_to_string(dir.join("domains.txt")).expect("domains.txt");
    let names: Vec<&str> = list.lines().collect();
    assert_eq!(names.len(), N);
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, names, "domains.txt is sorted and unique");
    for z in ["com", "org", "net", "gov", "jp"] {
        assert!(m.zones.iter().any(|x| x == z), "zone {z} missing");
    }
    assert!(names.iter().any(|n| n.ends_with(".co.jp")));
    assert!(names.iter().any(|n| n.ends_with(".go.jp")));
    assert!(names.iter().any(|n| n.ends_with(".ac.jp")));
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("xn--") && n.ends_with(".jp"))
    );
    assert_eq!(truth(&dir).len(), N);
    assert!(!m.nxdomain.is_empty() && !m.never_answer.is_empty());
    for n in m.nxdomain.iter().chain(&m.never_answer) {
        assert!(names.contains(&n.as_str()), "{n} not in the input list");
    }
}

#[test]
fn planted_cases_have_the_intended_truth() {
    let (t, _) = universe(5, N);
    let dir = t.path().join("u");
    let m = manifest(&dir);
    let rows = truth(&dir);
    let r = |case: &str| row(&rows, &case_domain(&m, case)).clone();
    let spf = |case: &str| {
        let x = r(case);
        (x.spf_status, x.spf_dns_lookups, x.spf_void_lookups)
    };
    assert_eq!(spf("spf_lookups_10"), ("valid".into(), Some(10), Some(0)));
    assert_eq!(
        spf("spf_lookups_11"),
        ("permerror".into(), Some(11), Some(0))
    );
    assert_eq!(spf("spf_void_2"), ("valid".into(), Some(2), Some(2)));
    assert_eq!(spf("spf_void_3"), ("permerror".into(), Some(3), Some(3)));
    assert_eq!(
        spf("spf_include_loop"),
        ("permerror".into(), Some(3), Some(0))
    );
    assert_eq!(spf("spf_missing_include").0, "permerror");
    assert_eq!(spf("spf_provider_mix"), ("valid".into(), Some(10), Some(0)));
    assert_eq!(spf("spf_multiple_records").0, "permerror");
    assert_eq!(spf("spf_malformed").0, "permerror");
    let redirect = r("spf_redirect");
    assert_eq!(
        (redirect.spf_dns_lookups, redirect.spf_all.as_deref()),
        (Some(4), Some("~all"))
    );
    let long = r("spf_long_txt_tcp");
    assert!(long.spf_record.as_ref().is_some_and(|s| s.len() > 1232));
    assert_eq!(long.spf_dns_lookups, Some(4));

    let fb = r("dmarc_org_fallback");
    assert_eq!(fb.domain, "mail.tb-dmarc-org.com");
    assert_eq!(fb.registrable_domain.as_deref(), Some("tb-dmarc-org.com"));
    assert_eq!(fb.dmarc_source.as_deref(), Some("organizational"));
    assert_eq!(fb.dmarc_policy.as_deref(), Some("quarantine"));
    assert_eq!(fb.dmarc_effective_policy.as_deref(), Some("reject"));
    assert_eq!(r("dmarc_multiple_records").dmarc_status, "invalid");
    assert_eq!(r("dmarc_malformed").dmarc_status, "invalid");
    let split = r("dmarc_split_strings");
    assert_eq!(split.dmarc_pct, Some(25));
    assert_eq!(split.dmarc_rua.len(), 2);
    assert_eq!(r("dmarc_cname").dmarc_policy.as_deref(), Some("reject"));

    assert_eq!(
        spf("spf_redirect_loop"),
        ("permerror".into(), Some(2), Some(0))
    );
    let pass = r("spf_pass_all");
    assert_eq!(
        (pass.spf_status.as_ref(), pass.spf_all.as_deref()),
        ("valid", Some("+all"))
    );
    assert!(!r("mx_invalid_null").mx_null);
    let null = r("mx_null");
    assert!(null.mx_null && null.mx_exchanges.is_empty());
    let sts = |case: &str| {
        let x = r(case);
        (
            x.mta_sts_status,
            x.mta_sts_mode,
            x.mta_sts_mx_mismatch,
            x.mta_sts_fetch_error,
        )
    };
    assert_eq!(
        sts("mta_sts_enforce"),
        ("valid".into(), Some("enforce".into()), Some(false), None)
    );
    assert_eq!(
        sts("mta_sts_mx_mismatch"),
        ("valid".into(), Some("enforce".into()), Some(true), None)
    );
    assert_eq!(sts("mta_sts_404").3.as_deref(), Some("http_status"));
    assert_eq!(sts("mta_sts_redirect").3.as_deref(), Some("redirect"));
    assert_eq!(
        sts("mta_sts_content_type").3.as_deref(),
        Some("content_type")
    );
    assert_eq!(
        sts("mta_sts_bad_cert").3.as_deref(),
        Some("tls_invalid_certificate")
    );
    assert_eq!(sts("mta_sts_timeout").3.as_deref(), Some("timeout"));
    assert_eq!(sts("mta_sts_invalid_policy").0, "invalid_policy");
    assert_eq!(sts("mta_sts_invalid_txt").0, "invalid_txt");
    assert_eq!(r("tlsrpt_malformed").tlsrpt_status, "invalid");
    assert_eq!(r("bimi_valid").bimi_status, "valid");
    assert_eq!(r("bimi_declined").bimi_status, "declined");
    assert_eq!(r("bimi_malformed").bimi_status, "invalid");
    assert_eq!(r("never_answers").domain_status, "error");
    assert_eq!(r("nxdomain").domain_status, "nxdomain");
    let idn = r("idn_jp");
    assert!(idn.domain.starts_with("xn--") && idn.public_suffix.as_deref() == Some("jp"));
    assert_eq!(r("co_jp").public_suffix.as_deref(), Some("co.jp"));
    assert_eq!(
        m.cases.len(),
        39,
        "{:?}",
        m.cases.iter().map(|c| &c.case).collect::<Vec<_>>()
    );
}

#[test]
fn distributions_follow_the_figures() {
    let (t, _) = universe(9, N);
    let dir = t.path().join("u");
    let m = manifest(&dir);
    let rows = truth(&dir);
    let ok: Vec<_> = rows.iter().filter(|r| r.domain_status == "ok").collect();
    let share = |f: &dyn Fn(&&authcensus_store::SnapshotRow) -> bool,
                 of: &[&authcensus_store::SnapshotRow]| {
        of.iter().filter(|r| f(r)).count() as f64 / of.len() as f64
    };
    let with_mx: Vec<_> = ok
        .iter()
        .copied()
        .filter(|r| !r.mx_exchanges.is_empty())
        .collect();
    let spf = share(&|r| r.spf_status != "none", &with_mx);
    assert!((0.70..0.86).contains(&spf), "SPF share of MX domains {spf}");
    let dmarc = share(&|r| r.dmarc_status != "none", &ok);
    assert!((0.35..0.52).contains(&dmarc), "DMARC share {dmarc}");
    let valid: Vec<_> = ok
        .iter()
        .copied()
        .filter(|r| r.dmarc_status == "valid")
        .collect();
    let none = share(&|r| r.dmarc_policy.as_deref() == Some("none"), &valid);
    assert!((0.5..0.7).contains(&none), "p=none share {none}");
    let sts = share(&|r| r.mta_sts_status != "none", &with_mx);
    assert!((0.005..0.05).contains(&sts), "MTA-STS share {sts}");
    let null = share(&|r| r.mx_null, &ok);
    assert!((0.01..0.06).contains(&null), "null MX share {null}");
    let google = m.counts.get("mx_provider.google").copied().unwrap_or(0);
    let microsoft = m.counts.get("mx_provider.microsoft").copied().unwrap_or(0);
    assert!(
        google > 300 && microsoft > 350,
        "google {google} microsoft {microsoft}"
    );
    assert!(m.spf_real_records > 0);
}

/// A larger universe generates and loads (run with `--ignored`; about a
/// minute in a debug build).
#[test]
#[ignore]
fn large_universe_generates_and_serves() {
    let start = std::time::Instant::now();
    let (t, s) = universe(100, 100_000);
    let generated = start.elapsed();
    assert_eq!(s.domains, 100_000);
    let tb = authcensus_testbed::serve(
        &t.path().join("u"),
        authcensus_testbed::ServeOptions::default(),
    )
    .expect("serve");
    println!(
        "100k domains: generated in {generated:?}, serving after {:?}",
        start.elapsed()
    );
    tb.shutdown();
}
