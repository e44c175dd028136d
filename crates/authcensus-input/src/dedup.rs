//! Exact deduplication across all inputs with bounded memory.
//!
//! Two tiers, each holding at most `limit` names:
//!
//! 1. **In memory.** The first `limit` distinct names go into a hash set and
//!    are emitted at once, in input order; later copies are counted as
//!    duplicates.
//! 2. **External sort.** Once the set is full it is frozen (still consulted,
//!    never grown). Every later name not in it is buffered; each time the
//!    buffer reaches `limit` it is sorted by (name, arrival) and written as a
//!    run to a temporary file. At the end of the input the runs and the last
//!    buffer are merged, and the first arrival of each name is emitted, in
//!    name order.
//!
//! At most [`MAX_RUNS`] runs are kept: when a spill would exceed that, the
//! runs so far are merged into one (every record kept, in order), so a
//! huge input never needs more open files than that, whatever its length.
//!
//! Memory is therefore at most `2 × limit` names plus one read buffer per run,
//! and the answer is exact (names are compared in full; no hash or Bloom
//! filter decides alone). Output order: tier-1 names in input order, then
//! tier-2 names sorted. Disk: about 40 bytes plus the name per tier-2 arrival.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};
use std::path::PathBuf;

/// Default `limit`: names per tier, so at most 500,000 names in memory
/// (about 60 MB for typical names; measured in `benches/README.md`).
///
/// Small on purpose: a crawl's memory must not grow with its input, and
/// this set is the one structure that grows with the number of distinct
/// names until it is full. At 250,000 names per tier the dedup reaches its
/// ceiling after 500,000 names, so a crawl of 1M or 10M domains runs at the
/// same memory; the price is that names after the first 250,000 are
/// emitted in name order at the end of the input, and about 55 bytes of
/// temporary disk per such name (`--spill-dir`).
pub const DEFAULT_DEDUP_MEMORY: usize = 250_000;

/// Most spilled runs held open at once (see the module docs): far below the
/// usual limit of 1,024 open files per process. With the default `limit`,
/// runs are merged once per 64M names.
pub const MAX_RUNS: usize = 256;

/// A candidate waiting for its dedup verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    pub domain: String,
    pub source: u32,
    pub line: u64,
    pub rank: Option<u64>,
    pub seq: u64,
}

/// What [`Dedup::offer`] decided.
#[derive(Debug)]
pub(crate) enum Offer {
    /// New: emit now.
    Emit(Pending),
    /// Seen before (the duplicate's source index).
    Duplicate(u32),
    /// Buffered for the external merge.
    Deferred,
}

/// What the final merge yields.
#[derive(Debug)]
pub(crate) enum Merged {
    Emit(Pending),
    Duplicate(u32),
}

#[derive(Debug)]
pub(crate) struct Dedup {
    limit: usize,
    seen: HashSet<Box<str>>,
    spilling: bool,
    buffer: Vec<Pending>,
    runs: Vec<File>,
    spill_dir: Option<PathBuf>,
    seq: u64,
    /// [`MAX_RUNS`], smaller in tests.
    max_runs: usize,
}

impl Dedup {
    pub(crate) fn new(limit: usize, spill_dir: Option<PathBuf>) -> Self {
        Self {
            limit: limit.max(1),
            seen: HashSet::new(),
            spilling: false,
            buffer: Vec::new(),
            runs: Vec::new(),
            spill_dir,
            seq: 0,
            max_runs: MAX_RUNS,
        }
    }

    /// The same with at most `max_runs` runs open (at least 2).
    #[cfg(test)]
    fn with_max_runs(limit: usize, max_runs: usize) -> Self {
        Self {
            max_runs: max_runs.max(2),
            ..Self::new(limit, None)
        }
    }

    /// Number of runs written to disk so far.
    pub(crate) fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    pub(crate) fn offer(&mut self, mut p: Pending) -> io::Result<Offer> {
        if self.seen.contains(p.domain.as_str()) {
            return Ok(Offer::Duplicate(p.source));
        }
        if !self.spilling {
            if self.seen.len() < self.limit {
                self.seen.insert(p.domain.clone().into_boxed_str());
                return Ok(Offer::Emit(p));
            }
            self.spilling = true;
        }
        p.seq = self.seq;
        self.seq += 1;
        self.buffer.push(p);
        if self.buffer.len() >= self.limit {
            self.spill()?;
        }
        Ok(Offer::Deferred)
    }

