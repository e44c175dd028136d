//! The adaptive in-flight window of one upstream.
//!
//! A resolver's receive buffer holds only so many datagrams: Knot with one
//! UDP worker starts dropping beyond about 200-250 queued queries (its socket
//! keeps the kernel's default 208 KiB receive buffer), and a dropped query
//! costs a full attempt timeout. A far-away or slow resolver, on the other
//! hand, needs thousands of queries outstanding: at 50 ms per answer, 200
//! outstanding cap the crawl at 4,000 queries/s. So each upstream gets a
//! window on outstanding UDP attempts, like TCP's congestion window:
//!
//! - it starts at `window_initial` (default 200, safe for a local server);
//! - it grows only on replies that show no queueing: a reply whose round-trip
//!   time is at most `2 × base + 0.25 ms`, where `base` is the smallest
//!   round-trip time seen recently (the last one to two [`BASE_PERIOD`]s).
//!   A local server whose queue fills answers ever later, so the window stops
//!   growing before its buffer overflows; a distant server (base 50 ms)
//!   answers at the base time however many queries wait, so the window grows;
//! - growth is +1 per such reply (doubling per round trip, TCP's slow start)
//!   when the *smoothed* round-trip time (the mean of all replies, as TCP's
//!   SRTT, RFC 6298 §2) is at least [`SLOW_START_RTT`], up to 0.9 × the
//!   window of the last halving; else (and above that) +1/window per reply
//!   (additive increase), up to `window_max`. The smoothed time, not the
//!   base, decides: a recursive resolver answers its cache hits in 0.1 ms and
//!   everything else after recursion, tens of milliseconds later, so only
//!   the few cache hits show no queueing; judged by the base it would be a
//!   near server and grow by a fraction of a slot per round trip;
//! - it halves (down to `window_min`) on a *burst* of timeouts: attempts for
//!   at least `max(3, window/16)` distinct domains ([`timeout_key`]) timed
//!   out within one round of `window` replies. Isolated timeouts are names
//!   whose servers never answer (common on the internet and in the testbed
//!   universe), not congestion: halving on each of them collapsed the window
//!   to its floor at 50 ms latency (2026-11-22: ~46 queries in flight
//!   instead of hundreds). A dead domain times out all its lookups at once
//!   (a crawl starts them together: seven and more), so counting attempts
//!   instead of domains let every dead domain halve the window (2026-12-07:
//!   20-24 halvings and 35-40 s for 30,000 domains at 0 ms against the
//!   testbed's 0.19 % never-answering domains, 9 s at 4 ms). A buffer
//!   overflow drops the queries of many domains at once and does halve;
//! - at most one halving per *epoch*: a timeout of an attempt sent before the
//!   last halving does not count, so one burst of losses halves once.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::rr::Name;
use tokio::sync::Notify;

use crate::stats::{Stats, bump};

/// How long a minimum round-trip time stays the base: the base is the
/// minimum over the current and the previous period.
pub(crate) const BASE_PERIOD: Duration = Duration::from_secs(10);

/// Queueing delay always tolerated on top of the base round-trip time
/// (scheduling noise of a busy client).
const RTT_SLACK: Duration = Duration::from_micros(250);

/// Slow start only against an upstream whose smoothed round-trip time is at
/// least this. A local server's queue fills within one round trip, faster
/// than the delay signal can stop a doubling (measured: slow start from 200
/// against Knot overshot to 1,178 outstanding and lost 1,481 queries in a
/// 30,000-domain crawl); near upstreams grow additively.
const SLOW_START_RTT: Duration = Duration::from_millis(5);

/// Weight of a new round-trip time in the smoothed one (RFC 6298 §2's
/// alpha, 1/8).
const SRTT_GAIN: f64 = 1.0 / 8.0;

/// Fewest timeouts in one round that count as a loss burst.
const BURST_MIN: u32 = 3;

#[derive(Debug)]
struct State {
    window: f64,
    outstanding: u32,
    epoch: u64,
    /// Slow start below this window, additive increase above.
    ssthresh: f64,
    /// Replies in the current round.
    round_replies: u32,
    /// Distinct [`timeout_key`]s of the current round's (current-epoch)
    /// timeouts; never more than a burst's worth, as a burst clears it.
    round_timeouts: HashSet<u64>,
    /// Smoothed round-trip time of all replies, in seconds (0 before the
    /// first reply).
    srtt: f64,
    /// Minimum round-trip time of the current and of the previous period.
    rtt_cur: Option<Duration>,
    rtt_prev: Option<Duration>,
    period_start: Instant,
}

/// The window of one upstream.
#[derive(Debug)]
pub(crate) struct Window {
    state: Mutex<State>,
    notify: Notify,
    min: f64,
    max: f64,
}

