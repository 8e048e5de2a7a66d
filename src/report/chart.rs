//! A segmentation's chart as SVG, in the shape of the segmentation: sorted bars for
//! one dimension, a Marimekko market map for two crossed, nested bars for `then`,
//! share lines per period for `over`, a heat matrix for `migrate`. The `svg` crate
//! writes the document (escaping included); the layouts are plain arithmetic, so
//! the output is the same bytes on every machine (no font metrics are read: text
//! widths are estimated from character counts).
//!
//! Every mark (bar, cell, point) has `class="mark"` and `data-label`, which the
//! browser test counts.

use super::data::Row;
use crate::check::program::{Checked, SegMode};
use svg::node::element::{Group, Line, Polyline, Rectangle, Text, Title};
use svg::Document;

/// Okabe and Ito's colour-blind-safe palette (black left out: it is the text).
pub const PALETTE: [&str; 7] =
    ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"];
/// The unassigned segment's own colour.
pub const UNASSIGNED: &str = "#9E9E9E";
pub const UNASSIGNED_LABEL: &str = "(unassigned)";

const FONT: &str = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif";
const CHAR_W: f64 = 7.0;

fn label_of(l: &Option<String>) -> String {
    l.clone().unwrap_or_else(|| UNASSIGNED_LABEL.to_string())
}

fn colour(i: usize, label: &str) -> &'static str {
    if label == UNASSIGNED_LABEL {
        UNASSIGNED
    } else {
        PALETTE[i % PALETTE.len()]
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn text(x: f64, y: f64, s: &str, anchor: &str, size: u32) -> Text {
    Text::new(s)
        .set("x", round(x))
        .set("y", round(y))
        .set("text-anchor", anchor)
        .set("font-size", size)
        .set("style", FONT)
}

/// Coordinates to 0.01 px: enough for exact geometry, stable bytes.
fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn doc(width: f64, height: f64, title: &str) -> Document {
    Document::new()
        .set("viewBox", (0, 0, round(width), round(height)))
        .set("width", round(width))
        .set("height", round(height))
        .set("role", "img")
        .set("aria-label", title)
        .add(Title::new(title))
}

/// The chart for segmentation `s`, or `None` when it has no rows to draw.
pub fn chart(p: &Checked, s: usize, names: &[String], rows: &[Row]) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let sd = &p.segments[s];
    let svg = if sd.migrate.is_some() {
        heat(&sd.name, rows)
    } else if sd.over.is_some() {
        lines(&sd.name, rows)
    } else if sd.mode == SegMode::Then {
        nested(&sd.name, rows)
    } else if names.len() == 2 && !sd.with_total {
        mekko(&sd.name, names, rows)
    } else {
        bars(&sd.name, rows.iter().filter(|r| r.level.is_none_or(|l| l > 0)).cloned().collect())
    };
    Some(svg.to_string())
}

fn joined(r: &Row) -> String {
    r.labels.iter().map(label_of).collect::<Vec<_>>().join(" · ")
}

/// Horizontal bars sorted by share, each with its share.
pub fn bars(title: &str, mut rows: Vec<Row>) -> Document {
    rows.sort_by(|a, b| b.share.unwrap_or(0.0).total_cmp(&a.share.unwrap_or(0.0)));
    let label_w =
        rows.iter().map(|r| joined(r).chars().count()).max().unwrap_or(4) as f64 * CHAR_W + 16.0;
    let (bar_w, row_h) = (420.0, 24.0);
    let height = rows.len() as f64 * row_h + 16.0;
    let width = label_w + bar_w + 70.0;
    let max = rows.iter().filter_map(|r| r.share).fold(0.0f64, f64::max).max(1e-12);
    let mut d = doc(width, height, title);
    for (i, r) in rows.iter().enumerate() {
        let label = joined(r);
        let share = r.share.unwrap_or(0.0);
        let y = 8.0 + i as f64 * row_h;
        let w = bar_w * share / max;
        let fill = colour(i, &label);
        let mut g = Group::new().set("class", "mark").set("data-label", label.clone());
        g = g.add(Title::new(format!("{label}: {} of the total, {} rows", pct(share), r.rows)));
        if r.rows == 0.0 {
            // An empty segment: an outline where its bar would start.
            g = g.add(
                Rectangle::new()
                    .set("x", round(label_w))
                    .set("y", round(y + 3.0))
                    .set("width", 2)
                    .set("height", round(row_h - 6.0))
                    .set("fill", "none")
                    .set("stroke", "#555")
                    .set("stroke-dasharray", "2,2"),
            );
        } else {
            g = g.add(
                Rectangle::new()
                    .set("x", round(label_w))
                    .set("y", round(y + 3.0))
                    .set("width", round(w.max(1.0)))
                    .set("height", round(row_h - 6.0))
                    .set("fill", fill),
            );
        }
        g = g.add(text(label_w - 8.0, y + row_h / 2.0 + 4.0, &label, "end", 12));
        let note = if r.rows == 0.0 { "empty".to_string() } else { pct(share) };
        g = g.add(text(label_w + w.max(1.0) + 6.0, y + row_h / 2.0 + 4.0, &note, "start", 12));
        d = d.add(g);
    }
    d
}

