//! The in-flight window against an upstream that behaves like a recursive
//! resolver on the internet: cache hits at once, everything else after
//! "recursion", and domains whose servers never answer.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use authcensus_dns::testserver::{Behavior, TestServer, rr};
use authcensus_dns::{DnsClient, DnsConfig, QueryType};
use authcensus_records::dns::{DnsFailure, Lookup, Resolver};

/// The names a crawl looks up for one domain, underscored labels included.
fn lookups_of(domain: &str) -> Vec<String> {
    ["", "_dmarc.", "_mta-sts.", "_smtp._tls.", "default._bimi."]
        .iter()
        .map(|p| format!("{p}{domain}"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_grows_through_a_recursive_resolver_and_dead_domains_do_not_halve_it() {
    let s = TestServer::start().await.unwrap();
    let ip = |i: usize| Ipv4Addr::from(0x0a00_0000 + i as u32);
    // (name, the answer's index; None for a dead domain's lookups)
    let mut names: Vec<(String, Option<usize>)> = Vec::new();
    let mut dead = 0;
    for d in 0..3200 {
        for name in lookups_of(&format!("n{d}.example")) {
            let i = names.len();
            let answer = Behavior::Answer(vec![rr::a(&name, ip(i))]);
            // One in four is a cache hit; the rest wait 30 ms of "recursion".
            let behavior = if i.is_multiple_of(4) {
                answer
            } else {
                Behavior::Delay(Duration::from_millis(30), Box::new(answer))
            };
            s.set(&name, QueryType::A, behavior);
            names.push((name, Some(i)));
        }
        // Early on, one domain in 12: none of its lookups is ever answered.
        if d < 100 && d % 12 == 5 {
            dead += 1;
            for name in lookups_of(&format!("dead{dead}.example")) {
                s.set(&name, QueryType::A, Behavior::Drop);
                names.push((name, None));
            }
        }
    }
    let mut cfg = DnsConfig::new(vec![s.addr()]);
    cfg.window_initial = 64;
    cfg.window_min = 4;
    // 512 keeps the live lookups flowing for most of a second, well past
    // the dead ones' timeouts.
    cfg.window_max = 512;
    cfg.attempt_timeout = Duration::from_millis(300);
    cfg.retries = 0;
    let c = DnsClient::new(cfg).await.unwrap();
    let t0 = Instant::now();
    let handles: Vec<_> = names
        .iter()
        .map(|(n, _)| {
            let (c, n) = (c.clone(), n.clone());
            tokio::spawn(async move {
                let got = c.a(&n).await;
                (got, Instant::now(), c.stats().snapshot().window_shrinks)
            })
        })
        .collect();
    let mut last_live = (t0, 0);
    let mut first_dead = Instant::now() + Duration::from_secs(3600);
    let mut last_dead = t0;
    for (h, (name, expected)) in handles.into_iter().zip(&names) {
        let (got, at, shrinks) = h.await.unwrap();
        match expected {
            Some(i) => {
                assert_eq!(got, Lookup::Records(vec![ip(*i)]), "{name}");
                last_live = last_live.max((at, shrinks));
            }
            None => {
                assert_eq!(got, Lookup::Failed(DnsFailure::Timeout), "{name}");
                first_dead = first_dead.min(at);
                last_dead = last_dead.max(at);
            }
        }
    }
    let st = c.stats().snapshot();
    assert_eq!(st.timeouts, 8 * 5, "{st:?}");
    // Dead domains timed out while the live lookups still flowed (after the
    // last live answer, a few dead domains timing out with no reply between
    // them are a loss burst by the rules, so the test looks no further)...
    assert!(
        first_dead < last_live.0,
        "no dead lookup ended during the live ones"
    );
    // ...and each dead domain, timing out five lookups at once, was one
    // domain, not a loss burst: no halving until the last live answer.
    assert_eq!(last_live.1, 0, "{st:?}");
    // The dead lookups, all queued among the first 540 of 16,040, got the
    // window in their turn and timed out long before the live ones were
    // done (0.43-0.45 s against 1.0-1.1 s). When a newcomer could take
    // the slot a woken waiter was owed, they waited through several rounds
    // and ended after the last live answer (1.23-1.40 s).
    assert!(
        last_dead < last_live.0,
        "dead lookups ended {:?} after the start, the last live one {:?}",
        last_dead.duration_since(t0),
        last_live.0.duration_since(t0)
    );
    // The smoothed round trip (over 20 ms) makes each cache hit a slow-start
    // step, so the window left 64 far behind. Judged by the base round trip
    // (the cache hits' fraction of a millisecond) it grew by about one slot
    // per round trip and stayed near 70.
    assert!(st.outstanding_peak >= 200, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_to_dead_domains_do_not_hold_the_window_until_their_timeout() {
    let s = TestServer::start().await.unwrap();
    let mut names = Vec::new();
    for d in 0..2 {
        for n in lookups_of(&format!("dead{d}.example")) {
            s.set(&n, QueryType::A, Behavior::Drop);
            names.push(n);
        }
    }
    for i in 0..50 {
        let name = format!("n{i}.example");
        s.set(
            &name,
            QueryType::A,
            Behavior::Answer(vec![rr::a(&name, Ipv4Addr::LOCALHOST)]),
        );
        names.push(name);
    }
    // A fixed window of 8, two seconds per attempt: the ten dead lookups
    // take all eight slots first (they start 100 ms before the live ones:
    // started together, the runtime's two workers could let live lookups in
    // first, and then only the dead attempts in the window while live ones
    // wait are presumed lost: 7 in one CI run).
    let mut cfg = DnsConfig::new(vec![s.addr()]);
    cfg.window_initial = 8;
    cfg.window_min = 8;
    cfg.window_max = 8;
    cfg.attempt_timeout = Duration::from_secs(2);
    cfg.retries = 0;
    let c = DnsClient::new(cfg).await.unwrap();
    let mut handles = Vec::new();
    for n in &names {
        if n == "n0.example" {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (c, n) = (c.clone(), n.clone());
        handles.push(tokio::spawn(async move {
            let got = c.a(&n).await;
            (got, Instant::now())
        }));
    }
    let mut live_done = Vec::new();
    let mut dead_done = Vec::new();
    for (h, name) in handles.into_iter().zip(&names) {
        let (got, at) = h.await.unwrap();
        if name.starts_with('n') {
            assert_eq!(got, Lookup::Records(vec![Ipv4Addr::LOCALHOST]), "{name}");
            live_done.push(at);
        } else {
            assert_eq!(got, Lookup::Failed(DnsFailure::Timeout), "{name}");
            dead_done.push(at);
        }
    }
    // Presumed lost after 500 ms (no reply yet to time the upstream by),
    // the dead lookups left the window to the live ones, which all finished
    // before the first dead one timed out (held to their timeout, they
    // would have kept the live ones waiting two seconds). The window takes
    // attempts out only while it is full: the first eight at least.
    assert!(live_done.iter().max() < dead_done.iter().min());
    let st = c.stats().snapshot();
    assert!((8..=10).contains(&st.window_presumed_lost), "{st:?}");
    assert!(st.window_waits >= 50, "{st:?}");
    assert_eq!(c.in_flight(), 0);
}
