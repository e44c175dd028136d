//! SPF record types that mirror the RFC 7208 ABNF one to one.
//!
//! ```text
//! ; RFC 7208 §4.5 / §12 (collected ABNF)
//! record           = version terms *SP
//! version          = "v=spf1"
//!
//! ; RFC 7208 §4.6.1
//! terms            = *( 1*SP ( directive / modifier ) )
//! directive        = [ qualifier ] mechanism
//! qualifier        = "+" / "-" / "?" / "~"
//! mechanism        = ( all / include
//!                    / a / mx / ptr / ip4 / ip6 / exists )
//! modifier         = redirect / explanation / unknown-modifier
//! unknown-modifier = name "=" macro-string
//!                    ; where name is not any known modifier
//! name             = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
//! ```
//!
//! Every type renders back to record text with [`std::fmt::Display`]; parsing
//! the rendering yields an equal value (the round trip is property-tested).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A directive's qualifier (RFC 7208 §4.6.2).
///
/// ```text
/// qualifier        = "+" / "-" / "?" / "~"
/// ```
///
/// The qualifier is optional and defaults to `+` ([`Qualifier::Pass`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Qualifier {
    /// `+`: a match yields `pass`.
    Pass,
    /// `-`: a match yields `fail`.
    Fail,
    /// `~`: a match yields `softfail`.
    SoftFail,
    /// `?`: a match yields `neutral`.
    Neutral,
}

impl Qualifier {
    /// The qualifier character (`+ - ~ ?`).
    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }

    /// Parses a qualifier character.
    pub fn from_symbol(c: u8) -> Option<Self> {
        match c {
            b'+' => Some(Qualifier::Pass),
            b'-' => Some(Qualifier::Fail),
            b'~' => Some(Qualifier::SoftFail),
            b'?' => Some(Qualifier::Neutral),
            _ => None,
        }
    }

    /// Stable snake_case label (`pass`, `fail`, `softfail`, `neutral`).
    pub fn label(self) -> &'static str {
        match self {
            Qualifier::Pass => "pass",
            Qualifier::Fail => "fail",
            Qualifier::SoftFail => "softfail",
            Qualifier::Neutral => "neutral",
        }
    }
}

/// A macro letter (RFC 7208 §7.1, §7.2).
///
/// ```text
/// macro-letter     = "s" / "l" / "o" / "d" / "i" / "p" / "h" /
///                    "c" / "r" / "t" / "v"
/// ```
///
/// `c`, `r` and `t` are allowed only in `exp` text (§7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacroLetter {
    /// `s`: `<sender>`.
    Sender,
    /// `l`: local-part of `<sender>`.
    LocalPart,
    /// `o`: domain of `<sender>`.
    SenderDomain,
    /// `d`: `<domain>`.
    Domain,
    /// `i`: `<ip>` (dotted quad, or dot-separated nibbles for IPv6).
    Ip,
    /// `p`: the validated domain name of `<ip>` (do not use, §5.5).
    ValidatedName,
    /// `h`: HELO/EHLO domain.
    Helo,
    /// `c`: SMTP client IP, readable form (exp only).
    ClientIp,
    /// `r`: name of the receiving host (exp only).
    Receiver,
    /// `t`: current timestamp (exp only).
    Timestamp,
    /// `v`: `in-addr` or `ip6`.
    IpVersion,
}

impl MacroLetter {
    /// Parses a macro letter, ignoring case.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b.to_ascii_lowercase() {
            b's' => MacroLetter::Sender,
            b'l' => MacroLetter::LocalPart,
            b'o' => MacroLetter::SenderDomain,
            b'd' => MacroLetter::Domain,
            b'i' => MacroLetter::Ip,
            b'p' => MacroLetter::ValidatedName,
            b'h' => MacroLetter::Helo,
            b'c' => MacroLetter::ClientIp,
            b'r' => MacroLetter::Receiver,
            b't' => MacroLetter::Timestamp,
            b'v' => MacroLetter::IpVersion,
            _ => return None,
        })
    }

    /// The lowercase letter.
    pub fn letter(self) -> char {
        match self {
            MacroLetter::Sender => 's',
            MacroLetter::LocalPart => 'l',
            MacroLetter::SenderDomain => 'o',
            MacroLetter::Domain => 'd',
            MacroLetter::Ip => 'i',
            MacroLetter::ValidatedName => 'p',
            MacroLetter::Helo => 'h',
            MacroLetter::ClientIp => 'c',
            MacroLetter::Receiver => 'r',
            MacroLetter::Timestamp => 't',
            MacroLetter::IpVersion => 'v',
        }
    }

    /// True for `c`, `r`, `t`: RFC 7208 §7.2 allows them only in `exp` text.
    pub fn is_exp_only(self) -> bool {
        matches!(
            self,
            MacroLetter::ClientIp | MacroLetter::Receiver | MacroLetter::Timestamp
        )
    }
}

