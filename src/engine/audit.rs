//! `seg run --audit` and run-time partition checks: unassigned rows, rows matched by
//! several partition rules, values no mapping lists, empty segments, and whether a
//! segmentation's leaves add up to the market total.

use super::session::{classify, EngineError, Session};
use crate::check::program::*;
use crate::lower::audit::{market_totals, unmatched_joins, DimPlans};
use crate::lower::DfResult;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type};
use arrow::record_batch::RecordBatch;
use datafusion::logical_expr::LogicalPlan;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct DimAudit {
    pub dim: usize,
    pub unassigned: i64,
    pub unassigned_sample: Option<String>,
    /// Only for `partition`: rows matched by more than one rule.
    pub overlaps: Option<i64>,
    pub overlap_sample: Option<String>,
    /// Only for mappings: values no arm lists, most frequent first (at most 10).
    pub unmapped: Vec<(String, i64)>,
}

#[derive(Debug, Clone)]
pub struct LeafCheck {
    pub measure: String,
    /// `None`: the measure is not additive (an average, a distinct count, a ratio).
    pub leaves: Option<f64>,
    pub total: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct AuditReport {
    pub segment: usize,
    pub dims: Vec<DimAudit>,
    pub empty: Vec<Vec<String>>,
    pub leaves: Vec<LeafCheck>,
    /// Per joined table: market rows that met no row of it (their table columns
    /// are null).
    pub unmatched: Vec<(String, i64)>,
}

impl AuditReport {
    pub fn clean(&self) -> bool {
        self.dims
            .iter()
            .all(|d| d.unassigned == 0 && d.overlaps.unwrap_or(0) == 0 && d.unmapped.is_empty())
            && self.leaves.iter().all(|l| l.adds_up())
    }

    pub fn render(&self, p: &Checked) -> String {
        let sd = &p.segments[self.segment];
        let mut out = format!("\naudit of {}\n", sd.name);
        for d in &self.dims {
            let name = &p.dims[d.dim].name;
            out.push_str(&format!(
                "  dimension {name}: {} unassigned row{}",
                d.unassigned,
                if d.unassigned == 1 { "" } else { "s" }
            ));
            if let Some(s) = &d.unassigned_sample {
                out.push_str(&format!(" (e.g. {s})"));
            }
            out.push('\n');
            if let Some(o) = d.overlaps {
                out.push_str(&format!("    rows matching several partition rules: {o}"));
                if let Some(s) = &d.overlap_sample {
                    out.push_str(&format!(" (e.g. {s})"));
                }
                out.push('\n');
            }
            if !d.unmapped.is_empty() {
                out.push_str("    values no mapping lists:\n");
                for (v, n) in &d.unmapped {
                    out.push_str(&format!(
                        "      {:<24} {n} row{}\n",
                        format!("{v:?}"),
                        if *n == 1 { "" } else { "s" }
                    ));
                }
            }
        }
        for (table, n) in &self.unmatched {
            out.push_str(&format!(
                "  rows without a match in table {table}: {n} (its columns are null there)\n"
            ));
        }
        if self.empty.is_empty() {
            out.push_str("  empty segments: none\n");
        } else {
            let shown: Vec<String> = self.empty.iter().map(|l| l.join(" / ")).collect();
            out.push_str(&format!("  empty segments: {}\n", shown.join(", ")));
        }
        for l in &self.leaves {
            match (l.leaves, l.total) {
                (Some(a), Some(b)) => out.push_str(&format!(
                    "  leaves add up for {}: {} (leaves {}, market {})\n",
                    l.measure,
                    if l.adds_up() { "yes" } else { "NO" },
                    trim_num(a),
                    trim_num(b)
                )),
                _ => out.push_str(&format!(
                    "  leaves add up for {}: not additive (not checked)\n",
                    l.measure
                )),
            }
        }
        out
    }
}

fn trim_num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.6}")
    }
}

impl LeafCheck {
    pub fn adds_up(&self) -> bool {
        match (self.leaves, self.total) {
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0),
            _ => true,
        }
    }
}

