//! Row counts that read no values: `count(*)` makes DataFusion build a column of
//! ones for every batch (an allocation and a fill per batch, about 5% of a
//! one-sum segmentation); `seg_rows(x)` counts the rows of a column the aggregate
//! reads anyway, nulls included, and never looks at its values.

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type};
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::functions_aggregate::count::count_all;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, Expr, GroupsAccumulator, Signature,
    Volatility,
};
use std::sync::{Arc, OnceLock};

/// The name portable plans replace by `count(*)` (`portable::standard`).
pub const NAME: &str = "seg_rows";

/// The number of rows, as `count(*)`, counted on the first column that `reads`
/// (an aggregate's other arguments and its grouping) refer to, so that no column
/// is read only to be counted; `count(*)` itself when they refer to none.
fn count_rows<'a>(reads: impl IntoIterator<Item = &'a Expr>) -> Expr {
    let column: Option<Column> =
        reads.into_iter().find_map(|e| e.column_refs().into_iter().next().cloned());
    match column {
        Some(c) => udaf().call(vec![Expr::Column(c)]),
        None => count_all(),
    }
}

/// `aggs` with the row count first (as `names::ROWS`, by `count_rows` of them and
/// of `keys`), and each measure's plain `count()` counted the same way: it is the
/// same number, and `count(*)` would build its column of ones.
pub fn with_rows(mut aggs: Vec<Expr>, keys: &[Expr]) -> Vec<Expr> {
    let rows = count_rows(aggs.iter().chain(keys));
    let star = count_all();
    for e in &mut aggs {
        if let Expr::Alias(a) = e {
            if *a.expr == star {
                *a.expr = rows.clone();
            }
        }
    }
    aggs.insert(0, rows.alias(super::names::ROWS));
    aggs
}

fn udaf() -> Arc<AggregateUDF> {
    static UDAF: OnceLock<Arc<AggregateUDF>> = OnceLock::new();
    UDAF.get_or_init(|| {
        Arc::new(AggregateUDF::new_from_impl(Rows {
            signature: Signature::any(1, Volatility::Immutable),
        }))
    })
    .clone()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Rows {
    signature: Signature,
}

impl AggregateUDFImpl for Rows {
    fn name(&self) -> &str {
        NAME
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn is_nullable(&self) -> bool {
        false
    }
    fn default_value(&self, _: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(0)))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Field::new(format_state_name(args.name, "rows"), DataType::Int64, false).into()])
    }
    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(One(0)))
    }
    fn groups_accumulator_supported(&self, _: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Groups(Vec::new())))
    }
}

/// One group (no GROUP BY). An aggregate `FILTER` has already dropped the rows it
/// does not keep from `values` when this sees them.
#[derive(Debug)]
struct One(i64);

impl Accumulator for One {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.0 += values[0].len() as i64;
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.0)))
    }
    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let counts = states[0].as_primitive::<Int64Type>();
        self.0 += counts.iter().flatten().sum::<i64>();
        Ok(())
    }
}

struct Groups(Vec<i64>);

impl GroupsAccumulator for Groups {
    fn update_batch(
        &mut self,
        _: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> Result<()> {
        self.0.resize(total, 0);
        match filter {
            None => groups.iter().for_each(|g| self.0[*g] += 1),
            Some(f) => {
                for (i, g) in groups.iter().enumerate() {
                    self.0[*g] += i64::from(super::exact::selected(Some(f), i));
                }
            }
        }
        Ok(())
    }
    fn evaluate(&mut self, emit: EmitTo) -> Result<ArrayRef> {
        Ok(Arc::new(Int64Array::from(emit.take_needed(&mut self.0))))
    }
    fn state(&mut self, emit: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.evaluate(emit)?])
    }
    fn merge_batch(&mut self, states: &[ArrayRef], groups: &[usize], total: usize) -> Result<()> {
        self.0.resize(total, 0);
        let counts = states[0].as_primitive::<Int64Type>();
        for (g, c) in groups.iter().zip(counts.iter()) {
            self.0[*g] += c.unwrap_or(0);
        }
        Ok(())
    }
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let n = values[0].len();
        let ones = (0..n).map(|i| i64::from(super::exact::selected(filter, i)));
        Ok(vec![Arc::new(Int64Array::from_iter_values(ones))])
    }
    fn size(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<i64>()
    }
}
