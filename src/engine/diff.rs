//! `seg diff`: what a spec change does to the numbers. Both versions run on the
//! same data; segmentations are matched by name, segments by their labels, and for
//! every dimension both versions define on a market, the rows whose label changed
//! are counted from → to.

use super::session::{EngineError, Session};
use crate::check::program::Value;
use serde::Serialize;

/// Everything that differs between two versions of a spec.
#[derive(Debug, Default, Serialize)]
pub struct SpecDiff {
    /// Segmentations only the new version has, then only the old.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub segmentations: Vec<SegDiff>,
    pub moves: Vec<Moves>,
}

/// One segmentation both versions have.
#[derive(Debug, Serialize)]
pub struct SegDiff {
    pub name: String,
    /// The label columns (`period`, dimensions, `level`), as in `seg run`.
    pub labels: Vec<String>,
    /// The number columns both versions report (`rows`, measures, `share`, ...).
    pub columns: Vec<String>,
    pub segments: Vec<SegmentDiff>,
}

/// One segment (a label tuple) in either version.
#[derive(Debug, Serialize)]
pub struct SegmentDiff {
    pub labels: Vec<Option<String>>,
    /// Per number column: the old and new value (null where the version lacks the
    /// segment) and new minus old.
    pub values: Vec<Change>,
}

#[derive(Debug, Serialize)]
pub struct Change {
    pub old: Option<f64>,
    pub new: Option<f64>,
    pub diff: Option<f64>,
}

impl SegmentDiff {
    /// Whether any number moved (a segment present on one side only counts).
    pub fn changed(&self) -> bool {
        self.values.iter().any(|c| match (c.old, c.new) {
            (Some(a), Some(b)) => (a - b).abs() > 1e-12 * a.abs().max(b.abs()).max(1.0),
            (None, None) => false,
            _ => true,
        })
    }
}

/// Rows of a market whose label under one dimension changed between versions.
#[derive(Debug, Serialize)]
pub struct Moves {
    pub market: String,
    pub dimension: String,
    pub rows: u64,
    pub moved: u64,
    /// (old label, new label, rows), most rows first; only labels that changed.
    pub matrix: Vec<(Option<String>, Option<String>, u64)>,
}

