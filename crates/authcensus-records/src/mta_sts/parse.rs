//! Parsers for the `_mta-sts` TXT record (RFC 8461 §3.1), the policy file
//! (RFC 8461 §3.2) and MX host matching (RFC 8461 §4.1).
//!
//! Every parser takes raw bytes, never panics, and runs in time linear in its
//! input (one pass to split, one pass per field).

use super::fields::{self, ExtProblem, SplitError};
use super::types::{
    MAX_MAX_AGE, Mode, MxPattern, Policy, PolicyError, PolicyErrorKind, StsRecord, TxtError,
    TxtErrorKind,
};

/// Longest `id` (RFC 8461 §3.1: `1*32(ALPHA / DIGIT)`).
pub const MAX_ID_LEN: usize = 32;

/// Parses one `_mta-sts` TXT record (the joined character-strings).
///
/// RFC 8461 §3.1: the record MUST be US-ASCII, MUST begin with `v=STSv1`,
/// and MUST contain `id=` with 1 to 32 letters and digits; extension fields
/// follow `sts-ext-name "=" sts-ext-value`. RFC 8461 §3.2 (last paragraph,
/// which covers "TXT records and policy files"): unknown fields are ignored
/// and, for a repeated field, all entries but the first are ignored.
pub fn parse_txt(input: &[u8]) -> Result<StsRecord, TxtError> {
    let err = |kind, pos| TxtError { kind, pos };
    let raw = fields::split_fields(input).map_err(|e| match e {
        SplitError::NonAscii(p) => err(TxtErrorKind::NonAscii, p),
        SplitError::EmptyField(p) => err(TxtErrorKind::EmptyField, p),
    })?;
    let Some((first, rest)) = raw.split_first() else {
        return Err(err(TxtErrorKind::MissingVersion, 0));
    };
    if first.text != b"v=STSv1" {
        let kind = if first.text.starts_with(b"v=") {
            TxtErrorKind::BadVersion
        } else {
            TxtErrorKind::MissingVersion
        };
        return Err(err(kind, first.start));
    }
    let mut id: Option<String> = None;
    let mut extensions: Vec<(String, String)> = Vec::new();
    let mut ignored_duplicates: Vec<String> = Vec::new();
    for field in rest {
        if let Some(value) = field.text.strip_prefix(b"id=") {
            let vpos = field.start + 3;
            if id.is_some() {
                ignored_duplicates.push("id".to_owned());
                continue;
            }
            if value.is_empty() {
                return Err(err(TxtErrorKind::EmptyId, vpos));
            }
            if let Some(bad) = value.iter().position(|b| !b.is_ascii_alphanumeric()) {
                return Err(err(TxtErrorKind::InvalidId, vpos + bad));
            }
            if value.len() > MAX_ID_LEN {
                return Err(err(TxtErrorKind::IdTooLong, vpos + MAX_ID_LEN));
            }
            id = Some(String::from_utf8_lossy(value).into_owned());
            continue;
        }
        let (name, value) = fields::check_extension(field.text).map_err(|p| {
            let kind = match p {
                ExtProblem::MissingEquals => TxtErrorKind::MissingEquals,
                ExtProblem::InvalidName => TxtErrorKind::InvalidExtensionName,
                ExtProblem::NameTooLong => TxtErrorKind::ExtensionNameTooLong,
                ExtProblem::EmptyValue => TxtErrorKind::EmptyExtensionValue,
                ExtProblem::InvalidValue => TxtErrorKind::InvalidExtensionValue,
            };
            err(kind, field.start)
        })?;
        let name = String::from_utf8_lossy(name).into_owned();
        if name == "v" || extensions.iter().any(|(n, _)| *n == name) {
            ignored_duplicates.push(name);
            continue;
        }
        extensions.push((name, String::from_utf8_lossy(value).into_owned()));
    }
    match id {
        Some(id) => Ok(StsRecord {
            id,
            extensions,
            ignored_duplicates,
        }),
        None => Err(err(TxtErrorKind::MissingId, input.len())),
    }
}

/// True if the record begins with the `sts-version` field `v=STSv1`
/// followed by a field delimiter or the end (RFC 8461 §3.1: "records that
/// do not begin with "v=STSv1;" are discarded"). `v=STSv10` does not.
pub fn starts_with_sts_version(record: &[u8]) -> bool {
    match record.strip_prefix(b"v=STSv1") {
        Some(rest) => rest.first().is_none_or(|&b| b == b';' || fields::is_wsp(b)),
        None => false,
    }
}

