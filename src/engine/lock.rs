//! `seg lock`: the data-dependent definitions of a spec computed on its data (see
//! `check::lock` for the file and how it is applied), and how far today's data has
//! drifted from a lock.

use super::errors::EngineError;
use super::session::Session;
use crate::check::lock::{self, LockData, LockDim, LockFile, LockGroup, LockPeriod, LockValue};
use crate::check::program::{Checked, DimKind, PeriodValue, Value};
use crate::diagnostic::Diagnostic;
use crate::lower;

/// `--period P` of segmentation `segment` (an `over` one).
pub struct Period {
    pub segment: usize,
    pub value: PeriodValue,
    pub text: String,
}

fn run(
    session: &Session,
    d: usize,
    period: Option<&Period>,
) -> Result<Vec<Vec<Value>>, EngineError> {
    let p = &session.program;
    let over = period.and_then(|x| p.segments[x.segment].over.as_ref().map(|o| (o, &x.value)));
    let plan = lower::freeze::plan(p, d, over, session).map_err(|e| {
        EngineError::lowering(lower::internal(p.dims[d].span, "a frozen definition", e))
    })?;
    Ok(super::batches_to_values(&session.execute(plan)?))
}

/// Each group of quantile dimension `d` in label order, with its lowest value on
/// the session's data (`None`: the group is empty): where its cut lies.
pub fn group_starts(
    session: &Session,
    d: usize,
) -> Result<Vec<(String, Option<Value>)>, EngineError> {
    let DimKind::Quantiles { labels, .. } = &session.program.dims[d].kind else {
        return Ok(Vec::new());
    };
    let rows = run(session, d, None)?;
    Ok(labels
        .iter()
        .map(|l| {
            let low = rows.iter().find(|r| text(&r[0]) == *l).map(|r| r[2].clone());
            (l.clone(), low.filter(|v| *v != Value::Null))
        })
        .collect())
}

fn text(v: &Value) -> String {
    v.label().unwrap_or_default()
}

/// Every data-dependent dimension of the session's program, computed on its data.
pub fn compute(
    session: &Session,
    spec: &str,
    src: &str,
    period: Option<&Period>,
) -> Result<LockFile, EngineError> {
    let p: &Checked = &session.program;
    let mut data = Vec::new();
    for (m, mk) in p.markets.iter().enumerate() {
        let plan = lower::freeze::row_count(session, m)
            .map_err(|e| EngineError::lowering(lower::internal(mk.span, "the row count", e)))?;
        let rows = super::batches_to_values(&session.execute(plan)?)
            .first()
            .and_then(|r| r.first().and_then(Value::as_f64))
            .unwrap_or(0.0) as u64;
        data.push(LockData { market: mk.name.clone(), path: mk.path.clone(), rows });
    }
    let mut dims = Vec::new();
    for (d, dd) in p.dims.iter().enumerate() {
        if !lock::freezable(dd) {
            continue;
        }
        let rows = run(session, d, period)?;
        let (definition, reads) = lock::definition(p, dd, src);
        let mut groups = Vec::new();
        match &dd.kind {
            DimKind::Quantiles { labels, .. } => {
                // Every label, in order, empty ones included (without a lowest value).
                for l in labels {
                    let r = rows.iter().find(|r| text(&r[0]) == *l);
                    groups.push(LockGroup {
                        label: l.clone(),
                        size: r.and_then(|r| r[1].as_f64()).unwrap_or(0.0) as u64,
                        from: r.and_then(|r| LockValue::of(&r[2])),
                        last: None,
                        last_key: None,
                        value: None,
                    });
                }
            }
            DimKind::Pareto { labels, .. } => {
                for l in labels {
                    // The group's last entity in rank order: the lowest value, and
                    // of those the highest key (ties rank by key ascending).
                    let members: Vec<&Vec<Value>> =
                        rows.iter().filter(|r| text(&r[0]) == *l).collect();
                    let last = members
                        .iter()
                        .min_by(|a, b| cmp(&a[1], &b[1]).then_with(|| cmp(&b[2], &a[2])));
                    groups.push(LockGroup {
                        label: l.clone(),
                        size: members.len() as u64,
                        from: None,
                        last: last.and_then(|r| LockValue::of(&r[1])),
                        last_key: last.and_then(|r| LockValue::of(&r[2])),
                        value: None,
                    });
                }
            }
            DimKind::Top { other, .. } => {
                let mut members: Vec<&Vec<Value>> =
                    rows.iter().filter(|r| text(&r[0]) != *other && r[3] != Value::Null).collect();
                members.sort_by(|a, b| cmp(&a[3], &b[3]));
                for r in members {
                    groups.push(LockGroup {
                        label: text(&r[0]),
                        size: r[1].as_f64().unwrap_or(0.0) as u64,
                        from: None,
                        last: None,
                        last_key: None,
                        value: LockValue::of(&r[2]),
                    });
                }
            }
            _ => {}
        }
        let count = match &dd.kind {
            DimKind::Pareto { .. } => rows.len() as u64,
            _ => rows.iter().map(|r| r[1].as_f64().unwrap_or(0.0) as u64).sum(),
        };
        dims.push(LockDim {
            name: dd.name.clone(),
            definition,
            reads,
            kind: lock::kind_name(dd).to_string(),
            count,
            groups,
        });
    }
    let period = period.map(|x| LockPeriod {
        segment: p.segments[x.segment].name.clone(),
        period: x.text.clone(),
    });
    Ok(LockFile { version: lock::VERSION, spec: spec.to_string(), period, data, dimensions: dims })
}

