//! Unit tests of the window rules, driven by events (no network).
use super::*;
use std::time::Instant;

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
fn isolated_losses_do_not_shrink_a_block_of_them_halves_once_per_epoch() {
    let stats = Stats::default();
    let w = Window::new(4, 64, 64);
    rt().block_on(async {
        clean(&w, &stats, 4096).await;
        // Random loss: one slot in five (20 %) over 600 slots, every loss
        // another domain. A span of 128 slots holds 25 or 26 of them,
        // under the 28 of a burst.
        for i in 0..600u64 {
            let s = w.acquire(&stats).await;
            s.finish(if i % 5 == 0 { lost(1000 + i) } else { FAST });
        }
        assert_eq!(w.current().0, 64);
        // Nor do many timeouts of one domain (its lookups start, and
        // time out, together): two of them count.
        for s in take(&w, &stats, 40).await {
            s.finish(lost(1));
        }
        assert_eq!(w.current().0, 64);
        assert_eq!(stats.snapshot().window_shrinks, 0);
        // A block of 28 losses in consecutive slots (an overflowing buffer)
        // halves once, however many more of the same epoch follow.
        let slots = take(&w, &stats, 40).await;
        for (n, s) in slots.into_iter().enumerate() {
            s.finish(lost(10 + n as u64));
        }
        assert_eq!(w.current(), (32, 0));
        assert_eq!(stats.snapshot().window_shrinks, 1);
        // Bursts in later epochs halve again, not below the floor.
        // (One at a time: a burst is 28 losses in 128 slots whatever the
        // window.)
        for expected in [16, 8, 4, 4] {
            for n in 0..28 {
                w.acquire(&stats).await.finish(lost(n));
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
fn an_overflow_of_one_socket_in_four_halves_the_window() {
    let stats = Stats::default();
    let w = Window::new(4, 64, 64);
    rt().block_on(async {
        // A lane sends through four sockets in turn; a full buffer that
        // drops one socket's burst loses every fourth slot: 28 of them
        // within 128 slots is a burst.
        clean(&w, &stats, 4096).await;
        for i in 0..109u64 {
            let s = w.acquire(&stats).await;
            s.finish(if i % 4 == 0 { lost(i) } else { FAST });
        }
        assert_eq!(w.current().0, 32);
        assert_eq!(stats.snapshot().window_shrinks, 1);
    });
}

#[test]
fn a_lossy_path_raises_the_bar_for_a_burst() {
    // 18 % of the slots lost at random (a fixed pseudo-random sequence):
    // at a fixed bar of 28 in 128 slots this halves 18 times in 8,000
    // slots; five standard deviations above the measured rate (about 45)
    // it does not.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut uniform = move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as f64 / f64::from(1u32 << 31)
    };
    let stats = Stats::default();
    let w = Window::new(4, 64, 64);
    rt().block_on(async {
        for i in 0..8000u64 {
            let s = w.acquire(&stats).await;
            s.finish(if uniform() < 0.18 { lost(i) } else { FAST });
        }
        assert_eq!(stats.snapshot().window_shrinks, 0);
        let bar = w.lock().burst_losses();
        assert!((40..=50).contains(&bar), "{bar}");
        // A block of losses well above it still halves.
        for n in 0..60 {
            w.acquire(&stats).await.finish(lost(100_000 + n));
        }
        assert_eq!(stats.snapshot().window_shrinks, 1);
    });
}

#[test]
fn losses_far_apart_in_send_order_do_not_add_up() {
    let stats = Stats::default();
    let w = Window::new(4, 8, 8);
    rt().block_on(async {
        // Twenty losses and twenty more, 200 slots apart, are not a burst
        // of 28 in 128 slots, even at a window of 8.
        clean(&w, &stats, 4096).await;
        for n in 0..20 {
            w.acquire(&stats).await.finish(lost(n));
        }
        for _ in 0..200 {
            w.acquire(&stats).await.finish(FAST);
        }
        for n in 20..40 {
            w.acquire(&stats).await.finish(lost(n));
        }
        assert_eq!(w.current(), (8, 0));
        // Eight more next to the second twenty are.
        for n in 40..48 {
            w.acquire(&stats).await.finish(lost(n));
        }
        assert_eq!(w.current(), (4, 0));
    });
    // Timeouts that come out of slot order still add up.
    let w = Window::new(2, 32, 32);
    rt().block_on(async {
        clean(&w, &stats, 4096).await;
        let slots = take(&w, &stats, 28).await;
        for (n, s) in slots.into_iter().enumerate().rev() {
            s.finish(lost(n as u64));
        }
        assert_eq!(w.current(), (16, 0));
    });
}

#[test]
fn timeout_key_is_the_domain_without_service_labels() {
    let key = |s: &str| timeout_key(&crate::qname::QName::parse(s).unwrap());
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

/// `n` slots answered at once: a loss-free background.
async fn clean(w: &Window, stats: &Stats, n: usize) {
    for _ in 0..n {
        w.acquire(stats).await.finish(FAST);
    }
}

async fn take<'a>(w: &'a Window, s: &'a Stats, n: usize) -> Vec<WindowSlot<'a>> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(w.acquire(s).await);
    }
    v
}

#[test]
fn unanswered_attempts_leave_the_window_after_lost_after() {
    let stats = Stats::default();
    let w = Window::new(1, 4, 4);
    rt().block_on(async {
        // A window full of attempts that are never answered (a dead
        // domain's lookups)...
        let dead = take(&w, &stats, 4).await;
        let t = Instant::now();
        // ...gives up one slot when the oldest has waited LOST_INITIAL
        // (no reply yet, so no round trip to go by).
        let next = tokio::time::timeout(Duration::from_secs(5), w.acquire(&stats))
            .await
            .expect("presumed lost within LOST_INITIAL");
        assert!(t.elapsed() >= LOST_INITIAL - Duration::from_millis(5));
        // All four were due: the window holds just the new one.
        assert_eq!(w.current(), (4, 1));
        assert_eq!(stats.snapshot().window_presumed_lost, 4);
        assert_eq!(stats.snapshot().window_waits, 1);
        // Their timeouts, when they come, release nothing twice but still
        // count towards a loss burst.
        for (n, s) in dead.into_iter().enumerate() {
            s.finish(lost(n as u64));
        }
        assert_eq!(w.current(), (4, 1));
        assert_eq!(w.lock().losses.len(), 4);
        next.finish(FAST);
        assert_eq!(w.current().1, 0);
    });
}

#[test]
fn lost_after_follows_the_smoothed_round_trip() {
    let stats = Stats::default();
    let w = Window::new(1, 2, 2);
    rt().block_on(async {
        // Replies at 20 ms: attempts are presumed lost after 4 x 20 ms,
        // not after LOST_INITIAL.
        for _ in 0..50 {
            w.acquire(&stats)
                .await
                .finish(WindowEvent::Reply(Duration::from_millis(20)));
        }
        let held = take(&w, &stats, 2).await;
        let t = Instant::now();
        let next = w.acquire(&stats).await;
        let waited = t.elapsed();
        assert!(waited >= Duration::from_millis(75), "{waited:?}");
        assert!(waited < LOST_INITIAL, "{waited:?}");
        drop((held, next));
        assert_eq!(w.current(), (2, 0));
    });
}

#[test]
fn released_slots_free_the_window_in_any_order() {
    let stats = Stats::default();
    let w = Window::new(3, 3, 3);
    rt().block_on(async {
        let mut slots = take(&w, &stats, 3).await;
        // The newest and then the oldest end first; the window counts
        // what is left, and a new slot is taken at once.
        slots.pop().unwrap().finish(FAST);
        slots.remove(0).finish(FAST);
        assert_eq!(w.current().1, 1);
        let more = take(&w, &stats, 2).await;
        assert_eq!(w.current().1, 3);
        drop((slots, more));
        assert_eq!(w.current().1, 0);
        assert_eq!(stats.snapshot().window_waits, 0);
        assert_eq!(stats.snapshot().window_presumed_lost, 0);
    });
}

#[test]
fn slots_behind_an_old_unanswered_one_are_not_kept_for_its_whole_timeout() {
    let stats = Stats::default();
    let w = Window::new(1, 8, 8);
    rt().block_on(async {
        let _dead = w.acquire(&stats).await;
        // Many attempts answered after it: the list of slots keeps them
        // behind the live one, a few windows' worth at most once it is due.
        for _ in 0..3000 {
            w.acquire(&stats).await.finish(FAST);
        }
        tokio::time::sleep(LOST_MIN + Duration::from_millis(10)).await;
        for _ in 0..1200 {
            w.acquire(&stats).await.finish(FAST);
        }
        let s = w.lock();
        assert!(
            s.flights.len() <= FLIGHTS_SLACK + 4 * 8,
            "{}",
            s.flights.len()
        );
        assert_eq!(s.outstanding, 0);
    });
    assert_eq!(stats.snapshot().window_presumed_lost, 1);
}

/// Polls `f` once: its output if ready.
async fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(match std::pin::Pin::new(&mut *f).poll(cx) {
            std::task::Poll::Ready(v) => Some(v),
            std::task::Poll::Pending => None,
        })
    })
    .await
}

