//! A bounded DNS answer cache shared by the whole crawl, and the per-domain
//! query counter.
//!
//! Popular SPF includes (`_spf.google.com`, `spf.protection.outlook.com`) are
//! named by millions of domains: [`CachingResolver`] resolves each
//! (name, type) once per run while it stays in the cache. Answers are cached
//! including negative ones (NXDOMAIN, NODATA); failures (timeout, SERVFAIL)
//! are not, so a later domain tries again. Concurrent identical queries are
//! coalesced through the cache's placeholders: the first caller queries, the
//! others wait for its answer. A failure handed to waiters is not their
//! answer yet: they ask once more, coalesced again among themselves, so one
//! unlucky query of a popular include cannot turn the SPF of every domain
//! in flight into a temperror.
//!
//! The cache is a bounded CLOCK-Pro cache (quick_cache) weighed in bytes
//! (approximate sizes of names and records): hostile answers cannot grow it
//! past its capacity. There is no TTL: a run
//! is a snapshot, and an answer stays valid for the run.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use tokio::sync::OnceCell;

use authcensus_records::dns::{Lookup, MxRecord, RecordType, Resolver, TxtRecord, reverse_name};

/// A cached answer of any type.
#[derive(Debug, Clone)]
enum Answer {
    Txt(Lookup<TxtRecord>),
    A(Lookup<Ipv4Addr>),
    Aaaa(Lookup<Ipv6Addr>),
    Mx(Lookup<MxRecord>),
    Names(Lookup<String>),
}

fn records_bytes<T>(l: &Lookup<T>, size: impl Fn(&T) -> usize) -> usize {
    match l {
        Lookup::Records(v) => v.iter().map(size).sum(),
        _ => 0,
    }
}

impl Answer {
    /// Approximate heap and inline bytes of the answer.
    fn bytes(&self) -> usize {
        match self {
            Answer::Txt(l) => records_bytes(l, |t| {
                24 + t.strings.iter().map(|s| s.len() + 24).sum::<usize>()
            }),
            Answer::A(l) => records_bytes(l, |_| 4),
            Answer::Aaaa(l) => records_bytes(l, |_| 16),
            Answer::Mx(l) => records_bytes(l, |m| m.exchange.len() + 32),
            Answer::Names(l) => records_bytes(l, |n| n.len() + 24),
        }
    }

    fn is_failure(&self) -> bool {
        match self {
            Answer::Txt(l) => matches!(l, Lookup::Failed(_)),
            Answer::A(l) => matches!(l, Lookup::Failed(_)),
            Answer::Aaaa(l) => matches!(l, Lookup::Failed(_)),
            Answer::Mx(l) => matches!(l, Lookup::Failed(_)),
            Answer::Names(l) => matches!(l, Lookup::Failed(_)),
        }
    }
}

/// Record type, name, and whether this is the second round of a
/// coalesced query whose first round failed (see `lookup`).
type Key = (RecordType, String, bool);

/// Weighs a cache entry by its approximate size in bytes.
#[derive(Debug, Clone, Copy)]
struct AnswerWeight;

impl quick_cache::Weighter<Key, Arc<Answer>> for AnswerWeight {
    fn weight(&self, key: &Key, val: &Arc<Answer>) -> u64 {
        (key.1.len() + 96 + val.bytes()) as u64
    }
}

/// The cache key: names compare lowercase without a trailing dot.
fn key(rtype: RecordType, name: &str) -> Key {
    (
        rtype,
        name.trim_end_matches('.').to_ascii_lowercase(),
        false,
    )
}

/// Hit and miss counts of a [`CachingResolver`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Queries answered from the cache (including waits on a coalesced query).
    pub hits: u64,
    /// Queries sent to the inner resolver.
    pub misses: u64,
    /// Entries held now.
    pub entries: u64,
    /// Their approximate weight in bytes.
    pub bytes: u64,
}

