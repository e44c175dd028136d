//! The testbed CA and the leaf certificates of the policy hosts.
//!
//! A fresh CA is generated at every start and written to `ca.pem` in the
//! universe directory (for the crawler's `--ca-file`). Policy hosts get leaf
//! certificates with up to [`SANS_PER_CERT`] names each, chosen by SNI; the
//! bad-certificate hosts (and unknown names) get a CA-signed certificate for
//! [`WRONG_HOST`], which fails name verification (RFC 8461 §3.3 requires a
//! certificate valid for the policy host).

use std::collections::HashMap;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio_rustls::rustls::crypto::ring::sign::any_supported_type;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

use crate::Error;

/// Most subject alternative names in one leaf certificate.
pub const SANS_PER_CERT: usize = 200;
/// The name in the deliberately wrong certificate.
pub const WRONG_HOST: &str = "wrong-host.testbed.invalid";

fn tls(e: impl std::fmt::Display) -> Error {
    Error::Tls(e.to_string())
}

/// Picks the leaf certificate by SNI.
#[derive(Debug)]
pub struct SniResolver {
    by_host: HashMap<String, Arc<CertifiedKey>>,
    wrong: Arc<CertifiedKey>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name().map(|s| s.to_ascii_lowercase());
        Some(
            name.and_then(|n| self.by_host.get(&n).cloned())
                .unwrap_or_else(|| Arc::clone(&self.wrong)),
        )
    }
}

fn leaf(
    names: Vec<String>,
    issuer: &Issuer<'_, KeyPair>,
    ca_der: &CertificateDer<'static>,
) -> Result<Arc<CertifiedKey>, Error> {
    let key = KeyPair::generate().map_err(tls)?;
    let mut params = CertificateParams::new(names).map_err(tls)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "authcensus testbed policy host");
    let cert = params.signed_by(&key, issuer).map_err(tls)?;
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signing = any_supported_type(&der).map_err(tls)?;
    Ok(Arc::new(CertifiedKey::new(
        vec![cert.der().clone(), ca_der.clone()],
        signing,
    )))
}

/// Generates the CA and the leaves. `good` hosts get valid certificates;
/// every other name gets the wrong-host certificate. Returns the resolver
/// and the CA certificate in PEM.
pub fn build(good: &[String]) -> Result<(SniResolver, String), Error> {
    let ca_key = KeyPair::generate().map_err(tls)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "authcensus testbed CA");
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls)?;
    let ca_pem = ca_cert.pem();
    let ca_der = ca_cert.der().clone();
    let issuer = Issuer::new(ca_params, ca_key);
    let mut by_host = HashMap::new();
    for chunk in good.chunks(SANS_PER_CERT) {
        let ck = leaf(chunk.to_vec(), &issuer, &ca_der)?;
        for h in chunk {
            by_host.insert(h.clone(), Arc::clone(&ck));
        }
    }
    let wrong = leaf(vec![WRONG_HOST.to_string()], &issuer, &ca_der)?;
    Ok((SniResolver { by_host, wrong }, ca_pem))
}
