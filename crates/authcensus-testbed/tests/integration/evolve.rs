//! `--evolve`: the next month's universe and its recorded transitions.

use authcensus_testbed::{GenerateOptions, generate};

use super::{manifest, realworld, row, truth, universe};

#[test]
fn evolve_records_exact_transitions() {
    let (t, _) = universe(31, 2000);
    let prev = t.path().join("u");
    let evolve_to = |name: &str| {
        let mut o = GenerateOptions::new(0, 77, t.path().join(name));
        o.evolve_from = Some(prev.clone());
        o.realworld = realworld();
        generate(&o).expect("evolve")
    };
    let s = evolve_to("next");
    let again = evolve_to("again");
    assert_eq!(s.transitions, again.transitions);
    let next = t.path().join("next");
    assert_eq!(
        std::fs::read(next.join("truth/part-00000.parquet")).expect("a"),
        std::fs::read(t.path().join("again/truth/part-00000.parquet")).expect("b"),
    );
    let m = manifest(&next);
    assert_eq!(
        (m.generation, m.seed, m.evolved_from_seed),
        (1, 77, Some(31))
    );
    let before = truth(&prev);
    let after = truth(&next);
    let kinds: std::collections::BTreeSet<&str> =
        m.transitions.iter().map(|x| x.kind.as_str()).collect();
    for k in [
        "dmarc_tightened",
        "dmarc_regressed",
        "dmarc_added",
        "vanished",
        "appeared",
    ] {
        assert!(kinds.contains(k), "no {k} transition in {kinds:?}");
    }
    let vanished = m
        .transitions
        .iter()
        .filter(|x| x.kind == "vanished")
        .count();
    let appeared = m
        .transitions
        .iter()
        .filter(|x| x.kind == "appeared")
        .count();
    assert_eq!(vanished, appeared);
    assert_eq!(after.len(), before.len());
    for x in &m.transitions {
        let old = before.iter().find(|r| r.domain == x.domain);
        let new = after.iter().find(|r| r.domain == x.domain);
        match x.kind.as_str() {
            "vanished" => assert!(old.is_some() && new.is_none(), "{x:?}"),
            "appeared" => assert!(old.is_none() && new.is_some(), "{x:?}"),
            _ => {
                let (old, new) = (old.expect("old"), new.expect("new"));
                assert_eq!(
                    old.dmarc_effective_policy.as_deref(),
                    x.from.as_deref(),
                    "{x:?}"
                );
                assert_eq!(
                    new.dmarc_effective_policy.as_deref(),
                    x.to.as_deref(),
                    "{x:?}"
                );
                assert_ne!(x.from, x.to);
            }
        }
    }
    // Every change in the DMARC policy column is a recorded transition.
    let recorded: std::collections::BTreeSet<&str> =
        m.transitions.iter().map(|x| x.domain.as_str()).collect();
    for new in &after {
        if let Some(old) = before.iter().find(|r| r.domain == new.domain)
            && old.dmarc_effective_policy != new.dmarc_effective_policy
        {
            assert!(
                recorded.contains(new.domain.as_str()),
                "unrecorded change at {}",
                new.domain
            );
        }
    }
    let _ = row(&after, &after[0].domain);
}
