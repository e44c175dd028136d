//! Parsing SPF records (RFC 7208 §4.5, §4.6.1, §5, §6, §7.1) and selecting
//! the SPF record among a name's TXT records (§4.5, §3.3).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::types::{
    Directive, DomainSpec, DualCidr, MacroExpand, MacroLetter, MacroString, MacroToken, Mechanism,
    Modifier, Qualifier, Record, Term,
};
use crate::dns::TxtRecord;

/// Most terms one record may hold before parsing stops (a work bound: a TXT
/// RRset is at most 64 KiB, so a hostile record could otherwise carry tens of
/// thousands of terms).
pub const MAX_TERMS: usize = 1024;

/// Most digits accepted in a macro transformer before it is a syntax error
/// (RFC 7208 §7.3 requires support up to 127; larger values mean "all parts").
const MAX_TRANSFORMER_DIGITS: usize = 9;

/// What is wrong with a record. Each kind has a stable snake_case [`code`](SpfParseErrorKind::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpfParseErrorKind {
    /// The record does not start with `v=spf1` followed by a space or the end (§4.5).
    InvalidVersion,
    /// A byte outside the record alphabet (control character, non-ASCII,
    /// or a character the grammar does not allow here) (§3.1, §4.6.1).
    InvalidCharacter,
    /// A term that is neither a known mechanism nor a `name=` modifier (§4.6.1).
    UnknownMechanism,
    /// A qualifier in front of a modifier (`?redirect=x`) (§4.6.1).
    QualifiedModifier,
    /// `include`/`exists` without `:domain-spec`, or an empty `:`/`=` argument.
    MissingArgument,
    /// An argument where the mechanism takes none (`all:x`, `all/24`) (§5.1).
    UnexpectedArgument,
    /// A domain-spec that does not end in `.toplabel` or a macro (§7.1).
    InvalidDomainSpec,
    /// A `%` not followed by `{`, `%`, `_` or `-`, or an unterminated `%{` (§7.3).
    InvalidMacro,
    /// An unknown macro letter, or `c`/`r`/`t` outside `exp` text (§7.1, §7.2).
    InvalidMacroLetter,
    /// A macro transformer digit of zero (§7.3: "the value MUST be nonzero").
    InvalidMacroTransformer,
    /// A malformed `ip4` network (§5.6).
    InvalidIp4,
    /// A malformed `ip6` network (§5.6).
    InvalidIp6,
    /// A CIDR length out of range (ip4 0-32, ip6 0-128) or with a leading zero (§5.6).
    InvalidCidr,
    /// `redirect=` given twice (§6).
    DuplicateRedirect,
    /// `exp=` given twice (§6).
    DuplicateExp,
    /// A modifier name that breaks `name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )`.
    InvalidModifierName,
    /// More than [`MAX_TERMS`] terms (work bound).
    TooManyTerms,
}

impl SpfParseErrorKind {
    /// Stable snake_case label.
    pub fn code(self) -> &'static str {
        match self {
            SpfParseErrorKind::InvalidVersion => "invalid_version",
            SpfParseErrorKind::InvalidCharacter => "invalid_character",
            SpfParseErrorKind::UnknownMechanism => "unknown_mechanism",
            SpfParseErrorKind::QualifiedModifier => "qualified_modifier",
            SpfParseErrorKind::MissingArgument => "missing_argument",
            SpfParseErrorKind::UnexpectedArgument => "unexpected_argument",
            SpfParseErrorKind::InvalidDomainSpec => "invalid_domain_spec",
            SpfParseErrorKind::InvalidMacro => "invalid_macro",
            SpfParseErrorKind::InvalidMacroLetter => "invalid_macro_letter",
            SpfParseErrorKind::InvalidMacroTransformer => "invalid_macro_transformer",
            SpfParseErrorKind::InvalidIp4 => "invalid_ip4",
            SpfParseErrorKind::InvalidIp6 => "invalid_ip6",
            SpfParseErrorKind::InvalidCidr => "invalid_cidr",
            SpfParseErrorKind::DuplicateRedirect => "duplicate_redirect",
            SpfParseErrorKind::DuplicateExp => "duplicate_exp",
            SpfParseErrorKind::InvalidModifierName => "invalid_modifier_name",
            SpfParseErrorKind::TooManyTerms => "too_many_terms",
        }
    }
}

