//! `--evolve`: the next month's universe from a previous one. Some DMARC
//! policies tighten (p=none to quarantine/reject), some regress, some domains
//! add DMARC, some vanish and new ones appear. Every intended change is a
//! [`Transition`] in the manifest, so a diff report can be tested exactly.

use serde::{Deserialize, Serialize};

use super::model::{DmarcPlan, Existence, Universe};
use super::plan::{Figures, Names, ordinary};
use super::spf::SpfWorld;
use crate::rng::Rng;

/// Share of `p=none` domains that tighten per month.
pub const TIGHTEN: f64 = 0.08;
/// Share of enforcing domains that regress to `p=none` per month.
pub const REGRESS: f64 = 0.03;
/// Share of domains without DMARC that add `p=none`.
pub const ADD_DMARC: f64 = 0.03;
/// Share of ordinary domains that vanish (and as many new ones appear).
pub const CHURN: f64 = 0.02;

/// One intended change between two generations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// The domain.
    pub domain: String,
    /// `dmarc_tightened`, `dmarc_regressed`, `dmarc_added`, `vanished`, `appeared`.
    pub kind: String,
    /// Effective DMARC policy before (null: no record / not in the list).
    pub from: Option<String>,
    /// Effective DMARC policy after.
    pub to: Option<String>,
}

/// Evolves `prev` in place with a generator seeded by `seed`.
pub fn evolve(prev: &mut Universe, seed: u64, fig: &Figures, world: &SpfWorld) -> Vec<Transition> {
    let mut rng = Rng::new(seed, 0xE7);
    let mut out = Vec::new();
    let mut names = Names::default();
    for d in &prev.domains {
        names.reserve(&d.name);
    }
    let mut kept = Vec::with_capacity(prev.domains.len());
    let mut vanished = 0usize;
    for mut d in std::mem::take(&mut prev.domains) {
        let ordinary_ok = d.case.is_none() && d.existence == Existence::Normal;
        if ordinary_ok && rng.chance(CHURN) {
            vanished += 1;
            out.push(Transition {
                domain: d.name.clone(),
                kind: "vanished".into(),
                from: d.truth.dmarc_effective_policy.clone(),
                to: None,
            });
            continue;
        }
        if ordinary_ok {
            let before = d.truth.dmarc_effective_policy.clone();
            let change = match &d.dmarc {
                Some(p) if p.p == "none" && rng.chance(TIGHTEN) => {
                    let to = if rng.chance(0.6) {
                        "quarantine"
                    } else {
                        "reject"
                    };
                    Some((
                        "dmarc_tightened",
                        DmarcPlan {
                            p: to.into(),
                            ..p.clone()
                        },
                    ))
                }
                Some(p) if p.p != "none" && rng.chance(REGRESS) => Some((
                    "dmarc_regressed",
                    DmarcPlan {
                        p: "none".into(),
                        ..p.clone()
                    },
                )),
                None if rng.chance(ADD_DMARC) => Some((
                    "dmarc_added",
                    DmarcPlan {
                        p: "none".into(),
                        sp: None,
                        pct: None,
                        rua: vec![format!("mailto:dmarc-reports@{}", d.name)],
                    },
                )),
                _ => None,
            };
            if let Some((kind, plan)) = change {
                plan.apply_truth(&mut d.truth);
                d.truth.dmarc_found_at = Some(d.name.clone());
                d.dmarc = Some(plan);
                out.push(Transition {
                    domain: d.name.clone(),
                    kind: kind.into(),
                    from: before,
                    to: d.truth.dmarc_effective_policy.clone(),
                });
            }
        }
        kept.push(d);
    }
    for _ in 0..vanished {
        let (name, suffix) = names.draw(&mut rng, fig);
        let d = ordinary(&mut rng, fig, world, &mut prev.policy_hosts, name, suffix);
        out.push(Transition {
            domain: d.name.clone(),
            kind: "appeared".into(),
            from: None,
            to: d.truth.dmarc_effective_policy.clone(),
        });
        kept.push(d);
    }
    let live: std::collections::BTreeSet<String> =
        kept.iter().map(|d| format!("mta-sts.{}", d.name)).collect();
    prev.policy_hosts.retain(|h| live.contains(&h.host));
    prev.domains = kept;
    prev.generation += 1;
    prev.seed = seed;
    out.sort_by(|a, b| a.domain.cmp(&b.domain));
    out
}
