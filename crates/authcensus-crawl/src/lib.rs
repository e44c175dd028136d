//! The crawl: per-domain orchestration of the protocol lookups, the MTA-STS
//! policy fetcher, a shared DNS answer cache, and the bounded pipeline into
//! the snapshot writer.
//!
//! - [`settings`]: [`CrawlTarget`] (one input domain) and [`CrawlSettings`]
//!   (every limit, with defaults, serialised into the manifest).
//! - [`cache`]: [`CachingResolver`], a bounded cache of DNS answers shared by
//!   all domains of a run.
//! - [`fetch`]: [`MtaStsFetcher`], `https://mta-sts.<domain>/.well-known/mta-sts.txt`
//!   per RFC 8461 §3.3.
//! - [`spf_memo`]: [`SpfMemo`](spf_memo::SpfMemo), SPF analyses shared by
//!   domains that publish the same record.
//! - [`domain`]: [`crawl_domain`], one domain → one [`authcensus_store::SnapshotRow`].
//! - [`pipeline`]: [`crawl`], targets → snapshot, with resume and cancellation.
//! - `lanes`: the crawl threads, each driving its own single-threaded
//!   runtime (`--threads`), fed from one queue ([`LaneSetup`] gives each
//!   its DNS sockets).
//!
//! The crawl is generic over the records crate's
//! [`Resolver`](authcensus_records::dns::Resolver) (the UDP client of
//! `authcensus-dns` in production, `MemoryResolver` in tests) and over
//! [`OrgDomain`](authcensus_records::dmarc::OrgDomain) (the PSL, supplied by
//! the binary).

pub mod cache;
pub mod domain;
pub mod fetch;
mod lanes;
pub mod pipeline;
pub mod settings;
pub mod spf_memo;
pub mod text;
pub mod tls;

pub use cache::{CacheStats, CachingResolver};
pub use domain::{CrawlContext, LaneSetup, base_row, crawl_domain, lane_setup};
pub use fetch::{FetchSetupError, FetchStats, MtaStsFetcher};
pub use pipeline::{CrawlError, CrawlSummary, Progress, RunConfig, crawl};
pub use settings::{CrawlSettings, CrawlTarget, default_user_agent};
pub use tokio_util::sync::CancellationToken;

/// The memory allocator a crawl binary should install with
/// `#[global_allocator] static A: authcensus_crawl::FastAlloc = authcensus_crawl::FastAlloc;`.
///
/// mimalloc: in a release crawl against a local Knot, glibc malloc/free
/// (with `malloc_consolidate` and `unlink_chunk` from freeing the tasks'
/// large futures) took about a fifth of the crawler's CPU (perf, 2026-11-23;
/// benches/README.md "Profile notes"). Built with `no_thp`: with
/// transparent huge pages its fresh arena pages were faulted in 2 MiB at a
/// time, and the kernel's zeroing of them was 13 % of the crawler's CPU
/// (2026-12-04, benches/README.md "CPU per query, 2026-12-04").
pub use mimalloc::MiMalloc as FastAlloc;