/// A syntax error in an SPF record: what, where (byte offset into the
/// record), and the offending term (lossy UTF-8).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SPF syntax error ({}) at byte {offset}: {token:?}", kind.code())]
pub struct SpfParseError {
    /// What is wrong.
    pub kind: SpfParseErrorKind,
    /// Byte offset of the offending term (or character) in the record.
    pub offset: usize,
    /// The offending term, lossy UTF-8, at most 64 characters.
    pub token: String,
}

impl SpfParseError {
    fn new(kind: SpfParseErrorKind, offset: usize, token: &[u8]) -> Self {
        let mut token = String::from_utf8_lossy(&token[..token.len().min(64)]).into_owned();
        token.shrink_to_fit();
        SpfParseError {
            kind,
            offset,
            token,
        }
    }

    /// The kind's stable snake_case label.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

/// True if `text` starts with the version section `v=spf1` (any case)
/// followed by a space or the end (RFC 7208 §4.5).
pub fn is_spf_record(text: &[u8]) -> bool {
    text.len() >= 6
        && text[..6].eq_ignore_ascii_case(b"v=spf1")
        && (text.len() == 6 || text[6] == b' ')
}

/// Parses one SPF record (the TXT strings already joined, RFC 7208 §3.3).
///
/// Rules: version exactly `v=spf1` (case-insensitive) then a space or the
/// end; terms separated by one or more spaces, trailing spaces allowed
/// (§4.5 `record = version terms *SP`); only visible ASCII (§3.1); mechanism
/// and modifier names case-insensitive (§4.6.1); unknown mechanisms are a
/// syntax error; unknown modifiers are kept (§6); `redirect` and `exp` at
/// most once each (§6); CIDR lengths in range without leading zeros (§5.6).
pub fn parse_record(text: &[u8]) -> Result<Record, SpfParseError> {
    if !is_spf_record(text) {
        let end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
        return Err(SpfParseError::new(
            SpfParseErrorKind::InvalidVersion,
            0,
            &text[..end],
        ));
    }
    let mut record = Record::default();
    let mut seen_redirect = false;
    let mut seen_exp = false;
    let mut pos = 6;
    while pos < text.len() {
        if text[pos] == b' ' {
            pos += 1;
            continue;
        }
        let end = text[pos..]
            .iter()
            .position(|&b| b == b' ')
            .map_or(text.len(), |p| pos + p);
        let token = &text[pos..end];
        if record.terms.len() >= MAX_TERMS {
            return Err(SpfParseError::new(
                SpfParseErrorKind::TooManyTerms,
                pos,
                token,
            ));
        }
        let term = parse_term(token, pos)?;
        match &term {
            Term::Modifier(Modifier::Redirect(_)) => {
                if seen_redirect {
                    return Err(SpfParseError::new(
                        SpfParseErrorKind::DuplicateRedirect,
                        pos,
                        token,
                    ));
                }
                seen_redirect = true;
            }
            Term::Modifier(Modifier::Exp(_)) => {
                if seen_exp {
                    return Err(SpfParseError::new(
                        SpfParseErrorKind::DuplicateExp,
                        pos,
                        token,
                    ));
                }
                seen_exp = true;
            }
            _ => {}
        }
        record.terms.push(term);
        pos = end;
    }
    Ok(record)
}

/// Parses a record given as text (convenience over [`parse_record`]).
pub fn parse_record_str(text: &str) -> Result<Record, SpfParseError> {
    parse_record(text.as_bytes())
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

fn parse_term(token: &[u8], offset: usize) -> Result<Term, SpfParseError> {
    let err = |kind| SpfParseError::new(kind, offset, token);
    // Every byte must be visible ASCII (§3.1, §4.6.1: terms are separated by SP only).
    if let Some(i) = token.iter().position(|&b| !(0x21..=0x7e).contains(&b)) {
        return Err(SpfParseError::new(
            SpfParseErrorKind::InvalidCharacter,
            offset + i,
            token,
        ));
    }
    let (qualifier, body, body_off) = match Qualifier::from_symbol(token[0]) {
        Some(q) => (Some(q), &token[1..], 1),
        None => (None, token, 0),
    };
    let name_len = body.iter().take_while(|&&b| is_name_char(b)).count();
    let name = &body[..name_len];
    let rest = &body[name_len..];
    if rest.first() == Some(&b'=') {
        if qualifier.is_some() {
            return Err(err(SpfParseErrorKind::QualifiedModifier));
        }
        if name.is_empty() || !name[0].is_ascii_alphabetic() {
            return Err(err(SpfParseErrorKind::InvalidModifierName));
        }
        let value = &rest[1..];
        let value_off = offset + body_off + name_len + 1;
        let name_str = String::from_utf8_lossy(name).into_owned();
        let modifier = if name.eq_ignore_ascii_case(b"redirect") {
            Modifier::Redirect(parse_domain_spec(value, value_off)?)
        } else if name.eq_ignore_ascii_case(b"exp") {
            Modifier::Exp(parse_domain_spec(value, value_off)?)
        } else {
            Modifier::Unknown {
                name: name_str,
                value: parse_macro_string(value, value_off, MacroContext::Unknown)?,
            }
        };
        return Ok(Term::Modifier(modifier));
    }
    // A mechanism: the name is followed by ':', '/' or the end.
    if !matches!(rest.first(), None | Some(b':') | Some(b'/')) {
        let kind = if name.iter().all(|b| b.is_ascii_alphanumeric()) {
            SpfParseErrorKind::InvalidCharacter
        } else {
            SpfParseErrorKind::UnknownMechanism
        };
        return Err(err(kind));
    }
    let arg_off = offset + body_off + name_len;
    let lower = name.to_ascii_lowercase();
    let mechanism = match lower.as_slice() {
        b"all" => {
            if !rest.is_empty() {
                return Err(err(SpfParseErrorKind::UnexpectedArgument));
            }
            Mechanism::All
        }
        b"include" | b"exists" => {
            let Some(spec) = rest.strip_prefix(b":") else {
                return Err(err(SpfParseErrorKind::MissingArgument));
            };
            let spec = parse_domain_spec(spec, arg_off + 1)?;
            if lower == b"include" {
                Mechanism::Include(spec)
            } else {
                Mechanism::Exists(spec)
            }
        }
        b"a" | b"mx" => {
            let (spec, cidr) = split_dual_cidr(rest, token, offset)?;
            let domain = match spec {
                b"" => None,
                s => match s.strip_prefix(b":") {
                    Some(s) => Some(parse_domain_spec(s, arg_off + 1)?),
                    None => return Err(err(SpfParseErrorKind::InvalidCidr)),
                },
            };
            if lower == b"a" {
                Mechanism::A { domain, cidr }
            } else {
                Mechanism::Mx { domain, cidr }
            }
        }
        b"ptr" => match rest {
            b"" => Mechanism::Ptr(None),
            r => match r.strip_prefix(b":") {
                Some(s) => Mechanism::Ptr(Some(parse_domain_spec(s, arg_off + 1)?)),
                None => return Err(err(SpfParseErrorKind::UnexpectedArgument)),
            },
        },
        b"ip4" => {
            let Some(arg) = rest.strip_prefix(b":") else {
                return Err(err(SpfParseErrorKind::MissingArgument));
            };
            let (net, prefix) = split_prefix(arg);
            let addr = std::str::from_utf8(net)
                .ok()
                .and_then(|s| s.parse::<Ipv4Addr>().ok())
                .ok_or_else(|| err(SpfParseErrorKind::InvalidIp4))?;
            let prefix = match prefix {
                Some(p) => {
                    Some(parse_cidr_len(p, 32).ok_or_else(|| err(SpfParseErrorKind::InvalidCidr))?)
                }
                None => None,
            };
            Mechanism::Ip4 { addr, prefix }
        }
        b"ip6" => {
            let Some(arg) = rest.strip_prefix(b":") else {
                return Err(err(SpfParseErrorKind::MissingArgument));
            };
            let (net, prefix) = split_prefix(arg);
            let addr = std::str::from_utf8(net)
                .ok()
                .and_then(|s| s.parse::<Ipv6Addr>().ok())
                .ok_or_else(|| err(SpfParseErrorKind::InvalidIp6))?;
            let prefix = match prefix {
                Some(p) => Some(
                    parse_cidr_len(p, 128).ok_or_else(|| err(SpfParseErrorKind::InvalidCidr))?,
                ),
                None => None,
            };
            Mechanism::Ip6 { addr, prefix }
        }
        _ => return Err(err(SpfParseErrorKind::UnknownMechanism)),
    };
    Ok(Term::Directive(Directive {
        qualifier: qualifier.unwrap_or(Qualifier::Pass),
        mechanism,
    }))
}

/// Splits `net/len` at the last `/`.
fn split_prefix(arg: &[u8]) -> (&[u8], Option<&[u8]>) {
    match arg.iter().rposition(|&b| b == b'/') {
        Some(p) => (&arg[..p], Some(&arg[p + 1..])),
        None => (arg, None),
    }
}

/// RFC 7208 §5.6: `"0" / %x31-39 0*1DIGIT` (ip4) and `"0" / %x31-39 0*2DIGIT`
/// (ip6): no leading zeros, at most `max`.
fn parse_cidr_len(digits: &[u8], max: u8) -> Option<u8> {
    if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' {
        return None;
    }
    let v: u16 = digits
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    if v > u16::from(max) {
        return None;
    }
    u8::try_from(v).ok()
}

/// Splits the trailing `dual-cidr-length` off the argument of `a`/`mx`.
/// A trailing `/digits` or `//digits` is a CIDR length; its value is then
/// checked (range and leading zeros). Returns the rest (`""` or `:spec`).
fn split_dual_cidr<'a>(
    rest: &'a [u8],
    token: &[u8],
    offset: usize,
) -> Result<(&'a [u8], DualCidr), SpfParseError> {
    let err = || SpfParseError::new(SpfParseErrorKind::InvalidCidr, offset, token);
    let mut cidr = DualCidr::default();
    let mut s = rest;
    // trailing "//digits"
    if let Some(p) = s.iter().rposition(|&b| b == b'/') {
        let tail = &s[p + 1..];
        if !tail.is_empty() && tail.iter().all(u8::is_ascii_digit) && p > 0 && s[p - 1] == b'/' {
            cidr.v6 = Some(parse_cidr_len(tail, 128).ok_or_else(err)?);
            s = &s[..p - 1];
        }
    }
    if let Some(p) = s.iter().rposition(|&b| b == b'/') {
        let tail = &s[p + 1..];
        if !tail.is_empty() && tail.iter().all(u8::is_ascii_digit) && !(p > 0 && s[p - 1] == b'/') {
            cidr.v4 = Some(parse_cidr_len(tail, 32).ok_or_else(err)?);
            s = &s[..p];
        }
    }
    // A bare `a/` or `a//x` left over without a domain-spec is malformed.
    if !s.is_empty() && s[0] != b':' {
        return Err(err());
    }
    Ok((s, cidr))
}

