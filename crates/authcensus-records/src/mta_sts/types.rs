//! Types of MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file,
//! their parse errors, and the fetch outcome the network crate reports.

use std::fmt;

/// A parsed `_mta-sts` TXT record (RFC 8461 §3.1).
///
/// ```text
/// sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
/// sts-version     = %s"v=STSv1"
/// sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsRecord {
    /// The `id` field: 1 to 32 ASCII letters and digits.
    pub id: String,
    /// Extension fields in order (RFC 8461 §3.2: unknown fields are ignored).
    pub extensions: Vec<(String, String)>,
    /// Names of repeated fields whose later occurrences were ignored
    /// (RFC 8461 §3.2: "all entries except for the first SHALL be ignored").
    pub ignored_duplicates: Vec<String>,
}

impl fmt::Display for StsRecord {
    /// Renders the record in canonical form: `v=STSv1; id=...; name=value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v=STSv1; id={}", self.id)?;
        for (name, value) in &self.extensions {
            write!(f, "; {name}={value}")?;
        }
        Ok(())
    }
}

/// What is wrong with an `_mta-sts` TXT record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxtErrorKind {
    /// A byte outside US-ASCII (RFC 8461 §3.1: records MUST be US-ASCII).
    NonAscii,
    /// The record does not begin with `v=STSv1` (RFC 8461 §3.1).
    MissingVersion,
    /// `v=` is present first but its value is not `STSv1`.
    BadVersion,
    /// No `id` field (RFC 8461 §3.1: required).
    MissingId,
    /// `id=` with nothing after it.
    EmptyId,
    /// An `id` longer than 32 characters.
    IdTooLong,
    /// An `id` with a character other than ALPHA / DIGIT.
    InvalidId,
    /// An empty field (two `;` in a row, or a leading `;`).
    EmptyField,
    /// A field without `=`.
    MissingEquals,
    /// An extension name that is not `(ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")`.
    InvalidExtensionName,
    /// An extension name longer than 32 characters.
    ExtensionNameTooLong,
    /// An extension with an empty value.
    EmptyExtensionValue,
    /// An extension value with SP, a CTL or `=`.
    InvalidExtensionValue,
}

impl TxtErrorKind {
    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            TxtErrorKind::NonAscii => "non_ascii",
            TxtErrorKind::MissingVersion => "missing_version",
            TxtErrorKind::BadVersion => "bad_version",
            TxtErrorKind::MissingId => "missing_id",
            TxtErrorKind::EmptyId => "empty_id",
            TxtErrorKind::IdTooLong => "id_too_long",
            TxtErrorKind::InvalidId => "invalid_id",
            TxtErrorKind::EmptyField => "empty_field",
            TxtErrorKind::MissingEquals => "missing_equals",
            TxtErrorKind::InvalidExtensionName => "invalid_extension_name",
            TxtErrorKind::ExtensionNameTooLong => "extension_name_too_long",
            TxtErrorKind::EmptyExtensionValue => "empty_extension_value",
            TxtErrorKind::InvalidExtensionValue => "invalid_extension_value",
        }
    }
}

/// A syntax error in an `_mta-sts` TXT record: a kind and the byte offset
/// (into the joined record) where the fault starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid _mta-sts record: {} at byte {pos}", kind.code())]
pub struct TxtError {
    /// What is wrong.
    pub kind: TxtErrorKind,
    /// Byte offset of the fault.
    pub pos: usize,
}

/// Policy mode (RFC 8461 §3.2, §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `enforce`: senders MUST NOT deliver to an MX failing validation.
    Enforce,
    /// `testing`: report failures but deliver anyway.
    Testing,
    /// `none`: no active policy.
    None,
}

impl Mode {
    /// The policy-file spelling, also the snapshot label.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `mx` pattern (RFC 8461 §3.2 `sts-policy-mx-value = ["*."] Domain`),
/// stored lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MxPattern {
    /// True for a `*.` prefix, which matches exactly one extra left-most
    /// label (RFC 8461 §4.1).
    pub wildcard: bool,
    /// The domain after the optional `*.`, lowercase, no trailing dot.
    pub domain: String,
}

impl fmt::Display for MxPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.domain)
    }
}

/// Largest `max_age` (RFC 8461 §3.2: "maximum value of 31557600").
pub const MAX_MAX_AGE: u32 = 31_557_600;

/// Suggested largest policy body (RFC 8461 §3.3: "a suggested maximum
/// policy size is 64 kilobytes").
pub const SUGGESTED_MAX_POLICY_SIZE: usize = 64 * 1024;

/// A parsed policy file (RFC 8461 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `mode`.
    pub mode: Mode,
    /// `max_age` in seconds, 0..=31557600.
    pub max_age: u32,
    /// `mx` patterns in order (possibly empty when mode is `none`).
    pub mx: Vec<MxPattern>,
    /// Extension fields in order, values as UTF-8 text.
    pub extensions: Vec<(String, String)>,
    /// Names of non-repeatable fields that appeared again; the later
    /// occurrences were ignored (RFC 8461 §3.2).
    pub ignored_duplicates: Vec<String>,
}

