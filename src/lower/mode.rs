//! `mode(x)`: the most frequent non-null value of a group; among values equally
//! frequent, the smallest. DataFusion has no mode aggregate, so this is a UDAF.
//!
//! The state is the group's value counts (a list of values and a list of counts), so
//! partial aggregates on several threads merge into the same answer as one pass.

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, FieldRef, UInt64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Expr, Signature, Volatility,
};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// `mode(x)` as an aggregate expression.
pub fn mode(x: Expr) -> Expr {
    static UDAF: OnceLock<Arc<AggregateUDF>> = OnceLock::new();
    UDAF.get_or_init(|| {
        Arc::new(AggregateUDF::from(Mode { signature: Signature::any(1, Volatility::Immutable) }))
    })
    .call(vec![x])
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Mode {
    signature: Signature,
}

impl AggregateUDFImpl for Mode {
    fn name(&self) -> &str {
        "seg_mode"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args.first().cloned().unwrap_or(DataType::Null))
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(Counts {
            counts: HashMap::new(),
            data_type: args.return_field.data_type().clone(),
        }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let value = args.return_field.data_type().clone();
        Ok(vec![
            Arc::new(Field::new_list(
                format_state_name(args.name, "values"),
                Field::new_list_field(value, true),
                true,
            )),
            Arc::new(Field::new_list(
                format_state_name(args.name, "counts"),
                Field::new_list_field(DataType::UInt64, true),
                true,
            )),
        ])
    }
}

/// A group's value counts.
#[derive(Debug)]
struct Counts {
    counts: HashMap<ScalarValue, u64>,
    data_type: DataType,
}

impl Counts {
    fn add(&mut self, values: &ArrayRef, n: impl Fn(usize) -> u64) -> Result<()> {
        for i in 0..values.len() {
            if values.is_valid(i) {
                *self.counts.entry(ScalarValue::try_from_array(values, i)?).or_insert(0) += n(i);
            }
        }
        Ok(())
    }
}

impl Accumulator for Counts {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.add(&values[0], |_| 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        // The most frequent; among ties the smallest, so the answer does not depend
        // on which value a thread saw first.
        let best = self.counts.iter().max_by(|(a, n), (b, m)| {
            n.cmp(m).then_with(|| b.partial_cmp(a).unwrap_or(Ordering::Equal))
        });
        match best {
            Some((v, _)) => Ok(v.clone()),
            None => ScalarValue::try_from(&self.data_type),
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.counts.keys().map(|k| k.size() + 8).sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let (values, counts): (Vec<ScalarValue>, Vec<ScalarValue>) =
            self.counts.iter().map(|(v, n)| (v.clone(), ScalarValue::UInt64(Some(*n)))).unzip();
        Ok(vec![
            ScalarValue::List(ScalarValue::new_list_nullable(&values, &self.data_type)),
            ScalarValue::List(ScalarValue::new_list_nullable(&counts, &DataType::UInt64)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let values = states[0].as_list::<i32>();
        let counts = states[1].as_list::<i32>();
        for row in 0..values.len() {
            if values.is_null(row) {
                continue;
            }
            let v = values.value(row);
            let c = counts.value(row);
            let c = c.as_primitive::<UInt64Type>();
            self.add(&v, |i| c.value(i))?;
        }
        Ok(())
    }
}