/// One `%{...}` macro (RFC 7208 §7.1).
///
/// ```text
/// macro-expand     = ( "%{" macro-letter transformers *delimiter "}" )
///                    / "%%" / "%_" / "%-"
/// transformers     = *DIGIT [ "r" ]
/// delimiter        = "." / "-" / "+" / "," / "/" / "_" / "="
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MacroExpand {
    /// The letter.
    pub letter: MacroLetter,
    /// Uppercase letter: the value is URL-escaped after expansion (§7.3).
    pub url_escape: bool,
    /// Number of right-hand parts to keep (§7.3; never zero).
    pub digits: Option<u32>,
    /// The `r` transformer: reverse the parts.
    pub reverse: bool,
    /// Delimiter characters (default `.` when empty), in record order.
    pub delimiters: String,
}

/// One token of a macro-string (RFC 7208 §7.1).
///
/// ```text
/// macro-string     = *( macro-expand / macro-literal )
/// macro-literal    = %x21-24 / %x26-7E
///                    ; visible characters except "%"
/// explain-string   = *( macro-string / SP )
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MacroToken {
    /// A run of literal characters (in explain-strings it may contain spaces).
    Literal(String),
    /// `%{...}`.
    Expand(MacroExpand),
    /// `%%`: a literal `%`.
    Percent,
    /// `%_`: a space.
    Space,
    /// `%-`: a URL-encoded space, `%20`.
    UrlSpace,
}

/// A parsed macro-string: a sequence of [`MacroToken`]s (RFC 7208 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MacroString {
    /// The tokens; adjacent literals are merged.
    pub tokens: Vec<MacroToken>,
}

impl MacroString {
    /// True if any token is a macro letter expansion (`%{...}`).
    pub fn has_macros(&self) -> bool {
        self.tokens
            .iter()
            .any(|t| matches!(t, MacroToken::Expand(_)))
    }

    /// The literal text if the string has no `%` sequence at all.
    pub fn as_literal(&self) -> Option<String> {
        let mut s = String::new();
        for t in &self.tokens {
            match t {
                MacroToken::Literal(l) => s.push_str(l),
                _ => return None,
            }
        }
        Some(s)
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl fmt::Display for MacroString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tokens {
            match t {
                MacroToken::Literal(l) => f.write_str(l)?,
                MacroToken::Percent => f.write_str("%%")?,
                MacroToken::Space => f.write_str("%_")?,
                MacroToken::UrlSpace => f.write_str("%-")?,
                MacroToken::Expand(m) => {
                    let mut letter = m.letter.letter();
                    if m.url_escape {
                        letter = letter.to_ascii_uppercase();
                    }
                    write!(f, "%{{{letter}")?;
                    if let Some(d) = m.digits {
                        write!(f, "{d}")?;
                    }
                    if m.reverse {
                        f.write_str("r")?;
                    }
                    write!(f, "{}}}", m.delimiters)?;
                }
            }
        }
        Ok(())
    }
}

/// A domain-spec: a macro-string that ends in a valid domain-end
/// (RFC 7208 §7.1).
///
/// ```text
/// domain-spec      = macro-string domain-end
/// domain-end       = ( "." toplabel [ "." ] ) / macro-expand
/// toplabel         = ( *alphanum ALPHA *alphanum ) /
///                    ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
/// alphanum         = ALPHA / DIGIT
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainSpec(pub MacroString);

impl DomainSpec {
    /// True if the spec needs macro expansion.
    pub fn has_macros(&self) -> bool {
        self.0.has_macros()
    }

