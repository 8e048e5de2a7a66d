//! Sessions, sources, execution and output: everything that touches data files.

pub mod audit;
pub mod cache;
pub mod cluster;
pub mod diff;
pub mod errors;
pub mod expect;
pub mod files;
pub mod gen;
pub mod lock;
pub mod memory;
pub mod output;
pub mod paths;
pub mod progress;
pub mod remote;
pub mod schema;
pub mod session;
pub mod why;

/// Result batches as rows of seg values (for `seg test` and the reference comparison).
pub fn batches_to_values(
    batches: &[arrow::record_batch::RecordBatch],
) -> Vec<Vec<crate::check::program::Value>> {
    use crate::check::program::Value;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{
        DataType, Date32Type, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
    };
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let row = b
                .columns()
                .iter()
                .map(|a| {
                    if a.is_null(i) {
                        return Value::Null;
                    }
                    match a.data_type() {
                        DataType::Int64 => Value::Int(a.as_primitive::<Int64Type>().value(i)),
                        DataType::Float64 => Value::Float(a.as_primitive::<Float64Type>().value(i)),
                        DataType::Utf8 => Value::Text(a.as_string::<i32>().value(i).to_string()),
                        DataType::Utf8View => Value::Text(a.as_string_view().value(i).to_string()),
                        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
                        DataType::Date32 => Value::Date(a.as_primitive::<Date32Type>().value(i)),
                        DataType::Timestamp(TimeUnit::Microsecond, None) => {
                            Value::Timestamp(a.as_primitive::<TimestampMicrosecondType>().value(i))
                        }
                        _ => Value::Text(
                            arrow::util::display::array_value_to_string(a, i).unwrap_or_default(),
                        ),
                    }
                })
                .collect();
            out.push(row);
        }
    }
    out
}
