//! Whole segmentations, evaluated over rows in memory: entities, rankings, quantiles,
//! grids, hierarchies, measures and shares, each computed the obvious way.

use super::{compare, eval, row_label, RowRef};
use crate::check::program::*;
use std::cmp::Ordering;
use std::collections::HashMap;

/// A table of typed values, one `Vec` per row, in `columns` order.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

pub struct Row<'a> {
    pub cols: &'a [String],
    pub vals: &'a [Value],
}

impl RowRef for Row<'_> {
    fn get(&self, name: &str) -> Value {
        self.cols
            .iter()
            .position(|c| c == name)
            .map(|i| self.vals[i].clone())
            .unwrap_or(Value::Null)
    }
}

/// One output row: labels (one per dimension), `level` for `then`, then `rows`,
/// the measures, `share` and (for `then`) `share_of_parent`.
#[derive(Clone, Debug, PartialEq)]
pub struct OutRow {
    pub labels: Vec<Option<String>>,
    pub level: Option<i64>,
    pub values: Vec<Value>,
}

fn aggregate(a: &Agg, rows: &[&Row]) -> Value {
    // `where`: only the rows where the condition is true (not false, not null).
    let kept: Vec<&Row> = match &a.filter {
        Some(c) => rows.iter().copied().filter(|r| eval(c, *r) == Value::Bool(true)).collect(),
        None => rows.to_vec(),
    };
    let rows = &kept[..];
    let vals: Vec<Value> = match &a.arg {
        None => return Value::Int(rows.len() as i64),
        Some(e) => rows.iter().map(|r| eval(e, *r)).filter(|v| !v.is_null()).collect(),
    };
    match a.func {
        AggFunc::Count if a.distinct => {
            let mut uniq: Vec<Value> = Vec::new();
            for v in vals {
                if !uniq.iter().any(|u| compare(u, &v) == Some(Ordering::Equal)) {
                    uniq.push(v);
                }
            }
            Value::Int(uniq.len() as i64)
        }
        AggFunc::Count => Value::Int(vals.len() as i64),
        AggFunc::Sum => {
            if a.ty == Type::Int {
                Value::Int(vals.iter().fold(0i64, |s, v| {
                    if let Value::Int(i) = v {
                        s.wrapping_add(*i)
                    } else {
                        s
                    }
                }))
            } else {
                Value::Float(vals.iter().filter_map(|v| v.as_f64()).sum())
            }
        }
        AggFunc::Avg => {
            if vals.is_empty() {
                Value::Null
            } else {
                Value::Float(
                    vals.iter().filter_map(|v| v.as_f64()).sum::<f64>() / vals.len() as f64,
                )
            }
        }
        AggFunc::Min | AggFunc::Max => {
            let mut best: Option<Value> = None;
            for v in vals {
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let o = compare(&v, &b).unwrap_or(Ordering::Equal);
                        if (a.func == AggFunc::Min && o == Ordering::Less)
                            || (a.func == AggFunc::Max && o == Ordering::Greater)
                        {
                            v
                        } else {
                            b
                        }
                    }
                });
            }
            best.unwrap_or(Value::Null)
        }
        AggFunc::Median => {
            let mut xs: Vec<f64> = vals.iter().filter_map(|v| v.as_f64()).collect();
            if xs.is_empty() {
                return Value::Null;
            }
            xs.sort_by(|a, b| a.total_cmp(b));
            let n = xs.len();
            Value::Float(if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 })
        }
        AggFunc::Mode => {
            // Count equal values; the most frequent wins, the smallest among ties.
            let mut counts: Vec<(Value, usize)> = Vec::new();
            for v in vals {
                match counts.iter_mut().find(|(u, _)| compare(u, &v) == Some(Ordering::Equal)) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((v, 1)),
                }
            }
            let mut best: Option<(Value, usize)> = None;
            for (v, n) in counts {
                let better = match &best {
                    None => true,
                    Some((b, m)) => n > *m || (n == *m && compare(&v, b) == Some(Ordering::Less)),
                };
                if better {
                    best = Some((v, n));
                }
            }
            best.map_or(Value::Null, |(v, _)| v)
        }
    }
}

/// A segment being formed: its labels, its `then` level and its member rows.
type Group = (Vec<Option<String>>, Option<i64>, Vec<usize>);

