//! Opening inputs: files or stdin, with gzip/zstd detected from magic bytes.
//!
//! Detection reads the first bytes of the stream itself (not the file name),
//! so `zcat`-less pipes work: `curl ... | authcensus domains -`.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::InputError;

/// gzip magic (RFC 1952 §2.3.1: ID1 = 31, ID2 = 139).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// zstd frame magic (RFC 8878 §3.1.1: 0xFD2FB528 little-endian).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Buffer size of the decompressed reader.
const BUF_SIZE: usize = 256 * 1024;

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputPath {
    /// Standard input (`-` on the command line).
    Stdin,
    /// A file.
    File(PathBuf),
}

impl InputPath {
    /// `-` is stdin, anything else a file path.
    pub fn parse(arg: &str) -> Self {
        if arg == "-" {
            Self::Stdin
        } else {
            Self::File(PathBuf::from(arg))
        }
    }

    /// The name used in stats and rejections: the path as given, or `-`.
    pub fn display_name(&self) -> String {
        match self {
            Self::Stdin => "-".to_owned(),
            Self::File(p) => p.display().to_string(),
        }
    }
}

/// Compression detected from the stream's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// No known magic: read as is.
    None,
    /// gzip (one or more members, as `cat a.gz b.gz` produces).
    Gzip,
    /// Zstandard (one or more frames).
    Zstd,
}

impl Compression {
    /// Stable label: `none`, `gzip`, `zstd`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }

    /// Detects from the first bytes of a stream.
    pub fn sniff(head: &[u8]) -> Self {
        if head.starts_with(&ZSTD_MAGIC) {
            Self::Zstd
        } else if head.starts_with(&GZIP_MAGIC) {
            Self::Gzip
        } else {
            Self::None
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self {
            Self::None => "uncompressed",
            other => other.as_str(),
        };
        f.write_str(label)
    }
}

/// Counts bytes read from the underlying file, to report where a failure happened.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An opened, decompressing input.
pub struct Opened {
    /// The decompressed content.
    pub reader: Box<dyn BufRead + Send>,
    /// What was detected.
    pub compression: Compression,
    /// Bytes read so far from the file or pipe (shared with the reader).
    pub raw_offset: Arc<AtomicU64>,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

/// Opens a file or stdin and wraps it in the decompressor its magic bytes ask for.
pub fn open(path: &InputPath) -> Result<Opened, InputError> {
    let raw: Box<dyn Read + Send> = match path {
        InputPath::Stdin => Box::new(io::stdin()),
        InputPath::File(p) => Box::new(File::open(p).map_err(|error| InputError::Open {
            path: p.clone(),
            error,
        })?),
    };
    open_reader(raw, path_for_errors(path))
}

fn path_for_errors(path: &InputPath) -> PathBuf {
    match path {
        InputPath::Stdin => PathBuf::from("-"),
        InputPath::File(p) => p.clone(),
    }
}

/// Like [`open`], over any reader (tests, in-memory data).
pub fn open_reader(
    raw: Box<dyn Read + Send>,
    name: impl AsRef<Path>,
) -> Result<Opened, InputError> {
    let count = Arc::new(AtomicU64::new(0));
    let mut counting = Counting {
        inner: raw,
        count: Arc::clone(&count),
    };
    let mut head = Vec::with_capacity(4);
    // Read up to 4 bytes even from a pipe that delivers them one at a time.
    while head.len() < 4 {
        let mut byte = [0u8; 4];
        let want = 4 - head.len();
        match counting.read(byte.get_mut(..want).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(byte.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => {
                return Err(InputError::Open {
                    path: name.as_ref().to_path_buf(),
                    error,
                });
            }
        }
    }
    let compression = Compression::sniff(&head);
    let chained = Cursor::new(head).chain(counting);
    let reader: Box<dyn BufRead + Send> = match compression {
        Compression::None => Box::new(BufReader::with_capacity(BUF_SIZE, chained)),
        Compression::Gzip => Box::new(BufReader::with_capacity(
            BUF_SIZE,
            flate2::read::MultiGzDecoder::new(BufReader::new(chained)),
        )),
        Compression::Zstd => {
            let decoder =
                zstd::stream::read::Decoder::new(chained).map_err(|error| InputError::Open {
                    path: name.as_ref().to_path_buf(),
                    error,
                })?;
            Box::new(BufReader::with_capacity(BUF_SIZE, decoder))
        }
    };
    Ok(Opened {
        reader,
        compression,
        raw_offset: count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(data: Vec<u8>) -> (Compression, io::Result<Vec<u8>>) {
        let mut o = open_reader(Box::new(Cursor::new(data)), "t").unwrap();
        let mut out = Vec::new();
        let r = o.reader.read_to_end(&mut out).map(|_| out);
        (o.compression, r)
    }

    #[test]
    fn plain_gzip_zstd_and_multi_member() {
        assert_eq!(read_all(b"ab".to_vec()).1.unwrap(), b"ab");
        assert_eq!(read_all(Vec::new()).1.unwrap(), b"");
        let mut gz = Vec::new();
        for part in [&b"one\n"[..], b"two\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let (c, r) = read_all(gz);
        assert_eq!((c, r.unwrap()), (Compression::Gzip, b"one\ntwo\n".to_vec()));
        let z = zstd::encode_all(&b"zz\n"[..], 1).unwrap();
        let (c, r) = read_all(z);
        assert_eq!((c, r.unwrap()), (Compression::Zstd, b"zz\n".to_vec()));
    }

    #[test]
    fn truncated_streams_fail() {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&b"example.com\n".repeat(1000)).unwrap();
        let mut gz = e.finish().unwrap();
        gz.truncate(gz.len() / 2);
        assert!(read_all(gz).1.is_err());
        let mut z = zstd::encode_all(&b"example.com\n".repeat(1000)[..], 1).unwrap();
        z.truncate(z.len() / 2);
        assert!(read_all(z).1.is_err());
    }
}
