//! Counts per input: every line is accounted for.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::{Compression, Format, RejectReason, SkipKind};

/// Counts for one input.
///
/// Invariant after the input is read: `lines == skipped + rejected + candidates`
/// (each physical line has one outcome), and
/// `candidates == emitted + duplicates + other_shard` once the stream ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// The source name (path as given, `-`, or `list:<name>`).
    pub name: String,
    /// The `--tag` label.
    pub tag: Option<String>,
    /// The format used (given or detected), once the input is opened.
    pub format: Option<Format>,
    /// The compression detected, once the input is opened.
    pub compression: Option<Compression>,
    /// Physical lines read.
    pub lines: u64,
    /// Lines skipped, by kind.
    pub skipped: BTreeMap<SkipKind, u64>,
    /// Lines (or zone entries) rejected, by reason.
    pub rejected: BTreeMap<RejectReason, u64>,
    /// Names that normalised (before shard filter and dedup).
    pub candidates: u64,
    /// Candidates in another shard.
    pub other_shard: u64,
    /// Candidates already seen (in this or an earlier input).
    pub duplicates: u64,
    /// Names emitted (first arrival of each name).
    pub emitted: u64,
}

impl SourceStats {
    /// Sum of skipped lines.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// Sum of rejections.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// Counts for a whole run, one entry per input in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputStats {
    /// Per-input counts.
    pub sources: Vec<SourceStats>,
    /// Dedup runs spilled to disk.
    pub spilled_runs: usize,
}

impl InputStats {
    /// Names emitted in total.
    pub fn emitted(&self) -> u64 {
        self.sources.iter().map(|s| s.emitted).sum()
    }

    /// Rejections in total.
    pub fn rejected(&self) -> u64 {
        self.sources.iter().map(SourceStats::rejected_total).sum()
    }

    /// Rejections by reason, over all inputs.
    pub fn rejected_by_reason(&self) -> BTreeMap<RejectReason, u64> {
        let mut m = BTreeMap::new();
        for s in &self.sources {
            for (r, n) in &s.rejected {
                *m.entry(*r).or_insert(0) += n;
            }
        }
        m
    }
}

impl fmt::Display for InputStats {
    /// A line-oriented report: `source<TAB>key<TAB>count`, stable keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for s in &self.sources {
            let n = &s.name;
            let _ = writeln!(out, "{n}\tformat\t{}", s.format.map_or("-", Format::as_str));
            let _ = writeln!(
                out,
                "{n}\tcompression\t{}",
                s.compression.map_or("-", Compression::as_str)
            );
            if let Some(t) = &s.tag {
                let _ = writeln!(out, "{n}\ttag\t{t}");
            }
            let _ = writeln!(out, "{n}\tlines\t{}", s.lines);
            for (k, v) in &s.skipped {
                let _ = writeln!(out, "{n}\tskipped.{}\t{v}", k.as_str());
            }
            for (k, v) in &s.rejected {
                let _ = writeln!(out, "{n}\trejected.{}\t{v}", k.as_str());
            }
            let _ = writeln!(out, "{n}\tcandidates\t{}", s.candidates);
            let _ = writeln!(out, "{n}\tother_shard\t{}", s.other_shard);
            let _ = writeln!(out, "{n}\tduplicates\t{}", s.duplicates);
            let _ = writeln!(out, "{n}\temitted\t{}", s.emitted);
        }
        for (k, v) in self.rejected_by_reason() {
            let _ = writeln!(out, "total\trejected.{}\t{v}", k.as_str());
        }
        let _ = writeln!(out, "total\trejected\t{}", self.rejected());
        let _ = writeln!(out, "total\temitted\t{}", self.emitted());
        let _ = writeln!(out, "total\tdedup_spilled_runs\t{}", self.spilled_runs);
        f.write_str(&out)
    }
}