/// A measure (or feature) over a group of rows.
pub fn measure(m: &MExpr, siblings: &[MeasureDef], rows: &[&Row]) -> Value {
    match m {
        MExpr::Agg(a) => aggregate(a, rows),
        MExpr::Ref(i, _) => measure(&siblings[*i].expr, siblings, rows),
        MExpr::Lit(v) => v.clone(),
        MExpr::Neg(x, _) => match measure(x, siblings, rows) {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            Value::Float(f) => Value::Float(-f),
            _ => Value::Null,
        },
        MExpr::Bin(op, a, b, ty) => {
            let (x, y) = (measure(a, siblings, rows), measure(b, siblings, rows));
            if x.is_null() || y.is_null() {
                return Value::Null;
            }
            super::arith(*op, &x, &y, *ty)
        }
    }
}

/// Labels for every row of `rows` (of the dimension's owner), including the
/// data-dependent kinds. `None` is unassigned.
fn labels_over(d: &DimDef, cols: &[String], rows: &[Vec<Value>]) -> Vec<Option<String>> {
    match &d.kind {
        DimKind::Top { n, expr, other } => {
            let vals: Vec<Value> =
                rows.iter().map(|r| eval(expr, &Row { cols, vals: r })).collect();
            let mut counts: Vec<(Value, usize)> = Vec::new();
            for v in vals.iter().filter(|v| !v.is_null()) {
                match counts.iter_mut().find(|(u, _)| compare(u, v) == Some(Ordering::Equal)) {
                    Some((_, c)) => *c += 1,
                    None => counts.push((v.clone(), 1)),
                }
            }
            counts
                .sort_by(|a, b| b.1.cmp(&a.1).then(compare(&a.0, &b.0).unwrap_or(Ordering::Equal)));
            counts.truncate(*n as usize);
            vals.iter()
                .map(|v| {
                    match counts.iter().find(|(u, _)| compare(u, v) == Some(Ordering::Equal)) {
                        Some((u, _)) => u.label(),
                        None => Some(other.clone()),
                    }
                })
                .collect()
        }
        DimKind::Pareto { expr, cuts, labels } => {
            // Entity rows (the key first): rank by value descending, ties by key;
            // each entity's group from the share held by those ranked before it.
            let vals: Vec<Value> =
                rows.iter().map(|r| eval(expr, &Row { cols, vals: r })).collect();
            let mut order: Vec<usize> = (0..rows.len()).filter(|&i| !vals[i].is_null()).collect();
            order.sort_by(|&a, &b| {
                compare(&vals[b], &vals[a])
                    .unwrap_or(Ordering::Equal)
                    .then(compare(&rows[a][0], &rows[b][0]).unwrap_or(Ordering::Equal))
            });
            let total: f64 = order.iter().filter_map(|&i| vals[i].as_f64()).sum();
            let mut out = vec![None; rows.len()];
            let mut before = 0.0;
            for &i in &order {
                let share = if total == 0.0 { 0.0 } else { before / total };
                let g = cuts.iter().filter(|c| share >= **c).count();
                out[i] = labels.get(g).cloned();
                before += vals[i].as_f64().unwrap_or(0.0);
            }
            out
        }
        DimKind::Quantiles { expr, n, cuts, labels } => {
            let vals: Vec<Value> =
                rows.iter().map(|r| eval(expr, &Row { cols, vals: r })).collect();
            let present: Vec<&Value> = vals.iter().filter(|v| !v.is_null()).collect();
            let cnt = present.len() as i64;
            vals.iter()
                .map(|v| {
                    if v.is_null() {
                        return None;
                    }
                    let below =
                        present.iter().filter(|u| compare(u, v) == Some(Ordering::Less)).count()
                            as i64;
                    let q = match cuts {
                        None => below * (*n as i64) / cnt + 1,
                        Some(cuts) => {
                            let at = below as f64 / cnt as f64;
                            1 + cuts.iter().filter(|c| at >= **c).count() as i64
                        }
                    };
                    labels.get(q as usize - 1).cloned()
                })
                .collect()
        }
        _ => rows.iter().map(|r| row_label(d, &Row { cols, vals: r })).collect(),
    }
}

/// The rank order of `top` labels (most rows first, ties by value), for sorting.
pub fn market_rows(p: &Checked, m: usize, data: &[Table]) -> (Vec<String>, Vec<Vec<Value>>) {
    let mk = &p.markets[m];
    let (cols, rows) = joined(p, m, data);
    let rows = rows
        .into_iter()
        .filter(|r| {
            mk.filter
                .as_ref()
                .is_none_or(|f| eval(f, &Row { cols: &cols, vals: r }) == Value::Bool(true))
        })
        .collect();
    (cols, rows)
}

