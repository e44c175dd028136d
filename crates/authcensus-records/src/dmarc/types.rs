//! Typed values of a DMARC Policy Record.
//!
//! The types mirror the value rules of the two grammars: RFC 7489 §6.4 and
//! RFC 9989 (draft-ietf-dmarc-dmarcbis-41) §4.8. A [`DmarcRecord`] holds the
//! union of both tag sets; which tags *count* depends on the
//! [`Mode`](super::Mode) the record is judged in (see [`parse()`](super::parse())).

use std::fmt;

/// A requested handling policy: the `p`, `sp` and `np` values.
///
/// RFC 7489 §6.4 `dmarc-request`, RFC 9989 §4.8
/// `dmarc-request = "none" / "quarantine" / "reject"`. ABNF quoted strings
/// are case-insensitive (RFC 5234 §2.3), so `P=Reject` is valid.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// `none`: no expression of preference (monitoring mode).
    None,
    /// `quarantine`: treat failing mail as suspicious.
    Quarantine,
    /// `reject`: reject failing mail.
    Reject,
}

impl Policy {
    /// Parses a policy value (case-insensitive).
    pub fn from_value(value: &str) -> Option<Self> {
        if value.eq_ignore_ascii_case("none") {
            Some(Policy::None)
        } else if value.eq_ignore_ascii_case("quarantine") {
            Some(Policy::Quarantine)
        } else if value.eq_ignore_ascii_case("reject") {
            Some(Policy::Reject)
        } else {
            None
        }
    }

    /// Stable label (`none`, `quarantine`, `reject`), also the record syntax.
    pub fn label(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }

    /// The policy one level below, as RFC 9989 §4.7 (`t=y`) asks receivers to
    /// apply in test mode: `reject` → `quarantine`, `quarantine` → `none`.
    pub fn downgraded(self) -> Self {
        match self {
            Policy::Reject => Policy::Quarantine,
            Policy::Quarantine | Policy::None => Policy::None,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Identifier alignment mode: the `adkim` and `aspf` values.
///
/// RFC 7489 §6.3 (`r`/`s`, default `r`), RFC 9989 §4.8 `dmarc-rors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alignment {
    /// `r`: organizational domains must match.
    Relaxed,
    /// `s`: domains must be identical.
    Strict,
}

impl Alignment {
    /// Parses `r` or `s` (case-insensitive).
    pub fn from_value(value: &str) -> Option<Self> {
        match value {
            "r" | "R" => Some(Alignment::Relaxed),
            "s" | "S" => Some(Alignment::Strict),
            _ => None,
        }
    }

    /// Record syntax (`r`, `s`).
    pub fn as_str(self) -> &'static str {
        match self {
            Alignment::Relaxed => "r",
            Alignment::Strict => "s",
        }
    }
}

impl fmt::Display for Alignment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failure-reporting option of the `fo` tag.
///
/// RFC 7489 §6.3 and RFC 9989 §4.7: `0`, `1`, `d`, `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureOption {
    /// `0`: report if all mechanisms fail to produce an aligned pass.
    All,
    /// `1`: report if any mechanism fails to produce an aligned pass.
    Any,
    /// `d`: report DKIM signature failures.
    Dkim,
    /// `s`: report SPF failures.
    Spf,
}

impl FailureOption {
    /// Parses one option character (case-insensitive).
    pub fn from_value(value: &str) -> Option<Self> {
        match value {
            "0" => Some(FailureOption::All),
            "1" => Some(FailureOption::Any),
            "d" | "D" => Some(FailureOption::Dkim),
            "s" | "S" => Some(FailureOption::Spf),
            _ => None,
        }
    }

    /// Record syntax.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureOption::All => "0",
            FailureOption::Any => "1",
            FailureOption::Dkim => "d",
            FailureOption::Spf => "s",
        }
    }
}

/// The `psd` flag of RFC 9989 §4.7 (`dmarc-psd = "y" / "n" / "u"`, default `u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PsdFlag {
    /// `y`: the domain is a Public Suffix Domain.
    Yes,
    /// `n`: not a PSD, and the Organizational Domain for itself and below.
    No,
    /// `u`: not a PSD; the tree walk decides the Organizational Domain.
    Unknown,
}

impl PsdFlag {
    /// Parses `y`, `n` or `u` (case-insensitive).
    pub fn from_value(value: &str) -> Option<Self> {
        match value {
            "y" | "Y" => Some(PsdFlag::Yes),
            "n" | "N" => Some(PsdFlag::No),
            "u" | "U" => Some(PsdFlag::Unknown),
            _ => None,
        }
    }

    /// Record syntax.
    pub fn as_str(self) -> &'static str {
        match self {
            PsdFlag::Yes => "y",
            PsdFlag::No => "n",
            PsdFlag::Unknown => "u",
        }
    }
}