/// Where a macro-string appears: the context decides which letters are legal
/// and whether spaces are literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacroContext {
    /// A domain-spec of a mechanism, `redirect=` or `exp=` (letters `c r t` rejected, §7.2).
    DomainSpec,
    /// The value of an unknown modifier (any macro letter; kept as data).
    Unknown,
    /// An explain-string fetched by `exp=` (§6.2): spaces allowed, all letters.
    Explanation,
}

/// Parses a macro-string (RFC 7208 §7.1). `offset` positions errors.
pub fn parse_macro_string(
    s: &[u8],
    offset: usize,
    ctx: MacroContext,
) -> Result<MacroString, SpfParseError> {
    let mut tokens: Vec<MacroToken> = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    let flush = |literal: &mut String, tokens: &mut Vec<MacroToken>| {
        if !literal.is_empty() {
            tokens.push(MacroToken::Literal(std::mem::take(literal)));
        }
    };
    while i < s.len() {
        let b = s[i];
        if b == b'%' {
            let err = |kind| SpfParseError::new(kind, offset + i, &s[i..]);
            match s.get(i + 1) {
                Some(b'%') => {
                    flush(&mut literal, &mut tokens);
                    tokens.push(MacroToken::Percent);
                    i += 2;
                }
                Some(b'_') => {
                    flush(&mut literal, &mut tokens);
                    tokens.push(MacroToken::Space);
                    i += 2;
                }
                Some(b'-') => {
                    flush(&mut literal, &mut tokens);
                    tokens.push(MacroToken::UrlSpace);
                    i += 2;
                }
                Some(b'{') => {
                    let Some(close) = s[i + 2..].iter().position(|&c| c == b'}') else {
                        return Err(err(SpfParseErrorKind::InvalidMacro));
                    };
                    let body = &s[i + 2..i + 2 + close];
                    let m = parse_macro_body(body).map_err(err)?;
                    if ctx == MacroContext::DomainSpec && m.letter.is_exp_only() {
                        return Err(err(SpfParseErrorKind::InvalidMacroLetter));
                    }
                    flush(&mut literal, &mut tokens);
                    tokens.push(MacroToken::Expand(m));
                    i += close + 3;
                }
                _ => return Err(err(SpfParseErrorKind::InvalidMacro)),
            }
            continue;
        }
        let ok = match ctx {
            MacroContext::Explanation => (0x20..=0x7e).contains(&b),
            _ => (0x21..=0x7e).contains(&b),
        };
        if !ok {
            return Err(SpfParseError::new(
                SpfParseErrorKind::InvalidCharacter,
                offset + i,
                s,
            ));
        }
        literal.push(char::from(b));
        i += 1;
    }
    flush(&mut literal, &mut tokens);
    Ok(MacroString { tokens })
}

