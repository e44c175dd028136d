//! Input formats, their auto-detection, and the per-line processors.
//!
//! Every physical line gets exactly one outcome: skipped (with a
//! [`SkipKind`]), rejected (with a [`crate::RejectReason`]), or a candidate
//! domain. [`crate::SourceStats`] counts them, so
//! `lines == skipped + rejected + candidates` holds for every input.

pub(crate) mod csv;
pub(crate) mod zone;

use std::fmt;
use std::str::FromStr;

use crate::RejectReason;
use crate::normalize::normalize_domain;

/// A domain-list format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// One domain per line; `#` comments (whole line, or after whitespace),
    /// blank lines and surrounding whitespace ignored.
    Plain,
    /// Generic CSV: a header row naming the domain column (or `--column INDEX`
    /// without header). A `rank`/`GlobalRank` header column is kept as rank.
    Csv,
    /// Tranco: `rank,domain`, no header.
    Tranco,
    /// Majestic Million: header row, `Domain` column, `GlobalRank` as rank.
    Majestic,
    /// RFC 1035 §5 master file; its domains are the delegations (NS owners
    /// strictly below the apex).
    Zone,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 5] = [
        Self::Plain,
        Self::Csv,
        Self::Tranco,
        Self::Majestic,
        Self::Zone,
    ];

    /// Stable label, as accepted by `--format`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Csv => "csv",
            Self::Tranco => "tranco",
            Self::Majestic => "majestic",
            Self::Zone => "zone",
        }
    }

    /// Guesses the format from the first bytes of the (decompressed) content.
    ///
    /// Rules, on the first significant line (blank lines and `#` lines skipped):
    /// a `;` comment or a `$ORIGIN`/`$TTL`/`$INCLUDE` directive, or a class or
    /// `SOA`/`NS` among tokens 2 to 4, means a zone; a line with commas is
    /// Tranco when it is `digits,field`, Majestic when the header holds
    /// `GlobalRank` and `Domain`, else generic CSV; anything else is plain.
    pub fn detect(head: &[u8]) -> Format {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        for raw in head.split(|&b| b == b'\n').take(200) {
            let text = String::from_utf8_lossy(raw);
            let line = text.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with(';') {
                return Format::Zone;
            }
            let first = line.split_whitespace().next().unwrap_or_default();
            if ["$ORIGIN", "$TTL", "$INCLUDE"]
                .iter()
                .any(|d| first.eq_ignore_ascii_case(d))
            {
                return Format::Zone;
            }
            let tokens: Vec<&str> = line.split_whitespace().take(5).collect();
            if tokens.len() >= 3
                && tokens.iter().skip(1).take(3).any(|t| {
                    zone::is_class(t.as_bytes())
                        || t.eq_ignore_ascii_case("SOA")
                        || t.eq_ignore_ascii_case("NS")
                })
            {
                return Format::Zone;
            }
            if line.contains(',') {
                let fields: Vec<&str> = line.split(',').map(str::trim).collect();
                if fields.len() == 2
                    && fields
                        .first()
                        .is_some_and(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Format::Tranco;
                }
                let has = |name: &str| fields.iter().any(|f| f.eq_ignore_ascii_case(name));
                if has("GlobalRank") && has("Domain") {
                    return Format::Majestic;
                }
                return Format::Csv;
            }
            return Format::Plain;
        }
        Format::Plain
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `--format` value that names no format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (expected plain, csv, tranco, majestic or zone)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// Which CSV column holds the domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    /// A header field name (case-insensitive); the first row is the header.
    Name(String),
    /// A 1-based column number (as `cut -f`); the file has no header row.
    Index(usize),
}

impl FromStr for Column {
    type Err = std::convert::Infallible;
    /// Digits give an index (1-based), anything else a header name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.parse::<usize>() {
            Ok(i) => Self::Index(i),
            Err(_) => Self::Name(s.to_owned()),
        })
    }
}

/// Why a line produced no candidate and is not a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipKind {
    /// Empty, whitespace-only or comment line.
    BlankOrComment,
    /// A CSV header row.
    Header,
    /// A zone record that is not a delegation (SOA, glue A/AAAA, DS, apex NS, ...).
    ZoneRecord,
    /// `$ORIGIN` or `$TTL`.
    ZoneDirective,
    /// A line inside a parenthesised zone entry (the entry is counted on its last line).
    ZoneContinuation,
    /// A further NS record of the delegation just read.
    ZoneSameDelegation,
}

impl SkipKind {
    /// Stable snake_case label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::BlankOrComment => "blank_or_comment",
            Self::Header => "header",
            Self::ZoneRecord => "zone_record",
            Self::ZoneDirective => "zone_directive",
            Self::ZoneContinuation => "zone_continuation",
            Self::ZoneSameDelegation => "zone_same_delegation",
        }
    }
}

