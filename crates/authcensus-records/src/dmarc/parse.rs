//! Parsing a DMARC Policy Record in one of two modes, with findings.
//!
//! Both standards use the DKIM tag-value syntax (RFC 7489 §6.3, RFC 9989
//! §4.7): `tag=value` pairs separated by `;`, with optional whitespace (`WSP`,
//! space or tab) around `;` and `=`:
//!
//! ```text
//! RFC 9989 §4.8:
//!   dmarc-record  = dmarc-version *(dmarc-sep dmarc-tag) [dmarc-sep]
//!   dmarc-sep     = *WSP ";" *WSP
//!   equals        = *WSP "=" *WSP
//!   dmarc-tag     = 1*ALPHA equals 1*dmarc-value
//!   dmarc-value   = %x20-3A / %x3C-7E
//!   dmarc-version = "v" equals %s"DMARC1" ; case sensitive
//! RFC 7489 §6.4:
//!   dmarc-record  = dmarc-version dmarc-sep [dmarc-request] [dmarc-sep dmarc-srequest] ...
//!                   ; components other than dmarc-version and dmarc-request may appear in any order
//!   dmarc-version = "v" *WSP "=" *WSP %x44 %x4d %x41 %x52 %x43 %x31
//! ```
//!
//! Case: tag names and quoted values (`"p"`, `"reject"`) are ABNF quoted
//! strings and so case-insensitive (RFC 5234 §2.3); the version value
//! `DMARC1` is written with `%x`/`%s` and is case-sensitive in both.
//!
//! The two modes ([`Mode`]) differ where the standards differ:
//!
//! | rule | [`Mode::Rfc7489`] | [`Mode::Rfc9989`] |
//! |---|---|---|
//! | `p` | required, and must be the second tag (§6.3, §6.4) | RECOMMENDED; absent → treated as `p=none` (§4.7) |
//! | `;` after `v=DMARC1` | required (§6.4 `dmarc-version dmarc-sep`) | optional (§4.8) |
//! | `pct`, `ri`, `rf` | defined (§6.3) | historic, ignored (§9.3, App. C.5.2) |
//! | `np`, `psd`, `t` | unknown, ignored | defined (§4.7) |
//! | `fo` | any list of `0`/`1`/`d`/`s`, WSP around `:` (§6.4) | `0` and `1` exclusive, each once, no WSP (§4.8) |
//! | `!size` after a URI | defined (§6.2) | obsolete, ignored (§4.8 `obs-dmarc-report-size`) |
//! | invalid `p`/`sp` (and `np` in 9989) | valid `rua` → act as `p=none`, else no DMARC (§6.6.3 step 6) | same (§4.10.1) |
//!
//! Reading of RFC 9989 used here: §4.7 says a record *without* `p` "is treated
//! as if it included `p=none`"; the §4.10.1 rule ("does not contain a valid
//! `p` tag … if a `rua` tag is present …") is applied to a `p` tag that is
//! present with an invalid value and to invalid `sp`/`np`. So `v=DMARC1;` is a
//! usable `p=none` record under RFC 9989 and unusable under RFC 7489.
//!
//! An invalid value of any other tag leaves the record usable: the tag falls
//! back to its default (RFC 7489 §6.3: syntax errors "SHOULD be discarded in
//! favor of default values (if any) or ignored outright"; RFC 9989 §4.8:
//! "MUST be discarded") and the record is not [conformant](DmarcParse::conformant).
//! (Strict parsers such as mox reject such records outright.)
//!
//! Duplicate tags make the whole record invalid in both modes: DMARC uses the
//! DKIM tag-list syntax, and RFC 6376 §3.2 says "if a tag name does occur more
//! than once, the entire tag-list is invalid".

use std::fmt;

use super::types::{
    Alignment, DmarcRecord, FailureOption, Policy, PsdFlag, ReportUri, SizeLimit, SizeUnit, Tag,
};

/// Most `;`-separated segments examined; the rest of a longer record is
/// ignored with [`FindingKind::TooManyTags`] (records are hostile).
pub const MAX_TAGS: usize = 64;
/// Most URIs kept per `rua`/`ruf` list ([`FindingKind::TooManyUris`] beyond).
/// RFC 7489 §6.2: receivers "MUST support the ability to send to at least two".
pub const MAX_URIS: usize = 32;
/// Longest token copied into a finding.
const MAX_TOKEN: usize = 96;

/// Which standard a record is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// RFC 9989 (DMARCbis, final draft draft-ietf-dmarc-dmarcbis-41), which
    /// obsoletes RFC 7489 and RFC 9091.
    Rfc9989,
    /// RFC 7489 (2015, Informational).
    Rfc7489,
}

impl Mode {
    /// Stable label (`rfc9989`, `rfc7489`).
    pub fn label(self) -> &'static str {
        match self {
            Mode::Rfc9989 => "rfc9989",
            Mode::Rfc7489 => "rfc7489",
        }
    }
}

