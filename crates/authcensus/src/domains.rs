//! `authcensus domains`: print the normalised, deduplicated domains of one
//! or more lists, one A-label per line on stdout.
//!
//! Arguments become [`InputSettings`] first (per-input options resolved,
//! lists loaded), then [`run`] drives `authcensus_input::DomainStream`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use authcensus_input::{DomainStream, FnSink, Rejection};
use clap::Args;

use crate::input_args::{InputArgs, InputSettings};

/// Text after `authcensus domains --help`.
const AFTER_HELP: &str = "\
Formats are detected from the content unless --format is given. gzip and zstd
are detected from magic bytes, so compressed files and pipes work as they are.

--format, --column and --tag are per input: give one value for every INPUT, or
exactly one value per INPUT, in order (`auto` leaves a format to detection).

Rejected lines never stop the run: they are counted (--stats) and written with
--rejects. Exit status: 0 when every input was read completely (even if lines
were rejected), 2 when an input is unusable (missing file, corrupt or truncated
gzip/zstd, $INCLUDE in a zone, CSV without the domain column) or output failed.
A closed stdout (e.g. `| head`) ends the run with status 0.";

/// Arguments of `authcensus domains`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct DomainsArgs {
    #[command(flatten)]
    input: InputArgs,
    /// Print counts by input, skip kind and rejection reason on stderr.
    #[arg(long)]
    stats: bool,
    /// Write rejected lines as TSV (source, line, reason, raw) to PATH.
    #[arg(long, value_name = "PATH")]
    rejects: Option<PathBuf>,
}

/// Runs `authcensus domains`.
pub fn run(args: DomainsArgs) -> anyhow::Result<ExitCode> {
    let settings = InputSettings::from_args(args.input)?;
    let psl = settings.load_psl()?;
    let psl_origin = psl.origin().to_string();
    let mut rejects_out = match &args.rejects {
        Some(p) => {
            Some(BufWriter::new(File::create(p).with_context(|| {
                format!("cannot create `{}`", p.display())
            })?))
        }
        None => None,
    };
    let mut rejects_error: Option<io::Error> = None;
    let sink = FnSink(|r: Rejection| {
        if let Some(w) = rejects_out.as_mut()
            && rejects_error.is_none()
            && let Err(e) = writeln!(w, "{}\t{}\t{}\t{}", r.source, r.line, r.reason, r.raw)
        {
            rejects_error = Some(e);
        }
    });
    let mut stream = DomainStream::new(settings.inputs, settings.options, psl, sink);
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut failure: Option<anyhow::Error> = None;
    for item in stream.by_ref() {
        match item {
            Ok(d) => {
                if let Err(e) = writeln!(out, "{}", d.domain) {
                    // A closed stdout (`| head`) is a normal end, not a failure.
                    if e.kind() != io::ErrorKind::BrokenPipe {
                        failure = Some(anyhow::Error::new(e).context("writing to stdout"));
                    }
                    break;
                }
            }
            Err(e) => {
                failure = Some(e.into());
                break;
            }
        }
    }
    if let Err(e) = out.flush()
        && e.kind() != io::ErrorKind::BrokenPipe
        && failure.is_none()
    {
        failure = Some(anyhow::Error::new(e).context("writing to stdout"));
    }
    let (stats, _sink) = stream.into_parts();
    if args.stats {
        eprint!("{stats}");
        eprintln!("total\tpsl\t{psl_origin}");
    }
    if let Some(mut w) = rejects_out {
        if let Some(e) = rejects_error {
            return Err(anyhow::Error::new(e).context("writing the rejects file"));
        }
        w.flush().context("writing the rejects file")?;
    }
    if let Some(f) = failure {
        return Err(f);
    }
    Ok(ExitCode::SUCCESS)
}
