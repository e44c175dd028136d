//! Cross-check: the records crate's analysers, run over the served zone data
//! (loaded into its `MemoryResolver`), agree with the generator's truth on
//! every contract column they compute, for every domain. The truth itself is
//! never derived from these parsers; this test checks that both speak the
//! same vocabulary and that the generator's model matches the analysers.

use std::collections::HashMap;

use authcensus_records::dns::{Lookup, MemoryResolver, Resolver, TxtRecord};
use authcensus_records::mta_sts::{HttpResponse, PolicyFetch, TlsFailure};
use authcensus_records::spf::{Limits, Qualifier, analyze};
use authcensus_records::{bimi, dmarc, mta_sts, tlsrpt};
use authcensus_testbed::generate::model::Serving;
use authcensus_testbed::serve::zonefile::load_dir;
use futures::executor::block_on;
use hickory_proto::rr::RData;

use super::{N, manifest, truth, universe};

fn resolver(dir: &std::path::Path) -> MemoryResolver {
    let data = load_dir(&dir.join("zones")).expect("zones");
    let mut r = MemoryResolver::new();
    for n in &data.names {
        r.add_name(n);
    }
    for (owner, sets) in &data.rrsets {
        for recs in sets.values() {
            for rec in recs {
                match &rec.data {
                    RData::TXT(t) => {
                        r.add_txt(
                            owner,
                            TxtRecord::from_strings(t.txt_data.iter().map(|s| s.to_vec())),
                        );
                    }
                    RData::A(a) => {
                        r.add_a(owner, a.0);
                    }
                    RData::AAAA(a) => {
                        r.add_aaaa(owner, a.0);
                    }
                    RData::MX(m) => {
                        r.add_mx(owner, m.preference, &m.exchange.to_ascii());
                    }
                    RData::CNAME(c) => {
                        r.add_cname(owner, &c.0.to_ascii());
                    }
                    RData::NS(n) => {
                        r.add_ns(owner, &n.0.to_ascii());
                    }
                    _ => {}
                }
            }
        }
    }
    r
}

fn all_label(q: Qualifier) -> &'static str {
    match q {
        Qualifier::Pass => "+all",
        Qualifier::Fail => "-all",
        Qualifier::SoftFail => "~all",
        Qualifier::Neutral => "?all",
    }
}

fn fetch(dir: &std::path::Path, host: &str, serving: &Serving) -> PolicyFetch {
    let body = std::fs::read(
        dir.join("policies")
            .join(host)
            .join(".well-known/mta-sts.txt"),
    )
    .unwrap_or_default();
    let resp = |status, ct: &str, location: Option<String>| {
        PolicyFetch::Response(HttpResponse {
            status,
            content_type: Some(ct.to_string()),
            location,
            body: body.clone(),
            truncated: false,
        })
    };
    match serving {
        Serving::Ok => resp(200, "text/plain", None),
        Serving::Status { code } => resp(*code, "text/plain", None),
        Serving::ContentType { value } => resp(200, value, None),
        Serving::Redirect { location } => resp(301, "text/plain", Some(location.clone())),
        Serving::BadCertificate => PolicyFetch::Tls(TlsFailure::InvalidCertificate),
        Serving::Timeout => PolicyFetch::Timeout,
    }
}

