//! `example` and `expect` statements evaluated: examples row by row with the
//! reference evaluator (no data), expects on a session's results. `seg test` words
//! and counts the verdicts.

use super::session::{EngineError, Session};
use crate::check::program::*;
use crate::reference::{self, segment::OutRow};
use std::collections::HashMap;

/// One `example` line's verdict for one dimension.
pub struct ExampleVerdict {
    pub span: crate::span::Span,
    pub dim: usize,
    pub ok: bool,
    /// The label the dimension gives the example row (`None`: unassigned).
    pub got: Option<String>,
}

/// Every example of the program, checked against the dimensions' own rules.
pub fn examples(program: &Checked) -> Vec<ExampleVerdict> {
    let mut out = Vec::new();
    for ex in &program.examples {
        let row = |name: &str| {
            ex.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or(Value::Null)
        };
        for (d, want, span) in &ex.expected {
            let got = reference::row_label(&program.dims[*d], &row);
            out.push(ExampleVerdict { span: *span, dim: *d, ok: &got == want, got });
        }
    }
    out
}

/// The run-time half of `expect SEG is partition`: rows a dimension leaves
/// unassigned or that several partition rules match, in words (empty: it holds).
pub fn partition_problems(session: &Session, s: usize) -> Result<Vec<String>, EngineError> {
    let p = &session.program;
    let mut problems = Vec::new();
    for a in super::audit::audit_dims(session, s)? {
        let name = &p.dims[a.dim].name;
        if a.unassigned > 0 {
            problems.push(format!(
                "{name}: {} unassigned rows{}",
                a.unassigned,
                a.unassigned_sample.map(|x| format!(" (e.g. {x})")).unwrap_or_default()
            ));
        }
        if let Some(o) = a.overlaps.filter(|o| *o > 0) {
            problems.push(format!(
                "{name}: {o} rows match several rules{}",
                a.overlap_sample.map(|x| format!(" (e.g. {x})")).unwrap_or_default()
            ));
        }
    }
    Ok(problems)
}

fn results<'a>(
    session: &Session,
    s: usize,
    cache: &'a mut HashMap<usize, Vec<OutRow>>,
) -> Result<&'a Vec<OutRow>, String> {
    if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(s) {
        let batches = session.run_segment(s).map_err(|e| e.to_string())?;
        slot.insert(out_rows(&session.program, s, &batches));
    }
    Ok(&cache[&s])
}

/// Segmentation `s`'s result as the rows `expect` queries read: a caller that
/// ran it already (`seg report`) seeds the cache of `assertion` with these.
pub fn out_rows(
    p: &Checked,
    s: usize,
    batches: &[arrow::record_batch::RecordBatch],
) -> Vec<OutRow> {
    let sd = &p.segments[s];
    let values = super::batches_to_values(batches);
    reference::segment::rows_from_values(sd.label_columns(), sd.has_levels(), &values)
}

/// The value of `rows(SEG, ...)`, `share(...)`, `share_of_parent(...)` or a measure
/// read off `rows`, the results of the query's segmentation as `seg run` gives them.
pub fn query_value(p: &Checked, rows: &[OutRow], q: &SegQuery) -> Result<Value, String> {
    let sd = &p.segments[q.segment];
    // Under `over`, the period leads the labels (of rows and of the query).
    let lead = usize::from(sd.over.is_some());
    let k = sd.label_columns();
    let then = usize::from(sd.mode == SegMode::Then);
    let col = match q.what {
        QueryWhat::Rows => 0,
        QueryWhat::Measure(i) => match sd.measures.iter().position(|&m| m == i) {
            Some(j) => 1 + j,
            None => {
                return Err(format!(
                    "segmentation `{}` does not report measure `{}`",
                    sd.name,
                    p.seg_measures(q.segment)[i].name
                ))
            }
        },
        QueryWhat::Share => 1 + sd.measures.len(),
        QueryWhat::ShareOfParent => 2 + sd.measures.len(),
        QueryWhat::Growth => 2 + then + sd.measures.len(),
        QueryWhat::ShareChange => 3 + then + sd.measures.len(),
        QueryWhat::ParentShareChange => 4 + then + sd.measures.len(),
    };
    let period = &q.labels[..lead.min(q.labels.len())];
    if q.labels.len() <= lead {
        if q.what != QueryWhat::Rows {
            return Err("name a segment by its labels".into());
        }
        // `with total`: the grand-total row says it.
        if let Some(t) = rows.iter().find(|r| r.level == Some(0) && r.labels[..lead] == *period) {
            return Ok(t.values[0].clone());
        }
        let top: i64 = rows
            .iter()
            .filter(|r| r.labels[..lead] == *period)
            .filter(|r| r.level.unwrap_or(1) == 1)
            .filter_map(|r| if let Value::Int(i) = r.values[0] { Some(i) } else { None })
            .sum();
        return Ok(Value::Int(top));
    }
    let n = q.labels.len();
    if sd.mode == SegMode::Cross && n < k {
        // A margin of the grid: add up the cells, which is exact for rows, shares
        // and additive measures.
        let additive = match q.what {
            QueryWhat::Measure(i) => {
                let defs = p.seg_measures(q.segment);
                super::audit::is_additive(&defs[i].expr, defs)
            }
            QueryWhat::ShareOfParent => false,
            _ => true,
        };
        if !additive {
            return Err(format!("segmentation `{}` crosses {k} dimensions and this measure does not add up across cells: name {k} labels", sd.name));
        }
        let mut int_sum = 0i64;
        let mut float_sum = 0f64;
        let mut is_float = false;
        let cells = rows.iter().filter(|r| r.level != Some(0));
        for r in cells.filter(|r| r.labels[..n] == q.labels[..]) {
            match r.values.get(col) {
                Some(Value::Int(i)) => int_sum += i,
                Some(Value::Float(f)) => {
                    is_float = true;
                    float_sum += f
                }
                _ => {}
            }
        }
        return Ok(if is_float || q.what == QueryWhat::Share {
            Value::Float(float_sum + int_sum as f64)
        } else {
            Value::Int(int_sum)
        });
    }
    let found = rows.iter().find(|r| {
        let level_ok = match r.level {
            Some(l) => l as usize + lead == n,
            None => true,
        };
        level_ok && r.labels[..n] == q.labels[..]
    });
    match found {
        Some(r) => Ok(r.values.get(col).cloned().unwrap_or(Value::Null)),
        None => Ok(match q.what {
            // A segment with no rows has zero rows and a zero share.
            QueryWhat::Rows => Value::Int(0),
            QueryWhat::Share | QueryWhat::ShareOfParent => Value::Float(0.0),
            QueryWhat::Measure(_)
            | QueryWhat::Growth
            | QueryWhat::ShareChange
            | QueryWhat::ParentShareChange => Value::Null,
        }),
    }
}

