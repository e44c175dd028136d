//! The `authcensus` command line: parses arguments, builds settings, calls the
//! library crates and maps their errors to exit codes. Nothing else lives here.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod crawl;
mod demo;
mod diff;
mod domains;
mod input_args;
mod progress;
mod remote_snapshot;
mod report;
mod testbed;
mod trend;

/// Survey email domain authentication across millions of domains.
#[derive(Debug, Parser)]
#[command(name = "authcensus", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the normalised, deduplicated domains of lists, CSVs and zone files.
    Domains(domains::DomainsArgs),
    /// Crawl domains: fetch and classify SPF, DMARC, MX, MTA-STS, TLS-RPT,
    /// BIMI and NS for each, writing a Parquet snapshot.
    Crawl(Box<crawl::CrawlArgs>),
    /// Generate a synthetic universe, serve it on loopback, crawl two months
    /// of it and print the report and diff (no internet needed).
    Demo(demo::DemoArgs),
    /// Generate or serve the synthetic test universe.
    Testbed(testbed::TestbedArgs),
    /// Adoption summary of one snapshot (optionally grouped, filtered, or
    /// checked against a compliance profile).
    Report(report::ReportArgs),
    /// Transitions between two snapshots, with attribution and a change export.
    Diff(diff::DiffArgs),
    /// Adoption metrics of every snapshot under a root, over time.
    Trend(trend::TrendArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AUTHCENSUS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Domains(args) => domains::run(args),
        Command::Crawl(args) => crawl::run(*args),
        Command::Demo(args) => demo::run(args),
        Command::Testbed(args) => testbed::run(args),
        Command::Report(args) => report::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Trend(args) => trend::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("authcensus: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
