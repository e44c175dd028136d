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
//! - it halves (down to `window_min`) on a *burst* of timeouts: at least
//!   [`BURST_LOSSES`] (28) lost attempts among [`LOSS_SPAN`] (128)
//!   consecutive slots in the order they were taken (about send order),
//!   counting at most [`LOSS_PER_DOMAIN`] per domain ([`timeout_key`]);
//!   on a lossy path more, five standard deviations above what its
//!   background loss rate puts in a span ([`State::burst_losses`]). A
//!   full receive buffer drops what arrives while it is full, so an
//!   overflow loses a block of the attempts sent together: at least one
//!   socket's whole burst, every fourth slot with the four sockets a lane
//!   sends through, and usually more. Random loss
//!   drops isolated attempts: at 10 % a span of 128 slots holds 28 losses
//!   with probability 6e-5 (binomial tail), so it does not halve. Counting
//!   every timeout in a round as a burst (at `max(3, window/64)` domains)
//!   read random loss as congestion: the fault network's 10 % loss held the
//!   window at its floor (20,000 domains in 59.6-63.6 s with 250-265
//!   halvings, against 8.7-9.6 s with a floor of 512; 2026-12-07). Dead
//!   domains are not congestion either: a domain whose servers never answer
//!   times out all its lookups at once (a crawl starts them together: seven
//!   and more, in consecutive slots), hence the cap per domain; counting
//!   attempts let every dead domain halve the window (2026-12-07: 20-24
//!   halvings and 35-40 s for 30,000 domains at 0 ms against the testbed's
//!   0.19 % never-answering domains, 9 s at 4 ms);
//! - at most one halving per *epoch*: a timeout of an attempt sent before the
//!   last halving does not count, so one burst of losses halves once;
//! - an attempt still unanswered `lost_after` (`max(50 ms, 4 × smoothed
//!   round trip)`, 500 ms before the first reply) is *presumed lost* and leaves the window, as RFC 8985
//!   (RACK) marks a segment lost long before its retransmission timeout: the
//!   window limits the queries queued at the upstream, and a query whose
//!   reply is that late is not in its queue (a dead domain's server never
//!   answers; a dropped datagram is gone). Held to their full attempt
//!   timeout (2 s), the dead domains' queries filled the window: 65 of
//!   30,000 domains kept it full through 210,000 waits, and their timeouts
//!   added up to halvings (2026-12-07, 0 ms: 88-131 s for 30,000 domains,
//!   against 9 s at 4 ms).
//!   The attempt's timeout still counts towards a loss burst when it comes.
//!
//! The room is handed out first come, first served (a fair semaphore whose
//! permits follow the window: growth adds permits, a halving takes back the
//! free ones and the slots out above the new window return none).

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hasher};
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore};

use crate::qname::QName;
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

/// Consecutive slots (in the order they were taken) whose losses add up to
/// a burst. Fixed, whatever the window: in a shorter span random loss would
/// make a burst more easily (at 10 %, 14 of 64 with probability 2e-3, 28 of
/// 128 with 6e-5), so a small window would halve more readily than a large
/// one and stay small.
const LOSS_SPAN: u64 = 128;

/// Losses in a span that make a burst on a clean path: 7/32 of it, a
/// quarter less a margin for the domains whose two counted losses straddle
/// the span's ends. On a lossy path more ([`State::burst_losses`]).
const BURST_LOSSES: u32 = 28;

/// Ended slots the background loss rate ([`State::loss_rate`]) averages
/// over: each new one weighs 1/4096 once that many have been seen.
const LOSS_RATE_SLOTS: u32 = 4096;

/// Loss-free slots a new window counts in its background loss rate before
/// the first real one: a path lossy from the start raises the bar after a
/// few hundred slots, while a buffer that overflows in the first round
/// still halves the window at the bar of a clean path (a plain average
/// from the first slot would make that round's losses the background).
const LOSS_PRIOR: u32 = 256;

/// Standard deviations above the background a span's losses must be to
/// make a burst.
const BURST_SIGMAS: f64 = 5.0;

/// Timeouts of one domain ([`timeout_key`]) counted towards a burst within
/// a span: its lookups start together and a dead domain loses them all.
const LOSS_PER_DOMAIN: u32 = 2;

