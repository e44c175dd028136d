//! One domain's survey: every lookup, every classification, one
//! [`SnapshotRow`].
//!
//! [`crawl_domain`] never fails: a DNS failure, a broken record or a failed
//! policy fetch is a value in the row. All lookups start at once; the
//! domain's own TXT and MX (which decide `domain_status` and whether the
//! domain exists) are asked once for everything that needs them, and
//! whether the domain exists picks DMARC's `sp` or `np` at the end.
//!
//! Column choices the schema leaves open:
//! - `dns_queries` counts the queries this domain caused to be sent (cache
//!   misses), including the Policy Host's address lookup; answers served by
//!   the shared cache or shared with a concurrent identical query are free.
//! - `spf_dns_lookups` / `spf_void_lookups` are set when an SPF record was
//!   found at the domain, null otherwise.
//! - `dmarc_policy`, `dmarc_subdomain_policy`, `dmarc_nonexistent_policy`,
//!   `dmarc_pct`, `dmarc_rua`, `dmarc_ruf` come from the applied record only
//!   when it is valid (an invalid record applies no policy; its text stays in
//!   `dmarc_record` and its faults in `dmarc_errors`); `dmarc_pct` reports
//!   the `pct=` value although RFC 9989 makes it historic (100 when absent).
//! - `dmarc_source` may also be `public_suffix` (RFC 9989 §4.10.1, third
//!   preference: a `psd=y` record).
//! - `dmarc_errors`: codes of the applied record's findings of severity
//!   error or warning, then the discovery notes (`multiple_records`, ...).
//! - `mta_sts_fetch_error`: the fetch failure code for `policy_fetch_failed`,
//!   the policy parse error code for `invalid_policy`, null otherwise.
//! - `mta_sts_mx_mismatch`: a policy without mx patterns (mode `none`)
//!   covers no MX host, so it is true whenever the domain has MX hosts.
//! - `ns_hosts` are those of the registrable domain (else the PSL
//!   organisational domain, else the domain itself).

use std::sync::Arc;

use authcensus_records::dmarc::{self, DiscoveryStatus, DmarcDiscovery, OrgDomain};
use authcensus_records::dns::{Lookup, Resolver, TxtRecord};
use authcensus_records::name::prefixed;
use authcensus_records::spf::{self, Qualifier};
use authcensus_records::{bimi, mta_sts, mx, tlsrpt};
use authcensus_store::SnapshotRow;

use crate::cache::{CachingResolver, DomainDns};
use crate::fetch::MtaStsFetcher;
use crate::settings::{CrawlSettings, CrawlTarget};
use crate::spf_memo::{SpfMemo, SpfOutcome};
use crate::text::Bounded;

/// Runs first on each lane thread of [`crate::crawl`], inside the lane's
/// runtime, and returns a value the lane keeps until it ends (the binary
/// gives each lane its own DNS sockets here: `DnsClient::enter_lane` and
/// its guard). An error ends that lane before it takes any domain.
pub type LaneSetup = Arc<
    dyn Fn() -> futures::future::LocalBoxFuture<'static, Result<Box<dyn std::any::Any>, String>>
        + Send
        + Sync,
>;

/// Makes a [`LaneSetup`] of `f`: the value its future yields is kept by the
/// lane until the lane ends.
pub fn lane_setup<F, Fut, G>(f: F) -> LaneSetup
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<G, String>> + 'static,
    G: 'static,
{
    Arc::new(move || {
        let fut = f();
        Box::pin(async move { fut.await.map(|g| Box::new(g) as Box<dyn std::any::Any>) })
    })
}

/// What every domain of a crawl shares: the cached resolver, the
/// organisational-domain oracle (the PSL), the policy fetcher and the settings.
pub struct CrawlContext<R, O> {
    /// The shared DNS cache over the crawl's resolver.
    pub resolver: Arc<CachingResolver<R>>,
    /// RFC 7489 §3.2 organisational domains (the binary passes the PSL).
    pub org: Arc<O>,
    /// The MTA-STS policy fetcher.
    pub fetcher: Arc<MtaStsFetcher<CachingResolver<R>>>,
    /// The settings.
    pub settings: Arc<CrawlSettings>,
    /// Per-lane setup ([`LaneSetup`]), if any.
    pub lane_setup: Option<LaneSetup>,
    /// SPF analyses by record text ([`SpfMemo`]).
    pub spf_memo: Arc<SpfMemo>,
}

