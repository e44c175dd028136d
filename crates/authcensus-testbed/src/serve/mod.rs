//! The testbed servers: authoritative DNS (UDP + TCP) and HTTPS for the
//! MTA-STS policy hosts, on loopback, answering from a generated universe
//! directory. They run on a private tokio runtime in a background thread, so
//! [`serve`] works from synchronous and asynchronous callers alike; dropping
//! the [`RunningTestbed`] (or calling [`RunningTestbed::shutdown`]) stops both.

pub mod dns;
pub mod https;
pub mod synthetic;
pub mod tls;
pub mod zonefile;

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring::default_provider;

use crate::Error;
use crate::generate::model::Serving;
use crate::generate::{SERVING, read_manifest};
use crate::rng::Rng;

/// Per-query fault injection (seeded, so a run is repeatable in its counts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultOptions {
    /// Delay before every DNS answer.
    pub latency: Duration,
    /// Share of queries dropped.
    pub drop_rate: f64,
    /// Share of queries answered SERVFAIL.
    pub servfail_rate: f64,
    /// Share of UDP answers sent empty with TC set.
    pub truncate_rate: f64,
    /// Share of answers held back by `spike_latency` on top of `latency`
    /// (latency spikes: a congested path or a slow authoritative server).
    pub spike_rate: f64,
    /// Extra delay of a spiked answer.
    pub spike_latency: Duration,
    /// Share of delegations whose name servers never answer: a query for a
    /// name is dropped when the name one label below its zone's apex (one
    /// domain's own servers, or a provider's) is drawn silent. The draw is a
    /// hash of that name and the seed, so it is stable across queries.
    pub silent_rate: f64,
    /// Seed of the fault RNG.
    pub seed: u64,
}

impl FaultOptions {
    /// Whether the delegation `owner` (a name directly below a zone apex)
    /// is drawn silent by `silent_rate`.
    #[must_use]
    pub fn silences(&self, owner: &str) -> bool {
        if self.silent_rate <= 0.0 {
            return false;
        }
        // FNV-1a over the seed and the name.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.seed.to_be_bytes().iter().chain(owner.as_bytes()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        #[allow(clippy::cast_precision_loss)]
        let unit = (h >> 11) as f64 / (1u64 << 53) as f64;
        unit < self.silent_rate
    }
}

/// Where to listen and which faults to inject.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeOptions {
    /// DNS address (UDP and TCP); must be loopback. Port 0 picks one.
    pub dns_addr: SocketAddr,
    /// HTTPS address; must be loopback. Port 0 picks one.
    pub https_addr: SocketAddr,
    /// Fault injection.
    pub faults: FaultOptions,
}

impl Default for ServeOptions {
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        ServeOptions {
            dns_addr: any,
            https_addr: any,
            faults: FaultOptions::default(),
        }
    }
}

/// Running servers; dropping stops them.
#[derive(Debug)]
pub struct RunningTestbed {
    /// DNS address (UDP and TCP).
    pub dns_addr: SocketAddr,
    /// HTTPS address.
    pub https_addr: SocketAddr,
    /// The CA certificate (PEM) that signs the policy hosts' certificates.
    pub ca_pem_path: PathBuf,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
    state: Arc<dns::DnsState>,
}

impl RunningTestbed {
    /// Whether this server never answers queries for `name`: a planted
    /// never-answer name, or a delegation silenced by
    /// [`FaultOptions::silent_rate`].
    #[must_use]
    pub fn never_answers(&self, name: &str) -> bool {
        self.state.never(name) || self.state.silent(name)
    }

    /// Stops both servers and waits for them.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for RunningTestbed {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn io(addr: SocketAddr, e: std::io::Error) -> Error {
    Error::io(Path::new(&addr.to_string()), e)
}

fn check_loopback(addr: SocketAddr) -> Result<(), Error> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(io(
            addr,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "testbed listens on loopback only",
            ),
        ))
    }
}

fn load_sites(dir: &Path) -> Result<HashMap<String, https::Site>, Error> {
    let pdir = dir.join("policies");
    let path = pdir.join(SERVING);
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let serving: BTreeMap<String, Serving> =
        serde_json::from_slice(&bytes).map_err(|e| Error::json(&path, e))?;
    let mut sites = HashMap::new();
    for (host, serving) in serving {
        let p = pdir.join(&host).join(".well-known").join("mta-sts.txt");
        let body = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
        sites.insert(host, https::Site { body, serving });
    }
    Ok(sites)
}

/// Receive buffer asked for the DNS socket (the kernel caps it at
/// `net.core.rmem_max`). The default (`rmem_default`, often 208 KiB) holds a
/// few hundred queries: several crawls sending bursts at once would overrun
/// it, and the test would measure the server's buffer instead of the crawl.
const UDP_RECV_BUFFER_BYTES: usize = 4 << 20;

/// A UDP socket bound to `addr` with a large receive buffer and UDP GRO
/// (both best effort).
fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let sock = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    let _ = sock.set_recv_buffer_size(UDP_RECV_BUFFER_BYTES);
    // Best effort too: without GRO the server reads one query per call.
    let _ = dns::gso::enable_gro(&sock);
    sock.bind(&addr.into())?;
    Ok(sock.into())
}