/// Whether a measure of a group is the sum of the measure over its parts.
pub fn is_additive(m: &MExpr, all: &[MeasureDef]) -> bool {
    match m {
        MExpr::Agg(a) => {
            matches!(a.func, AggFunc::Sum) || (a.func == AggFunc::Count && !a.distinct)
        }
        MExpr::Ref(i, _) => is_additive(&all[*i].expr, all),
        MExpr::Neg(x, _) => is_additive(x, all),
        MExpr::Bin(BinOp::Add | BinOp::Sub, a, b, _) => is_additive(a, all) && is_additive(b, all),
        _ => false,
    }
}

fn int_at(b: &[RecordBatch], c: usize) -> i64 {
    b.first()
        .filter(|b| b.num_rows() > 0)
        .map(|b| {
            let a = b.column(c);
            if a.is_null(0) {
                0
            } else {
                a.as_primitive::<Int64Type>().value(0)
            }
        })
        .unwrap_or(0)
}

/// A row rendered as `col = value, ...` for samples.
fn describe_row(b: &[RecordBatch], cols: &[String]) -> Option<String> {
    let batch = b.iter().find(|b| b.num_rows() > 0)?;
    let parts: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let a = batch.column(i);
            let v = if a.is_null(0) {
                "null".into()
            } else {
                let s = arrow::util::display::array_value_to_string(a, 0).unwrap_or_default();
                if matches!(
                    a.data_type(),
                    DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
                ) {
                    format!("{s:?}")
                } else {
                    s
                }
            };
            format!("{c} = {v}")
        })
        .collect();
    Some(parts.join(", "))
}

/// Per-dimension counts for the dimensions of segmentation `s`, on its rows.
pub fn audit_dims(session: &Session, s: usize) -> Result<Vec<DimAudit>, EngineError> {
    audit_dims_known(session, s, None, &mut HashMap::new())
}

/// `audit_dims`; `known` gives each dimension's unassigned rows when the caller
/// counted them already (from the segmentation's own cells), so only `partition`
/// dimensions need a query for their counts (the overlaps).
fn audit_dims_known(
    session: &Session,
    s: usize,
    known: Option<&[i64]>,
    unmapped_seen: &mut HashMap<usize, Vec<(String, i64)>>,
) -> Result<Vec<DimAudit>, EngineError> {
    let p = &session.program;
    let mut out = Vec::new();
    for (k, &d) in p.segments[s].dims.iter().enumerate() {
        let plans = DimPlans::new(p, s, d, session);
        let partition = matches!(p.dims[d].kind, DimKind::Rules { partition: true, .. });
        let (unassigned, overlaps) = match known.and_then(|u| u.get(k)) {
            Some(&u) if !partition => (u, None),
            _ => {
                let b = session.execute(plans.counts().map_err(classify)?)?;
                let o = b.first().is_some_and(|x| x.num_columns() > 1).then(|| int_at(&b, 1));
                (int_at(&b, 0), o)
            }
        };
        let sample_cols = plans.sample_columns();
        let sample = |plan: DfResult<LogicalPlan>| -> Result<Option<String>, EngineError> {
            Ok(describe_row(&session.execute(plan.map_err(classify)?)?, &sample_cols))
        };
        let unassigned_sample =
            if unassigned > 0 { sample(plans.unassigned_sample())? } else { None };
        let overlap_sample = match plans.overlap_sample() {
            Some(plan) if overlaps.unwrap_or(0) > 0 => sample(plan)?,
            _ => None,
        };
        // Without a `where`, a mapping's unmapped values are the same in every
        // segmentation of its market: counted once.
        let shared = p.segments[s].filter.is_none() && p.segments[s].entity.is_none();
        let unmapped = match unmapped_seen.get(&d).filter(|_| shared) {
            Some(u) => u.clone(),
            None => {
                let unmapped = unmapped_of(&plans, session)?;
                if shared {
                    unmapped_seen.insert(d, unmapped.clone());
                }
                unmapped
            }
        };
        out.push(DimAudit {
            dim: d,
            unassigned,
            unassigned_sample,
            overlaps,
            overlap_sample,
            unmapped,
        });
    }
    Ok(out)
}

