//! Engine counters: atomics updated on the hot path, read with [`Stats::snapshot`].

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of one [`crate::DnsClient`] (shared by all its clones).
///
/// Every packet that is dropped is counted, never silently ignored: a growing
/// `dropped_mismatched` means spoofing attempts or a confused upstream, a
/// growing `dropped_malformed` a broken middlebox.
#[derive(Debug, Default)]
pub struct Stats {
    pub(crate) sent: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) tcp_fallbacks: AtomicU64,
    pub(crate) tcp_failures: AtomicU64,
    pub(crate) dropped_mismatched: AtomicU64,
    pub(crate) dropped_malformed: AtomicU64,
    pub(crate) rate_limited_waits: AtomicU64,
    pub(crate) window_waits: AtomicU64,
    pub(crate) window_shrinks: AtomicU64,
    pub(crate) window_presumed_lost: AtomicU64,
    pub(crate) outstanding: AtomicU64,
    pub(crate) outstanding_peak: AtomicU64,
    pub(crate) gso_datagrams: AtomicU64,
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// Query packets sent (UDP datagrams and TCP queries; retries included).
    pub sent: u64,
    /// Replies accepted (matched on ID, source address and question).
    pub received: u64,
    /// Attempts that got no accepted reply within the per-attempt timeout.
    pub timeouts: u64,
    /// Attempts after the first one of a query (timeouts, SERVFAIL, REFUSED).
    pub retries: u64,
    /// Queries repeated over TCP because the UDP reply had TC=1.
    pub tcp_fallbacks: u64,
    /// TCP attempts that failed (connect/read error, deadline, bad reply).
    pub tcp_failures: u64,
    /// Decodable replies dropped: unknown ID, unexpected source address, not a
    /// response, or a question other than the one asked.
    pub dropped_mismatched: u64,
    /// Datagrams dropped because they could not be decoded as DNS messages.
    pub dropped_malformed: u64,
    /// Attempts that had to wait for a rate-limiter permit (global or per upstream).
    pub rate_limited_waits: u64,
    /// Attempts that had to wait for room in an upstream's in-flight window.
    pub window_waits: u64,
    /// Times an upstream's in-flight window was halved after a timeout.
    pub window_shrinks: u64,
    /// Attempts unanswered for so long that they left the in-flight window
    /// before their timeout (presumed lost, see `crate::window`).
    pub window_presumed_lost: u64,
    /// UDP attempts sent and waiting for a reply right now.
    pub outstanding: u64,
    /// The most UDP attempts ever waiting for a reply at once.
    pub outstanding_peak: u64,
    /// UDP queries sent as segments of a GSO write (see
    /// [`crate::DnsConfig::udp_gso`]); the others went out with `sendmmsg`.
    pub gso_datagrams: u64,
}

impl Stats {
    /// Copies every counter (each read is atomic; the set is not a single transaction).
    pub fn snapshot(&self) -> StatsSnapshot {
        let l = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            sent: l(&self.sent),
            received: l(&self.received),
            timeouts: l(&self.timeouts),
            retries: l(&self.retries),
            tcp_fallbacks: l(&self.tcp_fallbacks),
            tcp_failures: l(&self.tcp_failures),
            dropped_mismatched: l(&self.dropped_mismatched),
            dropped_malformed: l(&self.dropped_malformed),
            rate_limited_waits: l(&self.rate_limited_waits),
            window_waits: l(&self.window_waits),
            window_shrinks: l(&self.window_shrinks),
            window_presumed_lost: l(&self.window_presumed_lost),
            outstanding: l(&self.outstanding),
            outstanding_peak: l(&self.outstanding_peak),
            gso_datagrams: l(&self.gso_datagrams),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
