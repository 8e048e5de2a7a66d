//! A market's rows collapsed for repeated queries: one row per distinct combination
//! of the columns a segmentation's labels, `where`s and distinct aggregates read,
//! with the row count and every other aggregate in parts that combine. Queries that
//! only move cut points or relabel (the REPL) then group these rows, not the market's.
//!
//! Every label is a function of the row's key columns, so each reduced row lands in
//! the segment each of its rows would; counts and sums add up (float sums exactly,
//! as `exact` keeps them), minima and maxima combine, and a distinct aggregate sees
//! the same set of values, its argument being part of the key.

use super::expr::{aggregate, combine, combine_partial, combines, partial, AggSet};
use super::{market_rows, names, DfResult, Scans};
use crate::check::program::*;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{Expr, LogicalPlan};

/// What a reduction groups by and what it keeps; two segmentations with equal shapes
/// read the same reduced rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub market: usize,
    /// The market's `where`, applied before reducing: part of the shape, since the
    /// REPL may redefine it over the same data.
    filter: Option<TExpr>,
    /// The key columns, in first-read order.
    keys: Vec<String>,
    /// The aggregates kept as combinable parts, each under its column name.
    aggs: Vec<Agg>,
    names: Vec<String>,
}

/// The reduction segmentation `s` can read, or `None` when a label, ranking or
/// aggregate needs the market's own rows: entities, joins, `over`, `top`, quantiles,
/// and aggregates such as `median` that neither combine nor ignore duplicates.
pub fn shape(p: &Checked, s: usize, scans: &dyn Scans) -> Option<Shape> {
    let sd = &p.segments[s];
    let Owner::Market(m) = sd.owner() else { return None };
    let mk = &p.markets[m];
    if scans.portable() || sd.over.is_some() || sd.migrate.is_some() || !mk.joins.is_empty() {
        return None;
    }
    let mut keys = Vec::new();
    for &d in &sd.dims {
        let dd = &p.dims[d];
        let plain = matches!(
            dd.kind,
            DimKind::Column(_) | DimKind::Map { .. } | DimKind::Rules { .. } | DimKind::Bins { .. }
        );
        if dd.owner != Owner::Market(m) || !plain {
            return None;
        }
        for c in dd.input_columns() {
            if !keys.contains(&c) {
                keys.push(c);
            }
        }
    }
    if let Some(f) = &sd.filter {
        f.columns(&mut keys);
    }
    let mut set = AggSet::new(names::MEASURE_AGG);
    for &i in sd.measures.iter().chain(&sd.share_of) {
        set.measure(&p.seg_measures(s)[i].expr, p.seg_measures(s));
    }
    let mut aggs = Vec::new();
    for a in set.aggs {
        if combines(&a) {
            aggs.push(a);
        } else if a.distinct && matches!(a.func, AggFunc::Count | AggFunc::Sum) {
            a.arg.iter().chain(&a.filter).for_each(|x| x.columns(&mut keys));
        } else {
            return None;
        }
    }
    let names = (0..aggs.len()).map(|i| format!("{}{i}", names::REDUCED_AGG)).collect();
    Some(Shape { market: m, filter: mk.filter.clone(), keys, aggs, names })
}

impl Shape {
    /// The reduction: market rows (its `where` applied) grouped by the key columns.
    pub fn plan(&self, p: &Checked, scans: &dyn Scans) -> DfResult<LogicalPlan> {
        let aggs: Vec<Expr> =
            self.aggs.iter().zip(&self.names).map(|(a, n)| partial(a).alias(n)).collect();
        let keys: Vec<Expr> = self.keys.iter().map(|k| super::expr::col(k)).collect();
        let aggs = super::rows::with_rows(aggs, &keys);
        market_rows(p, self.market, scans)?.aggregate(keys, aggs)?.build()
    }

    /// The columns of a reduced row that aggregating it needs, besides the labels'.
    pub fn keep(&self, set: &AggSet) -> Vec<String> {
        let mut keep = vec![names::ROWS.to_string()];
        for a in &set.aggs {
            match self.aggs.iter().position(|x| x == a) {
                Some(i) => keep.push(self.names[i].clone()),
                None => a.arg.iter().chain(&a.filter).for_each(|x| x.columns(&mut keep)),
            }
        }
        keep
    }

    /// The aggregates of `set` over reduced rows, under `set`'s names, with the row
    /// count first: parts combined (as `partial` values when `partial`), distinct
    /// aggregates as over the market's rows.
    pub fn aggregates(&self, set: &AggSet, partial: bool) -> Vec<Expr> {
        let mut out = vec![agg::sum(super::expr::col(names::ROWS)).alias(names::ROWS)];
        for (a, n) in set.aggs.iter().zip(&set.names) {
            let e = match self.aggs.iter().position(|x| x == a) {
                Some(i) if partial => combine_partial(a, super::expr::col(&self.names[i])),
                Some(i) => combine(a, super::expr::col(&self.names[i])),
                None => aggregate(a),
            };
            out.push(e.alias(n));
        }
        out
    }
}
