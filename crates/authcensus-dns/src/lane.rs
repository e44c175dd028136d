//! Lanes: a thread's own sockets, for a crawl that runs one single-threaded
//! runtime per core.
//!
//! A [`crate::DnsClient`] binds one set of sockets when it is created (the
//! shared lane, usable from any thread). A thread that drives its own
//! current-thread runtime may call [`crate::DnsClient::enter_lane`] to bind
//! a set of its own: from then on the attempts made on that thread go out
//! through, and their replies come back to, sockets whose send and receive
//! tasks run on that same thread. A reply then wakes its waiting task
//! without a thread switch, and a query's buffers are allocated and freed by
//! one thread. On the crawl benchmark this cut the crawler's CPU per query
//! by about a fifth against one multi-threaded runtime
//! (`benches/README.md`, "Lanes").
//!
//! Each lane also has its own share of every upstream's adaptive window
//! ([`crate::window`]): `window_initial`, `window_min` and `window_max`
//! divided by [`crate::DnsConfig::lanes`]. A shared window woke waiting
//! attempts on whichever thread queued first, so about half of the
//! releases woke the other lane's thread; the shares add up to one window
//! and adapt like flows sharing a path. Everything else stays shared by
//! all lanes of a client: the rate limits, the in-flight cap and the
//! counters, so `--qps` holds for the whole crawl, not per thread.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::DnsError;
use crate::config::DnsConfig;
use crate::stats::Stats;
use crate::udp::SocketSet;
use crate::window::Window;

/// The sockets of one lane, per upstream, and its share of each upstream's
/// in-flight window.
#[derive(Debug)]
pub(crate) struct Lane {
    /// Indexed like `DnsConfig::upstreams`.
    sets: Vec<SocketSet>,
    windows: Vec<Window>,
}

impl Lane {
    /// Binds `cfg.sockets` sockets connected to each upstream and starts
    /// their tasks on the current runtime. Each upstream's window
    /// (initial size, floor and ceiling) is divided by `share`: the number
    /// of lanes that will divide the upstream between them.
    pub(crate) async fn bind(
        cfg: &DnsConfig,
        stats: &Arc<Stats>,
        share: u32,
    ) -> Result<Self, DnsError> {
        let share = share.max(1);
        let part = |n: u32| (n / share).max(1);
        let windows = cfg
            .upstreams
            .iter()
            .map(|_| {
                Window::new(
                    part(cfg.window_min),
                    part(cfg.window_initial),
                    part(cfg.window_max),
                )
            })
            .collect();
        let mut sets = Vec::with_capacity(cfg.upstreams.len());
        for &upstream in &cfg.upstreams {
            sets.push(
                SocketSet::bind(
                    upstream,
                    cfg.sockets,
                    cfg.attempt_timeout,
                    Arc::clone(stats),
                    cfg.udp_gso,
                )
                .await?,
            );
        }
        Ok(Lane { sets, windows })
    }

    /// This lane's window on upstream `idx`.
    pub(crate) fn window(&self, idx: usize) -> Option<&Window> {
        self.windows.get(idx)
    }

    /// The sockets connected to upstream `idx`.
    pub(crate) fn sockets(&self, idx: usize) -> Option<&SocketSet> {
        self.sets.get(idx)
    }

    /// Attempts registered on this lane's sockets.
    pub(crate) fn in_flight(&self) -> usize {
        self.sets.iter().map(SocketSet::in_flight).sum()
    }
}

/// Identifies a client in the thread-local lane table (never reused).
pub(crate) fn next_client_id() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

thread_local! {
    /// The lanes this thread entered: (client id, lane). A thread normally
    /// holds at most one entry per client, so a scan is the fastest lookup.
    static LANES: RefCell<Vec<(usize, Arc<Lane>)>> = const { RefCell::new(Vec::new()) };
}

/// The calling thread's lane of client `id`, if it entered one.
pub(crate) fn current(id: usize) -> Option<Arc<Lane>> {
    LANES
        .try_with(|lanes| {
            lanes
                .borrow()
                .iter()
                .find(|(c, _)| *c == id)
                .map(|(_, lane)| Arc::clone(lane))
        })
        .ok()
        .flatten()
}

/// Makes `lane` the calling thread's lane of client `id` (replacing an
/// earlier one) and records it in `all` for the in-flight count.
pub(crate) fn install(id: usize, lane: Arc<Lane>, all: &Mutex<Vec<Weak<Lane>>>) {
    {
        let mut all = all.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&lane));
    }
    LANES.with(|lanes| {
        let mut lanes = lanes.borrow_mut();
        lanes.retain(|(c, _)| *c != id);
        lanes.push((id, lane));
    });
}

/// The calling thread's lane of a client, kept until this guard is dropped
/// (returned by [`crate::DnsClient::enter_lane`]). Drop it on the thread
/// that entered the lane, inside its runtime: the lane's sockets close and
/// their tasks stop then. It cannot be sent to another thread.
#[derive(Debug)]
#[must_use = "the lane ends when the guard is dropped"]
pub struct LaneGuard {
    id: usize,
    /// The lane this guard keeps: a later `enter_lane` on the same thread
    /// replaces it, and dropping this guard must not end the newer lane.
    lane: Weak<Lane>,
    _this_thread: PhantomData<*const ()>,
}

impl LaneGuard {
    pub(crate) fn new(id: usize, lane: &Arc<Lane>) -> Self {
        LaneGuard {
            id,
            lane: Arc::downgrade(lane),
            _this_thread: PhantomData,
        }
    }
}

impl Drop for LaneGuard {
    fn drop(&mut self) {
        // Taken out first, dropped after the borrow ends: dropping the
        // sockets aborts their tasks, which must not find the table borrowed.
        let gone = LANES.try_with(|lanes| {
            let mut lanes = lanes.borrow_mut();
            lanes
                .iter()
                .position(|(c, l)| {
                    *c == self.id && std::ptr::eq(Arc::as_ptr(l), self.lane.as_ptr())
                })
                .map(|i| lanes.swap_remove(i))
        });
        drop(gone);
    }
}
