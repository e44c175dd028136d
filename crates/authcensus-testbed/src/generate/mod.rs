//! The generator: a deterministic synthetic universe written to a directory.
//!
//! Layout of a universe directory:
//! - `zones/<tld>.zone`: RFC 1035 master files (one per TLD);
//! - `policies/<host>/.well-known/mta-sts.txt` and `policies/serving.json`
//!   (per-host serving behaviour for the HTTPS server);
//! - `testbed.json`: the manifest (seed, counts, zones, figures, cases, faults,
//!   transitions);
//! - `universe.json`: the full model (input of `--evolve`);
//! - `domains.txt`: the input list;
//! - `truth/part-00000.parquet`: the ground truth (snapshot schema).

pub mod cases;
pub mod evolve;
pub mod model;
pub mod plan;
pub mod spf;
pub mod truth;
pub mod zones;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::rng::Rng;
use cases::CaseInfo;
use evolve::Transition;
use model::{Existence, Rr, Serving, Universe};
use plan::{Figures, Names};
use spf::SpfWorld;

/// Manifest file name.
pub const MANIFEST: &str = "testbed.json";
/// Full model file name.
pub const UNIVERSE: &str = "universe.json";
/// Policy serving behaviour file, under `policies/`.
pub const SERVING: &str = "serving.json";

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Number of input domains (planted cases included). Ignored with `evolve_from`.
    pub domains: usize,
    /// RNG seed.
    pub seed: u64,
    /// Output directory (created; generated subfolders are replaced).
    pub out_dir: PathBuf,
    /// A previous universe directory to evolve into the next month's.
    pub evolve_from: Option<PathBuf>,
    /// The shared real-world data directory (`mxmap/providers_*.min.json`);
    /// missing files fall back to a built-in record set.
    pub realworld: PathBuf,
}

impl GenerateOptions {
    /// Options with the default real-world data path `../shared/data/realworld`.
    pub fn new(domains: usize, seed: u64, out_dir: impl Into<PathBuf>) -> Self {
        GenerateOptions {
            domains,
            seed,
            out_dir: out_dir.into(),
            evolve_from: None,
            realworld: PathBuf::from("../shared/data/realworld"),
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateSummary {
    /// The universe directory.
    pub out_dir: PathBuf,
    /// Input domains written to `domains.txt`.
    pub domains: usize,
    /// Zone names.
    pub zones: Vec<String>,
    /// Planted cases.
    pub cases: usize,
    /// MTA-STS policy hosts.
    pub policy_hosts: usize,
    /// Intended transitions (evolve only).
    pub transitions: usize,
}

/// The manifest `testbed.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestbedManifest {
    /// Manifest format version.
    pub format: u32,
    /// Seed of this generation.
    pub seed: u64,
    /// Generation (0 fresh, +1 per evolve).
    pub generation: u32,
    /// Input domains.
    pub domains: usize,
    /// Counts by feature (see README).
    pub counts: BTreeMap<String, u64>,
    /// Zones (TLDs) served.
    pub zones: Vec<String>,
    /// Distribution figures used.
    pub figures: Figures,
    /// Where the real SPF records came from, and how many were usable.
    pub spf_real_source: String,
    /// Usable real SPF records.
    pub spf_real_records: usize,
    /// Planted hard cases.
    pub cases: Vec<CaseInfo>,
    /// Names the DNS server never answers (at or below).
    pub never_answer: Vec<String>,
    /// Input names that do not exist.
    pub nxdomain: Vec<String>,
    /// Columns the truth asserts (see `CONTRACT`).
    pub contract: Vec<String>,
    /// Seed of the universe this one evolved from.
    pub evolved_from_seed: Option<u64>,
    /// Intended changes from the previous generation.
    pub transitions: Vec<Transition>,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Error> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::json(path, e))
}

/// Whether `name` is `apex` or a name below it (both lowercase, no
/// trailing dot).
#[must_use]
pub fn at_or_below(name: &str, apex: &str) -> bool {
    name.strip_suffix(apex)
        .is_some_and(|head| head.is_empty() || head.ends_with('.'))
}

/// `name`, then each name above it, label by label (`a.b.c`, `b.c`, `c`).
pub(crate) fn self_and_parents(name: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(name), |n| n.split_once('.').map(|(_, parent)| parent))
}