/// The Marimekko layout: one column per first label, as wide as its share; its
/// cells as tall as the second labels' shares within it. Shares are of whatever
/// the segmentation shares (rows, or a measure with `share of`).
pub struct MekkoCell {
    pub col: String,
    pub row: String,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub share: f64,
}

pub fn mekko_layout(rows: &[Row], width: f64, height: f64) -> Vec<MekkoCell> {
    let mut cols: Vec<String> = Vec::new();
    for r in rows {
        let c = label_of(&r.labels[0]);
        if !cols.contains(&c) {
            cols.push(c);
        }
    }
    let total: f64 = rows.iter().filter_map(|r| r.share).sum();
    let mut out = Vec::new();
    let mut x = 0.0;
    for c in &cols {
        let cells: Vec<&Row> = rows.iter().filter(|r| label_of(&r.labels[0]) == *c).collect();
        let col_share: f64 = cells.iter().filter_map(|r| r.share).sum();
        let w = if total > 0.0 { width * col_share / total } else { 0.0 };
        let mut y = 0.0;
        for r in cells {
            let share = r.share.unwrap_or(0.0);
            let h = if col_share > 0.0 { height * share / col_share } else { 0.0 };
            out.push(MekkoCell { col: c.clone(), row: label_of(&r.labels[1]), x, y, w, h, share });
            y += h;
        }
        x += w;
    }
    out
}

pub fn mekko(title: &str, names: &[String], rows: &[Row]) -> Document {
    let (left, top, w, h) = (10.0, 40.0, 720.0, 360.0);
    let cells = mekko_layout(rows, w, h);
    let mut seconds: Vec<String> = Vec::new();
    for c in &cells {
        if !seconds.contains(&c.row) {
            seconds.push(c.row.clone());
        }
    }
    let legend_h = 22.0 * ((seconds.len() as f64) / 4.0).ceil();
    let mut d = doc(left * 2.0 + w, top + h + 40.0 + legend_h, title);
    d = d.add(text(
        left,
        16.0,
        &format!("width: share of {}; height: share of {} within it", names[0], names[1]),
        "start",
        12,
    ));
    let mut col_done: Vec<String> = Vec::new();
    for c in &cells {
        let i = seconds.iter().position(|s| *s == c.row).unwrap_or(0);
        let (x, y) = (left + c.x, top + c.y);
        let mut g = Group::new()
            .set("class", "mark mekko-cell")
            .set("data-label", format!("{} · {}", c.col, c.row))
            .add(Title::new(format!("{} · {}: {} of the total", c.col, c.row, pct(c.share))));
        let empty = c.share == 0.0;
        g = g.add(
            Rectangle::new()
                .set("x", round(x))
                .set("y", round(y))
                .set("width", round(c.w))
                .set("height", round(c.h))
                .set("fill", if empty { "none" } else { colour(i, &c.row) })
                .set("stroke", "#fff")
                .set("stroke-width", 1),
        );
        // Labelled where the cell is large enough to hold its text.
        let label = format!("{} {}", c.row, pct(c.share));
        if c.w >= label.chars().count() as f64 * 6.5 + 6.0 && c.h >= 16.0 {
            g = g.add(text(x + 4.0, y + 13.0, &label, "start", 11).set("fill", "#000"));
        }
        d = d.add(g);
        if !col_done.contains(&c.col) {
            col_done.push(c.col.clone());
            let cw: f64 = cells.iter().filter(|k| k.col == c.col).map(|k| k.w).fold(0.0, f64::max);
            if cw >= c.col.chars().count() as f64 * 6.5 {
                d = d.add(text(x + cw / 2.0, top - 6.0, &c.col, "middle", 12));
            }
        }
    }
    for (i, s) in seconds.iter().enumerate() {
        let (lx, ly) = (left + (i % 4) as f64 * 180.0, top + h + 24.0 + (i / 4) as f64 * 22.0);
        d = d
            .add(
                Rectangle::new()
                    .set("x", round(lx))
                    .set("y", round(ly - 10.0))
                    .set("width", 12)
                    .set("height", 12)
                    .set("fill", colour(i, s)),
            )
            .add(text(lx + 16.0, ly, s, "start", 12));
    }
    d
}