    fn spill(&mut self) -> io::Result<()> {
        self.sort_buffer();
        if self.runs.len() >= self.max_runs {
            self.compact()?;
        }
        let mut w = self.new_run()?;
        for p in self.buffer.drain(..) {
            write_record(&mut w, &p)?;
        }
        self.close_run(w)
    }

    /// Merges every run so far into one, keeping every record (duplicates
    /// included) in (name, arrival) order: the final merge then sees the
    /// same sequence as it would from the separate runs.
    fn compact(&mut self) -> io::Result<()> {
        let mut merge = Merge::over(self.take_runs())?;
        let mut w = self.new_run()?;
        while let Some(p) = merge.next_record()? {
            write_record(&mut w, &p)?;
        }
        self.close_run(w)
    }

    /// Ends the input: the merge of everything deferred.
    pub(crate) fn finish(&mut self) -> io::Result<Merge> {
        self.sort_buffer();
        let mut sources = self.take_runs();
        sources.push(RunSource::Memory(
            std::mem::take(&mut self.buffer).into_iter(),
        ));
        Merge::over(sources)
    }

    /// Runs and the merge are in (name, arrival) order.
    fn sort_buffer(&mut self) {
        self.buffer
            .sort_unstable_by(|a, b| (&a.domain, a.seq).cmp(&(&b.domain, b.seq)));
    }

    /// A new, empty run file to write records to.
    fn new_run(&self) -> io::Result<BufWriter<File>> {
        let file = match &self.spill_dir {
            Some(dir) => tempfile::tempfile_in(dir)?,
            None => tempfile::tempfile()?,
        };
        Ok(BufWriter::new(file))
    }

    /// Flushes a run written with [`Self::new_run`] and keeps it, rewound.
    fn close_run(&mut self, w: BufWriter<File>) -> io::Result<()> {
        let mut file = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.rewind()?;
        self.runs.push(file);
        Ok(())
    }

    /// Every run so far, opened for reading (the dedup keeps none).
    fn take_runs(&mut self) -> Vec<RunSource> {
        self.runs
            .drain(..)
            .map(|f| RunSource::File(BufReader::new(f), String::new()))
            .collect()
    }
}

fn write_record(w: &mut impl Write, p: &Pending) -> io::Result<()> {
    match p.rank {
        Some(r) => writeln!(
            w,
            "{}\t{}\t{}\t{}\t{}",
            p.domain, p.seq, p.source, p.line, r
        ),
        None => writeln!(w, "{}\t{}\t{}\t{}\t-", p.domain, p.seq, p.source, p.line),
    }
}

fn parse_record(line: &str) -> io::Result<Pending> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "corrupt dedup spill record");
    let mut f = line.trim_end_matches('\n').split('\t');
    let domain = f.next().ok_or_else(bad)?.to_owned();
    let seq = f.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let source = f.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let line_no = f.next().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    let rank = match f.next().ok_or_else(bad)? {
        "-" => None,
        r => Some(r.parse().map_err(|_| bad())?),
    };
    Ok(Pending {
        domain,
        source,
        line: line_no,
        rank,
        seq,
    })
}

#[derive(Debug)]
enum RunSource {
    File(BufReader<File>, String),
    Memory(std::vec::IntoIter<Pending>),
}

impl RunSource {
    fn next(&mut self) -> io::Result<Option<Pending>> {
        match self {
            Self::Memory(it) => Ok(it.next()),
            Self::File(r, buf) => {
                buf.clear();
                if r.read_line(buf)? == 0 {
                    return Ok(None);
                }
                parse_record(buf).map(Some)
            }
        }
    }
}

/// K-way merge of the sorted runs; yields each name's first arrival once.
#[derive(Debug)]
pub(crate) struct Merge {
    sources: Vec<RunSource>,
    heads: Vec<Option<Pending>>,
    heap: BinaryHeap<Reverse<(String, u64, usize)>>,
    last: Option<String>,
}

impl Merge {
    fn over(sources: Vec<RunSource>) -> io::Result<Self> {
        let mut merge = Merge {
            heads: Vec::with_capacity(sources.len()),
            heap: BinaryHeap::new(),
            sources,
            last: None,
        };
        for i in 0..merge.sources.len() {
            merge.heads.push(None);
            merge.refill(i)?;
        }
        Ok(merge)
    }

    /// The next record in (name, arrival) order, duplicates included.
    fn next_record(&mut self) -> io::Result<Option<Pending>> {
        let Some(Reverse((_, _, i))) = self.heap.pop() else {
            return Ok(None);
        };
        let head = self.heads.get_mut(i).and_then(Option::take);
        self.refill(i)?;
        Ok(head)
    }

