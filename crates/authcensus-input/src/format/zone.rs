//! A streaming reader of RFC 1035 §5 master files that yields delegations.
//!
//! RFC 1035 §5.1: entries are `$ORIGIN <domain-name>`, `$INCLUDE <file-name>
//! [<domain-name>]`, `<domain-name> <rr>` and `<blank> <rr>`, where `<rr>` is
//! `[<TTL>] [<class>] <type> <RDATA>` or `[<class>] [<TTL>] <type> <RDATA>`.
//! "Parentheses are used to group data that crosses a line boundary", `;`
//! starts a comment, quoted strings may hold any of these characters, `@` is
//! the current origin, and a name without a final dot is relative to it. A
//! blank (whitespace) start means "the last stated owner". `$TTL` is
//! RFC 2308 §4.
//!
//! Only owner, TTL/class and type are interpreted; RDATA is scanned (to
//! keep quotes and parentheses in step) but not stored. Memory is one entry,
//! bounded by [`MAX_ENTRY_BYTES`] and [`MAX_ENTRY_LINES`].
//!
//! The domains of a zone are its delegations: owners of NS records strictly
//! below the apex. The apex is the owner of the first SOA record, or before
//! any SOA the current `$ORIGIN` (else the root). Glue A/AAAA, DS, NSEC and
//! any other types add no names. Consecutive NS records of one owner yield
//! one name; later repeats are left to the cross-input dedup.
//!
//! `$INCLUDE` is refused with an error (the included path names a file on
//! the zone's original server); `$GENERATE` and other non-RFC directives are
//! rejected entries (`zone_unsupported_directive`).
//!
//! Owner names with RFC 1035 §5.1 escapes (`\.`, `\DDD`) are kept as
//! written and then rejected by normalisation (`invalid_character`): no
//! registered domain needs them.
//!
//! Why not a crate (checked 2026-11): `hickory-proto`'s zone parser takes the
//! whole file as one string, `domain`'s `zonefile::inplace` (marked
//! experimental) loads the whole file into a buffer, and `rustdns` parses a
//! `&str` with pest; the `.com` zone is ~25 GB. `zoneparser` iterates over a
//! file but calls itself early-stage with limited functionality and has one
//! maintainer. A tokenizer for the owner/TTL/class/type prefix is ~200 lines.

use super::{Fatal, Outcome, SkipKind};
use crate::RejectReason;
use crate::normalize::normalize_domain;

/// Longest zone entry, in token bytes (parenthesised entries included).
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;
/// Most physical lines in one parenthesised entry.
pub const MAX_ENTRY_LINES: u32 = 1000;
/// Deepest parenthesis nesting accepted (RFC 1035 uses one level).
const MAX_DEPTH: u32 = 8;
/// Tokens kept per entry: owner, TTL, class, type. RDATA is scanned (for
/// quotes, parentheses and comments) but not stored.
const KEEP_TOKENS: usize = 4;
/// Bytes of an entry's first line kept for its rejection record.
const RAW_KEEP: usize = 512;

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    quoted: bool,
}

/// Reader state between lines.
#[derive(Debug, Default)]
pub(crate) struct ZoneState {
    origin: Option<String>,
    apex: Option<String>,
    last_owner: Option<String>,
    last_delegation: Option<String>,
    depth: u32,
    in_entry: bool,
    entry_line: u64,
    entry_lines: u32,
    blank_owner: bool,
    broken: Option<RejectReason>,
    arena: Vec<u8>,
    tokens: Vec<Token>,
    raw: Vec<u8>,
    open: Option<Token>,
}

/// RFC 1035 §3.2.4 classes, plus RFC 3597 `CLASSnnn`.
pub(crate) fn is_class(t: &[u8]) -> bool {
    ["IN", "CH", "CS", "HS", "ANY", "NONE"]
        .iter()
        .any(|c| t.eq_ignore_ascii_case(c.as_bytes()))
        || (t.len() > 5
            && t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case(b"CLASS"))
            && t.get(5..).is_some_and(|d| d.iter().all(u8::is_ascii_digit)))
}

/// A TTL: decimal seconds (RFC 1035) or BIND units (`1h30m`, `2D`).
fn is_ttl(t: &[u8]) -> bool {
    t.first().is_some_and(u8::is_ascii_digit)
        && t.iter()
            .all(|b| b.is_ascii_digit() || b"smhdwSMHDW".contains(b))
}

enum Relation {
    Apex,
    Below,
    Outside,
}