/// `then`: each parent's bar, its children's bars indented under it.
pub fn nested(title: &str, rows: &[Row]) -> Document {
    let row_h = 22.0;
    let shown: Vec<&Row> = rows.iter().filter(|r| r.level.is_some_and(|l| l > 0)).collect();
    let label_w = shown
        .iter()
        .map(|r| {
            let depth = r.level.unwrap_or(1) as usize;
            label_of(&r.labels[depth - 1]).chars().count() + 2 * depth
        })
        .max()
        .unwrap_or(4) as f64
        * CHAR_W
        + 16.0;
    let bar_w = 420.0;
    let mut d = doc(label_w + bar_w + 70.0, shown.len() as f64 * row_h + 16.0, title);
    let mut parent = 0usize;
    for (i, r) in shown.iter().enumerate() {
        let depth = r.level.unwrap_or(1) as usize;
        let label = label_of(&r.labels[depth - 1]);
        if depth == 1 && i > 0 {
            parent += 1;
        }
        let share = r.share.unwrap_or(0.0);
        let y = 8.0 + i as f64 * row_h;
        let fill =
            if label == UNASSIGNED_LABEL { UNASSIGNED } else { PALETTE[parent % PALETTE.len()] };
        let opacity = if depth == 1 { 1.0 } else { 0.55 };
        let full = r.labels[..depth].iter().map(label_of).collect::<Vec<_>>().join(" · ");
        let mut g = Group::new()
            .set("class", format!("mark level-{depth}"))
            .set("data-label", full.clone())
            .add(Title::new(format!("{full}: {} of the total, {} rows", pct(share), r.rows)));
        g = g.add(
            Rectangle::new()
                .set("x", round(label_w))
                .set("y", round(y + 3.0))
                .set("width", round((bar_w * share).max(if r.rows == 0.0 { 0.0 } else { 1.0 })))
                .set("height", round(row_h - 6.0))
                .set("fill", fill)
                .set("fill-opacity", opacity),
        );
        g = g.add(text(
            label_w - 8.0,
            y + row_h / 2.0 + 4.0,
            &format!("{}{label}", "  ".repeat(depth - 1)),
            "end",
            if depth == 1 { 12 } else { 11 },
        ));
        let note = if r.rows == 0.0 { "empty".to_string() } else { pct(share) };
        g = g.add(text(label_w + bar_w * share + 6.0, y + row_h / 2.0 + 4.0, &note, "start", 11));
        d = d.add(g);
    }
    d
}

