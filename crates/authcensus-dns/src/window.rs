//! The adaptive in-flight window of one upstream (AIMD).
//!
//! A resolver's receive buffer holds only so many datagrams: Knot with one
//! UDP worker starts dropping beyond about 200-250 queued queries, and a
//! dropped query costs a full attempt timeout. So each upstream gets a window
//! on outstanding UDP attempts, like TCP's congestion window:
//!
//! - it starts at `window_max` (a local resolver is the common case);
//! - every reply grows it by `1/window` (about +1 per window of replies,
//!   additive increase), up to `window_max`;
//! - a timeout halves it (multiplicative decrease), down to `window_min`,
//!   at most once per *epoch*: a timeout of an attempt sent before the last
//!   halving does not halve again, so one burst of losses halves once.
//!
//! Timeouts caused by slow authoritative servers behind a recursive resolver
//! shrink the window too; the epoch rule keeps that to one halving per
//! attempt-timeout period, and replies regrow it.

use std::sync::Mutex;

use tokio::sync::Notify;

use crate::stats::{Stats, bump};

#[derive(Debug)]
struct State {
    window: f64,
    outstanding: u32,
    epoch: u64,
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
    /// A reply was accepted: grow.
    Reply,
    /// The attempt timed out: shrink (once per epoch).
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
    pub(crate) fn new(min: u32, max: u32) -> Self {
        Window {
            state: Mutex::new(State {
                window: f64::from(max),
                outstanding: 0,
                epoch: 0,
            }),
            notify: Notify::new(),
            min: f64::from(min),
            max: f64::from(max),
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
        let mut counted = false;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Register before checking so a release between the check and
            // the await is not missed.
            notified.as_mut().enable();
            {
                let mut s = self.lock();
                if f64::from(s.outstanding) < s.window.floor().max(1.0) {
                    s.outstanding += 1;
                    return WindowSlot {
                        window: self,
                        stats,
                        epoch: s.epoch,
                        event: WindowEvent::Neutral,
                    };
                }
            }
            if !counted {
                bump(&stats.window_waits);
                counted = true;
            }
            notified.await;
        }
    }

    fn release(&self, epoch: u64, event: WindowEvent) -> bool {
        let mut shrunk = false;
        let free = {
            let mut s = self.lock();
            s.outstanding = s.outstanding.saturating_sub(1);
            match event {
                WindowEvent::Reply => {
                    s.window = (s.window + 1.0 / s.window.max(1.0)).min(self.max);
                }
                WindowEvent::Timeout if epoch == s.epoch => {
                    let halved = (s.window / 2.0).max(self.min);
                    shrunk = halved < s.window;
                    s.window = halved;
                    s.epoch += 1;
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

    #[test]
    fn aimd_shrinks_once_per_epoch_and_grows_back() {
        let stats = Stats::default();
        let w = Window::new(4, 16);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let a = w.acquire(&stats).await;
            let b = w.acquire(&stats).await;
            assert_eq!(w.current(), (16, 2));
            // Two timeouts from the same epoch halve once.
            a.finish(WindowEvent::Timeout);
            b.finish(WindowEvent::Timeout);
            assert_eq!(w.current(), (8, 0));
            assert_eq!(stats.snapshot().window_shrinks, 1);
            // A timeout in the new epoch halves again, not below the floor.
            let c = w.acquire(&stats).await;
            c.finish(WindowEvent::Timeout);
            assert_eq!(w.current(), (4, 0));
            let d = w.acquire(&stats).await;
            d.finish(WindowEvent::Timeout);
            assert_eq!(w.current(), (4, 0));
            assert_eq!(stats.snapshot().window_shrinks, 2);
            // About `window` replies add one slot.
            for _ in 0..5 {
                let s = w.acquire(&stats).await;
                s.finish(WindowEvent::Reply);
            }
            assert_eq!(w.current(), (5, 0));
            // A full window makes the next acquire wait until a release.
            let held: Vec<_> = take(&w, &stats, 5).await;
            let waiter = w.acquire(&stats);
            tokio::pin!(waiter);
            assert!(
                tokio::time::timeout(std::time::Duration::from_millis(20), waiter.as_mut())
                    .await
                    .is_err()
            );
            drop(held);
            let _slot = waiter.await;
            assert_eq!(stats.snapshot().window_waits, 1);
        });
    }

    async fn take<'a>(w: &'a Window, s: &'a Stats, n: usize) -> Vec<WindowSlot<'a>> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(w.acquire(s).await);
        }
        v
    }
}