/// Rows with no label for each of the `k` dimensions, summed over the leaf cells
/// (a leaf's null label is the unassigned segment; subtotal rows are skipped).
fn unassigned_from_cells(
    result: &[arrow::record_batch::RecordBatch],
    lead: usize,
    k: usize,
    levels: bool,
) -> Vec<i64> {
    let mut out = vec![0i64; k];
    let rows_col = lead + k + usize::from(levels);
    for b in result {
        let rows = b.column(rows_col).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            if levels && b.column(lead + k).as_primitive::<Int64Type>().value(i) as usize != k {
                continue;
            }
            for (d, n) in out.iter_mut().enumerate() {
                if b.column(lead + d).is_null(i) {
                    *n += rows.value(i);
                }
            }
        }
    }
    out
}

/// The full `--audit` report for each segmentation.
pub fn audit_all(session: &Session, segs: &[usize]) -> Result<Vec<AuditReport>, EngineError> {
    audit_all_with(session, segs, &[], HashMap::new())
}

/// Each mapping's most frequent unmapped values over all its market's rows (so only
/// from segmentations without a `where`), by dimension.
type Unmapped = HashMap<usize, Vec<(String, i64)>>;

/// Runs the segmentations and audits them (`seg report`). A mapping's unmapped
/// values are counted while a segmentation without a `where` computes its codes
/// (`Session::run_segment_tallied`), so the audit scans the market again only for
/// its totals.
#[allow(clippy::type_complexity)]
pub fn run_audited(
    session: &Session,
    segs: &[usize],
) -> Result<(Vec<(usize, Vec<RecordBatch>)>, Vec<AuditReport>), EngineError> {
    let p = &session.program;
    let mut unmapped = Unmapped::new();
    let mut results = Vec::new();
    for &s in segs {
        let sd = &p.segments[s];
        let batches = if sd.filter.is_none() && sd.entity.is_none() && sd.migrate.is_none() {
            let wanted: Vec<usize> =
                sd.dims.iter().copied().filter(|d| !unmapped.contains_key(d)).collect();
            let (batches, tallied) = session.run_segment_tallied(s, &wanted)?;
            unmapped.extend(tallied);
            batches
        } else {
            session.run_segment(s)?
        };
        results.push((s, batches));
    }
    let audits = audit_all_with(session, segs, &results, unmapped)?;
    Ok((results, audits))
}

/// The market's row count and measure totals over the rows segmentation `s` reads.
fn totals_of(session: &Session, s: usize) -> Result<Vec<Option<f64>>, EngineError> {
    let plan = market_totals(&session.program, s, session).map_err(classify)?;
    let mut totals = vec![None; session.program.segments[s].measures.len() + 1];
    for batch in session.execute(plan)?.iter().filter(|b| b.num_rows() > 0) {
        for (j, t) in totals.iter_mut().enumerate() {
            let a = batch.column(j);
            if !a.is_null(0) {
                *t = Some(a.as_primitive::<arrow::datatypes::Float64Type>().value(0));
            }
        }
    }
    Ok(totals)
}

/// A mapping's most frequent unmapped values (none for other dimensions).
fn unmapped_of(plans: &DimPlans, session: &Session) -> Result<Vec<(String, i64)>, EngineError> {
    let mut unmapped = Vec::new();
    if let Some(plan) = plans.unmapped() {
        for batch in session.execute(plan.map_err(classify)?)? {
            let v = batch.column(0).as_string::<i32>();
            let n = batch.column(1).as_primitive::<Int64Type>();
            for i in 0..batch.num_rows() {
                unmapped.push((v.value(i).to_string(), n.value(i)));
            }
        }
    }
    Ok(unmapped)
}

