//! Periods of an `over` segmentation: each row's period as a number that orders
//! periods (`__p`), the list of every period in the data's range, and the label
//! shown in the `period` column.
//!
//! Calendar periods are numbered so that consecutive periods are consecutive
//! integers (see `calendar::PeriodUnit::ordinal`): "every period between the first
//! and the last" is then a `range`, and "the previous period" is one less.

use super::expr::{col, row};
use super::udf::{self, Kind};
use super::{names, DfResult};
use crate::calendar::PeriodUnit;
use crate::check::program::{OverDef, PeriodKind, Type};
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use arrow::datatypes::{DataType, Date32Type, Int64Type};
use datafusion::common::Result;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{cast, lit, when, Expr, LogicalPlanBuilder, Signature, Volatility};
use std::sync::Arc;

/// `seg_period_<unit>(date)`: the period number of a date.
struct Ordinal(PeriodUnit, String);

impl Kind for Ordinal {
    fn name(&self) -> &str {
        &self.1
    }
    fn returns(&self) -> DataType {
        DataType::Int64
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        let days = args[0].as_primitive::<Date32Type>();
        // A batch spans few distinct days: compute each day's period once, into a
        // table over the batch's range, and look rows up in it.
        let (lo, hi) =
            days.iter().flatten().fold((i32::MAX, i32::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
        if lo <= hi && (hi as i64 - lo as i64) < 1 << 16 {
            let table: Vec<i64> = (lo..=hi).map(|d| self.0.ordinal(d as i64)).collect();
            let values: Vec<i64> = days
                .values()
                .iter()
                .map(|&d| table.get(d.wrapping_sub(lo) as u32 as usize).copied().unwrap_or(0))
                .collect();
            return Ok(Arc::new(Int64Array::new(values.into(), days.nulls().cloned())));
        }
        let out: Int64Array = days.iter().map(|d| d.map(|d| self.0.ordinal(d as i64))).collect();
        Ok(Arc::new(out))
    }
}

/// `seg_period_label_<unit>(n)`: a period number as `2024-Q1`.
struct Label(PeriodUnit, String);

impl Kind for Label {
    fn name(&self) -> &str {
        &self.1
    }
    fn returns(&self) -> DataType {
        DataType::Utf8
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        let ords = args[0].as_primitive::<Int64Type>();
        let out: StringArray = ords.iter().map(|o| o.map(|o| self.0.label(o))).collect();
        Ok(Arc::new(out))
    }
}

/// A row's period (`__p`): a number for calendar and int periods, the text itself
/// for text periods. Null where the expression is null.
pub fn of_row(o: &OverDef) -> Expr {
    let x = row(&o.expr);
    match o.kind {
        PeriodKind::Calendar(unit) => {
            let date = if o.expr.ty == Type::Timestamp { cast(x, DataType::Date32) } else { x };
            let kind = Ordinal(unit, format!("seg_period_{}", unit.name()));
            udf::call(
                Arc::new(kind),
                Signature::exact(vec![DataType::Date32], Volatility::Immutable),
                vec![date],
            )
        }
        PeriodKind::Int => cast(x, DataType::Int64),
        PeriodKind::Text => cast(x, DataType::Utf8),
    }
}

/// The `period` column's text for period `p`.
pub fn label(o: &OverDef, p: Expr) -> Expr {
    match o.kind {
        PeriodKind::Calendar(unit) => {
            let kind = Label(unit, format!("seg_period_label_{}", unit.name()));
            udf::call(
                Arc::new(kind),
                Signature::exact(vec![DataType::Int64], Volatility::Immutable),
                vec![p],
            )
        }
        PeriodKind::Int | PeriodKind::Text => cast(p, DataType::Utf8),
    }
}

/// Every period to list, one column `__p`, from rows whose `__p` holds their
/// period: numbered periods from the first to the last, text periods as found; and
/// a null period when some rows have none. One pass over the rows.
pub fn all(o: &OverDef, rows: LogicalPlanBuilder) -> DfResult<LogicalPlanBuilder> {
    let p = col(names::PERIOD);
    match o.kind {
        // Grouping keeps the null period as a group of its own.
        PeriodKind::Text => rows.aggregate(vec![p], Vec::<Expr>::new()),
        PeriodKind::Calendar(_) | PeriodKind::Int => {
            use datafusion::functions_nested::expr_fn::{array_append, make_array, range};
            let some = range(col("lo"), col("hi") + lit(1i64), lit(1i64));
            let some = when(col("lo").is_null(), make_array(vec![])).otherwise(some)?;
            let with_null =
                array_append(some.clone(), lit(datafusion::common::ScalarValue::Int64(None)));
            let listed = when(col("nulls").gt(lit(0i64)), with_null).otherwise(some)?;
            rows.aggregate(
                Vec::<Expr>::new(),
                vec![
                    agg::min(p.clone()).alias("lo"),
                    agg::max(p.clone()).alias("hi"),
                    agg::sum(when(p.clone().is_null(), lit(1i64)).otherwise(lit(0i64))?)
                        .alias("nulls"),
                ],
            )?
            .project(vec![listed.alias(names::PERIOD)])?
            .unnest_column(names::PERIOD)?
            .project(vec![cast(col(names::PERIOD), DataType::Int64).alias(names::PERIOD)])
        }
    }
}

/// The type `__p` has.
pub fn data_type(o: &OverDef) -> DataType {
    match o.kind {
        PeriodKind::Text => DataType::Utf8,
        _ => DataType::Int64,
    }
}