/// Parses `letter transformers *delimiter` (the inside of `%{...}`).
fn parse_macro_body(body: &[u8]) -> Result<MacroExpand, SpfParseErrorKind> {
    let (&first, rest) = body
        .split_first()
        .ok_or(SpfParseErrorKind::InvalidMacroLetter)?;
    let letter = MacroLetter::from_byte(first).ok_or(SpfParseErrorKind::InvalidMacroLetter)?;
    let ndigits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let digits = if ndigits == 0 {
        None
    } else {
        let d = &rest[..ndigits];
        // Strip leading zeros; a value of zero is invalid (§7.3).
        let significant: &[u8] = {
            let z = d.iter().take_while(|&&c| c == b'0').count();
            &d[z..]
        };
        if significant.is_empty() {
            return Err(SpfParseErrorKind::InvalidMacroTransformer);
        }
        if significant.len() > MAX_TRANSFORMER_DIGITS {
            return Err(SpfParseErrorKind::InvalidMacroTransformer);
        }
        let v = significant
            .iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
        Some(v)
    };
    let mut rest = &rest[ndigits..];
    let mut reverse = false;
    if let Some((&c, tail)) = rest.split_first()
        && (c == b'r' || c == b'R')
    {
        reverse = true;
        rest = tail;
    }
    let mut delimiters = String::new();
    for &c in rest {
        if !matches!(c, b'.' | b'-' | b'+' | b',' | b'/' | b'_' | b'=') {
            return Err(SpfParseErrorKind::InvalidMacro);
        }
        delimiters.push(char::from(c));
    }
    Ok(MacroExpand {
        letter,
        url_escape: first.is_ascii_uppercase(),
        digits,
        reverse,
        delimiters,
    })
}

