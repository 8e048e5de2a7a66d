//! `seg assign`: every market row, in the order it was read, with one label column
//! per dimension on it; or every entity row, by key, with its features and labels.

use super::expr::col;
use super::labels::{entity_rows, labelled_from};
use super::types::arrow_type;
use super::{internal, market_rows, names, DfResult, Scans};
use crate::check::program::*;
use crate::diagnostic::Diagnostic;
use arrow::datatypes::DataType;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{cast, Expr, LogicalPlan};

/// Every market row with one label column per dimension on it.
pub fn assign_plan(p: &Checked, m: usize, scans: &dyn Scans) -> Result<LogicalPlan, Diagnostic> {
    let mk = &p.markets[m];
    let inner = || -> DfResult<LogicalPlan> {
        let dims: Vec<usize> = (0..p.dims.len()).filter(|&d| p.dims[d].market == m).collect();
        let mut keep: Vec<String> = mk.row_columns.iter().map(|c| c.name.clone()).collect();
        // Rows leave in the order they were read: numbered on the way in (the
        // session reads each file as one ordered stream for this), sorted on the way
        // out, since joins and windows in between may reorder them.
        let numbered =
            market_rows(p, m, scans)?.window(vec![row_number().alias(names::ASSIGN_ROW)])?;
        keep.push(names::ASSIGN_ROW.to_string());
        let lab =
            labelled_from(numbered, p, Owner::Market(m), &dims, None, &keep, &[], None, scans)?
                .sort(vec![col(names::ASSIGN_ROW).sort(true, false)])?;
        keep.pop();
        // Columns leave with seg's types whatever the source carried (string views).
        let mut out: Vec<Expr> = mk
            .row_columns
            .iter()
            .map(|c| cast(col(&c.name), arrow_type(c.ty)).alias(&c.name))
            .collect();
        for &d in &dims {
            let name = &p.dims[d].name;
            let shown = if keep.contains(name) { format!("{name}_label") } else { name.clone() };
            out.push(cast(col(&names::label(d)), DataType::Utf8).alias(shown));
        }
        lab.project(out)?.build()
    };
    inner().map_err(|e| internal(mk.span, &format!("market `{}`", mk.name), e))
}

/// `seg assign --entity`: one row per key of entity `e`, sorted by key, with its
/// features and one label column per dimension on the entity (an audience list).
pub fn entity_plan(p: &Checked, e: usize, scans: &dyn Scans) -> Result<LogicalPlan, Diagnostic> {
    let ent = &p.entities[e];
    let inner = || -> DfResult<LogicalPlan> {
        let dims: Vec<usize> =
            (0..p.dims.len()).filter(|&d| p.dims[d].owner == Owner::Entity(e)).collect();
        let cols = ent.columns();
        let keep: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
        let rows = entity_rows(p, e, scans)?;
        let lab = labelled_from(rows, p, Owner::Entity(e), &dims, None, &keep, &[], None, scans)?
            .sort(vec![col(&ent.key.name).sort(true, false)])?;
        let mut out: Vec<Expr> =
            cols.iter().map(|c| cast(col(&c.name), arrow_type(c.ty)).alias(&c.name)).collect();
        for &d in &dims {
            let name = &p.dims[d].name;
            let shown = if keep.contains(name) { format!("{name}_label") } else { name.clone() };
            out.push(cast(col(&names::label(d)), DataType::Utf8).alias(shown));
        }
        lab.project(out)?.build()
    };
    inner().map_err(|err| internal(ent.span, &format!("entity `{}`", ent.name), err))
}

/// `seg why`: the rows of market `m` that `cond` keeps (or row number `row`,
/// counted from 1 in read order), at most `limit`, with their row number
/// (`__row`), columns and labels as `assign_plan` gives them.
pub fn why_plan(
    p: &Checked,
    m: usize,
    cond: Option<&TExpr>,
    row: Option<u64>,
    limit: usize,
    scans: &dyn Scans,
) -> Result<LogicalPlan, Diagnostic> {
    let mk = &p.markets[m];
    let inner = || -> DfResult<LogicalPlan> {
        let dims: Vec<usize> = (0..p.dims.len()).filter(|&d| p.dims[d].market == m).collect();
        let mut keep: Vec<String> = mk.row_columns.iter().map(|c| c.name.clone()).collect();
        keep.push(names::ASSIGN_ROW.to_string());
        let numbered =
            market_rows(p, m, scans)?.window(vec![row_number().alias(names::ASSIGN_ROW)])?;
        // Labels come from every row (rankings and cut points see the whole market);
        // only then are the asked-for rows picked.
        let mut lab =
            labelled_from(numbered, p, Owner::Market(m), &dims, None, &keep, &[], None, scans)?;
        if let Some(c) = cond {
            lab = lab.filter(super::expr::row(c))?;
        }
        if let Some(n) = row {
            use datafusion::logical_expr::lit;
            lab = lab.filter(col(names::ASSIGN_ROW).eq(lit(n)))?;
        }
        let mut out: Vec<Expr> = vec![cast(col(names::ASSIGN_ROW), DataType::Int64).alias("row")];
        out.extend(
            mk.row_columns.iter().map(|c| cast(col(&c.name), arrow_type(c.ty)).alias(&c.name)),
        );
        for &d in &dims {
            out.push(cast(col(&names::label(d)), DataType::Utf8).alias(names::label(d)));
        }
        lab.sort(vec![col(names::ASSIGN_ROW).sort(true, false)])?
            .limit(0, Some(limit))?
            .project(out)?
            .build()
    };
    inner().map_err(|e| internal(mk.span, &format!("market `{}`", mk.name), e))
}