/// Unit of a report size limit: RFC 7489 §6.4, "the units are considered to be
/// powers of two; a kilobyte is 2^10, a megabyte is 2^20, etc."
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeUnit {
    /// `k`: 2^10 bytes.
    Kilo,
    /// `m`: 2^20 bytes.
    Mega,
    /// `g`: 2^30 bytes.
    Giga,
    /// `t`: 2^40 bytes.
    Tera,
}

impl SizeUnit {
    /// Parses a unit letter (case-insensitive: ABNF quoted strings).
    pub fn from_byte(b: u8) -> Option<Self> {
        match b.to_ascii_lowercase() {
            b'k' => Some(SizeUnit::Kilo),
            b'm' => Some(SizeUnit::Mega),
            b'g' => Some(SizeUnit::Giga),
            b't' => Some(SizeUnit::Tera),
            _ => None,
        }
    }

    /// Record syntax (lowercase).
    pub fn as_str(self) -> &'static str {
        match self {
            SizeUnit::Kilo => "k",
            SizeUnit::Mega => "m",
            SizeUnit::Giga => "g",
            SizeUnit::Tera => "t",
        }
    }

    fn shift(self) -> u32 {
        match self {
            SizeUnit::Kilo => 10,
            SizeUnit::Mega => 20,
            SizeUnit::Giga => 30,
            SizeUnit::Tera => 40,
        }
    }
}

/// A maximum report size appended to a reporting URI (`!50m`).
///
/// RFC 7489 §6.2 and §6.4: `"!" 1*DIGIT [ "k" / "m" / "g" / "t" ]`, "the
/// numeric portion MUST fit within an unsigned 64-bit integer". RFC 9989 §4.8
/// keeps the syntax as `obs-dmarc-report-size`, which reporters should ignore
/// (Appendix C.4: the size limit was removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SizeLimit {
    /// The count of units.
    pub value: u64,
    /// The unit; bytes when absent.
    pub unit: Option<SizeUnit>,
}

impl SizeLimit {
    /// The limit in bytes, or `None` when it overflows 64 bits.
    pub fn bytes(self) -> Option<u64> {
        match self.unit {
            None => Some(self.value),
            Some(u) => self.value.checked_mul(1u64 << u.shift()),
        }
    }
}

impl fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)?;
        if let Some(u) = self.unit {
            f.write_str(u.as_str())?;
        }
        Ok(())
    }
}

/// One reporting URI of `rua`/`ruf`, with its optional size limit.
///
/// RFC 7489 §6.2/§6.4 `dmarc-uri`: a URI (RFC 3986) in which commas and
/// exclamation points are percent-encoded, then an optional `!size`.
/// RFC 9989 §4.6/§4.8: `dmarc-uri` / `obs-dmarc-uri`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ReportUri {
    /// The URI as written (without the size suffix).
    pub uri: String,
    /// The size limit after `!`, if any.
    pub size: Option<SizeLimit>,
}

impl ReportUri {
    /// The scheme, lowercase (`mailto`, `https`, …).
    pub fn scheme(&self) -> String {
        self.uri
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default()
    }
}

impl fmt::Display for ReportUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)?;
        if let Some(s) = self.size {
            write!(f, "!{s}")?;
        }
        Ok(())
    }
}

/// A tag kept as data: name (lowercased) and value (as written, trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Tag {
    /// Tag name, lowercase.
    pub name: String,
    /// Tag value with surrounding whitespace removed (invalid UTF-8 replaced).
    pub value: String,
}

/// A parsed DMARC Policy Record: the union of the RFC 7489 and RFC 9989 tags.
///
/// Each typed field is `Some` only when the tag is present *and* its value is
/// valid under the tag's grammar (`rua`/`ruf` are `Some` when the tag is
/// present, holding the URIs that are valid). Invalid values are reported as
/// findings by [`parse()`](super::parse()) and leave the field `None`, which means the
/// default applies (RFC 7489 §6.3, RFC 9989 §4.8: "Syntax errors in the
/// remainder of the record MUST be discarded in favor of default values").
///
/// `pct`, `ri` and `rf` are RFC 7489 tags made historic by RFC 9989 §9.3 (and
/// removed, Appendix C.5.2); `np`, `psd` and `t` are RFC 9989 tags (C.5.1)
/// unknown to RFC 7489. All are recorded whichever mode judged the record.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DmarcRecord {
    /// The record text (TXT strings joined; invalid UTF-8 replaced by U+FFFD).
    pub raw: String,
    /// `p`: policy for the domain (and subdomains without `sp`/`np`).
    pub p: Option<Policy>,
    /// `sp`: policy for existing subdomains.
    pub sp: Option<Policy>,
    /// `np`: policy for non-existent subdomains (RFC 9989 §4.7, from RFC 9091).
    pub np: Option<Policy>,
    /// `rua`: aggregate report URIs.
    pub rua: Option<Vec<ReportUri>>,
    /// `ruf`: failure report URIs.
    pub ruf: Option<Vec<ReportUri>>,
    /// `adkim`: DKIM alignment mode (default relaxed).
    pub adkim: Option<Alignment>,
    /// `aspf`: SPF alignment mode (default relaxed).
    pub aspf: Option<Alignment>,
    /// `fo`: failure reporting options (default `0`).
    pub fo: Option<Vec<FailureOption>>,
    /// `rf`: failure report formats, lowercase (RFC 7489 only; default `afrf`).
    pub rf: Option<Vec<String>>,
    /// `ri`: aggregate report interval in seconds (RFC 7489 only; default 86400).
    pub ri: Option<u32>,
    /// `pct`: sampling percentage 0–100 (RFC 7489 only; default 100).
    pub pct: Option<u8>,
    /// `psd`: public suffix domain flag (RFC 9989 only; default `u`).
    pub psd: Option<PsdFlag>,
    /// `t`: test mode, `true` for `t=y` (RFC 9989 only; default `n`).
    pub t: Option<bool>,
    /// Tags known to neither standard, in record order.
    pub unknown: Vec<Tag>,
}

