//! The HTTPS server: policies verifiable with the generated CA, and each
//! planned failure behaviour.

use std::time::Duration;

use authcensus_testbed::{ServeOptions, serve};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::{N, case_domain, manifest, universe};

fn client(
    ca_pem: &std::path::Path,
    hosts: &[String],
    addr: std::net::SocketAddr,
) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca_pem).expect("pem") {
        roots.add(c.expect("cert")).expect("add");
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut b = reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(2));
    for h in hosts {
        b = b.resolve(h, addr);
    }
    b.build().expect("client")
}

#[test]
fn serves_policies_with_planned_behaviour() {
    let (t, _) = universe(11, N);
    let dir = t.path().join("u");
    let m = manifest(&dir);
    let tb = serve(&dir, ServeOptions::default()).expect("serve");
    let host = |case: &str| format!("mta-sts.{}", case_domain(&m, case));
    let cases = [
        "mta_sts_enforce",
        "mta_sts_404",
        "mta_sts_redirect",
        "mta_sts_content_type",
        "mta_sts_bad_cert",
        "mta_sts_timeout",
    ];
    let hosts: Vec<String> = cases.iter().map(|c| host(c)).collect();
    let c = client(&tb.ca_pem_path, &hosts, tb.https_addr);
    let port = tb.https_addr.port();
    let url = |case: &str| format!("https://{}:{port}/.well-known/mta-sts.txt", host(case));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let ok = c.get(url("mta_sts_enforce")).send().await.expect("fetch");
        assert_eq!(ok.status().as_u16(), 200);
        assert_eq!(ok.headers()["content-type"], "text/plain");
        let body = ok.text().await.expect("body");
        assert!(
            body.starts_with("version: STSv1\r\nmode: enforce\r\n"),
            "{body:?}"
        );

        let nf = c.get(url("mta_sts_404")).send().await.expect("fetch");
        assert_eq!(nf.status().as_u16(), 404);
        let rd = c.get(url("mta_sts_redirect")).send().await.expect("fetch");
        assert_eq!(rd.status().as_u16(), 301);
        assert!(rd.headers().contains_key("location"));
        let ct = c
            .get(url("mta_sts_content_type"))
            .send()
            .await
            .expect("fetch");
        assert_eq!(ct.headers()["content-type"], "text/html");

        let bad = c.get(url("mta_sts_bad_cert")).send().await;
        assert!(bad.is_err(), "wrong-host certificate must not verify");
        let slow = c.get(url("mta_sts_timeout")).send().await;
        assert!(slow.is_err_and(|e| e.is_timeout()), "never answers");
    });
    tb.shutdown();
}

/// Fetches a policy for real and maps the outcome to the records crate's
/// `PolicyFetch`, as a crawler would.
async fn real_fetch(c: &reqwest::Client, url: &str) -> authcensus_records::mta_sts::PolicyFetch {
    use authcensus_records::mta_sts::{HttpResponse, PolicyFetch, TlsFailure};
    match c.get(url).send().await {
        Ok(resp) => {
            let header = |h: &str| {
                resp.headers()
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let (status, content_type, location) = (
                resp.status().as_u16(),
                header("content-type"),
                header("location"),
            );
            let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            PolicyFetch::Response(HttpResponse {
                status,
                content_type,
                location,
                body,
                truncated: false,
            })
        }
        Err(e) if e.is_timeout() => PolicyFetch::Timeout,
        Err(e) => {
            let mut chain = format!("{e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                chain.push_str(&format!(" / {s}"));
                src = s.source();
            }
            if chain.contains("certificate") || chain.contains("NotValidForName") {
                PolicyFetch::Tls(TlsFailure::InvalidCertificate)
            } else {
                panic!("unexpected fetch error for {url}: {chain}")
            }
        }
    }
}

#[test]
fn every_policy_host_classifies_as_the_truth_says() {
    use authcensus_records::dns::{Lookup, TxtRecord};
    let (t, _) = universe(12, N);
    let dir = t.path().join("u");
    let rows = super::truth(&dir);
    let serving = super::records::serving(&dir);
    let tb = serve(&dir, ServeOptions::default()).expect("serve");
    let hosts: Vec<String> = serving.keys().cloned().collect();
    assert!(hosts.len() > 15, "{} policy hosts", hosts.len());
    let c = client(&tb.ca_pem_path, &hosts, tb.https_addr);
    let port = tb.https_addr.port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let mut checked = 0;
    for h in &hosts {
        let domain = h.strip_prefix("mta-sts.").expect("host");
        let r = super::row(&rows, domain);
        let url = format!("https://{h}:{port}/.well-known/mta-sts.txt");
        let fetch = rt.block_on(real_fetch(&c, &url));
        let zone = std::fs::read_to_string(
            dir.join("zones")
                .join(format!("{}.zone", domain.rsplit('.').next().expect("tld"))),
        )
        .expect("zone");
        let owner = format!("_mta-sts.{domain}. ");
        let txt: Vec<TxtRecord> = zone
            .lines()
            .filter(|l| l.starts_with(&owner))
            .filter_map(|l| l.split_once(" IN TXT "))
            .map(|(_, v)| TxtRecord::single(v.trim_matches('"').to_string()))
            .collect();
        let a = authcensus_records::mta_sts::classify(&Lookup::Records(txt), Some(&fetch), 65_536);
        assert_eq!(a.status.label(), r.mta_sts_status, "{h}");
        assert_eq!(
            a.fetch_failure.map(|f| f.code().to_string()),
            r.mta_sts_fetch_error.as_deref().map(str::to_string),
            "{h}"
        );
        assert_eq!(
            a.policy.map(|p| p.mode.to_string()),
            r.mta_sts_mode.as_deref().map(str::to_string),
            "{h}"
        );
        checked += 1;
    }
    assert_eq!(checked, hosts.len());
    tb.shutdown();
}