/// True for an RFC 5321 §4.1.2 `Domain`: `sub-domain *("." sub-domain)`,
/// `sub-domain = Let-dig [Ldh-str]`, with RFC 1035 §2.3.4 lengths (labels of
/// at most 63 octets, at most 253 octets in all). No trailing dot.
pub fn is_rfc5321_domain(name: &[u8]) -> bool {
    if name.is_empty() || name.len() > crate::name::MAX_NAME_LEN {
        return false;
    }
    name.split(|&b| b == b'.').all(|label| {
        !label.is_empty()
            && label.len() <= crate::name::MAX_LABEL_LEN
            && label.first().is_some_and(u8::is_ascii_alphanumeric)
            && label.last().is_some_and(u8::is_ascii_alphanumeric)
            && label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// Parses an `mx` value: `["*."] Domain` (RFC 8461 §3.2). IDNs MUST be
/// A-labels, so a non-ASCII byte is an error. The result is lowercase.
pub fn parse_mx_pattern(value: &[u8]) -> Option<MxPattern> {
    let (wildcard, domain) = match value.strip_prefix(b"*.") {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    if !is_rfc5321_domain(domain) {
        return None;
    }
    Some(MxPattern {
        wildcard,
        domain: String::from_utf8_lossy(domain).to_ascii_lowercase(),
    })
}

impl MxPattern {
    /// RFC 8461 §4.1: does this pattern match the MX host name `host`?
    ///
    /// Matching is case-insensitive and ignores one trailing dot on the
    /// host. A wildcard `*.example.com` matches exactly one extra left-most
    /// label: `mail.example.com`, but neither `example.com` nor
    /// `foo.bar.example.com`.
    pub fn matches(&self, host: &str) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        if !self.wildcard {
            return host.eq_ignore_ascii_case(&self.domain);
        }
        match host.split_once('.') {
            Some((first, rest)) => !first.is_empty() && rest.eq_ignore_ascii_case(&self.domain),
            None => false,
        }
    }
}

/// RFC 8461 §4.1 matching on strings: `pattern` as written in a policy
/// (`mail.example.com` or `*.example.com`, case-insensitive, one trailing
/// dot tolerated) against an MX host name. An invalid pattern matches
/// nothing.
pub fn mx_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    parse_mx_pattern(pattern.as_bytes()).is_some_and(|p| p.matches(host))
}

/// The MX hosts of `mx_hosts` that no `mx` pattern of `policy` matches
/// (RFC 8461 §4: "At least one of the policy's mx patterns matches the
/// selected MX host"), in input order, as given. An empty result means the
/// policy covers every MX. Mode `none` is not special-cased: a `none`
/// policy without patterns covers nothing.
pub fn policy_covers<S: AsRef<str>>(policy: &Policy, mx_hosts: &[S]) -> Vec<String> {
    mx_hosts
        .iter()
        .map(AsRef::as_ref)
        .filter(|host| !policy.mx.iter().any(|p| p.matches(host)))
        .map(str::to_owned)
        .collect()
}

/// Parses a policy file (RFC 8461 §3.2).
///
/// ```text
/// sts-policy-record = sts-policy-field *WSP *(sts-policy-term sts-policy-field *WSP) [sts-policy-term]
/// sts-policy-term   = LF / CRLF
/// sts-policy-field-delim = ":" *WSP
/// ```
///
/// `version`, `mode` and `max_age` are required once; `mx` at least once
/// unless mode is `none`; the order of fields is free (the ABNF has no
/// ordering, unlike the TXT record's `v=`). Field names are case-sensitive
/// (`%s`). Unknown fields are ignored if well-formed; for repeated
/// non-`mx` fields only the first counts (later ones are not validated).
/// Blank lines are rejected (the ABNF allows one final terminator only).
/// Runs in one pass over the body; callers bound the body size (RFC 8461
/// §3.3 suggests 64 KiB).
pub fn parse_policy(body: &[u8]) -> Result<Policy, PolicyError> {
    let text = std::str::from_utf8(body).map_err(|e| PolicyError {
        kind: PolicyErrorKind::NotUtf8,
        pos: e.valid_up_to(),
        line: 1 + body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    let mut version = false;
    let mut mode: Option<Mode> = None;
    let mut max_age: Option<u32> = None;
    let mut mx: Vec<MxPattern> = Vec::new();
    let mut extensions: Vec<(String, String)> = Vec::new();
    let mut ignored_duplicates: Vec<String> = Vec::new();
    let mut line_no = 0usize;
    let mut offset = 0usize;
    let segments: Vec<&str> = text.split('\n').collect();
    let n = segments.len();
    for (index, segment) in segments.into_iter().enumerate() {
        line_no = index + 1;
        let start = offset;
        offset += segment.len() + 1;
        let line = segment.strip_suffix('\r').unwrap_or(segment);
        let error = |kind, pos| PolicyError {
            kind,
            pos,
            line: index + 1,
        };
        if line.is_empty() {
            // The optional final `sts-policy-term` leaves an empty tail.
            if index + 1 == n && index > 0 {
                break;
            }
            let kind = if text.is_empty() {
                PolicyErrorKind::MissingVersion
            } else {
                PolicyErrorKind::EmptyLine
            };
            return Err(error(kind, start));
        }
        let Some(colon) = line.find(':') else {
            return Err(error(PolicyErrorKind::MissingColon, start));
        };
        let key = &line[..colon];
        if !fields::is_ext_name(key.as_bytes()) {
            return Err(error(PolicyErrorKind::InvalidKey, start));
        }
        let after = &line[colon + 1..];
        let lead = after.len() - after.trim_start_matches([' ', '\t']).len();
        let value = after[lead..].trim_end_matches([' ', '\t']);
        let vpos = start + colon + 1 + lead;
        if value.is_empty() {
            return Err(error(PolicyErrorKind::EmptyValue, vpos));
        }
        if let Some(bad) = value.bytes().position(|b| b < 0x20 || b == 0x7f) {
            return Err(error(PolicyErrorKind::InvalidValueChar, vpos + bad));
        }
        match key {
            "version" => {
                if version {
                    ignored_duplicates.push(key.to_owned());
                } else if value == "STSv1" {
                    version = true;
                } else {
                    return Err(error(PolicyErrorKind::BadVersion, vpos));
                }
            }
            "mode" => {
                if mode.is_some() {
                    ignored_duplicates.push(key.to_owned());
                } else {
                    mode = Some(match value {
                        "enforce" => Mode::Enforce,
                        "testing" => Mode::Testing,
                        "none" => Mode::None,
                        _ => return Err(error(PolicyErrorKind::BadMode, vpos)),
                    });
                }
            }
            "max_age" => {
                if max_age.is_some() {
                    ignored_duplicates.push(key.to_owned());
                } else {
                    if value.len() > 10 || !value.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(error(PolicyErrorKind::BadMaxAge, vpos));
                    }
                    let parsed: u64 = value.parse().unwrap_or(u64::MAX);
                    if parsed > u64::from(MAX_MAX_AGE) {
                        return Err(error(PolicyErrorKind::MaxAgeTooLarge, vpos));
                    }
                    max_age = Some(u32::try_from(parsed).unwrap_or(MAX_MAX_AGE));
                }
            }
            "mx" => match parse_mx_pattern(value.as_bytes()) {
                Some(p) => mx.push(p),
                None => return Err(error(PolicyErrorKind::InvalidMx, vpos)),
            },
            _ => {
                if extensions.iter().any(|(n, _)| n == key) {
                    ignored_duplicates.push(key.to_owned());
                } else {
                    extensions.push((key.to_owned(), value.to_owned()));
                }
            }
        }
    }
    let missing = |kind| PolicyError {
        kind,
        pos: body.len(),
        line: line_no,
    };
    if !version {
        return Err(missing(PolicyErrorKind::MissingVersion));
    }
    let Some(mode) = mode else {
        return Err(missing(PolicyErrorKind::MissingMode));
    };
    let Some(max_age) = max_age else {
        return Err(missing(PolicyErrorKind::MissingMaxAge));
    };
    if mode != Mode::None && mx.is_empty() {
        return Err(missing(PolicyErrorKind::MissingMx));
    }
    Ok(Policy {
        mode,
        max_age,
        mx,
        extensions,
        ignored_duplicates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_positions_and_kinds() {
        let e = parse_txt(b"v=STSv1; id=test-123").unwrap_err();
        assert_eq!((e.kind, e.pos), (TxtErrorKind::InvalidId, 16));
        let e = parse_txt(b"id=1; v=STSv1").unwrap_err();
        assert_eq!((e.kind, e.pos), (TxtErrorKind::MissingVersion, 0));
        let e = parse_txt(b"v=STSv1").unwrap_err();
        assert_eq!((e.kind, e.pos), (TxtErrorKind::MissingId, 7));
        assert_eq!(
            parse_txt(b"v=STSv12;id=1").unwrap_err().kind,
            TxtErrorKind::BadVersion
        );
        let ok = parse_txt(b"v=STSv1; id=ab; id=cd; x=1; x=2").unwrap();
        assert_eq!(ok.id, "ab");
        assert_eq!(ok.extensions, vec![("x".into(), "1".into())]);
        assert_eq!(ok.ignored_duplicates, vec!["id", "x"]);
    }

    #[test]
    fn id_length_boundary() {
        assert!(parse_txt(format!("v=STSv1; id={}", "a".repeat(32)).as_bytes()).is_ok());
        assert_eq!(
            parse_txt(format!("v=STSv1; id={}", "a".repeat(33)).as_bytes())
                .unwrap_err()
                .kind,
            TxtErrorKind::IdTooLong
        );
    }

    #[test]
    fn version_prefix() {
        assert!(starts_with_sts_version(b"v=STSv1"));
        assert!(starts_with_sts_version(b"v=STSv1;id=1"));
        assert!(starts_with_sts_version(b"v=STSv1 ;"));
        assert!(!starts_with_sts_version(b"v=STSv10;"));
        assert!(!starts_with_sts_version(b" v=STSv1;"));
    }

    #[test]
    fn max_age_boundaries() {
        let p = |age: &str| {
            parse_policy(format!("version: STSv1\nmode: none\nmax_age: {age}").as_bytes())
        };
        assert_eq!(p("31557600").unwrap().max_age, 31_557_600);
        assert_eq!(p("0").unwrap().max_age, 0);
        assert_eq!(
            p("31557601").unwrap_err().kind,
            PolicyErrorKind::MaxAgeTooLarge
        );
        assert_eq!(
            p("9999999999").unwrap_err().kind,
            PolicyErrorKind::MaxAgeTooLarge
        );
        assert_eq!(
            p("01234567890").unwrap_err().kind,
            PolicyErrorKind::BadMaxAge
        );
        assert_eq!(p("-1").unwrap_err().kind, PolicyErrorKind::BadMaxAge);
    }

    #[test]
    fn policy_errors_have_lines() {
        let e = parse_policy(b"version: STSv1\r\nmode: enforce\r\n\r\nmx: a.example\r\nmax_age: 1")
            .unwrap_err();
        assert_eq!((e.kind, e.line, e.pos), (PolicyErrorKind::EmptyLine, 3, 31));
        let e = parse_policy(b"version: STSv1\nmode: enforce\nmax_age: 1\n").unwrap_err();
        assert_eq!((e.kind, e.line), (PolicyErrorKind::MissingMx, 4));
        let e = parse_policy(b"version: STSv1\nmode: none\rmax_age: 1").unwrap_err();
        assert_eq!(e.kind, PolicyErrorKind::InvalidValueChar);
        assert_eq!(
            parse_policy(b"mode: none\nmax_age: 1\nversion: STSv1\nversion: junk")
                .unwrap()
                .ignored_duplicates,
            vec!["version"]
        );
        assert_eq!(
            parse_policy(b"version: STSv1\nmode: none\nmax_age: 1\nmx: a.\n")
                .unwrap_err()
                .kind,
            PolicyErrorKind::InvalidMx
        );
    }

    #[test]
    fn wildcard_matches_one_label() {
        assert!(mx_matches("*.example.com", "mail.example.com"));
        assert!(mx_matches("*.Example.COM", "MAIL.example.com."));
        assert!(!mx_matches("*.example.com", "example.com"));
        assert!(!mx_matches("*.example.com", "foo.bar.example.com"));
        assert!(!mx_matches("*.example.com", ".example.com"));
        assert!(mx_matches("mail.example.com.", "mail.example.com"));
        assert!(!mx_matches("mail.example.com", "mail.example.com.evil"));
        assert!(!mx_matches("*.*.example.com", "a.b.example.com"));
        let policy = parse_policy(
            b"version: STSv1\nmode: enforce\nmx: *.example.net\nmx: mx.example.com\nmax_age: 1",
        )
        .unwrap();
        assert_eq!(
            policy_covers(
                &policy,
                &[
                    "mx.example.com",
                    "a.example.net",
                    "a.b.example.net",
                    "example.net"
                ]
            ),
            vec!["a.b.example.net", "example.net"]
        );
    }
}