/// A [`Resolver`] that caches the answers of an inner resolver (see the
/// module docs).
#[derive(Debug)]
pub struct CachingResolver<R> {
    inner: R,
    /// Answers behind an `Arc`: the cache and its waiters share one copy,
    /// and each caller gets its own clone.
    cache: Option<quick_cache::sync::Cache<Key, Arc<Answer>, AnswerWeight>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<R: Resolver> CachingResolver<R> {
    /// Wraps `inner` with a cache of at most about `capacity_bytes` of
    /// answers (0: no cache, every query goes to `inner`).
    pub fn new(inner: R, capacity_bytes: u64) -> Self {
        let items = usize::try_from(capacity_bytes / 256)
            .unwrap_or(1 << 24)
            .max(1);
        CachingResolver {
            inner,
            cache: (capacity_bytes > 0).then(|| {
                quick_cache::sync::Cache::with_weighter(items, capacity_bytes, AnswerWeight)
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The inner resolver.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Hits, misses and entries so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.cache.as_ref().map_or(0, |c| c.len() as u64),
            bytes: self.cache.as_ref().map_or(0, |c| c.weight()),
        }
    }

    /// Counts one query sent to the inner resolver, also in `sent`.
    fn count_miss(&self, sent: Option<&AtomicU32>) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = sent {
            s.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Looks `key` up in the cache or through `query`, adding 1 to `sent`
    /// when the inner resolver was asked.
    ///
    /// Concurrent identical queries share one placeholder in the cache: the
    /// first caller runs the query, the others wait for its answer. A
    /// failure is never kept (removed at once: the next caller asks again).
    /// A waiter handed a failure asks once more, coalesced again with the
    /// other waiters: with hundreds of domains in flight, a popular
    /// include's one failed query (after the resolver's retries) would
    /// otherwise become a temperror for every domain waiting on it, a
    /// measurement artefact rather than their outcome. The second round's
    /// answer is final, so a name that really fails costs each caller at
    /// most two rounds and the resolver one query per round, not one per
    /// caller.
    /// A caller dropped while it queries hands the placeholder to the next
    /// waiter, which then asks itself.
    async fn lookup<F, Fut>(&self, key: Key, sent: Option<&AtomicU32>, query: F) -> Answer
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Answer>,
    {
        let count = || self.count_miss(sent);
        let Some(cache) = &self.cache else {
            count();
            return query().await;
        };
        match cache.get_value_or_guard_async(&key).await {
            Ok(shared) if !shared.is_failure() => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Answer::clone(&shared);
            }
            // Another caller's failure: ask once more, below.
            Ok(_) => {}
            Err(guard) => {
                count();
                let answer = Arc::new(query().await);
                // `insert` fails only when the placeholder was removed
                // meanwhile; the answer is still this caller's.
                let _ = guard.insert(Arc::clone(&answer));
                if answer.is_failure() {
                    cache.remove_if(&key, |v| Arc::ptr_eq(v, &answer));
                }
                return Answer::clone(&answer);
            }
        }
        // The second round is coalesced under a key of its own. Under the
        // first key the failure stands a moment longer: quick_cache hands
        // the value to the waiters before it replaces the placeholder, and
        // the failure's caller removes it only after that, on another
        // lane's thread that may be descheduled in between. A waiter asking
        // that key again could be handed the same failure once more and
        // take it for the second round's answer.
        let key = (key.0, key.1, true);
        match cache.get_value_or_guard_async(&key).await {
            Ok(shared) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Answer::clone(&shared)
            }
            Err(guard) => {
                count();
                let answer = Arc::new(query().await);
                let _ = guard.insert(Arc::clone(&answer));
                // Only the round's waiters share it: later callers start
                // from the first key.
                cache.remove_if(&key, |v| Arc::ptr_eq(v, &answer));
                Answer::clone(&answer)
            }
        }
    }

    // In the `*_counted` methods the key's record type fixes the answer's
    // variant; the `_` arms cannot be reached and would re-query rather than
    // panic.

    /// TXT with per-domain query counting.
    pub(crate) async fn txt_counted(
        &self,
        name: &str,
        sent: Option<&AtomicU32>,
    ) -> Lookup<TxtRecord> {
        let key = key(RecordType::Txt, name);
        match self
            .lookup(key, sent, || async {
                Answer::Txt(self.inner.txt(name).await)
            })
            .await
        {
            Answer::Txt(l) => l,
            _ => self.inner.txt(name).await,
        }
    }

    /// TXT straight from the inner resolver, not looked up in or added to
    /// the cache (counted as a miss and in `sent`). For names other domains
    /// (almost) never ask for: `_mta-sts.<d>` and `_smtp._tls.<d>` have no
    /// fallback to another name (RFC 8461 §3.1, RFC 8460 §3), and a crawled
    /// domain's own TXT is asked by another domain only when that one
    /// names it in an SPF `include:` or `redirect=`. Each domain is crawled
    /// once, so caching them only evicted shared answers and cost two cache
    /// operations per query (its second use within the domain is
    /// [`DomainDns`]'s memo).
    pub(crate) async fn txt_uncached(
        &self,
        name: &str,
        sent: Option<&AtomicU32>,
    ) -> Lookup<TxtRecord> {
        self.count_miss(sent);
        self.inner.txt(name).await
    }

    /// MX straight from the inner resolver (see [`Self::txt_uncached`]).
    pub(crate) async fn mx_uncached(
        &self,
        name: &str,
        sent: Option<&AtomicU32>,
    ) -> Lookup<MxRecord> {
        self.count_miss(sent);
        self.inner.mx(name).await
    }

    /// NS straight from the inner resolver (see [`Self::txt_uncached`]).
    pub(crate) async fn ns_uncached(&self, name: &str, sent: Option<&AtomicU32>) -> Lookup<String> {
        self.count_miss(sent);
        self.inner.ns(name).await
    }

    pub(crate) async fn a_counted(&self, name: &str, sent: Option<&AtomicU32>) -> Lookup<Ipv4Addr> {
        let key = key(RecordType::A, name);
        match self
            .lookup(key, sent, || async { Answer::A(self.inner.a(name).await) })
            .await
        {
            Answer::A(l) => l,
            _ => self.inner.a(name).await,
        }
    }

    pub(crate) async fn aaaa_counted(
        &self,
        name: &str,
        sent: Option<&AtomicU32>,
    ) -> Lookup<Ipv6Addr> {
        let key = key(RecordType::Aaaa, name);
        match self
            .lookup(key, sent, || async {
                Answer::Aaaa(self.inner.aaaa(name).await)
            })
            .await
        {
            Answer::Aaaa(l) => l,
            _ => self.inner.aaaa(name).await,
        }
    }

    pub(crate) async fn mx_counted(
        &self,
        name: &str,
        sent: Option<&AtomicU32>,
    ) -> Lookup<MxRecord> {
        let key = key(RecordType::Mx, name);
        match self
            .lookup(key, sent, || async {
                Answer::Mx(self.inner.mx(name).await)
            })
            .await
        {
            Answer::Mx(l) => l,
            _ => self.inner.mx(name).await,
        }
    }

    pub(crate) async fn ptr_counted(&self, ip: IpAddr, sent: Option<&AtomicU32>) -> Lookup<String> {
        let key = key(RecordType::Ptr, &reverse_name(ip));
        match self
            .lookup(key, sent, || async {
                Answer::Names(self.inner.ptr(ip).await)
            })
            .await
        {
            Answer::Names(l) => l,
            _ => self.inner.ptr(ip).await,
        }
    }

    pub(crate) async fn ns_counted(&self, name: &str, sent: Option<&AtomicU32>) -> Lookup<String> {
        let key = key(RecordType::Ns, name);
        match self
            .lookup(key, sent, || async {
                Answer::Names(self.inner.ns(name).await)
            })
            .await
        {
            Answer::Names(l) => l,
            _ => self.inner.ns(name).await,
        }
    }
}

impl<R: Resolver> Resolver for CachingResolver<R> {
    fn txt(&self, name: &str) -> impl Future<Output = Lookup<TxtRecord>> + Send {
        self.txt_counted(name, None)
    }
    fn a(&self, name: &str) -> impl Future<Output = Lookup<Ipv4Addr>> + Send {
        self.a_counted(name, None)
    }
    fn aaaa(&self, name: &str) -> impl Future<Output = Lookup<Ipv6Addr>> + Send {
        self.aaaa_counted(name, None)
    }
    fn mx(&self, name: &str) -> impl Future<Output = Lookup<MxRecord>> + Send {
        self.mx_counted(name, None)
    }
    fn ptr(&self, ip: IpAddr) -> impl Future<Output = Lookup<String>> + Send {
        self.ptr_counted(ip, None)
    }
    fn ns(&self, name: &str) -> impl Future<Output = Lookup<String>> + Send {
        self.ns_counted(name, None)
    }
}

/// The resolver one domain's lookups go through: it counts the queries the
/// shared cache had to send for this domain (`dns_queries`), and asks the
/// names that belong to this domain alone past the shared cache, each once:
///
/// - its own TXT and MX, one query each however many parts of the crawl ask
///   (the SPF walk, and the row's SPF and MX columns, at the same moment);
///   answers and failures alike are kept for the domain;
/// - `_dmarc.<domain>`, which both DMARC discoveries (RFC 9989 §4.10 and
///   RFC 7489 §6.6.3) ask at the same moment: one query, coalesced here;
/// - `<selector>._bimi.<domain>`, asked once.
///
/// Each domain is crawled once, so caching these names only cost two cache
/// operations per query and evicted shared answers (the profile of
/// 2026-12-05 had ~7 % of the crawler's CPU in the cache, most of it for
/// these names). Another domain still asks them through the cache: a
/// subdomain's tree walk or organisational-domain fallback reaching
/// `_dmarc.<domain>` sends that query once more in the run, and the answer
/// is cached from then on.
pub(crate) struct DomainDns<'a, R> {
    cache: &'a CachingResolver<R>,
    domain: &'a str,
    sent: AtomicU32,
    own_txt: OnceCell<Lookup<TxtRecord>>,
    own_mx: OnceCell<Lookup<MxRecord>>,
    dmarc_name: String,
    own_dmarc: OnceCell<Lookup<TxtRecord>>,
    bimi_name: String,
}

impl<'a, R: Resolver> DomainDns<'a, R> {
    /// `domain` lowercase without the trailing dot (names are compared as
    /// built by the record layer from it); `bimi_selector` as configured.
    pub(crate) fn new(cache: &'a CachingResolver<R>, domain: &'a str, bimi_selector: &str) -> Self {
        DomainDns {
            cache,
            domain,
            sent: AtomicU32::new(0),
            own_txt: OnceCell::new(),
            own_mx: OnceCell::new(),
            dmarc_name: authcensus_records::name::prefixed("_dmarc.", domain),
            own_dmarc: OnceCell::new(),
            bimi_name: authcensus_records::bimi::record_name(bimi_selector, domain),
        }
    }

