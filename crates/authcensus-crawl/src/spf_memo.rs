//! A bounded memo of SPF analyses by record text, shared by a run.
//!
//! Millions of domains publish the same few SPF records
//! (`v=spf1 include:spf.protection.outlook.com -all`, `v=spf1
//! include:_spf.google.com ~all`, ...). The static analysis of such a record
//! walks the same include tree for each of them: the answers come from the
//! shared DNS cache, but the walk still copies, parses and counts every
//! record of the tree again. [`SpfMemo`] keeps the outcome of an analysis
//! (status, finding codes, lookup and void-lookup counts, effective `all`)
//! keyed by the record's text, and a later domain whose one SPF record has
//! the same text takes it instead of walking, when
//! [`SpfAnalysis::shareable`] says the analysis did not depend on the first
//! domain's name (no implicit `a`/`mx`, no loop, nothing failed or cut
//! short) and the walk never asked for the later domain's own name.
//!
//! Like the DNS cache this has no TTL: a run is a snapshot, and the answers
//! the walk saw stay valid for the run. It is bounded in bytes (hostile
//! records are up to 4 KiB each after the crawl's limits; entries are evicted
//! CLOCK-Pro style), and a failed or partial analysis is never kept.

use std::sync::Arc;

use authcensus_records::spf::{self, AnalysisStatus, Qualifier, SpfAnalysis};

/// What the crawl stores from an analysis, shared by every domain with the
/// same record text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfOutcome {
    /// Overall status.
    pub status: AnalysisStatus,
    /// Finding codes, in walk order, without duplicates.
    pub codes: Vec<&'static str>,
    /// RFC 7208 §4.6.4 DNS-querying terms over the tree.
    pub dns_lookups: u32,
    /// Void lookups over the tree.
    pub void_lookups: u32,
    /// The effective `all` qualifier.
    pub effective_all: Option<Qualifier>,
    /// Names whose TXT records the walk asked for: a domain among them
    /// would meet itself in the walk (a loop), so it does not reuse this.
    names: Box<[Box<str>]>,
}

impl SpfOutcome {
    /// The outcome of `an` (reusable or not).
    pub fn of(an: &SpfAnalysis) -> Self {
        SpfOutcome {
            status: an.status,
            codes: an.codes(),
            dns_lookups: an.dns_lookups,
            void_lookups: an.void_lookups,
            effective_all: an.effective_all,
            names: Box::default(),
        }
    }

    fn bytes(&self) -> u64 {
        let names: usize = self.names.iter().map(|n| n.len() + 16).sum();
        (64 + self.codes.len() * 16 + names) as u64
    }
}

#[derive(Debug, Clone, Copy)]
struct Weight;

impl quick_cache::Weighter<Box<[u8]>, Arc<SpfOutcome>> for Weight {
    fn weight(&self, key: &Box<[u8]>, val: &Arc<SpfOutcome>) -> u64 {
        key.len() as u64 + 32 + val.bytes()
    }
}

/// The memo (see the module docs).
pub struct SpfMemo {
    cache: Option<quick_cache::sync::Cache<Box<[u8]>, Arc<SpfOutcome>, Weight>>,
}

impl std::fmt::Debug for SpfMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpfMemo")
            .field("entries", &self.cache.as_ref().map_or(0, |c| c.len()))
            .finish()
    }
}

impl SpfMemo {
    /// A memo of about `capacity_bytes` (0: nothing is kept).
    pub fn new(capacity_bytes: u64) -> Self {
        let items = usize::try_from(capacity_bytes / 128)
            .unwrap_or(1 << 20)
            .max(1);
        SpfMemo {
            cache: (capacity_bytes > 0)
                .then(|| quick_cache::sync::Cache::with_weighter(items, capacity_bytes, Weight)),
        }
    }

    /// The outcome kept for `record` (the joined text of `domain`'s one SPF
    /// record), if one may stand for `domain`'s own analysis. `domain` is
    /// lowercase without a trailing dot, as [`spf::analyze()`] normalises it.
    pub fn get(&self, record: &[u8], domain: &str) -> Option<Arc<SpfOutcome>> {
        if !spf::is_valid_domain(domain) {
            return None;
        }
        let hit = self.cache.as_ref()?.get(record)?;
        (!hit.names.iter().any(|n| &**n == domain)).then_some(hit)
    }

