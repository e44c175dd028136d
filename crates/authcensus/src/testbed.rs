//! `authcensus testbed generate|serve`: the synthetic universe on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use authcensus_testbed::{FaultOptions, GenerateOptions, ServeOptions};
use clap::{Args, Subcommand};

/// `authcensus testbed ...`
#[derive(Debug, Args)]
pub struct TestbedArgs {
    #[command(subcommand)]
    command: TestbedCommand,
}

#[derive(Debug, Subcommand)]
enum TestbedCommand {
    /// Write a universe: zone files, MTA-STS policies, domains.txt, the ground truth.
    Generate(GenerateArgs),
    /// Serve a universe on loopback (DNS over UDP and TCP, HTTPS for mta-sts hosts) until interrupted.
    Serve(ServeArgs),
    /// Compare a crawled snapshot with a universe's ground truth (exit 1 on any mismatch).
    Check(CheckArgs),
    /// Print the names of the synthetic universe (`d0.test` …) that
    /// `serve --synthetic N` answers, one per line (scale runs).
    SyntheticList(SyntheticListArgs),
}

#[derive(Debug, Args)]
struct SyntheticListArgs {
    /// Number of domains.
    count: u64,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The universe directory.
    universe: PathBuf,
    /// The crawled snapshot directory (`OUT/snapshot=ID`).
    snapshot: PathBuf,
    /// Mismatches to print.
    #[arg(long, default_value_t = 20)]
    show: usize,
    /// Leave out the names the testbed server never answers (the manifest's
    /// `never_answer`): for crawls through another server (Knot), which
    /// answers them NXDOMAIN.
    #[arg(long)]
    skip_never_answer: bool,
}

#[derive(Debug, Args)]
struct GenerateArgs {
    /// Number of input domains (planted hard cases included).
    #[arg(long, default_value_t = 20_000)]
    domains: usize,
    /// Seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Write the next month's universe evolved from this one instead.
    #[arg(long, value_name = "DIR")]
    evolve: Option<PathBuf>,
    /// Real-world records (mxmap) the SPF records are drawn from.
    #[arg(long, value_name = "DIR", default_value = "../shared/data/realworld")]
    realworld: PathBuf,
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// The universe directory.
    #[arg(required_unless_present = "synthetic")]
    dir: Option<PathBuf>,
    /// Serve the synthetic universe of N domains (`d0.test` …) answered on
    /// the fly instead of a generated directory: DNS only, no ground truth,
    /// memory independent of N (scale runs).
    #[arg(long, value_name = "N", conflicts_with = "dir")]
    synthetic: Option<u64>,
    /// DNS address (loopback only).
    #[arg(long, default_value = "127.0.0.1:5300")]
    dns: SocketAddr,
    /// HTTPS address (loopback only).
    #[arg(long, default_value = "127.0.0.1:8443")]
    https: SocketAddr,
    /// Delay before every DNS answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of DNS queries dropped (0..1).
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Share of DNS queries answered SERVFAIL (0..1).
    #[arg(long, default_value_t = 0.0)]
    servfail_rate: f64,
    /// Share of UDP answers truncated (TC=1), forcing TCP (0..1).
    #[arg(long, default_value_t = 0.0)]
    truncate_rate: f64,
    /// Share of DNS answers delayed by a latency spike (0..1).
    #[arg(long, default_value_t = 0.0)]
    spike_rate: f64,
    /// Extra delay of a spiked answer, in milliseconds.
    #[arg(long, default_value_t = 200)]
    spike_ms: u64,
    /// Share of delegations (domains' or providers' name servers) that never
    /// answer (0..1).
    #[arg(long, default_value_t = 0.0)]
    silent_rate: f64,
    /// Seed of the fault injection.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
}