/// How much a finding matters.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The record breaks the grammar or a MUST of the mode's standard.
    Error,
    /// Legal but likely not what the publisher meant.
    Warning,
    /// Noted for the survey (an ignored tag, an obsolete construct).
    Info,
}

/// The kind of a finding; [`FindingKind::code`] is its stable label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Empty text (or whitespace only): not a DMARC record.
    EmptyRecord,
    /// The first tag is not `v` (RFC 7489 §6.3, RFC 9989 §4.7: "MUST be the first tag").
    MissingVersion,
    /// `v` is not exactly `DMARC1` (case-sensitive; RFC 9989 §4.8 `%s"DMARC1"`).
    InvalidVersion,
    /// Whitespace before `v` (outside the ABNF; tolerated as DKIM `[FWS]`).
    LeadingWhitespace,
    /// RFC 7489 §6.4: `dmarc-version dmarc-sep`: `;` must follow `v=DMARC1`.
    MissingSeparator,
    /// Nothing between two `;` (a `dmarc-tag` is required).
    EmptyTag,
    /// A segment without `=` or with a name that is not `1*ALPHA`.
    MalformedTag,
    /// An unknown tag with an empty value (`1*dmarc-value` required).
    EmptyValue,
    /// A byte outside `dmarc-value` (`%x20-3A / %x3C-7E`) in an unknown tag.
    InvalidCharacter,
    /// A tag appears twice: the whole record is invalid (RFC 6376 §3.2).
    DuplicateTag,
    /// More than [`MAX_TAGS`] segments; the rest was not examined.
    TooManyTags,
    /// No `p` tag (RFC 7489: error, §6.3; RFC 9989: treated as `p=none`, §4.7).
    MissingPolicy,
    /// `p` value not `none`/`quarantine`/`reject`.
    InvalidPolicy,
    /// `sp` value invalid.
    InvalidSubdomainPolicy,
    /// `np` value invalid.
    InvalidNonexistentPolicy,
    /// RFC 7489 §6.3: "the `v` and `p` tags MUST be present and MUST appear in that order".
    PNotSecond,
    /// `pct` not an integer 0–100 of at most 3 digits (RFC 7489 §6.3/§6.4).
    InvalidPct,
    /// `ri` not a 32-bit unsigned integer (RFC 7489 §6.3).
    InvalidRi,
    /// `rf` not a `:`-separated list of SMTP `Keyword`s (RFC 7489 §6.4).
    InvalidRf,
    /// `rf` names a format other than `afrf` (RFC 7489 §6.3: receivers SHOULD ignore it).
    UnregisteredReportFormat,
    /// `fo` value invalid for the mode's grammar.
    InvalidFo,
    /// `adkim` not `r`/`s`.
    InvalidAdkim,
    /// `aspf` not `r`/`s`.
    InvalidAspf,
    /// `psd` not `y`/`n`/`u`.
    InvalidPsd,
    /// `t` not `y`/`n`.
    InvalidT,
    /// A `rua`/`ruf` element that is not a URI (RFC 3986) with `,`/`!` encoded.
    InvalidUri,
    /// A `!size` suffix that is not `1*DIGIT [k/m/g/t]` within 64 bits (RFC 7489 §6.4).
    InvalidUriSize,
    /// More than [`MAX_URIS`] URIs in one list.
    TooManyUris,
    /// RFC 9989: a `!size` suffix, obsolete syntax that reporters ignore (§4.8).
    ObsoleteSizeLimit,
    /// RFC 9989: `pct`, `ri` or `rf`, historic tags that are ignored (§9.3).
    HistoricTag,
    /// A tag the mode does not define; ignored (RFC 7489 §6.3, RFC 9989 §4.7).
    UnknownTag,
    /// `fo` without `ruf`: "This tag's content MUST be ignored" (RFC 7489 §6.3, RFC 9989 §4.7).
    FoWithoutRuf,
}

impl FindingKind {
    /// Every kind, in declaration order (the dictionary of finding codes).
    pub const ALL: [FindingKind; 32] = {
        use FindingKind::*;
        [
            EmptyRecord,
            MissingVersion,
            InvalidVersion,
            LeadingWhitespace,
            MissingSeparator,
            EmptyTag,
            MalformedTag,
            EmptyValue,
            InvalidCharacter,
            DuplicateTag,
            TooManyTags,
            MissingPolicy,
            InvalidPolicy,
            InvalidSubdomainPolicy,
            InvalidNonexistentPolicy,
            PNotSecond,
            InvalidPct,
            InvalidRi,
            InvalidRf,
            UnregisteredReportFormat,
            InvalidFo,
            InvalidAdkim,
            InvalidAspf,
            InvalidPsd,
            InvalidT,
            InvalidUri,
            InvalidUriSize,
            TooManyUris,
            ObsoleteSizeLimit,
            HistoricTag,
            UnknownTag,
            FoWithoutRuf,
        ]
    };