impl<R, O> Clone for CrawlContext<R, O> {
    fn clone(&self) -> Self {
        CrawlContext {
            resolver: Arc::clone(&self.resolver),
            org: Arc::clone(&self.org),
            fetcher: Arc::clone(&self.fetcher),
            settings: Arc::clone(&self.settings),
            lane_setup: self.lane_setup.clone(),
            spf_memo: Arc::clone(&self.spf_memo),
        }
    }
}

impl<R, O> CrawlContext<R, O>
where
    R: Resolver + Send + Sync + 'static,
    O: OrgDomain + Send + Sync + 'static,
{
    /// Builds the context: wraps `resolver` in a cache of
    /// `settings.dns_cache_bytes` of answers and sets up the fetcher.
    ///
    /// # Errors
    /// The fetcher could not be set up (unreadable `--ca-file`, TLS setup).
    pub fn new(
        resolver: R,
        org: O,
        settings: CrawlSettings,
    ) -> Result<Self, crate::fetch::FetchSetupError> {
        let resolver = Arc::new(CachingResolver::new(resolver, settings.dns_cache_bytes));
        let fetcher = Arc::new(MtaStsFetcher::new(Arc::clone(&resolver), &settings)?);
        // The memo stands on the cached answers: no cache, no memo.
        let memo_bytes = if settings.dns_cache_bytes == 0 {
            0
        } else {
            SPF_MEMO_BYTES
        };
        Ok(CrawlContext {
            resolver,
            org: Arc::new(org),
            fetcher,
            settings: Arc::new(settings),
            lane_setup: None,
            spf_memo: Arc::new(SpfMemo::new(memo_bytes)),
        })
    }
}

/// Bytes of SPF outcomes kept by record text ([`SpfMemo`]): some 50,000
/// distinct records, far more than the include templates that repeat.
pub const SPF_MEMO_BYTES: u64 = 8 << 20;

/// Microseconds since the Unix epoch, now.
pub(crate) fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The `spf_all` spelling of a qualifier.
fn all_term(q: Qualifier) -> &'static str {
    match q {
        Qualifier::Fail => "-all",
        Qualifier::SoftFail => "~all",
        Qualifier::Neutral => "?all",
        Qualifier::Pass => "+all",
    }
}

/// `domain_status`: `nxdomain` if the domain's own TXT or MX lookup says
/// NXDOMAIN, `error` if both failed after the resolver's retries, else `ok`.
fn domain_status<A, B>(txt: &Lookup<A>, mx: &Lookup<B>) -> &'static str {
    if matches!(txt, Lookup::NxDomain) || matches!(mx, Lookup::NxDomain) {
        "nxdomain"
    } else if matches!(txt, Lookup::Failed(_)) && matches!(mx, Lookup::Failed(_)) {
        "error"
    } else {
        "ok"
    }
}

/// A row with the identity columns and every status "not looked up":
/// the base of every row, and on its own the row of a domain whose task
/// died (which the crawl must still write, as `error`).
pub fn base_row(target: &CrawlTarget) -> SnapshotRow {
    SnapshotRow {
        domain: target.domain.clone(),
        registrable_domain: target.registrable_domain.clone(),
        public_suffix: target.public_suffix.clone(),
        input_source: target.source.clone(),
        input_tag: target.tag.clone(),
        input_rank: target.rank,
        crawled_at_us: now_us(),
        domain_status: "error".into(),
        spf_status: "temperror".into(),
        spf_dns_status: "error".into(),
        dmarc_status: "temperror".into(),
        dmarc_rfc7489_status: "temperror".into(),
        mx_dns_status: "error".into(),
        mta_sts_status: "dns_error".into(),
        tlsrpt_status: "dns_error".into(),
        bimi_status: "dns_error".into(),
        ..SnapshotRow::default()
    }
}