/// Shortest time after which an unanswered attempt is presumed lost
/// ([`State::lost_after`]): far above any queueing delay of a local server (a few
/// milliseconds), and above the scheduling delays of a busy client.
const LOST_MIN: Duration = Duration::from_millis(50);

/// An unanswered attempt is presumed lost after this many smoothed round
/// trips (if longer than [`LOST_MIN`]).
const LOST_SRTTS: f64 = 4.0;

/// [`State::lost_after`] before the first reply, when there is no round trip to go
/// by: long enough for a distant upstream's first answers (RFC 6298 §2.1
/// starts its retransmission timer at 1 s for the same reason).
const LOST_INITIAL: Duration = Duration::from_millis(500);

/// Slots remembered beyond four windows before due presumed losses are
/// taken out even with room in the window (`Window::register`).
const FLIGHTS_SLACK: usize = 1024;

/// An attempt holding a slot, in the order the slots were taken.
#[derive(Debug, Clone, Copy)]
struct Flight {
    at: Instant,
    /// Released (the entry waits for the ones before it to go).
    done: bool,
}

#[derive(Debug)]
struct State {
    window: f64,
    outstanding: u32,
    epoch: u64,
    /// Slow start below this window, additive increase above.
    ssthresh: f64,
    /// The current epoch's timeouts as (slot number, [`timeout_key`]), in
    /// slot order, at most two spans back from the latest.
    losses: VecDeque<(u64, u64)>,
    /// Timeouts per ended slot (replies and timeouts), a moving average
    /// over the last few thousand (the plain average of the first ones).
    loss_rate: f64,
    /// Slots in `loss_rate`, counted up to [`LOSS_RATE_SLOTS`]; starts at
    /// [`LOSS_PRIOR`].
    loss_samples: u32,
    /// Smoothed round-trip time of all replies, in seconds (0 before the
    /// first reply).
    srtt: f64,
    /// Minimum round-trip time of the current and of the previous period.
    rtt_cur: Option<Duration>,
    rtt_prev: Option<Duration>,
    period_start: Instant,
    /// Slots taken and not yet presumed lost, oldest first; `outstanding`
    /// counts the entries not done. The slot taken as number `n` is entry
    /// `n - front_seq`, or was presumed lost (or released) if below.
    flights: VecDeque<Flight>,
    front_seq: u64,
    /// A waiter sleeps with a timer for the next presumed loss (one at a
    /// time, so waiting costs a timer only when the window is clogged).
    watchdog: bool,
    /// Permits in circulation: the semaphore's free ones, those on their
    /// way to a waiter, and `outstanding`. Above [`State::cap`] after a
    /// halving until enough slots are released (a debt: their permits are
    /// not returned).
    granted: u32,
}

/// The window of one upstream.
#[derive(Debug)]
pub(crate) struct Window {
    state: Mutex<State>,
    /// Free slots; every change of the room goes through [`State::give`]
    /// and [`State::resize`] under the state's lock.
    permits: Semaphore,
    /// Wakes a waiter to take over the watchdog when its holder leaves.
    watch_vacant: Notify,
    min: f64,
    max: f64,
}

/// How an attempt holding a window slot ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowEvent {
    /// A reply was accepted after this round-trip time: maybe grow.
    Reply(Duration),
    /// The attempt timed out: counts towards a loss burst, at most
    /// [`LOSS_PER_DOMAIN`] times per [`timeout_key`] in a span.
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
    seq: u64,
    at: Instant,
    event: WindowEvent,
}