/// What one line produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Skip(SkipKind),
    /// Rejected; the line is the current one.
    Reject(RejectReason),
    /// Rejected zone entry starting at `line`, whose first line was `raw`.
    RejectEntry {
        reason: RejectReason,
        line: u64,
        raw: Vec<u8>,
    },
    Domain {
        name: String,
        rank: Option<u64>,
        line: u64,
    },
}

/// A failure that makes the rest of the input meaningless.
#[derive(Debug)]
pub(crate) enum Fatal {
    Include { line: u64 },
    Column(String),
}

/// The per-format state machine fed one line at a time.
#[derive(Debug)]
pub(crate) enum Processor {
    Plain,
    Csv(csv::CsvState),
    Zone(Box<zone::ZoneState>),
}

impl Processor {
    pub(crate) fn new(format: Format, column: Option<&Column>) -> Self {
        match format {
            Format::Plain => Self::Plain,
            Format::Zone => Self::Zone(Box::default()),
            Format::Csv | Format::Tranco | Format::Majestic => {
                Self::Csv(csv::CsvState::new(format, column))
            }
        }
    }

    pub(crate) fn line(
        &mut self,
        number: u64,
        bytes: &[u8],
        too_long: bool,
    ) -> Result<Outcome, Fatal> {
        if let Self::Zone(z) = self {
            return z.line(number, bytes, too_long);
        }
        if too_long {
            return Ok(Outcome::Reject(RejectReason::LineTooLong));
        }
        if memchr::memchr(0, bytes).is_some() {
            return Ok(Outcome::Reject(RejectReason::NulByte));
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Ok(Outcome::Reject(RejectReason::InvalidUtf8));
        };
        match self {
            Self::Plain => Ok(plain_line(text, number)),
            Self::Csv(c) => c.line(text, number),
            Self::Zone(_) => Ok(Outcome::Skip(SkipKind::ZoneRecord)),
        }
    }
}

/// A plain-list line: strip a `#` comment at line start or after whitespace.
fn plain_line(text: &str, number: u64) -> Outcome {
    let mut body = text;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes.get(i - 1).is_some_and(|p| p.is_ascii_whitespace())) {
            body = text.get(..i).unwrap_or_default();
            break;
        }
    }
    let body = body.trim();
    if body.is_empty() {
        return Outcome::Skip(SkipKind::BlankOrComment);
    }
    if body.split_whitespace().nth(1).is_some() {
        return Outcome::Reject(RejectReason::MultipleFields);
    }
    match normalize_domain(body) {
        Ok(name) => Outcome::Domain {
            name,
            rank: None,
            line: number,
        },
        Err(r) => Outcome::Reject(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        assert_eq!(Format::detect(b";; zone\n"), Format::Zone);
        assert_eq!(Format::detect(b"$ORIGIN gov.\n"), Format::Zone);
        assert_eq!(
            Format::detect(b".  86400 IN SOA a. b. 1 2 3 4 5\n"),
            Format::Zone
        );
        assert_eq!(
            Format::detect(b"example 3600 NS ns1.example.\n"),
            Format::Zone
        );
        assert_eq!(Format::detect(b"1,google.com\n2,a.com\n"), Format::Tranco);
        assert_eq!(
            Format::detect(b"GlobalRank,TldRank,Domain,TLD\n1,1,google.com,com\n"),
            Format::Majestic
        );
        assert_eq!(Format::detect(b"Domain name,Domain type\n"), Format::Csv);
        assert_eq!(Format::detect(b"# list\n\nexample.com\n"), Format::Plain);
        assert_eq!(Format::detect(b""), Format::Plain);
        assert_eq!("ZONE".parse::<Format>(), Ok(Format::Zone));
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn plain_comments_and_fields() {
        let d = |s| match plain_line(s, 1) {
            Outcome::Domain { name, .. } => Some(name),
            _ => None,
        };
        assert_eq!(d("  Example.com.  # note"), Some("example.com".into()));
        assert_eq!(
            plain_line("# c", 1),
            Outcome::Skip(SkipKind::BlankOrComment)
        );
        assert_eq!(
            plain_line(" \t ", 1),
            Outcome::Skip(SkipKind::BlankOrComment)
        );
        assert_eq!(
            plain_line("a.com#x", 1),
            Outcome::Reject(RejectReason::InvalidCharacter)
        );
        assert_eq!(
            plain_line("a.com b.com", 1),
            Outcome::Reject(RejectReason::MultipleFields)
        );
    }
}
