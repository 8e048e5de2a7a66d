//! The plans behind `seg run --audit` and the run-time half of `expect ... is
//! partition`: per dimension, the rows it leaves unassigned, the rows several
//! partition rules match, the values no mapping lists; per segmentation, the market
//! totals its leaves must add up to. The engine runs them and words the report.

use super::expr::{col, row, AggSet};
use super::labels::owner_rows;
use super::types::scalar;
use super::{labelled, names, DfResult, Scans};
use crate::check::program::*;
use arrow::datatypes::DataType;
use datafusion::functions_aggregate::count::count_all;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{cast, lit, when, Expr, LogicalPlan, LogicalPlanBuilder};

/// The plans that audit dimension `d` of segmentation `s`.
pub struct DimPlans<'a> {
    p: &'a Checked,
    s: usize,
    d: usize,
    scans: &'a dyn Scans,
    all_cols: Vec<String>,
}

impl<'a> DimPlans<'a> {
    pub fn new(p: &'a Checked, s: usize, d: usize, scans: &'a dyn Scans) -> Self {
        let all_cols = match p.segments[s].owner() {
            Owner::Market(m) => p.markets[m].row_columns.iter().map(|c| c.name.clone()).collect(),
            Owner::Entity(e) => p.entities[e].columns().into_iter().map(|c| c.name).collect(),
        };
        DimPlans { p, s, d, scans, all_cols }
    }

    fn dim(&self) -> &DimDef {
        &self.p.dims[self.d]
    }

    /// The segmentation's rows, labelled by this dimension alone, with every market
    /// column kept so that a sample row can show the columns the rules read.
    fn rows(&self) -> DfResult<LogicalPlanBuilder> {
        let sd = &self.p.segments[self.s];
        labelled(self.p, sd.owner(), &[self.d], sd.filter.as_ref(), &self.all_cols, &[], self.scans)
    }

    /// Partition rules on the market's own rows: only there can a row be tested
    /// against every rule (an entity's rules see one row per entity).
    fn partition_rules(&self) -> Option<&[RuleArm]> {
        match (&self.dim().kind, self.dim().owner) {
            (DimKind::Rules { arms, partition: true, .. }, Owner::Market(_)) => Some(arms),
            _ => None,
        }
    }

    /// One row: `u`, the unassigned rows, and for partition rules `o`, the rows
    /// matched by more than one rule (both Int64).
    pub fn counts(&self) -> DfResult<LogicalPlan> {
        let unassigned =
            when(col(&names::label(self.d)).is_null(), lit(1i64)).otherwise(lit(0i64))?;
        let mut aggs = vec![agg::sum(unassigned).alias("u")];
        if let Some(arms) = self.partition_rules() {
            let several = when(rule_hits(arms)?.gt(lit(1i64)), lit(1i64)).otherwise(lit(0i64))?;
            aggs.push(agg::sum(several).alias("o"));
        }
        self.rows()?.aggregate(Vec::<Expr>::new(), aggs)?.build()
    }

    /// The columns a sample row shows: those the dimension reads.
    pub fn sample_columns(&self) -> Vec<String> {
        if let Owner::Entity(e) = self.dim().owner {
            return vec![self.p.entities[e].key.name.clone()];
        }
        let mut out = Vec::new();
        let mut add = |e: &TExpr| e.columns(&mut out);
        match &self.dim().kind {
            DimKind::Column(e)
            | DimKind::Top { expr: e, .. }
            | DimKind::Map { expr: e, .. }
            | DimKind::Bins { expr: e, .. }
            | DimKind::Quantiles { expr: e, .. }
            | DimKind::Pareto { expr: e, .. } => add(e),
            DimKind::Rules { arms, .. } => arms.iter().for_each(|a| add(&a.cond)),
        }
        out
    }

    fn first_row_where(&self, cond: Expr) -> DfResult<LogicalPlan> {
        let proj: Vec<Expr> = self.sample_columns().iter().map(|c| col(c)).collect();
        self.rows()?.filter(cond)?.project(proj)?.limit(0, Some(1))?.build()
    }