impl Window {
    pub(crate) fn new(min: u32, initial: u32, max: u32) -> Self {
        let (min, max) = (f64::from(min), f64::from(max));
        let mut state = State {
            window: f64::from(initial).clamp(min, max),
            outstanding: 0,
            epoch: 0,
            ssthresh: f64::INFINITY,
            losses: VecDeque::new(),
            loss_rate: 0.0,
            loss_samples: LOSS_PRIOR,
            srtt: 0.0,
            rtt_cur: None,
            rtt_prev: None,
            period_start: Instant::now(),
            flights: VecDeque::new(),
            front_seq: 0,
            watchdog: false,
            granted: 0,
        };
        state.granted = state.cap();
        Window {
            permits: Semaphore::new(state.granted as usize),
            state: Mutex::new(state),
            watch_vacant: Notify::new(),
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

    /// Waits for room in the window and takes a slot, first come, first
    /// served.
    ///
    /// The room is a fair semaphore's permits (tokio's [`Semaphore`] hands a
    /// returned permit to the longest waiter; a newcomer gets one only when
    /// nobody waits). Before (a `Notify` woke one waiter per release and any
    /// newcomer could take the slot first), a waiter that lost that race
    /// queued again at the back: in the resolver-like integration test,
    /// dead lookups queued among the first 540 of 16,040 ended 1.23-1.40 s
    /// after the start, after the last live answer (now 0.43-0.45 s;
    /// 2026-12-07).
    pub(crate) async fn acquire<'a>(&'a self, stats: &'a Stats) -> WindowSlot<'a> {
        // Fast path: a free permit and nobody waiting.
        if let Ok(permit) = self.permits.try_acquire() {
            permit.forget();
            return self.register(stats);
        }
        bump(&stats.window_waits);
        let mut watch = Watch {
            window: self,
            held: false,
        };
        let acquire = self.permits.acquire();
        tokio::pin!(acquire);
        let permit = loop {
            // Take out what is presumed lost (its permits go to the queue's
            // head, maybe this waiter); one waiter keeps a timer for the next.
            let due = self.watch(stats, &mut watch.held);
            let upkeep = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => self.watch_vacant.notified().await,
                }
            };
            tokio::select! {
                biased;
                p = acquire.as_mut() => break p,
                () = upkeep => {}
            }
        };
        // The semaphore is never closed; were it, the slot is still counted
        // and released like any other.
        if let Ok(permit) = permit {
            permit.forget();
        }
        drop(watch);
        self.register(stats)
    }

    /// Counts a slot whose permit the caller holds.
    fn register<'a>(&'a self, stats: &'a Stats) -> WindowSlot<'a> {
        let mut s = self.lock();
        let now = Instant::now();
        // A window that is not full keeps everything taken since its oldest
        // live slot listed: bounded by a few windows, not by the attempt
        // timeout times the query rate.
        if s.flights.len() > FLIGHTS_SLACK + 4 * s.cap() as usize {
            self.presume_lost(&mut s, stats, now);
        }
        s.outstanding += 1;
        let seq = s.front_seq + s.flights.len() as u64;
        s.flights.push_back(Flight {
            at: now,
            done: false,
        });
        WindowSlot {
            window: self,
            stats,
            epoch: s.epoch,
            seq,
            at: now,
            event: WindowEvent::Neutral,
        }
    }

    /// A waiter's turn at the window's upkeep: takes out the attempts
    /// presumed lost by now, and returns when the next one is due if this
    /// waiter is (or now becomes) the window's watchdog; `watchdog` is
    /// whether it is, before and after.
    fn watch(&self, stats: &Stats, watchdog: &mut bool) -> Option<Instant> {
        let mut s = self.lock();
        let now = Instant::now();
        self.presume_lost(&mut s, stats, now);
        if !s.watchdog {
            s.watchdog = true;
            *watchdog = true;
        }
        if !*watchdog {
            return None;
        }
        let lost_after = s.lost_after();
        // Nothing unanswered (the room went to waiters ahead of this one):
        // look again after `lost_after`, the earliest a slot taken now can
        // be due.
        Some(
            s.flights
                .iter()
                .find(|f| !f.done)
                .map_or(now + lost_after, |f| f.at + lost_after),
        )
    }

    fn presume_lost(&self, s: &mut State, stats: &Stats, now: Instant) {
        let lost = s.presume_lost(now);
        if lost > 0 {
            stats
                .window_presumed_lost
                .fetch_add(lost, Ordering::Relaxed);
            // Truncation intended: at most the outstanding count (u32).
            s.give(&self.permits, lost as u32);
        }
    }