/// How an attempt holding a window slot ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowEvent {
    /// A reply was accepted after this round-trip time: maybe grow.
    Reply(Duration),
    /// The attempt timed out: counts towards a loss burst, once per
    /// [`timeout_key`] in a round.
    Timeout(u64),
    /// Neither (send error, cancellation): just release the slot.
    Neutral,
}

/// A slot in a [`Window`], released on drop.
#[derive(Debug)]
pub(crate) struct WindowSlot<'a> {
    window: &'a Window,
    stats: &'a Stats,
    epoch: u64,
    event: WindowEvent,
}

impl Window {
    pub(crate) fn new(min: u32, initial: u32, max: u32) -> Self {
        let (min, max) = (f64::from(min), f64::from(max));
        Window {
            state: Mutex::new(State {
                window: f64::from(initial).clamp(min, max),
                outstanding: 0,
                epoch: 0,
                ssthresh: f64::INFINITY,
                round_replies: 0,
                round_timeouts: HashSet::new(),
                srtt: 0.0,
                rtt_cur: None,
                rtt_prev: None,
                period_start: Instant::now(),
            }),
            notify: Notify::new(),
            min,
            max,
        }
    }

    /// Current window size (rounded down) and outstanding attempts.
    #[cfg(test)]
    pub(crate) fn current(&self) -> (u32, u32) {
        let s = self.lock();
        (s.window as u32, s.outstanding)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means another task panicked mid-update of
        // plain numbers; the numbers are still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for room in the window and takes a slot.
    ///
    /// A release wakes one waiter, but a reply can make room for two (the
    /// released slot and one grown): a waiter that takes a slot and still
    /// sees room wakes the next, so a growing window fills at once. Without
    /// that, growth reached only new arrivals, and queries already waiting
    /// went out one per reply (2026-12-07: 81 outstanding in a window grown
    /// past 1,000).
    pub(crate) async fn acquire<'a>(&'a self, stats: &'a Stats) -> WindowSlot<'a> {
        // Fast path: room now, no waiter registration.
        if let Some((slot, _)) = self.try_take(stats) {
            return slot;
        }
        let mut counted = false;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before checking so a release between the check and
            // the await is not missed.
            notified.as_mut().enable();
            if let Some((slot, more)) = self.try_take(stats) {
                if more && counted {
                    self.notify.notify_one();
                }
                return slot;
            }
            if !counted {
                bump(&stats.window_waits);
                counted = true;
            }
            notified.await;
        }
    }

    /// Takes a slot if the window has room; also says whether room is left.
    fn try_take<'a>(&'a self, stats: &'a Stats) -> Option<(WindowSlot<'a>, bool)> {
        let mut s = self.lock();
        let room = s.window.floor().max(1.0);
        if f64::from(s.outstanding) < room {
            s.outstanding += 1;
            let slot = WindowSlot {
                window: self,
                stats,
                epoch: s.epoch,
                event: WindowEvent::Neutral,
            };
            return Some((slot, f64::from(s.outstanding) < room));
        }
        None
    }

    fn release(&self, epoch: u64, event: WindowEvent) -> bool {
        let mut shrunk = false;
        let free = {
            let mut s = self.lock();
            s.outstanding = s.outstanding.saturating_sub(1);
            match event {
                WindowEvent::Reply(rtt) => {
                    let base = s.observe_rtt(rtt);
                    if rtt <= base * 2 + RTT_SLACK {
                        let far = s.srtt >= SLOW_START_RTT.as_secs_f64();
                        let step = if s.window < s.ssthresh && far {
                            1.0
                        } else {
                            1.0 / s.window.max(1.0)
                        };
                        s.window = (s.window + step).min(self.max);
                    }
                    s.round_replies += 1;
                    if f64::from(s.round_replies) >= s.window {
                        s.new_round();
                    }
                }
                WindowEvent::Timeout(key) if epoch == s.epoch => {
                    s.round_timeouts.insert(key);
                    // Truncation intended: window/16 of a window below 2^36.
                    let burst = BURST_MIN.max((s.window / 16.0) as u32);
                    if s.round_timeouts.len() >= burst as usize {
                        let halved = (s.window / 2.0).max(self.min);
                        shrunk = halved < s.window;
                        // A distant upstream slow-starts back to just below
                        // the window that lost: its losses are detected an
                        // attempt timeout late, and dead names time out in
                        // bursts too, so regrowing at +1 per round trip (20
                        // per second at 50 ms) would keep it far too small.
                        s.ssthresh = s.window * 0.9;
                        s.window = halved;
                        s.epoch += 1;
                        s.new_round();
                    }
                }
                WindowEvent::Timeout(_) | WindowEvent::Neutral => {}
            }
            f64::from(s.outstanding) < s.window.floor().max(1.0)
        };
        if free {
            self.notify.notify_one();
        }
        shrunk
    }
}