    /// TXT of a name only this domain asks for, past the shared cache (see
    /// [`CachingResolver::txt_uncached`]).
    pub(crate) async fn txt_own_only(&self, name: &str) -> Lookup<TxtRecord> {
        self.cache.txt_uncached(name, Some(&self.sent)).await
    }

    /// Queries sent to the network for this domain so far.
    pub(crate) fn sent(&self) -> u32 {
        self.sent.load(Ordering::Relaxed)
    }
}

// The trait spells out `+ Send`; `async fn` would hide that bound.
#[allow(clippy::manual_async_fn)]
impl<R: Resolver> Resolver for DomainDns<'_, R> {
    fn txt(&self, name: &str) -> impl Future<Output = Lookup<TxtRecord>> + Send {
        async move {
            if name == self.domain {
                let query = || self.cache.txt_uncached(name, Some(&self.sent));
                return self.own_txt.get_or_init(query).await.clone();
            }
            if name == self.dmarc_name {
                let query = || self.cache.txt_uncached(name, Some(&self.sent));
                return self.own_dmarc.get_or_init(query).await.clone();
            }
            if name == self.bimi_name {
                return self.cache.txt_uncached(name, Some(&self.sent)).await;
            }
            self.cache.txt_counted(name, Some(&self.sent)).await
        }
    }
    fn a(&self, name: &str) -> impl Future<Output = Lookup<Ipv4Addr>> + Send {
        self.cache.a_counted(name, Some(&self.sent))
    }
    fn aaaa(&self, name: &str) -> impl Future<Output = Lookup<Ipv6Addr>> + Send {
        self.cache.aaaa_counted(name, Some(&self.sent))
    }
    fn mx(&self, name: &str) -> impl Future<Output = Lookup<MxRecord>> + Send {
        async move {
            if name != self.domain {
                return self.cache.mx_counted(name, Some(&self.sent)).await;
            }
            let query = || self.cache.mx_uncached(name, Some(&self.sent));
            self.own_mx.get_or_init(query).await.clone()
        }
    }
    fn ptr(&self, ip: IpAddr) -> impl Future<Output = Lookup<String>> + Send {
        self.cache.ptr_counted(ip, Some(&self.sent))
    }
    /// NS of the domain itself (a registrable domain in the input) past the
    /// shared cache; of a parent name (a subdomain's registrable domain,
    /// shared by its siblings) through it.
    fn ns(&self, name: &str) -> impl Future<Output = Lookup<String>> + Send {
        async move {
            if name == self.domain {
                return self.cache.ns_uncached(name, Some(&self.sent)).await;
            }
            self.cache.ns_counted(name, Some(&self.sent)).await
        }
    }
}
