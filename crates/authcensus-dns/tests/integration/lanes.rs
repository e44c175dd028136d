//! Lanes: a thread with its own current-thread runtime gets sockets of its
//! own; everything else stays shared.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use authcensus_dns::testserver::{Behavior, TestServer, rr};
use authcensus_dns::{DnsClient, DnsConfig, QueryType};
use authcensus_records::dns::{Lookup, Resolver};

/// The source addresses the server saw for queries of `name`.
fn sources(s: &TestServer, name: &str) -> HashSet<SocketAddr> {
    s.queries()
        .into_iter()
        .filter(|q| q.name == name)
        .map(|q| q.from)
        .collect()
}

/// Answers A queries for `name` with 192.0.2.`n` (owner: the name asked).
fn set_a(s: &TestServer, name: &str, n: u8) {
    s.set(
        name,
        QueryType::A,
        Behavior::Answer(vec![rr::a(name, Ipv4Addr::new(192, 0, 2, n))]),
    );
}

/// Runs the future `make` returns on a new thread driving its own
/// current-thread runtime, as a crawl lane does.
fn spawn_on_own_runtime<T, F, Fut>(make: F) -> std::thread::JoinHandle<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(make())
    })
}

/// Resolves all `names` concurrently, each in a task of the current runtime.
async fn resolve_all(c: &DnsClient, names: Vec<String>) -> Vec<Lookup<Ipv4Addr>> {
    let mut set = tokio::task::JoinSet::new();
    for n in names {
        let c = c.clone();
        set.spawn(async move { c.a(&n).await });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

/// Resolves `name` `times` times on a new thread with its own runtime,
/// inside a lane when `lane` is set; returns the answers.
fn on_thread(c: &DnsClient, name: &'static str, times: usize, lane: bool) -> Vec<Lookup<Ipv4Addr>> {
    let c = c.clone();
    spawn_on_own_runtime(move || async move {
        let guard = if lane {
            Some(c.enter_lane().await.unwrap())
        } else {
            None
        };
        let mut out = Vec::new();
        for _ in 0..times {
            out.push(c.a(name).await);
        }
        assert_eq!(c.in_flight(), 0);
        drop(guard);
        out
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lane_sends_through_its_own_sockets() {
    let s = TestServer::start().await.unwrap();
    for (name, n) in [
        ("shared.test", 1),
        ("one.test", 2),
        ("two.test", 3),
        ("after.test", 4),
    ] {
        set_a(&s, name, n);
    }
    let mut cfg = DnsConfig::new(vec![s.addr()]);
    cfg.attempt_timeout = Duration::from_secs(2);
    cfg.sockets = 2;
    let c = DnsClient::new(cfg).await.unwrap();

    // The shared lane: two sockets, used round-robin by any thread.
    for _ in 0..6 {
        assert_eq!(
            c.a("shared.test").await,
            Lookup::Records(vec![Ipv4Addr::new(192, 0, 2, 1)])
        );
    }
    let shared = sources(&s, "shared.test");
    assert_eq!(shared.len(), 2, "{shared:?}");

    // Two threads in lanes: each answer right, each lane its own two sockets.
    let one = on_thread(&c, "one.test", 6, true);
    let two = on_thread(&c, "two.test", 6, true);
    assert!(
        one.iter()
            .all(|l| *l == Lookup::Records(vec![Ipv4Addr::new(192, 0, 2, 2)])),
        "{one:?}"
    );
    assert!(
        two.iter()
            .all(|l| *l == Lookup::Records(vec![Ipv4Addr::new(192, 0, 2, 3)])),
        "{two:?}"
    );
    let (s1, s2) = (sources(&s, "one.test"), sources(&s, "two.test"));
    assert_eq!(s1.len(), 2, "{s1:?}");
    assert_eq!(s2.len(), 2, "{s2:?}");
    assert!(s1.is_disjoint(&shared) && s2.is_disjoint(&shared) && s1.is_disjoint(&s2));

    // A thread that entered no lane uses the shared sockets.
    let after = on_thread(&c, "after.test", 4, false);
    assert!(
        after
            .iter()
            .all(|l| *l == Lookup::Records(vec![Ipv4Addr::new(192, 0, 2, 4)]))
    );
    assert!(sources(&s, "after.test").is_subset(&shared));

    // Counters are shared: every query of every lane was counted once.
    let st = c.stats().snapshot();
    assert_eq!(st.sent, 22);
    assert_eq!(st.received, 22);
    assert_eq!(c.in_flight(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_holds_across_lanes() {
    let s = TestServer::start().await.unwrap();
    let names: Vec<String> = (0..60).map(|i| format!("n{i}.test")).collect();
    for n in &names {
        set_a(&s, n, 9);
    }
    let mut cfg = DnsConfig::new(vec![s.addr()]);
    cfg.qps = std::num::NonZeroU32::new(100);
    let c = DnsClient::new(cfg).await.unwrap();
    let started = std::time::Instant::now();
    let threads: Vec<_> = names
        .chunks(20)
        .map(|chunk| {
            let (c, chunk) = (c.clone(), chunk.to_vec());
            spawn_on_own_runtime(move || async move {
                let _lane = c.enter_lane().await.unwrap();
                resolve_all(&c, chunk).await
            })
        })
        .collect();
    for t in threads {
        let answers = t.join().unwrap();
        assert!(answers.iter().all(|l| matches!(l, Lookup::Records(_))));
    }
    // 60 queries at 100 q/s from three lanes: the burst allowance is
    // small (see `config::burst_for`), so one shared limiter needs well over
    // a third of a second; three separate limiters would need a third of that.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(350), "{took:?}");
    assert_eq!(c.stats().snapshot().sent, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_lane_gets_its_share_of_the_window() {
    let s = TestServer::start().await.unwrap();
    let names: Vec<String> = (0..8).map(|i| format!("slow{i}.test")).collect();
    for n in &names {
        let answer = Behavior::Answer(vec![rr::a(n, Ipv4Addr::new(192, 0, 2, 7))]);
        s.set(
            n,
            QueryType::A,
            Behavior::Delay(Duration::from_millis(50), Box::new(answer)),
        );
    }
    let mut cfg = DnsConfig::new(vec![s.addr()]);
    // Two lanes share a fixed window of 4: 2 each.
    cfg.lanes = 2;
    cfg.window_min = 4;
    cfg.window_initial = 4;
    cfg.window_max = 4;
    let c = DnsClient::new(cfg).await.unwrap();
    let lane_client = c.clone();
    let answers = spawn_on_own_runtime(move || async move {
        let _lane = lane_client.enter_lane().await.unwrap();
        resolve_all(&lane_client, names).await
    })
    .join()
    .unwrap();
    assert_eq!(answers.len(), 8);
    assert!(answers.iter().all(|l| matches!(l, Lookup::Records(_))));
    let st = c.stats().snapshot();
    assert_eq!(st.outstanding_peak, 2, "{st:?}");
    assert!(st.window_waits >= 6, "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entering_again_replaces_the_lane_and_the_old_guard_leaves_it() {
    let s = TestServer::start().await.unwrap();
    for (name, n) in [("first.test", 1), ("second.test", 2), ("shared.test", 3)] {
        set_a(&s, name, n);
    }
    let mut cfg = DnsConfig::new(vec![s.addr()]);
    cfg.sockets = 1;
    let c = DnsClient::new(cfg).await.unwrap();
    for _ in 0..2 {
        assert!(matches!(c.a("shared.test").await, Lookup::Records(_)));
    }
    let c2 = c.clone();
    spawn_on_own_runtime(move || async move {
        let first = c2.enter_lane().await.unwrap();
        assert!(matches!(c2.a("first.test").await, Lookup::Records(_)));
        let second = c2.enter_lane().await.unwrap();
        // The first guard no longer owns the thread's lane.
        drop(first);
        assert!(matches!(c2.a("second.test").await, Lookup::Records(_)));
        drop(second);
    })
    .join()
    .unwrap();
    let (first, second, shared) = (
        sources(&s, "first.test"),
        sources(&s, "second.test"),
        sources(&s, "shared.test"),
    );
    assert_eq!((first.len(), second.len(), shared.len()), (1, 1, 1));
    // Three different sockets: the second lane's was still in use.
    assert!(
        first.is_disjoint(&second) && second.is_disjoint(&shared) && first.is_disjoint(&shared)
    );
}
