//! Hostile records (issue 10): `crawl_domain` on oversized, fan-out,
//! deeply nested, macro-laden, badly encoded and looping records finishes
//! quickly, sends a bounded number of queries, records the finding and
//! stores bounded, escaped text with `records_truncated` set.
//!
//! The query budget of one domain, from the documented bounds:
//! - the domain's own TXT and MX (2; asked once however many parts need them);
//! - SPF: at most [`Limits::max_analysis_queries`] sent by the analysis;
//! - DMARC: at most [`MAX_TREE_WALK_QUERIES`] (RFC 9989 §4.10) plus
//!   [`MAX_RFC7489_QUERIES`] (RFC 7489 §6.6.3);
//! - MTA-STS: the `_mta-sts` TXT plus the Policy Host's A and AAAA (3);
//! - TLS-RPT: `_smtp._tls` TXT (1); BIMI: the domain's and the
//!   organisational domain's assertion record (2); NS (1).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use authcensus_crawl::{CrawlContext, CrawlSettings, CrawlTarget, crawl_domain};
use authcensus_records::dmarc::{MAX_RFC7489_QUERIES, MAX_TREE_WALK_QUERIES, MAX_URIS};
use authcensus_records::dns::{MemoryResolver, RecordType, TxtRecord};
use authcensus_records::spf::Limits;
use authcensus_store::SnapshotRow;

use crate::domain::{Org, org, settings, target};

/// Wall-clock bound of one hostile domain, debug build included.
const TIME_BOUND: Duration = Duration::from_secs(3);

/// Queries a domain may cause outside the SPF analysis (see the module docs).
const NON_SPF_BUDGET: u64 =
    2 + (MAX_TREE_WALK_QUERIES + MAX_RFC7489_QUERIES) as u64 + 3 + 1 + 2 + 1;

/// A TXT record of `text` cut into strings of at most 255 bytes (RFC 1035 §3.3.14).
fn chunked(text: &[u8]) -> TxtRecord {
    TxtRecord::from_strings(text.chunks(255).map(<[u8]>::to_vec))
}

struct Crawled {
    row: SnapshotRow,
    /// Queries answered by the resolver (cache misses).
    sent: u64,
    log: Vec<(String, RecordType)>,
}

impl Crawled {
    /// TXT/A/AAAA/MX queries the SPF analysis sent: everything but the
    /// other protocols' names and the domain's own stage-1 lookups.
    fn spf_queries(&self, domain: &str) -> Vec<&(String, RecordType)> {
        self.log
            .iter()
            .filter(|(n, t)| {
                !(n.starts_with("_dmarc.")
                    || n.starts_with("_mta-sts.")
                    || n.starts_with("mta-sts.")
                    || n.starts_with("_smtp._tls.")
                    || n.contains("._bimi.")
                    || *t == RecordType::Ns
                    || (n == domain && matches!(t, RecordType::Txt | RecordType::Mx)))
            })
            .collect()
    }
}

/// Crawls `domain` with a fresh context over `r`, and checks what every
/// hostile case must satisfy: the time bound, the query budget, the row's
/// query count, bounded text without raw control characters.
async fn crawl(r: MemoryResolver, s: CrawlSettings, domain: &str) -> Crawled {
    let record_max = s.max_record_text;
    let short_max = s.max_short_text;
    let list_max = s.max_list_items;
    let spf_budget = s.spf_limits.max_analysis_queries;
    let ctx: CrawlContext<MemoryResolver, Org> = CrawlContext::new(r, org as Org, s).unwrap();
    let started = Instant::now();
    let row = crawl_domain(&ctx, &target(domain)).await;
    let elapsed = started.elapsed();
    let sent = ctx.resolver.inner().query_count();
    let log = ctx.resolver.inner().query_log();
    assert!(elapsed < TIME_BOUND, "{domain}: took {elapsed:?}");
    assert_eq!(row.domain, domain);
    assert_eq!(
        u64::try_from(row.dns_queries).unwrap(),
        sent,
        "{domain}: dns_queries counts the queries sent"
    );
    assert!(
        sent <= NON_SPF_BUDGET + u64::from(spf_budget),
        "{domain}: {sent} queries: {log:?}"
    );
    let crawled = Crawled { row, sent, log };
    let spf = crawled.spf_queries(domain).len();
    assert!(
        spf <= spf_budget as usize,
        "{domain}: the SPF analysis sent {spf} queries"
    );
    // No query name is longer than a DNS name can be.
    assert!(crawled.log.iter().all(|(n, _)| n.len() <= 253));
    let row = &crawled.row;
    for text in [&row.spf_record, &row.dmarc_record].into_iter().flatten() {
        assert!(text.len() <= record_max, "{domain}: {} bytes", text.len());
        assert!(!text.chars().any(char::is_control), "{domain}: {text:?}");
    }
    for list in [&row.dmarc_rua, &row.dmarc_ruf, &row.mx_exchanges] {
        assert!(list.len() <= list_max);
        assert!(list.iter().all(|u| u.len() <= short_max));
    }
    crawled
}