/// A market's rows with its tables joined: `data` holds the markets' tables, then
/// the lookup tables'. Columns are the market's `row_columns`: each market row gets
/// the row of each table whose key equals its join column (or nulls).
fn joined(p: &Checked, m: usize, data: &[Table]) -> (Vec<String>, Vec<Vec<Value>>) {
    let mk = &p.markets[m];
    let own = &data[m];
    if mk.joins.is_empty() {
        return (own.columns.clone(), own.rows.clone());
    }
    let names: Vec<String> = mk.row_columns.iter().map(|c| c.name.clone()).collect();
    let index = |cols: &[String], name: &str| cols.iter().position(|c| c == name);
    let rows = own
        .rows
        .iter()
        .map(|r| {
            // Each joined table's name, data and the row matching this market row.
            let matches: Vec<(&str, &Table, Option<&Vec<Value>>)> = mk
                .joins
                .iter()
                .map(|j| {
                    let td = &data[p.markets.len() + j.table];
                    let v = index(&own.columns, &j.column).map_or(Value::Null, |i| r[i].clone());
                    let k = index(&td.columns, &j.key);
                    let hit = td
                        .rows
                        .iter()
                        .find(|tr| k.is_some_and(|k| compare(&tr[k], &v) == Some(Ordering::Equal)));
                    (p.tables[j.table].name.as_str(), td, hit)
                })
                .collect();
            names
                .iter()
                .map(|name| {
                    let (owner, bare) = match name.split_once('.') {
                        Some((o, b)) => (Some(o), b),
                        None => (None, name.as_str()),
                    };
                    if owner.is_none_or(|o| o == mk.name) {
                        if let Some(i) = index(&own.columns, bare) {
                            return r[i].clone();
                        }
                    }
                    for (table, td, hit) in &matches {
                        if owner.is_none_or(|o| o == *table) {
                            if let Some(i) = index(&td.columns, bare) {
                                return hit.map_or(Value::Null, |row| row[i].clone());
                            }
                        }
                    }
                    Value::Null
                })
                .collect()
        })
        .collect();
    (names, rows)
}

/// Labels of `dim` for each of the market rows `rows` (already filtered by the market's where).
pub fn dim_labels(
    p: &Checked,
    dim: usize,
    cols: &[String],
    rows: &[Vec<Value>],
) -> Vec<Option<String>> {
    let d = &p.dims[dim];
    match d.owner {
        Owner::Market(_) => labels_over(d, cols, rows),
        Owner::Entity(e) => {
            let (ecols, erows, keys) = entity_table(p, e, cols, rows);
            let ent = &p.entities[e];
            let key_of = |r: &Vec<Value>| Row { cols, vals: r }.get(&ent.key.name);
            let elabels = labels_over(d, &ecols, &erows);
            rows.iter()
                .map(|r| {
                    let k = key_of(r);
                    if k.is_null() {
                        return None;
                    }
                    keys.iter()
                        .position(|x| compare(x, &k) == Some(Ordering::Equal))
                        .and_then(|j| elabels[j].clone())
                })
                .collect()
        }
    }
}

/// An entity's rows from its market's rows: one per non-null key, in first-seen
/// order, the key then each feature; and the keys.
fn entity_table(
    p: &Checked,
    e: usize,
    cols: &[String],
    rows: &[Vec<Value>],
) -> (Vec<String>, Vec<Vec<Value>>, Vec<Value>) {
    let ent = &p.entities[e];
    let key_of = |r: &Vec<Value>| Row { cols, vals: r }.get(&ent.key.name);
    // Group market rows by key, in first-seen order.
    let mut keys: Vec<Value> = Vec::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let k = key_of(r);
        if k.is_null() {
            continue;
        }
        match keys.iter().position(|x| compare(x, &k) == Some(Ordering::Equal)) {
            Some(j) => members[j].push(i),
            None => {
                keys.push(k);
                members.push(vec![i]);
            }
        }
    }
    let mut ecols = vec![ent.key.name.clone()];
    ecols.extend(ent.features.iter().map(|f| f.name.clone()));
    let erows: Vec<Vec<Value>> = keys
        .iter()
        .zip(&members)
        .map(|(k, idx)| {
            let group: Vec<Row> = idx.iter().map(|&i| Row { cols, vals: &rows[i] }).collect();
            let refs: Vec<&Row> = group.iter().collect();
            let mut v = vec![k.clone()];
            v.extend(ent.features.iter().map(|f| {
                let x = measure(&f.expr, &ent.features, &refs);
                crate::check::coerce(x, f.ty)
            }));
            v
        })
        .collect();
    (ecols, erows, keys)
}

