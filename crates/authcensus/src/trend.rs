//! `authcensus trend ROOT`: metrics of every snapshot under a root over time.

use std::path::PathBuf;
use std::process::ExitCode;

use authcensus_report::render::{self, Format, docs};
use clap::Args;

use crate::report::{OutputArgs, SelectArgs, runtime};

/// Arguments of `authcensus trend`.
#[derive(Debug, Args)]
#[command(after_help = "Exit status: 0 on success, 2 when a snapshot or an option is unusable.")]
pub struct TrendArgs {
    /// Directory (or s3://bucket/prefix URL) holding snapshot=ID directories.
    #[arg(value_name = "ROOT")]
    root: PathBuf,
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Runs `authcensus trend`.
pub fn run(args: TrendArgs) -> anyhow::Result<ExitCode> {
    let format = args.output.format()?;
    let opts = args.select.options()?;
    let root = crate::remote_snapshot::localize(&args.root, crate::remote_snapshot::Want::All)?;
    let r = runtime()?.block_on(authcensus_report::trend::trend(&root.path, &opts))?;
    let text = match format {
        Format::Json => serde_json::to_string_pretty(&r)? + "\n",
        Format::Csv => docs::trend_csv(&r),
        f => render::render_doc(&docs::trend_doc(&r), f),
    };
    args.output.emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