/// Parses a domain-spec (RFC 7208 §7.1): a macro-string that ends in
/// `"." toplabel [ "." ]` or in a macro-expand.
pub fn parse_domain_spec(s: &[u8], offset: usize) -> Result<DomainSpec, SpfParseError> {
    if s.is_empty() {
        return Err(SpfParseError::new(
            SpfParseErrorKind::MissingArgument,
            offset,
            s,
        ));
    }
    let ms = parse_macro_string(s, offset, MacroContext::DomainSpec)?;
    let ok = match ms.tokens.last() {
        Some(MacroToken::Literal(lit)) => literal_domain_end_ok(lit),
        Some(_) => true,
        None => false,
    };
    if !ok {
        return Err(SpfParseError::new(
            SpfParseErrorKind::InvalidDomainSpec,
            offset,
            s,
        ));
    }
    Ok(DomainSpec(ms))
}

/// `"." toplabel [ "." ]` at the end of the trailing literal.
fn literal_domain_end_ok(lit: &str) -> bool {
    let body = lit.strip_suffix('.').unwrap_or(lit);
    match body.rfind('.') {
        Some(p) => is_toplabel(&body[p + 1..]),
        None => false,
    }
}

/// RFC 7208 §7.1:
/// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`.
pub fn is_toplabel(label: &str) -> bool {
    let b = label.as_bytes();
    if b.is_empty() || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
        return false;
    }
    if b.contains(&b'-') {
        b[0].is_ascii_alphanumeric() && b[b.len() - 1].is_ascii_alphanumeric()
    } else {
        b.iter().any(u8::is_ascii_alphabetic)
    }
}

