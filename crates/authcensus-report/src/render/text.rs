//! Terminal tables and Markdown.

use std::fmt::Write as _;

use super::{Block, Doc, Table};

/// Makes record text safe for a terminal: control characters (including
/// ESC, so no ANSI sequence) become `\u{..}`.
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes Markdown punctuation and `<>&` so record text is shown literally.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in terminal_safe(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn plain_table(out: &mut String, t: &Table) {
    let cells: Vec<Vec<String>> = std::iter::once(&t.columns)
        .chain(&t.rows)
        .map(|r| r.iter().map(|c| terminal_safe(c)).collect())
        .collect();
    let n = t.columns.len();
    let mut width = vec![0usize; n];
    for r in &cells {
        for (i, c) in r.iter().enumerate().take(n) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    for (ri, r) in cells.iter().enumerate() {
        let mut line = String::from(" ");
        for (i, c) in r.iter().enumerate().take(n) {
            let pad = width[i].saturating_sub(c.chars().count());
            line.push(' ');
            if i == 0 {
                line.push_str(c);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            }
            line.push(' ');
        }
        let _ = writeln!(out, "{}", line.trim_end());
        if ri == 0 {
            let total: usize = width.iter().map(|w| w + 2).sum();
            let _ = writeln!(out, "  {}", "-".repeat(total.saturating_sub(2)));
        }
    }
}

/// Plain text for a terminal.
pub fn plain(doc: &Doc) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", terminal_safe(&doc.title));
    for b in &doc.blocks {
        match b {
            Block::Heading(h) => {
                let _ = writeln!(out, "\n{}", terminal_safe(h));
            }
            Block::Note(n) => {
                let _ = writeln!(out, "  {}", terminal_safe(n));
            }
            Block::Table(t) => plain_table(&mut out, t),
            Block::Chart(_) => {}
        }
    }
    out
}

/// GitHub-flavoured Markdown.
pub fn markdown(doc: &Doc) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}", markdown_escape(&doc.title));
    for b in &doc.blocks {
        match b {
            Block::Heading(h) => {
                let _ = writeln!(out, "\n## {}\n", markdown_escape(h));
            }
            Block::Note(n) => {
                let _ = writeln!(out, "\n{}\n", markdown_escape(n));
            }
            Block::Table(t) => {
                let head: Vec<String> = t.columns.iter().map(|c| markdown_escape(c)).collect();
                let _ = writeln!(out, "| {} |", head.join(" | "));
                let align: Vec<&str> = (0..t.columns.len())
                    .map(|i| if i == 0 { "---" } else { "---:" })
                    .collect();
                let _ = writeln!(out, "| {} |", align.join(" | "));
                for r in &t.rows {
                    let cells: Vec<String> = r.iter().map(|c| markdown_escape(c)).collect();
                    let _ = writeln!(out, "| {} |", cells.join(" | "));
                }
            }
            Block::Chart(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_neutralised() {
        assert_eq!(terminal_safe("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\u{a}");
        assert_eq!(markdown_escape("<script>|x*`"), "&lt;script&gt;\\|x\\*\\`");
    }
}