    /// Stable snake_case label.
    pub fn code(self) -> &'static str {
        use FindingKind::*;
        match self {
            EmptyRecord => "empty_record",
            MissingVersion => "missing_version",
            InvalidVersion => "invalid_version",
            LeadingWhitespace => "leading_whitespace",
            MissingSeparator => "missing_separator",
            EmptyTag => "empty_tag",
            MalformedTag => "malformed_tag",
            EmptyValue => "empty_value",
            InvalidCharacter => "invalid_character",
            DuplicateTag => "duplicate_tag",
            TooManyTags => "too_many_tags",
            MissingPolicy => "missing_policy",
            InvalidPolicy => "invalid_policy",
            InvalidSubdomainPolicy => "invalid_subdomain_policy",
            InvalidNonexistentPolicy => "invalid_nonexistent_policy",
            PNotSecond => "p_not_second",
            InvalidPct => "invalid_pct",
            InvalidRi => "invalid_ri",
            InvalidRf => "invalid_rf",
            UnregisteredReportFormat => "unregistered_report_format",
            InvalidFo => "invalid_fo",
            InvalidAdkim => "invalid_adkim",
            InvalidAspf => "invalid_aspf",
            InvalidPsd => "invalid_psd",
            InvalidT => "invalid_t",
            InvalidUri => "invalid_uri",
            InvalidUriSize => "invalid_uri_size",
            TooManyUris => "too_many_uris",
            ObsoleteSizeLimit => "obsolete_size_limit",
            HistoricTag => "historic_tag",
            UnknownTag => "unknown_tag",
            FoWithoutRuf => "fo_without_ruf",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem or observation in a record, with its place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// How much it matters in the mode that judged the record.
    pub severity: Severity,
    /// Byte offset of the token in the record text.
    pub offset: usize,
    /// The offending text (truncated to a few dozen bytes, lossy UTF-8).
    pub token: String,
}

impl Finding {
    /// The stable code of the kind.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// A record that failed to parse as a usable DMARC record, as a Rust error
/// (for callers that want `Result`; the survey uses [`DmarcParse`] findings).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid DMARC record: {kind} at byte {offset}: `{token}`")]
pub struct ParseError {
    /// The first error-severity finding (or why the record is unusable).
    pub kind: FindingKind,
    /// Byte offset of the token.
    pub offset: usize,
    /// The offending text.
    pub token: String,
}

/// What a receiver does with the record under the mode's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// A usable record; its policies apply.
    Valid,
    /// Invalid `p`/`sp` (/`np`) but a valid `rua`: act as if `p=none`
    /// (RFC 7489 §6.6.3 step 6.1, RFC 9989 §4.10.1).
    TreatedAsNone,
    /// Starts with `v=DMARC1` but no DMARC processing applies (duplicate
    /// tags, or an unusable policy without a valid `rua`).
    Invalid,
    /// Not a DMARC record (`v=DMARC1` is not first): discarded during
    /// discovery (RFC 7489 §6.6.3 step 2, RFC 9989 §4.10 step 2).
    NotDmarc,
}

impl Verdict {
    /// Stable label.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::TreatedAsNone => "treated_as_none",
            Verdict::Invalid => "invalid",
            Verdict::NotDmarc => "not_dmarc",
        }
    }

    /// True for [`Verdict::Valid`] and [`Verdict::TreatedAsNone`].
    pub fn is_usable(self) -> bool {
        matches!(self, Verdict::Valid | Verdict::TreatedAsNone)
    }
}

/// The result of parsing one record text in one mode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DmarcParse {
    /// The mode that judged the record.
    pub mode: Mode,
    /// What a receiver does with it.
    pub verdict: Verdict,
    /// The parsed tags; `None` only for [`Verdict::NotDmarc`].
    pub record: Option<DmarcRecord>,
    /// Problems and observations, in record order.
    pub findings: Vec<Finding>,
}

impl DmarcParse {
    /// True when the record is usable and has no error-severity finding.
    pub fn conformant(&self) -> bool {
        self.verdict.is_usable() && !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The codes of the findings, in order.
    pub fn codes(&self) -> Vec<&'static str> {
        self.findings.iter().map(Finding::code).collect()
    }

    /// True if a finding has this code.
    pub fn has(&self, kind: FindingKind) -> bool {
        self.findings.iter().any(|f| f.kind == kind)
    }

