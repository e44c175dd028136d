//! Why a line was rejected: stable snake_case codes.
//!
//! These labels are a contract: they appear in `--stats` output and in
//! rejection files, so a variant is never renamed, only added.

use std::fmt;

/// Why an input line (or zone entry) produced no domain.
///
/// Blank lines, comments, headers and zone records that are not delegations
/// are *skipped*, not rejected: they are counted in [`crate::SourceStats`]
/// but are not faults of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    /// The line is not valid UTF-8.
    InvalidUtf8,
    /// The line contains a NUL byte.
    NulByte,
    /// The line is longer than the reader's bound; the rest was read and discarded.
    LineTooLong,
    /// The domain field is empty (CSV) after trimming.
    EmptyField,
    /// A label is empty (`a..b`, a leading dot, or more than one trailing dot).
    EmptyLabel,
    /// A label is longer than 63 octets (RFC 1035 §2.3.4).
    LabelTooLong,
    /// The name is longer than 253 octets in text form (RFC 1035 §2.3.4).
    NameTooLong,
    /// A character outside letters, digits, hyphen and dot (after IDNA mapping).
    InvalidCharacter,
    /// A label starts or ends with a hyphen (RFC 1123 §2.1, RFC 952).
    InvalidHyphen,
    /// IDNA UTS #46 processing failed (disallowed code point, bad Punycode, ...).
    IdnaInvalid,
    /// The field is an IPv4 or IPv6 address, not a domain.
    IpAddress,
    /// The last label is all digits (RFC 3696 §2: TLDs are not all-numeric).
    NumericTld,
    /// The field is a URL (`scheme://...`); hosts are not extracted.
    Url,
    /// A plain-list line holds more than one whitespace-separated field.
    MultipleFields,
    /// A CSV row has no field at the domain (or rank) column.
    MissingColumn,
    /// A rank field is not an unsigned integer.
    InvalidRank,
    /// A CSV row has an unterminated quoted field.
    UnterminatedQuote,
    /// A zone entry is malformed (unbalanced parentheses, unterminated quote, no type).
    ZoneSyntax,
    /// A zone entry spans more physical lines or bytes than the reader's bound.
    ZoneEntryTooLong,
    /// A zone entry has a blank owner but no previous owner to inherit.
    ZoneMissingOwner,
    /// A zone directive other than `$ORIGIN`, `$TTL` and `$INCLUDE` (e.g. `$GENERATE`).
    ZoneUnsupportedDirective,
    /// An NS owner that is not at or below the zone apex.
    ZoneOutOfZone,
}

impl RejectReason {
    /// Every reason, in declaration order.
    pub const ALL: [RejectReason; 22] = [
        Self::InvalidUtf8,
        Self::NulByte,
        Self::LineTooLong,
        Self::EmptyField,
        Self::EmptyLabel,
        Self::LabelTooLong,
        Self::NameTooLong,
        Self::InvalidCharacter,
        Self::InvalidHyphen,
        Self::IdnaInvalid,
        Self::IpAddress,
        Self::NumericTld,
        Self::Url,
        Self::MultipleFields,
        Self::MissingColumn,
        Self::InvalidRank,
        Self::UnterminatedQuote,
        Self::ZoneSyntax,
        Self::ZoneEntryTooLong,
        Self::ZoneMissingOwner,
        Self::ZoneUnsupportedDirective,
        Self::ZoneOutOfZone,
    ];

    /// The stable snake_case label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidUtf8 => "invalid_utf8",
            Self::NulByte => "nul_byte",
            Self::LineTooLong => "line_too_long",
            Self::EmptyField => "empty_field",
            Self::EmptyLabel => "empty_label",
            Self::LabelTooLong => "label_too_long",
            Self::NameTooLong => "name_too_long",
            Self::InvalidCharacter => "invalid_character",
            Self::InvalidHyphen => "invalid_hyphen",
            Self::IdnaInvalid => "idna_invalid",
            Self::IpAddress => "ip_address",
            Self::NumericTld => "numeric_tld",
            Self::Url => "url",
            Self::MultipleFields => "multiple_fields",
            Self::MissingColumn => "missing_column",
            Self::InvalidRank => "invalid_rank",
            Self::UnterminatedQuote => "unterminated_quote",
            Self::ZoneSyntax => "zone_syntax",
            Self::ZoneEntryTooLong => "zone_entry_too_long",
            Self::ZoneMissingOwner => "zone_missing_owner",
            Self::ZoneUnsupportedDirective => "zone_unsupported_directive",
            Self::ZoneOutOfZone => "zone_out_of_zone",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for r in RejectReason::ALL {
            let s = r.as_str();
            assert!(seen.insert(s), "duplicate label {s}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{s}"
            );
        }
    }
}
