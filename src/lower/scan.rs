//! Plans over a market's raw scan: the cast of a file's columns to the market's
//! declared types, and the first rows of a market for the REPL's `:sample`.

use super::types::{arrow_type, seg_type};
use super::{DfResult, Scans};
use crate::check::program::{Column as SegColumn, Type};
use arrow::datatypes::DataType;
use datafusion::common::Column;
use datafusion::logical_expr::{cast, Expr, LogicalPlan, LogicalPlanBuilder};

/// Why a file's scan does not fit its market: the checker read the schema, but the
/// file may have changed since, or `--source` replaced it.
#[derive(Debug)]
pub enum ScanMismatch {
    Missing { column: String },
    Type { column: String, declared: Type, found: DataType },
    Plan(datafusion::error::DataFusionError),
}

/// Projects a file's scan onto the market's columns, each cast to its canonical type,
/// so that plans and outputs do not depend on the format (Parquet's Int32 is Int64).
pub fn canonical(scan: LogicalPlan, columns: &[SegColumn]) -> Result<LogicalPlan, ScanMismatch> {
    let file_schema = scan.schema().clone();
    let mut cols = Vec::new();
    for c in columns {
        let Ok((q, field)) = file_schema.qualified_field_with_unqualified_name(&c.name) else {
            return Err(ScanMismatch::Missing { column: c.name.clone() });
        };
        // An int column read as float is a widening the checker allows; anything
        // else that disagrees is a file that changed under the spec.
        if c.ty != Type::Text
            && seg_type(field.data_type())
                .is_some_and(|t| t != c.ty && !(c.ty == Type::Float && t == Type::Int))
        {
            return Err(ScanMismatch::Type {
                column: c.name.clone(),
                declared: c.ty,
                found: field.data_type().clone(),
            });
        }
        let e = Expr::Column(Column::new(q.cloned(), c.name.clone()));
        // Text stays in Parquet's string views: copying every string into a plain
        // array costs more than the labelling itself. Labels and outputs are cast
        // where they leave the plan.
        if c.ty == Type::Text && field.data_type() == &DataType::Utf8View {
            cols.push(e.alias(&c.name));
        } else {
            cols.push(cast(e, arrow_type(c.ty)).alias(&c.name));
        }
    }
    LogicalPlanBuilder::from(scan).project(cols).and_then(|b| b.build()).map_err(ScanMismatch::Plan)
}

/// The first `n` rows of market `m` as read (before its `where`), for `:sample`.
pub fn sample(scans: &dyn Scans, m: usize, n: usize) -> DfResult<LogicalPlan> {
    LogicalPlanBuilder::from(scans.scan(m)?).limit(0, Some(n))?.build()
}

/// One duplicated key of a table, if any: the key and how many rows have it.
pub fn duplicate_key(scan: LogicalPlan, key: &str) -> DfResult<LogicalPlan> {
    use super::expr::col;
    use datafusion::functions_aggregate::count::count_all;
    use datafusion::logical_expr::lit;
    LogicalPlanBuilder::from(scan)
        .filter(col(key).is_not_null())?
        .aggregate(vec![col(key)], vec![count_all().alias("n")])?
        .filter(col("n").gt(lit(1i64)))?
        .limit(0, Some(1))?
        .build()
}

/// A scan of batches already computed (a materialized shared subplan).
pub fn of_batches(
    schema: std::sync::Arc<arrow::datatypes::Schema>,
    batches: Vec<arrow::record_batch::RecordBatch>,
) -> DfResult<LogicalPlan> {
    use datafusion::datasource::{provider_as_source, MemTable};
    let table = MemTable::try_new(schema, vec![batches])?;
    LogicalPlanBuilder::scan(
        "__seg_segments",
        provider_as_source(std::sync::Arc::new(table)),
        None,
    )?
    .build()
}

/// How many rows `plan` reads when it reads only batches held in memory (each of
/// its scans a `MemTable`, as `of_batches` makes); `None` when it reads anything
/// else (files, a column cache) or a table is being written.
pub fn held_rows(plan: &LogicalPlan) -> Option<usize> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::datasource::{source_as_provider, MemTable};
    let mut rows = Some(0usize);
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(t) = node {
            let table = source_as_provider(&t.source).ok();
            let held = table.as_ref().and_then(|p| p.downcast_ref::<MemTable>()).and_then(|m| {
                m.batches.iter().try_fold(0usize, |n, part| {
                    let part = part.try_read().ok()?;
                    Some(n + part.iter().map(|b| b.num_rows()).sum::<usize>())
                })
            });
            rows = rows.zip(held).map(|(a, b)| a + b);
        }
        Ok(match rows {
            Some(_) => TreeNodeRecursion::Continue,
            None => TreeNodeRecursion::Stop,
        })
    });
    rows
}

/// `scan` cut to the columns `names`.
pub fn columns(scan: LogicalPlan, names: &[&str]) -> DfResult<LogicalPlan> {
    LogicalPlanBuilder::from(scan)
        .project(names.iter().map(|n| Expr::Column(Column::from_name(*n))))?
        .build()
}

/// A scan answered by `provider` (the engine's column cache), with its schema.
pub fn of_provider(
    provider: std::sync::Arc<dyn datafusion::catalog::TableProvider>,
) -> DfResult<LogicalPlan> {
    use datafusion::datasource::provider_as_source;
    LogicalPlanBuilder::scan("__seg_cached", provider_as_source(provider), None)?.build()
}

/// A scan of a database table `name` with the declared `columns` (SQL emission:
/// the plan names the table and never reads it). Unqualified above the scan: once
/// a subquery is named (SQLite and MySQL require it), the table's name is out of
/// scope there.
pub fn of_table(name: &str, columns: &[SegColumn]) -> DfResult<LogicalPlan> {
    use arrow::datatypes::{Field, Schema};
    use datafusion::logical_expr::builder::LogicalTableSource;
    let fields: Vec<Field> =
        columns.iter().map(|c| Field::new(&c.name, arrow_type(c.ty), true)).collect();
    let source =
        std::sync::Arc::new(LogicalTableSource::new(std::sync::Arc::new(Schema::new(fields))));
    let plain: Vec<Expr> =
        columns.iter().map(|c| super::expr::col(&c.name).alias(&c.name)).collect();
    LogicalPlanBuilder::scan(name, source, None)?.project(plain)?.build()
}
