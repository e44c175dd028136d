//! Parser of the BIMI Assertion Record (draft "Assertion Record Definition"),
//! which follows the DKIM tag-list syntax (RFC 6376 §3.2). Linear in its
//! input, never panics.

use super::types::{Avp, BimiCode, BimiFinding, BimiParse, BimiRecord};

fn is_ws(b: u8) -> bool {
    // WSP, plus CR/LF of FWS (RFC 6376 §2.8) should a record carry them.
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim(s: &[u8]) -> (&[u8], usize) {
    let lead = s.iter().take_while(|&&b| is_ws(b)).count();
    let trail = s[lead..].iter().rev().take_while(|&&b| is_ws(b)).count();
    (&s[lead..s.len() - trail], lead)
}

/// True if the record begins with the `v=BIMI1` tag (WSP allowed around `=`
/// per `bimi-version = "v" *WSP "=" *WSP "BIMI1"`, value compared without
/// case, see [`BimiCode::VersionCase`]) followed by `;`, WSP or the end.
/// Assertion Record Discovery steps 4 and 7: other records are discarded.
pub fn starts_with_bimi_version(record: &[u8]) -> bool {
    let (rec, _) = trim(record);
    let Some(rest) = rec.strip_prefix(b"v") else {
        return false;
    };
    let rest = &rest[rest.iter().take_while(|&&b| is_ws(b)).count()..];
    let Some(rest) = rest.strip_prefix(b"=") else {
        return false;
    };
    let rest = &rest[rest.iter().take_while(|&&b| is_ws(b)).count()..];
    if rest.len() < 5 || !rest[..5].eq_ignore_ascii_case(b"BIMI1") {
        return false;
    }
    rest.get(5).is_none_or(|&b| b == b';' || is_ws(b))
}

/// Which URI tag is being checked.
#[derive(Clone, Copy)]
enum UriTag {
    Location,
    Evidence,
}

/// Checks an `l=`/`a=` URI: absolute, scheme `https`, a host after `//`,
/// no comma ("commas within a URI ... MUST be encoded") and no whitespace.
fn check_uri(value: &[u8], tag: UriTag) -> Result<(), BimiCode> {
    let (transport, invalid) = match tag {
        UriTag::Location => (
            BimiCode::InvalidLocationTransport,
            BimiCode::InvalidLocationUri,
        ),
        UriTag::Evidence => (
            BimiCode::InvalidEvidenceTransport,
            BimiCode::InvalidEvidenceUri,
        ),
    };
    if value
        .iter()
        .any(|&b| b == b',' || !(0x21..=0x7e).contains(&b))
    {
        return Err(invalid);
    }
    let Some(colon) = value.iter().position(|&b| b == b':') else {
        return Err(invalid);
    };
    let scheme = &value[..colon];
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Err(invalid);
    }
    if !scheme.eq_ignore_ascii_case(b"https") {
        return Err(transport);
    }
    let Some(after) = value[colon + 1..].strip_prefix(b"//") else {
        return Err(invalid);
    };
    let host_len = after
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#' | b':'))
        .unwrap_or(after.len());
    if host_len == 0 {
        return Err(invalid);
    }
    Ok(())
}

/// Image suffixes that are not in the BIMI-formats registry (only SVG and
/// SVGZ are, "Supported Image Formats for l= tag").
const OTHER_IMAGE_SUFFIXES: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".ico", ".tif", ".tiff", ".avif", ".heic",
];

fn has_other_image_suffix(uri: &[u8]) -> bool {
    let path_end = uri
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(uri.len());
    let path = String::from_utf8_lossy(&uri[..path_end]).to_ascii_lowercase();
    OTHER_IMAGE_SUFFIXES.iter().any(|s| path.ends_with(s))
}

fn push(findings: &mut Vec<BimiFinding>, code: BimiCode, fatal: bool, pos: usize) {
    findings.push(BimiFinding { code, fatal, pos });
}

