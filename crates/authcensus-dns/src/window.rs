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
//!   when the base is at least [`SLOW_START_BASE`], up to 0.9 × the window
//!   of the last halving; else (and above that) +1/window per reply
//!   (additive increase), up to `window_max`;
//! - it halves (down to `window_min`) on a *burst* of timeouts: at least
//!   `max(3, window/16)` attempts timed out within one round of `window`
//!   replies. Isolated timeouts are names whose servers never answer (common
//!   on the internet and in the testbed universe), not congestion: halving on
//!   each of them collapsed the window to its floor at 50 ms latency
//!   (2026-11-22: ~46 queries in flight instead of hundreds). A buffer
//!   overflow drops many datagrams at once and does halve;
//! - at most one halving per *epoch*: a timeout of an attempt sent before the
//!   last halving does not count, so one burst of losses halves once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::stats::{Stats, bump};

/// How long a minimum round-trip time stays the base: the base is the
/// minimum over the current and the previous period.
pub(crate) const BASE_PERIOD: Duration = Duration::from_secs(10);

/// Queueing delay always tolerated on top of the base round-trip time
/// (scheduling noise of a busy client).
const RTT_SLACK: Duration = Duration::from_micros(250);

/// Slow start only against an upstream at least this far away. A local
/// server's queue fills within one round trip, faster than the delay signal
/// can stop a doubling (measured: slow start from 200 against Knot overshot
/// to 1,178 outstanding and lost 1,481 queries in a 30,000-domain crawl);
/// near upstreams grow additively.
const SLOW_START_BASE: Duration = Duration::from_millis(5);

/// Fewest timeouts in one round that count as a loss burst.
const BURST_MIN: u32 = 3;

#[derive(Debug)]
struct State {
    window: f64,
    outstanding: u32,
    epoch: u64,
    /// Slow start below this window, additive increase above.
    ssthresh: f64,
    /// Replies and (current-epoch) timeouts in the current round.
    round_replies: u32,
    round_timeouts: u32,
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
    /// The attempt timed out: counts towards a loss burst.
    Timeout,
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
                round_timeouts: 0,
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
    pub(crate) async fn acquire<'a>(&'a self, stats: &'a Stats) -> WindowSlot<'a> {
        // Fast path: room now, no waiter registration.
        if let Some(slot) = self.try_take(stats) {
            return slot;
        }
        let mut counted = false;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before checking so a release between the check and
            // the await is not missed.
            notified.as_mut().enable();
            if let Some(slot) = self.try_take(stats) {
                return slot;
            }
            if !counted {
                bump(&stats.window_waits);
                counted = true;
            }
            notified.await;
        }
    }

    /// Takes a slot if the window has room.
    fn try_take<'a>(&'a self, stats: &'a Stats) -> Option<WindowSlot<'a>> {
        let mut s = self.lock();
        if f64::from(s.outstanding) < s.window.floor().max(1.0) {
            s.outstanding += 1;
            return Some(WindowSlot {
                window: self,
                stats,
                epoch: s.epoch,
                event: WindowEvent::Neutral,
            });
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
                        let step = if s.window < s.ssthresh && base >= SLOW_START_BASE {
                            1.0
                        } else {
                            1.0 / s.window.max(1.0)
                        };
                        s.window = (s.window + step).min(self.max);
                    }
                    s.round_replies += 1;
                    if f64::from(s.round_replies) >= s.window {
                        s.round_replies = 0;
                        s.round_timeouts = 0;
                    }
                }
                WindowEvent::Timeout if epoch == s.epoch => {
                    s.round_timeouts += 1;
                    // Truncation intended: window/16 of a window below 2^36.
                    let burst = BURST_MIN.max((s.window / 16.0) as u32);
                    if s.round_timeouts >= burst {
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
                        s.round_replies = 0;
                        s.round_timeouts = 0;
                    }
                }
                WindowEvent::Timeout | WindowEvent::Neutral => {}
            }
            f64::from(s.outstanding) < s.window.floor().max(1.0)
        };
        if free {
            self.notify.notify_one();
        }
        shrunk
    }
}

impl State {
    /// Records a round-trip time; returns the base (recent minimum).
    fn observe_rtt(&mut self, rtt: Duration) -> Duration {
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

    #[test]
    fn isolated_timeouts_do_not_shrink_a_burst_halves_once_per_epoch() {
        let stats = Stats::default();
        let w = Window::new(4, 64, 64);
        rt().block_on(async {
            // Two timeouts in a round: dead names, not congestion.
            let a = w.acquire(&stats).await;
            let b = w.acquire(&stats).await;
            a.finish(WindowEvent::Timeout);
            b.finish(WindowEvent::Timeout);
            assert_eq!(w.current(), (64, 0));
            // A burst (max(3, 64/16) = 4 in one round) halves once, however
            // many more of the same epoch follow.
            let slots = take(&w, &stats, 8).await;
            for s in slots {
                s.finish(WindowEvent::Timeout);
            }
            assert_eq!(w.current(), (32, 0));
            assert_eq!(stats.snapshot().window_shrinks, 1);
            // Bursts in later epochs halve again, not below the floor.
            for expected in [16, 8, 4, 4] {
                let slots = take(&w, &stats, 4).await;
                for s in slots {
                    s.finish(WindowEvent::Timeout);
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
        // A near upstream (base below 5 ms) grows additively: about one
        // slot per window of fast replies.
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

    async fn take<'a>(w: &'a Window, s: &'a Stats, n: usize) -> Vec<WindowSlot<'a>> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(w.acquire(s).await);
        }
        v
    }
}