/// Columns, rows and, per dimension, every row's label.
pub type SegRows = (Vec<String>, Vec<Vec<Value>>, Vec<Vec<Option<String>>>);

/// The rows segmentation `s` groups (its market's, or its entity's; before its
/// `where`), their columns, and each of its dimensions' labels for every row.
pub fn segment_rows(p: &Checked, s: usize, data: &[Table]) -> SegRows {
    let (mcols, mrows) = market_rows(p, p.segments[s].market, data);
    segment_rows_from(p, s, mcols, mrows)
}

/// `segment_rows` over given market rows (one period's, under `over`).
fn segment_rows_from(p: &Checked, s: usize, mcols: Vec<String>, mrows: Vec<Vec<Value>>) -> SegRows {
    let sd = &p.segments[s];
    match sd.entity {
        None => {
            let labels = sd.dims.iter().map(|&d| dim_labels(p, d, &mcols, &mrows)).collect();
            (mcols, mrows, labels)
        }
        // An entity segmentation groups the entity's rows, labelled by its own dimensions.
        Some(e) => {
            let (ecols, erows, _) = entity_table(p, e, &mcols, &mrows);
            let labels = sd.dims.iter().map(|&d| labels_over(&p.dims[d], &ecols, &erows)).collect();
            (ecols, erows, labels)
        }
    }
}

/// One period's rows of a segmentation: the labelled rows and those its `where`
/// keeps.
struct Grouped {
    cols: Vec<String>,
    rows: Vec<Vec<Value>>,
    labels: Vec<Vec<Option<String>>>,
    keep: Vec<usize>,
}

impl Grouped {
    fn new(p: &Checked, s: usize, (cols, rows, labels): SegRows) -> Grouped {
        let sd = &p.segments[s];
        let keep = (0..rows.len())
            .filter(|&i| {
                sd.filter.as_ref().is_none_or(|f| {
                    eval(f, &Row { cols: &cols, vals: &rows[i] }) == Value::Bool(true)
                })
            })
            .collect();
        Grouped { cols, rows, labels, keep }
    }

    /// The labels dimension `j` gives kept rows, in first-seen order.
    fn seen(&self, j: usize) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for &i in &self.keep {
            if let Some(l) = &self.labels[j][i] {
                if !seen.contains(l) {
                    seen.push(l.clone());
                }
            }
        }
        seen
    }
}

/// Whether segmentation `sd` lists the full grid of its labels.
fn has_grid(p: &Checked, sd: &SegDef) -> bool {
    sd.mode == SegMode::Cross
        && (sd.dims.len() > 1 || sd.dims.iter().any(|&d| p.dims[d].has_static_labels()))
}

/// The segments of one period with their member rows: `then` levels, or the cells
/// of `x` (the grid of `domains` when given), and the grand total.
fn groups_of(sd: &SegDef, g: &Grouped, domains: Option<&[Vec<String>]>) -> Vec<Group> {
    let k = sd.dims.len();
    let key_of = |i: usize, n: usize| -> Vec<Option<String>> {
        (0..n).map(|d| g.labels[d][i].clone()).collect()
    };
    let mut groups: Vec<Group> = Vec::new();
    // Where each (labels, level) sits in `groups`: a scan per row would make large
    // grids quadratic.
    let mut at: std::collections::HashMap<(Vec<Option<String>>, Option<i64>), usize> =
        std::collections::HashMap::new();
    let mut add = |key: Vec<Option<String>>,
                   level: Option<i64>,
                   i: Option<usize>,
                   groups: &mut Vec<Group>| {
        match at.get(&(key.clone(), level)) {
            Some(&j) => groups[j].2.extend(i),
            None => {
                at.insert((key.clone(), level), groups.len());
                groups.push((key, level, i.into_iter().collect()));
            }
        }
    };
    match sd.mode {
        SegMode::Then => {
            for lv in 1..=k {
                for &i in &g.keep {
                    let mut key = key_of(i, lv);
                    key.extend(std::iter::repeat_n(None, k - lv));
                    add(key, Some(lv as i64), Some(i), &mut groups);
                }
            }
        }
        SegMode::Cross => {
            if let Some(domains) = domains {
                let mut cells: Vec<Vec<Option<String>>> = vec![vec![]];
                for dom in domains {
                    cells = cells
                        .into_iter()
                        .flat_map(|c| {
                            dom.iter().map(move |l| {
                                let mut c2 = c.clone();
                                c2.push(Some(l.clone()));
                                c2
                            })
                        })
                        .collect();
                }
                for c in cells {
                    add(c, None, None, &mut groups);
                }
            }
            for &i in &g.keep {
                add(key_of(i, k), None, Some(i), &mut groups);
            }
        }
    }
    if sd.with_total {
        // Cells of a grid become level k, beside the grand total at level 0.
        if sd.mode == SegMode::Cross {
            groups.iter_mut().for_each(|g| g.1 = Some(k as i64));
        }
        groups.push((vec![None; k], Some(0), g.keep.clone()));
    }
    groups
}

