//! Client settings, each with its default and the reason for it.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use crate::DnsError;

/// Settings of a [`crate::DnsClient`]. Build with [`DnsConfig::new`] and
/// adjust the public fields; [`crate::DnsClient::new`] validates them.
///
/// The defaults target a crawl through recursive resolvers on the real
/// internet. They are printed with a run's settings by the binary.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsConfig {
    /// Recursive resolvers to ask, in order of preference. Queries are sent
    /// with RD=1. Attempt *k* of a query goes to upstream `(first + k) % n`,
    /// so a retry fails over to the next resolver.
    pub upstreams: Vec<SocketAddr>,
    /// Spread first attempts round-robin over the upstreams (like
    /// resolv.conf's `options rotate`) instead of always starting with the
    /// first. Default `false`: the first resolver is the primary.
    pub rotate: bool,
    /// Deadline of one attempt (UDP, or the TCP fallback it triggers).
    /// Default 2 s: a recursive resolver answers cached names in
    /// milliseconds and most cold names well within a second; a resolver
    /// still working after 2 s is usually chasing dead authoritative
    /// servers and will return SERVFAIL anyway. (hickory's default is 5 s.)
    pub attempt_timeout: Duration,
    /// Attempts after the first. Default 2 (3 attempts in all): with
    /// failover this tries every resolver of a typical 2-3 entry
    /// resolv.conf once. Worst case per query ≈ 3 × `attempt_timeout` plus
    /// backoff; the crawl bounds each domain with its own deadline.
    pub retries: u32,
    /// Base pause before retry *k* (k ≥ 1): `retry_backoff × 2^(k-1)`
    /// multiplied by a random factor in [0.5, 1.5) so retries of queries that
    /// failed together do not arrive together. Default 50 ms. Retries after
    /// a timeout have already waited `attempt_timeout`; the pause matters
    /// after fast SERVFAIL/REFUSED replies.
    pub retry_backoff: Duration,
    /// Upper bound on attempts outstanding at once over all upstreams and
    /// sockets (a semaphore). Default 8192: twice `window_max`, so one slow
    /// upstream cannot starve the others. Back-pressure, never an outcome.
    pub max_in_flight: usize,
    /// Starting size of each upstream's adaptive in-flight window (see
    /// [`crate::window`]). Default 200: Knot with one UDP worker overflows
    /// its receive buffer beyond about 200-250 queued queries, and a busy
    /// recursive resolver behaves alike; the window grows from here only
    /// while replies show no queueing.
    pub window_initial: u32,
    /// Ceiling of each upstream's adaptive in-flight window. Default 4096:
    /// a resolver 50 ms away needs about 5,000 outstanding queries for
    /// 100,000 queries/s; the window reaches this only against an upstream
    /// whose replies do not slow down as it grows, and halves on a burst of
    /// losses.
    pub window_max: u32,
    /// Floor of the adaptive window. Default 8: even a lossy path keeps a
    /// few queries moving.
    pub window_min: u32,
    /// Global cap on attempts per second (every attempt, retries and TCP
    /// fallbacks included, takes a permit). `None` = unlimited. Default
    /// `None`; the crawl sets it from `--qps`.
    pub qps: Option<NonZeroU32>,
    /// Cap on attempts per second to each upstream. Default `None`. Public
    /// resolvers rate-limit clients (some near 1 500 q/s per source address);
    /// set this below their limit so they do not start refusing.
    pub qps_per_upstream: Option<NonZeroU32>,
    /// Lanes ([`crate::lane`]) expected to divide the upstreams between
    /// them: each lane entered gets `window_initial`, `window_min` and
    /// `window_max` divided by this (at least 1 each). Default 1; the crawl
    /// sets it to its number of threads.
    pub lanes: u32,
    /// UDP sockets per upstream (and per lane), each connected to its
    /// upstream. Default 4: each has its own receive task and 16-bit ID
    /// space, spreading work over cores and source ports.
    pub sockets: usize,
    /// EDNS(0) UDP payload size advertised (EDNS(0), RFC 6891). Default 1232,
    /// the DNS Flag Day 2020 value that avoids IP fragmentation; larger
    /// answers come back with TC=1 and are fetched over TCP.
    pub edns_payload: u16,
    /// Most CNAME follow-up queries per lookup. Default 8 (as the records
    /// crate's `MemoryResolver`); a longer chain or a loop is SERVFAIL.
    pub max_cname_hops: u32,
    /// Send each socket's burst of queries as one UDP GSO write (Linux
    /// `UDP_SEGMENT`, see `udp(7)`): the kernel then runs its IP output and
    /// delivery path once per burst instead of once per datagram, which was
    /// a quarter of the crawler's CPU against a loopback server. The server
    /// still receives ordinary, separate datagrams. All segments of a GSO
    /// write but the last must have the same length, so with this on every
    /// UDP query carries an EDNS(0) Padding option (RFC 7830) that brings it
    /// to a multiple of 128 octets, the block length RFC 8467 §4.1
    /// recommends for queries. Default `true`; a socket whose kernel or
    /// route refuses GSO falls back to `sendmmsg` for good. Elsewhere than
    /// Linux the setting has no effect.
    pub udp_gso: bool,
}