/// Surveys one domain (see the module docs). Every path yields a row.
pub async fn crawl_domain<R, O>(ctx: &CrawlContext<R, O>, target: &CrawlTarget) -> SnapshotRow
where
    R: Resolver + Send + Sync + 'static,
    O: OrgDomain + Send + Sync + 'static,
{
    let s = &*ctx.settings;
    let domain = target.domain.trim_end_matches('.').to_ascii_lowercase();
    let dns = DomainDns::new(&ctx.resolver, &domain, &s.bimi_selector);

    let org_psl = ctx
        .org
        .organizational_domain(&domain)
        .map(|o| o.trim_end_matches('.').to_ascii_lowercase());
    let ns_name = target
        .registrable_domain
        .clone()
        .or_else(|| org_psl.clone())
        .unwrap_or_else(|| domain.clone());

    // Every lookup at once: none waits for another's answer except where a
    // record names the next query (SPF includes, the DMARC tree walk, the
    // policy host after `_mta-sts`). The domain's own TXT and MX are asked
    // once (`DomainDns`) for their columns and the SPF walk alike; whether
    // the domain exists (from those two) only picks DMARC's `sp` or `np`
    // afterwards. So a domain costs one round trip plus what its records
    // chain, and a dead one a single round of timeouts.
    let sts_name = prefixed("_mta-sts.", &domain);
    let tlsrpt_name = prefixed("_smtp._tls.", &domain);
    let (
        (txt, mx_lookup),
        (spf_texts, spf_an),
        mut d9989,
        mut d7489,
        (sts_txt, fetch),
        tlsrpt_txt,
        bimi_a,
        ns_lookup,
    ) = tokio::join!(
        async { tokio::join!(dns.txt(&domain), dns.mx(&domain)) },
        async {
            let spf_texts = match &dns.txt(&domain).await {
                Lookup::Records(records) => spf::spf_record_texts(records),
                _ => Vec::new(),
            };
            let one_spf = match spf_texts.as_slice() {
                [one] => Some(one.as_slice()),
                _ => None,
            };
            if let Some(hit) = one_spf.and_then(|t| ctx.spf_memo.get(t, &domain)) {
                return (spf_texts, hit);
            }
            let an = spf::analyze(&dns, &domain, &s.spf_limits).await;
            let outcome = match one_spf {
                Some(t) => ctx.spf_memo.put(t, &an),
                None => Arc::new(SpfOutcome::of(&an)),
            };
            (spf_texts, outcome)
        },
        dmarc::discover_rfc9989(&dns, &domain, true),
        dmarc::discover_rfc7489(&dns, ctx.org.as_ref(), &domain, true),
        async {
            let txt = dns.txt_own_only(&sts_name).await;
            let fetch = match &txt {
                Lookup::Records(r) => match mta_sts::select_txt(r) {
                    // Boxed: few domains fetch a policy, and the HTTPS
                    // client's state would otherwise sit in every domain's
                    // future.
                    Ok(rec) => Some(Box::pin(ctx.fetcher.fetch_via(&dns, &domain, &rec.id)).await),
                    Err(_) => None,
                },
                _ => None,
            };
            (txt, fetch)
        },
        dns.txt_own_only(&tlsrpt_name),
        bimi::discover(&dns, &domain, org_psl.as_deref(), &s.bimi_selector),
        dns.ns(&ns_name),
    );
    // The row is made only now: held across the lookups above it added
    // 1,040 bytes to every in-flight domain's future (7,240 -> 6,176 bytes).
    let mut row = base_row(target);
    let mut b = Bounded::new(s.max_record_text, s.max_short_text, s.max_list_items);
    row.domain_status = domain_status(&txt, &mx_lookup).into();
    let exists = row.domain_status != "nxdomain";
    d9989.set_domain_exists(exists);
    d7489.set_domain_exists(exists);
    let mx_assessment = mx::classify(&mx_lookup);
    let mx_hosts: Vec<String> = mx_assessment
        .exchanges
        .iter()
        .map(|h| h.exchange.clone())
        .collect();

    fill_spf(&mut row, &mut b, &txt, spf_texts.first(), &spf_an);
    fill_dmarc(&mut row, &mut b, &d9989, &d7489, org_psl.as_deref());
    check_external_destinations(&mut row, &mut b, &dns, ctx.org.as_ref(), &d9989).await;

    row.mx_exchanges = b.list(mx_hosts.iter().map(String::as_str), s.max_short_text);
    row.mx_null = mx_assessment.status == mx::MxStatus::NullMx;
    row.mx_dns_status = mx_lookup.label().into();
    row.mx_provider = mx_assessment.primary_provider.map(|p| p.id.into());

    let sts = mta_sts::classify(&sts_txt, fetch.as_ref(), s.max_policy_body);
    row.mta_sts_status = sts.status.label().into();
    row.mta_sts_id = sts.record.as_ref().map(|r| b.short(&r.id));
    if let Some(policy) = &sts.policy {
        row.mta_sts_mode = Some(policy.mode.as_str().into());
        row.mta_sts_mx_mismatch = Some(!mta_sts::policy_covers(policy, &mx_hosts).is_empty());
    }
    row.mta_sts_fetch_error = match sts.status {
        mta_sts::MtaStsStatus::PolicyFetchFailed | mta_sts::MtaStsStatus::InvalidPolicy => {
            sts.finding_code().map(Into::into)
        }
        _ => None,
    };

    let tr = tlsrpt::classify(&tlsrpt_txt);
    row.tlsrpt_status = tr.status.label().into();
    if let Some(rec) = &tr.record {
        row.tlsrpt_rua = b.list(rec.rua.iter().map(|u| u.uri.as_str()), s.max_short_text);
    }

    row.bimi_status = bimi_a.status.label().into();
    row.bimi_logo_url = bimi_a.logo_url.as_deref().map(|u| b.short(u));
    row.bimi_authority_url = bimi_a.evidence_url.as_deref().map(|u| b.short(u));

    if let Lookup::Records(hosts) = &ns_lookup {
        let mut hosts: Vec<String> = hosts
            .iter()
            .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
            .collect();
        hosts.sort();
        hosts.dedup();
        row.dns_provider = mx::dns_providers(&hosts).first().map(|p| p.id.into());
        row.ns_hosts = b.list(hosts.iter().map(String::as_str), s.max_short_text);
    }

    row.records_truncated = b.touched();
    row.dns_queries = i32::try_from(dns.sent()).unwrap_or(i32::MAX);
    row.crawled_at_us = now_us();
    row
}

