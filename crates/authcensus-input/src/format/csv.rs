//! CSV rows, one physical line each (RFC 4180 quoting within a line).
//!
//! Real domain lists (Tranco, Majestic, CISA's .gov list) never put a line
//! break inside a field, so a row is a line; an unterminated quote is a
//! rejected row (`unterminated_quote`), never a reason to swallow the lines
//! after it.

use std::borrow::Cow;

use super::{Column, Fatal, Format, Outcome, SkipKind};
use crate::RejectReason;
use crate::normalize::normalize_domain;

/// Header names taken as the domain column when none is given (case-insensitive).
const DOMAIN_HEADERS: [&str; 6] = [
    "domain",
    "domain name",
    "domain_name",
    "domainname",
    "host",
    "hostname",
];
/// Header names taken as the rank column (case-insensitive).
const RANK_HEADERS: [&str; 3] = ["rank", "globalrank", "global_rank"];

#[derive(Debug)]
pub(crate) struct CsvState {
    format: Format,
    wanted: Option<Column>,
    header_pending: bool,
    domain_col: usize,
    rank_col: Option<usize>,
    rank_required: bool,
    fields: Vec<String>,
}

impl CsvState {
    pub(crate) fn new(format: Format, column: Option<&Column>) -> Self {
        let mut s = Self {
            format,
            wanted: column.cloned(),
            header_pending: true,
            domain_col: 0,
            rank_col: None,
            rank_required: false,
            fields: Vec::new(),
        };
        match (format, column) {
            (_, Some(Column::Index(i))) => {
                s.header_pending = false;
                s.domain_col = i.saturating_sub(1);
            }
            (Format::Tranco, None) => {
                // `rank,domain`, no header; a non-numeric first rank is a header.
                s.domain_col = 1;
                s.rank_col = Some(0);
                s.rank_required = true;
            }
            _ => {}
        }
        s
    }

    pub(crate) fn line(&mut self, text: &str, number: u64) -> Result<Outcome, Fatal> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return Ok(Outcome::Skip(SkipKind::BlankOrComment));
        }
        if split_row(text, &mut self.fields).is_err() {
            return Ok(Outcome::Reject(RejectReason::UnterminatedQuote));
        }
        if self.header_pending {
            self.header_pending = false;
            if self.format == Format::Tranco && self.wanted.is_none() {
                let rank = self.fields.first().map(|f| f.trim()).unwrap_or_default();
                if rank.parse::<u64>().is_err() {
                    return Ok(Outcome::Skip(SkipKind::Header));
                }
            } else {
                self.read_header()?;
                return Ok(Outcome::Skip(SkipKind::Header));
            }
        }
        let Some(domain) = self.fields.get(self.domain_col) else {
            return Ok(Outcome::Reject(RejectReason::MissingColumn));
        };
        let rank = match self.rank_col {
            None => None,
            Some(c) => match self.fields.get(c).map(|f| f.trim()) {
                None if self.rank_required => {
                    return Ok(Outcome::Reject(RejectReason::MissingColumn));
                }
                Some("") | None => None,
                Some(r) => match r.parse::<u64>() {
                    Ok(r) => Some(r),
                    Err(_) => return Ok(Outcome::Reject(RejectReason::InvalidRank)),
                },
            },
        };
        Ok(match normalize_domain(domain.trim()) {
            Ok(name) => Outcome::Domain {
                name,
                rank,
                line: number,
            },
            Err(r) => Outcome::Reject(r),
        })
    }

    fn read_header(&mut self) -> Result<(), Fatal> {
        let find = |names: &[&str], fields: &[String]| {
            fields
                .iter()
                .position(|f| names.iter().any(|n| f.trim().eq_ignore_ascii_case(n)))
        };
        let wanted_name = match (&self.wanted, self.format) {
            (Some(Column::Name(n)), _) => Some(n.clone()),
            (None, Format::Majestic) => Some("Domain".to_owned()),
            _ => None,
        };
        let domain = match &wanted_name {
            Some(n) => find(&[n.as_str()], &self.fields),
            None => find(&DOMAIN_HEADERS, &self.fields),
        };
        let Some(domain) = domain else {
            let wanted = wanted_name.map_or_else(
                || format!("a domain column ({})", DOMAIN_HEADERS.join(", ")),
                |n| format!("column `{n}`"),
            );
            return Err(Fatal::Column(format!(
                "the CSV header has no {wanted}; header fields: {}; use --column NAME|INDEX",
                self.fields.join(", ")
            )));
        };
        self.domain_col = domain;
        self.rank_col = find(&RANK_HEADERS, &self.fields);
        Ok(())
    }
}