fn codes(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// 64 KB at the domain: one TXT record of 256 strings of 255 bytes, an SPF
/// record of far more than `MAX_TERMS` (1024) terms.
#[tokio::test]
async fn txt_of_64_kib_is_a_syntax_finding_stored_cut() {
    let mut text = String::from("v=spf1");
    while text.len() < 256 * 255 {
        text.push_str(" ip4:192.0.2.1");
    }
    text.truncate(256 * 255);
    let record = chunked(text.as_bytes());
    assert_eq!(record.strings.len(), 256);
    assert!(record.strings.iter().all(|s| s.len() == 255));
    let mut r = MemoryResolver::new();
    r.add_txt("big.example", record);
    let c = crawl(r, settings(), "big.example").await;
    let row = &c.row;
    assert_eq!(row.spf_status, "permerror");
    assert_eq!(row.spf_errors, codes(&["syntax"]));
    assert_eq!(row.spf_dns_lookups, Some(0));
    assert_eq!(row.spf_all, None);
    assert_eq!(row.spf_record.as_deref(), Some(&text[..4096]));
    assert!(row.records_truncated);
    assert!(c.spf_queries("big.example").is_empty());
}

/// One record of 500 strings (joined without spaces, RFC 7208 §3.3): 499
/// terms, more than the 256 the analysis walks per record.
#[tokio::test]
async fn record_of_500_strings_is_walked_to_the_term_bound() {
    let mut strings = vec![String::from("v=spf1")];
    for i in 0..498 {
        strings.push(format!(" ip4:10.0.{}.{}", i / 256, i % 256));
    }
    strings.push(String::from(" -all"));
    assert_eq!(strings.len(), 500);
    let joined = strings.concat();
    let mut r = MemoryResolver::new();
    r.add_txt("strings.example", TxtRecord::from_strings(strings));
    let c = crawl(r, settings(), "strings.example").await;
    let row = &c.row;
    assert_eq!(row.spf_status, "valid");
    assert_eq!(row.spf_errors, codes(&["too_many_terms"]));
    assert_eq!(row.spf_all.as_deref(), Some("-all"));
    assert_eq!(row.spf_dns_lookups, Some(0));
    assert_eq!(row.spf_record.as_deref(), Some(&joined[..4096]));
    assert!(row.records_truncated);
}

/// 1,000 TXT records on one name: one SPF record among 999 others is found
/// and stored whole; 1,000 SPF records are `multiple_records` (RFC 7208 §4.5).
#[tokio::test]
async fn thousand_txt_records_on_one_name() {
    let mut r = MemoryResolver::new();
    for i in 0..999 {
        r.add_txt(
            "many.example",
            TxtRecord::single(format!("site-verification=token-{i:04}")),
        )
        .add_txt(
            "_dmarc.many.example",
            TxtRecord::single(format!("other-{i}")),
        );
    }
    r.add_txt(
        "many.example",
        TxtRecord::single("v=spf1 ip4:192.0.2.1 -all"),
    )
    .add_txt("_dmarc.many.example", TxtRecord::single("v=DMARC1; p=none"));
    let c = crawl(r, settings(), "many.example").await;
    let row = &c.row;
    assert_eq!(row.spf_status, "valid");
    assert_eq!(row.spf_record.as_deref(), Some("v=spf1 ip4:192.0.2.1 -all"));
    assert!(row.spf_errors.is_empty());
    assert_eq!(row.dmarc_status, "valid");
    assert_eq!(row.dmarc_policy.as_deref(), Some("none"));
    assert!(!row.records_truncated);

    let mut r = MemoryResolver::new();
    for i in 0..1000 {
        r.add_txt(
            "multi.example",
            TxtRecord::single(format!("v=spf1 ip4:192.0.{}.{} -all", i / 256, i % 256)),
        );
    }
    let c = crawl(r, settings(), "multi.example").await;
    let row = &c.row;
    assert_eq!(row.spf_status, "permerror");
    assert_eq!(row.spf_errors, codes(&["multiple_records"]));
    assert_eq!(row.spf_record.as_deref(), Some("v=spf1 ip4:192.0.0.0 -all"));
    assert!(!row.records_truncated);
}

/// One record with 1,000 `include:` terms, every target a valid record:
/// the walk stops at the query budget, every include counts (RFC 7208
/// §4.6.4), and the stored text is cut.
#[tokio::test]
async fn include_fan_out_of_1000_stops_at_the_query_budget() {
    let mut text = String::from("v=spf1");
    let mut r = MemoryResolver::new();
    for i in 0..1000 {
        let t = format!("f{i}.fan.example");
        text.push_str(&format!(" include:{t}"));
        r.add_txt(&t, TxtRecord::single("v=spf1 ip4:192.0.2.1 -all"));
    }
    text.push_str(" -all");
    r.add_txt("fan.example", chunked(text.as_bytes()));
    let limits = Limits::default();
    let c = crawl(r, settings(), "fan.example").await;
    let row = &c.row;
    assert_eq!(row.spf_status, "permerror");
    assert_eq!(
        row.spf_errors,
        codes(&[
            "too_many_terms",
            "work_budget_exhausted",
            "too_many_lookups"
        ])
    );
    // Every walked include term counts, followed or not.
    assert_eq!(
        row.spf_dns_lookups,
        Some(i32::try_from(limits.max_terms_per_record).unwrap())
    );
    // The analysis' budget covers the root record too: 49 targets read.
    let targets: BTreeSet<&str> = c
        .spf_queries("fan.example")
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(targets.len(), limits.max_analysis_queries as usize - 1);
    assert!(targets.iter().all(|t| t.ends_with(".fan.example")));
    assert_eq!(row.spf_record.as_deref(), Some(&text[..4096]));
    assert!(row.records_truncated);
}

/// An include chain 100 deep: the walk stops below `max_depth` (12).
#[tokio::test]
async fn include_chain_100_deep_stops_at_the_depth_bound() {
    let mut r = MemoryResolver::new();
    let name = |i: usize| {
        if i == 0 {
            String::from("chain.example")
        } else {
            format!("c{i}.chain.example")
        }
    };
    for i in 0..99 {
        r.add_txt(
            &name(i),
            TxtRecord::single(format!("v=spf1 include:{} -all", name(i + 1))),
        );
    }
    r.add_txt(&name(99), TxtRecord::single("v=spf1 -all"));
    let limits = Limits::default();
    let c = crawl(r, settings(), "chain.example").await;
    let row = &c.row;
    assert_eq!(row.spf_status, "permerror");
    assert_eq!(
        row.spf_errors,
        codes(&["recursion_too_deep", "too_many_lookups"])
    );
    // Records at depths 0..=12 each count their include.
    assert_eq!(
        row.spf_dns_lookups,
        Some(i32::try_from(limits.max_depth).unwrap() + 1)
    );
    let queried: BTreeSet<String> = c
        .spf_queries("chain.example")
        .iter()
        .map(|(n, _)| n.clone())
        .collect();
    let expected: BTreeSet<String> = (1..=limits.max_depth as usize).map(name).collect();
    assert_eq!(queried, expected);
    assert!(!row.records_truncated);
    // The SPF part of the budget is the chain's 12 reads, not 50.
    assert!(
        c.sent <= NON_SPF_BUDGET + u64::from(limits.max_depth),
        "{} queries",
        c.sent
    );
}

/// Macro bombs: `%{l}` repeated thousands of times and `%{d}` expansions far
/// beyond 253 bytes. The static analysis expands no macro target and sends
/// no query for one; an include with macros is `macro_target_unexpanded`.
#[tokio::test]
async fn macro_bombs_send_no_queries() {
    let mut text = String::from("v=spf1 exists:");
    text.push_str(&"%{l}".repeat(3000));
    text.push_str(" include:");
    text.push_str(&"%{d}".repeat(100));
    text.push_str(" a:");
    text.push_str(&"%{d}.".repeat(40));
    text.push_str("example mx:%{d10r}.%{ir}.%{v}.%{h}.%{s}.%{o}.%{i}.%{p} -all");
    let mut r = MemoryResolver::new();
    r.add_txt("macro.example", chunked(text.as_bytes()));
    let c = crawl(r, settings(), "macro.example").await;
    let row = &c.row;
    assert_eq!(row.spf_status, "valid", "{:?}", row.spf_errors);
    assert_eq!(row.spf_errors, codes(&["macro_target_unexpanded"]));
    assert_eq!(row.spf_dns_lookups, Some(4));
    assert_eq!(row.spf_all.as_deref(), Some("-all"));
    assert!(c.spf_queries("macro.example").is_empty(), "{:?}", c.log);
    assert_eq!(row.spf_record.as_deref(), Some(&text[..4096]));
    assert!(row.records_truncated);
}

/// The same bombs under `check_host()` with a client: expansions over
/// `max_macro_expansion` are `permerror`, names over 253 bytes are cut on
/// the left (RFC 7208 §7.3) before they are queried.
#[tokio::test]
async fn macro_bombs_under_check_host_are_bounded() {
    use authcensus_records::spf::{CheckHostParams, SpfResult, check_host};
    let limits = Limits::default();
    let ip = std::net::IpAddr::from([192, 0, 2, 7]);
    let local = "x".repeat(64);

    let mut r = MemoryResolver::new();
    let bomb = format!("v=spf1 exists:{}.example -all", "%{l}".repeat(3000));
    r.add_txt("lbomb.example", chunked(bomb.as_bytes()));
    let params = CheckHostParams::mail_from(ip, &format!("{local}@lbomb.example"), "h.example");
    let started = Instant::now();
    let v = check_host(&r, &params, &limits).await;
    assert!(started.elapsed() < TIME_BOUND);
    assert_eq!(v.result, SpfResult::PermError);
    assert_eq!(v.reason, Some("macro_expansion_too_long"));
    assert_eq!(r.query_count(), 1);

    let mut r = MemoryResolver::new();
    let bomb = format!("v=spf1 exists:{}example -all", "%{d}.".repeat(30));
    r.add_txt("dbomb.example", TxtRecord::single(bomb));
    let params = CheckHostParams::mail_from(ip, "a@dbomb.example", "h.example");
    let v = check_host(&r, &params, &limits).await;
    assert_eq!(v.result, SpfResult::Fail, "{:?}", v.reason);
    let log = r.query_log();
    assert_eq!(log.len(), 2, "{log:?}");
    let (name, t) = &log[1];
    assert_eq!(*t, RecordType::A);
    // 30 × "dbomb.example." + "example" is 427 bytes; whole labels are
    // dropped on the left until the name fits.
    assert!(name.len() <= 253 && name.len() > 240, "{}", name.len());
    assert!(name.ends_with(".dbomb.example.example"));
    assert!(name.starts_with("dbomb.example.") || name.starts_with("example."));
}

fn rua_record(n: usize) -> String {
    let uris: Vec<String> = (0..n).map(|i| format!("mailto:r{i}@rua.example")).collect();
    format!("v=DMARC1; p=reject; rua={}", uris.join(","))
}

/// DMARC with 10,000 rua URIs: the parser keeps `MAX_URIS` (finding
/// `too_many_uris`), the row's list column keeps at most `max_list_items`.
#[tokio::test]
async fn dmarc_with_10000_rua_uris_is_capped() {
    let record = rua_record(10_000);
    let universe = || {
        let mut r = MemoryResolver::new();
        r.add_txt("_dmarc.rua.example", chunked(record.as_bytes()))
            .add_txt("rua.example", TxtRecord::single("v=spf1 -all"));
        r
    };
    let expected: Vec<String> = (0..MAX_URIS)
        .map(|i| format!("mailto:r{i}@rua.example"))
        .collect();

    // Defaults: the list bound (64) is above the parser's (32).
    let s = settings();
    assert!(s.max_list_items > MAX_URIS);
    let c = crawl(universe(), s, "rua.example").await;
    let row = &c.row;
    assert_eq!(row.dmarc_status, "valid");
    assert_eq!(row.dmarc_policy.as_deref(), Some("reject"));
    assert_eq!(row.dmarc_errors, codes(&["too_many_uris"]));
    assert_eq!(row.dmarc_rua, expected);
    assert_eq!(row.dmarc_record.as_deref(), Some(&record[..4096]));
    assert!(row.records_truncated);

    // A list bound below the parser's: the column holds exactly that many.
    let s = CrawlSettings {
        max_list_items: 16,
        ..settings()
    };
    let c = crawl(universe(), s, "rua.example").await;
    assert_eq!(c.row.dmarc_rua.len(), 16);
    assert_eq!(c.row.dmarc_rua, expected[..16]);
    assert!(c.row.records_truncated);

    // The list bound alone sets the flag: 20 URIs, a record text that fits.
    let short = rua_record(20);
    let mut r = MemoryResolver::new();
    r.add_txt("_dmarc.rua.example", chunked(short.as_bytes()));
    let s = CrawlSettings {
        max_list_items: 16,
        ..settings()
    };
    let c = crawl(r, s, "rua.example").await;
    assert_eq!(c.row.dmarc_errors, Vec::<String>::new());
    assert_eq!(c.row.dmarc_record.as_deref(), Some(short.as_str()));
    assert_eq!(c.row.dmarc_rua, expected[..16]);
    assert!(c.row.records_truncated);

    // The parser's own cap sets the flag too: 40 short URIs, a record text
    // that fits and a list bound above 40, yet only 32 are kept.
    let forty = rua_record(40);
    assert!(forty.len() < 4096);
    let mut r = MemoryResolver::new();
    r.add_txt("_dmarc.rua.example", chunked(forty.as_bytes()));
    let c = crawl(r, settings(), "rua.example").await;
    assert_eq!(c.row.dmarc_errors, codes(&["too_many_uris"]));
    assert_eq!(c.row.dmarc_record.as_deref(), Some(forty.as_str()));
    assert_eq!(c.row.dmarc_rua, expected);
    assert!(c.row.records_truncated);
}

/// Invalid UTF-8 and control characters: stored as valid UTF-8 (invalid
/// bytes become U+FFFD), control characters escaped as `\u{hex}`.
#[tokio::test]
async fn invalid_utf8_and_controls_are_stored_escaped() {
    let spf: &[u8] = b"v=spf1 ip4:192.0.2.1 \xff\xfe\x00\x1b[31m\r\n -all";
    let dmarc: &[u8] = b"v=DMARC1; p=quarantine; rua=mailto:a@esc.example; x=\x07\xc3\x28\t";
    let mut r = MemoryResolver::new();
    r.add_txt("esc.example", TxtRecord::single(spf))
        .add_txt("_dmarc.esc.example", TxtRecord::single(dmarc));
    let c = crawl(r, settings(), "esc.example").await;
    let row = &c.row;
    let stored_spf = row.spf_record.clone().unwrap();
    assert_eq!(
        stored_spf,
        "v=spf1 ip4:192.0.2.1 \u{fffd}\u{fffd}\\u{0}\\u{1b}[31m\\u{d}\\u{a} -all"
    );
    assert!(std::str::from_utf8(stored_spf.as_bytes()).is_ok());
    assert_eq!(row.spf_status, "permerror");
    assert_eq!(row.spf_errors, codes(&["syntax"]));
    let stored_dmarc = row.dmarc_record.clone().unwrap();
    assert_eq!(
        stored_dmarc,
        "v=DMARC1; p=quarantine; rua=mailto:a@esc.example; x=\\u{7}\u{fffd}(\\u{9}"
    );
    assert!(!stored_dmarc.chars().any(char::is_control));
    assert!(row.records_truncated);
}

/// A CNAME loop on `_dmarc`: the lookup fails (SERVFAIL, as resolvers
/// answer a loop), DMARC is `temperror`, never "no record", and the name is
/// asked at most once per discovery (the cache keeps no failures, see the
/// `cache` module docs: RFC 9989 and RFC 7489 discovery each ask once).
#[tokio::test]
async fn cname_loop_on_dmarc_is_temperror() {
    let mut r = MemoryResolver::new();
    r.add_cname("_dmarc.loop.example", "_dmarc.loop2.example")
        .add_cname("_dmarc.loop2.example", "_dmarc.loop.example")
        .add_txt("loop.example", TxtRecord::single("v=spf1 -all"));
    let c = crawl(r, settings(), "loop.example").await;
    let row = &c.row;
    assert_eq!(row.dmarc_status, "temperror");
    assert_eq!(row.dmarc_rfc7489_status, "temperror");
    assert_eq!(row.dmarc_errors, codes(&["dns_failure"]));
    assert_eq!(row.dmarc_record, None);
    assert_eq!(row.dmarc_effective_policy, None);
    assert_eq!(row.domain_status, "ok");
    assert_eq!(row.spf_status, "valid");
    let asked = c
        .log
        .iter()
        .filter(|(n, t)| n == "_dmarc.loop.example" && *t == RecordType::Txt)
        .count();
    assert!((1..=2).contains(&asked), "asked {asked} times");
}

/// Every hostile row survives the snapshot writer and reader unchanged.
#[tokio::test]
async fn hostile_rows_round_trip_through_a_snapshot() {
    use std::sync::Arc;

    use authcensus_crawl::{CancellationToken, Progress, RunConfig};
    use authcensus_store::WriterOptions;

    let mut r = MemoryResolver::new();
    let mut big = String::from("v=spf1");
    while big.len() < 256 * 255 {
        big.push_str(" ip4:192.0.2.1");
    }
    r.add_txt("big.example", chunked(&big.as_bytes()[..256 * 255]))
        .add_txt(
            "esc.example",
            TxtRecord::single(&b"v=spf1 \xff\x00\x1b -all"[..]),
        )
        .add_txt("_dmarc.rua.example", chunked(rua_record(10_000).as_bytes()))
        .add_cname("_dmarc.loop.example", "_dmarc.loop2.example")
        .add_cname("_dmarc.loop2.example", "_dmarc.loop.example");
    let names = ["big.example", "esc.example", "rua.example", "loop.example"];
    let ctx: CrawlContext<MemoryResolver, Org> =
        CrawlContext::new(r, org as Org, settings()).unwrap();
    let mut direct = Vec::new();
    for n in names {
        direct.push(crawl_domain(&ctx, &target(n)).await);
    }
    let dir = tempfile::tempdir().unwrap();
    let run = RunConfig {
        out_dir: dir.path().to_path_buf(),
        snapshot_id: String::from("hostile"),
        writer: WriterOptions {
            tool_version: String::from("test"),
            ..WriterOptions::default()
        },
        resolvers: vec![],
        psl: None,
        inputs: vec![],
        rejected_file: None,
        rejected_lines: 0,
    };
    let targets: Vec<CrawlTarget> = names.iter().map(|n| target(n)).collect();
    let summary = authcensus_crawl::crawl(
        targets.into_iter(),
        ctx,
        run,
        Arc::new(Progress::default()),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(summary.rows_written, 4);
    let snap = authcensus_store::layout::snapshot_dir(dir.path(), "hostile");
    let mut read = authcensus_store::reader::read_snapshot_rows(&snap).unwrap();
    read.sort_by(|a, b| a.domain.cmp(&b.domain));
    direct.sort_by(|a, b| a.domain.cmp(&b.domain));
    for row in read.iter_mut().chain(direct.iter_mut()) {
        row.crawled_at_us = 0;
        row.dns_queries = 0;
    }
    assert_eq!(read, direct);
    assert!(
        read.iter()
            .all(|r| r.domain == "loop.example" || r.records_truncated)
    );
}