    /// The policy a receiver applies to mail of a domain this record covers.
    ///
    /// `at_domain`: the record was published for the domain itself (then `p`
    /// applies). Otherwise the domain is a subdomain of where the record was
    /// found: RFC 7489 §6.3 `sp`, falling back to `p`; RFC 9989 §4.7/§4.10.1
    /// `sp` if the domain exists, `np` if not (`domain_exists == false`), each
    /// falling back as the text says (`np` → `sp` → `p`). RFC 7489 mode
    /// ignores `np` (an RFC 9091/9989 tag). `None` for an unusable record.
    /// `t=y` (RFC 9989) is not applied here: see [`DmarcParse::testing`].
    pub fn policy_for(&self, at_domain: bool, domain_exists: bool) -> Option<Policy> {
        match self.verdict {
            Verdict::NotDmarc | Verdict::Invalid => None,
            Verdict::TreatedAsNone => Some(Policy::None),
            Verdict::Valid => {
                let rec = self.record.as_ref()?;
                // RFC 9989 §4.7: no `p` → as if `p=none`. RFC 7489: Valid implies `p`.
                let p = rec.p.unwrap_or(Policy::None);
                if at_domain {
                    return Some(p);
                }
                Some(match self.mode {
                    Mode::Rfc9989 if !domain_exists => rec.np.or(rec.sp).unwrap_or(p),
                    Mode::Rfc9989 | Mode::Rfc7489 => rec.sp.unwrap_or(p),
                })
            }
        }
    }

    /// RFC 9989 §4.7 `t=y`: the owner asks receivers to apply one level below
    /// the stated policy ([`Policy::downgraded`]). Always false in RFC 7489
    /// mode, where `t` is an unknown tag.
    pub fn testing(&self) -> bool {
        self.mode == Mode::Rfc9989
            && self.verdict == Verdict::Valid
            && self.record.as_ref().and_then(|r| r.t) == Some(true)
    }

    /// The record if it is usable and conformant, else the first reason why not.
    pub fn into_result(self) -> Result<DmarcRecord, ParseError> {
        if self.conformant()
            && let Some(r) = self.record
        {
            return Ok(r);
        }
        let first = self
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error)
            .or_else(|| self.findings.first());
        Err(match first {
            Some(f) => ParseError {
                kind: f.kind,
                offset: f.offset,
                token: f.token.clone(),
            },
            None => ParseError {
                kind: FindingKind::EmptyRecord,
                offset: 0,
                token: String::new(),
            },
        })
    }
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims WSP on both sides, returning the new (start, end) within `text`.
fn trim_span(text: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    while start < end && text.get(start).copied().is_some_and(is_wsp) {
        start += 1;
    }
    while end > start && text.get(end - 1).copied().is_some_and(is_wsp) {
        end -= 1;
    }
    (start, end)
}

fn token(text: &[u8], start: usize, end: usize) -> String {
    let end = end.min(text.len()).min(start.saturating_add(MAX_TOKEN));
    let start = start.min(end);
    String::from_utf8_lossy(&text[start..end]).into_owned()
}

struct Ctx<'a> {
    text: &'a [u8],
    mode: Mode,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn push(&mut self, kind: FindingKind, severity: Severity, start: usize, end: usize) {
        let token = token(self.text, start, end);
        self.findings.push(Finding {
            kind,
            severity,
            offset: start,
            token,
        });
    }
}

