//! Deterministic sharding: `--shard K/N` keeps the domains whose hash mod N is K.
//!
//! The hash is stable across versions, platforms and runs: the first 8 bytes
//! of SHA-256 over the normalised A-label (no trailing dot), read as a
//! big-endian `u64`. Anyone can recompute it:
//! `printf %s example.com | sha256sum | cut -c1-16` gives the hex value.
//!
//! The shard can also come from the environment of the scheduler that
//! started the process ([`resolve_shard`]): a Kubernetes Indexed Job
//! (`JOB_COMPLETION_INDEX`, with N from `--shard-count`) or a Slurm job array
//! (`SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT`, normalised by
//! `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_STEP`). The assignment of a
//! domain is the same whichever way K/N was given.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::InputError;

/// The name of the assignment, recorded in each shard's manifest: the first
/// 8 bytes of SHA-256 over the normalised A-label, big-endian, modulo N.
pub const SHARD_ASSIGNMENT: &str = "sha256_first8_be_mod_n";

/// The shard hash of a normalised domain.
pub fn shard_hash(domain: &str) -> u64 {
    let digest = Sha256::digest(domain.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(first)
}

/// One shard out of `count`: `index` in `0..count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// K, the shard kept.
    pub index: u64,
    /// N, the number of shards.
    pub count: u64,
}

impl Shard {
    /// A shard, if `index < count`.
    pub fn new(index: u64, count: u64) -> Option<Self> {
        (index < count).then_some(Self { index, count })
    }

    /// True if `domain` (normalised) belongs to this shard.
    pub fn contains(&self, domain: &str) -> bool {
        shard_hash(domain) % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || InputError::Shard(s.to_owned());
        let (k, n) = s.split_once('/').ok_or_else(err)?;
        let k = k.trim().parse().map_err(|_| err())?;
        let n = n.trim().parse().map_err(|_| err())?;
        Shard::new(k, n).ok_or_else(err)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Where the shard of a run came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSource {
    /// `--shard K/N`.
    Flag,
    /// A Kubernetes Indexed Job: K = `JOB_COMPLETION_INDEX`, N = `--shard-count`.
    IndexedJob,
    /// A Slurm job array: K = (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN`)
    /// / `SLURM_ARRAY_TASK_STEP`, N = `SLURM_ARRAY_TASK_COUNT`.
    SlurmArray,
}

impl fmt::Display for ShardSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ShardSource::Flag => "--shard",
            ShardSource::IndexedJob => "JOB_COMPLETION_INDEX",
            ShardSource::SlurmArray => "SLURM_ARRAY_TASK_ID",
        })
    }
}

/// The scheduler variables that select a shard (each `None` when unset or
/// empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardEnv {
    /// `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job).
    pub job_completion_index: Option<String>,
    /// `SLURM_ARRAY_TASK_ID`.
    pub slurm_array_task_id: Option<String>,
    /// `SLURM_ARRAY_TASK_COUNT`.
    pub slurm_array_task_count: Option<String>,
    /// `SLURM_ARRAY_TASK_MIN` (the first id of `--array`, 0 when unset).
    pub slurm_array_task_min: Option<String>,
    /// `SLURM_ARRAY_TASK_STEP` (the step of `--array=A-B:S`, 1 when unset).
    pub slurm_array_task_step: Option<String>,
}

impl ShardEnv {
    /// The variables as `get` returns them (`std::env::var` for a process).
    pub fn from_fn(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        ShardEnv {
            job_completion_index: get("JOB_COMPLETION_INDEX"),
            slurm_array_task_id: get("SLURM_ARRAY_TASK_ID"),
            slurm_array_task_count: get("SLURM_ARRAY_TASK_COUNT"),
            slurm_array_task_min: get("SLURM_ARRAY_TASK_MIN"),
            slurm_array_task_step: get("SLURM_ARRAY_TASK_STEP"),
        }
    }

    /// The variables of this process.
    pub fn from_process() -> Self {
        Self::from_fn(|k| std::env::var(k).ok())
    }
}

fn number(name: &str, value: &str) -> Result<u64, InputError> {
    value.parse::<u64>().map_err(|_| {
        InputError::ShardSettings(format!("{name}={value} is not a non-negative integer"))
    })
}

