//! Sampling the ordinary domains of a universe from the published
//! distributions (figures in `Figures`, sources in the crate README).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::model::{DmarcPlan, DomainPlan, Existence, PolicyHost, Rr, Serving, Truth};
use super::spf::{PROVIDERS, Provider, SELF_HOSTED_WEIGHT, SpfWorld};
use crate::rng::Rng;

/// The distribution figures used (written to the manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Per TLD zone weight of new names (`jp` is split further below).
    pub tld_weights: Vec<(String, u32)>,
    /// Split of `jp` names: `co.jp`, `go.jp`, `ac.jp`, plain `jp`, IDN `jp`.
    pub jp_weights: Vec<(String, u32)>,
    /// Share of domains without mail (parked): no MX or null MX.
    pub parked: f64,
    /// Share of parked domains publishing a null MX (RFC 7505).
    pub null_mx_of_parked: f64,
    /// Share of parked domains publishing `v=spf1 -all`.
    pub spf_of_parked: f64,
    /// Share of MX domains with an SPF record.
    pub spf_of_mx: f64,
    /// Share of SPF records drawn from the real-world set.
    pub spf_real_share: f64,
    /// Share of domains with DMARC.
    pub dmarc: f64,
    /// p= mix none/quarantine/reject, in percent.
    pub dmarc_policy_mix: Vec<(String, u32)>,
    /// Share of DMARC records with pct < 100.
    pub dmarc_pct_partial: f64,
    /// Share of DMARC records with sp=.
    pub dmarc_sp: f64,
    /// Share of DMARC records with rua=.
    pub dmarc_rua: f64,
    /// Share of MX domains with MTA-STS.
    pub mta_sts_of_mx: f64,
    /// MTA-STS mode mix enforce/testing/none, in percent.
    pub mta_sts_modes: Vec<(String, u32)>,
    /// Share of MTA-STS domains with TLS-RPT.
    pub tlsrpt_of_mta_sts: f64,
    /// Share of other MX domains with TLS-RPT.
    pub tlsrpt_other: f64,
    /// Share of domains with an enforcing DMARC policy that publish BIMI.
    pub bimi_of_enforcing: f64,
    /// Share of input names that do not exist (NXDOMAIN).
    pub nxdomain: f64,
    /// Share of input names whose server never answers.
    pub never_answers: f64,
}

impl Default for Figures {
    fn default() -> Self {
        let s = |v: &[(&str, u32)]| v.iter().map(|(a, b)| (a.to_string(), *b)).collect();
        Figures {
            tld_weights: s(&[
                ("com", 50),
                ("org", 10),
                ("net", 10),
                ("gov", 5),
                ("jp", 25),
            ]),
            jp_weights: s(&[
                ("co.jp", 40),
                ("go.jp", 10),
                ("ac.jp", 10),
                ("jp", 30),
                ("idn.jp", 10),
            ]),
            parked: 0.15,
            null_mx_of_parked: 0.2,
            spf_of_parked: 0.4,
            spf_of_mx: 0.78,
            spf_real_share: 0.3,
            dmarc: 0.42,
            dmarc_policy_mix: s(&[("none", 60), ("quarantine", 20), ("reject", 20)]),
            dmarc_pct_partial: 0.04,
            dmarc_sp: 0.1,
            dmarc_rua: 0.85,
            mta_sts_of_mx: 0.02,
            mta_sts_modes: s(&[("enforce", 60), ("testing", 30), ("none", 10)]),
            tlsrpt_of_mta_sts: 0.8,
            tlsrpt_other: 0.01,
            bimi_of_enforcing: 0.02,
            nxdomain: 0.01,
            never_answers: 0.002,
        }
    }
}

const SYLLABLES: &[&str] = &[
    "ka", "ri", "to", "me", "su", "no", "ha", "ra", "ki", "mo", "ta", "ne", "lo", "va", "pe", "di",
    "zu", "bo", "fa", "gi", "ju", "le", "mi", "sa", "te", "ve", "xo", "yu", "ze", "an",
];
const KANA: &[char] = &[
    'あ', 'い', 'う', 'え', 'お', 'か', 'き', 'く', 'さ', 'し', 'た', 'な', 'は', 'ま', 'や', 'ら',
];