impl DnsConfig {
    /// Defaults (documented on each field) for the given upstreams.
    pub fn new(upstreams: Vec<SocketAddr>) -> Self {
        DnsConfig {
            upstreams,
            rotate: false,
            attempt_timeout: Duration::from_secs(2),
            retries: 2,
            retry_backoff: Duration::from_millis(50),
            max_in_flight: 8192,
            window_initial: 200,
            window_max: 4096,
            window_min: 8,
            qps: None,
            qps_per_upstream: None,
            lanes: 1,
            sockets: 4,
            edns_payload: 1232,
            max_cname_hops: 8,
            udp_gso: true,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), DnsError> {
        if self.upstreams.is_empty() {
            return Err(DnsError::NoUpstreams);
        }
        if self.attempt_timeout.is_zero() || self.attempt_timeout > Duration::from_secs(3600) {
            return Err(DnsError::InvalidConfig(
                "attempt_timeout must be > 0 and <= 1 h",
            ));
        }
        // Bounded so the jittered, doubled pause cannot overflow a Duration.
        if self.retry_backoff > Duration::from_secs(60) {
            return Err(DnsError::InvalidConfig("retry_backoff must be <= 60 s"));
        }
        if self.max_in_flight == 0 {
            return Err(DnsError::InvalidConfig("max_in_flight must be > 0"));
        }
        if self.max_in_flight > 32_768 {
            // Keeps every socket's 16-bit ID space at most half full.
            return Err(DnsError::InvalidConfig("max_in_flight must be <= 32768"));
        }
        if self.window_initial == 0 {
            return Err(DnsError::InvalidConfig("window_initial must be > 0"));
        }
        if self.window_min == 0 || self.window_min > self.window_max {
            return Err(DnsError::InvalidConfig(
                "window_min must be > 0 and <= window_max",
            ));
        }
        if self.lanes == 0 || self.lanes > 1024 {
            return Err(DnsError::InvalidConfig("lanes must be in 1..=1024"));
        }
        if self.sockets == 0 || self.sockets > 64 {
            return Err(DnsError::InvalidConfig("sockets must be in 1..=64"));
        }
        // Each lane binds `sockets` sockets per upstream, each with three
        // tasks: keep a lane within a few hundred descriptors.
        if self.upstreams.len() * self.sockets > 256 {
            return Err(DnsError::InvalidConfig(
                "upstreams x sockets must be <= 256 (at most 64 upstreams at the default 4 sockets)",
            ));
        }
        if self.edns_payload < 512 {
            return Err(DnsError::InvalidConfig("edns_payload must be >= 512"));
        }
        if self.retries > 16 {
            return Err(DnsError::InvalidConfig("retries must be <= 16"));
        }
        if self.max_cname_hops > 32 {
            return Err(DnsError::InvalidConfig("max_cname_hops must be <= 32"));
        }
        Ok(())
    }
}

/// Burst allowance of a rate limit of `qps`: 1/50 s worth of permits (at
/// least 1). A burst of a full second (governor's default) would let the
/// first second see twice the cap; 20 ms keeps any one-second window within
/// 2 % of it while smoothing timer jitter.
pub(crate) fn burst_for(qps: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new(qps.get() / 50).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bounds_are_enforced() {
        let up: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let ok = DnsConfig::new(vec![up]);
        assert!(ok.validate().is_ok());
        assert!(matches!(
            DnsConfig::new(vec![]).validate(),
            Err(DnsError::NoUpstreams)
        ));
        let bad = |f: fn(&mut DnsConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            matches!(c.validate(), Err(DnsError::InvalidConfig(_)))
        };
        assert!(bad(|c| c.attempt_timeout = Duration::ZERO));
        assert!(bad(|c| c.retry_backoff = Duration::MAX));
        assert!(bad(|c| c.max_in_flight = 32_769));
        assert!(bad(|c| c.window_min = c.window_max + 1));
        assert!(bad(|c| c.sockets = 0));
        assert!(bad(|c| c.upstreams = vec![c.upstreams[0]; 65]));
        assert!(!bad(|c| c.upstreams = vec![c.upstreams[0]; 64]));
        assert!(bad(|c| c.lanes = 0));
        assert!(bad(|c| c.edns_payload = 511));
        assert!(!bad(|c| c.max_in_flight = 32_768));
        assert_eq!(burst_for(NonZeroU32::new(200).unwrap()).get(), 4);
        assert_eq!(burst_for(NonZeroU32::new(10).unwrap()).get(), 1);
    }
}