impl fmt::Display for Policy {
    /// Renders the policy as a CRLF-separated file (RFC 8461 §3.2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version: STSv1\r\nmode: {}\r\n", self.mode)?;
        for mx in &self.mx {
            write!(f, "mx: {mx}\r\n")?;
        }
        write!(f, "max_age: {}\r\n", self.max_age)?;
        for (name, value) in &self.extensions {
            write!(f, "{name}: {value}\r\n")?;
        }
        Ok(())
    }
}

/// What is wrong with a policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyErrorKind {
    /// The body is not UTF-8 (RFC 8461 §3.2 allows UTF-8 in extension values only).
    NotUtf8,
    /// The body exceeds the caller's size limit.
    TooLarge,
    /// An empty line (the ABNF has no blank lines; only one final line
    /// terminator is allowed).
    EmptyLine,
    /// A line without `:`.
    MissingColon,
    /// A field name that is not a valid `sts-policy-ext-name`.
    InvalidKey,
    /// A field with no value.
    EmptyValue,
    /// A value with a control character or a bare CR.
    InvalidValueChar,
    /// `version` is not `STSv1`.
    BadVersion,
    /// `mode` is not `enforce`, `testing` or `none`.
    BadMode,
    /// `max_age` is not 1 to 10 digits.
    BadMaxAge,
    /// `max_age` above 31557600.
    MaxAgeTooLarge,
    /// An `mx` value that is not `["*."] Domain` (RFC 5321 §4.1.2).
    InvalidMx,
    /// No `version` field.
    MissingVersion,
    /// No `mode` field.
    MissingMode,
    /// No `max_age` field.
    MissingMaxAge,
    /// Mode `enforce` or `testing` without any `mx` field.
    MissingMx,
}

impl PolicyErrorKind {
    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            PolicyErrorKind::NotUtf8 => "not_utf8",
            PolicyErrorKind::TooLarge => "too_large",
            PolicyErrorKind::EmptyLine => "empty_line",
            PolicyErrorKind::MissingColon => "missing_colon",
            PolicyErrorKind::InvalidKey => "invalid_key",
            PolicyErrorKind::EmptyValue => "empty_value",
            PolicyErrorKind::InvalidValueChar => "invalid_value_char",
            PolicyErrorKind::BadVersion => "bad_version",
            PolicyErrorKind::BadMode => "bad_mode",
            PolicyErrorKind::BadMaxAge => "bad_max_age",
            PolicyErrorKind::MaxAgeTooLarge => "max_age_too_large",
            PolicyErrorKind::InvalidMx => "invalid_mx",
            PolicyErrorKind::MissingVersion => "missing_version",
            PolicyErrorKind::MissingMode => "missing_mode",
            PolicyErrorKind::MissingMaxAge => "missing_max_age",
            PolicyErrorKind::MissingMx => "missing_mx",
        }
    }
}

/// A policy-file error: a kind, the byte offset and the 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid MTA-STS policy: {} at line {line} (byte {pos})", kind.code())]
pub struct PolicyError {
    /// What is wrong.
    pub kind: PolicyErrorKind,
    /// Byte offset of the fault (end of body for missing fields).
    pub pos: usize,
    /// 1-based line number of the fault.
    pub line: usize,
}

/// How the TLS handshake with the Policy Host failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsFailure {
    /// The certificate did not validate: untrusted chain, expired, or not
    /// valid for `mta-sts.<domain>` (RFC 8461 §3.3).
    InvalidCertificate,
    /// The handshake failed before a certificate could be judged (protocol
    /// or cipher mismatch, reset during handshake).
    Handshake,
}

/// The outcome of `GET https://mta-sts.<domain>/.well-known/mta-sts.txt`,
/// as plain data. The network crate fills it; [`super::assess_fetch`]
/// judges it. Redirects are never followed (RFC 8461 §3.3): a 3xx is
/// reported as a [`PolicyFetch::Response`] with its `location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyFetch {
    /// An HTTP response arrived.
    Response(HttpResponse),
    /// The Policy Host name has no address (NXDOMAIN/NODATA for A and AAAA).
    NoAddress,
    /// TCP connection failed (refused, unreachable, reset).
    ConnectFailed,
    /// TLS failed.
    Tls(TlsFailure),
    /// No complete response within the deadline (RFC 8461 §3.3 suggests one minute).
    Timeout,
}

/// An HTTP response to the policy GET.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The raw `Content-Type` header value, if any.
    pub content_type: Option<String>,
    /// The `Location` header of a redirect, if any.
    pub location: Option<String>,
    /// The body bytes read (at most the caller's limit).
    pub body: Vec<u8>,
    /// True if the body was cut at the caller's size limit.
    pub truncated: bool,
}
