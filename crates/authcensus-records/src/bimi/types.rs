//! Types of the BIMI Assertion Record (draft-brand-indicators-for-message-identification,
//! "Assertion Record Definition").

use std::fmt;

/// Avatar preference, `avp=` ("Assertion Record Definition").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Avp {
    /// `avp=brand` (the default): show the BIMI logo.
    Brand,
    /// `avp=personal`: prefer the sender's personal avatar.
    Personal,
}

/// A parsed BIMI Assertion Record.
///
/// ```text
/// bimi-record = bimi-version (bimi-sep bimi-location)
///               [(bimi-sep bimi-evidence-location)] [(local-part-selector)]
///               [(bimi-sep bimi-logo-preference)] [bimi-sep]
/// bimi-version = "v" *WSP "=" *WSP "BIMI1"
/// bimi-location = "l" *WSP "=" *WSP [bimi-uri]
/// bimi-evidence-location = "a" *WSP "=" *WSP [bimi-uri]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BimiRecord {
    /// `l=`: the HTTPS URI of the indicator, `None` when empty.
    pub location: Option<String>,
    /// `a=`: the HTTPS URI of the evidence document (VMC/CMC), `None` when
    /// empty or absent ("If the a= tag is not present, it is assumed to have
    /// an empty value").
    pub evidence: Option<String>,
    /// `lps=`: local-part selector prefixes, `None` when the tag is absent
    /// (`Some(vec![])` for `lps=`).
    pub lps: Option<Vec<String>>,
    /// `avp=` when present and valid.
    pub avp: Option<Avp>,
    /// Names of unknown tags (ignored: "unknown tags MUST be ignored").
    pub unknown_tags: Vec<String>,
}

impl BimiRecord {
    /// "Declination to Publish": both `l=` and `a=` are empty.
    pub fn is_declination(&self) -> bool {
        self.location.is_none() && self.evidence.is_none()
    }
}

impl fmt::Display for BimiRecord {
    /// Canonical form: `v=BIMI1; l=...; a=...` (+ `lps=`, `avp=`; unknown
    /// tags are not rendered, their values are not kept).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "v=BIMI1; l={}; a={}",
            self.location.as_deref().unwrap_or(""),
            self.evidence.as_deref().unwrap_or("")
        )?;
        if let Some(lps) = &self.lps {
            write!(f, "; lps={}", lps.join(","))?;
        }
        match self.avp {
            Some(Avp::Brand) => f.write_str("; avp=brand"),
            Some(Avp::Personal) => f.write_str("; avp=personal"),
            None => Ok(()),
        }
    }
}

/// A finding code on a BIMI record or record set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BimiCode {
    /// A byte outside US-ASCII.
    NonAscii,
    /// A tag-spec without `=` or with a bad tag name (RFC 6376 §3.2 tag-list).
    MalformedTag,
    /// An empty tag-spec between two `;` (tolerated, warning).
    EmptyTag,
    /// A tag appears twice (RFC 6376 §3.2: "the entire tag-list is invalid").
    DuplicateTag,
    /// No `v=` tag.
    MissingVersion,
    /// `v=` is not the first tag ("It MUST be the first tag in the list").
    VersionNotFirst,
    /// `v=` with an empty value.
    EmptyVersion,
    /// `v=` with a value other than `BIMI1`.
    InvalidVersion,
    /// `v=bimi1` in another case than `BIMI1`: the draft says the value
    /// "MUST match precisely", but deployed validators (Mail::BIMI) accept
    /// it; we accept it with this warning.
    VersionCase,
    /// No `l=` tag ("l= location (URI; REQUIRED)").
    MissingLocation,
    /// `l=` empty while `a=` holds a URI: not a declination, and Indicator
    /// Discovery fails without a valid `l=`.
    EmptyLocationWithEvidence,
    /// `l=` with a scheme other than HTTPS ("The only supported transport is HTTPS").
    InvalidLocationTransport,
    /// `l=` that is not an absolute URI with a host, or holds a comma or space.
    InvalidLocationUri,
    /// `l=` ending with an image suffix other than `.svg`/`.svgz`
    /// ("Supported Image Formats for l= tag": a permanent error).
    UnsupportedImageFormat,
    /// `a=` with a scheme other than HTTPS.
    InvalidEvidenceTransport,
    /// `a=` that is not an absolute URI with a host.
    InvalidEvidenceUri,
    /// `lps=` not a comma list of 1*63 (ALPHA / DIGIT / "-") prefixes.
    InvalidLps,
    /// `avp=` other than `personal` / `brand` (ignored, warning: "Any other
    /// values MUST be ignored").
    InvalidAvp,
    /// An unknown tag (ignored, warning).
    UnknownTag,
    /// Several records begin with `v=BIMI1` ("If the remaining set contains
    /// multiple records ... BIMI processing MUST NOT be performed").
    MultipleRecords,
}

impl BimiCode {
    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            BimiCode::NonAscii => "non_ascii",
            BimiCode::MalformedTag => "malformed_tag",
            BimiCode::EmptyTag => "empty_tag",
            BimiCode::DuplicateTag => "duplicate_tag",
            BimiCode::MissingVersion => "missing_version",
            BimiCode::VersionNotFirst => "version_not_first",
            BimiCode::EmptyVersion => "empty_version",
            BimiCode::InvalidVersion => "invalid_version",
            BimiCode::VersionCase => "version_case",
            BimiCode::MissingLocation => "missing_location",
            BimiCode::EmptyLocationWithEvidence => "empty_location_with_evidence",
            BimiCode::InvalidLocationTransport => "invalid_location_transport",
            BimiCode::InvalidLocationUri => "invalid_location_uri",
            BimiCode::UnsupportedImageFormat => "unsupported_image_format",
            BimiCode::InvalidEvidenceTransport => "invalid_evidence_transport",
            BimiCode::InvalidEvidenceUri => "invalid_evidence_uri",
            BimiCode::InvalidLps => "invalid_lps",
            BimiCode::InvalidAvp => "invalid_avp",
            BimiCode::UnknownTag => "unknown_tag",
            BimiCode::MultipleRecords => "multiple_records",
        }
    }
}

/// One finding with its severity and byte position in the joined record
/// (0 for set-level findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BimiFinding {
    /// What was found.
    pub code: BimiCode,
    /// True if the record is unusable because of it.
    pub fatal: bool,
    /// Byte offset.
    pub pos: usize,
}

/// The result of parsing one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BimiParse {
    /// The record, `None` when a fatal finding was made.
    pub record: Option<BimiRecord>,
    /// All findings.
    pub findings: Vec<BimiFinding>,
}

impl BimiParse {
    /// The codes of the fatal findings, in order.
    pub fn error_codes(&self) -> Vec<&'static str> {
        self.findings
            .iter()
            .filter(|f| f.fatal)
            .map(|f| f.code.code())
            .collect()
    }
}