/// Parses a record (the TXT strings already joined, RFC 7489 §6.1 / RFC 9989
/// §4.5) in `mode`. Never fails and never panics: problems are findings.
pub fn parse(text: &[u8], mode: Mode) -> DmarcParse {
    let mut cx = Ctx {
        text,
        mode,
        findings: Vec::new(),
    };
    let not_dmarc = |cx: Ctx<'_>| DmarcParse {
        mode,
        verdict: Verdict::NotDmarc,
        record: None,
        findings: cx.findings,
    };

    // Segment boundaries: (start, end) of each `;`-separated piece.
    let mut segments: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    let mut truncated = false;
    for (i, &b) in text.iter().enumerate() {
        if b == b';' {
            if segments.len() >= MAX_TAGS {
                truncated = true;
                break;
            }
            segments.push((start, i));
            start = i + 1;
        }
    }
    if !truncated {
        if segments.len() < MAX_TAGS {
            segments.push((start, text.len()));
        } else {
            // A tail after the last examined `;` is one segment too many,
            // unless it is empty (the optional trailing separator).
            let (ts, te) = trim_span(text, start, text.len());
            truncated = ts != te;
        }
    }
    let has_separator = segments.len() > 1 || truncated;

    // The version tag.
    let Some(&(s0, e0)) = segments.first() else {
        cx.push(FindingKind::EmptyRecord, Severity::Error, 0, 0);
        return not_dmarc(cx);
    };
    let (v_start, v_end) = match version_tag(text, e0, has_separator) {
        Ok(span) => span,
        Err((kind, start, end)) => {
            cx.push(kind, Severity::Error, start, end);
            return not_dmarc(cx);
        }
    };
    if v_start > s0 {
        cx.push(
            FindingKind::LeadingWhitespace,
            Severity::Warning,
            s0,
            v_start,
        );
    }
    if !has_separator && mode == Mode::Rfc7489 {
        cx.push(FindingKind::MissingSeparator, Severity::Error, v_end, v_end);
    }

    let mut rec = DmarcRecord {
        raw: String::from_utf8_lossy(text).into_owned(),
        ..DmarcRecord::default()
    };
    // Names of the tags seen so far, as spans of `text` (`v` is checked
    // apart): at most `MAX_TAGS` of them, so a linear scan is bounded and
    // cheaper than hashing an owned, lowercased copy of every name.
    let mut seen: Vec<(usize, usize)> = Vec::with_capacity(segments.len());
    let mut duplicate = false;
    let mut p_seen = false;
    let mut p_broken = false; // present but invalid, or (RFC 7489) not second
    let mut sp_broken = false;
    let mut np_broken = false;
    let mut fo_at = 0;
    // Position among the non-empty segments (`v` is 0): RFC 7489 wants `p` at 1.
    let mut tag_index = 0;
    let last = segments.len().saturating_sub(1);

    for (idx, &(s, e)) in segments.iter().enumerate().skip(1) {
        let (ts, te) = trim_span(text, s, e);
        if ts == te {
            if idx != last || truncated {
                cx.push(FindingKind::EmptyTag, Severity::Error, s, e);
            }
            continue;
        }
        tag_index += 1;
        let Some(((ns, ne), (vs, ve))) = split_tag(text, ts, te) else {
            cx.push(FindingKind::MalformedTag, Severity::Error, ts, te);
            continue;
        };
        let raw_name = &text[ns..ne];
        if raw_name.eq_ignore_ascii_case(b"v")
            || seen
                .iter()
                .any(|&(a, b)| text[a..b].eq_ignore_ascii_case(raw_name))
        {
            duplicate = true;
            cx.push(FindingKind::DuplicateTag, Severity::Error, ts, te);
            continue;
        }
        seen.push((ns, ne));
        // `split_tag` checked the name is `1*ALPHA`; the known names are at
        // most five letters, so a longer one is unknown without a copy.
        let mut lower = [0u8; 8];
        let name: &str = match lower.get_mut(..raw_name.len()) {
            Some(buf) => {
                buf.copy_from_slice(raw_name);
                buf.make_ascii_lowercase();
                std::str::from_utf8(buf).unwrap_or("")
            }
            None => "",
        };
        let raw_value = &text[vs..ve];
        let value = String::from_utf8_lossy(raw_value);
        let known_9989 = matches!(name, "np" | "psd" | "t");
        let known_7489 = matches!(name, "pct" | "ri" | "rf");
        // Severity of a value error: an error where the mode defines the tag,
        // information where the mode ignores it.
        let sev = if (known_9989 && mode == Mode::Rfc7489) || (known_7489 && mode == Mode::Rfc9989)
        {
            Severity::Info
        } else {
            Severity::Error
        };
        if known_9989 && mode == Mode::Rfc7489 {
            cx.push(FindingKind::UnknownTag, Severity::Info, ns, ne);
        }
        if known_7489 && mode == Mode::Rfc9989 {
            cx.push(FindingKind::HistoricTag, Severity::Info, ns, ne);
        }
        match name {
            "p" => {
                p_seen = true;
                match Policy::from_value(&value) {
                    Some(p) => {
                        rec.p = Some(p);
                        if mode == Mode::Rfc7489 && tag_index != 1 {
                            p_broken = true;
                            cx.push(FindingKind::PNotSecond, Severity::Error, ts, te);
                        }
                    }
                    None => {
                        p_broken = true;
                        cx.push(FindingKind::InvalidPolicy, Severity::Error, vs, ve);
                    }
                }
            }
            "sp" => match Policy::from_value(&value) {
                Some(p) => rec.sp = Some(p),
                None => {
                    sp_broken = true;
                    cx.push(FindingKind::InvalidSubdomainPolicy, Severity::Error, vs, ve);
                }
            },
            "np" => match Policy::from_value(&value) {
                Some(p) => rec.np = Some(p),
                None => {
                    np_broken = mode == Mode::Rfc9989;
                    cx.push(FindingKind::InvalidNonexistentPolicy, sev, vs, ve);
                }
            },
            "rua" | "ruf" => {
                let uris = parse_uri_list(&mut cx, vs, ve);
                if name == "rua" {
                    rec.rua = Some(uris);
                } else {
                    rec.ruf = Some(uris);
                }
            }
            "adkim" => match Alignment::from_value(&value) {
                Some(a) => rec.adkim = Some(a),
                None => cx.push(FindingKind::InvalidAdkim, sev, vs, ve),
            },
            "aspf" => match Alignment::from_value(&value) {
                Some(a) => rec.aspf = Some(a),
                None => cx.push(FindingKind::InvalidAspf, sev, vs, ve),
            },
            "fo" => match parse_fo(raw_value, mode).inspect(|_| fo_at = ns) {
                Some(fo) => rec.fo = Some(fo),
                None => cx.push(FindingKind::InvalidFo, sev, vs, ve),
            },
            "rf" => match parse_rf(raw_value) {
                Some(rf) => {
                    if rf.iter().any(|f| f != "afrf") {
                        let s = if mode == Mode::Rfc7489 {
                            Severity::Warning
                        } else {
                            Severity::Info
                        };
                        cx.push(FindingKind::UnregisteredReportFormat, s, vs, ve);
                    }
                    rec.rf = Some(rf);
                }
                None => cx.push(FindingKind::InvalidRf, sev, vs, ve),
            },
            "ri" => match parse_digits::<u32>(raw_value, usize::MAX) {
                Some(ri) => rec.ri = Some(ri),
                None => cx.push(FindingKind::InvalidRi, sev, vs, ve),
            },
            "pct" => match parse_digits::<u8>(raw_value, 3).filter(|p| *p <= 100) {
                Some(pct) => rec.pct = Some(pct),
                None => cx.push(FindingKind::InvalidPct, sev, vs, ve),
            },
            "psd" => match PsdFlag::from_value(&value) {
                Some(f) => rec.psd = Some(f),
                None => cx.push(FindingKind::InvalidPsd, sev, vs, ve),
            },
            "t" => match &*value {
                "y" | "Y" => rec.t = Some(true),
                "n" | "N" => rec.t = Some(false),
                _ => cx.push(FindingKind::InvalidT, sev, vs, ve),
            },
            _ => {
                cx.push(FindingKind::UnknownTag, Severity::Info, ns, ne);
                if raw_value.is_empty() {
                    cx.push(FindingKind::EmptyValue, Severity::Error, ts, te);
                } else if let Some(bad) =
                    raw_value.iter().position(|&b| !(0x20..=0x7e).contains(&b))
                {
                    cx.push(
                        FindingKind::InvalidCharacter,
                        Severity::Error,
                        vs + bad,
                        vs + bad + 1,
                    );
                }
                rec.unknown.push(Tag {
                    name: String::from_utf8_lossy(raw_name).to_ascii_lowercase(),
                    value: value.into_owned(),
                });
            }
        }
    }
    if truncated {
        let at = segments.last().map_or(0, |s| s.1);
        cx.push(FindingKind::TooManyTags, Severity::Error, at, text.len());
    }
    if rec.fo.is_some() && rec.ruf.is_none() {
        cx.push(FindingKind::FoWithoutRuf, Severity::Info, fo_at, fo_at + 2);
    }
    if !p_seen {
        let sev = match mode {
            Mode::Rfc7489 => Severity::Error,
            Mode::Rfc9989 => Severity::Warning,
        };
        cx.push(FindingKind::MissingPolicy, sev, v_end, v_end);
    }

    let rua_ok = rec.rua.as_ref().is_some_and(|v| !v.is_empty());
    let policy_broken = match mode {
        Mode::Rfc7489 => !p_seen || p_broken || sp_broken,
        Mode::Rfc9989 => p_broken || sp_broken || np_broken,
    };
    let verdict = if duplicate {
        Verdict::Invalid
    } else if policy_broken {
        if rua_ok {
            Verdict::TreatedAsNone
        } else {
            Verdict::Invalid
        }
    } else {
        Verdict::Valid
    };
    DmarcParse {
        mode,
        verdict,
        record: Some(rec),
        findings: cx.findings,
    }
}

