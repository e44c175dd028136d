//! The TLS client configuration of the MTA-STS fetcher, and a certificate
//! verifier that remembers the chains it has validated.
//!
//! RFC 8461 §3.3: the Policy Host's certificate must chain to a trusted
//! root and be valid for the host name. Many domains point `mta-sts.` at
//! one hosting provider whose certificate names hundreds of hosts, so a
//! crawl sees the same chain again and again. [`ChainMemoVerifier`]
//! validates a chain (signatures up to a trust anchor, validity period)
//! with rustls' WebPKI verifier the first time and remembers its SHA-256
//! for [`CHAIN_MEMO_TTL`]; within that time the same chain costs only the
//! host-name check. The handshake's own signature (the server proving it
//! holds the certificate's key, RFC 8446 §4.4.3) is verified on every
//! connection, and a chain that failed is never remembered. On the
//! benchmark universe (200 names per certificate) a fetch spent about 120
//! µs in P-256 signature checks, about half of them on the chain
//! (`benches/README.md`, "TLS chain memo").
//!
//! No session resumption: each Policy Host is fetched once per run.
//!
//! Cipher suites: AES-128-GCM with SHA-256 first (the server picks by the
//! client's order unless configured otherwise): its transcript hash and key
//! schedule run on the CPU's SHA extensions, SHA-384 does not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::CryptoProvider;
use rustls::server::ParsedCertificate;
use rustls::{CipherSuite, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::fetch::FetchSetupError;
use crate::settings::CrawlSettings;

/// How long a validated chain is trusted without validating it again: a
/// certificate that expires during a run is accepted for at most this long
/// after its `notAfter`.
pub const CHAIN_MEMO_TTL: Duration = Duration::from_secs(60);

/// Chains remembered at most (32-byte digests).
const CHAIN_MEMO_ENTRIES: usize = 4096;

/// A [`ServerCertVerifier`] that validates each distinct chain once per
/// [`CHAIN_MEMO_TTL`] (see the module docs).
#[derive(Debug)]
pub struct ChainMemoVerifier {
    inner: Arc<WebPkiServerVerifier>,
    /// SHA-256 of the chain -> when it was validated.
    validated: quick_cache::sync::Cache<[u8; 32], Instant>,
}

impl ChainMemoVerifier {
    /// Wraps rustls' WebPKI verifier over `roots`.
    ///
    /// # Errors
    /// rustls' verifier builder errors (e.g. an empty root store).
    pub fn new(
        roots: rustls::RootCertStore,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, rustls::client::VerifierBuilderError> {
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
        Ok(ChainMemoVerifier {
            inner,
            validated: quick_cache::sync::Cache::new(CHAIN_MEMO_ENTRIES),
        })
    }

    /// The chain's identity: SHA-256 over each certificate's length and
    /// bytes, end entity first.
    fn digest(end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>]) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for cert in std::iter::once(end_entity).chain(intermediates) {
            ctx.update(&(cert.len() as u64).to_be_bytes());
            ctx.update(cert);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
}

impl ServerCertVerifier for ChainMemoVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let key = Self::digest(end_entity, intermediates);
        if self
            .validated
            .get(&key)
            .is_some_and(|at| at.elapsed() < CHAIN_MEMO_TTL)
        {
            // The chain was validated a moment ago: only the name is new.
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_name(&cert, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        // The WebPKI verifier checks the chain first, then the name: on
        // success both hold, and only then is the chain remembered.
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        self.validated.insert(key, Instant::now());
        Ok(verified)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The ring provider with AES-128-GCM/SHA-256 suites ahead of the others
/// (otherwise in rustls' order).
fn provider() -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.sort_by_key(|s| match s.suite() {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => 0,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 1,
        _ => 2,
    });
    provider
}

/// The TLS client configuration: system roots (if asked) plus the CA file,
/// through a [`ChainMemoVerifier`].
pub(crate) fn client_config(
    settings: &CrawlSettings,
) -> Result<rustls::ClientConfig, FetchSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    if settings.system_roots {
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            // A system anchor rustls cannot parse is skipped, as browsers do.
            let _ = roots.add(cert);
        }
    }
    if let Some(path) = &settings.ca_file {
        let err = |detail: String| FetchSetupError::CaFile {
            path: path.clone(),
            detail,
        };
        let iter = CertificateDer::pem_file_iter(path).map_err(|e| err(e.to_string()))?;
        let mut added = 0usize;
        for cert in iter {
            let cert = cert.map_err(|e| err(e.to_string()))?;
            roots.add(cert).map_err(|e| err(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(err(String::from("no certificate found")));
        }
    }
    let provider = Arc::new(provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()?;
    let mut config = if roots.is_empty() {
        // No anchors (no system roots, no CA file): every certificate
        // fails to verify, as rustls' own verifier reports it.
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let verifier = ChainMemoVerifier::new(roots, provider)?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // A Policy Host is fetched once per run (the fetcher's memo), so the
    // session tickets servers send would only be parsed and stored.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes128_sha256_suites_come_first() {
        let suites: Vec<CipherSuite> = provider().cipher_suites.iter().map(|s| s.suite()).collect();
        assert_eq!(suites.first(), Some(&CipherSuite::TLS13_AES_128_GCM_SHA256));
        // Nothing dropped or added.
        let mut a = suites.clone();
        let mut b: Vec<CipherSuite> = rustls::crypto::ring::default_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        a.sort_by_key(|s| u16::from(*s));
        b.sort_by_key(|s| u16::from(*s));
        assert_eq!(a, b);
    }

    #[test]
    fn chain_digest_depends_on_every_certificate_and_its_boundaries() {
        let c = |b: &[u8]| CertificateDer::from(b.to_vec());
        let d = ChainMemoVerifier::digest;
        assert_eq!(d(&c(b"ab"), &[c(b"c")]), d(&c(b"ab"), &[c(b"c")]));
        assert_ne!(d(&c(b"ab"), &[c(b"c")]), d(&c(b"a"), &[c(b"bc")]));
        assert_ne!(d(&c(b"ab"), &[c(b"c")]), d(&c(b"ab"), &[]));
        assert_ne!(d(&c(b"ab"), &[c(b"c")]), d(&c(b"ab"), &[c(b"d")]));
    }

    /// A CA and a leaf for `names`, signed by it: (CA DER, leaf DER).
    fn chain(names: &[&str]) -> (CertificateDer<'static>, CertificateDer<'static>) {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_string()).collect();
        let leaf = CertificateParams::new(names)
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        (ca.der().clone(), leaf.der().clone())
    }

    fn verifier(anchor: &CertificateDer<'static>) -> ChainMemoVerifier {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(anchor.clone()).unwrap();
        ChainMemoVerifier::new(roots, Arc::new(provider())).unwrap()
    }

    fn check(
        v: &ChainMemoVerifier,
        leaf: &CertificateDer<'static>,
        host: &str,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = ServerName::try_from(host.to_string()).unwrap();
        v.verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn a_remembered_chain_still_needs_the_right_name() {
        let (ca, leaf) = chain(&["mta-sts.a.example", "mta-sts.b.example"]);
        let v = verifier(&ca);
        assert!(check(&v, &leaf, "mta-sts.a.example").is_ok());
        assert_eq!(v.validated.len(), 1, "a validated chain is remembered");
        // Same chain, another of its names: from the memo.
        assert!(check(&v, &leaf, "mta-sts.b.example").is_ok());
        // Same chain, a name it does not carry: refused as rustls refuses it.
        let err = check(&v, &leaf, "mta-sts.c.example").unwrap_err();
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );
        assert_eq!(v.validated.len(), 1);
    }

    #[test]
    fn failed_chains_are_not_remembered() {
        let (ca, leaf) = chain(&["mta-sts.a.example"]);
        let (_other_ca, stranger) = chain(&["mta-sts.a.example"]);
        let v = verifier(&ca);
        // Right name, wrong issuer: refused, twice, never remembered.
        for _ in 0..2 {
            let err = check(&v, &stranger, "mta-sts.a.example").unwrap_err();
            assert!(
                matches!(err, rustls::Error::InvalidCertificate(_)),
                "{err:?}"
            );
        }
        // Wrong name on the first sight of a good chain: refused and not
        // remembered either.
        assert!(check(&v, &leaf, "mta-sts.z.example").is_err());
        assert_eq!(v.validated.len(), 0);
        assert!(check(&v, &leaf, "mta-sts.a.example").is_ok());
        assert_eq!(v.validated.len(), 1);
    }
}
