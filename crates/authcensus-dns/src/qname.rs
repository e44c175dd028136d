//! Names the client asks for, in wire form.
//!
//! Every query name (and every CNAME target the client follows) is kept as
//! its uncompressed wire form (RFC 1035 §3.1: length-prefixed labels, then
//! the root's zero octet), shared by reference count: the query is that
//! form copied behind a header, a reply's question and owners are compared
//! with it label by label, and the attempt's table entry holds a second
//! reference instead of a copy. hickory's `Name` (labels in two small
//! vectors) cost the query path about 2,900 instructions per query to
//! parse, clone, compare and encode, a tenth of the crawler's user-space
//! instructions (callgrind, `benches/README.md`, twenty-fourth session).

use std::sync::Arc;

/// Longest name on the wire (RFC 1035 §2.3.4: 255 octets).
pub(crate) const WIRE_MAX: usize = 255;

/// Longest label (RFC 1035 §2.3.4: 63 octets).
const LABEL_MAX: usize = 63;

/// A fully qualified name in uncompressed wire form (see the module docs).
/// Octets are kept as given; comparisons ignore ASCII case (RFC 4343).
#[derive(Clone, Debug)]
pub(crate) struct QName(Arc<[u8]>);

impl QName {
    /// The root name (one zero octet).
    #[cfg(test)]
    pub(crate) fn root() -> QName {
        QName(Arc::from(&[0u8][..]))
    }

    /// Parses a presentation name (trailing dot optional); `None` when it is
    /// empty or cannot be a DNS name (RFC 1035 §2.3.4: labels of 1 to 63
    /// octets, 255 octets on the wire).
    ///
    /// Host names (letters, digits, `-` inside a label, `_`) are read in one
    /// pass; anything else (escapes such as `\.` or `\032`) goes through
    /// hickory's presentation-format parser, so both agree (a test checks).
    pub(crate) fn parse(s: &str) -> Option<QName> {
        let trimmed = s.strip_suffix('.').unwrap_or(s);
        if trimmed.is_empty() || trimmed.len() > WIRE_MAX - 2 {
            return None;
        }
        Self::parse_plain(trimmed.as_bytes()).or_else(|| {
            let mut name = hickory_proto::rr::Name::from_ascii(trimmed).ok()?;
            name.set_fqdn(true);
            Self::from_labels(name.iter())
        })
    }

    /// The wire form of a host name of at most 253 octets; `None` if it is
    /// not one (then [`Self::parse`] asks hickory).
    fn parse_plain(text: &[u8]) -> Option<QName> {
        // Laid out on the stack, then copied once into the shared buffer:
        // one octet per character, the dots become the label lengths, plus
        // the first length and the root octet (at most 255, checked by the
        // caller).
        let mut wire = [0u8; WIRE_MAX];
        let mut len_at = 0;
        let mut at = 1;
        for &c in text {
            let label_len = at - len_at - 1;
            if c == b'.' {
                if !(1..=LABEL_MAX).contains(&label_len) {
                    return None;
                }
                *wire.get_mut(len_at)? = u8::try_from(label_len).ok()?;
                len_at = at;
            } else if c.is_ascii_alphanumeric() || c == b'_' || (c == b'-' && label_len > 0) {
                *wire.get_mut(at)? = c;
            } else {
                return None;
            }
            at += 1;
        }
        let label_len = at - len_at - 1;
        if !(1..=LABEL_MAX).contains(&label_len) {
            return None;
        }
        *wire.get_mut(len_at)? = u8::try_from(label_len).ok()?;
        // The root octet is the array's zero at `at`.
        Some(QName(Arc::from(wire.get(..=at)?)))
    }