/// `over`: one line per segment of its share per period; the last period's growth
/// marked at the line's end.
pub fn lines(title: &str, rows: &[Row]) -> Document {
    let mut periods: Vec<String> = Vec::new();
    let mut series: Vec<String> = Vec::new();
    let top_level: Vec<&Row> = rows.iter().filter(|r| r.level.is_none_or(|l| l > 0)).collect();
    for r in &top_level {
        let p = r.period.clone().unwrap_or_else(|| "(none)".into());
        if !periods.contains(&p) {
            periods.push(p);
        }
        let s = joined(r);
        if !series.contains(&s) {
            series.push(s);
        }
    }
    let (left, top, w, h) = (50.0, 20.0, 640.0, 280.0);
    let legend_w =
        series.iter().map(|s| s.chars().count()).max().unwrap_or(4) as f64 * CHAR_W + 90.0;
    let max = top_level.iter().filter_map(|r| r.share).fold(0.0f64, f64::max).max(1e-12);
    let mut d = doc(left + w + legend_w, top + h + 50.0, title);
    let step = if periods.len() > 1 { w / (periods.len() - 1) as f64 } else { 0.0 };
    let px = |i: usize| left + i as f64 * step;
    let py = |s: f64| top + h - h * s / max;
    d = d.add(
        Line::new()
            .set("x1", left)
            .set("y1", top + h)
            .set("x2", left + w)
            .set("y2", top + h)
            .set("stroke", "#888"),
    );
    for frac in [0.0, 0.5, 1.0] {
        d = d.add(text(left - 6.0, py(max * frac) + 4.0, &pct(max * frac), "end", 10));
    }
    let every = (periods.len() / 8).max(1);
    for (i, p) in periods.iter().enumerate() {
        if i % every == 0 || i + 1 == periods.len() {
            d = d.add(text(px(i), top + h + 16.0, p, "middle", 10));
        }
    }
    for (k, s) in series.iter().enumerate() {
        let fill = colour(k, s);
        let points: Vec<(usize, f64, Option<f64>)> = top_level
            .iter()
            .filter(|r| joined(r) == *s)
            .filter_map(|r| {
                let rp = r.period.clone().unwrap_or_else(|| "(none)".into());
                let p = periods.iter().position(|x| *x == rp)?;
                Some((p, r.share.unwrap_or(0.0), r.growth))
            })
            .collect();
        let pts: String = points
            .iter()
            .map(|(i, v, _)| format!("{},{}", round(px(*i)), round(py(*v))))
            .collect::<Vec<_>>()
            .join(" ");
        let mut g = Group::new().set("class", "series").set("data-label", s.clone());
        g = g.add(
            Polyline::new()
                .set("points", pts)
                .set("fill", "none")
                .set("stroke", fill)
                .set("stroke-width", 2),
        );
        for (i, v, _) in &points {
            g = g.add(
                svg::node::element::Circle::new()
                    .set("class", "mark")
                    .set("data-label", s.clone())
                    .set("cx", round(px(*i)))
                    .set("cy", round(py(*v)))
                    .set("r", 3)
                    .set("fill", fill)
                    .add(Title::new(format!("{s}, {}: {}", periods[*i], pct(*v)))),
            );
        }
        if let Some((i, v, g_last)) = points.last() {
            let growth = g_last
                .map(|g| format!(" ({}{:.0}% growth)", if g >= 0.0 { "+" } else { "" }, g * 100.0))
                .unwrap_or_default();
            g = g.add(
                text(px(*i) + 8.0, py(*v) + 4.0, &format!("{s}{growth}"), "start", 11)
                    .set("fill", fill),
            );
        }
        d = d.add(g);
    }
    d
}

/// `migrate`: the from × to matrix, each cell shaded by its share.
pub fn heat(title: &str, rows: &[Row]) -> Document {
    let mut froms: Vec<String> = Vec::new();
    let mut tos: Vec<String> = Vec::new();
    for r in rows {
        let (f, t) = (label_of(&r.labels[0]), label_of(&r.labels[1]));
        if !froms.contains(&f) {
            froms.push(f);
        }
        if !tos.contains(&t) {
            tos.push(t);
        }
    }
    let label_w = froms.iter().map(|s| s.chars().count()).max().unwrap_or(4) as f64 * CHAR_W + 20.0;
    let (cw, ch, top) = (90.0, 34.0, 40.0);
    let max = rows.iter().filter_map(|r| r.share).fold(0.0f64, f64::max).max(1e-12);
    let mut d =
        doc(label_w + cw * tos.len() as f64 + 20.0, top + ch * froms.len() as f64 + 20.0, title);
    d = d.add(text(label_w, 14.0, "from (rows) × to (columns)", "start", 11));
    for (j, t) in tos.iter().enumerate() {
        d = d.add(text(label_w + cw * (j as f64 + 0.5), top - 8.0, t, "middle", 12));
    }
    for (i, f) in froms.iter().enumerate() {
        d = d.add(text(label_w - 8.0, top + ch * (i as f64 + 0.5) + 4.0, f, "end", 12));
    }
    for r in rows {
        let (f, t) = (label_of(&r.labels[0]), label_of(&r.labels[1]));
        let (i, j) = (
            froms.iter().position(|x| *x == f).unwrap_or(0),
            tos.iter().position(|x| *x == t).unwrap_or(0),
        );
        let share = r.share.unwrap_or(0.0);
        let (x, y) = (label_w + cw * j as f64, top + ch * i as f64);
        let g = Group::new()
            .set("class", "mark heat-cell")
            .set("data-label", format!("{f} → {t}"))
            .add(Title::new(format!("{f} → {t}: {} rows, {}", r.rows, pct(share))))
            .add(
                Rectangle::new()
                    .set("x", round(x))
                    .set("y", round(y))
                    .set("width", cw - 2.0)
                    .set("height", ch - 2.0)
                    .set("fill", "#0072B2")
                    .set("fill-opacity", round(0.08 + 0.92 * share / max))
                    .set("stroke", "#ccc"),
            )
            .add(
                text(x + cw / 2.0, y + ch / 2.0 + 4.0, &format!("{}", r.rows), "middle", 11)
                    .set("fill", if share / max > 0.55 { "#fff" } else { "#000" }),
            );
        d = d.add(g);
    }
    d
}
