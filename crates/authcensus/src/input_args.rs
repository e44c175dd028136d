//! Input options shared by `domains` and `crawl`: arguments, then settings
//! (per-input options resolved, lists loaded).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::bail;
use authcensus_input::{
    Column, DEFAULT_DEDUP_MEMORY, DomainList, Format, InputPath, InputSpec, PslSections, Shard,
    ShardEnv, ShardSource, StreamOptions, SuffixList, resolve_shard,
};
use clap::Args;

/// Input arguments (flattened into `domains` and `crawl`).
#[derive(Debug, Args)]
pub struct InputArgs {
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
    /// Number of shards N when K comes from a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (a Slurm array's SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT need no flag); --shard wins over the environment.
    #[arg(long, value_name = "N")]
    shard_count: Option<u64>,
    /// Public Suffix List file [default: /usr/share/publicsuffix/public_suffix_list.dat if present, else the embedded copy].
    #[arg(long, value_name = "PATH")]
    pub psl: Option<PathBuf>,
    /// Use only the ICANN section of the PSL (default: ICANN and PRIVATE).
    #[arg(long)]
    psl_icann_only: bool,
    /// Names kept in memory per dedup tier before spilling sorted runs to disk.
    #[arg(long, value_name = "NAMES", default_value_t = DEFAULT_DEDUP_MEMORY)]
    dedup_memory: usize,
    /// Folder for dedup spill files [default: the system temp folder].
    #[arg(long, value_name = "DIR")]
    spill_dir: Option<PathBuf>,
}

/// Resolved input settings.
#[derive(Debug)]
pub struct InputSettings {
    pub inputs: Vec<InputSpec>,
    pub options: StreamOptions,
    psl: Option<PathBuf>,
    pub sections: PslSections,
    /// Where the shard in `options.shard` came from (flag or scheduler environment).
    pub shard_source: Option<ShardSource>,
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

impl InputSettings {
    /// Validates arguments and resolves inputs.
    pub fn from_args(args: InputArgs) -> anyhow::Result<Self> {
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
        let flag = args.shard.as_deref().map(str::parse::<Shard>).transpose()?;
        let resolved = resolve_shard(flag, args.shard_count, &ShardEnv::from_process())?;
        if args.dedup_memory == 0 {
            bail!("`--dedup-memory` must be at least 1");
        }
        Ok(Self {
            inputs,
            options: StreamOptions {
                shard: resolved.map(|(s, _)| s),
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
            shard_source: resolved.map(|(_, source)| source),
        })
    }
}

fn parse_column(s: &str) -> Column {
    match s.parse::<Column>() {
        Ok(c) => c,
        Err(never) => match never {},
    }
}

impl InputArgs {
    /// Arguments for plain files with one tag and every other option at its default.
    pub fn for_files(inputs: Vec<String>, tag: Option<String>) -> Self {
        InputArgs {
            inputs,
            lists: Vec::new(),
            lists_dir: PathBuf::from("domain-lists"),
            format: Vec::new(),
            column: Vec::new(),
            tag: tag.into_iter().collect(),
            shard: None,
            shard_count: None,
            psl: None,
            psl_icann_only: false,
            dedup_memory: DEFAULT_DEDUP_MEMORY,
            spill_dir: None,
        }
    }
}

impl InputSettings {
    /// Loads the Public Suffix List these settings name.
    ///
    /// # Errors
    /// The list cannot be read or parsed.
    pub fn load_psl(&self) -> anyhow::Result<Arc<SuffixList>> {
        Ok(Arc::new(SuffixList::load(
            self.psl.as_deref(),
            self.sections,
        )?))
    }
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