    /// Keeps the outcome of `an` (the analysis of a domain whose one SPF
    /// record is `record`) when it is reusable; returns the outcome either way.
    pub fn put(&self, record: &[u8], an: &SpfAnalysis) -> Arc<SpfOutcome> {
        let mut out = SpfOutcome::of(an);
        // The `txt_names` test is made per domain in `get`.
        match &self.cache {
            Some(cache) if an.shareable() => {
                out.names = an.txt_names.iter().map(|n| n.as_str().into()).collect();
                let out = Arc::new(out);
                cache.insert(record.into(), Arc::clone(&out));
                out
            }
            _ => Arc::new(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authcensus_records::dns::{DnsFailure, MemoryResolver, RecordType, TxtRecord};
    use authcensus_records::spf::Limits;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    fn resolver(records: &[(&str, &str)]) -> MemoryResolver {
        let mut r = MemoryResolver::new();
        for (name, text) in records {
            r.add_txt(name, TxtRecord::single(text.as_bytes().to_vec()));
        }
        r
    }

    /// Analyses `domain` directly and through the memo, as the crawl does.
    fn both(r: &MemoryResolver, memo: &SpfMemo, domain: &str) -> (SpfOutcome, Option<SpfOutcome>) {
        let an = block_on(spf::analyze(r, domain, &Limits::default()));
        let text = an.record_text.clone().unwrap_or_default();
        let memoed = memo.get(text.as_bytes(), domain).map(|o| (*o).clone());
        memo.put(text.as_bytes(), &an);
        (SpfOutcome::of(&an), memoed)
    }

    fn same(a: &SpfOutcome, b: &SpfOutcome) {
        assert_eq!(
            (
                a.status,
                &a.codes,
                a.dns_lookups,
                a.void_lookups,
                a.effective_all
            ),
            (
                b.status,
                &b.codes,
                b.dns_lookups,
                b.void_lookups,
                b.effective_all
            )
        );
    }

    #[test]
    fn a_shared_include_tree_is_walked_once_and_gives_the_same_outcome() {
        let rec = "v=spf1 include:spf.provider.example include:missing.example -all";
        let r = resolver(&[
            ("a.example", rec),
            ("b.example", rec),
            (
                "spf.provider.example",
                "v=spf1 include:n1.provider.example ptr ~all",
            ),
            (
                "n1.provider.example",
                "v=spf1 ip4:192.0.2.0/24 a:void.example ~all",
            ),
        ]);
        let memo = SpfMemo::new(1 << 20);
        let (a, none) = both(&r, &memo, "a.example");
        assert!(none.is_none());
        assert_eq!(
            a.status,
            AnalysisStatus::PermError,
            "missing include target"
        );
        assert!(a.codes.contains(&"ptr_deprecated"), "{:?}", a.codes);
        let (b, hit) = both(&r, &memo, "b.example");
        let hit = hit.expect("b.example reuses a.example's analysis");
        same(&b, &hit);
        same(&a, &hit);
    }

    #[test]
    fn outcomes_that_depend_on_the_domain_are_not_reused() {
        let memo = SpfMemo::new(1 << 20);
        // Implicit `mx`/`a`: each domain's own MX and A records count.
        let r = resolver(&[
            ("a.example", "v=spf1 mx -all"),
            ("b.example", "v=spf1 mx -all"),
        ]);
        both(&r, &memo, "a.example");
        assert!(both(&r, &memo, "b.example").1.is_none());
        // A domain the walk asked for: its own walk loops, the first did not.
        let rec = "v=spf1 include:b2.example -all";
        let r = resolver(&[("a2.example", rec), ("b2.example", rec)]);
        let (_, _) = both(&r, &memo, "a2.example");
        let (b, hit) = both(&r, &memo, "b2.example");
        assert!(
            hit.is_none(),
            "b2.example would have taken a2.example's verdict"
        );
        assert!(b.codes.contains(&"include_loop"), "{:?}", b.codes);
        // A failed lookup is not kept: a later domain tries again.
        let rec = "v=spf1 include:down.example -all";
        let mut r = resolver(&[("a3.example", rec), ("b3.example", rec)]);
        r.fail("down.example", RecordType::Txt, DnsFailure::ServFail);
        let (a, _) = both(&r, &memo, "a3.example");
        assert_eq!(a.status, AnalysisStatus::TempError);
        assert!(both(&r, &memo, "b3.example").1.is_none());
        // No memo at all.
        let off = SpfMemo::new(0);
        let rec = "v=spf1 -all";
        let r = resolver(&[("a4.example", rec), ("b4.example", rec)]);
        both(&r, &off, "a4.example");
        assert!(both(&r, &off, "b4.example").1.is_none());
    }
}