fn relation(owner: &str, apex: &str) -> Relation {
    if owner == apex {
        Relation::Apex
    } else if apex.is_empty()
        || (owner.len() > apex.len() + 1
            && owner.ends_with(apex)
            && owner.as_bytes().get(owner.len() - apex.len() - 1) == Some(&b'.'))
    {
        Relation::Below
    } else {
        Relation::Outside
    }
}

impl ZoneState {
    pub(crate) fn line(
        &mut self,
        number: u64,
        bytes: &[u8],
        too_long: bool,
    ) -> Result<Outcome, Fatal> {
        if too_long {
            // The entry cannot be trusted any more: drop it and resynchronise.
            self.reset();
            return Ok(Outcome::Reject(RejectReason::LineTooLong));
        }
        if !self.in_entry {
            self.in_entry = true;
            self.entry_line = number;
            self.entry_lines = 0;
            self.blank_owner = matches!(bytes.first(), Some(b' ' | b'\t'));
            self.broken = None;
            self.arena.clear();
            self.tokens.clear();
            self.raw.clear();
            self.raw
                .extend_from_slice(bytes.get(..RAW_KEEP.min(bytes.len())).unwrap_or_default());
        }
        self.entry_lines += 1;
        self.tokenize(bytes);
        if self.arena.len() > MAX_ENTRY_BYTES || self.entry_lines > MAX_ENTRY_LINES {
            self.broken.get_or_insert(RejectReason::ZoneEntryTooLong);
            self.depth = 0;
        }
        if self.depth > 0 && self.broken.is_none() {
            return Ok(Outcome::Skip(SkipKind::ZoneContinuation));
        }
        self.in_entry = false;
        self.depth = 0;
        if let Some(reason) = self.broken {
            return Ok(self.reject(reason));
        }
        if self.tokens.is_empty() {
            return Ok(Outcome::Skip(if self.entry_lines == 1 {
                SkipKind::BlankOrComment
            } else {
                SkipKind::ZoneContinuation
            }));
        }
        self.entry()
    }

    fn reset(&mut self) {
        self.in_entry = false;
        self.depth = 0;
        self.open = None;
    }

    fn reject(&self, reason: RejectReason) -> Outcome {
        Outcome::RejectEntry {
            reason,
            line: self.entry_line,
            raw: self.raw.clone(),
        }
    }

    fn push(&mut self, b: u8, quoted: bool) {
        if self.tokens.len() >= KEEP_TOKENS {
            return;
        }
        if self.open.is_none() {
            self.open = Some(Token {
                start: self.arena.len(),
                end: self.arena.len(),
                quoted,
            });
        }
        self.arena.push(b);
    }

    fn end_token(&mut self) {
        if let Some(mut t) = self.open.take() {
            t.end = self.arena.len();
            self.tokens.push(t);
        }
    }

    fn tokenize(&mut self, bytes: &[u8]) {
        let mut in_quote = false;
        let mut i = 0;
        while let Some(&c) = bytes.get(i) {
            if in_quote {
                match c {
                    b'\\' => {
                        self.push(c, true);
                        if let Some(&n) = bytes.get(i + 1) {
                            self.push(n, true);
                            i += 1;
                        }
                    }
                    b'"' => {
                        if self.open.is_none() && self.tokens.len() < KEEP_TOKENS {
                            // An empty quoted string is still a token.
                            self.open = Some(Token {
                                start: self.arena.len(),
                                end: self.arena.len(),
                                quoted: true,
                            });
                        }
                        self.end_token();
                        in_quote = false;
                    }
                    _ => self.push(c, true),
                }
            } else {
                match c {
                    b' ' | b'\t' | b'\r' => self.end_token(),
                    b';' => break,
                    b'(' => {
                        self.end_token();
                        self.depth += 1;
                        if self.depth > MAX_DEPTH {
                            self.broken.get_or_insert(RejectReason::ZoneSyntax);
                        }
                    }
                    b')' => {
                        self.end_token();
                        if self.depth == 0 {
                            self.broken.get_or_insert(RejectReason::ZoneSyntax);
                        } else {
                            self.depth -= 1;
                        }
                    }
                    b'"' => {
                        self.end_token();
                        in_quote = true;
                    }
                    b'\\' => {
                        self.push(c, false);
                        if let Some(&n) = bytes.get(i + 1) {
                            self.push(n, false);
                            i += 1;
                        }
                    }
                    _ => self.push(c, false),
                }
            }
            i += 1;
        }
        if in_quote {
            // RFC 1035 §5.1 quoted strings do not cross line ends.
            self.broken.get_or_insert(RejectReason::ZoneSyntax);
        }
        self.end_token();
    }

