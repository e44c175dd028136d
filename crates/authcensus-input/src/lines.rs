//! A line reader with a bound: memory per line is capped whatever the input.
//!
//! Over-long lines are read to their end without being stored (only a prefix
//! is kept for the rejection record) and flagged, so a 1 MB line costs the
//! bound, not a megabyte, and the next line is read normally.

use std::io::{self, BufRead};

/// Default longest line kept, in bytes (64 KiB). Domain names are at most 253
/// octets; CSV rows of real lists and zone lines (DNSKEY, long TXT) stay far
/// below this.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;

/// UTF-8 byte order mark, stripped from the start of the first line.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One line as returned by [`BoundedLines::next_line`].
#[derive(Debug)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: u64,
    /// The line without its `\n` (and without one `\r` before it), at most
    /// the bound long; for an over-long line, its first bytes.
    pub bytes: &'a [u8],
    /// True when the line was longer than the bound.
    pub too_long: bool,
}

/// Reads `\n`-terminated lines (CRLF and LF mixed) with a length bound.
#[derive(Debug)]
pub struct BoundedLines<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    number: u64,
    offset: u64,
}

impl<R: BufRead> BoundedLines<R> {
    /// A reader keeping at most `max` bytes of each line.
    pub fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            max,
            number: 0,
            offset: 0,
        }
    }

    /// Bytes consumed so far from the (decompressed) stream.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next line, `None` at end of input, or the reader's I/O error.
    pub fn next_line(&mut self) -> Option<io::Result<Line<'_>>> {
        self.buf.clear();
        let mut too_long = false;
        let mut saw_any = false;
        loop {
            let avail = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Some(Err(e)),
            };
            if avail.is_empty() {
                if !saw_any {
                    return None;
                }
                break;
            }
            saw_any = true;
            let (take, found) = match memchr::memchr(b'\n', avail) {
                Some(i) => (i + 1, true),
                None => (avail.len(), false),
            };
            let content = avail.get(..take - usize::from(found)).unwrap_or_default();
            let room = self.max.saturating_sub(self.buf.len());
            if content.len() > room {
                too_long = true;
                self.buf
                    .extend_from_slice(content.get(..room).unwrap_or_default());
            } else {
                self.buf.extend_from_slice(content);
            }
            self.inner.consume(take);
            self.offset += take as u64;
            if found {
                break;
            }
        }
        self.number += 1;
        if !too_long && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let mut bytes: &[u8] = &self.buf;
        if self.number == 1 {
            bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        }
        Some(Ok(Line {
            number: self.number,
            bytes,
            too_long,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], max: usize) -> Vec<(u64, Vec<u8>, bool)> {
        let mut r = BoundedLines::new(input, max);
        let mut out = Vec::new();
        while let Some(l) = r.next_line() {
            let l = l.unwrap();
            out.push((l.number, l.bytes.to_vec(), l.too_long));
        }
        out
    }

    #[test]
    fn crlf_lf_bom_and_last_line() {
        let got = collect(b"\xEF\xBB\xBFa\r\nb\n\r\nc", 10);
        assert_eq!(
            got,
            vec![
                (1, b"a".to_vec(), false),
                (2, b"b".to_vec(), false),
                (3, b"".to_vec(), false),
                (4, b"c".to_vec(), false)
            ]
        );
    }

    #[test]
    fn bound_at_exact_length() {
        let got = collect(b"abcd\nabcde\nx\n", 4);
        assert_eq!(got[0], (1, b"abcd".to_vec(), false));
        assert_eq!(got[1], (2, b"abcd".to_vec(), true));
        assert_eq!(got[2], (3, b"x".to_vec(), false));
    }

    #[test]
    fn long_line_across_small_buffers() {
        let mut data = vec![b'a'; 100_000];
        data.extend_from_slice(b"\nok\n");
        let reader = io::BufReader::with_capacity(7, &data[..]);
        let mut r = BoundedLines::new(reader, 16);
        let first = r.next_line().unwrap().unwrap();
        assert!(first.too_long);
        assert_eq!(first.bytes.len(), 16);
        let second = r.next_line().unwrap().unwrap();
        assert_eq!((second.number, second.bytes), (2, &b"ok"[..]));
        assert!(r.next_line().is_none());
        assert_eq!(r.offset(), 100_004);
    }
}
