//! The shell every seg scalar UDF shares: a `Kind` says what it computes, `Udf`
//! gives it DataFusion's trait with identity equality.

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// What a seg UDF computes; `Udf` gives it DataFusion's trait.
pub trait Kind: Send + Sync + 'static {
    fn name(&self) -> &str;
    fn returns(&self) -> DataType;
    fn invoke(&self, args: &[ArrayRef], rows: usize) -> Result<ArrayRef>;
}

/// A seg UDF. Two are the same function only if they are built from the same `Kind`
/// value (the same dimension or table of the same compiled spec): identity, not name.
struct Udf<K> {
    kind: Arc<K>,
    signature: Signature,
}

impl<K: Kind> std::fmt::Debug for Udf<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.name())
    }
}
impl<K> PartialEq for Udf<K> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.kind, &other.kind)
    }
}
impl<K> Eq for Udf<K> {}
impl<K> Hash for Udf<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.kind) as usize).hash(state)
    }
}

impl<K: Kind> ScalarUDFImpl for Udf<K> {
    fn name(&self) -> &str {
        self.kind.name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(self.kind.returns())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        Ok(ColumnarValue::Array(self.kind.invoke(&arrays, args.number_rows)?))
    }
}

/// The signature of a seg UDF of `n` arguments of any type (none: nullary).
pub fn any_args(n: usize) -> Signature {
    match n {
        0 => Signature::nullary(Volatility::Immutable),
        n => Signature::any(n, Volatility::Immutable),
    }
}

/// The call of a seg UDF on `args`.
pub fn call<K: Kind>(kind: Arc<K>, signature: Signature, args: Vec<Expr>) -> Expr {
    ScalarUDF::new_from_impl(Udf { kind, signature }).call(args)
}

/// The `Kind` and arguments of a call of a seg UDF of kind `K` (under aliases).
pub fn call_of<K: Kind>(e: &Expr) -> Option<(Arc<K>, &[Expr])> {
    match e {
        Expr::Alias(a) => call_of(&a.expr),
        Expr::ScalarFunction(f) => {
            let udf = f.func.inner().downcast_ref::<Udf<K>>()?;
            Some((udf.kind.clone(), &f.args))
        }
        _ => None,
    }
}

/// `seg_unordered(x)`: `x` itself, through a function DataFusion knows nothing
/// about, so no ordering of `x` reaches the operator above.
struct Unordered(DataType);

impl Kind for Unordered {
    fn name(&self) -> &str {
        "seg_unordered"
    }
    fn returns(&self) -> DataType {
        self.0.clone()
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        Ok(args[0].clone())
    }
}

/// `e` (of type `ty`) with its ordering hidden from DataFusion (see `Unordered`).
pub fn unordered(e: Expr, ty: DataType) -> Expr {
    use datafusion::logical_expr::Volatility;
    call(
        Arc::new(Unordered(ty.clone())),
        Signature::exact(vec![ty], Volatility::Immutable),
        vec![e],
    )
}

/// `unordered` for an `e` that is the same on every row (a label that reads no
/// column). A function of constants is constant to DataFusion (folded while
/// planning, and a constant column counts as sorted), and DataFusion 55 keeps
/// that constant through a grouping-sets aggregate, where the column is null in
/// some sets: the final aggregate then streams groups as if sorted and splits
/// them. A second argument that is never constant, `random()` (volatile, so not
/// folded either), and is not read, keeps `e` from looking constant.
pub fn unordered_constant(e: Expr, ty: DataType) -> Expr {
    use datafusion::logical_expr::Volatility;
    call(
        Arc::new(Unordered(ty.clone())),
        Signature::exact(vec![ty, DataType::Float64], Volatility::Immutable),
        vec![e, datafusion::functions::expr_fn::random()],
    )
}