/// The outcome of SPF record selection among a name's TXT records (RFC 7208 §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// No record starts with `v=spf1`: result `none`.
    None,
    /// Exactly one SPF record: its joined text and the parse outcome.
    One {
        /// The joined bytes (§3.3).
        text: Vec<u8>,
        /// The parsed record or the syntax error (`permerror`).
        parsed: Result<Record, SpfParseError>,
    },
    /// More than one SPF record: `permerror` (`multiple_records`).
    Multiple {
        /// The joined text of each SPF record.
        texts: Vec<Vec<u8>>,
    },
}

/// The joined texts (§3.3) of the records among `records` that are SPF
/// records (§4.5: [`is_spf_record`]), in answer order, unparsed: what
/// [`select_spf`] chooses from.
pub fn spf_record_texts(records: &[TxtRecord]) -> Vec<Vec<u8>> {
    records
        .iter()
        .map(TxtRecord::joined)
        .filter(|t| is_spf_record(t))
        .collect()
}

/// Selects the SPF record among the TXT records of a name (RFC 7208 §4.5):
/// the strings of each RR are joined without separator (§3.3), records that
/// do not begin with `v=spf1` followed by a space or the end are discarded;
/// none left → [`Selection::None`], more than one → [`Selection::Multiple`].
pub fn select_spf(records: &[TxtRecord]) -> Selection {
    let mut found = spf_record_texts(records);
    match found.len() {
        0 => Selection::None,
        1 => {
            let text = found.pop().unwrap_or_default();
            let parsed = parse_record(&text);
            Selection::One { text, parsed }
        }
        _ => Selection::Multiple { texts: found },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> SpfParseErrorKind {
        parse_record(s.as_bytes()).unwrap_err().kind
    }

    #[test]
    fn version_rules() {
        assert!(parse_record(b"v=spf1").is_ok());
        assert!(parse_record(b"V=SPF1 -all").is_ok());
        assert!(parse_record(b"v=spf1   -all   ").is_ok());
        assert_eq!(kind("v=spf10 -all"), SpfParseErrorKind::InvalidVersion);
        assert_eq!(kind("v=spf2 -all"), SpfParseErrorKind::InvalidVersion);
        assert_eq!(kind(""), SpfParseErrorKind::InvalidVersion);
        assert_eq!(kind(" v=spf1"), SpfParseErrorKind::InvalidVersion);
    }

    #[test]
    fn mechanisms_and_errors() {
        let r = parse_record(b"v=spf1 a mx:Example.COM/24//64 -ip4:192.0.2.0/24 ~ip6:2001:db8::/32 ?exists:%{ir}.x.example include:_spf.example.com ptr redirect=x.example exp=e.example foo=bar -all").unwrap();
        assert_eq!(r.terms.len(), 11);
        assert!(r.uses_ptr());
        assert_eq!(r.all_qualifier(), Some(Qualifier::Fail));
        assert_eq!(
            r.render(),
            "v=spf1 a mx:Example.COM/24//64 -ip4:192.0.2.0/24 ~ip6:2001:db8::/32 ?exists:%{ir}.x.example include:_spf.example.com ptr redirect=x.example exp=e.example foo=bar -all"
        );
        assert_eq!(kind("v=spf1 foo"), SpfParseErrorKind::UnknownMechanism);
        assert_eq!(
            kind("v=spf1 ip4:10.0.0.1/33"),
            SpfParseErrorKind::InvalidCidr
        );
        assert_eq!(
            kind("v=spf1 ip4:10.0.0.1/08"),
            SpfParseErrorKind::InvalidCidr
        );
        assert_eq!(kind("v=spf1 ip6:::1/129"), SpfParseErrorKind::InvalidCidr);
        assert_eq!(kind("v=spf1 a/33"), SpfParseErrorKind::InvalidCidr);
        assert_eq!(kind("v=spf1 a//129"), SpfParseErrorKind::InvalidCidr);
        assert_eq!(kind("v=spf1 a/024"), SpfParseErrorKind::InvalidCidr);
        assert_eq!(kind("v=spf1 all/32"), SpfParseErrorKind::UnexpectedArgument);
        assert_eq!(
            kind("v=spf1 ?redirect=x.example"),
            SpfParseErrorKind::QualifiedModifier
        );
        assert_eq!(
            kind("v=spf1 redirect=a.example redirect=b.example"),
            SpfParseErrorKind::DuplicateRedirect
        );
        assert_eq!(
            kind("v=spf1 exp=a.example exp=b.example"),
            SpfParseErrorKind::DuplicateExp
        );
        assert_eq!(kind("v=spf1 include"), SpfParseErrorKind::MissingArgument);
        assert_eq!(
            kind("v=spf1 a:museum"),
            SpfParseErrorKind::InvalidDomainSpec
        );
        assert_eq!(
            kind("v=spf1 a:1.2.3.4"),
            SpfParseErrorKind::InvalidDomainSpec
        );
        assert_eq!(
            kind("v=spf1 exists:%{s0}.x.example"),
            SpfParseErrorKind::InvalidMacroTransformer
        );
        assert_eq!(
            kind("v=spf1 exists:%{x}"),
            SpfParseErrorKind::InvalidMacroLetter
        );
        assert_eq!(
            kind("v=spf1 exists:%{c}"),
            SpfParseErrorKind::InvalidMacroLetter
        );
        assert_eq!(
            kind("v=spf1 exists:%(ir).x.example"),
            SpfParseErrorKind::InvalidMacro
        );
        assert_eq!(
            kind("v=spf1 -all\tip4:1.2.3.4"),
            SpfParseErrorKind::InvalidCharacter
        );
        let e = parse_record("v=spf1 -all é".as_bytes()).unwrap_err();
        assert_eq!(
            (e.kind, e.offset, e.code()),
            (SpfParseErrorKind::InvalidCharacter, 12, "invalid_character")
        );
        let e = parse_record(b"v=spf1 a  bogus:x -all").unwrap_err();
        assert_eq!((e.offset, e.token.as_str()), (10, "bogus:x"));
    }

    #[test]
    fn selection() {
        assert_eq!(select_spf(&[]), Selection::None);
        assert_eq!(
            select_spf(&[TxtRecord::single("v=spf10"), TxtRecord::single("hello")]),
            Selection::None
        );
        match select_spf(&[TxtRecord::from_strings([
            "v=spf1 include:a",
            ".example -all",
        ])]) {
            Selection::One { text, parsed } => {
                assert_eq!(text, b"v=spf1 include:a.example -all");
                assert_eq!(parsed.unwrap().terms.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            select_spf(&[TxtRecord::single("v=spf1 -all"), TxtRecord::single("V=SPF1 +all")]),
            Selection::Multiple { texts } if texts.len() == 2
        ));
    }
}
