//! `authcensus demo`: the whole tool on a machine with no internet.
//!
//! Generates a universe (and its next month), serves each on loopback with
//! the testbed, crawls both months through the real pipeline into
//! `./demo-snapshots/`, checks every crawled row against the ground truth, and
//! prints the summary and the diff. Nothing keeps running afterwards: the
//! servers stop when their handles drop, also on an error or Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use authcensus_report::diff::DiffOptions;
use authcensus_report::render::{self, Format, docs};
use authcensus_testbed::{GenerateOptions, ServeOptions};
use clap::Args;

use crate::crawl::{CrawlPlan, execute};
use crate::input_args::InputArgs;

/// Arguments of `authcensus demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Domains in the generated universe.
    #[arg(long, default_value_t = 20_000)]
    domains: usize,
    /// Seed of the universe.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Where the two snapshots go.
    #[arg(long, value_name = "DIR", default_value = "demo-snapshots")]
    out: PathBuf,
    /// Real-world records (mxmap) the SPF records are drawn from; a built-in set is used when absent.
    #[arg(long, value_name = "DIR", default_value = "../shared/data/realworld")]
    realworld: PathBuf,
    /// Keep the generated universes in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    universe: Option<PathBuf>,
}

/// The months the demo crawls, as snapshot ids.
const MONTHS: [&str; 2] = ["2026-10-01", "2026-11-01"];

/// Runs `authcensus demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let temp;
    let universe_root = match &args.universe {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let months: Vec<PathBuf> = (1..=MONTHS.len())
        .map(|i| universe_root.join(format!("month-{i}")))
        .collect();
    eprintln!(
        "authcensus demo: generating {} domains and their next month in `{}`",
        args.domains,
        universe_root.display()
    );
    for (i, dir) in months.iter().enumerate() {
        let mut opts = GenerateOptions::new(args.domains, args.seed, dir.clone());
        opts.realworld.clone_from(&args.realworld);
        if i > 0 {
            opts.evolve_from = Some(months[i - 1].clone());
        }
        authcensus_testbed::generate(&opts)
            .with_context(|| format!("generating `{}`", dir.display()))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut exact = true;
    let mut snapshots = Vec::new();
    for (dir, id) in months.iter().zip(MONTHS) {
        // The demo's snapshots are its own output: start them afresh so a
        // rerun with other options never resumes into stale rows.
        let old = authcensus_store::layout::snapshot_dir(&args.out, id);
        if old.exists() {
            std::fs::remove_dir_all(&old).with_context(|| {
                format!("removing the previous demo snapshot `{}`", old.display())
            })?;
        }
        let served = authcensus_testbed::serve(dir, ServeOptions::default())
            .with_context(|| format!("serving `{}`", dir.display()))?;
        eprintln!(
            "authcensus demo: crawling {id}: DNS {} and HTTPS {} on loopback",
            served.dns_addr, served.https_addr
        );
        let plan = CrawlPlan::local(
            InputArgs::for_files(
                vec![dir.join("domains.txt").to_string_lossy().into_owned()],
                Some("demo".into()),
            ),
            served.dns_addr,
            args.out.clone(),
            id.to_string(),
            Some(served.ca_pem_path.clone()),
            served.https_addr.port(),
        )?;
        let outcome = runtime.block_on(execute(plan, None))?;
        served.shutdown();
        if outcome.summary.cancelled || outcome.input_error.is_some() {
            return Ok(outcome.exit_code());
        }
        exact &= check_truth(dir, &outcome.dir)?;
        snapshots.push((id, outcome.dir));
    }
    // The reports, with the same engine as `authcensus report` and `diff`.
    let opened: Vec<_> = snapshots
        .iter()
        .map(|(_, d)| authcensus_report::open_snapshot(d))
        .collect::<Result<_, _>>()?;
    for snap in &opened {
        let r = runtime.block_on(authcensus_report::summary::report(
            snap,
            &authcensus_report::ReportOptions::default(),
        ))?;
        println!(
            "snapshot {}: {} domains\n{}",
            snap.id,
            r.total.rows,
            render::render_doc(&docs::report_doc(&r), Format::Table)
        );
    }
    if let [old, new] = opened.as_slice() {
        let opts = DiffOptions {
            filters: Vec::new(),
            limit: 15,
        };
        let d = runtime.block_on(authcensus_report::diff::diff(old, new, &opts))?;
        println!(
            "diff {} -> {}\n{}",
            old.id,
            new.id,
            render::render_doc(&docs::diff_doc(&d), Format::Table)
        );
        let html = args.out.join("demo-diff.html");
        std::fs::write(&html, render::render_doc(&docs::diff_doc(&d), Format::Html))
            .with_context(|| format!("writing `{}`", html.display()))?;
        eprintln!(
            "authcensus demo: the diff as an HTML page with charts: {}",
            html.display()
        );
    }
    println!(
        "Query the snapshots with DuckDB: SELECT snapshot, dmarc_effective_policy, count(*) FROM read_parquet('{}/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL;",
        args.out.display()
    );
    Ok(if exact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Compares a crawled snapshot with the universe's ground truth and prints the
/// verdict; true when every contract cell agrees.
fn check_truth(universe: &Path, snapshot: &Path) -> anyhow::Result<bool> {
    let manifest = authcensus_testbed::read_manifest(universe)?;
    let truth = authcensus_store::reader::read_snapshot_rows(&universe.join("truth"))?;
    let crawled = authcensus_store::reader::read_snapshot_rows(snapshot)?;
    let report = authcensus_testbed::compare(&truth, &crawled, &manifest);
    eprintln!("authcensus demo: ground truth check: {}", report.summary());
    for m in report.mismatches.iter().take(10) {
        eprintln!("  mismatch: {m}");
    }
    Ok(report.is_exact())
}