/// Draws unique names. Every label carries digits so no synthetic name can
/// collide with a public-suffix-list entry (those have no digits).
#[derive(Debug, Default)]
pub struct Names {
    used: BTreeSet<String>,
}

impl Names {
    /// Marks a name as taken.
    pub fn reserve(&mut self, name: &str) {
        self.used.insert(name.to_string());
    }

    /// Whether a name is taken.
    pub fn contains(&self, name: &str) -> bool {
        self.used.contains(name)
    }

    /// A fresh `(name, public suffix)` drawn by the figures.
    pub fn draw(&mut self, rng: &mut Rng, fig: &Figures) -> (String, String) {
        for _ in 0..1000 {
            let tld = rng.weighted(&fig.tld_weights).cloned().unwrap_or_default();
            let suffix = if tld == "jp" {
                rng.weighted(&fig.jp_weights).cloned().unwrap_or_default()
            } else {
                tld
            };
            let label = if suffix == "idn.jp" {
                let n = 2 + rng.index(3);
                let mut u: String = (0..n).map(|_| KANA[rng.index(KANA.len())]).collect();
                u.push_str(&format!("{}", rng.below(100)));
                match idna::domain_to_ascii(&u) {
                    Ok(a) => a,
                    Err(_) => continue,
                }
            } else {
                let n = 2 + rng.index(3);
                let mut s: String = (0..n)
                    .map(|_| SYLLABLES[rng.index(SYLLABLES.len())])
                    .collect();
                s.push_str(&format!("{}", rng.below(1000)));
                s
            };
            let suffix = if suffix == "idn.jp" {
                "jp".to_string()
            } else {
                suffix
            };
            let name = format!("{label}.{suffix}");
            if self.used.insert(name.clone()) {
                return (name, suffix);
            }
        }
        let n = self.used.len();
        let name = format!("fallback{n}.com");
        self.used.insert(name.clone());
        (name, "com".into())
    }
}

/// `(preference, exchange)` list of a provider for a domain.
pub fn provider_mx(p: &Provider, domain: &str) -> Vec<(u16, String)> {
    let label = domain.replace('.', "-");
    p.mx.iter()
        .map(|(pref, host)| (*pref, host.replace("{label}", &label)))
        .collect()
}

/// Exchanges in snapshot order: by preference, then name.
pub fn sorted_exchanges(mx: &[(u16, String)]) -> Vec<String> {
    let mut v = mx.to_vec();
    v.sort();
    v.into_iter().map(|(_, h)| h).collect()
}

/// A fresh truth for an existing domain with nothing published.
pub fn empty_truth() -> Truth {
    Truth {
        domain_status: "ok".into(),
        spf_status: "none".into(),
        dmarc_status: "none".into(),
        mta_sts_status: "none".into(),
        tlsrpt_status: "none".into(),
        bimi_status: "none".into(),
        ..Truth::default()
    }
}

/// Sets the SPF truth for `text` published once at `d.name`, from the model.
pub fn spf_truth(
    world: &SpfWorld,
    d: &mut DomainPlan,
    text: &str,
    local: &BTreeMap<String, String>,
) {
    let recs = d.records.clone();
    let has = |t: &'static str| {
        let recs = recs.clone();
        move |n: &str| recs.iter().any(|r| r.owner == n && r.rtype == t)
    };
    let (ha, hm) = (has("A"), has("MX"));
    let e = world.expect(&d.name, text, local, &ha, &hm);
    d.truth.spf_record = Some(text.to_string());
    d.truth.spf_status = e.status().into();
    d.truth.spf_all = e.all.clone();
    d.truth.spf_dns_lookups = Some(e.lookups as i32);
    d.truth.spf_void_lookups = Some(e.voids as i32);
}