    fn release(&self, seq: u64, epoch: u64, event: WindowEvent) -> bool {
        let mut shrunk = false;
        let mut s = self.lock();
        let landed = s.land(seq);
        match event {
            WindowEvent::Reply(_) => s.observe_loss(0.0),
            WindowEvent::Timeout(_) => s.observe_loss(1.0),
            WindowEvent::Neutral => {}
        }
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
            }
            WindowEvent::Timeout(key) if epoch == s.epoch => {
                if s.record_loss(seq, key) {
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
                    s.losses.clear();
                }
            }
            WindowEvent::Timeout(_) | WindowEvent::Neutral => {}
        }
        if landed {
            s.give(&self.permits, 1);
        }
        s.resize(&self.permits);
        shrunk
    }
}

/// The domain an attempt for `name` belongs to, hashed: the name without
/// its leading labels up to the last one that starts with `_` (so
/// `x.example`, `_dmarc.x.example`, `_mta-sts.x.example`,
/// `_smtp._tls.x.example` and `default._bimi.x.example` are one domain),
/// compared case-insensitively. Timeouts count towards a loss burst at most
/// [`LOSS_PER_DOMAIN`] times per key in a span. Two domains whose keys
/// collide count as one; that only makes a burst need one more loss.
pub(crate) fn timeout_key(name: &QName) -> u64 {
    let skip = name
        .labels()
        .enumerate()
        .filter(|(_, label)| label.first() == Some(&b'_'))
        .last()
        .map_or(0, |(i, _)| i + 1);
    let mut h = DefaultHasher::new();
    for label in name.labels().skip(skip) {
        // The length keeps `ab.c` and `a.bc` apart.
        h.write_usize(label.len());
        for b in label {
            h.write_u8(b.to_ascii_lowercase());
        }
    }
    h.finish()
}

impl State {
    /// Marks slot `seq` released; false if it was presumed lost already
    /// (its room was given back then).
    fn land(&mut self, seq: u64) -> bool {
        let Some(i) = seq.checked_sub(self.front_seq) else {
            return false;
        };
        let Some(f) = usize::try_from(i)
            .ok()
            .and_then(|i| self.flights.get_mut(i))
        else {
            return false;
        };
        let landed = !f.done;
        if landed {
            f.done = true;
            self.outstanding = self.outstanding.saturating_sub(1);
        }
        while self.flights.front().is_some_and(|f| f.done) {
            self.flights.pop_front();
            self.front_seq += 1;
        }
        landed
    }

    /// The room: the window rounded down, at least one slot.
    fn cap(&self) -> u32 {
        // Truncation intended: a window is a u32 count.
        self.window.floor().max(1.0) as u32
    }

    /// Returns the permits of `n` slots that left the window, less what is
    /// owed since a halving.
    fn give(&mut self, permits: &Semaphore, n: u32) {
        let keep = n.min(self.granted.saturating_sub(self.cap()));
        self.granted -= keep;
        if n > keep {
            permits.add_permits((n - keep) as usize);
        }
    }

    /// Brings the permits in circulation to the room: adds what the window
    /// grew by, takes back free permits it shrank by (the rest is owed by
    /// the slots out, [`State::give`]).
    fn resize(&mut self, permits: &Semaphore) {
        let cap = self.cap();
        if cap > self.granted {
            permits.add_permits((cap - self.granted) as usize);
            self.granted = cap;
        } else if cap < self.granted {
            // Truncation intended: at most granted - cap (u32).
            self.granted -= permits.forget_permits((self.granted - cap) as usize) as u32;
        }
    }

    /// How long an unanswered attempt holds its slot.
    fn lost_after(&self) -> Duration {
        if self.srtt == 0.0 {
            return LOST_INITIAL;
        }
        LOST_MIN.max(Duration::from_secs_f64(self.srtt * LOST_SRTTS))
    }

    /// Takes the attempts unanswered for [`State::lost_after`] out of the
    /// window; returns how many.
    fn presume_lost(&mut self, now: Instant) -> u64 {
        let lost_after = self.lost_after();
        let mut lost = 0;
        while let Some(f) = self.flights.front() {
            if !f.done {
                if now.saturating_duration_since(f.at) < lost_after {
                    break;
                }
                self.outstanding = self.outstanding.saturating_sub(1);
                lost += 1;
            }
            self.flights.pop_front();
            self.front_seq += 1;
        }
        lost
    }

    /// Adds one ended slot (`lost` 1 or 0) to the background loss rate.
    fn observe_loss(&mut self, lost: f64) {
        self.loss_samples = (self.loss_samples + 1).min(LOSS_RATE_SLOTS);
        self.loss_rate += (lost - self.loss_rate) / f64::from(self.loss_samples);
    }