    /// One unassigned row, its `sample_columns`.
    pub fn unassigned_sample(&self) -> DfResult<LogicalPlan> {
        self.first_row_where(col(&names::label(self.d)).is_null())
    }

    /// One row that several rules match, its `sample_columns`; `None` unless the
    /// dimension is made of rules.
    pub fn overlap_sample(&self) -> Option<DfResult<LogicalPlan>> {
        let DimKind::Rules { arms, .. } = &self.dim().kind else { return None };
        Some(rule_hits(arms).and_then(|h| self.first_row_where(h.gt(lit(1i64)))))
    }

    /// For a mapping on the market's rows: the ten most frequent values no arm lists,
    /// as `v` (Utf8) and `n` (Int64), most frequent first; `None` for other kinds.
    pub fn unmapped(&self) -> Option<DfResult<LogicalPlan>> {
        let (DimKind::Map { expr, arms, .. }, Owner::Market(_)) =
            (&self.dim().kind, self.dim().owner)
        else {
            return None;
        };
        let listed: Vec<Expr> = arms
            .iter()
            .flat_map(|a| a.values.iter().map(|(v, _)| lit(scalar(v, expr.ty))))
            .collect();
        let x = row(expr);
        Some((|| {
            let mut b = self.rows()?.filter(x.clone().is_not_null())?;
            if !listed.is_empty() {
                b = b.filter(x.clone().in_list(listed, true))?;
            }
            b.aggregate(
                vec![cast(x.clone(), DataType::Utf8).alias("v")],
                vec![count_all().alias("n")],
            )?
            .sort(vec![col("n").sort(false, true), col("v").sort(true, true)])?
            .limit(0, Some(10))?
            .build()
        })())
    }
}

/// How many of the rules match a row.
fn rule_hits(arms: &[RuleArm]) -> DfResult<Expr> {
    let mut hits = lit(0i64);
    for a in arms {
        hits = hits + when(row(&a.cond), lit(1i64)).otherwise(lit(0i64))?;
    }
    Ok(hits)
}

/// For each join of market `m`, one row: the number of market rows (its `where`
/// applied) that met no row of the table (Int64, column `u`), in join order.
pub fn unmatched_joins(p: &Checked, m: usize, scans: &dyn Scans) -> DfResult<Vec<LogicalPlan>> {
    let mk = &p.markets[m];
    mk.joins
        .iter()
        .map(|j| {
            let t = &p.tables[j.table];
            let key = col(&format!("{}.{}", t.name, j.key));
            let missed = when(key.is_null(), lit(1i64)).otherwise(lit(0i64))?;
            super::market_rows(p, m, scans)?
                .aggregate(Vec::<Expr>::new(), vec![agg::sum(missed).alias("u")])?
                .build()
        })
        .collect()
}

/// One row over the segmentation's rows (its `where` applied), every value Float64:
/// the row count, then each reported measure over all of them. The leaves of an
/// additive measure must add up to these.
pub fn market_totals(p: &Checked, s: usize, scans: &dyn Scans) -> DfResult<LogicalPlan> {
    let sd = &p.segments[s];
    let defs = p.seg_measures(s);
    let mut set = AggSet::new(names::MEASURE_AGG);
    let mut exprs: Vec<Expr> = vec![cast(col(names::ROWS), DataType::Float64).alias("rows")];
    exprs.extend(sd.measures.iter().map(|&i| {
        let m = &defs[i];
        // Only numbers have a total (a `mode` of text has none).
        let total = if m.ty.is_numeric() {
            cast(set.measure(&m.expr, defs), DataType::Float64)
        } else {
            lit(datafusion::common::ScalarValue::Float64(None))
        };
        total.alias(format!("m{i}"))
    }));
    let mut aggs = vec![count_all().alias(names::ROWS)];
    aggs.extend(set.exprs());
    let mut b = owner_rows(p, sd.owner(), scans)?;
    if let Some(w) = &sd.filter {
        b = b.filter(row(w))?;
    }
    b.aggregate(Vec::<Expr>::new(), aggs)?.project(exprs)?.build()
}
