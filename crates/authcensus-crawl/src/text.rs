//! Storing hostile text: control characters escaped, lengths and list sizes
//! bounded, and a flag (`records_truncated`) when anything was changed.

/// Escapes control characters as `\u{hex}` (a newline becomes `\u{a}`):
/// the columns are for reading and for line-based tools, not for
/// round-tripping. Returns the text and whether it was changed.
pub fn escape_controls(s: &str) -> (String, bool) {
    if !s.chars().any(char::is_control) {
        return (s.to_string(), false);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    (out, true)
}

/// Cuts `s` to at most `max` bytes at a character boundary. Returns the
/// text and whether it was cut.
pub fn truncate_to(s: String, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    (s[..end].to_string(), true)
}

/// Applies the storage bounds of one row and remembers whether any applied.
#[derive(Debug)]
pub struct Bounded {
    record_max: usize,
    short_max: usize,
    list_max: usize,
    touched: bool,
}

impl Bounded {
    /// Bounds: record texts, short texts (URIs, names), list entries.
    pub fn new(record_max: usize, short_max: usize, list_max: usize) -> Self {
        Bounded {
            record_max,
            short_max,
            list_max,
            touched: false,
        }
    }

    /// True if some text was escaped or cut, or a list shortened.
    pub fn touched(&self) -> bool {
        self.touched
    }

    /// The bound of short texts.
    pub fn short_max(&self) -> usize {
        self.short_max
    }

    /// Records that the record layer already shortened something this row
    /// stores (e.g. a DMARC record's URI list capped by the parser).
    pub fn mark(&mut self) {
        self.touched = true;
    }

    fn bound(&mut self, s: &str, max: usize) -> String {
        let (s, escaped) = escape_controls(s);
        let (s, cut) = truncate_to(s, max);
        // U+FFFD: invalid UTF-8 was replaced before the text reached us, so
        // the stored text differs from the record's bytes.
        self.touched |= escaped || cut || s.contains('\u{FFFD}');
        s
    }

    /// A record text (SPF, DMARC).
    pub fn record(&mut self, s: &str) -> String {
        self.bound(s, self.record_max)
    }

    /// A short text (URI, id).
    pub fn short(&mut self, s: &str) -> String {
        self.bound(s, self.short_max)
    }

    /// A list of texts, each bounded to `max` bytes, at most `list_max` entries.
    pub fn list<'a>(&mut self, items: impl Iterator<Item = &'a str>, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        for item in items {
            if out.len() >= self.list_max {
                self.touched = true;
                break;
            }
            out.push(self.bound(item, max));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_cuts() {
        let mut b = Bounded::new(8, 4, 2);
        assert_eq!(b.record("v=spf1 -all"), "v=spf1 -");
        assert!(b.touched());
        let mut b = Bounded::new(64, 64, 2);
        assert_eq!(b.record("a\nb\u{7}"), "a\\u{a}b\\u{7}");
        assert!(b.touched());
        let mut b = Bounded::new(64, 64, 2);
        assert_eq!(b.record("plain"), "plain");
        assert!(!b.touched());
        assert_eq!(b.list(["x", "y", "z"].into_iter(), 10), vec!["x", "y"]);
        assert!(b.touched());
        // A multi-byte character is never split.
        assert_eq!(truncate_to("aé".to_string(), 2), ("a".to_string(), true));
    }
}