/// Splits one row into `out`. `Err` for an unterminated quoted field.
pub(crate) fn split_row(line: &str, out: &mut Vec<String>) -> Result<(), ()> {
    out.clear();
    let mut rest = line;
    loop {
        let (field, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if quoted.get(i + 1..).is_some_and(|r| r.starts_with('"')) {
                        value.push('"');
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                } else {
                    value.push(c);
                }
            }
            let end = end.ok_or(())?;
            let after = quoted.get(end..).unwrap_or_default();
            // Text between the closing quote and the comma is kept (lenient).
            match after.find(',') {
                Some(i) => {
                    value.push_str(after.get(..i).unwrap_or_default());
                    (
                        Cow::Owned(value),
                        Some(after.get(i + 1..).unwrap_or_default()),
                    )
                }
                None => {
                    value.push_str(after);
                    (Cow::Owned(value), None)
                }
            }
        } else {
            match rest.find(',') {
                Some(i) => (
                    Cow::Borrowed(rest.get(..i).unwrap_or_default()),
                    Some(rest.get(i + 1..).unwrap_or_default()),
                ),
                None => (Cow::Borrowed(rest), None),
            }
        };
        out.push(field.into_owned());
        match after {
            Some(a) => rest = a,
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(s: &str) -> Result<Vec<String>, ()> {
        let mut v = Vec::new();
        split_row(s, &mut v).map(|()| v)
    }

    #[test]
    fn splitting() {
        assert_eq!(row("a,b,,c").unwrap(), ["a", "b", "", "c"]);
        assert_eq!(row(r#""x,y",z"#).unwrap(), ["x,y", "z"]);
        assert_eq!(row(r#""say ""hi""",1"#).unwrap(), [r#"say "hi""#, "1"]);
        assert_eq!(row("").unwrap(), [""]);
        assert!(row(r#""open,1"#).is_err());
    }

    #[test]
    fn tranco_rows_and_header() {
        let mut s = CsvState::new(Format::Tranco, None);
        assert_eq!(
            s.line("rank,domain", 1).unwrap(),
            Outcome::Skip(SkipKind::Header)
        );
        assert_eq!(
            s.line("7,Example.com", 2).unwrap(),
            Outcome::Domain {
                name: "example.com".into(),
                rank: Some(7),
                line: 2
            }
        );
        assert_eq!(
            s.line("x,a.com", 3).unwrap(),
            Outcome::Reject(RejectReason::InvalidRank)
        );
        assert_eq!(
            s.line("8", 4).unwrap(),
            Outcome::Reject(RejectReason::MissingColumn)
        );
    }

    #[test]
    fn named_column_missing_is_fatal() {
        let mut s = CsvState::new(Format::Csv, Some(&Column::Name("site".into())));
        assert!(matches!(s.line("a,b", 1), Err(Fatal::Column(_))));
        let mut s = CsvState::new(Format::Csv, None);
        assert_eq!(
            s.line("Rank,Hostname", 1).unwrap(),
            Outcome::Skip(SkipKind::Header)
        );
        assert_eq!(
            s.line("3,a.org", 2).unwrap(),
            Outcome::Domain {
                name: "a.org".into(),
                rank: Some(3),
                line: 2
            }
        );
    }
}
