//! The facts `seg lock` freezes of a data-dependent dimension (see `check::lock`),
//! as a plan: the labelled rows (or entities) of the dimension, optionally those of
//! one period of an `over`, reduced to what a lock records.

use super::expr::{col, row};
use super::labels::labelled_over;
use super::{names, DfResult, Scans};
use crate::check::program::*;
use arrow::datatypes::DataType;
use datafusion::functions_aggregate::count::count_all;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{cast, lit, when, LogicalPlan, LogicalPlanBuilder};

/// Per label of dimension `d`: `label`, `size` (rows or entities), `low` (the
/// lowest value of the ranked expression) and `ord` (a `top` label's rank). For a
/// `pareto`, one row per labelled entity instead: `label`, `value`, `key`.
pub fn plan(
    p: &Checked,
    d: usize,
    period: Option<(&OverDef, &PeriodValue)>,
    scans: &dyn Scans,
) -> DfResult<LogicalPlan> {
    let dd = &p.dims[d];
    let expr = match &dd.kind {
        DimKind::Quantiles { expr, .. }
        | DimKind::Pareto { expr, .. }
        | DimKind::Top { expr, .. } => expr,
        _ => {
            return Err(datafusion::error::DataFusionError::Internal(
                "only data-dependent dimensions are frozen".into(),
            ))
        }
    };
    let mut keep = Vec::new();
    expr.columns(&mut keep);
    let key = match dd.owner {
        Owner::Entity(e) => Some(p.entities[e].key.name.clone()),
        Owner::Market(_) => None,
    };
    if let Some(k) = &key {
        if !keep.contains(k) {
            keep.push(k.clone());
        }
    }
    let over = period.map(|(o, _)| o);
    let b = labelled_over(p, dd.owner, &[d], None, &keep, &[], over, scans)?;
    let label = cast(col(&names::label(d)), DataType::Utf8);
    // The period test rides on the label rather than filtering `__p` alone (see
    // `migrate`: a filter on a window's partition column breaks DataFusion 55's plan).
    let label = match period {
        Some((_, at)) => {
            let at = match at {
                PeriodValue::Num(n) => lit(*n),
                PeriodValue::Text(t) => lit(t.as_str()),
            };
            when(col(names::PERIOD).eq(at), label).end()?
        }
        None => label,
    };
    let mut cols = vec![label.alias("label"), row(expr).alias("value")];
    if let Some(k) = &key {
        cols.push(col(k).alias("key"));
    }
    if matches!(dd.kind, DimKind::Top { .. }) {
        cols.push(col(&names::top_order(d)).alias("ord"));
    }
    let b = b.project(cols)?.filter(col("label").is_not_null())?;
    if matches!(dd.kind, DimKind::Pareto { .. }) {
        return b.build();
    }
    let mut aggs = vec![count_all().alias("size"), agg::min(col("value")).alias("low")];
    if matches!(dd.kind, DimKind::Top { .. }) {
        aggs.push(agg::min(col("ord")).alias("ord"));
    }
    LogicalPlanBuilder::from(b.build()?).aggregate(vec![col("label")], aggs)?.build()
}

/// The rows market `m` reads (before its `where`): the lock's record of the data.
pub fn row_count(scans: &dyn Scans, m: usize) -> DfResult<LogicalPlan> {
    LogicalPlanBuilder::from(scans.scan(m)?)
        .aggregate(Vec::<datafusion::logical_expr::Expr>::new(), vec![count_all().alias("rows")])?
        .build()
}

/// `label`, `size`: the rows (or entities) each label of dimension `d` gets.
pub fn sizes(p: &Checked, d: usize, scans: &dyn Scans) -> DfResult<LogicalPlan> {
    let dd = &p.dims[d];
    let b = labelled_over(p, dd.owner, &[d], None, &[], &[], None, scans)?;
    b.project(vec![cast(col(&names::label(d)), DataType::Utf8).alias("label")])?
        .filter(col("label").is_not_null())?
        .aggregate(vec![col("label")], vec![count_all().alias("size")])?
        .build()
}
