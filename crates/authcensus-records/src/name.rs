//! Small helpers on domain names as they appear inside records.
//!
//! Names here are ASCII (A-labels); IDNA conversion of user input belongs to
//! the input crate. Limits are RFC 1035 §2.3.4: labels of 63 octets or less,
//! names of 255 octets or less on the wire (253 characters in text form
//! without the trailing dot).

/// Longest label, RFC 1035 §2.3.4.
pub const MAX_LABEL_LEN: usize = 63;
/// Longest name in text form without the trailing dot (255 wire octets).
pub const MAX_NAME_LEN: usize = 253;

/// Lowercases and strips one trailing dot.
pub fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// True if every label is 1..=63 octets and the whole is at most 253 octets.
/// Characters are not checked (TXT owner names such as `_dmarc` are legal).
pub fn has_valid_lengths(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= MAX_LABEL_LEN)
}

/// `prefix` followed by `name` (`"_dmarc."` and `"example.com"` make
/// `_dmarc.example.com`), in one allocation of the final size: `format!`
/// took about ten times the instructions, and a crawl builds several such
/// names per domain.
pub fn prefixed(prefix: &str, name: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + name.len());
    s.push_str(prefix);
    s.push_str(name);
    s
}

/// The names from `name` up to (and including) its last label, each one label
/// shorter: `a.b.c` → `a.b.c`, `b.c`, `c`.
pub fn ancestors(name: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(name);
    std::iter::from_fn(move || {
        let current = rest?;
        rest = current.split_once('.').map(|(_, tail)| tail);
        Some(current)
    })
}

/// Number of labels in `name` (`""` has zero).
pub fn label_count(name: &str) -> usize {
    if name.is_empty() {
        0
    } else {
        name.split('.').count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert!(has_valid_lengths("example.com."));
        assert!(has_valid_lengths(&format!("{}.com", "a".repeat(63))));
        assert!(!has_valid_lengths(&format!("{}.com", "a".repeat(64))));
        assert!(!has_valid_lengths("a..com"));
        assert!(!has_valid_lengths(""));
        let long = vec!["a".repeat(49); 5].join(".");
        assert_eq!(long.len(), 249);
        assert!(has_valid_lengths(&long));
        assert!(!has_valid_lengths(&format!("{long}.abcd")));
    }

    #[test]
    fn prefixed_names() {
        let n = prefixed("_dmarc.", "example.com");
        assert_eq!(n, "_dmarc.example.com");
        assert_eq!(n.capacity(), n.len());
        assert_eq!(prefixed("", "x"), "x");
    }

    #[test]
    fn ancestors_walk_up() {
        assert_eq!(
            ancestors("a.b.example.com").collect::<Vec<_>>(),
            ["a.b.example.com", "b.example.com", "example.com", "com"]
        );
        assert_eq!(label_count("a.b.c"), 3);
        assert_eq!(normalize("ExAmple.COM."), "example.com");
    }
}