#[test]
fn waiters_get_the_window_in_the_order_they_came() {
    let stats = Stats::default();
    let w = Window::new(1, 1, 1);
    rt().block_on(async {
        let first = w.acquire(&stats).await;
        let mut waiters: Vec<_> = (0..5).map(|_| Some(Box::pin(w.acquire(&stats)))).collect();
        for f in waiters.iter_mut().flatten() {
            assert!(poll_once(f).await.is_none());
        }
        drop(first);
        // A newcomer after the release does not take the slot that the
        // first waiter is owed.
        let mut newcomer = Box::pin(w.acquire(&stats));
        assert!(poll_once(&mut newcomer).await.is_none());
        // The waiters get the slot one after the other, in the order they
        // came, however they are polled.
        for turn in 0..5 {
            let mut got = Vec::new();
            for (i, f) in waiters.iter_mut().enumerate().rev() {
                if let Some(fut) = f
                    && let Some(slot) = poll_once(fut).await
                {
                    *f = None;
                    got.push((i, slot));
                }
            }
            assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [turn]);
            assert!(poll_once(&mut newcomer).await.is_none());
        }
        // (each slot was dropped at the end of its turn)
        assert!(poll_once(&mut newcomer).await.is_some());
        assert_eq!(stats.snapshot().window_waits, 6);
    });
}