    /// The literal domain if the spec contains no `%` sequence.
    pub fn as_literal(&self) -> Option<String> {
        self.0.as_literal()
    }
}

impl fmt::Display for DomainSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Optional CIDR prefix lengths of `a` and `mx` (RFC 7208 §5.6).
///
/// ```text
/// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
/// ip4-cidr-length  = "/" ("0" / %x31-39 0*1DIGIT) ; value range 0-32
/// ip6-cidr-length  = "/" ("0" / %x31-39 0*2DIGIT) ; value range 0-128
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DualCidr {
    /// IPv4 prefix length (0..=32); `None` compares the full address.
    pub v4: Option<u8>,
    /// IPv6 prefix length (0..=128); `None` compares the full address.
    pub v6: Option<u8>,
}

impl fmt::Display for DualCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v4) = self.v4 {
            write!(f, "/{v4}")?;
        }
        if let Some(v6) = self.v6 {
            write!(f, "//{v6}")?;
        }
        Ok(())
    }
}

/// A mechanism (RFC 7208 §5).
///
/// ```text
/// all              = "all"                                  ; §5.1
/// include          = "include"  ":" domain-spec             ; §5.2
/// A                = "a"      [ ":" domain-spec ] [ dual-cidr-length ] ; §5.3
/// MX               = "mx"     [ ":" domain-spec ] [ dual-cidr-length ] ; §5.4
/// PTR              = "ptr"    [ ":" domain-spec ]           ; §5.5
/// ip4              = "ip4"      ":" ip4-network   [ ip4-cidr-length ] ; §5.6
/// ip6              = "ip6"      ":" ip6-network   [ ip6-cidr-length ] ; §5.6
/// exists           = "exists"   ":" domain-spec             ; §5.7
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `all`: always matches (§5.1).
    All,
    /// `include:<domain-spec>` (§5.2).
    Include(DomainSpec),
    /// `a[:domain-spec][/v4][//v6]` (§5.3).
    A {
        /// Target; `None` means `<domain>`.
        domain: Option<DomainSpec>,
        /// Prefix lengths.
        cidr: DualCidr,
    },
    /// `mx[:domain-spec][/v4][//v6]` (§5.4).
    Mx {
        /// Target; `None` means `<domain>`.
        domain: Option<DomainSpec>,
        /// Prefix lengths.
        cidr: DualCidr,
    },
    /// `ptr[:domain-spec]` (§5.5, deprecated: "SHOULD NOT be published").
    Ptr(Option<DomainSpec>),
    /// `ip4:<network>[/len]` (§5.6).
    Ip4 {
        /// Network address.
        addr: Ipv4Addr,
        /// Prefix length 0..=32; `None` = /32.
        prefix: Option<u8>,
    },
    /// `ip6:<network>[/len]` (§5.6).
    Ip6 {
        /// Network address.
        addr: Ipv6Addr,
        /// Prefix length 0..=128; `None` = /128.
        prefix: Option<u8>,
    },
    /// `exists:<domain-spec>` (§5.7).
    Exists(DomainSpec),
}

