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
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use expr::row;

pub type DfResult<T> = datafusion::error::Result<T>;

/// Supplies the scan of a market's data, already cast to the market's schema.
pub trait Scans {
    fn scan(&self, market: usize) -> DfResult<LogicalPlan>;
}

pub use errors::internal;

/// Market rows: scanned, filtered by the market's `where`.
pub fn market_rows(p: &Checked, m: usize, scans: &dyn Scans) -> DfResult<LogicalPlanBuilder> {
    let mut b = LogicalPlanBuilder::from(scans.scan(m)?);
    if let Some(w) = &p.markets[m].filter {
        b = b.filter(row(w))?;
    }
    Ok(b)
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
