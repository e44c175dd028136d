//! Domain normalisation: one rule set for every input format.
//!
//! Output is the lowercase A-label form without a trailing dot. Rules:
//!
//! - IDNA UTS #46 ToASCII (non-transitional, `UseSTD3ASCIIRules=true`) through
//!   the `idna` crate for any name holding non-ASCII or an `xn--` label (whose
//!   Punycode is decoded and validated). Pure-ASCII letter-digit-hyphen names
//!   take a fast path (lowercase + checks) with the same result.
//! - One trailing dot is stripped (an absolute name); a second is an empty label.
//! - RFC 1035 §2.3.4: labels of 1..=63 octets, names of at most 253 octets in
//!   text form (255 on the wire).
//! - RFC 1123 §2.1 host names: letters, digits and hyphens, no hyphen at either
//!   end of a label. Underscores and `*` are rejected: they occur in owner names
//!   of records, never in a registered domain a survey starts from.
//! - IP addresses are rejected (`ip_address`), as are names whose last label is
//!   all digits (`numeric_tld`, RFC 3696 §2), which resolvers and URL parsers
//!   treat as IPv4 forms.
//! - URLs (`scheme://...`) are rejected (`url`), not mined for a host: a list
//!   of URLs is a different input, and guessing would hide its problems.
//! - Single-label names (`com`, `localhost`) are accepted: the root zone's
//!   delegations are TLDs, and TLD operators publish mail policy too. Their
//!   registrable domain is `None` (see [`crate::SuffixList`]).

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use crate::RejectReason;

/// Longest label, RFC 1035 §2.3.4.
pub const MAX_LABEL_LEN: usize = 63;
/// Longest name in text form without the trailing dot (255 octets on the wire).
pub const MAX_NAME_LEN: usize = 253;

/// Normalises one domain (already trimmed of surrounding whitespace).
pub fn normalize_domain(input: &str) -> Result<String, RejectReason> {
    if input.is_empty() {
        return Err(RejectReason::EmptyField);
    }
    if input.contains("://") {
        return Err(RejectReason::Url);
    }
    let name = input.strip_suffix('.').unwrap_or(input);
    // Only names ending in a digit (IPv4) or holding `:` (IPv6) can be
    // addresses; the check is skipped for the rest (the fast path).
    if (name.ends_with(|c: char| c.is_ascii_digit()) || name.contains(':'))
        && name.parse::<std::net::IpAddr>().is_ok()
    {
        return Err(RejectReason::IpAddress);
    }
    let bytes = name.as_bytes();
    let ldh = bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let out = if ldh && !has_ace_label(bytes) {
        name.to_ascii_lowercase()
    } else if name.is_ascii() && !ldh {
        return Err(RejectReason::InvalidCharacter);
    } else {
        idna_to_ascii(name)?
    };
    check_ldh(&out)?;
    Ok(out)
}

/// True if a label starts with the ACE prefix `xn--` (any case).
fn has_ace_label(name: &[u8]) -> bool {
    name.split(|&b| b == b'.')
        .any(|l| l.len() >= 4 && l.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"xn--")))
}

fn idna_to_ascii(name: &str) -> Result<String, RejectReason> {
    let uts46 = Uts46::new();
    match uts46.to_ascii(
        name.as_bytes(),
        AsciiDenyList::STD3,
        Hyphens::Allow,
        DnsLength::Ignore,
    ) {
        Ok(cow) => {
            let s = cow.into_owned();
            // UTS #46 maps ideographic full stops to `.`: strip one trailing dot again.
            Ok(match s.strip_suffix('.') {
                Some(stripped) if !name.ends_with('.') => stripped.to_owned(),
                _ => s,
            })
        }
        Err(_) => Err(classify_idna_failure(name)),
    }
}

/// A more precise reason than `idna_invalid` when the name's shape explains it.
fn classify_idna_failure(name: &str) -> RejectReason {
    if name.split('.').any(str::is_empty) {
        RejectReason::EmptyLabel
    } else {
        RejectReason::IdnaInvalid
    }
}

/// Checks an ASCII lowercase candidate: lengths, characters, hyphens, numeric TLD.
fn check_ldh(name: &str) -> Result<(), RejectReason> {
    if name.is_empty() {
        return Err(RejectReason::EmptyLabel);
    }
    let mut last = "";
    for label in name.split('.') {
        if label.is_empty() {
            return Err(RejectReason::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(RejectReason::LabelTooLong);
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(RejectReason::InvalidCharacter);
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(RejectReason::InvalidHyphen);
        }
        last = label;
    }
    if name.len() > MAX_NAME_LEN {
        return Err(RejectReason::NameTooLong);
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RejectReason::NumericTld);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use RejectReason::*;

    #[test]
    fn accepts_and_normalises() {
        let ok = [
            ("Example.COM", "example.com"),
            ("example.com.", "example.com"),
            ("com", "com"),
            ("r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com"),
            ("bücher.de", "xn--bcher-kva.de"),
            ("XN--BCHER-KVA.de", "xn--bcher-kva.de"),
            ("食狮.公司.cn", "xn--85x722f.xn--55qx5d.cn"),
            ("faß.de", "xn--fa-hia.de"),
            ("例え。テスト", "xn--r8jz45g.xn--zckzah"),
            ("1password.com", "1password.com"),
        ];
        for (input, want) in ok {
            assert_eq!(normalize_domain(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn rejects_with_reasons() {
        let label63 = "a".repeat(63);
        let label64 = "a".repeat(64);
        let name253 = format!("{0}.{0}.{0}.{1}", label63, "a".repeat(61));
        assert_eq!(name253.len(), 253);
        assert!(normalize_domain(&name253).is_ok());
        let name254 = format!("{name253}a");
        let cases: Vec<(String, RejectReason)> = vec![
            ("".into(), EmptyField),
            ("a..b".into(), EmptyLabel),
            (".com".into(), EmptyLabel),
            ("com..".into(), EmptyLabel),
            (format!("{label64}.com"), LabelTooLong),
            (name254, NameTooLong),
            ("ex_ample.com".into(), InvalidCharacter),
            ("*.example.com".into(), InvalidCharacter),
            ("exa mple.com".into(), InvalidCharacter),
            ("-example.com".into(), InvalidHyphen),
            ("example-.com".into(), InvalidHyphen),
            ("192.0.2.1".into(), IpAddress),
            ("2001:db8::1".into(), IpAddress),
            ("1.2.3".into(), NumericTld),
            ("https://example.com/".into(), Url),
            ("xn--zz.com".into(), IdnaInvalid),
            ("exa\u{200b}mple\u{fffd}.com".into(), IdnaInvalid),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_domain(&input), Err(want), "{input:?}");
        }
    }
}
