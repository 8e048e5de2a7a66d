//! `seg why`: for chosen market rows, each dimension's label and what decided it
//! (the rule, mapping arm, bin or ranking, with its line in the spec) and the
//! values it read. Labels come from the engine, as `seg run` computes them; the
//! reasons are read off the spec with the reference evaluator, one row at a time.

use super::session::{EngineError, Session};
use crate::check::program::*;
use crate::reference::{compare, eval, RowRef};
use serde::Serialize;
use std::cmp::Ordering;

#[derive(Debug, Serialize)]
pub struct RowWhy {
    /// The row's number in read order, from 1.
    pub row: i64,
    pub dims: Vec<DimWhy>,
}

#[derive(Debug, Serialize)]
pub struct DimWhy {
    pub dimension: String,
    pub label: Option<String>,
    pub because: String,
    /// The line of the spec that decided it (a rule, a mapping arm, the dimension).
    pub line: usize,
    /// The values the decision read: `(column, value)`.
    pub reads: Vec<(String, String)>,
}

struct Named<'a> {
    cols: &'a [String],
    vals: &'a [Value],
}

impl RowRef for Named<'_> {
    fn get(&self, name: &str) -> Value {
        self.cols.iter().position(|c| c == name).map_or(Value::Null, |i| self.vals[i].clone())
    }
}