/// Runs `authcensus testbed`.
pub fn run(args: TestbedArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TestbedCommand::Generate(g) => {
            let mut opts = GenerateOptions::new(g.domains, g.seed, g.out.clone());
            opts.evolve_from = g.evolve;
            opts.realworld = g.realworld;
            let s = authcensus_testbed::generate(&opts)
                .with_context(|| format!("generating the universe in `{}`", g.out.display()))?;
            eprintln!(
                "authcensus: universe in `{}`: {} domains, {} zones, {} planted cases, {} policy hosts, {} transitions",
                s.out_dir.display(),
                s.domains,
                s.zones.len(),
                s.cases,
                s.policy_hosts,
                s.transitions
            );
            Ok(ExitCode::SUCCESS)
        }
        TestbedCommand::Check(c) => {
            let manifest = authcensus_testbed::read_manifest(&c.universe)?;
            let mut truth =
                authcensus_store::reader::read_snapshot_rows(&c.universe.join("truth"))?;
            let mut crawled = authcensus_store::reader::read_snapshot_rows(&c.snapshot)?;
            if c.skip_never_answer {
                let before = truth.len();
                let never = manifest.never_answer_set();
                truth.retain(|r| !never.covers(&r.domain));
                crawled.retain(|r| !never.covers(&r.domain));
                println!("left out {} never-answering domains", before - truth.len());
            }
            let report = authcensus_testbed::compare(&truth, &crawled, &manifest);
            println!("ground truth: {}", report.summary());
            for (column, n) in report.by_column() {
                println!("  {column}: {n} mismatches");
            }
            for m in report.mismatches.iter().take(c.show) {
                println!("  {m}");
            }
            Ok(if report.is_exact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        TestbedCommand::SyntheticList(l) => {
            use std::io::Write;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for i in 0..l.count {
                if writeln!(out, "{}", authcensus_testbed::synthetic_domain(i)).is_err() {
                    // A closed pipe (`| head`) ends the list.
                    return Ok(ExitCode::SUCCESS);
                }
            }
            out.flush().ok();
            Ok(ExitCode::SUCCESS)
        }
        TestbedCommand::Serve(s) => {
            for (flag, v) in [
                ("--drop-rate", s.drop_rate),
                ("--servfail-rate", s.servfail_rate),
                ("--truncate-rate", s.truncate_rate),
                ("--spike-rate", s.spike_rate),
                ("--silent-rate", s.silent_rate),
            ] {
                anyhow::ensure!((0.0..=1.0).contains(&v), "`{flag}` must be between 0 and 1");
            }
            let opts = ServeOptions {
                dns_addr: s.dns,
                https_addr: s.https,
                faults: FaultOptions {
                    latency: Duration::from_millis(s.latency_ms),
                    drop_rate: s.drop_rate,
                    servfail_rate: s.servfail_rate,
                    truncate_rate: s.truncate_rate,
                    spike_rate: s.spike_rate,
                    spike_latency: Duration::from_millis(s.spike_ms),
                    silent_rate: s.silent_rate,
                    seed: s.fault_seed,
                },
            };
            let (running, what) = match (&s.dir, s.synthetic) {
                (_, Some(n)) => (
                    authcensus_testbed::serve_synthetic(n, opts)
                        .context("serving the synthetic universe")?,
                    format!(
                        "the synthetic universe of {n} domains (list: authcensus testbed synthetic-list {n})"
                    ),
                ),
                (Some(dir), None) => (
                    authcensus_testbed::serve(dir, opts)
                        .with_context(|| format!("serving `{}`", dir.display()))?,
                    format!("{}/domains.txt", dir.display()),
                ),
                (None, None) => anyhow::bail!("give a universe directory or --synthetic N"),
            };
            println!("dns {}", running.dns_addr);
            println!("https {}", running.https_addr);
            println!("ca {}", running.ca_pem_path.display());
            eprintln!(
                "authcensus: serving; crawl with: authcensus crawl --resolver {} --ca-file {} --mta-sts-port {} {}/domains.txt  (Ctrl-C stops)",
                running.dns_addr,
                running.ca_pem_path.display(),
                running.https_addr.port(),
                what
            );
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            rt.block_on(async {
                let _ = tokio::signal::ctrl_c().await;
            });
            running.shutdown();
            Ok(ExitCode::SUCCESS)
        }
    }
}