#[test]
fn after_a_halving_released_slots_pay_back_the_excess_first() {
    let stats = Stats::default();
    let w = Window::new(1, 8, 8);
    rt().block_on(async {
        // A round trip of 0.1 ms: unanswered slots are presumed lost after
        // 50 ms and leave the window, so four windows' worth can be taken
        // and left unanswered, and eight more held...
        clean(&w, &stats, 4096).await;
        let mut early = Vec::new();
        for _ in 0..4 {
            early.extend(take(&w, &stats, 8).await);
            tokio::time::sleep(LOST_MIN + Duration::from_millis(10)).await;
        }
        let mut held = take(&w, &stats, 8).await;
        // ...and the early ones' timeouts (28 of them are a burst) halve
        // the window with all eight out.
        for (n, s) in early.into_iter().enumerate() {
            s.finish(lost(n as u64));
        }
        assert_eq!(w.current(), (4, 8));
        let mut next = Box::pin(w.acquire(&stats));
        assert!(poll_once(&mut next).await.is_none());
        // Eight out in a window of four: the first four releases pay the
        // debt...
        for _ in 0..4 {
            held.pop().unwrap().finish(WindowEvent::Neutral);
            assert!(poll_once(&mut next).await.is_none());
        }
        // ...the fifth makes room for one.
        held.pop().unwrap().finish(WindowEvent::Neutral);
        let slot = poll_once(&mut next).await.expect("room for one");
        assert_eq!(w.current(), (4, 4));
        let mut more = Box::pin(w.acquire(&stats));
        assert!(poll_once(&mut more).await.is_none());
        drop((held, slot));
        drop(poll_once(&mut more).await.expect("room"));
        // Exactly the window's four slots are in circulation again.
        assert_eq!(w.current(), (4, 0));
        assert_eq!(w.permits.available_permits(), 4);
        assert_eq!(w.lock().granted, 4);
    });
}