/// Apex names, asked "is this name at or below one of them" with one hash
/// lookup per label of the name (a 1M-domain universe plants ~2,000
/// never-answer names: a scan of the list per query was a third of the
/// latency server's CPU, and per row an O(n²) `testbed check`).
#[derive(Debug, Clone, Default)]
pub struct ApexSet(foldhash::HashSet<String>);

impl ApexSet {
    /// Whether `name` is one of the apexes or below one ([`at_or_below`]).
    #[must_use]
    pub fn covers(&self, name: &str) -> bool {
        !self.0.is_empty() && self_and_parents(name).any(|n| self.0.contains(n))
    }
}

impl FromIterator<String> for ApexSet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        ApexSet(iter.into_iter().collect())
    }
}

impl TestbedManifest {
    /// The never-answer names as an [`ApexSet`]: `covers(name)` tells
    /// whether the testbed server never answers `name` (a planted
    /// never-answer name or a name below one).
    #[must_use]
    pub fn never_answer_set(&self) -> ApexSet {
        self.never_answer.iter().cloned().collect()
    }
}

/// Reads a universe's manifest.
pub fn read_manifest(dir: &Path) -> Result<TestbedManifest, Error> {
    read_json(&dir.join(MANIFEST))
}

/// Generates a universe (or evolves one) and writes it to `out_dir`.
///
/// # Errors
/// Files that cannot be read or written, or a previous universe that does not parse.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary, Error> {
    let fig = Figures::default();
    let world = SpfWorld::load(&opts.realworld);
    let (mut u, transitions, evolved_from_seed) = match &opts.evolve_from {
        Some(prev) => {
            let mut u: Universe = read_json(&prev.join(UNIVERSE))?;
            let from = u.seed;
            let t = evolve::evolve(&mut u, opts.seed, &fig, &world);
            (u, t, Some(from))
        }
        None => (fresh(opts, &fig, &world), Vec::new(), None),
    };
    for d in &mut u.domains {
        if d.truth.dmarc_source.as_deref() == Some("domain") && d.truth.dmarc_found_at.is_none() {
            d.truth.dmarc_found_at = Some(d.name.clone());
        }
    }
    u.domains.sort_by(|a, b| a.name.cmp(&b.name));
    u.policy_hosts.sort_by(|a, b| a.host.cmp(&b.host));
    let mut shared: std::collections::BTreeSet<Rr> = u.shared.iter().cloned().collect();
    shared.extend(world.rrs());
    u.shared = shared.into_iter().collect();
    write_universe(opts, &u, &world, &fig, transitions, evolved_from_seed)
}

fn fresh(opts: &GenerateOptions, fig: &Figures, world: &SpfWorld) -> Universe {
    let mut rng = Rng::new(opts.seed, 1);
    let mut hosts = Vec::new();
    let (mut domains, infos) = cases::plant(world, &mut hosts);
    let mut names = Names::default();
    for d in &domains {
        names.reserve(&d.name);
    }
    let n = opts.domains.saturating_sub(domains.len());
    for _ in 0..n {
        let (name, suffix) = names.draw(&mut rng, fig);
        domains.push(plan::ordinary(
            &mut rng, fig, world, &mut hosts, name, suffix,
        ));
    }
    Universe {
        seed: opts.seed,
        generation: 0,
        domains,
        shared: Vec::new(),
        policy_hosts: hosts,
        cases: infos,
    }
}

fn counts(u: &Universe) -> BTreeMap<String, u64> {
    let mut c: BTreeMap<String, u64> = BTreeMap::new();
    let mut inc = |k: String| *c.entry(k).or_default() += 1;
    for d in &u.domains {
        let t = &d.truth;
        inc(format!("domain_status.{}", t.domain_status));
        if d.existence != Existence::Normal {
            continue;
        }
        inc(format!("spf_status.{}", t.spf_status));
        inc(format!("dmarc_status.{}", t.dmarc_status));
        if let Some(p) = &t.dmarc_policy {
            inc(format!("dmarc_policy.{p}"));
        }
        if t.dmarc_pct.is_some_and(|p| p < 100) {
            inc("dmarc_pct_partial".into());
        }
        inc(format!("mta_sts_status.{}", t.mta_sts_status));
        if let Some(m) = &t.mta_sts_mode {
            inc(format!("mta_sts_mode.{m}"));
        }
        inc(format!("tlsrpt_status.{}", t.tlsrpt_status));
        inc(format!("bimi_status.{}", t.bimi_status));
        if t.mx_null {
            inc("mx_null".into());
        } else if t.mx_exchanges.is_empty() {
            inc("mx_none".into());
        } else {
            inc(format!(
                "mx_provider.{}",
                t.mx_provider.as_deref().unwrap_or("other")
            ));
        }
        inc(format!("suffix.{}", d.suffix));
    }
    c
}