/// Resolves the shard of a run from `--shard K/N` (`flag`), `--shard-count
/// N` (`count`) and the scheduler environment.
///
/// - `--shard` wins: the environment is then not consulted (a run inside a
///   job array may still pick its shard by hand), but a `--shard-count`
///   that differs from its N is an error.
/// - Otherwise `JOB_COMPLETION_INDEX` gives K and `--shard-count` gives N
///   (Kubernetes does not export the completion count to the pod).
/// - Otherwise `SLURM_ARRAY_TASK_ID` gives K after normalisation: `--array`
///   may start at an offset (`--array=1-4`) or use a step (`--array=0-14:2`),
///   so K = (ID − `SLURM_ARRAY_TASK_MIN`) / `SLURM_ARRAY_TASK_STEP` and N =
///   `SLURM_ARRAY_TASK_COUNT` (which `--shard-count`, if given, must equal).
///   A list such as `--array=1,5,9` gives ids that do not map to 0..N and is
///   refused.
/// - Both schedulers' variables at once, `--shard-count` without an index,
///   or an index outside 0..N are errors. `Ok(None)`: not sharded.
///
/// # Errors
/// [`InputError::ShardSettings`] naming the variables in conflict.
pub fn resolve_shard(
    flag: Option<Shard>,
    count: Option<u64>,
    env: &ShardEnv,
) -> Result<Option<(Shard, ShardSource)>, InputError> {
    let err = |m: String| Err(InputError::ShardSettings(m));
    if count == Some(0) {
        return err("--shard-count must be at least 1".into());
    }
    if let Some(shard) = flag {
        if let Some(n) = count
            && n != shard.count
        {
            return err(format!(
                "--shard {shard} and --shard-count {n} disagree on the number of shards"
            ));
        }
        return Ok(Some((shard, ShardSource::Flag)));
    }
    match (&env.job_completion_index, &env.slurm_array_task_id) {
        (Some(k8s), Some(slurm)) => err(format!(
            "both JOB_COMPLETION_INDEX={k8s} (Kubernetes) and SLURM_ARRAY_TASK_ID={slurm} (Slurm) are set: give --shard K/N to choose"
        )),
        (Some(index), None) => {
            let k = number("JOB_COMPLETION_INDEX", index)?;
            let Some(n) = count else {
                return err(format!(
                    "JOB_COMPLETION_INDEX={index} is set but the number of shards is not: give --shard-count N (the Job's `completions`)"
                ));
            };
            match Shard::new(k, n) {
                Some(s) => Ok(Some((s, ShardSource::IndexedJob))),
                None => err(format!(
                    "JOB_COMPLETION_INDEX={k} is not below --shard-count {n}"
                )),
            }
        }
        (None, Some(id)) => {
            let id = number("SLURM_ARRAY_TASK_ID", id)?;
            let Some(n) = &env.slurm_array_task_count else {
                return err(format!(
                    "SLURM_ARRAY_TASK_ID={id} is set but SLURM_ARRAY_TASK_COUNT is not"
                ));
            };
            let n = number("SLURM_ARRAY_TASK_COUNT", n)?;
            if let Some(c) = count
                && c != n
            {
                return err(format!(
                    "--shard-count {c} and SLURM_ARRAY_TASK_COUNT={n} disagree on the number of shards"
                ));
            }
            let min = match &env.slurm_array_task_min {
                Some(v) => number("SLURM_ARRAY_TASK_MIN", v)?,
                None => 0,
            };
            let step = match &env.slurm_array_task_step {
                Some(v) => number("SLURM_ARRAY_TASK_STEP", v)?.max(1),
                None => 1,
            };
            let offset = id.checked_sub(min).filter(|o| o % step == 0);
            match offset.and_then(|o| Shard::new(o / step, n)) {
                Some(s) => Ok(Some((s, ShardSource::SlurmArray))),
                None => err(format!(
                    "SLURM_ARRAY_TASK_ID={id} (SLURM_ARRAY_TASK_MIN={min}, step {step}) does not map to a shard in 0..{n}: use a range --array=A-B or --array=A-B:S"
                )),
            }
        }
        (None, None) => match count {
            Some(n) => err(format!(
                "--shard-count {n} is given but no shard index: set JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, or give --shard K/{n}"
            )),
            None => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_shard() {
        assert_eq!(
            "2/8".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 8 }
        );
        for bad in ["8/8", "1", "a/2", "0/0", "-1/3"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