/// Publishes an MX set and fills the MX truth.
pub fn set_mx(d: &mut DomainPlan, mx: &[(u16, String)], provider: Option<&str>) {
    for (pref, host) in mx {
        d.records
            .push(Rr::new(&d.name, "MX", format!("{pref} {host}.")));
    }
    d.truth.mx_exchanges = sorted_exchanges(mx);
    d.truth.mx_provider = provider.map(str::to_string);
}

/// Publishes an MTA-STS deployment (TXT, policy host A record, policy).
pub fn set_mta_sts(
    d: &mut DomainPlan,
    hosts: &mut Vec<PolicyHost>,
    mode: &str,
    patterns: &[String],
    serving: Serving,
) -> String {
    let id = format!("20260{}01T000000", 1 + (d.name.len() % 9));
    let host = format!("mta-sts.{}", d.name);
    d.records.push(Rr::txt(
        &format!("_mta-sts.{}", d.name),
        &format!("v=STSv1; id={id};"),
        255,
    ));
    d.records.push(Rr::new(&host, "A", "127.0.0.1"));
    let mut body = format!("version: STSv1\r\nmode: {mode}\r\n");
    for p in patterns {
        body.push_str(&format!("mx: {p}\r\n"));
    }
    body.push_str("max_age: 604800\r\n");
    hosts.push(PolicyHost {
        host,
        body,
        serving,
    });
    d.truth.mta_sts_id = Some(id.clone());
    id
}

