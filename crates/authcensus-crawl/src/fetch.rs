//! The MTA-STS policy fetcher (RFC 8461 §3.3).
//!
//! `GET https://mta-sts.<domain>/.well-known/mta-sts.txt` with:
//!
//! - the certificate validated for `mta-sts.<domain>` against the system
//!   trust anchors plus those of a `--ca-file` ("the certificate MUST be
//!   valid for the Policy Host", RFC 8461 §3.3);
//! - redirects not followed ("HTTP 3xx redirects MUST NOT be followed",
//!   §3.3): a 3xx is returned as a response with its `Location`;
//! - the body read up to the size limit (64 KiB by default, as §3.3
//!   suggests) and then cut, marked `truncated`;
//! - one total deadline for connect, TLS, headers and body;
//! - the Policy Host resolved through the crawl's own [`Resolver`] (A, then
//!   AAAA when there is no A), never the system resolver.
//!
//! The outcome is the records crate's [`PolicyFetch`]; judging it (status
//! 200, `text/plain`, size, syntax) is `mta_sts::assess_fetch`'s job. A
//! Policy Host whose address lookups fail (rather than return nothing) is
//! also reported as [`PolicyFetch::NoAddress`]: the enum has no DNS-failure
//! variant, and either way no connection could be attempted.
//!
//! Politeness: a global semaphore bounds fetches in flight, a per-address
//! semaphore bounds fetches to one Policy Host address (many domains CNAME
//! their `mta-sts` host to one hosting provider), and a policy is fetched at
//! most once per (host, policy id) per run: later and concurrent requests
//! for the same pair share the first outcome (a bounded map).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use authcensus_records::dns::{Lookup, Resolver};
use authcensus_records::mta_sts::{HttpResponse, PolicyFetch, TlsFailure};
use tokio::sync::Semaphore;

use crate::settings::CrawlSettings;