/// Splits a trimmed segment into (name span, value span), both trimmed.
/// `None` if there is no `=` or the name is not `1*ALPHA`.
#[allow(clippy::type_complexity)]
fn split_tag(text: &[u8], start: usize, end: usize) -> Option<((usize, usize), (usize, usize))> {
    let eq = start + text.get(start..end)?.iter().position(|&b| b == b'=')?;
    let (ns, ne) = trim_span(text, start, eq);
    if ns == ne || !text[ns..ne].iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let (vs, ve) = trim_span(text, eq + 1, end);
    Some(((ns, ne), (vs, ve)))
}

/// `1*DIGIT` with at most `max_digits` digits, parsed into `T` (overflow → `None`).
fn parse_digits<T: std::str::FromStr>(value: &[u8], max_digits: usize) -> Option<T> {
    if value.is_empty() || value.len() > max_digits || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Splits on `:`; with `wsp`, WSP around each item is allowed.
fn colon_items(value: &[u8], wsp: bool) -> Vec<&[u8]> {
    value
        .split(|&b| b == b':')
        .map(|item| {
            if wsp {
                let (s, e) = trim_span(item, 0, item.len());
                &item[s..e]
            } else {
                item
            }
        })
        .collect()
}

/// `fo`. RFC 7489 §6.4: `("0"/"1"/"d"/"s") *(*WSP ":" *WSP ("0"/"1"/"d"/"s"))`.
/// RFC 9989 §4.8 `dmarc-fo`: no WSP; "0" and "1" are mutually exclusive and
/// `d`/`s` "may appear at most once".
fn parse_fo(value: &[u8], mode: Mode) -> Option<Vec<FailureOption>> {
    if value.len() > 64 {
        return None;
    }
    let mut out = Vec::new();
    for item in colon_items(value, mode == Mode::Rfc7489) {
        let opt = FailureOption::from_value(std::str::from_utf8(item).ok()?)?;
        out.push(opt);
    }
    if mode == Mode::Rfc9989 {
        let digits = out
            .iter()
            .filter(|o| matches!(o, FailureOption::All | FailureOption::Any))
            .count();
        let d = out.iter().filter(|o| **o == FailureOption::Dkim).count();
        let s = out.iter().filter(|o| **o == FailureOption::Spf).count();
        if digits > 1 || d > 1 || s > 1 {
            return None;
        }
    }
    Some(out)
}

/// `rf`. RFC 7489 §6.4: `Keyword *(*WSP ":" Keyword)`, Keyword from RFC 5321
/// §4.1.2 (`Ldh-str`: letters, digits and inner hyphens). WSP is tolerated on
/// both sides of `:`. Returned lowercase.
fn parse_rf(value: &[u8]) -> Option<Vec<String>> {
    if value.len() > 256 {
        return None;
    }
    let mut out = Vec::new();
    for item in colon_items(value, true) {
        let first = *item.first()?;
        let lastb = *item.last()?;
        if !first.is_ascii_alphanumeric()
            || !lastb.is_ascii_alphanumeric()
            || !item.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        {
            return None;
        }
        out.push(String::from_utf8_lossy(item).to_ascii_lowercase());
    }
    Some(out)
}

/// Parses a `rua`/`ruf` value: URIs separated by `*WSP "," *WSP`. Invalid
/// elements become findings and are dropped; valid ones are returned.
fn parse_uri_list(cx: &mut Ctx<'_>, vs: usize, ve: usize) -> Vec<ReportUri> {
    let mut out = Vec::new();
    let text = cx.text;
    let mut start = vs;
    let mut pos = vs;
    let mut count = 0;
    while pos <= ve {
        if pos == ve || text.get(pos) == Some(&b',') {
            count += 1;
            if count > MAX_URIS {
                cx.push(FindingKind::TooManyUris, Severity::Warning, start, ve);
                break;
            }
            let (s, e) = trim_span(text, start, pos);
            match parse_report_uri(&text[s..e]) {
                Ok(u) => {
                    if u.size.is_some() && cx.mode == Mode::Rfc9989 {
                        cx.push(FindingKind::ObsoleteSizeLimit, Severity::Info, s, e);
                    }
                    out.push(u);
                }
                Err(kind) => cx.push(kind, Severity::Error, s, e),
            }
            start = pos + 1;
        }
        pos += 1;
    }
    out
}

/// Parses one `dmarc-uri` (RFC 7489 §6.4) / `dmarc-uri`/`obs-dmarc-uri`
/// (RFC 9989 §4.8): a URI in which `,` and `!` are percent-encoded, then an
/// optional `"!" 1*DIGIT [ "k" / "m" / "g" / "t" ]`.
pub fn parse_report_uri(element: &[u8]) -> Result<ReportUri, FindingKind> {
    let (uri, size) = match element.iter().position(|&b| b == b'!') {
        Some(i) => (&element[..i], Some(&element[i + 1..])),
        None => (element, None),
    };
    if !is_valid_uri(uri) {
        return Err(FindingKind::InvalidUri);
    }
    let size = match size {
        None => None,
        Some(s) => Some(parse_size(s).ok_or(FindingKind::InvalidUriSize)?),
    };
    Ok(ReportUri {
        uri: String::from_utf8_lossy(uri).into_owned(),
        size,
    })
}

fn parse_size(s: &[u8]) -> Option<SizeLimit> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = &s[digits..];
    let unit = match rest {
        [] => None,
        [u] => Some(SizeUnit::from_byte(*u)?),
        _ => return None,
    };
    let value = parse_digits::<u64>(&s[..digits], 20)?;
    Some(SizeLimit { value, unit })
}