/// A group's `rows` and measures, and its share quantity (`rows`, or the `share
/// of` measure).
fn measured_values(sd: &SegDef, defs: &[MeasureDef], group: &[Row]) -> (Vec<Value>, Value) {
    let refs: Vec<&Row> = group.iter().collect();
    let of = |i: usize| crate::check::coerce(measure(&defs[i].expr, defs, &refs), defs[i].ty);
    let mut values = vec![Value::Int(group.len() as i64)];
    values.extend(sd.measures.iter().map(|&mi| of(mi)));
    let q = match sd.share_of {
        Some(x) => of(x),
        None => Value::Int(group.len() as i64),
    };
    (values, q)
}

/// Each group's output row (rows and measures) and its share quantity.
fn measured(p: &Checked, s: usize, g: &Grouped, groups: &[Group]) -> Vec<(OutRow, Value)> {
    let sd = &p.segments[s];
    let defs = p.seg_measures(s);
    let mut out = Vec::new();
    for (key, level, members) in groups {
        let group: Vec<Row> =
            members.iter().map(|&i| Row { cols: &g.cols, vals: &g.rows[i] }).collect();
        let (values, q) = measured_values(sd, defs, &group);
        out.push((OutRow { labels: key.clone(), level: *level, values }, q));
    }
    out
}

/// `share` (within the level) and, under `then`, `share_of_parent`, appended.
fn with_shares(sd: &SegDef, out: &[(OutRow, Value)]) -> Vec<OutRow> {
    // Totals per level and per (level, parent labels), summed once: a sum per row
    // would make large grids quadratic.
    let mut by_level: std::collections::HashMap<Option<i64>, f64> = Default::default();
    let mut by_parent: std::collections::HashMap<(i64, &[Option<String>]), f64> =
        Default::default();
    for (r, q) in out {
        let x = q.as_f64().unwrap_or(0.0);
        *by_level.entry(r.level).or_default() += x;
        if let Some(lv) = r.level.filter(|&l| l >= 1) {
            *by_parent.entry((lv, &r.labels[..(lv - 1) as usize])).or_default() += x;
        }
    }
    let mut result = Vec::new();
    for (r, q) in out {
        let tot = by_level[&r.level];
        let mut r2 = r.clone();
        r2.values.push(ratio(q, tot));
        if let (Some(lv), SegMode::Then) = (r.level, sd.mode) {
            let par = if lv == 0 {
                // The grand total has no parent.
                r2.values.push(Value::Null);
                result.push(r2);
                continue;
            } else if lv == 1 {
                tot
            } else {
                by_parent[&(lv, &r.labels[..(lv - 1) as usize])]
            };
            r2.values.push(ratio(q, par));
        }
        result.push(r2);
    }
    result
}

fn ratio(q: &Value, t: f64) -> Value {
    match q.as_f64() {
        Some(x) if t != 0.0 => Value::Float(x / t),
        _ => Value::Null,
    }
}

/// Evaluates segmentation `s` over `data` (one table per market).
pub fn run_segment(p: &Checked, s: usize, data: &[Table]) -> Vec<OutRow> {
    let sd = &p.segments[s];
    if let Some(o) = &sd.over {
        return run_over(p, s, o, data);
    }
    if let Some(mg) = &sd.migrate {
        return run_migrate(p, s, mg, data);
    }
    let g = Grouped::new(p, s, segment_rows(p, s, data));
    let domains: Option<Vec<Vec<String>>> = has_grid(p, sd).then(|| {
        sd.dims
            .iter()
            .enumerate()
            .map(|(j, &d)| {
                let dd = &p.dims[d];
                if dd.has_static_labels() {
                    dd.labels.clone()
                } else {
                    g.seen(j)
                }
            })
            .collect()
    });
    let groups = groups_of(sd, &g, domains.as_deref());
    with_shares(sd, &measured(p, s, &g, &groups))
}

