//! Integer arithmetic that fails on overflow. DataFusion's `+`, `-`, `*` and unary
//! minus wrap on Int64, so `v + 1 > 0` was false for `v = i64::MAX`; seg's integers
//! are mathematical integers, and a result past Int64 is a data error (exit 3).

use arrow::array::ArrayRef;
use arrow::compute::kernels::numeric;
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::{Arc, OnceLock};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Add,
    Sub,
    Mul,
    Neg,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct CheckedInt {
    op: Op,
    signature: Signature,
}

impl ScalarUDFImpl for CheckedInt {
    fn name(&self) -> &str {
        match self.op {
            Op::Add => "seg_add",
            Op::Sub => "seg_sub",
            Op::Mul => "seg_mul",
            Op::Neg => "seg_neg",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let a = ColumnarValue::values_to_arrays(&args.args)?;
        // Arrow's plain kernels are the checked ones (`add_wrapping` is the other).
        let out: std::result::Result<ArrayRef, ArrowError> = match self.op {
            Op::Add => numeric::add(&a[0], &a[1]),
            Op::Sub => numeric::sub(&a[0], &a[1]),
            Op::Mul => numeric::mul(&a[0], &a[1]),
            Op::Neg => numeric::neg(&a[0]),
        };
        // An ArrowError, so the engine reports a data error (exit 3), not a bug.
        out.map(ColumnarValue::Array).map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
    }
}

fn udf(op: Op) -> Arc<ScalarUDF> {
    static UDFS: OnceLock<[Arc<ScalarUDF>; 4]> = OnceLock::new();
    let all = UDFS.get_or_init(|| {
        [Op::Add, Op::Sub, Op::Mul, Op::Neg].map(|op| {
            let arity = if op == Op::Neg { 1 } else { 2 };
            Arc::new(ScalarUDF::new_from_impl(CheckedInt {
                op,
                signature: Signature::exact(vec![DataType::Int64; arity], Volatility::Immutable),
            }))
        })
    });
    all[op as usize].clone()
}

pub fn add(a: Expr, b: Expr) -> Expr {
    udf(Op::Add).call(vec![a, b])
}

pub fn sub(a: Expr, b: Expr) -> Expr {
    udf(Op::Sub).call(vec![a, b])
}

pub fn mul(a: Expr, b: Expr) -> Expr {
    udf(Op::Mul).call(vec![a, b])
}

pub fn neg(a: Expr) -> Expr {
    udf(Op::Neg).call(vec![a])
}