    fn token(&self, i: usize) -> Option<(&[u8], bool)> {
        let t = self.tokens.get(i)?;
        Some((self.arena.get(t.start..t.end)?, t.quoted))
    }

    /// Makes an owner or `$ORIGIN` argument absolute: lowercase, no final dot.
    fn absolute(&self, name: &[u8]) -> Result<String, RejectReason> {
        let name = std::str::from_utf8(name).map_err(|_| RejectReason::InvalidUtf8)?;
        let origin = self.origin.as_deref().unwrap_or("");
        let abs = if name == "@" {
            origin.to_owned()
        } else if let Some(stripped) = name.strip_suffix('.') {
            stripped.to_owned()
        } else if origin.is_empty() {
            name.to_owned()
        } else {
            format!("{name}.{origin}")
        };
        Ok(abs.to_ascii_lowercase())
    }

    fn entry(&mut self) -> Result<Outcome, Fatal> {
        let Some((first, first_quoted)) = self.token(0) else {
            return Ok(Outcome::Skip(SkipKind::BlankOrComment));
        };
        if !self.blank_owner && !first_quoted && first.first() == Some(&b'$') {
            return self.directive(first.to_vec());
        }
        let (owner, mut idx) = if self.blank_owner {
            match &self.last_owner {
                Some(o) => (o.clone(), 0),
                None => return Ok(self.reject(RejectReason::ZoneMissingOwner)),
            }
        } else {
            if first_quoted {
                return Ok(self.reject(RejectReason::ZoneSyntax));
            }
            match self.absolute(first) {
                Ok(o) => (o, 1),
                Err(r) => return Ok(self.reject(r)),
            }
        };
        self.last_owner = Some(owner.clone());
        let mut prefix = 0;
        while prefix < 2 {
            match self.token(idx) {
                Some((t, false)) if is_ttl(t) || is_class(t) => {
                    idx += 1;
                    prefix += 1;
                }
                _ => break,
            }
        }
        let rtype = match self.token(idx) {
            Some((t, false)) => t,
            _ => return Ok(self.reject(RejectReason::ZoneSyntax)),
        };
        if rtype.eq_ignore_ascii_case(b"SOA") {
            if self.apex.is_none() {
                self.apex = Some(owner);
            }
            return Ok(Outcome::Skip(SkipKind::ZoneRecord));
        }
        if !rtype.eq_ignore_ascii_case(b"NS") {
            return Ok(Outcome::Skip(SkipKind::ZoneRecord));
        }
        let apex = self
            .apex
            .as_deref()
            .or(self.origin.as_deref())
            .unwrap_or("");
        match relation(&owner, apex) {
            Relation::Apex => return Ok(Outcome::Skip(SkipKind::ZoneRecord)),
            Relation::Outside => return Ok(self.reject(RejectReason::ZoneOutOfZone)),
            Relation::Below => {}
        }
        if self.last_delegation.as_deref() == Some(owner.as_str()) {
            return Ok(Outcome::Skip(SkipKind::ZoneSameDelegation));
        }
        let result = normalize_domain(&owner);
        self.last_delegation = Some(owner);
        Ok(match result {
            Ok(name) => Outcome::Domain {
                name,
                rank: None,
                line: self.entry_line,
            },
            Err(r) => self.reject(r),
        })
    }