/// The domain an attempt for `name` belongs to, hashed: the name without
/// its leading labels up to the last one that starts with `_` (so
/// `x.example`, `_dmarc.x.example`, `_mta-sts.x.example`,
/// `_smtp._tls.x.example` and `default._bimi.x.example` are one domain),
/// compared case-insensitively. Timeouts count towards a loss burst once per
/// key and round. Two domains whose keys collide count once; that only
/// makes a burst need one more domain.
pub(crate) fn timeout_key(name: &Name) -> u64 {
    let skip = name
        .iter()
        .rposition(|label| label.first() == Some(&b'_'))
        .map_or(0, |i| i + 1);
    let mut h = DefaultHasher::new();
    for label in name.iter().skip(skip) {
        // The length keeps `ab.c` and `a.bc` apart.
        h.write_usize(label.len());
        for b in label {
            h.write_u8(b.to_ascii_lowercase());
        }
    }
    h.finish()
}

impl State {
    fn new_round(&mut self) {
        self.round_replies = 0;
        if !self.round_timeouts.is_empty() {
            self.round_timeouts.clear();
        }
    }

    /// Records a round-trip time (base and smoothed); returns the base
    /// (recent minimum).
    fn observe_rtt(&mut self, rtt: Duration) -> Duration {
        let secs = rtt.as_secs_f64();
        self.srtt = if self.srtt == 0.0 {
            secs
        } else {
            self.srtt + SRTT_GAIN * (secs - self.srtt)
        };
        if self.period_start.elapsed() >= BASE_PERIOD {
            self.rtt_prev = self.rtt_cur.take();
            self.period_start = Instant::now();
        }
        let cur = self.rtt_cur.map_or(rtt, |c| c.min(rtt));
        self.rtt_cur = Some(cur);
        self.rtt_prev.map_or(cur, |p| p.min(cur))
    }
}

impl WindowSlot<'_> {
    /// Releases the slot, applying how the attempt ended.
    pub(crate) fn finish(mut self, event: WindowEvent) {
        self.event = event;
    }
}

