//! Checked program → DataFusion `LogicalPlan`s: the only stage that builds plans.
//! Everything is built with `Expr` builders and `LogicalPlanBuilder`; no user text
//! ever becomes SQL.

pub mod assign;
pub mod audit;
pub mod checked;
pub mod codes;
pub mod errors;
pub mod exact;
pub mod expr;
mod labels;
pub mod lookup;
pub mod migrate;
pub mod mode;
pub mod names;
pub mod period;
pub mod scan;
mod segment;
pub mod types;
mod udf;

use crate::check::program::*;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use expr::{col, row};

pub type DfResult<T> = datafusion::error::Result<T>;

/// Supplies the scan of a market's data, already cast to the market's schema.
pub trait Scans {
    fn scan(&self, market: usize) -> DfResult<LogicalPlan>;
    /// The scan of a lookup table, cast to its schema.
    fn table(&self, table: usize) -> DfResult<LogicalPlan>;
    /// The table held in memory and indexed by its key, when it is: joins with it
    /// become lookups (see `lookup`). `None` keeps DataFusion's hash join.
    fn lookup(&self, _table: usize) -> Option<std::sync::Arc<lookup::TableIndex>> {
        None
    }
    /// A plan that several parts of another plan read (a segmentation's segments:
    /// the grid's label domains, `over`'s periods and frame), computed once. DataFusion
    /// would run a shared subplan once per reader; a session runs it here and hands
    /// back a scan of the result. By default the plan itself, run by each reader.
    fn materialize(&self, plan: LogicalPlan) -> DfResult<LogicalPlan> {
        Ok(plan)
    }
}

pub use errors::internal;

/// Market rows: scanned, filtered by the market's `where`.
pub fn market_rows(p: &Checked, m: usize, scans: &dyn Scans) -> DfResult<LogicalPlanBuilder> {
    let mk = &p.markets[m];
    let mut b = LogicalPlanBuilder::from(scans.scan(m)?);
    if !mk.joins.is_empty() {
        b = joined(p, m, b, scans)?;
    }
    if let Some(w) = &mk.filter {
        b = b.filter(row(w))?;
    }
    Ok(b)
}

/// The market's rows with its tables joined (left, many-to-one), projected onto its
/// `row_columns`. Each table (one row per key) is the join's build side; the market
/// rows probe it.
fn joined(
    p: &Checked,
    m: usize,
    mut b: LogicalPlanBuilder,
    scans: &dyn Scans,
) -> DfResult<LogicalPlanBuilder> {
    use datafusion::common::{Column, JoinType, NullEquality};
    let mk = &p.markets[m];
    // Joins on market columns with indexed tables become lookups: each market row
    // gets the row number its key names, and table columns are gathered by it.
    let indexes: Option<Vec<_>> = mk
        .joins
        .iter()
        .map(|j| {
            let on_market = mk.columns.iter().any(|c| c.name == j.column);
            scans.lookup(j.table).filter(|_| on_market)
        })
        .collect();
    let mut table_cols: Vec<(String, Expr)> = Vec::new();
    if let Some(indexes) = indexes {
        let schema = b.schema().clone();
        let mut keep: Vec<Expr> = schema.columns().into_iter().map(Expr::Column).collect();
        for (i, (j, ix)) in mk.joins.iter().zip(&indexes).enumerate() {
            keep.push(lookup::row_of(ix, col(&j.column)).alias(names::join_row(i)));
        }
        b = b.project(keep)?;
        for (i, (j, ix)) in mk.joins.iter().zip(&indexes).enumerate() {
            let t = &p.tables[j.table];
            for c in &t.columns {
                let e = lookup::gather(ix, &c.name, col(&names::join_row(i)))?;
                table_cols.push((format!("{}.{}", t.name, c.name), e));
            }
        }
    } else {
        for j in &mk.joins {
            let t = &p.tables[j.table];
            // The table's columns under their qualified names, which no market column has.
            let cols: Vec<Expr> = t
                .columns
                .iter()
                .map(|c| col(&c.name).alias(format!("{}.{}", t.name, c.name)))
                .collect();
            let table = LogicalPlanBuilder::from(scans.table(j.table)?).project(cols)?.build()?;
            let key = Column::new_unqualified(format!("{}.{}", t.name, j.key));
            b = LogicalPlanBuilder::from(table).join_detailed(
                b.build()?,
                JoinType::Right,
                (vec![key], vec![Column::new_unqualified(&j.column)]),
                None,
                NullEquality::NullEqualsNothing,
            )?;
        }
    }
    // Every row column by its name: a market column is `c` or `MARKET.c`; a table
    // column `TABLE.c` (as joined) or its bare name.
    let mut proj = Vec::new();
    for c in &mk.row_columns {
        let source = match c.name.split_once('.') {
            Some((owner, bare)) if owner == mk.name => bare.to_string(),
            Some(_) => c.name.clone(),
            None if mk.columns.iter().any(|x| x.name == c.name) => c.name.clone(),
            None => mk
                .joins
                .iter()
                .map(|j| &p.tables[j.table])
                .find(|t| t.columns.iter().any(|x| x.name == c.name))
                .map(|t| format!("{}.{}", t.name, c.name))
                .unwrap_or_else(|| c.name.clone()),
        };
        let e = match table_cols.iter().find(|(n, _)| *n == source) {
            Some((_, e)) => e.clone(),
            None => col(&source),
        };
        proj.push(e.alias(&c.name));
    }
    b.project(proj)
}

/// Columns that measures (or a filter) read, so the labelled plan keeps them.
fn measure_columns(all: &[MeasureDef], measures: &[usize]) -> Vec<String> {
    fn walk(e: &MExpr, all: &[MeasureDef], out: &mut Vec<String>) {
        match e {
            MExpr::Agg(a) => {
                a.arg.iter().chain(&a.filter).for_each(|x| x.columns(out));
            }
            MExpr::Ref(i, _) => walk(&all[*i].expr, all, out),
            MExpr::Neg(x, _) => walk(x, all, out),
            MExpr::Bin(_, a, b, _) => {
                walk(a, all, out);
                walk(b, all, out);
            }
            MExpr::Lit(_) => {}
        }
    }
    let mut out = Vec::new();
    for &i in measures {
        walk(&all[i].expr, all, &mut out);
    }
    out
}

pub use assign::assign_plan;
pub use labels::labelled;
pub use segment::segment_plan;
