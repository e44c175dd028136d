//! `authcensus domains`: print the normalised, deduplicated domains of one
//! or more lists, one A-label per line on stdout.
//!
//! Arguments become [`DomainsSettings`] first (per-input options resolved,
//! lists loaded), then [`run`] drives `authcensus_input::DomainStream`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use authcensus_input::{
    Column, DEFAULT_DEDUP_MEMORY, DomainList, DomainStream, FnSink, Format, InputPath, InputSpec,
    PslSections, Rejection, Shard, StreamOptions, SuffixList,
};
use clap::Args;

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
    /// Inputs: file paths, `-` for stdin, or a domain-lists/<name> folder.
    #[arg(value_name = "INPUT")]
    inputs: Vec<String>,
    /// A named list from --lists-dir (repeatable); uses its manifest's format and tag.
    #[arg(long = "list", value_name = "NAME")]
    lists: Vec<String>,
    /// Folder holding the named lists.
    #[arg(long, value_name = "DIR", default_value = "domain-lists")]
    lists_dir: PathBuf,
    /// Input format: plain, csv, tranco, majestic, zone or auto (per input).
    #[arg(long, value_name = "FORMAT")]
    format: Vec<String>,
    /// CSV domain column: a header name, or a 1-based index for files without header (per input).
    #[arg(long, value_name = "NAME|INDEX")]
    column: Vec<String>,
    /// Label attached to the domains of an input (per input).
    #[arg(long, value_name = "LABEL")]
    tag: Vec<String>,
    /// Keep only shard K of N: first 8 bytes of SHA-256 of the A-label, big-endian, mod N.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Public Suffix List file [default: /usr/share/publicsuffix/public_suffix_list.dat if present, else the embedded copy].
    #[arg(long, value_name = "PATH")]
    psl: Option<PathBuf>,
    /// Use only the ICANN section of the PSL (default: ICANN and PRIVATE).
    #[arg(long)]
    psl_icann_only: bool,
    /// Print counts by input, skip kind and rejection reason on stderr.
    #[arg(long)]
    stats: bool,
    /// Write rejected lines as TSV (source, line, reason, raw) to PATH.
    #[arg(long, value_name = "PATH")]
    rejects: Option<PathBuf>,
    /// Names kept in memory per dedup tier before spilling sorted runs to disk.
    #[arg(long, value_name = "NAMES", default_value_t = DEFAULT_DEDUP_MEMORY)]
    dedup_memory: usize,
    /// Folder for dedup spill files [default: the system temp folder].
    #[arg(long, value_name = "DIR")]
    spill_dir: Option<PathBuf>,
}

/// Resolved settings of one `domains` run.
#[derive(Debug)]
pub struct DomainsSettings {
    inputs: Vec<InputSpec>,
    options: StreamOptions,
    psl: Option<PathBuf>,
    sections: PslSections,
    stats: bool,
    rejects: Option<PathBuf>,
}

/// One value for all inputs, or one per input.
fn per_input<'a>(
    values: &'a [String],
    n: usize,
    flag: &str,
) -> anyhow::Result<Vec<Option<&'a str>>> {
    match values.len() {
        0 => Ok(vec![None; n]),
        1 => Ok(vec![values.first().map(String::as_str); n]),
        k if k == n => Ok(values.iter().map(|v| Some(v.as_str())).collect()),
        k => bail!(
            "`--{flag}` given {k} times for {n} inputs: give it once (all inputs) or once per INPUT"
        ),
    }
}

impl DomainsSettings {
    /// Validates arguments and resolves inputs.
    pub fn from_args(args: DomainsArgs) -> anyhow::Result<Self> {
        if args.inputs.is_empty() && args.lists.is_empty() {
            bail!("no input: give at least one INPUT or --list NAME");
        }
        let n = args.inputs.len();
        let formats = per_input(&args.format, n, "format")?;
        let columns = per_input(&args.column, n, "column")?;
        let tags = per_input(&args.tag, n, "tag")?;
        let mut inputs = Vec::new();
        for (i, arg) in args.inputs.iter().enumerate() {
            let path = Path::new(arg);
            let mut spec = if arg != "-" && DomainList::is_list_dir(path) {
                DomainList::load(path)?.input_spec()?
            } else {
                InputSpec::new(InputPath::parse(arg))
            };
            if let Some(f) = formats.get(i).copied().flatten() {
                spec.format = if f.eq_ignore_ascii_case("auto") {
                    None
                } else {
                    Some(f.parse::<Format>()?)
                };
            }
            if let Some(c) = columns.get(i).copied().flatten() {
                spec.column = Some(parse_column(c));
            }
            if let Some(t) = tags.get(i).copied().flatten() {
                spec.tag = Some(t.to_owned());
            }
            inputs.push(spec);
        }
        for name in &args.lists {
            inputs.push(DomainList::by_name(name, &args.lists_dir)?.input_spec()?);
        }
        let shard = args.shard.as_deref().map(str::parse::<Shard>).transpose()?;
        if args.dedup_memory == 0 {
            bail!("`--dedup-memory` must be at least 1");
        }
        Ok(Self {
            inputs,
            options: StreamOptions {
                shard,
                dedup_memory: args.dedup_memory,
                spill_dir: args.spill_dir,
                ..StreamOptions::default()
            },
            psl: args.psl,
            sections: if args.psl_icann_only {
                PslSections::IcannOnly
            } else {
                PslSections::All
            },
            stats: args.stats,
            rejects: args.rejects,
        })
    }
}

fn parse_column(s: &str) -> Column {
    match s.parse::<Column>() {
        Ok(c) => c,
        Err(never) => match never {},
    }
}

/// Runs `authcensus domains`.
pub fn run(args: DomainsArgs) -> anyhow::Result<ExitCode> {
    let settings = DomainsSettings::from_args(args)?;
    let psl = Arc::new(SuffixList::load(
        settings.psl.as_deref(),
        settings.sections,
    )?);
    let psl_origin = psl.origin().to_string();
    let mut rejects_out = match &settings.rejects {
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
    if settings.stats {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_input_counts() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(per_input(&v(&[]), 2, "tag").unwrap(), vec![None, None]);
        assert_eq!(
            per_input(&v(&["a"]), 2, "tag").unwrap(),
            vec![Some("a"), Some("a")]
        );
        assert_eq!(
            per_input(&v(&["a", "b"]), 2, "tag").unwrap(),
            vec![Some("a"), Some("b")]
        );
        let err = per_input(&v(&["a", "b"]), 3, "tag")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`--tag` given 2 times for 3 inputs"), "{err}");
    }
}