fn fill_spf(
    row: &mut SnapshotRow,
    b: &mut Bounded,
    txt: &Lookup<TxtRecord>,
    text: Option<&Vec<u8>>,
    an: &SpfOutcome,
) {
    row.spf_dns_status = txt.label().into();
    row.spf_status = an.status.label().into();
    // `text`: the selected record; with several, the first (RFC 7208 §4.5
    // makes that a permerror, reported in spf_errors).
    if let Some(text) = text {
        row.spf_record = Some(b.record(&String::from_utf8_lossy(text)));
        row.spf_dns_lookups = Some(i32::try_from(an.dns_lookups).unwrap_or(i32::MAX));
        row.spf_void_lookups = Some(i32::try_from(an.void_lookups).unwrap_or(i32::MAX));
        row.spf_all = an.effective_all.map(|q| all_term(q).into());
    }
    row.spf_errors = an.codes.iter().map(|c| (*c).to_string()).collect();
}

/// The error codes of a discovery: the applied record's findings of
/// severity error or warning, then the discovery notes, without duplicates.
fn dmarc_codes(d: &DmarcDiscovery) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |c: &str| {
        if !out.iter().any(|x| x == c) {
            out.push(c.to_string());
        }
    };
    if let Some(p) = &d.parsed {
        for f in &p.findings {
            if f.severity != dmarc::Severity::Info {
                push(f.code());
            }
        }
    }
    for n in &d.notes {
        push(n.kind.code());
    }
    out
}

