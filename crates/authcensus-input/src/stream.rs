//! The pipeline: inputs → lines → per-format outcomes → shard filter →
//! dedup → PSL enrichment → [`InputDomain`]s, with every rejected line sent
//! to a [`RejectionSink`] and counted in [`InputStats`].
//!
//! The stream is an [`Iterator`] of `Result<InputDomain, InputError>`. After
//! the first `Err` it ends: an input that failed part-way (corrupt gzip,
//! missing file) makes the whole run incomplete, and the caller must fail.

use std::collections::VecDeque;
use std::io::{BufRead, Cursor, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dedup::{Dedup, Merge, Merged, Offer, Pending};
use crate::format::{Fatal, Outcome, Processor};
use crate::lines::{BoundedLines, DEFAULT_MAX_LINE};
use crate::open::{InputPath, open};
use crate::{
    Column, Compression, DEFAULT_DEDUP_MEMORY, Format, InputError, InputStats, RejectReason, Shard,
    SourceStats, SuffixList,
};

/// Bytes of a rejected line kept in [`Rejection::raw`] (before escaping).
pub const RAW_LIMIT: usize = 200;
/// Bytes of decompressed content inspected by format detection.
const DETECT_BYTES: u64 = 64 * 1024;

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// File or stdin.
    pub path: InputPath,
    /// Name used in stats, rejections and [`InputDomain::source`]; defaults to the path.
    pub name: String,
    /// Format; `None` detects it from the content.
    pub format: Option<Format>,
    /// CSV domain column; `None` uses the format's default.
    pub column: Option<Column>,
    /// Label carried into every [`InputDomain::tag`] from this input.
    pub tag: Option<String>,
}

impl InputSpec {
    /// An input with detected format, default column and no tag.
    pub fn new(path: InputPath) -> Self {
        Self {
            name: path.display_name(),
            path,
            format: None,
            column: None,
            tag: None,
        }
    }
}

/// Run-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    /// Keep only this shard (`--shard K/N`).
    pub shard: Option<Shard>,
    /// Names per dedup tier (see [`crate::dedup`]); default [`DEFAULT_DEDUP_MEMORY`].
    pub dedup_memory: usize,
    /// Where dedup runs are spilled; default the system temp folder.
    pub spill_dir: Option<PathBuf>,
    /// Longest line kept; default [`DEFAULT_MAX_LINE`].
    pub max_line_len: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            shard: None,
            dedup_memory: DEFAULT_DEDUP_MEMORY,
            spill_dir: None,
            max_line_len: DEFAULT_MAX_LINE,
        }
    }
}

/// A clean, deduplicated domain with its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputDomain {
    /// Lowercase A-label form, no trailing dot.
    pub domain: String,
    /// The input's name ([`InputSpec::name`]).
    pub source: Arc<str>,
    /// 1-based line (for zones, the first line of the NS entry).
    pub line: u64,
    /// Rank from a ranked list (Tranco, Majestic, a CSV `rank` column).
    pub rank: Option<u64>,
    /// The input's tag.
    pub tag: Option<Arc<str>>,
    /// Registrable domain (eTLD+1); `None` when `domain` is a public suffix.
    pub registrable_domain: Option<String>,
    /// Public suffix (an unlisted TLD is its own suffix by the implicit `*` rule).
    pub public_suffix: Option<String>,
}

/// A line that produced no domain because it is faulty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The input's name.
    pub source: Arc<str>,
    /// 1-based line (for zones, the entry's first line).
    pub line: u64,
    /// The line, at most [`RAW_LIMIT`] bytes, escaped: control characters,
    /// backslash and invalid UTF-8 bytes as `\n`, `\\`, `\u{..}`, `\xNN`; a
    /// cut line ends with `...`.
    pub raw: String,
    /// Why.
    pub reason: RejectReason,
}

/// Receives rejections as they happen (nothing is buffered by the stream).
pub trait RejectionSink {
    /// Called once per rejected line.
    fn reject(&mut self, rejection: Rejection);
}

impl RejectionSink for Vec<Rejection> {
    fn reject(&mut self, rejection: Rejection) {
        self.push(rejection);
    }
}

/// A sink that drops rejections (they are still counted in [`InputStats`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct CountOnly;

impl RejectionSink for CountOnly {
    fn reject(&mut self, _: Rejection) {}
}

/// A sink calling a closure.
#[derive(Debug)]
pub struct FnSink<F>(pub F);

impl<F: FnMut(Rejection)> RejectionSink for FnSink<F> {
    fn reject(&mut self, rejection: Rejection) {
        (self.0)(rejection);
    }
}