fn line_of(text: &str, span: crate::span::Span) -> usize {
    let at = (span.start as usize).min(text.len());
    text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// The spec text of `span` on one line, comments left out (an expression's span
/// can run over the comments that follow it).
fn snippet(text: &str, span: crate::span::Span) -> String {
    let raw = text.get(span.start as usize..span.end as usize).unwrap_or("");
    let code: Vec<&str> = raw
        .lines()
        .map(|l| {
            let mut in_str = false;
            let cut = l.char_indices().find(|&(_, c)| {
                if c == '"' {
                    in_str = !in_str;
                }
                c == '#' && !in_str
            });
            cut.map_or(l, |(i, _)| &l[..i])
        })
        .collect();
    code.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shown(v: &Value) -> String {
    v.to_string()
}

/// Each quantile group's label and lowest value (`None`: empty), in label order.
type Starts = Vec<(String, Option<Value>)>;

/// Why dimension `d` gave `row` its label.
fn explain(
    d: &DimDef,
    label: &Option<String>,
    row: &dyn RowRef,
    text: &str,
    starts: &[(String, Option<Value>)],
) -> (String, crate::span::Span) {
    let else_or_none = |else_label: &Option<String>| match else_label {
        Some(l) => format!("no rule matched, so `else` gives \"{l}\""),
        None => "no rule matched and there is no `else`: unassigned".to_string(),
    };
    match &d.kind {
        DimKind::Rules { arms, else_label, partition } => {
            for (i, a) in arms.iter().enumerate() {
                if eval(&a.cond, row) == Value::Bool(true) {
                    let what = if *partition { "partition rule" } else { "rule" };
                    return (format!("{what} {} matched: {}", i + 1, snippet(text, a.cond.span)), a.span);
                }
            }
            (else_or_none(else_label), d.span)
        }
        DimKind::Map { expr, arms, else_label } => {
            let v = eval(expr, row);
            for a in arms {
                if let Some((x, span)) = a.values.iter().find(|(x, _)| compare(x, &v) == Some(Ordering::Equal)) {
                    let _ = x;
                    return (format!("{} is listed under \"{}\"", shown(&v), a.label), *span);
                }
            }
            match else_label {
                Some(l) => (format!("{} is not listed, so `else` gives \"{l}\"", shown(&v)), d.span),
                None => (format!("{} is not listed and there is no `else`: unassigned", shown(&v)), d.span),
            }
        }
        DimKind::Bins { expr, cuts, closed_right, .. } => {
            let v = eval(expr, row);
            if v.is_null() {
                return (format!("{} is null: unassigned", snippet(text, expr.span)), d.span);
            }
            let below = |c: &Value| match compare(&v, c) {
                Some(Ordering::Less) => true,
                Some(Ordering::Equal) => *closed_right,
                _ => false,
            };
            let i = cuts.iter().position(below).unwrap_or(cuts.len());
            let (open, close) = if *closed_right { ("(", "]") } else { ("[", ")") };
            let lo = if i == 0 { "-∞".to_string() } else { shown(&cuts[i - 1]) };
            let hi = cuts.get(i).map_or("+∞".to_string(), shown);
            let close = if i == cuts.len() { ")" } else { close };
            let open = if i == 0 { "(" } else { open };
            (format!("{} = {} is in the bin {open}{lo}, {hi}{close}", snippet(text, expr.span), shown(&v)), d.span)
        }
        DimKind::Column(e) => (format!("the value of {}", snippet(text, e.span)), d.span),
        DimKind::Top { n, expr, other } => {
            let v = eval(expr, row);
            let because = match label {
                Some(l) if l == other && shown(&v) != *other => {
                    format!("{} = {} is not among the {n} most frequent values: \"{other}\"", snippet(text, expr.span), shown(&v))
                }
                Some(_) => format!("{} = {} is among the {n} most frequent values", snippet(text, expr.span), shown(&v)),
                None => format!("{} is null: unassigned", snippet(text, expr.span)),
            };
            (because, d.span)
        }
        DimKind::Quantiles { expr, .. } => {
            let v = eval(expr, row);
            let what = snippet(text, expr.span);
            let Some(l) = label else {
                return (format!("{what} is null: unassigned"), d.span);
            };
            // The cut: where this group starts and the next non-empty one does.
            let at = starts.iter().position(|(x, _)| x == l);
            let from = at.and_then(|i| starts[i].1.clone());
            let next = at.and_then(|i| starts[i + 1..].iter().find_map(|(n, s)| s.clone().map(|s| (n, s))));
            let mut because = format!("{what} = {}", shown(&v));
            match (from, next) {
                (Some(f), Some((n, s))) => because.push_str(&format!(
                    " is at or above {} (the lowest value in \"{l}\") and below {} (the lowest in \"{n}\")",
                    shown(&f),
                    shown(&s)
                )),
                (Some(f), None) => because.push_str(&format!(
                    " is at or above {} (the lowest value in \"{l}\", the last group)",
                    shown(&f)
                )),
                _ => {}
            }
            because.push_str(&format!(
                "; groups are cut by rank among all {} (equal values share a group)",
                if matches!(d.owner, Owner::Entity(_)) { "entities" } else { "rows" }
            ));
            (because, d.span)
        }
        DimKind::Pareto { expr, .. } => (
            format!("{} = {} ranked among all entities, largest first; the share held by those before it picks the group", snippet(text, expr.span), shown(&eval(expr, row))),
            d.span,
        ),
    }
}

/// The columns a dimension's decision reads, each once.
fn reads(d: &DimDef) -> Vec<String> {
    let mut cols = d.input_columns();
    cols.dedup();
    cols
}

/// Explains the rows of market `m` that `cond` keeps, or row number `row`.
pub fn why(
    session: &Session,
    text: &str,
    m: usize,
    cond: Option<&TExpr>,
    row: Option<u64>,
    limit: usize,
) -> Result<Vec<RowWhy>, EngineError> {
    let p = &session.program;
    let plan = crate::lower::assign::why_plan(p, m, cond, row, limit, session)
        .map_err(EngineError::lowering)?;
    let names: Vec<String> = plan.schema().fields().iter().map(|f| f.name().clone()).collect();
    let rows = super::batches_to_values(&session.execute(plan)?);
    let dims: Vec<usize> = (0..p.dims.len()).filter(|&d| p.dims[d].market == m).collect();
    // Entity features, for the entity dimensions: one table per entity, by key.
    let mut entities: Vec<(usize, Vec<String>, Vec<Vec<Value>>)> = Vec::new();
    for &d in &dims {
        if let Owner::Entity(e) = p.dims[d].owner {
            if entities.iter().any(|x| x.0 == e) {
                continue;
            }
            let plan =
                crate::lower::assign::entity_plan(p, e, session).map_err(EngineError::lowering)?;
            let cols = plan.schema().fields().iter().map(|f| f.name().clone()).collect();
            entities.push((e, cols, super::batches_to_values(&session.execute(plan)?)));
        }
    }
    // Quantile cuts, read off the data once per dimension.
    let mut starts: Vec<(usize, Starts)> = Vec::new();
    for &d in &dims {
        if matches!(p.dims[d].kind, DimKind::Quantiles { .. }) {
            starts.push((d, super::lock::group_starts(session, d)?));
        }
    }
    let starts_of = |d: usize| -> &[(String, Option<Value>)] {
        starts.iter().find(|x| x.0 == d).map_or(&[], |x| x.1.as_slice())
    };
    let mut out = Vec::new();
    for r in &rows {
        let here = Named { cols: &names, vals: r };
        let number = match r.first() {
            Some(Value::Int(i)) => *i,
            _ => 0,
        };
        let mut dws = Vec::new();
        for &d in &dims {
            let dd = &p.dims[d];
            let label = here.get(&crate::lower::names::label(d)).label();
            let (because, span, read_from): (String, crate::span::Span, Vec<(String, String)>) =
                match dd.owner {
                    Owner::Market(_) => {
                        let (b, s) = explain(dd, &label, &here, text, starts_of(d));
                        let reads = reads(dd)
                            .into_iter()
                            .map(|c| {
                                let v = here.get(&c);
                                (c, shown(&v))
                            })
                            .collect();
                        (b, s, reads)
                    }
                    Owner::Entity(e) => {
                        let ent = &p.entities[e];
                        let key = here.get(&ent.key.name);
                        let Some((_, cols, erows)) = entities.iter().find(|x| x.0 == e) else {
                            continue;
                        };
                        let found = erows.iter().find(|er| {
                            Named { cols, vals: er }.get(&ent.key.name) == key && !key.is_null()
                        });
                        match found {
                            Some(er) => {
                                let erow = Named { cols, vals: er };
                                let (b, s) = explain(dd, &label, &erow, text, starts_of(d));
                                let mut reads = vec![(ent.key.name.clone(), shown(&key))];
                                reads.extend(reads_of(dd, &erow));
                                (
                                    format!(
                                        "entity `{}` {} = {}: {b}",
                                        ent.name,
                                        ent.key.name,
                                        shown(&key)
                                    ),
                                    s,
                                    reads,
                                )
                            }
                            None => (
                                format!(
                                    "the row has no `{}` entity ({} = {}): unassigned",
                                    ent.name,
                                    ent.key.name,
                                    shown(&key)
                                ),
                                dd.span,
                                vec![(ent.key.name.clone(), shown(&key))],
                            ),
                        }
                    }
                };
            dws.push(DimWhy {
                dimension: dd.name.clone(),
                label,
                because,
                line: line_of(text, span),
                reads: read_from,
            });
        }
        out.push(RowWhy { row: number, dims: dws });
    }
    Ok(out)
}

fn reads_of(d: &DimDef, row: &dyn RowRef) -> Vec<(String, String)> {
    reads(d)
        .into_iter()
        .map(|c| {
            let v = row.get(&c);
            (c, shown(&v))
        })
        .collect()
}

/// For a terminal: one block per row.
pub fn to_text(rows: &[RowWhy], spec: &str) -> String {
    if rows.is_empty() {
        return "no row matched\n".into();
    }
    let mut out = String::new();
    for r in rows {
        out.push_str(&format!("row {}\n", r.row));
        for d in &r.dims {
            let label = d.label.as_ref().map_or("(unassigned)".to_string(), |l| format!("\"{l}\""));
            out.push_str(&format!(
                "  {} = {label}\n    because {} ({spec}:{})\n",
                d.dimension, d.because, d.line
            ));
            if !d.reads.is_empty() {
                let reads: Vec<String> =
                    d.reads.iter().map(|(c, v)| format!("{c} = {v}")).collect();
                out.push_str(&format!("    read {}\n", reads.join(", ")));
            }
        }
    }
    out
}
