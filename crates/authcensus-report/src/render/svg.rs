//! Inline SVG charts: stacked bars, a heat map and lines. Every label goes
//! through [`super::html::escape`].

use std::fmt::Write as _;

use super::Chart;
use super::html::escape;

const PALETTE: &[&str] = &[
    "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
    "#1f78b4", "#b2df8a",
];

fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

fn trunc(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n.saturating_sub(1)).collect();
        format!("{t}…")
    }
}

/// One chart as an `<svg>` element (with a caption).
pub fn chart(c: &Chart) -> String {
    match c {
        Chart::StackedBars {
            title,
            segments,
            bars,
        } => stacked(title, segments, bars),
        Chart::Heat {
            title,
            rows,
            cols,
            cells,
        } => heat(title, rows, cols, cells),
        Chart::Lines { title, x, series } => lines(title, x, series),
    }
}

fn legend(out: &mut String, y: f64, names: &[String]) {
    let mut x = 10.0;
    for (i, s) in names.iter().enumerate() {
        let _ = write!(
            out,
            "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\">{}</text>",
            color(i),
            x + 14.0,
            y + 9.0,
            escape(&trunc(s, 24))
        );
        x += 24.0 + 7.0 * trunc(s, 24).chars().count() as f64;
    }
}

fn stacked(title: &str, segments: &[String], bars: &[(String, Vec<u64>)]) -> String {
    let (label_w, bar_w, row_h) = (180.0, 520.0, 20.0);
    let height = 40.0 + row_h * bars.len() as f64 + 30.0;
    let mut out = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{height:.0}\" role=\"img\">",
        escape(title),
        label_w + bar_w + 20.0
    );
    for (r, (label, counts)) in bars.iter().enumerate() {
        let y = 10.0 + row_h * r as f64;
        let total: u64 = counts.iter().sum();
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + 13.0,
            escape(&trunc(label, 28))
        );
        let mut x = label_w;
        for (i, n) in counts.iter().enumerate() {
            if total == 0 || *n == 0 {
                continue;
            }
            let w = bar_w * *n as f64 / total as f64;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.0}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"{}\"><title>{}: {} ({:.1}%)</title></rect>",
                row_h - 4.0,
                color(i),
                escape(segments.get(i).map_or("", String::as_str)),
                n,
                100.0 * *n as f64 / total as f64
            );
            x += w;
        }
    }
    legend(&mut out, height - 25.0, segments);
    out.push_str("</svg></figure>\n");
    out
}

fn heat(title: &str, rows: &[String], cols: &[String], cells: &[Vec<u64>]) -> String {
    let (label_w, cell, top) = (150.0, 56.0, 90.0);
    let max = cells.iter().flatten().copied().max().unwrap_or(0).max(1);
    let w = label_w + cell * cols.len() as f64 + 20.0;
    let h = top + cell * rows.len() as f64 + 20.0;
    let mut out = format!(
        "<figure><figcaption>{} (rows: old, columns: new)</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" role=\"img\">",
        escape(title)
    );
    for (j, c) in cols.iter().enumerate() {
        let x = label_w + cell * j as f64 + cell / 2.0;
        let _ = write!(
            out,
            "<text x=\"{x:.0}\" y=\"{:.0}\" font-size=\"11\" transform=\"rotate(-40 {x:.0} {:.0})\">{}</text>",
            top - 6.0,
            top - 6.0,
            escape(&trunc(c, 16))
        );
    }
    for (i, r) in rows.iter().enumerate() {
        let y = top + cell * i as f64;
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + cell / 2.0 + 4.0,
            escape(&trunc(r, 22))
        );
        for (j, n) in cells
            .get(i)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
        {
            let x = label_w + cell * j as f64;
            // log scale so small off-diagonal cells stay visible next to the diagonal
            let t = if *n == 0 {
                0.0
            } else {
                (1.0 + *n as f64).ln() / (1.0 + max as f64).ln()
            };
            let light = 97.0 - 60.0 * t;
            let _ = write!(
                out,
                "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{:.0}\" height=\"{:.0}\" fill=\"hsl(210,70%,{light:.0}%)\" stroke=\"#fff\"><title>{} → {}: {n}</title></rect><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\" text-anchor=\"middle\">{n}</text>",
                cell,
                cell,
                escape(r),
                escape(cols.get(j).map_or("", String::as_str)),
                x + cell / 2.0,
                y + cell / 2.0 + 4.0
            );
        }
    }
    out.push_str("</svg></figure>\n");
    out
}

fn lines(title: &str, x: &[String], series: &[(String, Vec<Option<f64>>)]) -> String {
    let (left, top, pw, ph) = (50.0, 10.0, 560.0, 220.0);
    let h = top + ph + 60.0;
    let mut out = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{h:.0}\" role=\"img\">",
        escape(title),
        left + pw + 20.0
    );
    for k in 0..=4 {
        let y = top + ph - ph * k as f64 / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{left}\" x2=\"{:.0}\" y1=\"{y:.0}\" y2=\"{y:.0}\" stroke=\"#ddd\"/><text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\" text-anchor=\"end\">{}%</text>",
            left + pw,
            left - 4.0,
            y + 3.0,
            25 * k
        );
    }
    let step = if x.len() > 1 {
        pw / (x.len() - 1) as f64
    } else {
        0.0
    };
    for (i, label) in x.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            left + step * i as f64,
            top + ph + 14.0,
            escape(&trunc(label, 14))
        );
    }
    for (s, (_, ys)) in series.iter().enumerate() {
        let pts: Vec<String> = ys
            .iter()
            .enumerate()
            .filter_map(|(i, y)| {
                y.map(|y| {
                    format!(
                        "{:.1},{:.1}",
                        left + step * i as f64,
                        top + ph - ph * y.clamp(0.0, 1.0)
                    )
                })
            })
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            color(s),
            pts.join(" ")
        );
        for p in &pts {
            if let Some((px, py)) = p.split_once(',') {
                let _ = write!(
                    out,
                    "<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{}\"/>",
                    color(s)
                );
            }
        }
    }
    let names: Vec<String> = series.iter().map(|(n, _)| n.clone()).collect();
    legend(&mut out, top + ph + 30.0, &names);
    out.push_str("</svg></figure>\n");
    out
}