    fn directive(&mut self, name: Vec<u8>) -> Result<Outcome, Fatal> {
        if name.eq_ignore_ascii_case(b"$INCLUDE") {
            return Err(Fatal::Include {
                line: self.entry_line,
            });
        }
        if name.eq_ignore_ascii_case(b"$TTL") {
            return Ok(Outcome::Skip(SkipKind::ZoneDirective));
        }
        if !name.eq_ignore_ascii_case(b"$ORIGIN") {
            return Ok(self.reject(RejectReason::ZoneUnsupportedDirective));
        }
        let arg = match self.token(1) {
            Some((t, false)) => t.to_vec(),
            _ => return Ok(self.reject(RejectReason::ZoneSyntax)),
        };
        match self.absolute(&arg) {
            Ok(origin) => {
                self.origin = Some(origin);
                Ok(Outcome::Skip(SkipKind::ZoneDirective))
            }
            Err(r) => Ok(self.reject(r)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a zone text through the reader: (names with lines, reasons with lines).
    type Names = Vec<(String, u64)>;
    type Rejects = Vec<(RejectReason, u64)>;

    fn run(text: &str) -> (Names, Rejects) {
        let mut z = ZoneState::default();
        let (mut names, mut rejects) = (Vec::new(), Vec::new());
        for (i, line) in text.split('\n').enumerate() {
            match z.line(i as u64 + 1, line.as_bytes(), false) {
                Ok(Outcome::Domain { name, line, .. }) => names.push((name, line)),
                Ok(Outcome::RejectEntry { reason, line, .. }) => rejects.push((reason, line)),
                Ok(Outcome::Reject(reason)) => rejects.push((reason, i as u64 + 1)),
                Ok(Outcome::Skip(_)) => {}
                Err(e) => panic!("fatal {e:?}"),
            }
        }
        (names, rejects)
    }

    #[test]
    fn rfc1035_master_file_features() {
        let zone = "\
$ORIGIN Example.
$TTL 1h
@  IN  SOA ns1 hostmaster ( 2024010101 ; serial
        3600 900 ; refresh retry
        604800 300 )
   IN NS ns1          ; apex NS: not a delegation
ns1 A 192.0.2.1
child   3600 IN NS ns1.child
        IN NS ns2.child   ; same owner, omitted
child.example. NS ns3.other.
ns1.child A 192.0.2.2
grand.child IN 60 NS ns.grand.child.example.
txt TXT \"a ; not a comment\" \"(\" NS
Other IN NS ns.other.
upper.EXAMPLE. ns a.b.
$ORIGIN sub.example.
deep NS x.
";
        let (names, rejects) = run(zone);
        assert_eq!(
            names,
            vec![
                ("child.example".to_owned(), 8),
                ("grand.child.example".to_owned(), 12),
                ("other.example".to_owned(), 14),
                ("upper.example".to_owned(), 15),
                ("deep.sub.example".to_owned(), 17),
            ]
        );
        assert!(rejects.is_empty(), "{rejects:?}");
    }

    #[test]
    fn soa_apex_and_out_of_zone() {
        let (names, rejects) =
            run("gov. IN SOA a. b. 1 2 3 4 5\ngov. NS a.\nexample.com. NS b.\nx.gov. NS c.");
        assert_eq!(names, vec![("x.gov".to_owned(), 4)]);
        assert_eq!(rejects, vec![(RejectReason::ZoneOutOfZone, 3)]);
    }

    #[test]
    fn malformed_entries_are_rejected_and_reader_resyncs() {
        let zone = "\
$ORIGIN t.
 IN NS orphan.
a NS ( x.
b ) ) NS y.
c NS \"unterminated
$GENERATE 1-2 h$ A 1.2.3.4
d 300
bad_name NS z.
e NS ok.
";
        let (names, rejects) = run(zone);
        assert_eq!(names, vec![("e.t".to_owned(), 9)]);
        assert_eq!(
            rejects,
            vec![
                (RejectReason::ZoneMissingOwner, 2),
                // lines 3-4 are one entry whose second `)` closes nothing
                (RejectReason::ZoneSyntax, 3),
                (RejectReason::ZoneSyntax, 5),
                (RejectReason::ZoneUnsupportedDirective, 6),
                (RejectReason::ZoneSyntax, 7),
                (RejectReason::InvalidCharacter, 8),
            ]
        );
    }

    #[test]
    fn include_is_fatal() {
        let mut z = ZoneState::default();
        assert!(matches!(
            z.line(3, b"$INCLUDE other.zone", false),
            Err(Fatal::Include { line: 3 })
        ));
    }

    #[test]
    fn unclosed_parenthesis_is_bounded() {
        let mut z = ZoneState::default();
        let mut last = None;
        for n in 1..=u64::from(MAX_ENTRY_LINES) + 1 {
            let line: &[u8] = if n == 1 { b"a NS (" } else { b"  x" };
            last = Some(z.line(n, line, false).unwrap());
        }
        assert_eq!(
            last,
            Some(Outcome::RejectEntry {
                reason: RejectReason::ZoneEntryTooLong,
                line: 1,
                raw: b"a NS (".to_vec()
            })
        );
        assert!(matches!(
            z.line(1002, b"b.x. NS c.", false),
            Ok(Outcome::Domain { .. })
        ));
    }
}
