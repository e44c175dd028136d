//! [`DnsClient`]: attempts, retries, failover, rate limits, CNAME follow-ups.
//!
//! One attempt, in order: an in-flight permit (global semaphore), a slot in
//! the upstream's adaptive window ([`crate::window`]), a permit from the
//! global and the upstream's rate limiter (taken last, right before the
//! send, so the cap holds at the wire), then the datagram. Every attempt
//! takes rate permits, retries and TCP fallbacks included.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use authcensus_records::dns::{Lookup, MxRecord, Resolver, TxtRecord, reverse_name};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hickory_proto::rr::RecordType;
use tokio::sync::Semaphore;

use crate::DnsError;
use crate::config::{DnsConfig, burst_for};
use crate::decode;
use crate::lane::{self, Lane, LaneGuard};
use crate::qname::QName;
use crate::stats::{Stats, bump};
use crate::tcp;
use crate::types::{QueryOutcome, QueryStatus, QueryType, RecordData};
use crate::udp::{GSO_SEGMENT, Reply, SocketSet};
use crate::window::{WindowEvent, timeout_key};
use crate::wire::{Chain, encode_query, follow_chain, record_type};

const RCODE_NOERROR: u16 = 0;
const RCODE_SERVFAIL: u16 = 2;
const RCODE_NXDOMAIN: u16 = 3;
const RCODE_REFUSED: u16 = 5;

/// A rate limiter and the FIFO queue of tasks waiting on it.
#[derive(Debug)]
struct Limiter {
    limiter: DefaultDirectRateLimiter,
    queue: tokio::sync::Mutex<()>,
}

impl Limiter {
    fn new(qps: std::num::NonZeroU32) -> Self {
        Limiter {
            limiter: RateLimiter::direct(Quota::per_second(qps).allow_burst(burst_for(qps))),
            queue: tokio::sync::Mutex::new(()),
        }
    }

    /// Takes one permit; returns whether it had to wait. Callers queue on a
    /// fair (FIFO) async mutex, so only the head of the queue polls the
    /// limiter (no stampede of sleepers waking on the same tick) and no
    /// newcomer overtakes a waiting attempt.
    async fn take(&self, clock: &DefaultClock) -> bool {
        // Queueing behind another waiter is waiting too.
        let (_turn, mut waited) = match self.queue.try_lock() {
            Ok(turn) => (turn, false),
            Err(_) => (self.queue.lock().await, true),
        };
        loop {
            match self.limiter.check() {
                Ok(()) => return waited,
                Err(not_until) => {
                    waited = true;
                    let wait = not_until.wait_time_from(clock.now());
                    tokio::time::sleep(wait.max(Duration::from_micros(100))).await;
                }
            }
        }
    }
}

#[derive(Debug)]
struct Inner {
    cfg: DnsConfig,
    /// The shared lane: sockets for threads that entered no lane of their own.
    shared: Lane,
    /// Every lane entered (for the in-flight count).
    lanes: std::sync::Mutex<Vec<std::sync::Weak<Lane>>>,
    /// This client's key in the threads' lane tables.
    id: usize,
    global: Option<Limiter>,
    per_upstream: Vec<Option<Limiter>>,
    in_flight: Semaphore,
    stats: Arc<Stats>,
    rotation: AtomicUsize,
    clock: DefaultClock,
}

impl Inner {
    /// Whether a global or per-upstream query-rate limit is set.
    fn rate_limited(&self) -> bool {
        self.global.is_some() || self.per_upstream.iter().any(Option::is_some)
    }
}

/// The DNS engine: a cheaply clonable handle (an `Arc`) to the sockets,
/// limiters and counters. Create it inside a tokio runtime; the receive
/// tasks stop when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct DnsClient {
    inner: Arc<Inner>,
}

/// The result of one exchange (all attempts for one name and type).
struct Exchange {
    reply: Option<decode::Reply>,
    /// Status when `reply` is `None`.
    failure: QueryStatus,
    attempts: u32,
    tcp: bool,
    upstream: Option<SocketAddr>,
}