impl DmarcRecord {
    /// True when no tag besides `v` is set (what `Display` writes as `v=DMARC1;`).
    fn is_bare(&self) -> bool {
        let Self {
            raw: _,
            p,
            sp,
            np,
            rua,
            ruf,
            adkim,
            aspf,
            fo,
            rf,
            ri,
            pct,
            psd,
            t,
            unknown,
        } = self;
        p.is_none()
            && sp.is_none()
            && np.is_none()
            && rua.is_none()
            && ruf.is_none()
            && adkim.is_none()
            && aspf.is_none()
            && fo.is_none()
            && rf.is_none()
            && ri.is_none()
            && pct.is_none()
            && psd.is_none()
            && t.is_none()
            && unknown.is_empty()
    }

    /// `adkim` with its default applied (RFC 7489 §6.3, RFC 9989 §4.7: `r`).
    pub fn adkim_or_default(&self) -> Alignment {
        self.adkim.unwrap_or(Alignment::Relaxed)
    }

    /// `aspf` with its default applied (`r`).
    pub fn aspf_or_default(&self) -> Alignment {
        self.aspf.unwrap_or(Alignment::Relaxed)
    }

    /// `pct` with its RFC 7489 §6.3 default (100).
    pub fn pct_or_default(&self) -> u8 {
        self.pct.unwrap_or(100)
    }

    /// `ri` with its RFC 7489 §6.3 default (86400 seconds).
    pub fn ri_or_default(&self) -> u32 {
        self.ri.unwrap_or(86_400)
    }
}

fn write_uris(f: &mut fmt::Formatter<'_>, tag: &str, uris: &[ReportUri]) -> fmt::Result {
    write!(f, "; {tag}=")?;
    for (i, u) in uris.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{u}")?;
    }
    Ok(())
}

/// Renders the record in canonical form: `v=DMARC1` first, then `p`, then the
/// other known tags in a fixed order, then unknown tags, separated by `"; "`.
/// A record without any tag renders as `v=DMARC1;`.
/// The rendering of a record built from valid values parses back to the same
/// fields (the `raw` text aside). It is not the original text: use
/// [`DmarcRecord::raw`] for that.
impl fmt::Display for DmarcRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=DMARC1")?;
        if let Some(p) = self.p {
            write!(f, "; p={p}")?;
        }
        if let Some(sp) = self.sp {
            write!(f, "; sp={sp}")?;
        }
        if let Some(np) = self.np {
            write!(f, "; np={np}")?;
        }
        if let Some(rua) = &self.rua {
            write_uris(f, "rua", rua)?;
        }
        if let Some(ruf) = &self.ruf {
            write_uris(f, "ruf", ruf)?;
        }
        if let Some(a) = self.adkim {
            write!(f, "; adkim={a}")?;
        }
        if let Some(a) = self.aspf {
            write!(f, "; aspf={a}")?;
        }
        if let Some(fo) = &self.fo {
            let v: Vec<&str> = fo.iter().map(|o| o.as_str()).collect();
            write!(f, "; fo={}", v.join(":"))?;
        }
        if let Some(rf) = &self.rf {
            write!(f, "; rf={}", rf.join(":"))?;
        }
        if let Some(ri) = self.ri {
            write!(f, "; ri={ri}")?;
        }
        if let Some(pct) = self.pct {
            write!(f, "; pct={pct}")?;
        }
        if let Some(psd) = self.psd {
            write!(f, "; psd={}", psd.as_str())?;
        }
        if let Some(t) = self.t {
            write!(f, "; t={}", if t { "y" } else { "n" })?;
        }
        for tag in &self.unknown {
            write!(f, "; {}={}", tag.name, tag.value)?;
        }
        if self.is_bare() {
            // RFC 7489 §6.4 requires `dmarc-sep` after the version even when
            // no tag follows; RFC 9989 §4.8 allows a trailing separator. So a
            // record without tags renders as `v=DMARC1;`, valid under both.
            f.write_str(";")?;
        }
        Ok(())
    }
}
