//! A diff of two generated testbed months (their ground-truth Parquet
//! snapshots) matches the transitions the generator recorded, exactly.

use std::collections::BTreeMap;

use authcensus_report::diff::{DiffOptions, diff};
use authcensus_report::open_snapshot;
use authcensus_testbed::{GenerateOptions, generate, read_manifest};

use crate::block_on;

/// A state label back to the generator's effective policy (None: no valid record).
fn policy(label: &Option<String>) -> Option<String> {
    label.clone().filter(|l| !l.starts_with('('))
}

#[test]
fn diff_of_two_generated_months_matches_the_generator() {
    let tmp = tempfile::tempdir().unwrap();
    let m1 = tmp.path().join("month-1");
    let m2 = tmp.path().join("month-2");
    generate(&GenerateOptions::new(3000, 11, &m1)).unwrap();
    let mut next = GenerateOptions::new(3000, 11, &m2);
    next.evolve_from = Some(m1.clone());
    generate(&next).unwrap();
    let manifest = read_manifest(&m2).unwrap();
    let transitions = &manifest.transitions;
    assert!(transitions.len() > 50, "{} transitions", transitions.len());

    let old = open_snapshot(&m1.join("truth")).unwrap();
    let new = open_snapshot(&m2.join("truth")).unwrap();
    let d = block_on(diff(
        &old,
        &new,
        &DiffOptions {
            filters: vec![],
            limit: 1_000_000,
        },
    ))
    .unwrap();
    assert_eq!(d.changes_total as usize, d.changes.len());

    // expected, from the generator: domain -> (kind, from, to)
    let mut expected: BTreeMap<String, (String, Option<String>, Option<String>)> = BTreeMap::new();
    for t in transitions {
        expected.insert(
            t.domain.clone(),
            (t.kind.clone(), t.from.clone(), t.to.clone()),
        );
    }
    // actual, from the diff: every domain that appeared, disappeared or whose
    // DMARC effective policy changed
    let mut actual = BTreeMap::new();
    let mut other_changes = Vec::new();
    for c in &d.changes {
        let (o, n) = c.labels.get("dmarc").cloned().unwrap();
        let kind = match c.change.as_str() {
            "appeared" => "appeared".to_string(),
            "disappeared" => "vanished".to_string(),
            _ if o != n => {
                let (po, pn) = (policy(&o), policy(&n));
                let rank = |p: &Option<String>| match p.as_deref() {
                    Some("reject") => 3,
                    Some("quarantine") => 2,
                    Some("none") => 1,
                    _ => 0,
                };
                if po.is_none() {
                    "dmarc_added".into()
                } else if rank(&pn) > rank(&po) {
                    "dmarc_tightened".into()
                } else {
                    "dmarc_regressed".into()
                }
            }
            _ => {
                other_changes.push(c.domain.clone());
                continue;
            }
        };
        actual.insert(c.domain.clone(), (kind, policy(&o), policy(&n)));
    }
    let mismatches: Vec<_> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: expected {v:?}, diff says {:?}", actual.get(k)))
        .chain(
            actual
                .iter()
                .filter(|(k, _)| !expected.contains_key(*k))
                .map(|(k, v)| format!("{k}: not a generator transition, diff says {v:?}")),
        )
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(
        other_changes.is_empty(),
        "SPF/MTA-STS changes: {other_changes:?}"
    );
    let count = |k: &str| transitions.iter().filter(|t| t.kind == k).count() as u64;
    assert_eq!(d.appeared, count("appeared"));
    assert_eq!(d.disappeared, count("vanished"));
    let dm = &d.dimensions[0];
    assert_eq!(
        dm.changed,
        count("dmarc_added") + count("dmarc_tightened") + count("dmarc_regressed")
    );
    assert_eq!(dm.adopted, count("dmarc_added") + count("dmarc_tightened"));
    assert_eq!(dm.regressed, count("dmarc_regressed"));
    assert_eq!(d.dimensions[1].changed + d.dimensions[2].changed, 0);
}