impl Mechanism {
    /// The mechanism name in lowercase.
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::All => "all",
            Mechanism::Include(_) => "include",
            Mechanism::A { .. } => "a",
            Mechanism::Mx { .. } => "mx",
            Mechanism::Ptr(_) => "ptr",
            Mechanism::Ip4 { .. } => "ip4",
            Mechanism::Ip6 { .. } => "ip6",
            Mechanism::Exists(_) => "exists",
        }
    }

    /// RFC 7208 §4.6.4: `include`, `a`, `mx`, `ptr` and `exists` cause DNS
    /// queries and count toward the limit of 10.
    pub fn counts_as_lookup(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }

    /// The domain-spec argument, if any.
    pub fn domain_spec(&self) -> Option<&DomainSpec> {
        match self {
            Mechanism::Include(d) | Mechanism::Exists(d) => Some(d),
            Mechanism::A { domain, .. } | Mechanism::Mx { domain, .. } => domain.as_ref(),
            Mechanism::Ptr(d) => d.as_ref(),
            _ => None,
        }
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        match self {
            Mechanism::All => Ok(()),
            Mechanism::Include(d) | Mechanism::Exists(d) => write!(f, ":{d}"),
            Mechanism::A { domain, cidr } | Mechanism::Mx { domain, cidr } => {
                if let Some(d) = domain {
                    write!(f, ":{d}")?;
                }
                write!(f, "{cidr}")
            }
            Mechanism::Ptr(d) => match d {
                Some(d) => write!(f, ":{d}"),
                None => Ok(()),
            },
            Mechanism::Ip4 { addr, prefix } => {
                write!(f, ":{addr}")?;
                match prefix {
                    Some(p) => write!(f, "/{p}"),
                    None => Ok(()),
                }
            }
            Mechanism::Ip6 { addr, prefix } => {
                write!(f, ":{addr}")?;
                match prefix {
                    Some(p) => write!(f, "/{p}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A directive: an optional qualifier and a mechanism (RFC 7208 §4.6.1).
///
/// ```text
/// directive        = [ qualifier ] mechanism
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Directive {
    /// The qualifier (`+` when absent).
    pub qualifier: Qualifier,
    /// The mechanism.
    pub mechanism: Mechanism,
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.qualifier != Qualifier::Pass {
            write!(f, "{}", self.qualifier.symbol())?;
        }
        self.mechanism.fmt(f)
    }
}

/// A modifier (RFC 7208 §6).
///
/// ```text
/// redirect         = "redirect" "=" domain-spec   ; §6.1
/// explanation      = "exp" "=" domain-spec        ; §6.2
/// unknown-modifier = name "=" macro-string        ; §4.6.1, ignored (§6)
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `redirect=` (§6.1), at most once per record (§6).
    Redirect(DomainSpec),
    /// `exp=` (§6.2), at most once per record (§6).
    Exp(DomainSpec),
    /// Any other `name=value`: kept as data, ignored in evaluation (§6).
    Unknown {
        /// The modifier name as written.
        name: String,
        /// Its value.
        value: MacroString,
    },
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Modifier::Redirect(d) => write!(f, "redirect={d}"),
            Modifier::Exp(d) => write!(f, "exp={d}"),
            Modifier::Unknown { name, value } => write!(f, "{name}={value}"),
        }
    }
}

/// One term of a record (RFC 7208 §4.6.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// A directive (qualifier + mechanism).
    Directive(Directive),
    /// A modifier.
    Modifier(Modifier),
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Directive(d) => d.fmt(f),
            Term::Modifier(m) => m.fmt(f),
        }
    }
}

/// A parsed SPF record (RFC 7208 §4.5, §4.6.1): `v=spf1` and its terms in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Record {
    /// The terms in record order.
    pub terms: Vec<Term>,
}

impl Record {
    /// The directives in order.
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        self.terms.iter().filter_map(|t| match t {
            Term::Directive(d) => Some(d),
            Term::Modifier(_) => None,
        })
    }

    /// The modifiers in order.
    pub fn modifiers(&self) -> impl Iterator<Item = &Modifier> {
        self.terms.iter().filter_map(|t| match t {
            Term::Modifier(m) => Some(m),
            Term::Directive(_) => None,
        })
    }

    /// The `redirect=` target (at most one, enforced by the parser).
    pub fn redirect(&self) -> Option<&DomainSpec> {
        self.modifiers().find_map(|m| match m {
            Modifier::Redirect(d) => Some(d),
            _ => None,
        })
    }

    /// The `exp=` target (at most one, enforced by the parser).
    pub fn exp(&self) -> Option<&DomainSpec> {
        self.modifiers().find_map(|m| match m {
            Modifier::Exp(d) => Some(d),
            _ => None,
        })
    }

    /// The qualifier of the first `all` mechanism, if any.
    pub fn all_qualifier(&self) -> Option<Qualifier> {
        self.directives()
            .find(|d| d.mechanism == Mechanism::All)
            .map(|d| d.qualifier)
    }

    /// True if the record uses the deprecated `ptr` mechanism (RFC 7208 §5.5).
    pub fn uses_ptr(&self) -> bool {
        self.directives()
            .any(|d| matches!(d.mechanism, Mechanism::Ptr(_)))
    }

    /// Renders the record as text (`v=spf1` and the terms, single spaces).
    pub fn render(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("v=spf1")?;
        for t in &self.terms {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}