fn is_tag_name(name: &[u8]) -> bool {
    // RFC 6376 §3.2: tag-name = ALPHA *ALNUMPUNC, ALNUMPUNC = ALPHA / DIGIT / "_"
    name.first().is_some_and(u8::is_ascii_alphabetic)
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Parses one BIMI Assertion Record (the joined character-strings).
///
/// Rules, from the draft's "Assertion Record Definition":
/// `v=` MUST be first and MUST be `BIMI1` (case: see
/// [`BimiCode::VersionCase`]); `l=` is REQUIRED, empty or one HTTPS URI;
/// `a=` is optional, empty or one HTTPS URI, absent meaning empty; both
/// empty is a Declination to Publish; `lps=` is a list of 1*63
/// (ALPHA / DIGIT / "-") prefixes; `avp=` is `personal` or `brand`, other
/// values ignored; unknown tags ignored. From RFC 6376 §3.2: duplicate tags
/// invalidate the record; tag names are case-sensitive.
pub fn parse(input: &[u8]) -> BimiParse {
    let mut findings: Vec<BimiFinding> = Vec::new();
    if let Some(pos) = input.iter().position(|b| !b.is_ascii()) {
        push(&mut findings, BimiCode::NonAscii, true, pos);
        return BimiParse {
            record: None,
            findings,
        };
    }
    let mut record = BimiRecord::default();
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut location_seen = false;
    let segments = input.split(|&b| b == b';').count();
    let mut offset = 0usize;
    let mut first_tag = true;
    for (index, segment) in input.split(|&b| b == b';').enumerate() {
        let seg_start = offset;
        offset += segment.len() + 1;
        let (spec, lead) = trim(segment);
        let pos = seg_start + lead;
        if spec.is_empty() {
            if index + 1 < segments {
                push(&mut findings, BimiCode::EmptyTag, false, pos);
            }
            continue;
        }
        let Some(eq) = spec.iter().position(|&b| b == b'=') else {
            push(&mut findings, BimiCode::MalformedTag, true, pos);
            first_tag = false;
            continue;
        };
        let (name, _) = trim(&spec[..eq]);
        let (value, vlead) = trim(&spec[eq + 1..]);
        let vpos = pos + eq + 1 + vlead;
        if !is_tag_name(name) {
            push(&mut findings, BimiCode::MalformedTag, true, pos);
            first_tag = false;
            continue;
        }
        let duplicate = seen.contains(&name);
        if duplicate {
            push(&mut findings, BimiCode::DuplicateTag, true, pos);
        } else {
            seen.push(name);
        }
        if first_tag && name != b"v" {
            let v_later = input
                .split(|&b| b == b';')
                .skip(index + 1)
                .any(|s| trim(s).0.split(|&b| b == b'=').next().map(|n| trim(n).0) == Some(b"v"));
            let code = if v_later {
                BimiCode::VersionNotFirst
            } else {
                BimiCode::MissingVersion
            };
            push(&mut findings, code, true, pos);
        }
        first_tag = false;
        match name {
            b"v" => {
                if value.is_empty() {
                    push(&mut findings, BimiCode::EmptyVersion, true, vpos);
                    push(&mut findings, BimiCode::InvalidVersion, true, vpos);
                } else if value == b"BIMI1" {
                } else if value.eq_ignore_ascii_case(b"BIMI1") {
                    push(&mut findings, BimiCode::VersionCase, false, vpos);
                } else {
                    push(&mut findings, BimiCode::InvalidVersion, true, vpos);
                }
            }
            _ if duplicate => {}
            b"l" => {
                location_seen = true;
                if !value.is_empty() {
                    match check_uri(value, UriTag::Location) {
                        Err(code) => push(&mut findings, code, true, vpos),
                        Ok(()) if has_other_image_suffix(value) => {
                            push(&mut findings, BimiCode::UnsupportedImageFormat, true, vpos);
                        }
                        Ok(()) => {
                            record.location = Some(String::from_utf8_lossy(value).into_owned());
                        }
                    }
                }
            }
            b"a" => {
                if !value.is_empty() {
                    match check_uri(value, UriTag::Evidence) {
                        Err(code) => push(&mut findings, code, true, vpos),
                        Ok(()) => {
                            record.evidence = Some(String::from_utf8_lossy(value).into_owned());
                        }
                    }
                }
            }
            b"lps" => {
                let mut prefixes = Vec::new();
                if !value.is_empty() {
                    for p in value.split(|&b| b == b',') {
                        let (p, _) = trim(p);
                        if p.is_empty()
                            || p.len() > 63
                            || !p.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
                        {
                            push(&mut findings, BimiCode::InvalidLps, true, vpos);
                            break;
                        }
                        prefixes.push(String::from_utf8_lossy(p).into_owned());
                    }
                }
                record.lps = Some(prefixes);
            }
            b"avp" => match value {
                b"brand" => record.avp = Some(Avp::Brand),
                b"personal" => record.avp = Some(Avp::Personal),
                _ => push(&mut findings, BimiCode::InvalidAvp, false, vpos),
            },
            _ => {
                push(&mut findings, BimiCode::UnknownTag, false, pos);
                record
                    .unknown_tags
                    .push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    if first_tag {
        // No tag at all (empty or whitespace-only record).
        push(&mut findings, BimiCode::MissingVersion, true, 0);
    }
    if !location_seen {
        push(&mut findings, BimiCode::MissingLocation, true, input.len());
    } else if record.location.is_none()
        && record.evidence.is_some()
        && !findings.iter().any(|f| f.fatal)
    {
        push(&mut findings, BimiCode::EmptyLocationWithEvidence, true, 0);
    }
    let usable = !findings.iter().any(|f| f.fatal);
    BimiParse {
        record: usable.then_some(record),
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(s: &str) -> Vec<&'static str> {
        parse(s.as_bytes())
            .findings
            .iter()
            .map(|f| f.code.code())
            .collect()
    }

    #[test]
    fn declination_and_findings() {
        let p = parse(b"v=BIMI1; l=; a=;");
        assert!(p.record.as_ref().unwrap().is_declination());
        assert!(p.findings.is_empty());
        let p = parse(b"v=BIMI1; l=; a=; lps=brand-indicators-;");
        assert_eq!(
            p.record.unwrap().lps,
            Some(vec!["brand-indicators-".to_owned()])
        );
        assert_eq!(
            codes("v=BIMI1; l=; a=https://x.example/vmc.pem"),
            ["empty_location_with_evidence"]
        );
        assert_eq!(
            codes("l=https://x.example/a.svg; v=BIMI1"),
            ["version_not_first"]
        );
        assert_eq!(
            codes("v=BIMI1; l=https://x.example/a.png"),
            ["unsupported_image_format"]
        );
        assert_eq!(
            codes("v=BIMI1; l=https://x.example/a.svg; avp=x; zz=1"),
            ["invalid_avp", "unknown_tag"]
        );
        assert_eq!(
            codes("v=BIMI1; l=https://a.example/x.svg,https://b.example/y.svg"),
            ["invalid_location_uri"]
        );
        assert_eq!(
            codes("v=BIMI1; l=https://x.example/a.svg; a=http://x.example/v.pem"),
            ["invalid_evidence_transport"]
        );
        assert_eq!(codes("v=BIMI1;; l=https://x.example/a.svg"), ["empty_tag"]);
        assert_eq!(codes(""), ["missing_version", "missing_location"]);
        assert_eq!(
            codes("v=BIMI1; l=https://x.example/a.svg; lps=a_b"),
            ["invalid_lps"]
        );
        assert_eq!(codes("v=BIMI1; l=x\u{e9}"), ["non_ascii"]);
    }

    #[test]
    fn version_prefix() {
        assert!(starts_with_bimi_version(b"v=BIMI1; l="));
        assert!(starts_with_bimi_version(b" v = bimi1 ;"));
        assert!(starts_with_bimi_version(b"v=BIMI1"));
        assert!(!starts_with_bimi_version(b"v=BIMI10;"));
        assert!(!starts_with_bimi_version(b"l=; v=BIMI1"));
    }

    #[test]
    fn display_round_trip() {
        let p = parse(
            b"v=BIMI1;l=https://x.example/a.svg;a=https://x.example/v.pem;lps=a,b;avp=personal",
        )
        .record
        .unwrap();
        assert_eq!(parse(p.to_string().as_bytes()).record, Some(p));
    }
}
