//! Deterministic sharding: `--shard K/N` keeps the domains whose hash mod N is K.
//!
//! The hash is stable across versions, platforms and runs: the first 8 bytes
//! of SHA-256 over the normalised A-label (no trailing dot), read as a
//! big-endian `u64`. Anyone can recompute it:
//! `printf %s example.com | sha256sum | cut -c1-16` gives the hex value.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::InputError;

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
