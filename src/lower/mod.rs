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
pub mod mode;
pub mod names;
pub mod scan;
mod segment;
pub mod types;

use crate::check::program::*;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use expr::{col, row};

pub type DfResult<T> = datafusion::error::Result<T>;

/// Supplies the scan of a market's data, already cast to the market's schema.
pub trait Scans {
    fn scan(&self, market: usize) -> DfResult<LogicalPlan>;
    /// The scan of a lookup table, cast to its schema.
    fn table(&self, table: usize) -> DfResult<LogicalPlan>;
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
        proj.push(col(&source).alias(&c.name));
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
