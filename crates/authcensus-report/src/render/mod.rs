//! Output: every command builds a [`Doc`] (headings, tables, charts) that is
//! rendered as a terminal table, Markdown or HTML; JSON is the serde form of
//! the command's typed result and CSV its long ("tidy") form.
//!
//! Record content is attacker-controlled: the terminal form replaces control
//! characters (no escape sequences reach a terminal), Markdown escapes its
//! punctuation and `<>&`, CSV quotes every field that needs it, and HTML
//! escapes every text node and attribute ([`html::escape`]) and forbids
//! scripts with a Content-Security-Policy.

pub mod docs;
pub mod html;
pub mod svg;
pub mod text;

use std::fmt;
use std::str::FromStr;

use crate::ReportError;

/// An output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned plain text for a terminal.
    #[default]
    Table,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// The documented JSON structure.
    Json,
    /// Long-format CSV.
    Csv,
    /// A self-contained HTML page with SVG charts.
    Html,
}

impl FromStr for Format {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "table" => Format::Table,
            "markdown" | "md" => Format::Markdown,
            "json" => Format::Json,
            "csv" => Format::Csv,
            "html" => Format::Html,
            _ => {
                return Err(ReportError::Usage(format!(
                    "unknown format `{s}`; one of: table, markdown, json, csv, html"
                )));
            }
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Table => "table",
            Format::Markdown => "markdown",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Html => "html",
        })
    }
}

/// A rendered document before its format is chosen.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    /// Page title.
    pub title: String,
    /// Content, in order.
    pub blocks: Vec<Block>,
}

/// One part of a [`Doc`].
#[derive(Debug, Clone)]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// A sentence.
    Note(String),
    /// A table.
    Table(Table),
    /// A chart (HTML only; its numbers are also in a table).
    Chart(Chart),
}

/// A table of text cells; columns after the first are right-aligned.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// A chart drawn as inline SVG.
#[derive(Debug, Clone)]
pub enum Chart {
    /// One horizontal bar per row, split into segments (e.g. a policy mix).
    StackedBars {
        /// Chart title.
        title: String,
        /// Segment names (legend), in order.
        segments: Vec<String>,
        /// (bar label, count per segment).
        bars: Vec<(String, Vec<u64>)>,
    },
    /// A matrix heat map (e.g. old → new transitions).
    Heat {
        /// Chart title.
        title: String,
        /// Row labels (old).
        rows: Vec<String>,
        /// Column labels (new).
        cols: Vec<String>,
        /// Counts, `cells[row][col]`.
        cells: Vec<Vec<u64>>,
    },
    /// Lines over an ordered x axis (e.g. snapshots).
    Lines {
        /// Chart title.
        title: String,
        /// X labels.
        x: Vec<String>,
        /// (series name, y per x in 0..=1).
        series: Vec<(String, Vec<Option<f64>>)>,
    },
}

/// Renders `doc` in a document format (`table`, `markdown`, `html`).
pub fn render_doc(doc: &Doc, format: Format) -> String {
    match format {
        Format::Markdown => text::markdown(doc),
        Format::Html => html::page(doc),
        _ => text::plain(doc),
    }
}

/// A percentage with one decimal, `-` without a base.
pub fn pct(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_string(), |s| format!("{:.1}%", 100.0 * s))
}

/// CSV of rows (RFC 4180 quoting).
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }
    let mut out = header.join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|c| field(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// A share as CSV/JSON-friendly text (6 decimals, empty without a base).
pub fn share_text(share: Option<f64>) -> String {
    share.map_or_else(String::new, |s| format!("{s:.6}"))
}
