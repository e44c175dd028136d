//! Parser of the `_smtp._tls` TXT record (RFC 8460 §3). Linear in its
//! input, never panics.

use super::types::{
    RuaScheme, RuaUri, TlsRptCode, TlsRptError, TlsRptFinding, TlsRptParse, TlsRptRecord,
};
use crate::mta_sts::fields::{self, ExtProblem, SplitError};

/// True if the record begins with `v=TLSRPTv1` followed by a field
/// delimiter or the end (RFC 8460 §3: "records that do not begin with
/// "v=TLSRPTv1;" are discarded").
pub fn starts_with_tlsrpt_version(record: &[u8]) -> bool {
    match record.strip_prefix(b"v=TLSRPTv1") {
        Some(rest) => rest.first().is_none_or(|&b| b == b';' || fields::is_wsp(b)),
        None => false,
    }
}

/// Parses one `_smtp._tls` record (joined character-strings), keeping
/// every finding. The record is usable (`record` is `Some`) when no finding
/// is fatal.
///
/// RFC 8460 §3: the record begins with `v=TLSRPTv1`; `rua` is required and
/// holds one or more URIs separated by `*WSP "," *WSP`; only `mailto` and
/// `https` are supported schemes; in URIs `,`, `!` and `;` MUST be encoded;
/// unknown `ext-name=ext-value` fields are ignored. A repeated field keeps
/// its first value (as MTA-STS, RFC 8461 §3.2; RFC 8460 is silent).
pub fn parse(input: &[u8]) -> TlsRptParse {
    let mut findings = Vec::new();
    let fatal = |code, pos, findings: &mut Vec<TlsRptFinding>| {
        findings.push(TlsRptFinding {
            code,
            fatal: true,
            pos,
        });
    };
    let raw = match fields::split_fields(input) {
        Ok(r) => r,
        Err(SplitError::NonAscii(p)) => {
            fatal(TlsRptCode::NonAscii, p, &mut findings);
            return TlsRptParse {
                record: None,
                findings,
            };
        }
        Err(SplitError::EmptyField(p)) => {
            fatal(TlsRptCode::EmptyField, p, &mut findings);
            return TlsRptParse {
                record: None,
                findings,
            };
        }
    };
    let Some((first, rest)) = raw.split_first() else {
        fatal(TlsRptCode::MissingVersion, 0, &mut findings);
        return TlsRptParse {
            record: None,
            findings,
        };
    };
    if first.text != b"v=TLSRPTv1" {
        let code = if first.text.starts_with(b"v=") {
            TlsRptCode::BadVersion
        } else {
            TlsRptCode::MissingVersion
        };
        fatal(code, first.start, &mut findings);
        return TlsRptParse {
            record: None,
            findings,
        };
    }
    let mut rua: Option<Vec<RuaUri>> = None;
    let mut extensions: Vec<(String, String)> = Vec::new();
    for field in rest {
        if let Some(value) = field.text.strip_prefix(b"rua=") {
            if rua.is_some() {
                findings.push(TlsRptFinding {
                    code: TlsRptCode::DuplicateField,
                    fatal: false,
                    pos: field.start,
                });
                continue;
            }
            rua = Some(parse_rua(value, field.start + 4, &mut findings));
            continue;
        }
        match fields::check_extension(field.text) {
            Ok((name, value)) => {
                let name = String::from_utf8_lossy(name).into_owned();
                if name == "v" || extensions.iter().any(|(n, _)| *n == name) {
                    findings.push(TlsRptFinding {
                        code: TlsRptCode::DuplicateField,
                        fatal: false,
                        pos: field.start,
                    });
                } else {
                    extensions.push((name, String::from_utf8_lossy(value).into_owned()));
                }
            }
            Err(p) => {
                let code = match p {
                    ExtProblem::MissingEquals => TlsRptCode::MissingEquals,
                    ExtProblem::InvalidName | ExtProblem::NameTooLong => {
                        TlsRptCode::InvalidExtensionName
                    }
                    ExtProblem::EmptyValue | ExtProblem::InvalidValue => {
                        TlsRptCode::InvalidExtensionValue
                    }
                };
                fatal(code, field.start, &mut findings);
            }
        }
    }
    let usable_rua = match rua {
        None => {
            fatal(TlsRptCode::MissingRua, input.len(), &mut findings);
            None
        }
        Some(list) if list.is_empty() => {
            // parse_rua already reported why no URI is usable; if every
            // element merely had an unsupported scheme, that is now fatal.
            for f in findings.iter_mut() {
                if f.code == TlsRptCode::UnsupportedRuaScheme {
                    f.fatal = true;
                }
            }
            None
        }
        Some(list) => Some(list),
    };
    let record = match usable_rua {
        Some(rua) if !findings.iter().any(|f| f.fatal) => Some(TlsRptRecord { rua, extensions }),
        _ => None,
    };
    TlsRptParse { record, findings }
}

/// Parses a record and returns the first fatal finding as an error.
pub fn parse_record(input: &[u8]) -> Result<TlsRptRecord, TlsRptError> {
    let parsed = parse(input);
    match parsed.record {
        Some(r) => Ok(r),
        None => {
            let first = parsed.findings.iter().find(|f| f.fatal);
            Err(TlsRptError {
                code: first.map_or(TlsRptCode::MissingRua, |f| f.code),
                pos: first.map_or(0, |f| f.pos),
            })
        }
    }
}

