//! The mapping between seg's types and Arrow's: which Arrow type a seg type is read
//! and computed as, which seg type an Arrow column has, and literals as scalars.
//!
//! This is a planning decision (a cast in a plan depends on it), so it lives in
//! `lower`; the engine's schema reader and scans use it from here.

use crate::check::program::{Type, Value};
use arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;

/// The seg type of an Arrow column, `None` for types seg cannot read (lists, maps).
pub fn seg_type(dt: &DataType) -> Option<Type> {
    Some(match dt {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => Type::Int,
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => Type::Int,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Type::Float,
        DataType::Decimal128(..) | DataType::Decimal256(..) => Type::Float,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Type::Text,
        DataType::Dictionary(_, v) => return seg_type(v),
        DataType::Boolean => Type::Bool,
        DataType::Date32 | DataType::Date64 => Type::Date,
        DataType::Timestamp(..) => Type::Timestamp,
        // An all-null inferred column: text is the type that any value can become.
        DataType::Null => Type::Text,
        _ => return None,
    })
}

/// The canonical Arrow type of a seg type: every source is cast to it on the way in,
/// so plans and outputs do not depend on the file format.
pub fn arrow_type(t: Type) -> DataType {
    match t {
        Type::Int => DataType::Int64,
        Type::Float => DataType::Float64,
        Type::Text | Type::Null | Type::Error => DataType::Utf8,
        Type::Bool => DataType::Boolean,
        Type::Date => DataType::Date32,
        Type::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
    }
}

/// A literal as a scalar of the type its expression was checked at (an integer
/// literal compared with a float column is a float).
pub fn scalar(v: &Value, ty: Type) -> ScalarValue {
    match v {
        Value::Null => match ty {
            Type::Int => ScalarValue::Int64(None),
            Type::Float => ScalarValue::Float64(None),
            Type::Text => ScalarValue::Utf8(None),
            Type::Bool => ScalarValue::Boolean(None),
            Type::Date => ScalarValue::Date32(None),
            Type::Timestamp => ScalarValue::TimestampMicrosecond(None, None),
            Type::Null | Type::Error => ScalarValue::Null,
        },
        Value::Int(i) => match ty {
            Type::Float => ScalarValue::Float64(Some(*i as f64)),
            _ => ScalarValue::Int64(Some(*i)),
        },
        Value::Float(x) => ScalarValue::Float64(Some(*x)),
        Value::Text(s) => ScalarValue::Utf8(Some(s.clone())),
        Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Value::Date(d) => ScalarValue::Date32(Some(*d)),
        Value::Timestamp(t) => ScalarValue::TimestampMicrosecond(Some(*t), None),
    }
}