/// A syntactic check of an RFC 3986 URI as DMARC uses it: a scheme
/// (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`), `:`, then a non-empty rest
/// of URI characters (unreserved, reserved except `,` `!` `;`, and `%HH`
/// escapes). A `mailto:` URI must name an address with `@` and a domain
/// (RFC 6068 `addr-spec`).
pub fn is_valid_uri(uri: &[u8]) -> bool {
    let Some(colon) = uri.iter().position(|&b| b == b':') else {
        return false;
    };
    let (scheme, rest) = (&uri[..colon], &uri[colon + 1..]);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok || rest.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < rest.len() {
        let b = rest[i];
        if b == b'%' {
            let ok = rest.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && rest.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
            if !ok {
                return false;
            }
            i += 3;
            continue;
        }
        let allowed = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b':'
                    | b'/'
                    | b'?'
                    | b'#'
                    | b'['
                    | b']'
                    | b'@'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b'='
            );
        if !allowed {
            return false;
        }
        i += 1;
    }
    if scheme.eq_ignore_ascii_case(b"mailto") {
        let to = rest.split(|&b| b == b'?').next().unwrap_or_default();
        return match to.iter().rposition(|&b| b == b'@') {
            Some(at) => at > 0 && at + 1 < to.len(),
            None => false,
        };
    }
    true
}

