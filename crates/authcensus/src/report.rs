//! `authcensus report SNAPSHOT`: adoption summary of one snapshot, or a
//! compliance-profile check with `--profile`. Also the output options shared
//! with `diff` and `trend`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use authcensus_report::profile::{self, Profile};
use authcensus_report::render::{self, Format, docs};
use authcensus_report::{Denominator, Filter, GroupBy, ReportOptions};
use clap::Args;

use crate::remote_snapshot::{Local, Want, localize};

/// `--format` and `-o`, shared by `report`, `diff` and `trend`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format: table, markdown, json, csv or html.
    #[arg(long, value_name = "FORMAT", default_value = "table")]
    format: String,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

impl OutputArgs {
    pub(crate) fn format(&self) -> anyhow::Result<Format> {
        Ok(self.format.parse()?)
    }

    /// Writes `text` to the file or standard output.
    pub(crate) fn emit(&self, text: &str) -> anyhow::Result<()> {
        match &self.output {
            Some(path) => {
                std::fs::write(path, text).with_context(|| format!("writing `{}`", path.display()))
            }
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
                Ok(())
            }
        }
    }
}

/// Grouping, filters and denominator, shared by `report` and `trend`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Group by suffix, tld, tag, rank-bucket, mailbox-provider or dns-provider.
    #[arg(long, value_name = "DIM")]
    by: Option<String>,
    /// Keep only rows whose DIM has VALUE (e.g. suffix=go.jp, tld=gov); repeatable, all must hold.
    #[arg(long = "filter", value_name = "DIM=VALUE")]
    filters: Vec<String>,
    /// Base of the shares: all, resolving (domain_status = ok) or with-mx.
    #[arg(long, value_name = "BASE", default_value = "resolving")]
    denominator: String,
}

impl SelectArgs {
    pub(crate) fn options(&self) -> anyhow::Result<ReportOptions> {
        Ok(ReportOptions {
            by: self.by.as_deref().map(str::parse::<GroupBy>).transpose()?,
            filters: parse_filters(&self.filters)?,
            denominator: self.denominator.parse::<Denominator>()?,
        })
    }
}

pub(crate) fn parse_filters(filters: &[String]) -> anyhow::Result<Vec<Filter>> {
    Ok(filters
        .iter()
        .map(|f| f.parse::<Filter>())
        .collect::<Result<_, _>>()?)
}

/// Arguments of `authcensus report`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 on success, 2 when the snapshot or an option is unusable.")]
pub struct ReportArgs {
    /// Snapshot directory (ROOT/snapshot=ID), a root holding one snapshot, a part file, or a URL (s3://bucket/prefix/snapshot=ID).
    #[arg(value_name = "SNAPSHOT")]
    snapshot: PathBuf,
    #[command(flatten)]
    select: SelectArgs,
    /// Check every selected domain against a compliance profile (TOML) instead.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Failing domains listed with --profile (all with --format csv unless given).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    #[command(flatten)]
    output: OutputArgs,
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Opens a snapshot argument: a local path, or a URL downloaded first (see
/// [`crate::remote_snapshot`]). Keep the returned guard while reading.
pub(crate) fn open(path: &Path) -> anyhow::Result<(authcensus_report::Snapshot, Local)> {
    let local = localize(path, Want::One)?;
    Ok((authcensus_report::open_snapshot(&local.path)?, local))
}

/// Runs `authcensus report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let format = args.output.format()?;
    let opts = args.select.options()?;
    let (snapshot, _download) = open(&args.snapshot)?;
    let rt = runtime()?;
    let text = if let Some(path) = &args.profile {
        let profile = Profile::load(path)?;
        let limit = args.limit.unwrap_or(if format == Format::Csv {
            usize::MAX
        } else {
            100
        });
        let r = rt.block_on(profile::check(
            &snapshot,
            &profile,
            &opts,
            limit.min(1 << 40),
        ))?;
        match format {
            Format::Json => serde_json::to_string_pretty(&r)? + "\n",
            Format::Csv => docs::profile_csv(&r),
            f => render::render_doc(&docs::profile_doc(&r), f),
        }
    } else {
        let r = rt.block_on(authcensus_report::summary::report(&snapshot, &opts))?;
        match format {
            Format::Json => serde_json::to_string_pretty(&r)? + "\n",
            Format::Csv => docs::report_csv(&r),
            f => render::render_doc(&docs::report_doc(&r), f),
        }
    };
    args.output.emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
