//! The planted hard cases: one named domain each, recorded in the manifest.
//! Each case's truth is set from what the case was built to be, not from a
//! parser.

use std::collections::BTreeMap;

use super::model::{DmarcPlan, DomainPlan, Existence, PolicyHost, Rr, Serving, Truth};
use super::plan::{
    empty_truth, mx_patterns, provider_mx, set_bimi, set_mta_sts, set_mx, set_tlsrpt, spf_truth,
};
use super::spf::{PROVIDERS, SpfWorld};

/// A planted case: its domain, and the truth columns whose value is a
/// convention of the crawl rather than a fact of the data (not asserted).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CaseInfo {
    /// Case name (stable).
    pub case: String,
    /// The input domain that plants it.
    pub domain: String,
    /// What it exercises.
    pub description: String,
    /// Columns the truth does not assert for this domain.
    pub unasserted: Vec<String>,
}

struct Ctx<'a> {
    world: &'a SpfWorld,
    hosts: &'a mut Vec<PolicyHost>,
    out: Vec<DomainPlan>,
    infos: Vec<CaseInfo>,
}

fn base(name: &str, suffix: &str, registrable: &str, case: &str) -> DomainPlan {
    let mut d = DomainPlan {
        name: name.to_string(),
        registrable: registrable.to_string(),
        suffix: suffix.to_string(),
        case: Some(case.to_string()),
        existence: Existence::Normal,
        records: vec![Rr::new(name, "A", "192.0.2.80")],
        dmarc: None,
        truth: empty_truth(),
    };
    let google = &PROVIDERS[0].0;
    let mx = provider_mx(google, name);
    set_mx(&mut d, &mx, Some("google"));
    d
}

impl Ctx<'_> {
    fn push(&mut self, d: DomainPlan, description: &str, unasserted: &[&str]) {
        self.infos.push(CaseInfo {
            case: d.case.clone().unwrap_or_default(),
            domain: d.name.clone(),
            description: description.to_string(),
            unasserted: unasserted.iter().map(|s| s.to_string()).collect(),
        });
        self.out.push(d);
    }

    /// A domain publishing `spf` at its apex plus `helpers` (SPF records
    /// under the domain), with the truth from the SPF model.
    fn spf_case(&mut self, case: &str, spf: &str, helpers: &[(String, String)], desc: &str) {
        let name = format!("tb-{}.com", case.replace('_', "-"));
        let mut d = base(&name, "com", &name, case);
        let mut local = BTreeMap::new();
        for (owner, text) in helpers {
            let owner = owner.replace("{d}", &name);
            let text = text.replace("{d}", &name);
            d.records.push(Rr::txt(&owner, &text, 255));
            local.insert(owner, text);
        }
        let spf = spf.replace("{d}", &name);
        d.records.push(Rr::txt(&name, &spf, 255));
        spf_truth(self.world, &mut d, &spf, &local);
        self.push(d, desc, &[]);
    }
}

fn chain(n: usize) -> (String, Vec<(String, String)>) {
    let mut helpers = Vec::new();
    for i in 1..=n {
        let text = if i < n {
            format!("v=spf1 include:l{}._spf.{{d}} -all", i + 1)
        } else {
            "v=spf1 ip4:192.0.2.10 -all".to_string()
        };
        helpers.push((format!("l{i}._spf.{{d}}"), text));
    }
    ("v=spf1 include:l1._spf.{d} -all".to_string(), helpers)
}

