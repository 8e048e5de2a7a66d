//! Checked program → DataFusion `LogicalPlan`s: the only stage that builds plans.
//! Everything is built with `Expr` builders and `LogicalPlanBuilder`; no user text
//! ever becomes SQL.

pub mod assign;
pub mod audit;
pub mod cell;
pub mod checked;
pub mod codes;
mod dense;
pub mod dict;
pub mod errors;
pub mod exact;
pub mod expr;
pub mod freeze;
mod labels;
pub mod lookup;
pub mod migrate;
pub mod mode;
pub mod names;
pub mod period;
pub mod portable;
pub mod reduce;
pub mod rows;
pub mod scan;
mod segment;
pub mod shared;
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
    /// The most labels a dictionary of labels from the data codes (`dict`), and the
    /// flag it raises when they would be more, when the caller then plans and runs
    /// the segmentation again without dictionaries. `None` (the default) codes such
    /// labels only under `over`.
    fn dictionaries(&self) -> Option<dict::Limit> {
        None
    }
    /// Where the plan being lowered counts mapping `dim`'s unlisted values, when
    /// the caller wants them (`codes::Tally`). By default nowhere.
    fn tally(&self, _dim: usize) -> Option<std::sync::Arc<codes::Tally>> {
        None
    }
    /// Plans built from standard expressions only (`portable`): no label codes and
    /// no dictionary, whatever they would save.
    fn portable(&self) -> bool {
        false
    }
    /// The shared pass segmentation `s` rolls up from in this run, and a scan of
    /// its cells (`shared`). By default none: every segmentation scans its market.
    fn shared_cells(&self, _s: usize) -> Option<(std::sync::Arc<shared::Pass>, LogicalPlan)> {
        None
    }
    /// The reduced rows of segmentation `s`'s market (`reduce`) it groups instead of
    /// the market's, held by a session that answers many queries. By default none.
    fn reduced(&self, _s: usize) -> Option<(std::sync::Arc<reduce::Shape>, LogicalPlan)> {
        None
    }
}

pub use errors::internal;

/// How many distinct labels each data-dependent dimension of segmentation `s`
/// (a column as it is, `top`) takes over its rows: one row, a count column per
/// such dimension, in the order of `sd.dims`. For sizing a grid before it runs.
pub fn label_counts(p: &Checked, s: usize, scans: &dyn Scans) -> DfResult<Option<LogicalPlan>> {
    use datafusion::functions_aggregate::expr_fn::count_distinct;
    let sd = &p.segments[s];
    let dynamic: Vec<usize> =
        sd.dims.iter().copied().filter(|&d| !p.dims[d].has_static_labels()).collect();
    if dynamic.is_empty() {
        return Ok(None);
    }
    let rows = labels::labelled(p, sd.owner(), &dynamic, sd.filter.as_ref(), &[], &[], scans)?;
    let counts: Vec<Expr> = dynamic
        .iter()
        .map(|&d| count_distinct(col(&names::label(d))).alias(names::label(d)))
        .collect();
    rows.aggregate(Vec::<Expr>::new(), counts)?.build().map(Some)
}

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
    let lookups = indexes.is_some();
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
        let source = match row_source(p, m, &c.name) {
            RowSource::Market(name) => name,
            RowSource::Table { join, column } => {
                format!("{}.{column}", p.tables[mk.joins[join].table].name)
            }
        };
        let e = match table_cols.iter().find(|(n, _)| *n == source) {
            Some((_, e)) => e.clone(),
            None => col(&source),
        };
        proj.push(e.alias(&c.name));
    }
    // Lookup keys ride along, so a dimension on a table column can turn each key
    // into a label code (`lookup::code_of`); unused, the optimizer drops them.
    if lookups {
        for (i, j) in mk.joins.iter().enumerate() {
            proj.push(col(&j.column).alias(names::join_key(i)));
        }
    }
    b.project(proj)
}

/// Where a row column of a market comes from.
pub(crate) enum RowSource {
    /// A market column, by its name in the market's scan.
    Market(String),
    /// Column `column` of the table of the market's join number `join`.
    Table { join: usize, column: String },
}

/// A market column is `c` or `MARKET.c`; a table column `TABLE.c` or its bare name.
pub(crate) fn row_source(p: &Checked, m: usize, name: &str) -> RowSource {
    let mk = &p.markets[m];
    let table = |t: &str, c: &str| {
        mk.joins
            .iter()
            .position(|j| p.tables[j.table].name == t)
            .map(|join| RowSource::Table { join, column: c.to_string() })
    };
    match name.split_once('.') {
        Some((owner, bare)) if owner == mk.name => RowSource::Market(bare.to_string()),
        Some((t, c)) => table(t, c).unwrap_or_else(|| RowSource::Market(name.to_string())),
        None if mk.columns.iter().any(|x| x.name == name) => RowSource::Market(name.to_string()),
        None => mk
            .joins
            .iter()
            .position(|j| p.tables[j.table].columns.iter().any(|x| x.name == name))
            .map(|join| RowSource::Table { join, column: name.to_string() })
            .unwrap_or_else(|| RowSource::Market(name.to_string())),
    }
}

/// A market dimension that is a lookup table's column as it is: its label code
/// straight from the join key, and the labels the codes stand for. `None` when the
/// join is not a lookup or the column has too many distinct values.
pub(crate) fn table_coded(
    p: &Checked,
    d: &DimDef,
    scans: &dyn Scans,
) -> DfResult<Option<(Expr, std::sync::Arc<lookup::ColumnCodes>)>> {
    let (Owner::Market(m), DimKind::Column(e)) = (d.owner, &d.kind) else { return Ok(None) };
    let TKind::Col(name) = &e.kind else { return Ok(None) };
    let RowSource::Table { join, column } = row_source(p, m, name) else { return Ok(None) };
    let mk = &p.markets[m];
    // The same condition `joined` uses to take the lookup route for every join.
    let all_lookups = mk
        .joins
        .iter()
        .all(|j| mk.columns.iter().any(|c| c.name == j.column) && scans.lookup(j.table).is_some());
    let Some(ix) = scans.lookup(mk.joins[join].table).filter(|_| all_lookups) else {
        return Ok(None);
    };
    lookup::code_of(&ix, &column, col(&names::join_key(join)))
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