/// Escapes and truncates a raw line for [`Rejection::raw`].
pub fn escape_raw(bytes: &[u8], cut: bool) -> String {
    let keep = bytes.get(..RAW_LIMIT.min(bytes.len())).unwrap_or_default();
    let mut out = String::with_capacity(keep.len() + 8);
    for chunk in keep.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '\\' {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if cut || keep.len() < bytes.len() {
        out.push_str("...");
    }
    out
}

struct Current {
    index: usize,
    lines: BoundedLines<Box<dyn BufRead + Send>>,
    processor: Processor,
    compression: Compression,
    raw_offset: Arc<AtomicU64>,
}

struct SourceMeta {
    name: Arc<str>,
    tag: Option<Arc<str>>,
}

enum State {
    Reading,
    Merging(Merge),
    Done,
}

/// The stream of clean domains. See the module docs.
pub struct DomainStream<S> {
    pending: VecDeque<(usize, InputSpec)>,
    current: Option<Current>,
    meta: Vec<SourceMeta>,
    stats: InputStats,
    psl: Arc<SuffixList>,
    dedup: Dedup,
    shard: Option<Shard>,
    max_line: usize,
    sink: S,
    state: State,
}

impl<S: RejectionSink> DomainStream<S> {
    /// A stream over `inputs`, read in order.
    pub fn new(
        inputs: Vec<InputSpec>,
        options: StreamOptions,
        psl: Arc<SuffixList>,
        sink: S,
    ) -> Self {
        let meta = inputs
            .iter()
            .map(|s| SourceMeta {
                name: Arc::from(s.name.as_str()),
                tag: s.tag.as_deref().map(Arc::from),
            })
            .collect();
        let stats = InputStats {
            sources: inputs
                .iter()
                .map(|s| SourceStats {
                    name: s.name.clone(),
                    tag: s.tag.clone(),
                    format: s.format,
                    ..SourceStats::default()
                })
                .collect(),
            spilled_runs: 0,
        };
        Self {
            pending: inputs.into_iter().enumerate().collect(),
            current: None,
            meta,
            stats,
            psl,
            dedup: Dedup::new(options.dedup_memory, options.spill_dir),
            shard: options.shard,
            max_line: options.max_line_len.max(1),
            sink,
            state: State::Reading,
        }
    }

    /// Counts so far (complete once the iterator returned `None`).
    pub fn stats(&self) -> &InputStats {
        &self.stats
    }

    /// The rejection sink.
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Ends the stream, returning the counts and the sink.
    pub fn into_parts(self) -> (InputStats, S) {
        (self.stats, self.sink)
    }

    fn open_next(&mut self) -> Result<bool, InputError> {
        let Some((index, spec)) = self.pending.pop_front() else {
            return Ok(false);
        };
        let opened = open(&spec.path)?;
        let mut reader = opened.reader;
        let format = match spec.format {
            Some(f) => f,
            None => {
                let mut head = Vec::new();
                if let Err(error) = (&mut reader).take(DETECT_BYTES).read_to_end(&mut head) {
                    return Err(InputError::Read {
                        source_name: spec.name.clone(),
                        compression: opened.compression,
                        offset: head.len() as u64,
                        raw_offset: opened.raw_offset.load(Ordering::Relaxed),
                        error,
                    });
                }
                let f = Format::detect(&head);
                reader = Box::new(Cursor::new(head).chain(reader));
                f
            }
        };
        if let Some(s) = self.stats.sources.get_mut(index) {
            s.format = Some(format);
            s.compression = Some(opened.compression);
        }
        self.current = Some(Current {
            index,
            lines: BoundedLines::new(reader, self.max_line),
            processor: Processor::new(format, spec.column.as_ref()),
            compression: opened.compression,
            raw_offset: opened.raw_offset,
        });
        Ok(true)
    }

    /// Reads until a candidate or the end of the current input.
    fn next_candidate(&mut self) -> Result<Option<Pending>, InputError> {
        let Some(cur) = self.current.as_mut() else {
            return Ok(None);
        };
        let name = self
            .meta
            .get(cur.index)
            .map(|m| Arc::clone(&m.name))
            .unwrap_or_else(|| Arc::from(""));
        let stats =
            self.stats.sources.get_mut(cur.index).ok_or_else(|| {
                InputError::Spill(std::io::Error::other("source index out of range"))
            })?;
        loop {
            let line = match cur.lines.next_line() {
                None => return Ok(None),
                Some(Ok(l)) => l,
                Some(Err(error)) => {
                    return Err(InputError::Read {
                        source_name: name.to_string(),
                        compression: cur.compression,
                        offset: cur.lines.offset(),
                        raw_offset: cur.raw_offset.load(Ordering::Relaxed),
                        error,
                    });
                }
            };
            stats.lines += 1;
            let number = line.number;
            let outcome = match cur.processor.line(number, line.bytes, line.too_long) {
                Ok(o) => o,
                Err(Fatal::Include { line }) => {
                    return Err(InputError::ZoneInclude {
                        source_name: name.to_string(),
                        line,
                    });
                }
                Err(Fatal::Column(message)) => {
                    return Err(InputError::Column {
                        source_name: name.to_string(),
                        message,
                    });
                }
            };
            match outcome {
                Outcome::Skip(kind) => *stats.skipped.entry(kind).or_insert(0) += 1,
                Outcome::Reject(reason) => {
                    *stats.rejected.entry(reason).or_insert(0) += 1;
                    self.sink.reject(Rejection {
                        source: Arc::clone(&name),
                        line: number,
                        raw: escape_raw(line.bytes, line.too_long),
                        reason,
                    });
                }
                Outcome::RejectEntry { reason, line, raw } => {
                    *stats.rejected.entry(reason).or_insert(0) += 1;
                    self.sink.reject(Rejection {
                        source: Arc::clone(&name),
                        line,
                        raw: escape_raw(&raw, false),
                        reason,
                    });
                }
                Outcome::Domain {
                    name: domain,
                    rank,
                    line,
                } => {
                    stats.candidates += 1;
                    if let Some(shard) = &self.shard
                        && !shard.contains(&domain)
                    {
                        stats.other_shard += 1;
                        continue;
                    }
                    return Ok(Some(Pending {
                        domain,
                        source: u32::try_from(cur.index).unwrap_or(u32::MAX),
                        line,
                        rank,
                        seq: 0,
                    }));
                }
            }
        }
    }

    fn finish_item(&mut self, p: Pending) -> InputDomain {
        let idx = p.source as usize;
        if let Some(s) = self.stats.sources.get_mut(idx) {
            s.emitted += 1;
        }
        let meta = self.meta.get(idx);
        let (registrable, suffix) = self.psl.split(&p.domain);
        InputDomain {
            registrable_domain: registrable.map(str::to_owned),
            public_suffix: suffix.map(str::to_owned),
            source: meta.map_or_else(|| Arc::from(""), |m| Arc::clone(&m.name)),
            tag: meta.and_then(|m| m.tag.clone()),
            line: p.line,
            rank: p.rank,
            domain: p.domain,
        }
    }

    fn count_duplicate(&mut self, source: u32) {
        if let Some(s) = self.stats.sources.get_mut(source as usize) {
            s.duplicates += 1;
        }
    }

    fn step(&mut self) -> Result<Option<InputDomain>, InputError> {
        loop {
            match &mut self.state {
                State::Done => return Ok(None),
                State::Merging(merge) => match merge.next() {
                    None => {
                        self.state = State::Done;
                        return Ok(None);
                    }
                    Some(Err(e)) => return Err(InputError::Spill(e)),
                    Some(Ok(Merged::Duplicate(src))) => self.count_duplicate(src),
                    Some(Ok(Merged::Emit(p))) => return Ok(Some(self.finish_item(p))),
                },
                State::Reading => {
                    if self.current.is_none() && !self.open_next()? {
                        self.stats.spilled_runs = self.dedup.spilled_runs();
                        let merge = self.dedup.finish().map_err(InputError::Spill)?;
                        self.state = State::Merging(merge);
                        continue;
                    }
                    match self.next_candidate()? {
                        None => self.current = None,
                        Some(p) => match self.dedup.offer(p).map_err(InputError::Spill)? {
                            Offer::Emit(p) => return Ok(Some(self.finish_item(p))),
                            Offer::Duplicate(src) => self.count_duplicate(src),
                            Offer::Deferred => {}
                        },
                    }
                }
            }
        }
    }
}

impl<S: RejectionSink> Iterator for DomainStream<S> {
    type Item = Result<InputDomain, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Ok(Some(d)) => Some(Ok(d)),
            Ok(None) => None,
            Err(e) => {
                self.state = State::Done;
                self.current = None;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_raw(b"a\tb\\c", false), "a\\tb\\\\c");
        assert_eq!(escape_raw(b"\xffok\x00", false), "\\xffok\\u{0}");
        assert_eq!(escape_raw("ü".as_bytes(), false), "ü");
        let long = vec![b'x'; 500];
        let e = escape_raw(&long, false);
        assert_eq!(e.len(), RAW_LIMIT + 3);
        assert!(e.ends_with("..."));
    }
}