impl SpecDiff {
    /// Whether any number moved, or a segmentation came or went.
    pub fn changed(&self) -> bool {
        !self.added.is_empty()
            || !self.removed.is_empty()
            || self.segmentations.iter().any(|s| s.segments.iter().any(|x| x.changed()))
            || self.moves.iter().any(|m| m.moved > 0)
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// A segmentation's result as (labels, numbers by column name).
type Rows = Vec<(Vec<Option<String>>, Vec<(String, Option<f64>)>)>;

fn result(session: &Session, s: usize) -> Result<(Vec<String>, Rows), EngineError> {
    let sd = &session.program.segments[s];
    let batches = session.run_segment(s)?;
    let lead = sd.label_columns() + usize::from(sd.has_levels());
    let names: Vec<String> = match batches.first() {
        Some(b) => b.schema().fields().iter().map(|f| f.name().clone()).collect(),
        None => return Ok((Vec::new(), Vec::new())),
    };
    let rows = super::batches_to_values(&batches)
        .into_iter()
        .map(|r| {
            let labels = r[..lead].iter().map(|v| v.label()).collect();
            let nums = names[lead..].iter().cloned().zip(r[lead..].iter().map(number)).collect();
            (labels, nums)
        })
        .collect();
    Ok((names[..lead].to_vec(), rows))
}

/// Compares segmentation `name` of both sessions.
fn seg_diff(old: &Session, new: &Session, o: usize, n: usize) -> Result<SegDiff, EngineError> {
    let (old_labels, old_rows) = result(old, o)?;
    let (new_labels, new_rows) = result(new, n)?;
    let labels = if new_labels.is_empty() { old_labels } else { new_labels };
    let mut columns: Vec<String> = Vec::new();
    if let (Some((_, a)), Some((_, b))) = (old_rows.first(), new_rows.first()) {
        columns = b.iter().map(|x| x.0.clone()).filter(|c| a.iter().any(|y| &y.0 == c)).collect();
    }
    let get =
        |nums: &[(String, Option<f64>)], c: &str| nums.iter().find(|x| x.0 == c).and_then(|x| x.1);
    // Segments in the new version's order, then those only the old one has.
    let mut keys: Vec<&Vec<Option<String>>> = new_rows.iter().map(|r| &r.0).collect();
    for (k, _) in &old_rows {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let segments = keys
        .into_iter()
        .map(|k| {
            let a = old_rows.iter().find(|r| &r.0 == k).map(|r| &r.1[..]);
            let b = new_rows.iter().find(|r| &r.0 == k).map(|r| &r.1[..]);
            let values = columns
                .iter()
                .map(|c| {
                    let old = a.and_then(|x| get(x, c));
                    let new = b.and_then(|x| get(x, c));
                    let diff = match (old, new) {
                        (Some(x), Some(y)) => Some(y - x),
                        _ => None,
                    };
                    Change { old, new, diff }
                })
                .collect();
            SegmentDiff { labels: k.clone(), values }
        })
        .collect();
    Ok(SegDiff { name: new.program.segments[n].name.clone(), labels, columns, segments })
}

/// For each market both versions have, the rows whose label changed under each
/// dimension both define on it (rows aligned by read order: both sessions read the
/// same files in order).
fn moves(old: &Session, new: &Session) -> Result<Vec<Moves>, EngineError> {
    use std::collections::HashMap;
    let mut out = Vec::new();
    for (nm, mk) in new.program.markets.iter().enumerate() {
        let Some(om) = old.program.markets.iter().position(|x| x.name == mk.name) else {
            continue;
        };
        let on = |s: &Session, m: usize| -> Vec<String> {
            s.program.dims.iter().filter(|d| d.market == m).map(|d| d.name.clone()).collect()
        };
        let common: Vec<String> =
            on(new, nm).into_iter().filter(|d| on(old, om).contains(d)).collect();
        if common.is_empty() {
            continue;
        }
        let labels =
            |s: &Session, m: usize| -> Result<(Vec<String>, Vec<Vec<Value>>), EngineError> {
                let plan =
                    crate::lower::assign_plan(&s.program, m, s).map_err(EngineError::lowering)?;
                let names = plan.schema().fields().iter().map(|f| f.name().clone()).collect();
                Ok((names, super::batches_to_values(&s.execute(plan)?)))
            };
        let (a_names, a_rows) = labels(old, om)?;
        let (b_names, b_rows) = labels(new, nm)?;
        if a_rows.len() != b_rows.len() {
            // Different market rows (a changed `where`): rows cannot be paired.
            continue;
        }
        for d in common {
            let (Some(i), Some(j)) =
                (a_names.iter().position(|x| *x == d), b_names.iter().position(|x| *x == d))
            else {
                continue;
            };
            let mut counts: HashMap<(Option<String>, Option<String>), u64> = HashMap::new();
            for (a, b) in a_rows.iter().zip(&b_rows) {
                let (x, y) = (a[i].label(), b[j].label());
                if x != y {
                    *counts.entry((x, y)).or_default() += 1;
                }
            }
            let mut matrix: Vec<(Option<String>, Option<String>, u64)> =
                counts.into_iter().map(|((x, y), n)| (x, y, n)).collect();
            matrix.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
            let moved = matrix.iter().map(|m| m.2).sum();
            out.push(Moves {
                market: mk.name.clone(),
                dimension: d,
                rows: b_rows.len() as u64,
                moved,
                matrix,
            });
        }
    }
    Ok(out)
}

/// Compares two versions of a spec on their data; `only` limits the comparison
/// to the named segmentations.
pub fn diff(old: &Session, new: &Session, only: &[String]) -> Result<SpecDiff, EngineError> {
    let wanted = |n: &str| only.is_empty() || only.iter().any(|x| x == n);
    let mut out = SpecDiff::default();
    let (os, ns) = (&old.program.segments, &new.program.segments);
    for s in ns.iter().filter(|s| wanted(&s.name)) {
        if !os.iter().any(|x| x.name == s.name) {
            out.added.push(s.name.clone());
        }
    }
    for s in os.iter().filter(|s| wanted(&s.name)) {
        if !ns.iter().any(|x| x.name == s.name) {
            out.removed.push(s.name.clone());
        }
    }
    // Each side's segmentations share one scan of a market where they can.
    let pairs: Vec<(usize, usize)> = ns
        .iter()
        .enumerate()
        .filter(|(_, s)| wanted(&s.name))
        .filter_map(|(n, s)| Some((os.iter().position(|x| x.name == s.name)?, n)))
        .collect();
    old.share_scans(&pairs.iter().map(|p| p.0).collect::<Vec<_>>(), true);
    new.share_scans(&pairs.iter().map(|p| p.1).collect::<Vec<_>>(), true);
    for (n, s) in ns.iter().enumerate().filter(|(_, s)| wanted(&s.name)) {
        if let Some(o) = os.iter().position(|x| x.name == s.name) {
            out.segmentations.push(seg_diff(old, new, o, n)?);
        }
    }
    out.moves = moves(old, new)?;
    Ok(out)
}

fn num(x: Option<f64>, share: bool) -> String {
    match x {
        None => "–".into(),
        Some(v) if share => format!("{:.1}%", v * 100.0),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) => format!("{v:.2}"),
    }
}

fn signed(x: Option<f64>, share: bool) -> String {
    match x {
        Some(v) if share => format!("{:+.1} pp", v * 100.0),
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{:+}", v as i64),
        Some(v) => format!("{v:+.2}"),
        None => "–".into(),
    }
}

fn is_share(c: &str) -> bool {
    matches!(c, "share" | "share_of_parent" | "share_change" | "parent_share_change")
}

fn label_text(l: &Option<String>) -> String {
    l.clone().unwrap_or_else(|| "(unassigned)".into())
}

/// A segment's cells: labels, then `old → new (±diff)` per column.
fn cells(s: &SegDiff, x: &SegmentDiff) -> Vec<String> {
    let mut row: Vec<String> = x.labels.iter().map(label_text).collect();
    for (c, v) in s.columns.iter().zip(&x.values) {
        let sh = is_share(c);
        row.push(match (v.old, v.new) {
            _ if v.old == v.new => num(v.new, sh),
            (None, _) => format!("{} (new)", num(v.new, sh)),
            (_, None) => format!("{} (gone)", num(v.old, sh)),
            _ => format!("{} → {} ({})", num(v.old, sh), num(v.new, sh), signed(v.diff, sh)),
        });
    }
    row
}

fn header(s: &SegDiff) -> Vec<String> {
    s.labels.iter().chain(&s.columns).cloned().collect()
}

/// Segments ordered by how much they moved: rows first, then share.
fn by_movement(s: &SegDiff) -> Vec<&SegmentDiff> {
    let weight = |x: &SegmentDiff, c: &str| {
        s.columns.iter().position(|y| y == c).and_then(|i| x.values[i].diff).map_or(0.0, f64::abs)
    };
    let mut v: Vec<&SegmentDiff> = s.segments.iter().filter(|x| x.changed()).collect();
    v.sort_by(|a, b| {
        weight(b, "rows")
            .total_cmp(&weight(a, "rows"))
            .then_with(|| weight(b, "share").total_cmp(&weight(a, "share")))
    });
    v
}

fn text_table(head: &[String], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |r: &[String]| {
        let cells: Vec<String> =
            r.iter().enumerate().map(|(i, c)| format!("{c:<width$}", width = w[i])).collect();
        format!("{}\n", cells.join("  ").trim_end())
    };
    let mut out = line(head);
    for r in rows {
        out.push_str(&line(r));
    }
    out
}

fn md_table(head: &[String], rows: &[Vec<String>]) -> String {
    let esc = |c: &String| c.replace('|', "\\|");
    let mut out = format!("| {} |\n", head.iter().map(esc).collect::<Vec<_>>().join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
    for r in rows {
        out.push_str(&format!("| {} |\n", r.iter().map(esc).collect::<Vec<_>>().join(" | ")));
    }
    out
}

fn move_rows(m: &Moves) -> Vec<Vec<String>> {
    m.matrix.iter().map(|(a, b, n)| vec![label_text(a), label_text(b), n.to_string()]).collect()
}

impl SpecDiff {
    /// For a terminal: added and removed first, then each segmentation's changed
    /// segments, then the rows that moved.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for a in &self.added {
            out.push_str(&format!("+ segmentation `{a}` (new)\n"));
        }
        for r in &self.removed {
            out.push_str(&format!("- segmentation `{r}` (removed)\n"));
        }
        for s in &self.segmentations {
            let changed = by_movement(s);
            out.push_str(&format!(
                "\n# segmentation `{}`: {} of {} segments changed\n",
                s.name,
                changed.len(),
                s.segments.len()
            ));
            if !changed.is_empty() {
                let rows: Vec<Vec<String>> = changed.iter().map(|x| cells(s, x)).collect();
                out.push_str(&text_table(&header(s), &rows));
            }
        }
        for m in self.moves.iter().filter(|m| m.moved > 0) {
            out.push_str(&format!(
                "\n# rows that moved: dimension `{}` of market `{}`: {} of {} rows\n",
                m.dimension, m.market, m.moved, m.rows
            ));
            out.push_str(&text_table(&["from".into(), "to".into(), "rows".into()], &move_rows(m)));
        }
        if !self.changed() {
            out.push_str("no change: every segment has the same numbers\n");
        }
        out
    }

    /// A pull-request comment: a summary, the ten biggest movers of each
    /// segmentation, everything else folded.
    pub fn to_markdown(&self, title: &str) -> String {
        let mut out = format!("### seg diff: {title}\n\n");
        if !self.changed() {
            out.push_str("No change: every segment has the same numbers.\n");
            return out;
        }
        for a in &self.added {
            out.push_str(&format!("- **added** segmentation `{a}`\n"));
        }
        for r in &self.removed {
            out.push_str(&format!("- **removed** segmentation `{r}`\n"));
        }
        let same: Vec<String> = self
            .segmentations
            .iter()
            .filter(|s| !s.segments.iter().any(|x| x.changed()))
            .map(|s| format!("`{}`", s.name))
            .collect();
        if !same.is_empty() {
            out.push_str(&format!("- unchanged: {}\n", same.join(", ")));
        }
        for s in &self.segmentations {
            let changed = by_movement(s);
            if changed.is_empty() {
                continue;
            }
            out.push_str(&format!(
                "\n#### `{}`: {} of {} segments changed\n\n",
                s.name,
                changed.len(),
                s.segments.len()
            ));
            let top: Vec<Vec<String>> = changed.iter().take(10).map(|x| cells(s, x)).collect();
            out.push_str(&md_table(&header(s), &top));
            let all: Vec<Vec<String>> = s.segments.iter().map(|x| cells(s, x)).collect();
            out.push_str(&format!(
                "\n<details><summary>all {} segments</summary>\n\n{}\n</details>\n",
                s.segments.len(),
                md_table(&header(s), &all)
            ));
        }
        for m in self.moves.iter().filter(|m| m.moved > 0) {
            out.push_str(&format!(
                "\n#### Rows that moved: `{}` (market `{}`): {} of {} rows\n\n",
                m.dimension, m.market, m.moved, m.rows
            ));
            let rows = move_rows(m);
            let head = ["from".to_string(), "to".into(), "rows".into()];
            out.push_str(&md_table(&head, &rows.iter().take(10).cloned().collect::<Vec<_>>()));
            if rows.len() > 10 {
                out.push_str(&format!(
                    "\n<details><summary>all {} moves</summary>\n\n{}\n</details>\n",
                    rows.len(),
                    md_table(&head, &rows)
                ));
            }
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into()) + "\n"
    }
}