/// `migrate`: each period's entities labelled on that period's rows alone, matched
/// by key; `new` for an entity only in the second period, `lost` for one only in
/// the first. Measures read the second period's features (the first's for `lost`).
fn run_migrate(p: &Checked, s: usize, mg: &MigrateDef, data: &[Table]) -> Vec<OutRow> {
    let sd = &p.segments[s];
    let (Some(e), Some(&d)) = (sd.entity, sd.dims.first()) else { return Vec::new() };
    let (ent, dd) = (&p.entities[e], &p.dims[d]);
    let (mcols, mrows) = market_rows(p, sd.market, data);
    let of: Vec<Option<Period>> = mrows
        .iter()
        .map(|r| period_of(&mg.over, &eval(&mg.over.expr, &Row { cols: &mcols, vals: r })))
        .collect();
    let want = |v: &PeriodValue| match v {
        PeriodValue::Num(n) => Period::Num(*n),
        PeriodValue::Text(t) => Period::Text(t.clone()),
    };
    // Per period: (key, label, entity row).
    // A period's entity columns, and per entity: key, label, entity row.
    type Side = (Vec<String>, Vec<(Value, Option<String>, Vec<Value>)>);
    let side = |at: Period| -> Side {
        let rows: Vec<Vec<Value>> = mrows
            .iter()
            .zip(&of)
            .filter(|(_, x)| x.as_ref() == Some(&at))
            .map(|(r, _)| r.clone())
            .collect();
        let (ecols, erows, keys) = entity_table(p, e, &mcols, &rows);
        let labels = labels_over(dd, &ecols, &erows);
        let out = keys.into_iter().zip(labels).zip(erows).map(|((k, l), r)| (k, l, r)).collect();
        (ecols, out)
    };
    let (ecols, first) = side(want(&mg.from));
    let (_, second) = side(want(&mg.to));
    let same = |a: &Value, b: &Value| compare(a, b) == Some(Ordering::Equal);
    // Each entity: (from, to, the row it is measured by).
    let mut moves: Vec<(Option<String>, Option<String>, Vec<Value>)> = Vec::new();
    for (k, l, r) in &first {
        match second.iter().find(|(k2, _, _)| same(k, k2)) {
            Some((_, l2, r2)) => moves.push((l.clone(), l2.clone(), r2.clone())),
            None => moves.push((l.clone(), Some(MIGRATE_LOST.into()), r.clone())),
        }
    }
    for (k, l, r) in &second {
        if !first.iter().any(|(k1, _, _)| same(k, k1)) {
            moves.push((Some(MIGRATE_NEW.into()), l.clone(), r.clone()));
        }
    }
    let mut domain: Vec<String> =
        if dd.has_static_labels() { dd.labels.clone() } else { Vec::new() };
    if !dd.has_static_labels() {
        for (_, l, _) in first.iter().chain(&second) {
            if let Some(l) = l {
                if !domain.contains(l) {
                    domain.push(l.clone());
                }
            }
        }
    }
    let mut cells: Vec<(Option<String>, Option<String>)> = Vec::new();
    for a in domain.iter().cloned().chain([MIGRATE_NEW.to_string()]) {
        for b in domain.iter().cloned().chain([MIGRATE_LOST.to_string()]) {
            if !(a == MIGRATE_NEW && b == MIGRATE_LOST) {
                cells.push((Some(a.clone()), Some(b)));
            }
        }
    }
    for (a, b, _) in &moves {
        if !cells.iter().any(|c| c.0 == *a && c.1 == *b) {
            cells.push((a.clone(), b.clone()));
        }
    }
    let defs = &ent.measures;
    let mut out: Vec<(OutRow, Value)> = Vec::new();
    for (a, b) in cells {
        let members: Vec<Row> = moves
            .iter()
            .filter(|(x, y, _)| *x == a && *y == b)
            .map(|(_, _, r)| Row { cols: &ecols, vals: r })
            .collect();
        let (values, q) = measured_values(sd, defs, &members);
        out.push((OutRow { labels: vec![a, b], level: None, values }, q));
    }
    let total: f64 = out.iter().filter_map(|(_, q)| q.as_f64()).sum();
    out.into_iter()
        .map(|(mut r, q)| {
            r.values.push(ratio(&q, total));
            r
        })
        .collect()
}

/// A period as `over` finds it on a row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Period {
    Num(i64),
    Text(String),
}