/// Builds every hard case; returns the domains and their manifest entries.
pub fn plant(world: &SpfWorld, hosts: &mut Vec<PolicyHost>) -> (Vec<DomainPlan>, Vec<CaseInfo>) {
    let mut c = Ctx {
        world,
        hosts,
        out: Vec::new(),
        infos: Vec::new(),
    };
    // --- SPF ------------------------------------------------------------
    let (root, helpers) = chain(10);
    c.spf_case(
        "spf_lookups_10",
        &root,
        &helpers,
        "include chain of exactly 10 lookups (RFC 7208 §4.6.4 limit, valid)",
    );
    let (root, helpers) = chain(11);
    c.spf_case(
        "spf_lookups_11",
        &root,
        &helpers,
        "include chain of 11 lookups: permerror",
    );
    c.spf_case(
        "spf_void_2",
        "v=spf1 a:void1.{d} a:void2.{d} ip4:192.0.2.1 -all",
        &[],
        "two void lookups (limit, valid)",
    );
    c.spf_case(
        "spf_void_3",
        "v=spf1 a:void1.{d} a:void2.{d} mx:void3.{d} -all",
        &[],
        "three void lookups: permerror",
    );
    c.spf_case(
        "spf_include_loop",
        "v=spf1 include:loop-a._spf.{d} -all",
        &[
            (
                "loop-a._spf.{d}".into(),
                "v=spf1 include:loop-b._spf.{d} -all".into(),
            ),
            (
                "loop-b._spf.{d}".into(),
                "v=spf1 include:loop-a._spf.{d} -all".into(),
            ),
        ],
        "include loop a -> b -> a: permerror",
    );
    c.spf_case(
        "spf_missing_include",
        "v=spf1 include:absent._spf.{d} -all",
        &[],
        "include target without SPF record: permerror",
    );
    c.spf_case(
        "spf_redirect",
        "v=spf1 redirect=_spf.google.com",
        &[],
        "redirect= to a provider; effective all from the target",
    );
    c.spf_case("spf_provider_mix", "v=spf1 include:spf.protection.outlook.com include:_spf.google.com include:spf.hostco-mail.net mx a ~all", &[], "three providers plus a and mx: 10 lookups");
    c.spf_case(
        "spf_pass_all",
        "v=spf1 +all",
        &[],
        "+all: valid record that authorises everyone",
    );
    c.spf_case(
        "spf_redirect_loop",
        "v=spf1 redirect=r1._spf.{d}",
        &[("r1._spf.{d}".into(), "v=spf1 redirect=r1._spf.{d}".into())],
        "redirect= loop: permerror",
    );
    // Multiple SPF records.
    {
        let name = "tb-spf-multiple.com";
        let mut d = base(name, "com", name, "spf_multiple_records");
        d.records
            .push(Rr::txt(name, "v=spf1 include:_spf.google.com ~all", 255));
        d.records.push(Rr::txt(name, "v=spf1 -all", 255));
        d.truth.spf_record = Some("v=spf1 include:_spf.google.com ~all".into());
        d.truth.spf_status = "permerror".into();
        c.push(
            d,
            "two SPF records at one name (RFC 7208 §4.5): permerror",
            &[
                "spf_record",
                "spf_all",
                "spf_dns_lookups",
                "spf_void_lookups",
            ],
        );
    }
    // Syntax error.
    {
        let name = "tb-spf-malformed.com";
        let mut d = base(name, "com", name, "spf_malformed");
        let text = "v=spf1 ip4:192.0.2.300 include:_spf.google.com -all";
        d.records.push(Rr::txt(name, text, 255));
        d.truth.spf_record = Some(text.into());
        d.truth.spf_status = "permerror".into();
        c.push(
            d,
            "invalid ip4 address (RFC 7208 §4.6): permerror",
            &["spf_all", "spf_dns_lookups", "spf_void_lookups"],
        );
    }
    // Split into several strings.
    {
        let name = "tb-spf-split.com";
        let mut d = base(name, "com", name, "spf_split_strings");
        let text = "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 include:_spf.google.com ~all";
        d.records.push(Rr::txt(name, text, 20));
        spf_truth(world, &mut d, text, &BTreeMap::new());
        c.push(
            d,
            "SPF TXT split into 20-byte strings, joined without separator (RFC 7208 §3.3)",
            &[],
        );
    }
    // Over 1232 bytes: TC over UDP, then TCP.
    {
        let name = "tb-spf-long-tcp.com";
        let mut d = base(name, "com", name, "spf_long_txt_tcp");
        let mut text = String::from("v=spf1");
        for i in 0..70u32 {
            text.push_str(&format!(" ip4:198.51.{}.{}/32", i / 4, (i % 4) * 64));
        }
        text.push_str(" include:_spf.google.com -all");
        d.records.push(Rr::txt(name, &text, 255));
        spf_truth(world, &mut d, &text, &BTreeMap::new());
        c.push(
            d,
            "SPF TXT over 1232 bytes: truncated over UDP, complete over TCP",
            &[],
        );
    }
    // --- DMARC ----------------------------------------------------------
    {
        let name = "tb-dmarc-multiple.com";
        let mut d = base(name, "com", name, "dmarc_multiple_records");
        let o = format!("_dmarc.{name}");
        d.records.push(Rr::txt(&o, "v=DMARC1; p=reject", 255));
        d.records.push(Rr::txt(&o, "v=DMARC1; p=none", 255));
        d.truth.dmarc_status = "invalid".into();
        c.push(
            d,
            "two DMARC records (RFC 7489 §6.6.3 step 5): invalid",
            &["dmarc_record", "dmarc_source", "dmarc_found_at"],
        );
    }
    {
        let name = "tb-dmarc-malformed.com";
        let mut d = base(name, "com", name, "dmarc_malformed");
        let text = "v=DMARC1; p=reject; p=none";
        d.records
            .push(Rr::txt(&format!("_dmarc.{name}"), text, 255));
        d.truth.dmarc_status = "invalid".into();
        d.truth.dmarc_record = Some(text.into());
        c.push(
            d,
            "duplicate p= tag: invalid",
            &["dmarc_source", "dmarc_found_at"],
        );
    }
    {
        let name = "tb-dmarc-cname.com";
        let mut d = base(name, "com", name, "dmarc_cname");
        let target = format!("{}._dmarc.dmarc-service.net", name.replace('.', "-"));
        d.records.push(Rr::new(
            &format!("_dmarc.{name}"),
            "CNAME",
            format!("{target}."),
        ));
        let plan = DmarcPlan {
            p: "reject".into(),
            sp: None,
            pct: None,
            rua: vec!["mailto:agg@dmarc-service.net".into()],
        };
        d.records.push(Rr::txt(&target, &plan.text(), 255));
        plan.apply_truth(&mut d.truth);
        d.truth.dmarc_found_at = Some(name.into());
        c.push(d, "_dmarc is a CNAME to a reporting service", &[]);
    }
    {
        let name = "tb-dmarc-split.com";
        let mut d = base(name, "com", name, "dmarc_split_strings");
        let plan = DmarcPlan {
            p: "quarantine".into(),
            sp: Some("reject".into()),
            pct: Some(25),
            rua: vec![
                format!("mailto:dmarc@{name}"),
                "mailto:agg@dmarc-service.net".into(),
            ],
        };
        d.records
            .push(Rr::txt(&format!("_dmarc.{name}"), &plan.text(), 16));
        plan.apply_truth(&mut d.truth);
        d.truth.dmarc_found_at = Some(name.into());
        c.push(
            d,
            "DMARC TXT split into 16-byte strings, pct=25, two rua URIs",
            &[],
        );
    }
    {
        let org = "tb-dmarc-org.com";
        let mut o = base(org, "com", org, "dmarc_org_domain");
        let plan = DmarcPlan {
            p: "quarantine".into(),
            sp: Some("reject".into()),
            pct: None,
            rua: vec![format!("mailto:dmarc@{org}")],
        };
        plan.apply_truth(&mut o.truth);
        o.truth.dmarc_found_at = Some(org.into());
        o.dmarc = Some(plan.clone());
        c.push(o, "organisational domain with p=quarantine sp=reject", &[]);
        let name = format!("mail.{org}");
        let mut d = base(&name, "com", org, "dmarc_org_fallback");
        d.truth.dmarc_record = Some(plan.text());
        d.truth.dmarc_status = "valid".into();
        d.truth.dmarc_source = Some("organizational".into());
        d.truth.dmarc_found_at = Some(org.into());
        d.truth.dmarc_policy = Some("quarantine".into());
        d.truth.dmarc_subdomain_policy = Some("reject".into());
        d.truth.dmarc_pct = Some(100);
        d.truth.dmarc_effective_policy = Some("reject".into());
        d.truth.dmarc_rua = plan.rua.clone();
        c.push(
            d,
            "subdomain without _dmarc inherits the organisational record (sp=reject applies)",
            &[],
        );
    }
    // --- MX -------------------------------------------------------------
    {
        let name = "tb-null-mx.org";
        let mut d = base(name, "org", name, "mx_null");
        d.records.retain(|r| r.rtype != "MX");
        d.truth.mx_exchanges.clear();
        d.truth.mx_provider = None;
        d.records.push(Rr::new(name, "MX", "0 ."));
        d.truth.mx_null = true;
        d.records.push(Rr::txt(name, "v=spf1 -all", 255));
        spf_truth(world, &mut d, "v=spf1 -all", &BTreeMap::new());
        let plan = DmarcPlan {
            p: "reject".into(),
            sp: None,
            pct: None,
            rua: Vec::new(),
        };
        plan.apply_truth(&mut d.truth);
        d.dmarc = Some(plan);
        c.push(
            d,
            "parked domain: null MX (RFC 7505), v=spf1 -all, p=reject",
            &[],
        );
    }
    {
        let name = "tb-mx-invalid-null.org";
        let mut d = base(name, "org", name, "mx_invalid_null");
        d.records.push(Rr::new(name, "MX", "0 ."));
        c.push(
            d,
            "null MX mixed with other MX records (RFC 7505 §3: invalid)",
            &["mx_exchanges"],
        );
    }
    // --- MTA-STS --------------------------------------------------------
    let sts: &[(&str, &str, Serving, &str, Option<&str>)] = &[
        ("mta_sts_enforce", "enforce", Serving::Ok, "valid", None),
        (
            "mta_sts_404",
            "enforce",
            Serving::Status { code: 404 },
            "policy_fetch_failed",
            Some("http_status"),
        ),
        (
            "mta_sts_redirect",
            "enforce",
            Serving::Redirect {
                location: "https://www.example.net/mta-sts.txt".into(),
            },
            "policy_fetch_failed",
            Some("redirect"),
        ),
        (
            "mta_sts_content_type",
            "enforce",
            Serving::ContentType {
                value: "text/html".into(),
            },
            "policy_fetch_failed",
            Some("content_type"),
        ),
        (
            "mta_sts_bad_cert",
            "enforce",
            Serving::BadCertificate,
            "policy_fetch_failed",
            Some("tls_invalid_certificate"),
        ),
        (
            "mta_sts_timeout",
            "enforce",
            Serving::Timeout,
            "policy_fetch_failed",
            Some("timeout"),
        ),
        (
            "mta_sts_invalid_policy",
            "strict",
            Serving::Ok,
            "invalid_policy",
            None,
        ),
        ("mta_sts_mx_mismatch", "enforce", Serving::Ok, "valid", None),
    ];
    for (case, mode, serving, status, err) in sts {
        let name = format!("tb-{}.net", case.replace('_', "-"));
        let mut d = base(&name, "net", &name, case);
        let patterns = if *case == "mta_sts_mx_mismatch" {
            vec!["mx.other-provider.net".to_string()]
        } else {
            mx_patterns(&d.truth.mx_exchanges)
        };
        set_mta_sts(&mut d, c.hosts, mode, &patterns, serving.clone());
        d.truth.mta_sts_status = (*status).into();
        d.truth.mta_sts_fetch_error = err.map(str::to_string);
        if *status == "valid" {
            d.truth.mta_sts_mode = Some((*mode).into());
            d.truth.mta_sts_mx_mismatch = Some(*case == "mta_sts_mx_mismatch");
        }
        set_tlsrpt(&mut d);
        c.push(
            d,
            &format!("MTA-STS policy host behaviour {serving:?}: {status}"),
            &[],
        );
    }
    {
        let name = "tb-mta-sts-invalid-txt.net";
        let mut d = base(name, "net", name, "mta_sts_invalid_txt");
        d.records.push(Rr::txt(
            &format!("_mta-sts.{name}"),
            "v=STSv1; id=not valid!;",
            255,
        ));
        d.truth.mta_sts_status = "invalid_txt".into();
        c.push(
            d,
            "_mta-sts TXT with an invalid id (RFC 8461 §3.1)",
            &["mta_sts_id"],
        );
    }
    // --- TLS-RPT and BIMI -----------------------------------------------
    {
        let name = "tb-tlsrpt-malformed.org";
        let mut d = base(name, "org", name, "tlsrpt_malformed");
        d.records
            .push(Rr::txt(&format!("_smtp._tls.{name}"), "v=TLSRPTv1;", 255));
        d.truth.tlsrpt_status = "invalid".into();
        c.push(d, "TLS-RPT record without rua (RFC 8460 §3)", &[]);
    }
    for (case, kind) in [
        ("bimi_valid", 0),
        ("bimi_declined", 1),
        ("bimi_malformed", 2),
    ] {
        let name = format!("tb-{}.org", case.replace('_', "-"));
        let mut d = base(&name, "org", &name, case);
        let plan = DmarcPlan {
            p: "reject".into(),
            sp: None,
            pct: None,
            rua: vec![format!("mailto:d@{name}")],
        };
        plan.apply_truth(&mut d.truth);
        d.dmarc = Some(plan);
        let owner = format!("default._bimi.{name}");
        match kind {
            0 => set_bimi(&mut d),
            1 => {
                d.records.push(Rr::txt(&owner, "v=BIMI1; l=; a=;", 255));
                d.truth.bimi_status = "declined".into();
            }
            _ => {
                d.records.push(Rr::txt(
                    &owner,
                    &format!("v=BIMI1; l=https://{name}/a.svg"),
                    255,
                ));
                d.records.push(Rr::txt(
                    &owner,
                    &format!("v=BIMI1; l=https://{name}/b.svg"),
                    255,
                ));
                d.truth.bimi_status = "invalid".into();
            }
        }
        c.push(d, &format!("BIMI {case}"), &[]);
    }
    // --- names and reachability -----------------------------------------
    {
        let name = "tb-never-answers.gov";
        let mut d = base(name, "gov", name, "never_answers");
        d.existence = Existence::NeverAnswers;
        d.records.clear();
        d.truth = Truth {
            domain_status: "error".into(),
            ..empty_truth()
        };
        c.push(
            d,
            "the DNS server drops every query at or below this name",
            &[],
        );
    }
    {
        let name = "tb-does-not-exist.com";
        let mut d = base(name, "com", name, "nxdomain");
        d.existence = Existence::NxDomain;
        d.records.clear();
        d.truth = Truth {
            domain_status: "nxdomain".into(),
            ..empty_truth()
        };
        c.push(d, "input name that does not exist", &[]);
    }
    let idn = idna::domain_to_ascii("tb01てすと.jp").unwrap_or_else(|_| "xn--tb01-jp.jp".into());
    for (case, name, suffix) in [
        ("co_jp", "tb-shop01.co.jp", "co.jp"),
        ("idn_jp", idn.as_str(), "jp"),
    ] {
        let mut d = base(name, suffix, name, case);
        let text = "v=spf1 include:spf.protection.outlook.com -all";
        d.records.push(Rr::txt(name, text, 255));
        spf_truth(world, &mut d, text, &BTreeMap::new());
        let plan = DmarcPlan {
            p: "none".into(),
            sp: None,
            pct: None,
            rua: vec![format!("mailto:d@{name}")],
        };
        plan.apply_truth(&mut d.truth);
        d.dmarc = Some(plan);
        c.push(d, &format!("name under {suffix}"), &[]);
    }
    (c.out, c.infos)
}