enum Attempt {
    Reply(decode::Reply),
    Truncated,
    Timeout,
    NetError,
}

impl DnsClient {
    /// Binds the sockets and builds the limiters.
    ///
    /// # Errors
    /// [`DnsError`] for an invalid configuration or a socket that cannot be bound.
    pub async fn new(cfg: DnsConfig) -> Result<Self, DnsError> {
        cfg.validate()?;
        let stats = Arc::new(Stats::default());
        let shared = Lane::bind(&cfg, &stats, 1).await?;
        let inner = Inner {
            global: cfg.qps.map(Limiter::new),
            per_upstream: cfg
                .upstreams
                .iter()
                .map(|_| cfg.qps_per_upstream.map(Limiter::new))
                .collect(),
            in_flight: Semaphore::new(cfg.max_in_flight),
            stats,
            rotation: AtomicUsize::new(0),
            clock: DefaultClock::default(),
            shared,
            lanes: std::sync::Mutex::new(Vec::new()),
            id: lane::next_client_id(),
            cfg,
        };
        Ok(DnsClient {
            inner: Arc::new(inner),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &DnsConfig {
        &self.inner.cfg
    }

    /// The live counters.
    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// UDP attempts currently registered (waiting for a reply), all lanes.
    pub fn in_flight(&self) -> usize {
        let lanes = self
            .inner
            .lanes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .map(|l| l.in_flight())
            .sum::<usize>();
        self.inner.shared.in_flight() + lanes
    }

    /// Gives the calling thread a lane of its own ([`crate::lane`]): binds
    /// `sockets` UDP sockets per upstream (connected to it) whose send and receive
    /// tasks run on the current runtime, and sends this thread's attempts
    /// through them until the returned guard is dropped. Meant for a thread
    /// driving a current-thread runtime (one per core). The lane gets its
    /// share of each upstream's window ([`DnsConfig::lanes`]); rate limits,
    /// the in-flight cap and counters stay shared with every other lane.
    /// Entering again replaces the thread's earlier lane.
    ///
    /// # Errors
    /// [`DnsError::Bind`] when a socket cannot be bound.
    pub async fn enter_lane(&self) -> Result<LaneGuard, DnsError> {
        let lanes = self.inner.cfg.lanes;
        let lane = Arc::new(Lane::bind(&self.inner.cfg, &self.inner.stats, lanes).await?);
        let guard = LaneGuard::new(self.inner.id, &lane);
        lane::install(self.inner.id, lane, &self.inner.lanes);
        Ok(guard)
    }

    /// Resolves `name`/`qtype` with retries, failover, TC=1 → TCP and CNAME
    /// follow-ups, and reports everything about it.
    ///
    /// CNAMEs (RFC 1035 §3.3.1, RFC 1034): the chain inside the answer section is
    /// followed. When it ends at a target with no data and the reply carries
    /// no SOA in its authority section (so the server did not vouch that the
    /// target is empty, as a recursive resolver's NODATA would), the target
    /// is queried in turn; at most `max_cname_hops` names in all, and a loop
    /// is [`QueryStatus::CnameLoop`]. NXDOMAIN after a CNAME refers to the
    /// last name of the chain (RFC 6604).
    pub async fn query(&self, name: &str, qtype: QueryType) -> QueryOutcome {
        let start = Instant::now();
        let Some(asked) = QName::parse(name) else {
            return QueryOutcome::empty(QueryStatus::InvalidName);
        };
        let rtype = record_type(qtype);
        let max_len = usize::try_from(self.inner.cfg.max_cname_hops)
            .unwrap_or(8)
            .saturating_add(1);
        let mut out = QueryOutcome::empty(QueryStatus::Timeout);
        // The asked name joins `seen` when a CNAME first appears (follow_chain).
        let mut seen = Vec::new();
        let mut current = asked;
        loop {
            let ex = self.exchange(&current, rtype).await;
            out.attempts += ex.attempts;
            out.tcp |= ex.tcp;
            out.upstream = ex.upstream.or(out.upstream);
            let Some(msg) = ex.reply else {
                out.status = ex.failure;
                break;
            };
            let rcode = msg.layout().rcode;
            out.rcode = Some(rcode);
            let chain = follow_chain(
                &msg,
                &current,
                rtype,
                &mut seen,
                &mut out.cname_chain,
                max_len,
            );
            // RFC 1035 §4.1.1 RCODEs.
            match rcode {
                RCODE_NOERROR => {}
                RCODE_NXDOMAIN => {
                    out.status = QueryStatus::NxDomain;
                    break;
                }
                RCODE_SERVFAIL => {
                    out.status = QueryStatus::ServFail;
                    break;
                }
                RCODE_REFUSED => {
                    out.status = QueryStatus::Refused;
                    break;
                }
                _ => {
                    out.status = QueryStatus::OtherRcode;
                    break;
                }
            }
            match chain {
                Chain::Data(records) => {
                    out.records = records;
                    out.status = QueryStatus::Answer;
                    break;
                }
                Chain::Empty => {
                    out.status = QueryStatus::NoData;
                    break;
                }
                Chain::Loop => {
                    out.status = QueryStatus::CnameLoop;
                    break;
                }
                Chain::Dangling {
                    soa_in_authority: true,
                    ..
                } => {
                    out.status = QueryStatus::NoData;
                    break;
                }
                Chain::Dangling { target, .. } => {
                    // `follow_chain` put `target` on `seen`; `seen` is
                    // bounded by `max_len`, so this loop is too.
                    out.followups += 1;
                    current = target;
                }
            }
        }
        out.elapsed = start.elapsed();
        out
    }

    /// [`Self::query`] with its state on the heap: the lookups hold only a
    /// pointer while the query is in flight. A crawl joins seven of them per
    /// domain and keeps thousands of domains in flight; inline, their
    /// states (attempts, timers, the reply) made each domain's future 18.7 KB
    /// whatever it was waiting for.
    pub async fn query_boxed(&self, name: &str, qtype: QueryType) -> QueryOutcome {
        Box::pin(self.query(name, qtype)).await
    }

    /// NS records at `name` (targets lowercase, no trailing dot).
    pub async fn ns(&self, name: &str) -> Lookup<String> {
        to_lookup(self.query_boxed(name, QueryType::Ns).await, |d| match d {
            RecordData::Ns(n) => Some(n),
            _ => None,
        })
    }

    /// All attempts for one name and type: retries with jittered backoff,
    /// failover to the next upstream, TC=1 → TCP to the same upstream.
    async fn exchange(&self, name: &QName, rtype: RecordType) -> Exchange {
        let cfg = &self.inner.cfg;
        let n = cfg.upstreams.len().max(1);
        let first = if cfg.rotate {
            self.inner.rotation.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        let mut ex = Exchange {
            reply: None,
            failure: QueryStatus::Timeout,
            attempts: 0,
            tcp: false,
            upstream: None,
        };
        // The last SERVFAIL/REFUSED reply: reported if no later attempt does
        // better. Boxed, as it is rare: inline it added 104 bytes to every
        // query's future.
        let mut last_error_reply: Option<Box<(decode::Reply, SocketAddr, bool)>> = None;
        for attempt in 0..=cfg.retries {
            if attempt > 0 {
                bump(&self.inner.stats.retries);
                tokio::time::sleep(backoff(cfg.retry_backoff, attempt)).await;
            }
            let idx = (first + attempt as usize) % n;
            let Some(&upstream) = cfg.upstreams.get(idx) else {
                break;
            };
            ex.attempts += 1;
            let (reply, via_tcp) = match self.attempt_udp(idx, name, rtype).await {
                Attempt::Reply(msg) if !msg.layout().truncated => (msg, false),
                Attempt::Reply(_) | Attempt::Truncated => {
                    bump(&self.inner.stats.tcp_fallbacks);
                    ex.attempts += 1;
                    // Boxed: a TCP attempt's state (688 bytes) would
                    // otherwise be part of every query's future, which waits
                    // on UDP almost always (see `query_boxed`).
                    match Box::pin(self.attempt_tcp(idx, upstream, name, rtype)).await {
                        Some(msg) => (msg, true),
                        None => {
                            bump(&self.inner.stats.tcp_failures);
                            ex.failure = QueryStatus::TcpError;
                            continue;
                        }
                    }
                }
                Attempt::Timeout => {
                    bump(&self.inner.stats.timeouts);
                    ex.failure = QueryStatus::Timeout;
                    continue;
                }
                Attempt::NetError => {
                    ex.failure = QueryStatus::NetworkError;
                    continue;
                }
            };
            match reply.layout().rcode {
                RCODE_SERVFAIL | RCODE_REFUSED => {
                    last_error_reply = Some(Box::new((reply, upstream, via_tcp)));
                }
                _ => {
                    ex.tcp |= via_tcp;
                    ex.upstream = Some(upstream);
                    ex.reply = Some(reply);
                    return ex;
                }
            }
        }
        if let Some((reply, upstream, via_tcp)) = last_error_reply.map(|b| *b) {
            ex.tcp |= via_tcp;
            ex.upstream = Some(upstream);
            ex.reply = Some(reply);
        }
        ex
    }

    /// One UDP attempt to upstream `idx`, through the lane's sockets
    /// connected to it.
    async fn attempt_udp(&self, idx: usize, name: &QName, rtype: RecordType) -> Attempt {
        let inner = &*self.inner;
        let Ok(_permit) = inner.in_flight.acquire().await else {
            return Attempt::NetError;
        };
        let own = lane::current(inner.id);
        let lane = own.as_deref().unwrap_or(&inner.shared);
        let Some(window) = lane.window(idx) else {
            return Attempt::NetError;
        };
        let slot = window.acquire(&inner.stats).await;
        // The window read the clock as it gave the slot; a rate-limit wait
        // moves the send later.
        let mut sent_at = slot.taken_at();
        if inner.rate_limited() {
            // Boxed: the limiters' futures (248 bytes) would otherwise be
            // part of every query's future, rate limit or not.
            Box::pin(self.take_rate_permits(idx)).await;
            sent_at = Instant::now();
        }
        let Some(socket) = lane.sockets(idx).and_then(SocketSet::pick) else {
            return Attempt::NetError;
        };
        let Some(reg) = socket.register(name, rtype, sent_at) else {
            return Attempt::NetError;
        };
        let block = if socket.pads() { GSO_SEGMENT } else { 0 };
        let Some(bytes) = encode_query(reg.id(), name, rtype, inner.cfg.edns_payload, block) else {
            return Attempt::NetError;
        };
        socket.enqueue(&reg, bytes);
        bump(&inner.stats.sent);
        let _gauge = Outstanding::new(&inner.stats);
        // The socket's timeout task ends the attempt at its deadline
        // (`attempt_timeout` after `sent_at`, see `crate::udp`).
        match reg.outcome().await {
            Reply::Message(m) => {
                slot.finish(WindowEvent::Reply(sent_at.elapsed()));
                Attempt::Reply(m)
            }
            Reply::Truncated => {
                slot.finish(WindowEvent::Reply(sent_at.elapsed()));
                Attempt::Truncated
            }
            // Never sent: nothing for the window to learn.
            Reply::SendFailed => Attempt::NetError,
            Reply::TimedOut => {
                slot.finish(WindowEvent::Timeout(timeout_key(name)));
                Attempt::Timeout
            }
        }
    }

    async fn attempt_tcp(
        &self,
        idx: usize,
        upstream: SocketAddr,
        name: &QName,
        rtype: RecordType,
    ) -> Option<decode::Reply> {
        let inner = &*self.inner;
        let _permit = inner.in_flight.acquire().await.ok()?;
        self.take_rate_permits(idx).await;
        let id: u16 = rand::random();
        let bytes = encode_query(id, name, rtype, inner.cfg.edns_payload, 0)?;
        bump(&inner.stats.sent);
        let msg = tcp::exchange(upstream, &bytes, id, name, rtype, inner.cfg.attempt_timeout)
            .await
            .ok()?;
        bump(&inner.stats.received);
        Some(msg)
    }

    async fn take_rate_permits(&self, idx: usize) {
        let inner = &*self.inner;
        let mut waited = false;
        if let Some(l) = &inner.global {
            waited |= l.take(&inner.clock).await;
        }
        if let Some(Some(l)) = inner.per_upstream.get(idx) {
            waited |= l.take(&inner.clock).await;
        }
        if waited {
            bump(&inner.stats.rate_limited_waits);
        }
    }
}

/// Counts one UDP attempt as outstanding (sent, no reply yet) while alive,
/// and keeps the peak.
struct Outstanding<'a>(&'a Stats);

impl<'a> Outstanding<'a> {
    fn new(stats: &'a Stats) -> Self {
        let now = stats.outstanding.fetch_add(1, Ordering::Relaxed) + 1;
        stats.outstanding_peak.fetch_max(now, Ordering::Relaxed);
        Outstanding(stats)
    }
}

impl Drop for Outstanding<'_> {
    fn drop(&mut self) {
        self.0.outstanding.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Pause before retry `attempt` (≥ 1): `base × 2^(attempt-1)` times a random
/// factor in [0.5, 1.5).
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(10));
    exp.mul_f64(rand::random_range(0.5..1.5))
}

/// Maps an outcome to the records crate's [`Lookup`], keeping the records
/// `extract` accepts.
pub fn to_lookup<T>(outcome: QueryOutcome, extract: impl Fn(RecordData) -> Option<T>) -> Lookup<T> {
    match outcome.status {
        QueryStatus::Answer => {
            let v: Vec<T> = outcome
                .records
                .into_iter()
                .filter_map(|r| extract(r.data))
                .collect();
            if v.is_empty() {
                Lookup::NoData
            } else {
                Lookup::Records(v)
            }
        }
        QueryStatus::NoData => Lookup::NoData,
        QueryStatus::NxDomain => Lookup::NxDomain,
        other => Lookup::Failed(
            other
                .failure()
                .unwrap_or(authcensus_records::dns::DnsFailure::Other),
        ),
    }
}

impl Resolver for DnsClient {
    async fn ns(&self, name: &str) -> Lookup<String> {
        // the inherent method (inherent methods take precedence over trait ones)
        DnsClient::ns(self, name).await
    }

    async fn txt(&self, name: &str) -> Lookup<TxtRecord> {
        to_lookup(self.query_boxed(name, QueryType::Txt).await, |d| match d {
            RecordData::Txt(t) => Some(t),
            _ => None,
        })
    }

    async fn a(&self, name: &str) -> Lookup<Ipv4Addr> {
        to_lookup(self.query_boxed(name, QueryType::A).await, |d| match d {
            RecordData::A(a) => Some(a),
            _ => None,
        })
    }

    async fn aaaa(&self, name: &str) -> Lookup<Ipv6Addr> {
        to_lookup(self.query_boxed(name, QueryType::Aaaa).await, |d| match d {
            RecordData::Aaaa(a) => Some(a),
            _ => None,
        })
    }

    async fn mx(&self, name: &str) -> Lookup<MxRecord> {
        to_lookup(self.query_boxed(name, QueryType::Mx).await, |d| match d {
            RecordData::Mx(m) => Some(m),
            _ => None,
        })
    }

    async fn ptr(&self, ip: IpAddr) -> Lookup<String> {
        to_lookup(
            self.query_boxed(&reverse_name(ip), QueryType::Ptr).await,
            |d| match d {
                RecordData::Ptr(p) => Some(p),
                _ => None,
            },
        )
    }
}
