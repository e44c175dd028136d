//! Macro expansion (RFC 7208 §7.2, §7.3).
//!
//! Expansion is pure: the caller supplies every value, including the
//! validated domain name of `<ip>` for `%{p}` (which needs DNS, §5.5), and
//! expansion stops with `None` once the output would exceed a length budget.

use std::net::IpAddr;

use super::types::{MacroExpand, MacroLetter, MacroString, MacroToken};

/// The values macros expand to (RFC 7208 §7.2).
#[derive(Debug, Clone)]
pub struct MacroVars<'a> {
    /// `s`: `<sender>` (`local@domain`, local-part `postmaster` if it was empty, §4.3).
    pub sender: &'a str,
    /// `l`: local-part of `<sender>`.
    pub local_part: &'a str,
    /// `o`: domain of `<sender>`.
    pub sender_domain: &'a str,
    /// `d`: the current `<domain>`.
    pub domain: &'a str,
    /// `i`, `c`, `v`: the client address.
    pub ip: IpAddr,
    /// `p`: the validated name of `<ip>`; `None` expands to `unknown` (§7.3).
    pub validated_name: Option<&'a str>,
    /// `h`: HELO/EHLO domain.
    pub helo: &'a str,
    /// `r`: the receiving host; `unknown` when empty (§7.3).
    pub receiver: &'a str,
    /// `t`: seconds since the epoch.
    pub timestamp: u64,
}

/// The raw value of a macro letter before transformers.
pub fn letter_value(letter: MacroLetter, vars: &MacroVars<'_>) -> String {
    match letter {
        MacroLetter::Sender => vars.sender.to_string(),
        MacroLetter::LocalPart => vars.local_part.to_string(),
        MacroLetter::SenderDomain => vars.sender_domain.to_string(),
        MacroLetter::Domain => vars.domain.to_string(),
        MacroLetter::Ip => match vars.ip {
            IpAddr::V4(v4) => v4.to_string(),
            // §7.3: "the "i" macro expands to a dot-format address". The
            // text leaves the case of the hex nibbles open; the official
            // RFC 7208 test suite (v-macro-ip6) expects uppercase, the §7.4
            // example shows lowercase. DNS names are case-insensitive, so
            // both query the same name: we follow the suite.
            IpAddr::V6(v6) => {
                let mut s = String::with_capacity(63);
                for (n, byte) in v6.octets().iter().enumerate() {
                    if n > 0 {
                        s.push('.');
                    }
                    s.push_str(&format!("{:X}.{:X}", byte >> 4, byte & 0xf));
                }
                s
            }
        },
        MacroLetter::ValidatedName => vars.validated_name.unwrap_or("unknown").to_string(),
        MacroLetter::Helo => vars.helo.to_string(),
        MacroLetter::ClientIp => vars.ip.to_string(),
        MacroLetter::Receiver => {
            if vars.receiver.is_empty() {
                "unknown".to_string()
            } else {
                vars.receiver.to_string()
            }
        }
        MacroLetter::Timestamp => vars.timestamp.to_string(),
        MacroLetter::IpVersion => match vars.ip {
            IpAddr::V4(_) => "in-addr".to_string(),
            IpAddr::V6(_) => "ip6".to_string(),
        },
    }
}

/// Applies the transformers and delimiters of one macro (§7.3): split on
/// the delimiters (default `.`), reverse if `r`, keep the right-most
/// `digits` parts, join with `.`, then URL-escape for an uppercase letter.
pub fn transform(m: &MacroExpand, value: &str) -> String {
    let delims: &str = if m.delimiters.is_empty() {
        "."
    } else {
        &m.delimiters
    };
    let mut parts: Vec<&str> = value.split(|c| delims.contains(c)).collect();
    if m.reverse {
        parts.reverse();
    }
    if let Some(n) = m.digits {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n < parts.len() {
            parts.drain(..parts.len() - n);
        }
    }
    let joined = parts.join(".");
    if m.url_escape {
        url_escape(&joined)
    } else {
        joined
    }
}