impl Drop for WindowSlot<'_> {
    fn drop(&mut self) {
        if self.window.release(self.epoch, self.event) {
            bump(&self.stats.window_shrinks);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: WindowEvent = WindowEvent::Reply(Duration::from_micros(100));

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A timeout of an attempt for domain `n` of the test.
    fn lost(n: u64) -> WindowEvent {
        WindowEvent::Timeout(n)
    }

    #[test]
    fn isolated_timeouts_do_not_shrink_a_burst_halves_once_per_epoch() {
        let stats = Stats::default();
        let w = Window::new(4, 64, 64);
        rt().block_on(async {
            // Two domains' timeouts in a round: dead names, not congestion.
            let a = w.acquire(&stats).await;
            let b = w.acquire(&stats).await;
            a.finish(lost(1));
            b.finish(lost(2));
            assert_eq!(w.current(), (64, 0));
            // Nor do many timeouts of one domain (its lookups start, and
            // time out, together), nor of those two domains again.
            for s in take(&w, &stats, 16).await {
                s.finish(lost(1));
            }
            w.acquire(&stats).await.finish(lost(2));
            assert_eq!(w.current(), (64, 0));
            assert_eq!(stats.snapshot().window_shrinks, 0);
            // A burst (max(3, 64/16) = 4 domains in one round) halves once,
            // however many more of the same epoch follow.
            let slots = take(&w, &stats, 8).await;
            for (n, s) in slots.into_iter().enumerate() {
                s.finish(lost(10 + n as u64));
            }
            assert_eq!(w.current(), (32, 0));
            assert_eq!(stats.snapshot().window_shrinks, 1);
            // Bursts in later epochs halve again, not below the floor.
            for expected in [16, 8, 4, 4] {
                let slots = take(&w, &stats, 4).await;
                for (n, s) in slots.into_iter().enumerate() {
                    s.finish(lost(n as u64));
                }
                assert_eq!(w.current(), (expected, 0));
            }
            assert_eq!(stats.snapshot().window_shrinks, 4);
            // After a halving, growth is additive: about `window` fast
            // replies add one slot.
            for _ in 0..5 {
                let s = w.acquire(&stats).await;
                s.finish(FAST);
            }
            assert_eq!(w.current(), (5, 0));
            // A full window makes the next acquire wait until a release.
            let held: Vec<_> = take(&w, &stats, 5).await;
            let waiter = w.acquire(&stats);
            tokio::pin!(waiter);
            assert!(
                tokio::time::timeout(Duration::from_millis(20), waiter.as_mut())
                    .await
                    .is_err()
            );
            drop(held);
            let _slot = waiter.await;
            assert_eq!(stats.snapshot().window_waits, 1);
        });
    }

    #[test]
    fn a_round_of_replies_forgets_earlier_timeouts() {
        let stats = Stats::default();
        let w = Window::new(4, 8, 8);
        rt().block_on(async {
            // Three domains is a burst at a window of 8, but not when a
            // round of 8 replies passes between the second and the third.
            for n in 0..2 {
                w.acquire(&stats).await.finish(lost(n));
            }
            for _ in 0..8 {
                w.acquire(&stats).await.finish(FAST);
            }
            w.acquire(&stats).await.finish(lost(2));
            assert_eq!(w.current(), (8, 0));
            // Within one round they are.
            for n in 3..5 {
                w.acquire(&stats).await.finish(lost(n));
            }
            assert_eq!(w.current(), (4, 0));
        });
    }

    #[test]
    fn timeout_key_is_the_domain_without_service_labels() {
        let key = |s: &str| timeout_key(&Name::from_ascii(s).unwrap());
        let domain = key("x.example.com.");
        for name in [
            "X.Example.COM.",
            "_dmarc.x.example.com.",
            "_mta-sts.x.example.com.",
            "_smtp._tls.x.example.com.",
            "default._bimi.x.example.com.",
            "sel._domainkey.x.example.com",
        ] {
            assert_eq!(key(name), domain, "{name}");
        }
        for name in [
            "y.example.com.",
            "example.com.",
            "_dmarc.example.com.",
            "mta-sts.x.example.com.",
            "xe.xample.com.",
        ] {
            assert_ne!(key(name), domain, "{name}");
        }
    }

    #[test]
    fn slow_start_grows_only_on_replies_without_queueing() {
        let stats = Stats::default();
        let w = Window::new(8, 16, 1000);
        let ms = |n| WindowEvent::Reply(Duration::from_millis(n));
        rt().block_on(async {
            // Base 50 ms (a distant server): replies near the base double
            // the window per round.
            for _ in 0..16 {
                w.acquire(&stats).await.finish(ms(50));
            }
            assert_eq!(w.current(), (32, 0));
            // Replies far above the base (a queue building up) do not grow it.
            for _ in 0..40 {
                w.acquire(&stats).await.finish(ms(102));
            }
            assert_eq!(w.current(), (32, 0));
            // Up to 2 x base + 0.25 ms still counts as no queueing.
            let us = |n| WindowEvent::Reply(Duration::from_micros(n));
            w.acquire(&stats).await.finish(us(100_300));
            assert_eq!(w.current(), (32, 0));
            w.acquire(&stats).await.finish(us(100_250));
            assert_eq!(w.current(), (33, 0));
        });
        // Never above the maximum.
        let capped = Window::new(1, 4, 6);
        rt().block_on(async {
            for _ in 0..10 {
                capped.acquire(&stats).await.finish(ms(50));
            }
        });
        assert_eq!(capped.current(), (6, 0));
        // A near upstream (smoothed round trip below 5 ms) grows
        // additively: about one slot per window of fast replies.
        let near = Window::new(1, 10, 100);
        rt().block_on(async {
            for _ in 0..10 {
                near.acquire(&stats).await.finish(FAST);
            }
        });
        assert_eq!(near.current(), (10, 0));
        rt().block_on(async { near.acquire(&stats).await.finish(FAST) });
        assert_eq!(near.current(), (11, 0));
    }

    #[test]
    fn a_recursive_resolver_slow_starts_on_its_cache_hits() {
        // Cache hits in 0.1 ms set the base; recursion answers in 40 ms,
        // far above it, and grows nothing. The smoothed round trip (tens of
        // milliseconds) makes each cache hit a doubling step, not 1/window.
        let stats = Stats::default();
        let w = Window::new(8, 16, 1000);
        let slow = WindowEvent::Reply(Duration::from_millis(40));
        rt().block_on(async {
            for _ in 0..16 {
                for _ in 0..3 {
                    w.acquire(&stats).await.finish(slow);
                }
                w.acquire(&stats).await.finish(FAST);
            }
        });
        // The first three replies (slow, before a cache hit sets the base
        // to 0.1 ms) count as unqueued too: 16 + 3 + 16. Judged by the base
        // the window would have reached 16 + 3 + about 1.
        assert_eq!(w.current(), (35, 0));
    }

    async fn take<'a>(w: &'a Window, s: &'a Stats, n: usize) -> Vec<WindowSlot<'a>> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(w.acquire(s).await);
        }
        v
    }
}