    /// Losses in a span of [`LOSS_SPAN`] slots that make a burst: at
    /// least [`BURST_LOSSES`], and [`BURST_SIGMAS`] standard deviations
    /// above what the background loss rate puts in a span (binomial), at
    /// most three quarters of the span. A path that loses 15 % of its
    /// queries at random (the fault network: 10 % dropped, plus the
    /// lookups of silent domains and their retries) has 28 losses in a span
    /// with probability 2e-2 (binomial tail), and halved 111 times in a
    /// 50,000-domain crawl at a fixed 28; at 15 % the bar is 40 (3e-6).
    fn burst_losses(&self) -> u32 {
        let span = LOSS_SPAN as f64;
        let r = self.loss_rate.clamp(0.0, 1.0);
        let bar = span * r + BURST_SIGMAS * (span * r * (1.0 - r)).sqrt();
        // Truncation intended: at most LOSS_SPAN.
        (bar.ceil() as u32).clamp(BURST_LOSSES, (LOSS_SPAN * 3 / 4) as u32)
    }

    /// Records the timeout of slot `seq` (domain `key`) and says whether a
    /// span of [`LOSS_SPAN`] consecutive slots around it now holds a burst
    /// ([`State::burst_losses`], at most [`LOSS_PER_DOMAIN`] per domain).
    /// Bounded: the list keeps two spans back from its latest slot (at most
    /// two spans of entries, as slot numbers are distinct), and the count
    /// walks at most that.
    fn record_loss(&mut self, seq: u64, key: u64) -> bool {
        let span = LOSS_SPAN;
        let latest = self.losses.back().map_or(seq, |&(s, _)| s.max(seq));
        let horizon = latest.saturating_sub(2 * span);
        while self.losses.front().is_some_and(|&(s, _)| s < horizon) {
            self.losses.pop_front();
        }
        if seq < horizon {
            return false;
        }
        // Timeouts come about in slot order: almost always at the back.
        let at = self.losses.partition_point(|&(s, _)| s < seq);
        if self.losses.get(at).is_some_and(|&(s, _)| s == seq) {
            return false;
        }
        self.losses.insert(at, (seq, key));
        let bar = self.burst_losses();
        // Slide a span over the losses within one span of `seq`, counting
        // each domain's first LOSS_PER_DOMAIN.
        let lo = self.losses.partition_point(|&(s, _)| s + span <= seq);
        let hi = self.losses.partition_point(|&(s, _)| s < seq + span);
        let mut per_domain: HashMap<u64, u32> = HashMap::new();
        let mut counted = 0u32;
        let mut left = lo;
        for right in lo..hi {
            let Some(&(s, k)) = self.losses.get(right) else {
                break;
            };
            while let Some(&(ls, lk)) = self.losses.get(left) {
                if ls + span > s {
                    break;
                }
                if let Some(n) = per_domain.get_mut(&lk) {
                    if *n <= LOSS_PER_DOMAIN {
                        counted -= 1;
                    }
                    *n -= 1;
                }
                left += 1;
            }
            let n = per_domain.entry(k).or_insert(0);
            *n += 1;
            if *n <= LOSS_PER_DOMAIN {
                counted += 1;
            }
            if counted >= bar {
                return true;
            }
        }
        false
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
    /// When the slot was taken.
    pub(crate) fn taken_at(&self) -> Instant {
        self.at
    }

    /// Releases the slot, applying how the attempt ended.
    pub(crate) fn finish(mut self, event: WindowEvent) {
        self.event = event;
    }
}

impl Drop for WindowSlot<'_> {
    fn drop(&mut self) {
        if self.window.release(self.seq, self.epoch, self.event) {
            bump(&self.stats.window_shrinks);
        }
    }
}

/// A waiter's watchdog duty, handed on if the waiter goes away (a
/// cancelled query) before it takes its slot.
struct Watch<'a> {
    window: &'a Window,
    held: bool,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        if self.held {
            self.window.lock().watchdog = false;
            self.window.watch_vacant.notify_one();
        }
    }
}

#[cfg(test)]
mod tests;