/// The fetcher could not be set up (the crawl cannot start).
#[derive(Debug, thiserror::Error)]
pub enum FetchSetupError {
    /// The `--ca-file` could not be read or holds no certificate.
    #[error("cannot read CA certificates from {path}: {detail}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// rustls rejected the configuration.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// rustls could not build the certificate verifier.
    #[error("TLS certificate verifier: {0}")]
    Verifier(#[from] rustls::client::VerifierBuilderError),
    /// reqwest could not build the client.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// The Policy Host name has no address in the crawl's resolver.
#[derive(Debug, thiserror::Error)]
#[error("no address for {0}")]
struct NoAddress(String);

/// reqwest's DNS hook over the crawl's [`Resolver`].
struct ViaResolver<D> {
    dns: Arc<D>,
    port: u16,
}

/// Most addresses handed to the connector per host.
const MAX_ADDRS: usize = 8;

async fn addresses<D: Resolver>(dns: &D, host: &str, port: u16) -> Vec<SocketAddr> {
    let mut out: Vec<SocketAddr> = Vec::new();
    if let Lookup::Records(v4) = dns.a(host).await {
        out.extend(
            v4.into_iter()
                .take(MAX_ADDRS)
                .map(|ip| SocketAddr::new(IpAddr::V4(ip), port)),
        );
    }
    if out.is_empty()
        && let Lookup::Records(v6) = dns.aaaa(host).await
    {
        out.extend(
            v6.into_iter()
                .take(MAX_ADDRS)
                .map(|ip| SocketAddr::new(IpAddr::V6(ip), port)),
        );
    }
    out
}

impl<D: Resolver + Send + Sync + 'static> reqwest::dns::Resolve for ViaResolver<D> {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let dns = Arc::clone(&self.dns);
        let port = self.port;
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            let addrs = addresses(dns.as_ref(), &host, port).await;
            if addrs.is_empty() {
                return Err(Box::new(NoAddress(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Weighs a memoised fetch outcome by its approximate size in bytes.
#[derive(Debug, Clone, Copy)]
struct FetchWeight;

impl quick_cache::Weighter<(String, String), PolicyFetch> for FetchWeight {
    fn weight(&self, key: &(String, String), val: &PolicyFetch) -> u64 {
        let body = match val {
            PolicyFetch::Response(r) => {
                r.body.len()
                    + r.content_type.as_ref().map_or(0, String::len)
                    + r.location.as_ref().map_or(0, String::len)
            }
            _ => 0,
        };
        (key.0.len() + key.1.len() + body + 128) as u64
    }
}

/// Counters of a [`MtaStsFetcher`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchStats {
    /// HTTPS requests started.
    pub requests: u64,
    /// Fetches answered from the (host, id) map (or by waiting on a
    /// concurrent identical fetch).
    pub shared: u64,
}

/// The MTA-STS policy fetcher (see the module docs).
pub struct MtaStsFetcher<D> {
    client: reqwest::Client,
    dns: Arc<D>,
    port: u16,
    timeout: Duration,
    max_body: usize,
    global: Semaphore,
    per_addr_limit: usize,
    per_addr: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
    memo: Option<quick_cache::sync::Cache<(String, String), PolicyFetch, FetchWeight>>,
    requests: AtomicU64,
    shared: AtomicU64,
}

impl<D> std::fmt::Debug for MtaStsFetcher<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtaStsFetcher")
            .field("port", &self.port)
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
    }
}

impl<D: Resolver + Send + Sync + 'static> MtaStsFetcher<D> {
    /// A fetcher resolving Policy Hosts through `dns`.
    ///
    /// # Errors
    /// An unreadable `ca_file`, or a TLS/client setup failure.
    pub fn new(dns: Arc<D>, settings: &CrawlSettings) -> Result<Self, FetchSetupError> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(crate::tls::client_config(settings)?)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(settings.user_agent.clone())
            .timeout(settings.mta_sts_fetch_timeout)
            .connect_timeout(settings.mta_sts_fetch_timeout)
            .no_proxy()
            .pool_max_idle_per_host(0)
            .dns_resolver(Arc::new(ViaResolver {
                dns: Arc::clone(&dns),
                port: settings.https_port,
            }))
            .build()?;
        Ok(MtaStsFetcher {
            client,
            dns,
            port: settings.https_port,
            timeout: settings.mta_sts_fetch_timeout,
            max_body: settings.max_policy_body,
            global: Semaphore::new(settings.https_concurrency.max(1)),
            per_addr_limit: settings.per_host_https_concurrency.max(1),
            per_addr: Mutex::new(HashMap::new()),
            memo: (settings.fetch_memo_bytes > 0).then(|| {
                let items = usize::try_from(settings.fetch_memo_bytes / 1024).unwrap_or(1 << 20);
                quick_cache::sync::Cache::with_weighter(
                    items.max(1),
                    settings.fetch_memo_bytes,
                    FetchWeight,
                )
            }),
            requests: AtomicU64::new(0),
            shared: AtomicU64::new(0),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> FetchStats {
        FetchStats {
            requests: self.requests.load(Ordering::Relaxed),
            shared: self.shared.load(Ordering::Relaxed),
        }
    }

    /// Fetches the policy of `domain` published under `policy_id` (the
    /// `id=` of its `_mta-sts` record), at most once per (host, id) per run.
    pub async fn fetch(&self, domain: &str, policy_id: &str) -> PolicyFetch {
        self.fetch_via(self.dns.as_ref(), domain, policy_id).await
    }

    /// As [`fetch`](Self::fetch), resolving the Policy Host through `dns`
    /// first (the crawl passes the domain's counting resolver, so the
    /// address queries count in `dns_queries`; the connector's own lookup
    /// is then a cache hit).
    pub async fn fetch_via<Q: Resolver>(
        &self,
        dns: &Q,
        domain: &str,
        policy_id: &str,
    ) -> PolicyFetch {
        let host = format!(
            "mta-sts.{}",
            domain.trim_end_matches('.').to_ascii_lowercase()
        );
        let Some(memo) = &self.memo else {
            return self.fetch_uncached(dns, &host).await;
        };
        let key = (host, policy_id.to_string());
        match memo.get_value_or_guard_async(&key).await {
            Ok(outcome) => {
                self.shared.fetch_add(1, Ordering::Relaxed);
                outcome
            }
            Err(guard) => {
                let outcome = self.fetch_uncached(dns, &key.0).await;
                let _ = guard.insert(outcome.clone());
                outcome
            }
        }
    }

    /// One fetch of `https://<host>/.well-known/mta-sts.txt`, polite and
    /// bounded, the host's addresses looked up through `dns` first.
    pub async fn fetch_uncached<Q: Resolver>(&self, dns: &Q, host: &str) -> PolicyFetch {
        // Resolved first so a host without address costs no permit, and so
        // the per-address semaphore can be chosen; the connector's own
        // lookup is then answered by the crawl's cache.
        let addrs = addresses(dns, host, self.port).await;
        let Some(first) = addrs.first().map(SocketAddr::ip) else {
            return PolicyFetch::NoAddress;
        };
        let Ok(_global) = self.global.acquire().await else {
            return PolicyFetch::ConnectFailed;
        };
        let sem = self.addr_semaphore(first);
        let outcome = match sem.acquire().await {
            Ok(_permit) => {
                self.requests.fetch_add(1, Ordering::Relaxed);
                match tokio::time::timeout(self.timeout, self.request(host)).await {
                    Ok(outcome) => outcome,
                    Err(_) => PolicyFetch::Timeout,
                }
            }
            Err(_) => PolicyFetch::ConnectFailed,
        };
        drop(sem);
        self.release_addr(first);
        outcome
    }

    fn addr_semaphore(&self, ip: IpAddr) -> Arc<Semaphore> {
        match self.per_addr.lock() {
            Ok(mut map) => Arc::clone(
                map.entry(ip)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_addr_limit))),
            ),
            Err(_) => Arc::new(Semaphore::new(self.per_addr_limit)),
        }
    }

    /// Drops the address's semaphore when nobody else holds it, so the map
    /// holds only addresses with fetches in flight.
    fn release_addr(&self, ip: IpAddr) {
        if let Ok(mut map) = self.per_addr.lock()
            && map.get(&ip).is_some_and(|s| Arc::strong_count(s) == 1)
        {
            map.remove(&ip);
        }
    }

    async fn request(&self, host: &str) -> PolicyFetch {
        let url = if self.port == 443 {
            format!("https://{host}/.well-known/mta-sts.txt")
        } else {
            format!("https://{host}:{}/.well-known/mta-sts.txt", self.port)
        };
        let mut resp = match self.client.get(&url).send().await {
            Ok(r) => r,
            Err(e) => return classify_error(&e),
        };
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let mut out = HttpResponse {
            status: resp.status().as_u16(),
            content_type: header(reqwest::header::CONTENT_TYPE),
            location: header(reqwest::header::LOCATION),
            body: Vec::new(),
            truncated: false,
        };
        if out.status != 200 {
            // Only a 200 body can be a policy (RFC 8461 §3.3); not read.
            return PolicyFetch::Response(out);
        }
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.max_body.saturating_sub(out.body.len());
                    if chunk.len() > room {
                        out.body.extend_from_slice(&chunk[..room]);
                        out.truncated = true;
                        break;
                    }
                    out.body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return classify_error(&e),
            }
        }
        PolicyFetch::Response(out)
    }
}

/// Maps a reqwest error to the fetch outcome by walking its source chain.
/// rustls errors sit inside (nested) `io::Error`s, whose `source()` skips
/// the wrapped error, so an `io::Error` is descended through `get_ref`.
fn classify_error(e: &reqwest::Error) -> PolicyFetch {
    if e.is_timeout() {
        return PolicyFetch::Timeout;
    }
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    for _ in 0..32 {
        let Some(err) = current else { break };
        if let Some(outcome) = classify_one(err) {
            return outcome;
        }
        current = match err.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => std::error::Error::source(io),
            },
            None => err.source(),
        };
    }
    PolicyFetch::ConnectFailed
}

fn classify_one(err: &(dyn std::error::Error + 'static)) -> Option<PolicyFetch> {
    if err.downcast_ref::<NoAddress>().is_some() {
        return Some(PolicyFetch::NoAddress);
    }
    if let Some(tls) = err.downcast_ref::<rustls::Error>() {
        return Some(PolicyFetch::Tls(match tls {
            rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::InvalidCertRevocationList(_) => TlsFailure::InvalidCertificate,
            _ => TlsFailure::Handshake,
        }));
    }
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::TimedOut
    {
        return Some(PolicyFetch::Timeout);
    }
    None
}