/// Binds UDP and TCP on one port. With port 0 the kernel picks a free UDP
/// port whose TCP twin may be taken by another process: try again (bounded)
/// rather than fail.
fn bind_dns(addr: SocketAddr) -> Result<(UdpSocket, SocketAddr, TcpListener), Error> {
    const ATTEMPTS: usize = 32;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let udp = bind_udp(addr).map_err(|e| io(addr, e))?;
        let bound = udp.local_addr().map_err(|e| io(addr, e))?;
        match TcpListener::bind(bound) {
            Ok(tcp) => return Ok((udp, bound, tcp)),
            Err(e) if addr.port() == 0 && e.kind() == std::io::ErrorKind::AddrInUse => {
                last = Some((bound, e));
            }
            Err(e) => return Err(io(bound, e)),
        }
    }
    let (bound, e) = last.unwrap_or_else(|| (addr, std::io::Error::other("no attempt made")));
    Err(io(bound, e))
}

/// Starts the DNS and HTTPS servers for the universe in `dir`.
///
/// # Errors
/// A non-loopback address, a port in use, or universe files that cannot be
/// read (zone lines that do not load are reported with their line number).
pub fn serve(dir: &Path, opts: ServeOptions) -> Result<RunningTestbed, Error> {
    check_loopback(opts.dns_addr)?;
    check_loopback(opts.https_addr)?;
    let data = zonefile::load_dir(&dir.join("zones"))?;
    let manifest = read_manifest(dir)?;
    let sites = load_sites(dir)?;
    let good: Vec<String> = sites
        .iter()
        .filter(|(_, s)| s.serving != Serving::BadCertificate)
        .map(|(h, _)| h.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let (resolver, ca_pem) = tls::build(&good)?;
    let ca_pem_path = dir.join("ca.pem");
    std::fs::write(&ca_pem_path, ca_pem).map_err(|e| Error::io(&ca_pem_path, e))?;
    let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    let acceptor = TlsAcceptor::from(Arc::new(config));

    let state = dns::DnsState {
        data,
        never_answer: manifest.never_answer_set(),
        rng: Mutex::new(Rng::new(opts.faults.seed, 0xFA)),
        faults: opts.faults.clone(),
        synthetic: None,
    };
    start(state, &opts, Some((acceptor, sites)), ca_pem_path)
}

/// Starts a DNS server answering the synthetic universe of `count` domains
/// (`d0.test` …, see [`synthetic`]) on the fly, with the same faults. No
/// HTTPS site is served (`https_addr` is bound but answers nothing useful)
/// and `ca_pem_path` is empty.
///
/// # Errors
/// A non-loopback address or a port in use.
pub fn serve_synthetic(count: u64, opts: ServeOptions) -> Result<RunningTestbed, Error> {
    check_loopback(opts.dns_addr)?;
    check_loopback(opts.https_addr)?;
    let state = dns::DnsState {
        data: zonefile::ZoneData::default(),
        never_answer: crate::generate::ApexSet::default(),
        rng: Mutex::new(Rng::new(opts.faults.seed, 0xFA)),
        faults: opts.faults.clone(),
        synthetic: Some(synthetic::Synthetic { count }),
    };
    start(state, &opts, None, PathBuf::new())
}

/// Binds the sockets and runs the servers on their own thread.
fn start(
    state: dns::DnsState,
    opts: &ServeOptions,
    https_site: Option<(TlsAcceptor, HashMap<String, https::Site>)>,
    ca_pem_path: PathBuf,
) -> Result<RunningTestbed, Error> {
    let state = Arc::new(state);
    let (udp, dns_addr, tcp) = bind_dns(opts.dns_addr)?;
    let https = TcpListener::bind(opts.https_addr).map_err(|e| io(opts.https_addr, e))?;
    let https_addr = https.local_addr().map_err(|e| io(opts.https_addr, e))?;
    for r in [
        udp.set_nonblocking(true),
        tcp.set_nonblocking(true),
        https.set_nonblocking(true),
    ] {
        r.map_err(|e| io(dns_addr, e))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| io(dns_addr, e))?;
    let (stop, rx) = watch::channel(false);
    let task_state = Arc::clone(&state);
    let thread = std::thread::Builder::new()
        .name("authcensus-testbed".into())
        .spawn(move || {
            runtime.block_on(async move {
                let (Ok(udp), Ok(tcp), Ok(https)) = (
                    tokio::net::UdpSocket::from_std(udp),
                    tokio::net::TcpListener::from_std(tcp),
                    tokio::net::TcpListener::from_std(https),
                ) else {
                    tracing::error!("testbed: cannot register sockets with the runtime");
                    return;
                };
                let mut done = rx.clone();
                tokio::spawn(dns::run_udp(udp, Arc::clone(&task_state), rx.clone()));
                tokio::spawn(dns::run_tcp(tcp, task_state, rx.clone()));
                if let Some((acceptor, sites)) = https_site {
                    tokio::spawn(https::run(https, acceptor, Arc::new(sites), rx));
                }
                let _ = done.changed().await;
            });
            runtime.shutdown_timeout(Duration::from_secs(2));
        })
        .map_err(|e| io(dns_addr, e))?;
    Ok(RunningTestbed {
        dns_addr,
        https_addr,
        ca_pem_path,
        stop,
        thread: Some(thread),
        state,
    })
}