fn period_of(o: &OverDef, v: &Value) -> Option<Period> {
    use crate::check::program::PeriodKind;
    match (o.kind, v) {
        (PeriodKind::Calendar(u), Value::Date(d)) => Some(Period::Num(u.ordinal(*d as i64))),
        (PeriodKind::Calendar(u), Value::Timestamp(t)) => {
            Some(Period::Num(u.ordinal(t.div_euclid(86_400_000_000))))
        }
        (PeriodKind::Int, Value::Int(i)) => Some(Period::Num(*i)),
        (PeriodKind::Text, Value::Text(t)) => Some(Period::Text(t.clone())),
        _ => None,
    }
}

fn period_label(o: &OverDef, p: &Option<Period>) -> Option<String> {
    use crate::check::program::PeriodKind;
    match (p, o.kind) {
        (None, _) => None,
        (Some(Period::Num(n)), PeriodKind::Calendar(u)) => Some(u.label(*n)),
        (Some(Period::Num(n)), _) => Some(n.to_string()),
        (Some(Period::Text(t)), _) => Some(t.clone()),
    }
}

/// `over`: the segmentation run on each period's market rows on its own (so entity
/// features, rankings and cut points are the period's), every segment any period
/// has listed in every period, then the changes from the previous period. Output
/// rows carry the period label as their first label.
fn run_over(p: &Checked, s: usize, o: &OverDef, data: &[Table]) -> Vec<OutRow> {
    let sd = &p.segments[s];
    let (mcols, mrows) = market_rows(p, sd.market, data);
    let of: Vec<Option<Period>> = mrows
        .iter()
        .map(|r| period_of(o, &eval(&o.expr, &Row { cols: &mcols, vals: r })))
        .collect();
    // Every period from the first to the last (numbers), or as found (text); then
    // the rows without a period.
    let mut found: Vec<Period> = of.iter().flatten().cloned().collect();
    found.sort();
    found.dedup();
    let mut periods: Vec<Option<Period>> = match (found.first(), found.last()) {
        (Some(Period::Num(lo)), Some(Period::Num(hi))) => {
            (*lo..=*hi).map(|n| Some(Period::Num(n))).collect()
        }
        _ => found.into_iter().map(Some).collect(),
    };
    if of.iter().any(|x| x.is_none()) {
        periods.push(None);
    }
    let grouped: Vec<Grouped> = periods
        .iter()
        .map(|per| {
            let rows: Vec<Vec<Value>> =
                mrows.iter().zip(&of).filter(|(_, x)| *x == per).map(|(r, _)| r.clone()).collect();
            Grouped::new(p, s, segment_rows_from(p, s, mcols.clone(), rows))
        })
        .collect();
    // The grid's data-dependent domains: every label any period has.
    let domains: Option<Vec<Vec<String>>> = has_grid(p, sd).then(|| {
        sd.dims
            .iter()
            .enumerate()
            .map(|(j, &d)| {
                let dd = &p.dims[d];
                if dd.has_static_labels() {
                    return dd.labels.clone();
                }
                let mut all: Vec<String> = Vec::new();
                for g in &grouped {
                    for l in g.seen(j) {
                        if !all.contains(&l) {
                            all.push(l);
                        }
                    }
                }
                all
            })
            .collect()
    });
    let mut per_period: Vec<Vec<Group>> =
        grouped.iter().map(|g| groups_of(sd, g, domains.as_deref())).collect();
    // Every segment of any period, in every period (empty where it has no rows).
    // Hash sets, not scans: decades of months times a grid of data-valued labels
    // make hundreds of thousands of segments, and a quadratic reference never ends.
    type Key = (Vec<Option<String>>, Option<i64>);
    let mut keys: Vec<Key> = Vec::new();
    let mut seen: std::collections::HashSet<Key> = std::collections::HashSet::new();
    for groups in &per_period {
        for (k, lv, _) in groups {
            if seen.insert((k.clone(), *lv)) {
                keys.push((k.clone(), *lv));
            }
        }
    }
    for groups in &mut per_period {
        let have: std::collections::HashSet<Key> =
            groups.iter().map(|(k, lv, _)| (k.clone(), *lv)).collect();
        for (k, lv) in &keys {
            if !have.contains(&(k.clone(), *lv)) {
                groups.push((k.clone(), *lv, Vec::new()));
            }
        }
    }
    // Per period: each row with its share quantity, and the rows with shares.
    type Shared = (Vec<(OutRow, Value)>, Vec<OutRow>);
    let results: Vec<Shared> = grouped
        .iter()
        .zip(&per_period)
        .map(|(g, groups)| {
            let m = measured(p, s, g, groups);
            let shared = with_shares(sd, &m);
            (m, shared)
        })
        .collect();
    let parents = sd.mode == SegMode::Then;
    let nm = sd.measures.len();
    let mut out = Vec::new();
    for (t, per) in periods.iter().enumerate() {
        let (m, shared) = &results[t];
        type At<'a> = std::collections::HashMap<(&'a [Option<String>], Option<i64>), usize>;
        let before: Option<At> = match per {
            Some(_) if t > 0 && periods[t - 1].is_some() => Some(
                results[t - 1]
                    .0
                    .iter()
                    .enumerate()
                    .map(|(j, (x, _))| ((x.labels.as_slice(), x.level), j))
                    .collect(),
            ),
            _ => None,
        };
        for (i, r) in shared.iter().enumerate() {
            let prev = before.as_ref().and_then(|b| {
                let (pm, ps) = &results[t - 1];
                b.get(&(r.labels.as_slice(), r.level)).map(|&j| (&pm[j].1, &ps[j]))
            });
            let q = &m[i].1;
            let share_at = |row: &OutRow, k: usize| row.values.get(1 + nm + k).cloned();
            let minus = |a: Option<Value>, b: Option<Value>| match (
                a.and_then(|v| v.as_f64()),
                b.and_then(|v| v.as_f64()),
            ) {
                (Some(a), Some(b)) => Value::Float(a - b),
                _ => Value::Null,
            };
            let mut row = r.clone();
            let growth = match prev {
                Some((pq, _)) => match (q.as_f64(), pq.as_f64()) {
                    (Some(a), Some(b)) if b != 0.0 => Value::Float(a / b - 1.0),
                    _ => Value::Null,
                },
                None => Value::Null,
            };
            row.values.push(growth);
            let prev_row = prev.map(|(_, r)| r);
            row.values.push(minus(share_at(r, 0), prev_row.and_then(|x| share_at(x, 0))));
            if parents {
                row.values.push(minus(share_at(r, 1), prev_row.and_then(|x| share_at(x, 1))));
            }
            row.labels.insert(0, period_label(o, per));
            out.push(row);
        }
    }
    out
}