/// Percent-encodes every byte outside RFC 3986 `unreserved` (§7.3).
pub fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Expands a macro-string. Returns `None` if the result would exceed
/// `max_len` bytes (work bound; §6.2 allows limiting the explanation).
pub fn expand(ms: &MacroString, vars: &MacroVars<'_>, max_len: usize) -> Option<String> {
    let mut out = String::new();
    for t in &ms.tokens {
        match t {
            MacroToken::Literal(l) => out.push_str(l),
            MacroToken::Percent => out.push('%'),
            MacroToken::Space => out.push(' '),
            MacroToken::UrlSpace => out.push_str("%20"),
            MacroToken::Expand(m) => {
                let value = letter_value(m.letter, vars);
                out.push_str(&transform(m, &value));
            }
        }
        if out.len() > max_len {
            return None;
        }
    }
    Some(out)
}

/// RFC 7208 §7.3: a name longer than 253 characters is truncated on the
/// left, whole labels at a time, until it fits.
pub fn truncate_domain(name: &str) -> &str {
    let mut s = name;
    while s.len() > crate::name::MAX_NAME_LEN {
        match s.find('.') {
            Some(p) => s = &s[p + 1..],
            None => return "",
        }
    }
    s
}

/// True if any token uses the letter.
pub fn uses_letter(ms: &MacroString, letter: MacroLetter) -> bool {
    ms.tokens
        .iter()
        .any(|t| matches!(t, MacroToken::Expand(m) if m.letter == letter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spf::parse::{MacroContext, parse_macro_string};

    fn vars(ip: &str) -> MacroVars<'static> {
        MacroVars {
            sender: "strong-bad@email.example.com",
            local_part: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: ip.parse().unwrap(),
            validated_name: None,
            helo: "mx.example.org",
            receiver: "",
            timestamp: 1,
        }
    }

    fn ex(s: &str, ip: &str) -> String {
        let ms = parse_macro_string(s.as_bytes(), 0, MacroContext::Explanation).unwrap();
        expand(&ms, &vars(ip), 4096).unwrap()
    }

    /// RFC 7208 §7.4 examples.
    #[test]
    fn rfc_examples() {
        let v4 = "192.0.2.3";
        assert_eq!(ex("%{s}", v4), "strong-bad@email.example.com");
        assert_eq!(ex("%{o}", v4), "email.example.com");
        assert_eq!(ex("%{d}", v4), "email.example.com");
        assert_eq!(ex("%{d4}", v4), "email.example.com");
        assert_eq!(ex("%{d3}", v4), "email.example.com");
        assert_eq!(ex("%{d2}", v4), "example.com");
        assert_eq!(ex("%{d1}", v4), "com");
        assert_eq!(ex("%{dr}", v4), "com.example.email");
        assert_eq!(ex("%{d2r}", v4), "example.email");
        assert_eq!(ex("%{l}", v4), "strong-bad");
        assert_eq!(ex("%{l-}", v4), "strong.bad");
        assert_eq!(ex("%{lr}", v4), "strong-bad");
        assert_eq!(ex("%{lr-}", v4), "bad.strong");
        assert_eq!(ex("%{l1r-}", v4), "strong");
        assert_eq!(
            ex("%{ir}.%{v}._spf.%{d2}", v4),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(
            ex("%{lr-}.lp._spf.%{d2}", v4),
            "bad.strong.lp._spf.example.com"
        );
        // §7.4 writes the nibbles in lowercase; the same DNS name in uppercase
        // nibbles (what the official suite expects, see above).
        assert_eq!(
            ex("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com"
        );
        assert!(
            ex("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01").eq_ignore_ascii_case(
                "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
            )
        );
        assert_eq!(ex("%{S}", v4), "strong-bad%40email.example.com");
        assert_eq!(ex("%%%_%-", v4), "% %20");
        assert_eq!(ex("%{c} %{r}", "2001:db8::cb01"), "2001:db8::cb01 unknown");
    }

    #[test]
    fn truncation_and_budget() {
        let long = format!("{}.example.com", vec!["abcdefghi"; 30].join("."));
        let t = truncate_domain(&long);
        assert!(t.len() <= 253 && t.ends_with("example.com") && !t.starts_with('.'));
        let ms = parse_macro_string(b"%{s}%{s}%{s}", 0, MacroContext::Explanation).unwrap();
        assert!(expand(&ms, &vars("192.0.2.1"), 40).is_none());
    }
}