/// Parses the `rua` value (`tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)`),
/// returning the supported URIs and recording findings. `base` is the
/// offset of the value in the record.
fn parse_rua(value: &[u8], base: usize, findings: &mut Vec<TlsRptFinding>) -> Vec<RuaUri> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    for element in value.split(|&b| b == b',') {
        let lead = element.iter().take_while(|&&b| fields::is_wsp(b)).count();
        let trail = element[lead..]
            .iter()
            .rev()
            .take_while(|&&b| fields::is_wsp(b))
            .count();
        let uri = &element[lead..element.len() - trail];
        let pos = base + offset + lead;
        offset += element.len() + 1;
        let mut push = |code, fatal| {
            findings.push(TlsRptFinding { code, fatal, pos });
        };
        if uri.is_empty() {
            push(TlsRptCode::EmptyRua, true);
            continue;
        }
        match check_uri(uri) {
            Ok(scheme) => out.push(RuaUri {
                scheme,
                uri: String::from_utf8_lossy(uri).into_owned(),
            }),
            Err(TlsRptCode::UnsupportedRuaScheme) => push(TlsRptCode::UnsupportedRuaScheme, false),
            Err(code) => push(code, true),
        }
    }
    out
}

/// Checks one URI: RFC 3986 `scheme ":" ...` with visible ASCII only and no
/// unencoded `!` (RFC 8460 §3), then the scheme-specific shape.
fn check_uri(uri: &[u8]) -> Result<RuaScheme, TlsRptCode> {
    if uri
        .iter()
        .any(|&b| !(0x21..=0x7e).contains(&b) || b == b'!')
    {
        return Err(TlsRptCode::InvalidRuaUri);
    }
    let Some(colon) = uri.iter().position(|&b| b == b':') else {
        return Err(TlsRptCode::InvalidRuaUri);
    };
    let (scheme, rest) = (&uri[..colon], &uri[colon + 1..]);
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(TlsRptCode::InvalidRuaUri);
    }
    if scheme.eq_ignore_ascii_case(b"mailto") {
        // RFC 6068: mailto:addr-spec[?hfields]; we check `local@domain`.
        let addr = rest.split(|&b| b == b'?').next().unwrap_or(&[]);
        match addr.iter().rposition(|&b| b == b'@') {
            Some(at) if at > 0 && at + 1 < addr.len() => Ok(RuaScheme::Mailto),
            _ => Err(TlsRptCode::InvalidMailto),
        }
    } else if scheme.eq_ignore_ascii_case(b"https") {
        let Some(after) = rest.strip_prefix(b"//") else {
            return Err(TlsRptCode::InvalidHttps);
        };
        let host_len = after
            .iter()
            .position(|&b| matches!(b, b'/' | b'?' | b'#' | b':'))
            .unwrap_or(after.len());
        if host_len == 0 {
            Err(TlsRptCode::InvalidHttps)
        } else {
            Ok(RuaScheme::Https)
        }
    } else {
        Err(TlsRptCode::UnsupportedRuaScheme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(s: &str) -> Vec<(&'static str, bool)> {
        parse(s.as_bytes())
            .findings
            .iter()
            .map(|f| (f.code.code(), f.fatal))
            .collect()
    }

    #[test]
    fn rfc_examples_parse() {
        let r = parse_record(b"v=TLSRPTv1;rua=mailto:reports@example.com").unwrap();
        assert_eq!(r.rua[0].scheme, RuaScheme::Mailto);
        let r = parse_record(b"v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt").unwrap();
        assert_eq!(r.rua[0].scheme, RuaScheme::Https);
        let r = parse_record(b"v=TLSRPTv1; rua=mailto:a@b.example , https://c.example/x; ext=1;")
            .unwrap();
        assert_eq!(r.rua.len(), 2);
        assert_eq!(
            r.to_string(),
            "v=TLSRPTv1; rua=mailto:a@b.example,https://c.example/x; ext=1"
        );
    }

    #[test]
    fn findings() {
        assert_eq!(codes("v=TLSRPTv1"), [("missing_rua", true)]);
        assert_eq!(codes("v=TLSRPTv1; rua="), [("empty_rua", true)]);
        assert_eq!(codes("v=TLSRPTv2; rua=mailto:a@b"), [("bad_version", true)]);
        assert_eq!(
            codes("rua=mailto:a@b; v=TLSRPTv1"),
            [("missing_version", true)]
        );
        assert_eq!(
            codes("v=TLSRPTv1; rua=mailto:a@b!10m"),
            [("invalid_rua_uri", true)]
        );
        assert_eq!(
            codes("v=TLSRPTv1; rua=http://x.example,mailto:a@b"),
            [("unsupported_rua_scheme", false)]
        );
        assert_eq!(
            codes("v=TLSRPTv1; rua=http://x.example"),
            [("unsupported_rua_scheme", true)]
        );
        assert_eq!(
            codes("v=TLSRPTv1; rua=mailto:nobody"),
            [("invalid_mailto", true)]
        );
        assert_eq!(codes("v=TLSRPTv1; rua=https:/x"), [("invalid_https", true)]);
        assert_eq!(
            codes("v=TLSRPTv1; rua=mailto:a@b; rua=mailto:c@d"),
            [("duplicate_field", false)]
        );
        let e = parse_record(b"v=TLSRPTv1; rua=mailto:a@b,,mailto:c@d").unwrap_err();
        assert_eq!((e.code, e.pos), (TlsRptCode::EmptyRua, 27));
    }
}