    fn refill(&mut self, i: usize) -> io::Result<()> {
        let next = match self.sources.get_mut(i) {
            Some(s) => s.next()?,
            None => None,
        };
        if let Some(p) = &next {
            self.heap.push(Reverse((p.domain.clone(), p.seq, i)));
        }
        if let Some(h) = self.heads.get_mut(i) {
            *h = next;
        }
        Ok(())
    }
}

impl Iterator for Merge {
    type Item = io::Result<Merged>;
    fn next(&mut self) -> Option<Self::Item> {
        let head = match self.next_record() {
            Ok(head) => head?,
            Err(e) => return Some(Err(e)),
        };
        if self.last.as_deref() == Some(head.domain.as_str()) {
            return Some(Ok(Merged::Duplicate(head.source)));
        }
        self.last = Some(head.domain.clone());
        Some(Ok(Merged::Emit(head)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(domain: &str, source: u32) -> Pending {
        Pending {
            domain: domain.into(),
            source,
            line: 1,
            rank: Some(3),
            seq: 0,
        }
    }

    #[test]
    fn record_round_trip() {
        let mut v = Vec::new();
        let mut x = p("a.com", 2);
        x.seq = 9;
        write_record(&mut v, &x).unwrap();
        assert_eq!(parse_record(std::str::from_utf8(&v).unwrap()).unwrap(), x);
        assert!(parse_record("a\tb").is_err());
    }

    #[test]
    fn exact_past_the_spill_threshold() {
        let mut d = Dedup::new(2, None);
        let names = ["a", "b", "a", "c", "d", "c", "e", "b", "d", "f", "e"];
        let mut emitted = Vec::new();
        let mut dups = 0;
        for n in names {
            match d.offer(p(n, 0)).unwrap() {
                Offer::Emit(p) => emitted.push(p.domain),
                Offer::Duplicate(_) => dups += 1,
                Offer::Deferred => {}
            }
        }
        assert!(d.spilled_runs() >= 2);
        for m in d.finish().unwrap() {
            match m.unwrap() {
                Merged::Emit(p) => emitted.push(p.domain),
                Merged::Duplicate(_) => dups += 1,
            }
        }
        assert_eq!(emitted, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(dups, 5);
    }

    /// Everything a dedup emits (in order) and the sources of the
    /// duplicates it counted, for `names` offered from source `i % 3`.
    fn run(mut d: Dedup, names: &[String]) -> (Vec<(String, u32)>, Vec<u32>, usize) {
        let mut emitted = Vec::new();
        let mut dups = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let mut x = p(n, (i % 3) as u32);
            x.line = i as u64;
            match d.offer(x).unwrap() {
                Offer::Emit(p) => emitted.push((p.domain, p.source)),
                Offer::Duplicate(s) => dups.push(s),
                Offer::Deferred => {}
            }
        }
        let runs = d.spilled_runs();
        for m in d.finish().unwrap() {
            match m.unwrap() {
                Merged::Emit(p) => emitted.push((p.domain, p.source)),
                Merged::Duplicate(s) => dups.push(s),
            }
        }
        dups.sort_unstable();
        (emitted, dups, runs)
    }

    #[test]
    fn runs_beyond_the_cap_are_merged_and_the_answer_is_the_same() {
        // 600 arrivals of 200 names (each name three times, spread out), a
        // tier of 5 names: ~120 runs without a cap.
        let names: Vec<String> = (0..600)
            .map(|i| format!("n{}.example", (i * 7) % 200))
            .collect();
        let (free_emit, free_dups, free_runs) = run(Dedup::new(5, None), &names);
        let (cap_emit, cap_dups, cap_runs) = run(Dedup::with_max_runs(5, 4), &names);
        assert!(free_runs > 100, "{free_runs}");
        assert!(cap_runs <= 4, "{cap_runs} runs open with a cap of 4");
        assert_eq!(cap_emit, free_emit);
        assert_eq!(cap_dups, free_dups);
        // Exact: every name once, with the source of its first arrival.
        assert_eq!(cap_emit.len(), 200);
        assert_eq!(cap_dups.len(), 400);
        for (name, source) in &cap_emit {
            let first = names.iter().position(|n| n == name).unwrap();
            assert_eq!(*source, (first % 3) as u32, "{name}");
        }
    }
}