/// MTA-STS `mx:` patterns that cover a provider's exchanges.
pub fn mx_patterns(exchanges: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in exchanges {
        let p = match h.split_once('.') {
            Some((_, rest)) if rest.matches('.').count() >= 2 => format!("*.{rest}"),
            _ => h.clone(),
        };
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Draws one DMARC policy.
pub fn draw_dmarc(rng: &mut Rng, fig: &Figures, domain: &str) -> DmarcPlan {
    let p = rng
        .weighted(&fig.dmarc_policy_mix)
        .cloned()
        .unwrap_or_else(|| "none".into());
    let sp = rng
        .chance(fig.dmarc_sp)
        .then(|| ["none", "quarantine", "reject"][rng.index(3)].to_string());
    let pct = rng
        .chance(fig.dmarc_pct_partial)
        .then(|| [10, 25, 50, 75][rng.index(4)]);
    let rua = if rng.chance(fig.dmarc_rua) {
        vec![format!("mailto:dmarc-reports@{domain}")]
    } else {
        Vec::new()
    };
    DmarcPlan { p, sp, pct, rua }
}

/// Builds one ordinary domain.
pub fn ordinary(
    rng: &mut Rng,
    fig: &Figures,
    world: &SpfWorld,
    hosts: &mut Vec<PolicyHost>,
    name: String,
    suffix: String,
) -> DomainPlan {
    let mut d = DomainPlan {
        registrable: name.clone(),
        suffix,
        case: None,
        existence: Existence::Normal,
        records: Vec::new(),
        dmarc: None,
        truth: empty_truth(),
        name,
    };
    if rng.chance(fig.nxdomain) {
        d.existence = Existence::NxDomain;
        d.truth = Truth {
            domain_status: "nxdomain".into(),
            ..empty_truth()
        };
        return d;
    }
    if rng.chance(fig.never_answers) {
        d.existence = Existence::NeverAnswers;
        d.truth = Truth {
            domain_status: "error".into(),
            ..empty_truth()
        };
        return d;
    }
    let n = d.name.clone();
    d.records
        .push(Rr::new(&n, "A", format!("192.0.2.{}", 1 + rng.below(254))));
    let parked = rng.chance(fig.parked);
    let mut spf = None;
    let mut exchanges = Vec::new();
    if parked {
        if rng.chance(fig.null_mx_of_parked) {
            d.records.push(Rr::new(&n, "MX", "0 ."));
            d.truth.mx_null = true;
        }
        if rng.chance(fig.spf_of_parked) {
            spf = Some("v=spf1 -all".to_string());
        }
    } else {
        let mut choices: Vec<(Option<&Provider>, u32)> =
            PROVIDERS.iter().map(|(p, w)| (Some(p), *w)).collect();
        choices.push((None, SELF_HOSTED_WEIGHT));
        let provider = rng.weighted(&choices).copied().flatten();
        match provider {
            Some(p) => {
                let mx = provider_mx(p, &n);
                let known = matches!(p.id, "google" | "microsoft");
                set_mx(&mut d, &mx, known.then_some(p.id));
                if rng.chance(fig.spf_of_mx) {
                    spf = Some(if rng.chance(fig.spf_real_share) {
                        world.real[rng.index(world.real.len())].clone()
                    } else {
                        let q = if rng.chance(0.7) { "-all" } else { "~all" };
                        let ip = if rng.chance(0.3) {
                            format!(" ip4:192.0.2.{}", rng.below(256))
                        } else {
                            String::new()
                        };
                        format!("v=spf1{ip} include:{} {q}", p.include)
                    });
                }
            }
            None => {
                let host = format!("mail.{n}");
                d.records.push(Rr::new(&host, "A", "192.0.2.25"));
                set_mx(&mut d, &[(10, host)], None);
                if rng.chance(fig.spf_of_mx) {
                    spf = Some(
                        [
                            "v=spf1 mx -all",
                            "v=spf1 mx a ~all",
                            "v=spf1 a mx ip4:192.0.2.25 -all",
                        ][rng.index(3)]
                        .to_string(),
                    );
                }
            }
        }
        exchanges = d.truth.mx_exchanges.clone();
    }
    if let Some(text) = spf {
        d.records.push(Rr::txt(&n, &text, 255));
        spf_truth(world, &mut d, &text, &BTreeMap::new());
    }
    if rng.chance(fig.dmarc) {
        let plan = draw_dmarc(rng, fig, &n);
        plan.apply_truth(&mut d.truth);
        d.dmarc = Some(plan);
    }
    if !exchanges.is_empty() && rng.chance(fig.mta_sts_of_mx) {
        let mode = rng
            .weighted(&fig.mta_sts_modes)
            .cloned()
            .unwrap_or_else(|| "testing".into());
        set_mta_sts(&mut d, hosts, &mode, &mx_patterns(&exchanges), Serving::Ok);
        d.truth.mta_sts_status = "valid".into();
        d.truth.mta_sts_mode = Some(mode);
        d.truth.mta_sts_mx_mismatch = Some(false);
        if rng.chance(fig.tlsrpt_of_mta_sts) {
            set_tlsrpt(&mut d);
        }
    } else if !exchanges.is_empty() && rng.chance(fig.tlsrpt_other) {
        set_tlsrpt(&mut d);
    }
    let enforcing = d
        .dmarc
        .as_ref()
        .is_some_and(|p| p.p != "none" && p.pct.is_none());
    if enforcing && rng.chance(fig.bimi_of_enforcing) {
        set_bimi(&mut d);
    }
    d
}

/// Publishes a valid TLS-RPT record (RFC 8460 §3).
pub fn set_tlsrpt(d: &mut DomainPlan) {
    let text = format!("v=TLSRPTv1; rua=mailto:tlsrpt@{}", d.name);
    d.records
        .push(Rr::txt(&format!("_smtp._tls.{}", d.name), &text, 255));
    d.truth.tlsrpt_status = "valid".into();
}

/// Publishes a valid BIMI record at the default selector.
pub fn set_bimi(d: &mut DomainPlan) {
    let logo = format!("https://{}/brand/logo.svg", d.name);
    let text = format!("v=BIMI1; l={logo}; a=https://{}/brand/vmc.pem", d.name);
    d.records
        .push(Rr::txt(&format!("default._bimi.{}", d.name), &text, 255));
    d.truth.bimi_status = "valid".into();
    d.truth.bimi_logo_url = Some(logo);
}
