//! Compliance profiles on the fixed month-1 snapshot, with the shipped
//! BOD 18-01 profile.

use authcensus_report::profile::{Profile, check};
use authcensus_report::{ReportOptions, open_snapshot};
use authcensus_testsupport::workspace_root;

use crate::{block_on, fixture};

#[test]
fn bod_18_01_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture::write(tmp.path(), "2026-01-01", fixture::month1());
    let snap = open_snapshot(&dir).unwrap();
    let profile = Profile::load(&workspace_root().join("profiles/bod-18-01.toml")).unwrap();
    let r = block_on(check(&snap, &profile, &ReportOptions::default(), 100)).unwrap();
    // resolving: a, b, c, d; only a.go.jp meets every rule; c.co.jp is parked
    assert_eq!(
        (r.domains, r.compliant, r.parked, r.failing_total),
        (4, 1, 1, 3)
    );
    let rules: Vec<(&str, u64, u64)> = r
        .rules
        .iter()
        .map(|x| (x.rule.id.as_str(), x.pass, x.fail))
        .collect();
    assert_eq!(
        rules,
        [
            ("dmarc_min_policy", 2, 2),
            ("dmarc_pct_100", 2, 2),
            ("dmarc_sp_not_weaker", 2, 2),
            ("dmarc_rua_1", 1, 3),
            ("spf_valid", 3, 1),
            ("spf_all", 3, 1),
            ("spf_lookup_limits", 3, 1),
        ]
    );
    let failing: Vec<(&str, bool, Vec<&str>)> = r
        .failing
        .iter()
        .map(|f| {
            (
                f.domain.as_str(),
                f.parked,
                f.failed.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        failing,
        [
            (
                "b.go.jp",
                false,
                vec![
                    "dmarc_min_policy",
                    "dmarc_pct_100",
                    "dmarc_sp_not_weaker",
                    "dmarc_rua_1",
                    "spf_lookup_limits"
                ]
            ),
            ("c.co.jp", true, vec!["dmarc_rua_1"]),
            (
                "d.co.jp",
                false,
                vec![
                    "dmarc_min_policy",
                    "dmarc_pct_100",
                    "dmarc_sp_not_weaker",
                    "dmarc_rua_1",
                    "spf_valid",
                    "spf_all"
                ]
            ),
        ]
    );
}

#[test]
fn parked_exemption_and_profile_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture::write(tmp.path(), "2026-01-01", fixture::month1());
    let snap = open_snapshot(&dir).unwrap();
    let path = tmp.path().join("p.toml");
    std::fs::write(
        &path,
        "name = \"sts\"\n[mta_sts]\nrequire_enforce = true\n[dmarc]\nrequired_rua = [\"MAILTO:R@X.EXAMPLE\"]\n[parked]\nexempt = [\"mta_sts_enforce\"]\n",
    )
    .unwrap();
    let p = Profile::load(&path).unwrap();
    let r = block_on(check(&snap, &p, &ReportOptions::default(), 1)).unwrap();
    // MTA-STS enforce: a, plus parked c by exemption; rua (case-insensitive): a
    assert_eq!(r.rules[0].rule.id, "dmarc_rua_1");
    assert_eq!((r.rules[0].pass, r.rules[1].pass), (1, 2));
    assert_eq!((r.compliant, r.failing_total, r.failing.len()), (1, 3, 1));
    for (text, msg) in [
        (
            "name = \"x\"\n[dmarc]\nmin_policy = \"strict\"\n",
            "dmarc.min_policy `strict`",
        ),
        (
            "name = \"x\"\n[spf]\nallowed_all = [\"all\"]\n",
            "spf.allowed_all `all`",
        ),
        (
            "name = \"x\"\n[parked]\nexempt = [\"spf_valid\"]\n",
            "parked.exempt `spf_valid`",
        ),
        (
            "name = \"x\"\n[dmarc]\nmin_pct = 5\n",
            "unknown field `min_pct`",
        ),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = Profile::load(&path).unwrap_err().to_string();
        assert!(err.contains(msg), "{err}");
    }
}
