//! Types of the TLS-RPT reporting policy record (RFC 8460 §3).

use std::fmt;

/// The URI schemes RFC 8460 §3 supports for `rua`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuaScheme {
    /// `mailto:` (reports by email, RFC 6068).
    Mailto,
    /// `https:` (reports by HTTPS POST).
    Https,
}

/// One `rua` destination.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RuaUri {
    /// The scheme.
    pub scheme: RuaScheme,
    /// The URI as written.
    pub uri: String,
}

/// A parsed `_smtp._tls` record (RFC 8460 §3).
///
/// ```text
/// tlsrpt-record  = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
/// field-delim    = *WSP ";" *WSP
/// tlsrpt-version = %s"v=TLSRPTv1"
/// tlsrpt-rua     = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptRecord {
    /// The supported `rua` URIs in order (at least one).
    pub rua: Vec<RuaUri>,
    /// Extension fields in order (unknown fields are ignored, RFC 8460 §3).
    pub extensions: Vec<(String, String)>,
}

impl fmt::Display for TlsRptRecord {
    /// Canonical form: `v=TLSRPTv1; rua=a,b; name=value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=TLSRPTv1; rua=")?;
        for (i, u) in self.rua.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&u.uri)?;
        }
        for (name, value) in &self.extensions {
            write!(f, "; {name}={value}")?;
        }
        Ok(())
    }
}

/// A finding code on a TLS-RPT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsRptCode {
    /// A byte outside US-ASCII.
    NonAscii,
    /// The record does not begin with `v=TLSRPTv1`.
    MissingVersion,
    /// `v=` first but not `TLSRPTv1`.
    BadVersion,
    /// An empty field (`;;`).
    EmptyField,
    /// A field without `=`.
    MissingEquals,
    /// No `rua` field (RFC 8460 §3: required).
    MissingRua,
    /// `rua=` with no URI, or an empty list element.
    EmptyRua,
    /// A `rua` element that is not a URI (`scheme:rest`) or holds `!`, SP
    /// or a CTL (RFC 8460 §3: `,`, `!`, `;` MUST be encoded).
    InvalidRuaUri,
    /// A `rua` URI with a scheme other than `mailto` and `https` (warning
    /// when another URI is usable; error when none is).
    UnsupportedRuaScheme,
    /// A `mailto:` URI without an address `local@domain`.
    InvalidMailto,
    /// An `https:` URI without `//host`.
    InvalidHttps,
    /// A malformed extension name.
    InvalidExtensionName,
    /// An extension with an empty or malformed value.
    InvalidExtensionValue,
    /// A repeated field; later occurrences ignored (warning).
    DuplicateField,
    /// Several records begin with `v=TLSRPTv1` (RFC 8460 §3: "If the number
    /// of resulting records is not one, senders MUST assume the recipient
    /// domain does not implement TLSRPT").
    MultipleRecords,
    /// TXT records exist but none begins with `v=TLSRPTv1`.
    NoTlsRptRecord,
}

impl TlsRptCode {
    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            TlsRptCode::NonAscii => "non_ascii",
            TlsRptCode::MissingVersion => "missing_version",
            TlsRptCode::BadVersion => "bad_version",
            TlsRptCode::EmptyField => "empty_field",
            TlsRptCode::MissingEquals => "missing_equals",
            TlsRptCode::MissingRua => "missing_rua",
            TlsRptCode::EmptyRua => "empty_rua",
            TlsRptCode::InvalidRuaUri => "invalid_rua_uri",
            TlsRptCode::UnsupportedRuaScheme => "unsupported_rua_scheme",
            TlsRptCode::InvalidMailto => "invalid_mailto",
            TlsRptCode::InvalidHttps => "invalid_https",
            TlsRptCode::InvalidExtensionName => "invalid_extension_name",
            TlsRptCode::InvalidExtensionValue => "invalid_extension_value",
            TlsRptCode::DuplicateField => "duplicate_field",
            TlsRptCode::MultipleRecords => "multiple_records",
            TlsRptCode::NoTlsRptRecord => "no_tlsrpt_record",
        }
    }
}

/// A finding: a code, whether it makes the record unusable, and the byte
/// offset in the joined record (0 for set-level findings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsRptFinding {
    /// What was found.
    pub code: TlsRptCode,
    /// True if the record is unusable because of it.
    pub fatal: bool,
    /// Byte offset of the fault.
    pub pos: usize,
}

/// A fatal parse error of a TLS-RPT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid _smtp._tls record: {} at byte {pos}", code.code())]
pub struct TlsRptError {
    /// What is wrong.
    pub code: TlsRptCode,
    /// Byte offset of the fault.
    pub pos: usize,
}

/// The outcome of parsing one record: the record (if usable) and every
/// finding, fatal or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRptParse {
    /// The record, `None` if a fatal finding was made.
    pub record: Option<TlsRptRecord>,
    /// All findings in input order.
    pub findings: Vec<TlsRptFinding>,
}