fn write_universe(
    opts: &GenerateOptions,
    u: &Universe,
    world: &SpfWorld,
    fig: &Figures,
    transitions: Vec<Transition>,
    evolved_from_seed: Option<u64>,
) -> Result<GenerateSummary, Error> {
    let out = &opts.out_dir;
    fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    for sub in ["zones", "policies", "truth"] {
        let p = out.join(sub);
        if p.exists() {
            fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    let mut all = u.shared.clone();
    for d in &u.domains {
        if d.existence == Existence::Normal {
            all.extend(d.all_records());
        }
    }
    let zones = zones::render(&all, u.generation);
    for (zone, text) in &zones {
        write(
            &out.join("zones").join(format!("{zone}.zone")),
            text.as_bytes(),
        )?;
    }
    let mut serving: BTreeMap<String, Serving> = BTreeMap::new();
    for h in &u.policy_hosts {
        let p = out
            .join("policies")
            .join(&h.host)
            .join(".well-known")
            .join("mta-sts.txt");
        write(&p, h.body.as_bytes())?;
        serving.insert(h.host.clone(), h.serving.clone());
    }
    write(
        &out.join("policies").join(SERVING),
        &to_json(&out.join("policies").join(SERVING), &serving)?,
    )?;
    let mut list = String::new();
    for d in &u.domains {
        list.push_str(&d.name);
        list.push('\n');
    }
    write(&out.join("domains.txt"), list.as_bytes())?;
    truth::write(out, &u.domains)?;
    let pick = |e: Existence| -> Vec<String> {
        u.domains
            .iter()
            .filter(|d| d.existence == e)
            .map(|d| d.name.clone())
            .collect()
    };
    let manifest = TestbedManifest {
        format: 1,
        seed: u.seed,
        generation: u.generation,
        domains: u.domains.len(),
        counts: counts(u),
        zones: zones.keys().cloned().collect(),
        figures: fig.clone(),
        spf_real_source: world.real_source.clone(),
        spf_real_records: world.real.len(),
        cases: u.cases.clone(),
        never_answer: pick(Existence::NeverAnswers),
        nxdomain: pick(Existence::NxDomain),
        contract: truth::CONTRACT.iter().map(|s| s.to_string()).collect(),
        evolved_from_seed,
        transitions: transitions.clone(),
    };
    write(
        &out.join(MANIFEST),
        &to_json(&out.join(MANIFEST), &manifest)?,
    )?;
    write(&out.join(UNIVERSE), &to_json(&out.join(UNIVERSE), u)?)?;
    Ok(GenerateSummary {
        out_dir: out.clone(),
        domains: u.domains.len(),
        zones: manifest.zones,
        cases: u.cases.len(),
        policy_hosts: u.policy_hosts.len(),
        transitions: transitions.len(),
    })
}

fn to_json<T: Serialize>(path: &Path, v: &T) -> Result<Vec<u8>, Error> {
    let mut bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::json(path, e))?;
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apex_set_agrees_with_the_list_scan() {
        let apexes = ["never.gov", "a.b.example", "x.com", "deep.sub.never.net"];
        let set: ApexSet = apexes.iter().map(|s| (*s).to_string()).collect();
        let names = [
            "never.gov",
            "www.never.gov",
            "_dmarc.www.never.gov",
            "xnever.gov",
            "gov",
            "b.example",
            "a.b.example",
            "z.a.b.example",
            "aa.b.example",
            "x.com",
            "mx.x.com",
            "y.com",
            "com",
            "sub.never.net",
            "deep.sub.never.net",
            "1.deep.sub.never.net",
            "",
            ".",
            "never.gov.",
        ];
        for name in names {
            let scan = apexes.iter().any(|a| at_or_below(name, a));
            assert_eq!(set.covers(name), scan, "{name:?}");
        }
        assert!(!ApexSet::default().covers("never.gov"));
    }
}