/// `audit_all`, given the results of segmentations already run (`seg report`):
/// those are not run again, and a market segmentation's unassigned rows per
/// dimension are counted from its own leaf cells instead of by a query each;
/// `unmapped_seen` holds the mappings already counted (`run_audited`).
fn audit_all_with(
    session: &Session,
    segs: &[usize],
    done: &[(usize, Vec<RecordBatch>)],
    mut unmapped_seen: Unmapped,
) -> Result<Vec<AuditReport>, EngineError> {
    let p = &session.program;
    let mut reports = Vec::new();
    // Market totals over the same rows: shared by segmentations without a `where`.
    let mut totals_seen: HashMap<(usize, Vec<usize>), Vec<Option<f64>>> = HashMap::new();
    // A migration counts entities across two periods, not the market's rows.
    for &s in segs.iter().filter(|&&s| p.segments[s].migrate.is_none()) {
        let sd = &p.segments[s];
        let defs = p.seg_measures(s);
        let result = match done.iter().find(|(x, _)| *x == s) {
            Some((_, r)) => r.clone(),
            None => session.run_segment(s)?,
        };
        let k = sd.dims.len();
        // Label columns: `period` (under `over`), then the dimensions'.
        let lead = usize::from(sd.over.is_some());
        // Under `over`, an entity's features (and so its labels) are per period in
        // the cells, while the audit counts a dimension over the whole market.
        let known = (sd.entity.is_none() && sd.over.is_none() && !done.is_empty())
            .then(|| unassigned_from_cells(&result, lead, k, sd.has_levels()));
        let dims = audit_dims_known(session, s, known.as_deref(), &mut unmapped_seen)?;
        let level_col = if sd.has_levels() { Some(lead + k) } else { None };
        let rows_col = lead + k + usize::from(level_col.is_some());
        let mut empty = Vec::new();
        let mut leaf_sums = vec![0f64; sd.measures.len()];
        let mut leaf_rows = 0f64;
        for b in &result {
            for i in 0..b.num_rows() {
                let leaf = match level_col {
                    Some(c) => b.column(c).as_primitive::<Int64Type>().value(i) as usize == k,
                    None => true,
                };
                if !leaf {
                    continue;
                }
                leaf_rows += b.column(rows_col).as_primitive::<Int64Type>().value(i) as f64;
                if b.column(rows_col).as_primitive::<Int64Type>().value(i) == 0 {
                    let labels: Vec<String> = (0..lead + k)
                        .map(|c| {
                            let a = b.column(c);
                            if a.is_null(i) {
                                "(unassigned)".into()
                            } else {
                                a.as_string::<i32>().value(i).to_string()
                            }
                        })
                        .collect();
                    empty.push(labels);
                }
                for (j, _) in sd.measures.iter().enumerate() {
                    let a = b.column(rows_col + 1 + j);
                    if a.is_null(i) {
                        continue;
                    }
                    // Only numbers add up (a `mode` of text does not).
                    leaf_sums[j] += match a.data_type() {
                        DataType::Int64 => a.as_primitive::<Int64Type>().value(i) as f64,
                        DataType::Float64 => {
                            a.as_primitive::<arrow::datatypes::Float64Type>().value(i)
                        }
                        _ => 0.0,
                    };
                }
            }
        }
        // Market totals over the same rows (the segmentation's `where` applied).
        let shared = sd.filter.is_none() && sd.entity.is_none();
        let key = (sd.market, sd.measures.clone());
        let totals = match totals_seen.get(&key).filter(|_| shared) {
            Some(t) => t.clone(),
            None => {
                let totals = totals_of(session, s)?;
                if shared {
                    totals_seen.insert(key, totals.clone());
                }
                totals
            }
        };
        let mut leaves = vec![LeafCheck {
            measure: "rows".into(),
            leaves: Some(leaf_rows),
            total: totals[0].or(Some(0.0)),
        }];
        leaves.extend(sd.measures.iter().enumerate().map(|(j, &i)| {
            let add = is_additive(&defs[i].expr, defs);
            LeafCheck {
                measure: defs[i].name.clone(),
                leaves: add.then_some(leaf_sums[j]),
                total: if add { totals[j + 1].or(Some(0.0)) } else { None },
            }
        }));
        let mut unmatched = Vec::new();
        if sd.entity.is_none() {
            let plans = unmatched_joins(p, sd.market, session).map_err(classify)?;
            for (j, plan) in p.markets[sd.market].joins.iter().zip(plans) {
                let n = int_at(&session.execute(plan)?, 0);
                unmatched.push((p.tables[j.table].name.clone(), n));
            }
        }
        reports.push(AuditReport { segment: s, dims, empty, leaves, unmatched });
    }
    Ok(reports)
}