    /// The name of `labels` (octets as they are, leftmost first); `None`
    /// past RFC 1035 §2.3.4's limits.
    pub(crate) fn from_labels<'a>(labels: impl Iterator<Item = &'a [u8]>) -> Option<QName> {
        let mut wire = [0u8; WIRE_MAX];
        let mut at = 0;
        for label in labels {
            let len = u8::try_from(label.len())
                .ok()
                .filter(|l| (1..=LABEL_MAX as u8).contains(l))?;
            // This label, and the root octet after it.
            let end = at + 1 + label.len();
            if end + 1 > WIRE_MAX {
                return None;
            }
            *wire.get_mut(at)? = len;
            wire.get_mut(at + 1..end)?.copy_from_slice(label);
            at = end;
        }
        // The root octet is the array's zero at `at`.
        Some(QName(Arc::from(wire.get(..=at)?)))
    }

    /// The wire form, root octet included.
    pub(crate) fn wire(&self) -> &[u8] {
        &self.0
    }

    /// The labels, leftmost first (the root's empty label not included).
    pub(crate) fn labels(&self) -> impl Iterator<Item = &[u8]> {
        // The decoder's label walk; a `QName` is always well formed.
        crate::decode::Labels::new(self.wire(), 0).map_while(|l| l)
    }

    /// The same name, ASCII case-insensitively. Length octets (at most 63)
    /// are never ASCII letters, so the wire forms compare as a whole.
    pub(crate) fn same_as(&self, other: &QName) -> bool {
        self.wire().eq_ignore_ascii_case(other.wire())
    }

    /// The name as the records crate wants it: lowercase, no trailing dot,
    /// `""` for the root (see [`crate::decode::name_string`]).
    pub(crate) fn to_presentation(&self) -> String {
        crate::decode::name_string(self.wire(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::Name;

    fn hickory(s: &str) -> Option<Name> {
        Name::from_ascii(s.strip_suffix('.').unwrap_or(s))
            .ok()
            .map(|mut n| {
                n.set_fqdn(true);
                n
            })
    }

    fn wire_of(n: &Name) -> Vec<u8> {
        let mut w = Vec::new();
        for l in n.iter() {
            w.push(l.len() as u8);
            w.extend_from_slice(l);
        }
        w.push(0);
        w
    }

    #[test]
    fn names_parse_as_hickory_parses_them() {
        let mut rng = rand::rng();
        let alphabet = b"aZ0-_.*\\ x";
        let mut plain = 0;
        for _ in 0..20_000 {
            let len = rand::RngExt::random_range(&mut rng, 1..30);
            let s: String = (0..len)
                .map(|_| {
                    let i = rand::RngExt::random_range(&mut rng, 0..alphabet.len());
                    char::from(alphabet[i])
                })
                .collect();
            let ours = QName::parse(&s);
            if s.strip_suffix('.').unwrap_or(&s).is_empty() {
                assert!(ours.is_none());
                continue;
            }
            plain += usize::from(QName::parse_plain(s.as_bytes()).is_some());
            assert_eq!(
                ours.as_ref().map(|q| q.wire().to_vec()),
                hickory(&s).as_ref().map(wire_of),
                "{s:?}"
            );
        }
        // Both paths were taken.
        assert!(plain > 500, "{plain}");
        let long = format!("{}.{}", "a".repeat(63), "b".repeat(63));
        assert_eq!(
            QName::parse(&long).map(|q| q.to_presentation()),
            Some(long.clone())
        );
        assert!(QName::parse(&format!("{}x", "a".repeat(63))).is_none());
        assert!(QName::parse(&"a".repeat(64)).is_none());
        assert!(QName::parse(&format!("{}.com", "a".repeat(63))).is_some());
        assert!(QName::parse("").is_none());
        assert!(QName::parse(".").is_none());
        // 253 characters are 255 octets on the wire; one more is too many.
        let max = format!("{0}.{0}.{0}.{1}", "a".repeat(63), "b".repeat(61));
        assert_eq!(max.len(), 253);
        assert_eq!(QName::parse(&max).map(|q| q.wire().len()), Some(255));
        assert!(QName::parse(&format!("{max}b")).is_none());
    }

    #[test]
    fn labels_comparison_and_presentation() {
        let q = QName::parse("_dmarc.Example.COM.").unwrap();
        let labels: Vec<&[u8]> = q.labels().collect();
        assert_eq!(labels, [&b"_dmarc"[..], b"Example", b"COM"]);
        assert!(q.same_as(&QName::parse("_DMARC.example.com").unwrap()));
        assert!(!q.same_as(&QName::parse("_dmarc.example.co").unwrap()));
        // `ab.c` and `a.bc` differ by their length octets.
        assert!(
            !QName::parse("ab.c")
                .unwrap()
                .same_as(&QName::parse("a.bc").unwrap())
        );
        assert_eq!(q.to_presentation(), "_dmarc.example.com");
        assert_eq!(QName::root().to_presentation(), "");
        assert_eq!(QName::root().labels().count(), 0);
        let from = QName::from_labels([&b"a"[..], b"b"].into_iter()).unwrap();
        assert_eq!(from.wire(), b"\x01a\x01b\x00");
        assert!(QName::from_labels([&b""[..]].into_iter()).is_none());
        let too_long = vec![[b'x'; 63]; 4];
        assert!(QName::from_labels(too_long.iter().map(|l| &l[..])).is_none());
        // An escaped dot stays inside its label.
        let esc = QName::parse(r"a\.b.example").unwrap();
        assert_eq!(esc.labels().count(), 2);
        assert_eq!(esc.to_presentation(), r"a\.b.example");
    }
}