fn collect_queries(e: &TExpr, out: &mut Vec<SegQuery>) {
    if let TKind::Query(q) = &e.kind {
        out.push(q.clone());
    }
    e.children().into_iter().for_each(|x| collect_queries(x, out));
}

/// The expression with each query replaced by its value, ready for the reference
/// evaluator (the checker did the reverse: calls became query nodes).
fn bind_queries(e: &TExpr, values: &[(SegQuery, Value)]) -> TExpr {
    fn walk(e: &mut TExpr, values: &[(SegQuery, Value)]) {
        if let TKind::Query(q) = &e.kind {
            let v =
                values.iter().find(|(x, _)| x == q).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
            e.kind = TKind::Lit(v);
        }
        e.children_mut().into_iter().for_each(|x| walk(x, values));
    }
    let mut e = e.clone();
    walk(&mut e, values);
    e
}

fn describe(q: &SegQuery, p: &Checked) -> String {
    let what = match q.what {
        QueryWhat::Rows => "rows".to_string(),
        QueryWhat::Share => "share".into(),
        QueryWhat::ShareOfParent => "share_of_parent".into(),
        QueryWhat::Measure(i) => p.seg_measures(q.segment)[i].name.clone(),
        QueryWhat::Growth => "growth".into(),
        QueryWhat::ShareChange => "share_change".into(),
        QueryWhat::ParentShareChange => "parent_share_change".into(),
    };
    let sd = &p.segments[q.segment];
    let lead = usize::from(sd.over.is_some()).min(q.labels.len());
    let shown =
        |l: &Option<String>| l.as_ref().map(|s| format!("{s:?}")).unwrap_or_else(|| "null".into());
    let mut args = vec![sd.name.clone()];
    args.extend(q.labels[lead..].iter().map(shown));
    // The period, named as it was written: last.
    args.extend(q.labels[..lead].iter().map(|l| format!("period {}", shown(l))));
    format!("{what}({})", args.join(", "))
}

/// An `expect` assertion over a session's results: whether it holds, and the values
/// it read (`rows(coffee, "B2B") = 120, ...`). Each segmentation runs once per `cache`.
pub fn assertion(
    session: &Session,
    expr: &TExpr,
    cache: &mut HashMap<usize, Vec<OutRow>>,
) -> Result<(bool, String), String> {
    let mut qs = Vec::new();
    collect_queries(expr, &mut qs);
    let mut values = Vec::new();
    for q in qs {
        let rows = results(session, q.segment, cache)?;
        let v = query_value(&session.program, rows, &q)?;
        values.push((q, v));
    }
    let e = bind_queries(expr, &values);
    let result = reference::eval(&e, &|_: &str| Value::Null);
    let shown: Vec<String> =
        values.iter().map(|(q, v)| format!("{} = {v}", describe(q, &session.program))).collect();
    Ok((result == Value::Bool(true), shown.join(", ")))
}

/// One `expect` evaluated: whether it holds, what was found, and the engine error
/// that stopped it, if one did (its exit code matters to `seg test`).
pub struct ExpectVerdict {
    pub span: crate::span::Span,
    pub ok: bool,
    pub detail: String,
    pub error: Option<EngineError>,
}

/// Every `expect` of the session's program, in order; `cache` holds results
/// already computed (a caller may seed it with `out_rows`).
pub fn expect_verdicts(
    session: &Session,
    cache: &mut HashMap<usize, Vec<OutRow>>,
) -> Vec<ExpectVerdict> {
    let verdict = |span, ok, detail, error| ExpectVerdict { span, ok, detail, error };
    // Any segmentation may be read by an expectation: sharing is planned for all,
    // and a pass runs only when the first of its segmentations runs.
    let all: Vec<usize> = (0..session.program.segments.len()).collect();
    session.share_scans(&all, true);
    session
        .program
        .expects
        .iter()
        .map(|e| match e {
            ExpectDef::Partition { segment, span, .. } => {
                match partition_problems(session, *segment) {
                    Ok(problems) => verdict(*span, problems.is_empty(), problems.join("; "), None),
                    Err(err) => verdict(*span, false, err.to_string(), Some(err)),
                }
            }
            ExpectDef::Assert { expr, span } => match assertion(session, expr, cache) {
                Ok((ok, values)) => verdict(*span, ok, values, None),
                Err(err) => verdict(*span, false, err, None),
            },
        })
        .collect()
}
