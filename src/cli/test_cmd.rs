//! `seg test`: `example` rows checked without data, `expect` statements on data.

use super::check_cmd::{collect_specs, print_diagnostics};
use super::run_cmd::{engine_exit, open};
use super::{exit, DataArgs, DiagFormat, EngineArgs};
use crate::check::program::*;
use crate::engine::session::{EngineError, Session};
use crate::engine::{self, paths::PathPolicy, LoadOptions};
use crate::reference::{self, segment::OutRow};
use crate::span::LineIndex;
use std::collections::HashMap;
use std::path::PathBuf;

struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn record(&mut self, ok: bool, what: &str, detail: &str) {
        if ok {
            self.passed += 1;
            outln!("ok    {what}");
        } else {
            self.failed += 1;
            outln!("FAIL  {what}");
            if !detail.is_empty() {
                outln!("      {detail}");
            }
        }
    }
}

pub fn run(paths: &[PathBuf], data: &DataArgs, eng: &EngineArgs) -> u8 {
    let specs = match collect_specs(paths) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {e}");
            return exit::USAGE;
        }
    };
    let mut tally = Tally { passed: 0, failed: 0 };
    let mut code = exit::OK;
    for (path, shown) in &specs {
        let opts = LoadOptions {
            no_data: false,
            policy: PathPolicy { allow_outside: data.allow_outside },
            sources: Default::default(),
        };
        let file = match engine::load_spec(path, shown, &opts) {
            Ok(f) => f,
            Err(e) => {
                errln!("error: cannot read {shown}: {e}");
                code = code.max(exit::DATA);
                continue;
            }
        };
        let Some(program) = file.program.clone() else {
            print_diagnostics(&file, DiagFormat::Human);
            tally.record(
                false,
                &format!("{shown}: the spec checks"),
                "fix the diagnostics above first",
            );
            continue;
        };
        let idx = LineIndex::new(&file.text);
        let place = |span: crate::span::Span| {
            let (line, _) = idx.line_col(span.start);
            let text: String = file.text
                [span.clamp_to(&file.text).start as usize..span.clamp_to(&file.text).end as usize]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            format!("{shown}:{line} {text}")
        };
        for ex in &program.examples {
            let row = |name: &str| {
                ex.fields
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null)
            };
            for (d, want, span) in &ex.expected {
                let got = reference::row_label(&program.dims[*d], &row);
                let ok = &got == want;
                let shown_got =
                    got.map(|g| format!("{g:?}")).unwrap_or_else(|| "unassigned".into());
                tally.record(
                    ok,
                    &place(*span).replacen(' ', " example: ", 1),
                    &format!("{} gives {shown_got}", program.dims[*d].name),
                );
            }
        }
        if program.expects.is_empty() {
            continue;
        }
        let (_, session) = match open(path, data, eng) {
            Ok(x) => x,
            Err(c) => {
                code = code.max(c);
                for e in &program.expects {
                    let span = match e {
                        ExpectDef::Partition { span, .. } | ExpectDef::Assert { span, .. } => *span,
                    };
                    tally.record(false, &place(span), "the data could not be read");
                }
                continue;
            }
        };
        let mut cache: HashMap<usize, Vec<OutRow>> = HashMap::new();
        for e in &program.expects {
            match e {
                ExpectDef::Partition { segment, span, .. } => {
                    match partition_check(&session, *segment) {
                        Ok(problems) => {
                            tally.record(problems.is_empty(), &place(*span), &problems.join("; "))
                        }
                        Err(err) => {
                            code = code.max(engine_exit(&err));
                            tally.record(false, &place(*span), &err.to_string());
                        }
                    }
                }
                ExpectDef::Assert { expr, span } => match assertion(&session, expr, &mut cache) {
                    Ok((ok, values)) => tally.record(ok, &place(*span), &values),
                    Err(err) => tally.record(false, &place(*span), &err),
                },
            }
        }
    }
    outln!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed > 0 {
        return code.max(exit::INVALID);
    }
    code
}

fn partition_check(session: &Session, s: usize) -> Result<Vec<String>, EngineError> {
    let p = &session.program;
    let mut problems = Vec::new();
    for a in crate::engine::audit::audit_dims(session, s)? {
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
    if !cache.contains_key(&s) {
        let sd = &session.program.segments[s];
        let batches = session.run_segment(s).map_err(|e| e.to_string())?;
        let values = crate::engine::batches_to_values(&batches);
        cache.insert(
            s,
            reference::segment::rows_from_values(sd.dims.len(), sd.mode == SegMode::Then, &values),
        );
    }
    Ok(&cache[&s])
}

fn query(
    session: &Session,
    q: &SegQuery,
    cache: &mut HashMap<usize, Vec<OutRow>>,
) -> Result<Value, String> {
    let p = &session.program;
    let sd = &p.segments[q.segment];
    let k = sd.dims.len();
    let rows = results(session, q.segment, cache)?;
    let col = match q.what {
        QueryWhat::Rows => 0,
        QueryWhat::Measure(i) => match sd.measures.iter().position(|&m| m == i) {
            Some(j) => 1 + j,
            None => {
                return Err(format!(
                    "segmentation `{}` does not report measure `{}`",
                    sd.name, p.markets[sd.market].measures[i].name
                ))
            }
        },
        QueryWhat::Share => 1 + sd.measures.len(),
        QueryWhat::ShareOfParent => 2 + sd.measures.len(),
    };
    if q.labels.is_empty() {
        if q.what != QueryWhat::Rows {
            return Err("name a segment by its labels".into());
        }
        let top: i64 = rows
            .iter()
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
                let mk = &p.markets[sd.market];
                crate::engine::audit::is_additive(&mk.measures[i].expr, &mk.measures)
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
        for r in rows.iter().filter(|r| r.labels[..n] == q.labels[..]) {
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
            Some(l) => l as usize == n,
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
            QueryWhat::Measure(_) => Value::Null,
        }),
    }
}

fn collect_queries(e: &TExpr, out: &mut Vec<SegQuery>) {
    if let TKind::Query(q) = &e.kind {
        out.push(q.clone());
    }
    e.children().into_iter().for_each(|x| collect_queries(x, out));
}

/// The expression with each query replaced by its value.
fn substitute(e: &TExpr, values: &[(SegQuery, Value)]) -> TExpr {
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
        QueryWhat::Measure(i) => p.markets[p.segments[q.segment].market].measures[i].name.clone(),
    };
    let mut args = vec![p.segments[q.segment].name.clone()];
    args.extend(
        q.labels
            .iter()
            .map(|l| l.as_ref().map(|s| format!("{s:?}")).unwrap_or_else(|| "null".into())),
    );
    format!("{what}({})", args.join(", "))
}

fn assertion(
    session: &Session,
    expr: &TExpr,
    cache: &mut HashMap<usize, Vec<OutRow>>,
) -> Result<(bool, String), String> {
    let mut qs = Vec::new();
    collect_queries(expr, &mut qs);
    let mut values = Vec::new();
    for q in qs {
        let v = query(session, &q, cache)?;
        values.push((q, v));
    }
    let e = substitute(expr, &values);
    let result = reference::eval(&e, &|_: &str| Value::Null);
    let shown: Vec<String> =
        values.iter().map(|(q, v)| format!("{} = {v}", describe(q, &session.program))).collect();
    Ok((result == Value::Bool(true), shown.join(", ")))
}