fn cmp(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => x.cmp(y),
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (x, y) => x.is_none().cmp(&y.is_none()),
        },
    }
}

/// Warnings where today's data has drifted from `locked`: a group more than 20%
/// away from its locked share of the rows (or entities), or a `top` list that
/// ranks other members now. `unlocked` is the session over the spec without its
/// lock; `frozen` the one with it.
pub fn drift(
    unlocked: &Session,
    frozen: &Session,
    locked: &LockFile,
    src: &str,
) -> Result<Vec<Diagnostic>, EngineError> {
    let now = compute(unlocked, &locked.spec, src, None)?;
    let mut out = Vec::new();
    for entry in &locked.dimensions {
        let Some(d) = unlocked.program.dims.iter().position(|x| x.name == entry.name) else {
            continue;
        };
        let span = unlocked.program.dims[d].span;
        let current = now.dimensions.iter().find(|x| x.name == entry.name);
        if entry.kind == "top" {
            let was: Vec<&str> = entry.groups.iter().map(|g| g.label.as_str()).collect();
            let is: Vec<&str> = current
                .map(|c| c.groups.iter().map(|g| g.label.as_str()).collect())
                .unwrap_or_default();
            if was != is {
                out.push(super::errors::top_drifted(span, &entry.name, &was, &is));
            }
            continue;
        }
        // Sizes under the frozen definition: the groups the lock's cut points give
        // today's rows.
        let fd = frozen.program.dims.iter().position(|x| x.name == entry.name);
        let sizes = match fd {
            Some(fd) => frozen_sizes(frozen, fd)?,
            None => continue,
        };
        let total: f64 = sizes.iter().map(|(_, n)| *n).sum();
        if entry.count == 0 || total == 0.0 {
            continue;
        }
        let mut moved = Vec::new();
        for g in &entry.groups {
            let expected = g.size as f64 / entry.count as f64;
            let actual = sizes.iter().find(|(l, _)| *l == g.label).map_or(0.0, |(_, n)| *n) / total;
            if (actual - expected).abs() > 0.2 * expected {
                moved.push(format!(
                    "`{}`: {:.1}% today, {:.1}% when locked",
                    g.label,
                    actual * 100.0,
                    expected * 100.0
                ));
            }
        }
        if !moved.is_empty() {
            let of = match unlocked.program.dims[d].owner {
                crate::check::program::Owner::Entity(e) => {
                    format!("`{}` entities", unlocked.program.entities[e].name)
                }
                crate::check::program::Owner::Market(_) => "the rows".to_string(),
            };
            out.push(super::errors::groups_drifted(span, &entry.name, &of, &moved));
        }
    }
    Ok(out)
}

/// Each label's rows (or entities) under a frozen dimension.
fn frozen_sizes(frozen: &Session, d: usize) -> Result<Vec<(String, f64)>, EngineError> {
    let p = &frozen.program;
    let plan = lower::freeze::sizes(p, d, frozen).map_err(|e| {
        EngineError::lowering(lower::internal(p.dims[d].span, "a frozen definition", e))
    })?;
    Ok(super::batches_to_values(&frozen.execute(plan)?)
        .into_iter()
        .map(|r| (text(&r[0]), r[1].as_f64().unwrap_or(0.0)))
        .collect())
}