/// One aspect on which the two standards judge a record differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// [`Verdict`] differs.
    Verdict,
    /// The policy for the domain itself (`p`, or its substitute) differs.
    Policy,
    /// The policy for an existing subdomain differs.
    SubdomainPolicy,
    /// The policy for a non-existent subdomain differs.
    NonexistentPolicy,
    /// One mode finds the record conformant and the other does not.
    Conformance,
}

impl Aspect {
    /// Stable label.
    pub fn label(self) -> &'static str {
        match self {
            Aspect::Verdict => "verdict",
            Aspect::Policy => "policy",
            Aspect::SubdomainPolicy => "subdomain_policy",
            Aspect::NonexistentPolicy => "nonexistent_policy",
            Aspect::Conformance => "conformance",
        }
    }
}

/// A disagreement: the aspect and each standard's value as a label.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Disagreement {
    /// What differs.
    pub aspect: Aspect,
    /// RFC 9989's value (`valid`, `reject`, `null`, `true`, …).
    pub rfc9989: String,
    /// RFC 7489's value.
    pub rfc7489: String,
}

/// A record judged by both standards, side by side.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DmarcComparison {
    /// The RFC 9989 judgement.
    pub rfc9989: DmarcParse,
    /// The RFC 7489 judgement.
    pub rfc7489: DmarcParse,
    /// Where they differ (empty when they agree).
    pub disagreements: Vec<Disagreement>,
}

fn policy_label(p: Option<Policy>) -> String {
    p.map_or_else(|| "null".to_string(), |p| p.label().to_string())
}

/// Parses `text` in both modes and lists where the verdicts, policies and
/// conformance differ.
pub fn parse_both(text: &[u8]) -> DmarcComparison {
    let new = parse(text, Mode::Rfc9989);
    let old = parse(text, Mode::Rfc7489);
    let mut disagreements = Vec::new();
    let mut add = |aspect, a: String, b: String| {
        if a != b {
            disagreements.push(Disagreement {
                aspect,
                rfc9989: a,
                rfc7489: b,
            });
        }
    };
    add(
        Aspect::Verdict,
        new.verdict.label().to_string(),
        old.verdict.label().to_string(),
    );
    add(
        Aspect::Policy,
        policy_label(new.policy_for(true, true)),
        policy_label(old.policy_for(true, true)),
    );
    add(
        Aspect::SubdomainPolicy,
        policy_label(new.policy_for(false, true)),
        policy_label(old.policy_for(false, true)),
    );
    add(
        Aspect::NonexistentPolicy,
        policy_label(new.policy_for(false, false)),
        policy_label(old.policy_for(false, false)),
    );
    add(
        Aspect::Conformance,
        new.conformant().to_string(),
        old.conformant().to_string(),
    );
    DmarcComparison {
        rfc9989: new,
        rfc7489: old,
        disagreements,
    }
}

/// True if the text starts with a `v=DMARC1` tag: the filter of RFC 7489
/// §6.6.3 step 2 and RFC 9989 §4.10 step 2 ("Records that do not start with a
/// `v` tag that identifies the current version of DMARC are discarded").
///
/// Only the first `;`-separated segment is read (no allocation): it decides
/// exactly when [`parse`] answers [`Verdict::NotDmarc`] (both share
/// [`version_tag`]).
pub fn is_dmarc_record(text: &[u8]) -> bool {
    let first_end = text.iter().position(|&b| b == b';');
    version_tag(text, first_end.unwrap_or(text.len()), first_end.is_some()).is_ok()
}

/// The version tag, which must open the record (RFC 7489 §6.4 and RFC 9989
/// §4.8, `dmarc-version`: `v=DMARC1`, the value case-sensitive) in the
/// first segment `text[..first_end]`; `has_separator`: the record has a `;`.
/// Returns the trimmed span of the tag, or the finding that makes the text
/// not a DMARC record, with its span.
fn version_tag(
    text: &[u8],
    first_end: usize,
    has_separator: bool,
) -> Result<(usize, usize), (FindingKind, usize, usize)> {
    let (v_start, v_end) = trim_span(text, 0, first_end);
    if v_start == v_end && !has_separator {
        return Err((FindingKind::EmptyRecord, 0, text.len()));
    }
    let Some((vname, vvalue)) = split_tag(text, v_start, v_end) else {
        return Err((FindingKind::MissingVersion, v_start, v_end));
    };
    if !text[vname.0..vname.1].eq_ignore_ascii_case(b"v") {
        return Err((FindingKind::MissingVersion, v_start, v_end));
    }
    if &text[vvalue.0..vvalue.1] != b"DMARC1" {
        return Err((FindingKind::InvalidVersion, vvalue.0, vvalue.1));
    }
    Ok((v_start, v_end))
}
