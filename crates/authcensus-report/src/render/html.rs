//! A self-contained HTML page: inline CSS, inline SVG charts, no script, no
//! external resource. A Content-Security-Policy forbids scripts and every
//! fetch, as a second line of defence behind the escaping of every text.

use std::fmt::Write as _;

use super::{Block, Doc, svg};

/// Escapes text for an HTML text node or a quoted attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "&#xfffd;");
            }
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
td,th{border-bottom:1px solid #ddd;padding:2px 8px;white-space:pre-wrap}\
td+td,th+th{text-align:right}th{background:#f4f4f4}\
h2{margin-top:1.5em;border-bottom:2px solid #ccc}svg{display:block;margin:.5em 0 1em}\
.note{color:#555}";

/// The whole page.
pub fn page(doc: &Doc) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(&doc.title),
        escape(&doc.title)
    );
    for b in &doc.blocks {
        match b {
            Block::Heading(h) => {
                let _ = writeln!(out, "<h2>{}</h2>", escape(h));
            }
            Block::Note(n) => {
                let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(n));
            }
            Block::Table(t) => {
                out.push_str("<table><thead><tr>");
                for c in &t.columns {
                    let _ = write!(out, "<th>{}</th>", escape(c));
                }
                out.push_str("</tr></thead><tbody>\n");
                for r in &t.rows {
                    out.push_str("<tr>");
                    for c in r {
                        let _ = write!(out, "<td>{}</td>", escape(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody></table>\n");
            }
            Block::Chart(c) => out.push_str(&svg::chart(c)),
        }
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>\"a\"&amp;'b'</script>"),
            "&lt;script&gt;&quot;a&quot;&amp;amp;&#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{0}b"), "a&#xfffd;b");
    }
}