/// Reads engine output (label columns, `level`, then numbers) into `OutRow`s.
pub fn rows_from_values(dims: usize, has_level: bool, table: &[Vec<Value>]) -> Vec<OutRow> {
    table
        .iter()
        .map(|r| {
            let labels = r[..dims].iter().map(|v| v.label()).collect();
            let (level, rest) = if has_level {
                (
                    match &r[dims] {
                        Value::Int(i) => Some(*i),
                        _ => None,
                    },
                    &r[dims + 1..],
                )
            } else {
                (None, &r[dims..])
            };
            OutRow { labels, level, values: rest.to_vec() }
        })
        .collect()
}

/// Compares two results as multisets keyed by (labels, level): integers exactly,
/// floats to a relative 1e-9. Returns the first difference found.
pub fn diff(expected: &[OutRow], actual: &[OutRow]) -> Option<String> {
    if expected.len() != actual.len() {
        return Some(format!(
            "{} rows expected, {} found\nexpected: {expected:?}\nactual: {actual:?}",
            expected.len(),
            actual.len()
        ));
    }
    let mut by_key: HashMap<(Vec<Option<String>>, Option<i64>), &OutRow> = HashMap::new();
    for a in actual {
        by_key.insert((a.labels.clone(), a.level), a);
    }
    for e in expected {
        let Some(a) = by_key.get(&(e.labels.clone(), e.level)) else {
            return Some(format!(
                "missing row {:?} level {:?}\nactual: {actual:?}",
                e.labels, e.level
            ));
        };
        if e.values.len() != a.values.len() {
            return Some(format!(
                "row {:?}: {} values expected, {} found",
                e.labels,
                e.values.len(),
                a.values.len()
            ));
        }
        for (x, y) in e.values.iter().zip(&a.values) {
            if !close(x, y) {
                return Some(format!("row {:?} level {:?}: expected {:?}, found {:?}\nexpected row: {e:?}\nactual row: {a:?}", e.labels, e.level, x, y));
            }
        }
    }
    None
}

pub fn close(x: &Value, y: &Value) -> bool {
    match (x, y) {
        (Value::Null, Value::Null) => true,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Text(a), Value::Text(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Date(a), Value::Date(b)) => a == b,
        (Value::Timestamp(a), Value::Timestamp(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => {
            if a == b {
                return true;
            }
            let scale = a.abs().max(b.abs());
            (a - b).abs() <= 1e-9 * scale || (a - b).abs() < 1e-12
        }
        (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => {
            close(&Value::Float(*a as f64), &Value::Float(*b))
        }
        _ => false,
    }
}