/// External report destinations checked per domain, at most (a record with
/// thousands of rua URIs must not cost thousands of queries).
pub const MAX_EXTERNAL_CHECKS: usize = 8;

/// RFC 7489 §7.1 (RFC 9990 §3): rua/ruf URIs whose host lies in another
/// organizational domain must be authorised by a `v=DMARC1` TXT record at
/// `<policy domain>._report._dmarc.<host>`. The unauthorised URIs go to
/// `dmarc_external_unauthorized`; a lookup failure is not a verdict and adds
/// `external_destination_temperror` to `dmarc_errors` instead. Answers come
/// through the shared cache, so each (policy domain, host) pair is queried
/// once per run.
async fn check_external_destinations<D: Resolver, O: OrgDomain>(
    row: &mut SnapshotRow,
    b: &mut Bounded,
    dns: &D,
    org: &O,
    d: &DmarcDiscovery,
) {
    if d.status != DiscoveryStatus::Valid {
        return;
    }
    let (Some(rec), Some(at)) = (
        d.parsed.as_ref().and_then(|p| p.record.as_ref()),
        d.found_at.as_deref(),
    ) else {
        return;
    };
    let mut unauthorized = Vec::new();
    let mut temperror = false;
    for dest in dmarc::external_destinations(rec, at, org)
        .iter()
        .take(MAX_EXTERNAL_CHECKS)
    {
        match dmarc::verify_destination(dns, dest).await {
            dmarc::Authorization::Authorized { .. } => {}
            dmarc::Authorization::TempError(_) => temperror = true,
            dmarc::Authorization::NotAuthorized | dmarc::Authorization::OverrideRejected => {
                unauthorized.push(dest.uri.uri.clone());
            }
        }
    }
    row.dmarc_external_unauthorized =
        b.list(unauthorized.iter().map(String::as_str), b.short_max());
    if temperror {
        row.dmarc_errors
            .push("external_destination_temperror".to_string());
    }
}

fn fill_dmarc(
    row: &mut SnapshotRow,
    b: &mut Bounded,
    d: &DmarcDiscovery,
    old: &DmarcDiscovery,
    org_psl: Option<&str>,
) {
    row.dmarc_status = d.status.label().into();
    row.dmarc_record = d.record_text.as_deref().map(|t| b.record(t));
    row.dmarc_source = d.source.map(|s| s.label().into());
    row.dmarc_found_at = d.found_at.clone();
    if let Some(rec) = d
        .parsed
        .as_ref()
        .and_then(|p| p.record.as_ref())
        .filter(|_| d.status == DiscoveryStatus::Valid)
    {
        row.dmarc_policy = rec.p.map(|p| p.label().into());
        row.dmarc_subdomain_policy = rec.sp.map(|p| p.label().into());
        row.dmarc_nonexistent_policy = rec.np.map(|p| p.label().into());
        // RFC 9989 makes pct historic; the tag value is still reported.
        row.dmarc_pct = Some(i32::from(rec.pct.unwrap_or(100)));
        let max = b.short_max();
        row.dmarc_rua = b.list(rec.rua.iter().flatten().map(|u| u.uri.as_str()), max);
        // The parser keeps a bounded number of URIs and says so in a finding.
        if d.parsed
            .as_ref()
            .is_some_and(|p| p.findings.iter().any(|f| f.kind.code() == "too_many_uris"))
        {
            b.mark();
        }
        row.dmarc_ruf = b.list(rec.ruf.iter().flatten().map(|u| u.uri.as_str()), max);
    }
    row.dmarc_effective_policy = (d.status == DiscoveryStatus::Valid)
        .then_some(d.effective_policy)
        .flatten()
        .map(|p| p.label().into());
    row.dmarc_errors = dmarc_codes(d);
    row.dmarc_org_domain_treewalk = d.organizational_domain.clone();
    row.dmarc_org_domain_psl = org_psl.map(str::to_string);
    row.dmarc_rfc7489_status = old.status.label().into();
    row.dmarc_rfc7489_effective_policy = (old.status == DiscoveryStatus::Valid)
        .then_some(old.effective_policy)
        .flatten()
        .map(|p| p.label().into());
}