/// Compares one truth row with what the records crate's analysers find
/// through `res`; returns the mismatches.
pub fn compare<R: Resolver>(
    res: &R,
    dir: &std::path::Path,
    serving: &HashMap<String, Serving>,
    r: &authcensus_store::SnapshotRow,
    unasserted: &[String],
) -> Vec<String> {
    let mut mismatches = Vec::new();
    let skip = |col: &str| unasserted.iter().any(|c| c == col);
    let mut check = |col: &str, want: String, got: String| {
        if !skip(col) && want != got {
            mismatches.push(format!("{} {col}: truth {want} analysed {got}", r.domain));
        }
    };
    let spf = block_on(analyze(res, &r.domain, &Limits::default()));
    check(
        "spf_status",
        r.spf_status.to_string(),
        spf.status.label().into(),
    );
    if spf.status.label() != "none" {
        check(
            "spf_dns_lookups",
            format!("{:?}", r.spf_dns_lookups),
            format!("{:?}", Some(spf.dns_lookups as i32)),
        );
        check(
            "spf_void_lookups",
            format!("{:?}", r.spf_void_lookups),
            format!("{:?}", Some(spf.void_lookups as i32)),
        );
        check(
            "spf_all",
            format!("{:?}", r.spf_all),
            format!("{:?}", spf.effective_all.map(|q| all_label(q).to_string())),
        );
        check(
            "spf_record",
            format!("{:?}", r.spf_record),
            format!("{:?}", spf.record_text),
        );
    }
    let d = block_on(dmarc::discover_rfc9989(res, &r.domain, true));
    check(
        "dmarc_status",
        r.dmarc_status.to_string(),
        d.status.label().into(),
    );
    if d.status.label() == "valid" {
        check(
            "dmarc_source",
            format!("{:?}", r.dmarc_source),
            format!("{:?}", d.source.map(|s| s.label().to_string())),
        );
        check(
            "dmarc_record",
            format!("{:?}", r.dmarc_record),
            format!("{:?}", d.record_text),
        );
        check(
            "dmarc_effective_policy",
            format!("{:?}", r.dmarc_effective_policy),
            format!("{:?}", d.effective_policy.map(|p| p.label().to_string())),
        );
        let rec = d.parsed.as_ref().and_then(|p| p.record.as_ref());
        check(
            "dmarc_policy",
            format!("{:?}", r.dmarc_policy),
            format!("{:?}", rec.and_then(|x| x.p).map(|p| p.label().to_string())),
        );
        check(
            "dmarc_subdomain_policy",
            format!("{:?}", r.dmarc_subdomain_policy),
            format!(
                "{:?}",
                rec.and_then(|x| x.sp).map(|p| p.label().to_string())
            ),
        );
        check(
            "dmarc_pct",
            format!("{:?}", r.dmarc_pct),
            format!("{:?}", Some(rec.and_then(|x| x.pct).map_or(100, i32::from))),
        );
        let rua: Vec<String> = rec
            .and_then(|x| x.rua.as_ref())
            .map(|v| v.iter().map(|u| u.uri.clone()).collect())
            .unwrap_or_default();
        check(
            "dmarc_rua",
            format!("{:?}", r.dmarc_rua),
            format!("{rua:?}"),
        );
    }
    let mx = block_on(res.mx(&r.domain));
    let mut got_mx: Vec<(u16, String)> = match mx {
        Lookup::Records(v) => v.into_iter().map(|m| (m.preference, m.exchange)).collect(),
        _ => Vec::new(),
    };
    got_mx.sort();
    let null = got_mx.len() == 1 && got_mx[0].1.trim_end_matches('.').is_empty();
    check("mx_null", r.mx_null.to_string(), null.to_string());
    let exchanges: Vec<String> = if null {
        Vec::new()
    } else {
        got_mx.into_iter().map(|(_, h)| h).collect()
    };
    check(
        "mx_exchanges",
        format!("{:?}", r.mx_exchanges),
        format!("{exchanges:?}"),
    );
    let tls = tlsrpt::classify(&block_on(res.txt(&format!("_smtp._tls.{}", r.domain))));
    check(
        "tlsrpt_status",
        r.tlsrpt_status.to_string(),
        tls.status.label().into(),
    );
    let b = bimi::classify_txt(&block_on(res.txt(&format!("default._bimi.{}", r.domain))));
    check(
        "bimi_status",
        r.bimi_status.to_string(),
        b.status.label().into(),
    );
    check(
        "bimi_logo_url",
        format!("{:?}", r.bimi_logo_url),
        format!("{:?}", b.logo_url),
    );
    let host = format!("mta-sts.{}", r.domain);
    let txt: Lookup<TxtRecord> = block_on(res.txt(&format!("_mta-sts.{}", r.domain)));
    let f = serving.get(&host).map(|s| fetch(dir, &host, s));
    let sts = mta_sts::classify(&txt, f.as_ref(), 65_536);
    check(
        "mta_sts_status",
        r.mta_sts_status.to_string(),
        sts.status.label().into(),
    );
    if let Some(p) = &sts.policy {
        check(
            "mta_sts_mode",
            format!("{:?}", r.mta_sts_mode),
            format!("{:?}", Some(p.mode.to_string())),
        );
        let mismatch = r.mx_exchanges.iter().any(|h| {
            !p.mx.iter().any(|pat| {
                let s = if pat.wildcard {
                    format!("*.{}", pat.domain)
                } else {
                    pat.domain.clone()
                };
                mta_sts::mx_matches(&s, h)
            })
        });
        check(
            "mta_sts_mx_mismatch",
            format!("{:?}", r.mta_sts_mx_mismatch),
            format!("{:?}", Some(mismatch)),
        );
    }
    if let Some(code) = sts.fetch_failure.map(|x| x.code()) {
        check(
            "mta_sts_fetch_error",
            format!("{:?}", r.mta_sts_fetch_error),
            format!("{:?}", Some(code)),
        );
    }
    mismatches
}

/// The policy serving table of a universe.
pub fn serving(dir: &std::path::Path) -> HashMap<String, Serving> {
    serde_json::from_slice(&std::fs::read(dir.join("policies/serving.json")).expect("serving"))
        .expect("json")
}

#[test]
fn records_crate_agrees_with_the_truth() {
    let (t, _) = universe(13, N);
    let dir = t.path().join("u");
    let m = manifest(&dir);
    let rows = truth(&dir);
    let res = resolver(&dir);
    let serving = serving(&dir);
    let unasserted: HashMap<&str, &Vec<String>> = m
        .cases
        .iter()
        .map(|c| (c.domain.as_str(), &c.unasserted))
        .collect();
    let none = Vec::new();
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for r in rows.iter().filter(|r| r.domain_status == "ok") {
        let u = unasserted.get(r.domain.as_str()).copied().unwrap_or(&none);
        mismatches.extend(compare(&res, &dir, &serving, r, u));
        checked += 1;
    }
    assert!(checked > N * 9 / 10, "{checked} rows checked");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
