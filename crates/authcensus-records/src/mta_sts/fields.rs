//! The semicolon-separated `key=value` grammar shared by the `_mta-sts`
//! record (RFC 8461 §3.1) and the `_smtp._tls` record (RFC 8460 §3).
//!
//! Both records have the shape
//!
//! ```text
//! record      = version 1*(field-delim field) [field-delim]
//! field-delim = *WSP ";" *WSP
//! ext-name    = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//! ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
//! ```
//!
//! Since `;` never occurs inside a field, splitting on `;` is exact. The
//! splitter is linear in the input and allocates one entry per field.

/// One `name=value` field with byte offsets into the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawField<'a> {
    /// Offset of the first byte of the field (after leading WSP).
    pub start: usize,
    /// The field without surrounding WSP.
    pub text: &'a [u8],
}

/// Why a record did not split into fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SplitError {
    /// A byte outside US-ASCII (the records MUST be US-ASCII).
    NonAscii(usize),
    /// An empty field between two `;` (only one trailing `;` is allowed).
    EmptyField(usize),
}

/// `WSP = SP / HTAB` (RFC 5234 appendix B.1).
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Splits `input` on `;` and trims WSP around every field. The first field is
/// returned like the others (the caller checks the version literal). An
/// empty field is allowed only as the last one (the optional trailing
/// `field-delim`), and only when it is not also the first.
pub(crate) fn split_fields(input: &[u8]) -> Result<Vec<RawField<'_>>, SplitError> {
    if let Some(pos) = input.iter().position(|b| !b.is_ascii()) {
        return Err(SplitError::NonAscii(pos));
    }
    let mut fields = Vec::new();
    let mut seg_start = 0usize;
    let n_segments = input.iter().filter(|&&b| b == b';').count() + 1;
    for (index, segment) in input.split(|&b| b == b';').enumerate() {
        let lead = segment.iter().take_while(|&&b| is_wsp(b)).count();
        let trail = segment[lead..]
            .iter()
            .rev()
            .take_while(|&&b| is_wsp(b))
            .count();
        let text = &segment[lead..segment.len() - trail];
        let is_last = index + 1 == n_segments;
        if text.is_empty() {
            if !(is_last && index > 0) {
                return Err(SplitError::EmptyField(seg_start + lead));
            }
        } else {
            fields.push(RawField {
                start: seg_start + lead,
                text,
            });
        }
        seg_start += segment.len() + 1;
    }
    Ok(fields)
}

/// True for a valid `ext-name` (RFC 8461 §3.1, RFC 8460 §3): an ASCII
/// letter or digit followed by at most 31 of letters, digits, `_`, `-`, `.`.
pub(crate) fn is_ext_name(name: &[u8]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphanumeric()
                && rest.len() <= 31
                && rest
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        }
        None => false,
    }
}

/// True for a valid `ext-value`: one or more of `%x21-3A / %x3C / %x3E-7E`
/// (visible ASCII except `=` and `;`).
pub(crate) fn is_ext_value(value: &[u8]) -> bool {
    !value.is_empty()
        && value
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && b != b'=' && b != b';')
}

/// Why an extension field is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExtProblem {
    /// No `=` in the field.
    MissingEquals,
    /// The name is empty or has a forbidden character.
    InvalidName,
    /// The name is longer than 32 characters.
    NameTooLong,
    /// Nothing after `=`.
    EmptyValue,
    /// The value holds a forbidden byte (SP, CTL, `=`).
    InvalidValue,
}

/// Checks one generic `name=value` field and returns (name, value).
pub(crate) fn check_extension(field: &[u8]) -> Result<(&[u8], &[u8]), ExtProblem> {
    let Some(eq) = field.iter().position(|&b| b == b'=') else {
        return Err(ExtProblem::MissingEquals);
    };
    let (name, value) = (&field[..eq], &field[eq + 1..]);
    if !is_ext_name(name) {
        let len_ok = name.len() <= 32;
        let chars_ok = name.first().is_some_and(u8::is_ascii_alphanumeric)
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        return Err(if chars_ok && !len_ok {
            ExtProblem::NameTooLong
        } else {
            ExtProblem::InvalidName
        });
    }
    if value.is_empty() {
        return Err(ExtProblem::EmptyValue);
    }
    if !is_ext_value(value) {
        return Err(ExtProblem::InvalidValue);
    }
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_trims_and_allows_one_trailing_delimiter() {
        let f = split_fields(b"v=STSv1; \t id=a  \t;").unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].text, b"id=a");
        assert_eq!(f[1].start, 11);
        assert_eq!(split_fields(b"v=1;;"), Err(SplitError::EmptyField(4)));
        assert_eq!(split_fields(b";v=1"), Err(SplitError::EmptyField(0)));
        assert_eq!(split_fields(b"v=\xff"), Err(SplitError::NonAscii(2)));
    }

    #[test]
    fn extension_names_and_values() {
        assert!(is_ext_name(b"a1_-."));
        assert!(is_ext_name(&[b'a'; 32]));
        assert!(!is_ext_name(&[b'a'; 33]));
        assert!(!is_ext_name(b"_a"));
        assert_eq!(check_extension(b"1%=a"), Err(ExtProblem::InvalidName));
        assert_eq!(check_extension(b"test=="), Err(ExtProblem::InvalidValue));
        assert_eq!(check_extension(b"more="), Err(ExtProblem::EmptyValue));
        assert_eq!(
            check_extension(b"a12345678901234567890123456789012=1"),
            Err(ExtProblem::NameTooLong)
        );
    }
}
