//! Test support: an in-process HTTPS server on 127.0.0.1:0 with a generated
//! CA, one leaf certificate per Policy Host chosen by SNI, and canned
//! responses per host; plus a `MemoryResolver` universe builder.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use authcensus_crawl::CrawlSettings;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Which certificate a host presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertKind {
    /// Signed by the trusted test CA, valid for `mta-sts.<domain>`.
    Valid,
    /// Valid for the name but signed by a CA the client does not trust.
    OtherCa,
    /// Signed by the trusted CA but for another name.
    WrongName,
}

/// A canned response.
#[derive(Debug, Clone)]
pub struct Site {
    pub cert: CertKind,
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
    /// Accept the request and never answer.
    pub hang: bool,
    /// Wait this long before answering.
    pub delay_ms: u64,
    /// Send the body in chunks of this many bytes, pausing `drip_ms`
    /// between them (a slowloris server); 0 sends it at once.
    pub drip_bytes: usize,
    /// Pause between dripped chunks.
    pub drip_ms: u64,
}

impl Site {
    pub fn ok(content_type: &str, body: &str) -> Self {
        Site {
            cert: CertKind::Valid,
            status: 200,
            content_type: Some(content_type.to_string()),
            location: None,
            body: body.as_bytes().to_vec(),
            hang: false,
            delay_ms: 0,
            drip_bytes: 0,
            drip_ms: 0,
        }
    }
}

#[derive(Debug)]
struct SniMap(HashMap<String, Arc<CertifiedKey>>);

impl ResolvesServerCert for SniMap {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello.server_name().and_then(|n| self.0.get(n).cloned())
    }
}

fn ca(name: &str) -> (rcgen::Certificate, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, Issuer::new(params, key))
}

fn leaf(name: &str, issuer: &Issuer<'static, KeyPair>) -> Arc<CertifiedKey> {
    let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.use_authority_key_identifier_extension = true;
    params
        .extended_key_usages
        .push(rcgen::ExtendedKeyUsagePurpose::ServerAuth);
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signer = rustls::crypto::ring::sign::any_supported_type(&der).unwrap();
    Arc::new(CertifiedKey::new(
        vec![CertificateDer::from(cert.der().to_vec())],
        signer,
    ))
}

/// A running test server.
pub struct TestServer {
    pub port: u16,
    pub ca_file: PathBuf,
    /// Requests answered (or hung) per domain.
    pub requests: Arc<std::sync::Mutex<HashMap<String, u64>>>,
    pub total: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server for `sites` (domain → site) on the current runtime.
    pub async fn start(sites: HashMap<String, Site>) -> TestServer {
        let (ca_cert, issuer) = ca("authcensus test CA");
        let (_other_cert, other_issuer) = ca("untrusted CA");
        let mut certs = HashMap::new();
        for (domain, site) in &sites {
            let host = format!("mta-sts.{domain}");
            let key = match site.cert {
                CertKind::Valid => leaf(&host, &issuer),
                CertKind::OtherCa => leaf(&host, &other_issuer),
                CertKind::WrongName => leaf("mta-sts.wrong-name.example", &issuer),
            };
            certs.insert(host, key);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SniMap(certs)));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();
        let sites = Arc::new(sites);
        let requests = Arc::new(std::sync::Mutex::new(HashMap::new()));
        let total = Arc::new(AtomicU64::new(0));
        let (req, tot) = (Arc::clone(&requests), Arc::clone(&total));
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, sites) = (acceptor.clone(), Arc::clone(&sites));
                let (req, tot) = (Arc::clone(&req), Arc::clone(&tot));
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16384 {
                        match tls.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let host = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("host: ")
                                .or_else(|| l.strip_prefix("Host: "))
                        })
                        .unwrap_or("")
                        .split(':')
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let domain = host.strip_prefix("mta-sts.").unwrap_or("").to_string();
                    assert!(
                        head.starts_with("GET /.well-known/mta-sts.txt HTTP/1.1\r\n"),
                        "{head}"
                    );
                    *req.lock().unwrap().entry(domain.clone()).or_default() += 1;
                    tot.fetch_add(1, Ordering::Relaxed);
                    let Some(site) = sites.get(&domain) else {
                        return;
                    };
                    if site.hang {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(site.delay_ms)).await;
                    let mut resp = format!(
                        "HTTP/1.1 {} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n",
                        site.status,
                        site.body.len()
                    );
                    if let Some(ct) = &site.content_type {
                        resp.push_str(&format!("Content-Type: {ct}\r\n"));
                    }
                    if let Some(loc) = &site.location {
                        resp.push_str(&format!("Location: {loc}\r\n"));
                    }
                    resp.push_str("\r\n");
                    let _ = tls.write_all(resp.as_bytes()).await;
                    if site.drip_bytes == 0 {
                        let _ = tls.write_all(&site.body).await;
                    } else {
                        for chunk in site.body.chunks(site.drip_bytes) {
                            if tls.write_all(chunk).await.is_err() || tls.flush().await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(site.drip_ms)).await;
                        }
                    }
                    let _ = tls.shutdown().await;
                });
            }
        });
        TestServer {
            port,
            ca_file,
            requests,
            total,
            _dir: dir,
        }
    }

    /// Requests seen for `domain`.
    pub fn requests_for(&self, domain: &str) -> u64 {
        self.requests
            .lock()
            .unwrap()
            .get(domain)
            .copied()
            .unwrap_or(0)
    }

    /// Settings that trust only the test CA and connect to this server's port.
    pub fn settings(&self) -> CrawlSettings {
        CrawlSettings {
            https_port: self.port,
            ca_file: Some(self.ca_file.clone()),
            system_roots: false,
            mta_sts_fetch_timeout: Duration::from_secs(5),
            ..CrawlSettings::default()
        }
    }
}
