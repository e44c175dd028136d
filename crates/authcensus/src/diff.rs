//! `authcensus diff OLD NEW`: transitions between two snapshots.

use std::path::PathBuf;
use std::process::ExitCode;

use authcensus_report::diff::{DiffOptions, diff, export_changes};
use authcensus_report::render::{self, Format, docs};
use clap::Args;

use crate::report::{OutputArgs, open, parse_filters, runtime};

/// Arguments of `authcensus diff`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 on success, 2 when a snapshot or an option is unusable.")]
pub struct DiffArgs {
    /// The older snapshot (directory, part file or s3://…/snapshot=ID URL).
    #[arg(value_name = "OLD")]
    old: PathBuf,
    /// The newer snapshot (directory, part file or s3://…/snapshot=ID URL).
    #[arg(value_name = "NEW")]
    new: PathBuf,
    /// Keep only rows whose DIM has VALUE on each side (e.g. suffix=go.jp); repeatable.
    #[arg(long = "filter", value_name = "DIM=VALUE")]
    filters: Vec<String>,
    /// Write every changed, appeared and disappeared domain to FILE (.csv or .parquet).
    #[arg(long, value_name = "FILE")]
    changes: Option<PathBuf>,
    /// Changed domains listed in the output, and attribution rows per provider kind and dimension.
    #[arg(long, value_name = "N", default_value_t = 50)]
    limit: usize,
    #[command(flatten)]
    output: OutputArgs,
}

/// Runs `authcensus diff`.
pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let format = args.output.format()?;
    let filters = parse_filters(&args.filters)?;
    let (old, _old_download) = open(&args.old)?;
    let (new, _new_download) = open(&args.new)?;
    let rt = runtime()?;
    let opts = DiffOptions {
        filters: filters.clone(),
        limit: args.limit,
    };
    let r = rt.block_on(diff(&old, &new, &opts))?;
    if let Some(path) = &args.changes {
        let n = rt.block_on(export_changes(&old, &new, &filters, path))?;
        eprintln!(
            "authcensus diff: {n} changed domains written to `{}`",
            path.display()
        );
    }
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&r)? + "\n",
        Format::Csv => docs::diff_csv(&r),
        f => render::render_doc(&docs::diff_doc(&r), f),
    };
    args.output.emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
