//! Label codes: a dimension whose labels are known at compile time becomes a small
//! integer per row, so plans group by one integer instead of several strings.
//!
//! Two scalar UDFs carry this, both ordinary DataFusion functions:
//! - `seg_code_*` turns a row into its label's position in the declared label list
//!   (the list's length stands for "unassigned"). Bins count the cut points below
//!   the value (or search them, when there are many); a mapping or rules on one
//!   column is evaluated once per distinct value and remembered (`ByValue`, which
//!   `cell` shares between the dimensions of one column); anything else evaluates
//!   the dimension's own label expression over the batch and looks the label up.
//! - `seg_label_*` turns a combined cell code back into one dimension's label, after
//!   the aggregation, over a handful of rows.
//!
//! Whatever the route, the label of a value is the one `label_expr` gives: the
//! per-value route evaluates that same expression, so the two cannot drift apart.

use super::expr::{col, row};
use super::udf::{self, Kind};
use super::{names, DfResult};
use crate::check::program::{DimDef, DimKind, Type, Value};
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Date32Type, Field, Float64Type, Int64Type, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::common::{DFSchema, Result};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Expr, Signature, Volatility};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::PhysicalExpr;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Past this many distinct values, remembering labels per value costs more than it
/// saves; the UDF switches to evaluating the expression over whole batches.
const MAX_CACHED_VALUES: usize = 4096;

/// Whether a dimension's code can be computed straight from the row it labels
/// (no ranking, window or entity join before it).
pub fn codable(d: &DimDef) -> bool {
    matches!(d.kind, DimKind::Map { .. } | DimKind::Rules { .. } | DimKind::Bins { .. })
        && !d.labels.is_empty()
}

/// The number of code slots of a dimension: its labels plus one for unassigned.
pub fn slots(d: &DimDef) -> i64 {
    d.labels.len() as i64 + 1
}

/// `seg_code_<name>(...)`: the row's label position as Int64. Bins get the binned
/// value; everything else gets the columns its `label` expression reads.
/// `tally`, when given, counts the rows of each value no mapping arm lists (see
/// `Tally`).
pub fn code_expr(d: &DimDef, label: Expr, tally: Option<Arc<Tally>>) -> Expr {
    if let DimKind::Bins { expr, cuts, closed_right, .. } = &d.kind {
        if let Some(cuts) = bin_cuts(expr.ty, cuts) {
            return new_code(
                d,
                How::Bins { cuts, closed_right: *closed_right },
                label,
                vec![row(expr)],
                vec![names::CODE_INPUT.to_string()],
                None,
            );
        }
    }
    let cols = d.input_columns();
    new_code(d, How::Label, label, cols.iter().map(|c| col(c)).collect(), cols, tally)
}

/// The rows of each value that no arm of a mapping lists, counted while the
/// mapping's codes are computed: `seg report` audits its mappings without a second
/// scan of the market. Counted only on the per-value route (one column, a cache of
/// values); any batch coded another way leaves the tally incomplete, and the
/// audit then asks the data (`lower::audit::DimPlans::unmapped`).
pub struct Tally {
    /// The arm values, written as a cast to text writes the column's values.
    listed: std::collections::HashSet<String>,
    state: Mutex<TallyState>,
}

#[derive(Default)]
struct TallyState {
    index: HashMap<String, usize>,
    values: Vec<String>,
    rows: Vec<i64>,
    incomplete: bool,
}

/// A cached code's high half holds the value's tally slot plus one (zero: listed).
const CODE_BITS: i64 = 0xFFFF_FFFF;

impl Tally {
    /// A tally for mapping `d`, when its values can be compared as text exactly
    /// as the audit's query compares them: a mapping of one market column of text
    /// or integers.
    pub fn for_dim(d: &DimDef) -> Option<Arc<Tally>> {
        let DimKind::Map { expr, arms, .. } = &d.kind else { return None };
        if !matches!(d.owner, crate::check::program::Owner::Market(_))
            || !matches!(expr.ty, Type::Text | Type::Int)
            || d.input_columns().len() != 1
            || !matches!(expr.kind, crate::check::program::TKind::Col(_))
        {
            return None;
        }
        let listed = arms
            .iter()
            .flat_map(|a| a.values.iter())
            .map(|(v, _)| match v {
                Value::Text(t) => Some(t.clone()),
                Value::Int(i) => Some(i.to_string()),
                _ => None,
            })
            .collect::<Option<_>>()?;
        Some(Arc::new(Tally { listed, state: Mutex::new(TallyState::default()) }))
    }

    /// The unmapped values, most rows first (then by value), at most `n`; `None`
    /// when some rows were not counted.
    pub fn unmapped(&self, n: usize) -> Option<Vec<(String, i64)>> {
        let st = self.state.lock().ok()?;
        if st.incomplete {
            return None;
        }
        let mut out: Vec<(String, i64)> =
            st.values.iter().cloned().zip(st.rows.iter().copied()).collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.truncate(n);
        Some(out)
    }

    /// Marks the tally as missing rows: the audit asks the data instead.
    pub fn give_up(&self) {
        if let Ok(mut st) = self.state.lock() {
            st.incomplete = true;
        }
    }

    /// The slot of an unlisted value (plus one), or 0 for a listed one.
    fn slot(&self, value: &str) -> i64 {
        if self.listed.contains(value) {
            return 0;
        }
        let Ok(mut st) = self.state.lock() else { return 0 };
        let st = &mut *st;
        let next = st.values.len();
        let i = *st.index.entry(value.to_string()).or_insert(next);
        if i == next {
            st.values.push(value.to_string());
            st.rows.push(0);
        }
        i as i64 + 1
    }

    fn add(&self, counts: &[i64]) {
        if let Ok(mut st) = self.state.lock() {
            for (r, c) in st.rows.iter_mut().zip(counts) {
                *r += c;
            }
        }
    }
}

fn new_code(
    d: &DimDef,
    how: How,
    label: Expr,
    args: Vec<Expr>,
    inputs: Vec<String>,
    tally: Option<Arc<Tally>>,
) -> Expr {
    coder(format!("seg_code_{}", d.name), &d.labels, how, label, args, inputs, tally)
}

/// `seg_flag(...)`: 1 for a row that `keep` (a condition over the columns `inputs`)
/// keeps, 0 for one it does not (false or null). A coder like a dimension's, so a
/// flag on one column is decided once per value (`cell`).
pub fn flag_code(keep: Expr, inputs: Vec<String>) -> DfResult<Expr> {
    use datafusion::logical_expr::{lit, when};
    let label = when(keep, lit("1")).otherwise(lit("0"))?;
    let args = inputs.iter().map(|c| col(c)).collect();
    let labels = ["0".to_string(), "1".to_string()];
    Ok(coder("seg_flag".into(), &labels, How::Label, label, args, inputs, None))
}

#[allow(clippy::too_many_arguments)]
fn coder(
    name: String,
    labels: &[String],
    how: How,
    label: Expr,
    args: Vec<Expr>,
    inputs: Vec<String>,
    tally: Option<Arc<Tally>>,
) -> Expr {
    let mut short_labels = SmallTable::new();
    let mut long_labels = HashMap::new();
    for (i, l) in labels.iter().enumerate() {
        match pack(l.as_bytes()) {
            Some(k) => short_labels.insert(k, i as i64),
            None => {
                long_labels.insert(l.clone(), i as i64);
            }
        }
    }
    let inner = Inner {
        name,
        n: labels.len(),
        short_labels,
        long_labels,
        how,
        code: codes_of(&label, labels),
        code_phys: OnceLock::new(),
        code_select: OnceLock::new(),
        label,
        inputs,
        phys: OnceLock::new(),
        by_value: ByValue::default(),
        tally,
    };
    let signature = udf::any_args(args.len());
    udf::call(Arc::new(inner), signature, args)
}

/// `seg_code_<name>(label)`: the position of an already computed label, for
/// dimensions whose labels are static but computed by windows or on an entity
/// (quantiles, entity rules). Labels repeat, so the per-value route makes it cheap.
pub fn label_position(d: &DimDef, label: Expr) -> Expr {
    new_code(
        d,
        How::Label,
        col(names::LABEL_INPUT),
        vec![label],
        vec![names::LABEL_INPUT.to_string()],
        None,
    )
}

/// `seg_label_<name>(cell)`: one dimension's label from a combined cell code.
pub fn label_of_cell(d: &DimDef, stride: i64, cell: Expr) -> Expr {
    label_of_cell_in(d, d.labels.clone(), stride, cell)
}

/// `label_of_cell` for codes that stand for `labels` (a table column's values).
pub fn label_of_cell_in(d: &DimDef, labels: Vec<String>, stride: i64, cell: Expr) -> Expr {
    let slots = labels.len() as i64 + 1;
    let inner = Decode { name: format!("seg_label_{}", d.name), labels, stride, slots };
    udf::call(
        Arc::new(inner),
        Signature::exact(vec![DataType::Int64], Volatility::Immutable),
        vec![cell],
    )
}

enum Cuts {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Date(Vec<i32>),
}

/// Cut points in the type the comparison `x < cut` is made in, or `None` when the
/// binary search would not compare exactly as the CASE expression does.
fn bin_cuts(ty: Type, cuts: &[Value]) -> Option<Cuts> {
    match ty {
        Type::Int if cuts.iter().all(|c| matches!(c, Value::Int(_))) => Some(Cuts::Int(
            cuts.iter().map(|c| if let Value::Int(i) = c { *i } else { 0 }).collect(),
        )),
        Type::Int | Type::Float => cuts
            .iter()
            .map(|c| match c {
                Value::Int(i) => Some(*i as f64),
                Value::Float(f) => Some(*f),
                _ => None,
            })
            .collect::<Option<Vec<f64>>>()
            .map(Cuts::Float),
        Type::Date => cuts
            .iter()
            .map(|c| if let Value::Date(d) = c { Some(*d) } else { None })
            .collect::<Option<Vec<i32>>>()
            .map(Cuts::Date),
        _ => None,
    }
}

enum How {
    Bins { cuts: Cuts, closed_right: bool },
    Label,
}

/// Labels already computed, by value. Batches take a snapshot (two `Arc` clones)
/// and look up without holding the lock; the rare new values are added copy-on-write.
#[derive(Default)]
struct Cache {
    short: Arc<SmallTable>,
    long: Arc<HashMap<Vec<u8>, i64>>,
    null: Option<i64>,
}

pub(super) struct Inner {
    name: String,
    /// The number of labels, which is also the code of "unassigned".
    n: usize,
    /// Declared labels to their positions: short ones packed, long ones by text.
    short_labels: SmallTable,
    long_labels: HashMap<String, i64>,
    how: How,
    /// The dimension's label expression, over the `inputs` columns.
    label: Expr,
    /// The same expression giving each label's code (`codes_of`), when every label
    /// it can give is a literal: rows are coded by DataFusion's vectorised CASE, not
    /// by labelling them as text and looking each text up.
    code: Option<Expr>,
    code_phys: OnceLock<std::result::Result<Arc<dyn PhysicalExpr>, String>>,
    /// `code_phys` as selects, when it is that shape (`select_of`).
    code_select: OnceLock<Option<Select>>,
    inputs: Vec<String>,
    phys: OnceLock<std::result::Result<Arc<dyn PhysicalExpr>, String>>,
    by_value: ByValue,
    tally: Option<Arc<Tally>>,
}

/// Codes remembered per value of one column, and whether that stopped paying.
#[derive(Default)]
pub(super) struct ByValue {
    cache: Mutex<Cache>,
    off: AtomicBool,
}

impl Kind for Inner {
    fn name(&self) -> &str {
        &self.name
    }
    fn returns(&self) -> DataType {
        DataType::Int64
    }
    fn invoke(&self, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        Ok(Arc::new(self.codes(args, rows)?))
    }
}

/// `label` with every label literal replaced by its position in `labels` (a null,
/// or a CASE without ELSE, stays null: unassigned). `None` when a label could come
/// from anything but a literal.
fn codes_of(label: &Expr, labels: &[String]) -> Option<Expr> {
    use datafusion::common::ScalarValue;
    use datafusion::logical_expr::expr::Case;
    use datafusion::logical_expr::lit;
    match label {
        Expr::Literal(v, _) => match v.try_as_str() {
            Some(Some(s)) => labels.iter().position(|l| l == s).map(|i| lit(i as i64)),
            Some(None) => Some(lit(ScalarValue::Int64(None))),
            None if v.is_null() => Some(lit(ScalarValue::Int64(None))),
            None => None,
        },
        Expr::Alias(a) => codes_of(&a.expr, labels),
        Expr::Cast(c) if matches!(c.field.data_type(), DataType::Utf8 | DataType::Utf8View) => {
            codes_of(&c.expr, labels)
        }
        Expr::Case(c) => {
            let mut when_then_expr = Vec::new();
            for (w, t) in &c.when_then_expr {
                when_then_expr.push((w.clone(), Box::new(codes_of(t, labels)?)));
            }
            let else_expr = match &c.else_expr {
                Some(e) => Some(Box::new(codes_of(e, labels)?)),
                None => None,
            };
            Some(Expr::Case(Case { expr: c.expr.clone(), when_then_expr, else_expr }))
        }
        _ => None,
    }
}

/// A code expression that is a CASE of predicates choosing integer codes, run as
/// one select per predicate over all rows: DataFusion's `CaseExpr` builds each
/// branch's output element by element (`zip`), 7% of a shared pass with one
/// `rules` dimension. Taken apart once per compiled expression (`select_of`).
struct Select {
    /// Each arm's predicate and code, first arm first.
    arms: Vec<(Arc<dyn PhysicalExpr>, i64)>,
    otherwise: i64,
}

/// `phys` as a `Select`, or `None` for any other shape and for a predicate that
/// could fail: CASE evaluates a WHEN only on rows no earlier WHEN took, a select
/// evaluates every WHEN on every row, so only comparisons, logic, IN lists, null
/// tests and widening casts of columns and literals qualify.
fn select_of(phys: &Arc<dyn PhysicalExpr>, schema: &Schema, unassigned: i64) -> Option<Select> {
    use datafusion::common::ScalarValue;
    use datafusion::physical_expr::expressions::{CaseExpr, Literal};
    let case = phys.downcast_ref::<CaseExpr>()?;
    let code = |e: &Arc<dyn PhysicalExpr>| match e.downcast_ref::<Literal>()?.value() {
        ScalarValue::Int64(v) => Some(v.unwrap_or(unassigned)),
        _ => None,
    };
    let arms = case.when_then_expr();
    if case.expr().is_some() || arms.len() > 16 {
        return None;
    }
    let arms = arms
        .iter()
        .map(|(w, t)| Some((w.clone(), code(t).filter(|_| cannot_fail(w, schema))?)))
        .collect::<Option<Vec<_>>>()?;
    let otherwise = case.else_expr().map_or(Some(unassigned), code)?;
    Some(Select { arms, otherwise })
}

impl Select {
    /// Each row's code; `None` if a predicate did not give booleans.
    fn codes(&self, batch: &RecordBatch) -> Result<Option<Vec<i64>>> {
        let rows = batch.num_rows();
        let mut out = vec![self.otherwise; rows];
        // The last arm first: an earlier arm that also holds overwrites it, as the
        // first WHEN that holds wins.
        for (w, c) in self.arms.iter().rev() {
            let held = w.evaluate(batch)?.into_array(rows)?;
            let Some(held) = held.as_boolean_opt() else { return Ok(None) };
            // A null predicate does not hold.
            let bits = match held.nulls() {
                Some(valid) => held.values() & valid.inner(),
                None => held.values().clone(),
            };
            select(&mut out, &bits, *c);
        }
        Ok(Some(out))
    }
}

/// Each byte's 8 bits as 8 masks of all ones or zeros, lowest bit first.
const fn byte_masks() -> [[i64; 8]; 256] {
    let mut t = [[0i64; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut j = 0;
        while j < 8 {
            if (b >> j) & 1 == 1 {
                t[b][j] = -1;
            }
            j += 1;
        }
        b += 1;
    }
    t
}

static BYTE_MASKS: [[i64; 8]; 256] = byte_masks();

/// `out[i] = c` where bit `i` of `held` is set. Eight rows at a time through a
/// byte's masks: a loop over single bits, branch-free in the source, compiled to
/// a branch per row that random predicates mispredict half the time (it cost more
/// than `CaseExpr`'s `zip`).
fn select(out: &mut [i64], held: &arrow::buffer::BooleanBuffer, c: i64) {
    let chunks = held.bit_chunks();
    let mut rows = out.chunks_exact_mut(64);
    for (o, word) in (&mut rows).zip(chunks.iter()) {
        if word == 0 {
            continue;
        }
        for (k, o8) in o.chunks_exact_mut(8).enumerate() {
            let m = &BYTE_MASKS[((word >> (8 * k)) & 0xFF) as usize];
            for (x, m) in o8.iter_mut().zip(m) {
                *x = (*x & !m) | (c & m);
            }
        }
    }
    let word = chunks.remainder_bits();
    for (j, x) in rows.into_remainder().iter_mut().enumerate() {
        if (word >> j) & 1 == 1 {
            *x = c;
        }
    }
}

/// Whether evaluating `e` on any row can only succeed (see `select_of`).
fn cannot_fail(e: &Arc<dyn PhysicalExpr>, schema: &Schema) -> bool {
    use datafusion::logical_expr::Operator::*;
    use datafusion::physical_expr::expressions::{
        BinaryExpr, CastExpr, Column, InListExpr, IsNotNullExpr, IsNullExpr, Literal, NotExpr,
        TryCastExpr,
    };
    if e.is::<Column>() || e.is::<Literal>() {
        return true;
    }
    if let Some(b) = e.downcast_ref::<BinaryExpr>() {
        return matches!(
            b.op(),
            Eq | NotEq | Lt | LtEq | Gt | GtEq | And | Or | IsDistinctFrom | IsNotDistinctFrom
        ) && cannot_fail(b.left(), schema)
            && cannot_fail(b.right(), schema);
    }
    if let Some(c) = e.downcast_ref::<CastExpr>() {
        let widening = matches!(
            (c.expr().data_type(schema).ok(), c.cast_type()),
            (
                Some(DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Float32),
                DataType::Int64 | DataType::Float64
            ) | (Some(DataType::Int64), DataType::Float64)
        );
        return widening && cannot_fail(c.expr(), schema);
    }
    if let Some(t) = e.downcast_ref::<TryCastExpr>() {
        return cannot_fail(t.expr(), schema);
    }
    if let Some(n) = e.downcast_ref::<NotExpr>() {
        return cannot_fail(n.arg(), schema);
    }
    if let Some(n) = e.downcast_ref::<IsNullExpr>() {
        return cannot_fail(n.arg(), schema);
    }
    if let Some(n) = e.downcast_ref::<IsNotNullExpr>() {
        return cannot_fail(n.arg(), schema);
    }
    if let Some(l) = e.downcast_ref::<InListExpr>() {
        return cannot_fail(l.expr(), schema) && l.list().iter().all(|e| cannot_fail(e, schema));
    }
    false
}

fn internal(msg: String) -> DataFusionError {
    DataFusionError::Internal(msg)
}

/// Packs a value of at most 12 bytes exactly as Arrow lays out an inline string
/// view (length, then bytes), so a view can be used as its own key.
fn pack(bytes: &[u8]) -> Option<u128> {
    if bytes.len() > 12 {
        return None;
    }
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
    b[4..4 + bytes.len()].copy_from_slice(bytes);
    Some(u128::from_le_bytes(b))
}

/// An open-addressing table from packed values to codes: a handful of distinct
/// values looked up millions of times, where std's SipHash would dominate.
#[derive(Clone)]
struct SmallTable {
    keys: Vec<u128>,
    vals: Vec<i64>,
    mask: usize,
    len: usize,
}

const EMPTY: u128 = u128::MAX;

impl Default for SmallTable {
    fn default() -> Self {
        SmallTable::new()
    }
}

impl SmallTable {
    fn new() -> Self {
        SmallTable { keys: vec![EMPTY; 64], vals: vec![0; 64], mask: 63, len: 0 }
    }
    #[inline]
    fn slot(&self, k: u128) -> usize {
        let h =
            ((k as u64) ^ ((k >> 64) as u64).rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> 40) as usize & self.mask
    }
    #[inline]
    fn get(&self, k: u128) -> Option<i64> {
        let mut i = self.slot(k);
        loop {
            let key = self.keys[i];
            if key == k {
                return Some(self.vals[i]);
            }
            if key == EMPTY {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }
    /// The code of every one of `keys`, into `out`; `false` as soon as one is not
    /// in the table. Branch-free but for that exit while keys sit in their home
    /// slots: the common case of a by-value column once its values are known.
    fn get_all(&self, keys: &[u128], out: &mut [i64]) -> bool {
        let (ks, vs) = (&self.keys[..], &self.vals[..]);
        for (o, &k) in out.iter_mut().zip(keys) {
            let i = self.slot(k);
            if ks[i] == k {
                *o = vs[i];
                continue;
            }
            match self.get(k) {
                Some(c) => *o = c,
                None => return false,
            }
        }
        true
    }
    fn insert(&mut self, k: u128, v: i64) {
        let home = self.slot(k);
        let taken = self.keys[home] != EMPTY && self.keys[home] != k;
        // Each key in its home slot while the table is small: a lookup is then one
        // probe whose branch always goes the same way (`get_all`), where a probe
        // chain of varying length, over rows in random order, would mispredict.
        if (self.len + 1) * 2 > self.keys.len() || (taken && self.keys.len() < SPREAD_SLOTS) {
            self.grow();
            return self.insert(k, v);
        }
        let mut i = home;
        while self.keys[i] != EMPTY && self.keys[i] != k {
            i = (i + 1) & self.mask;
        }
        if self.keys[i] == EMPTY {
            self.len += 1;
        }
        self.keys[i] = k;
        self.vals[i] = v;
    }
    fn grow(&mut self) {
        let old: Vec<(u128, i64)> = self
            .keys
            .iter()
            .zip(&self.vals)
            .filter(|(k, _)| **k != EMPTY)
            .map(|(k, v)| (*k, *v))
            .collect();
        let cap = self.keys.len() * 2;
        *self = SmallTable { keys: vec![EMPTY; cap], vals: vec![0; cap], mask: cap - 1, len: 0 };
        for (k, v) in old {
            self.insert(k, v);
        }
    }
}

/// The most slots a `SmallTable` grows to for keys to sit in their home slots
/// (24 KiB: it stays in L1); past it, keys that collide probe.
const SPREAD_SLOTS: usize = 1024;

/// How one non-null value of a by-value column is keyed.
enum Key<'a> {
    Short(u128),
    Long(&'a [u8]),
}

impl Inner {
    /// Whether this dimension's codes may be remembered per value together with
    /// other dimensions' codes of the same column (`cell`): a label by value, with
    /// no tally to count.
    pub(super) fn joins_by_value(&self) -> bool {
        matches!(self.how, How::Label) && self.tally.is_none()
    }

    pub(super) fn codes(&self, arrays: &[ArrayRef], rows: usize) -> Result<Int64Array> {
        if let How::Bins { cuts, closed_right } = &self.how {
            return self.bin_codes(&arrays[0], cuts, *closed_right);
        }
        if arrays.len() == 1 {
            let label = |distinct: &ArrayRef| self.evaluate(std::slice::from_ref(distinct), 0);
            let tally = self.tally.as_deref();
            if let Some(codes) = self.by_value.codes(&self.name, &arrays[0], tally, label)? {
                return Ok(codes);
            }
        }
        if let Some(t) = &self.tally {
            t.give_up();
        }
        Ok(Int64Array::from(self.evaluate(arrays, rows)?))
    }

    /// Each value's bin, comparing as Arrow's kernels do (floats by total order, so
    /// NaN sorts above every cut, like `x < cut` in the CASE form).
    fn bin_codes(&self, a: &ArrayRef, cuts: &Cuts, closed_right: bool) -> Result<Int64Array> {
        let (mut bins, nulls) = match cuts {
            Cuts::Int(c) => {
                let a = arrow::compute::cast(a, &DataType::Int64)?;
                let a = a.as_primitive::<Int64Type>();
                (bin_positions(a.values(), c, closed_right), a.nulls().cloned())
            }
            Cuts::Float(c) => {
                let a = arrow::compute::cast(a, &DataType::Float64)?;
                let a = a.as_primitive::<Float64Type>();
                let keys: Vec<i64> = a.values().iter().map(|x| total_key(*x)).collect();
                let cuts: Vec<i64> = c.iter().map(|x| total_key(*x)).collect();
                (bin_positions(&keys, &cuts, closed_right), a.nulls().cloned())
            }
            Cuts::Date(c) => {
                let a = arrow::compute::cast(a, &DataType::Date32)?;
                let a = a.as_primitive::<Date32Type>();
                (bin_positions(a.values(), c, closed_right), a.nulls().cloned())
            }
        };
        self.unassign_nulls(&mut bins, nulls.as_ref());
        Ok(Int64Array::from(bins))
    }

    /// Rows that `nulls` marks null are unassigned (the last code).
    fn unassign_nulls(&self, codes: &mut [i64], nulls: Option<&arrow::buffer::NullBuffer>) {
        let Some(nulls) = nulls else { return };
        let unassigned = self.n as i64;
        nulls.iter().zip(codes).filter(|(valid, _)| !valid).for_each(|(_, c)| *c = unassigned);
    }

    /// The label expression, compiled for the argument types actually arriving
    /// (Parquet text comes as views, CSV text as plain strings).
    fn physical(&self, types: &[DataType]) -> Result<Arc<dyn PhysicalExpr>> {
        self.compile(&self.phys, &self.label, types)
    }

    fn compile(
        &self,
        cell: &OnceLock<std::result::Result<Arc<dyn PhysicalExpr>, String>>,
        expr: &Expr,
        types: &[DataType],
    ) -> Result<Arc<dyn PhysicalExpr>> {
        cell.get_or_init(|| {
            let fields: Vec<Field> = self
                .inputs
                .iter()
                .zip(types)
                .map(|(n, t)| Field::new(n, t.clone(), true))
                .collect();
            let schema =
                Arc::new(DFSchema::try_from(Schema::new(fields)).map_err(|e| e.to_string())?);
            // The same rewrites a plan's expressions get before they run: some
            // functions (coalesce) only exist in their simplified form.
            let simplifier =
                ExprSimplifier::new(SimplifyContext::builder().with_schema(schema.clone()).build());
            let e = simplifier
                .coerce(expr.clone(), &schema)
                .and_then(|e| simplifier.simplify(e))
                .map_err(|e| e.to_string())?;
            let ctx = datafusion::prelude::SessionContext::new();
            ctx.create_physical_expr(e, &schema).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| internal(format!("{}: {e}", self.name)))
    }

    /// Evaluates the label expression over `arrays` and turns each label into its code.
    /// `rows` matters only without arrays (a dimension that reads no column).
    pub(super) fn evaluate(&self, arrays: &[ArrayRef], rows: usize) -> Result<Vec<i64>> {
        let types: Vec<DataType> = arrays.iter().map(|a| a.data_type().clone()).collect();
        let fields: Vec<Field> =
            self.inputs.iter().zip(&types).map(|(n, t)| Field::new(n, t.clone(), true)).collect();
        let rows = arrays.first().map_or(rows, |a| a.len());
        let batch = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            arrays.to_vec(),
            &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        if let Some(code) = &self.code {
            let phys = self.compile(&self.code_phys, code, &types)?;
            let select =
                self.code_select.get_or_init(|| select_of(&phys, &batch.schema(), self.n as i64));
            if let Some(out) = select.as_ref().map(|s| s.codes(&batch)).transpose()?.flatten() {
                return Ok(out);
            }
            let codes = phys.evaluate(&batch)?.into_array(rows)?;
            let codes = arrow::compute::cast(&codes, &DataType::Int64)?;
            let codes = codes.as_primitive::<Int64Type>();
            let mut out = codes.values().to_vec();
            self.unassign_nulls(&mut out, codes.nulls());
            return Ok(out);
        }
        let phys = self.physical(&types)?;
        let labels = phys.evaluate(&batch)?.into_array(rows)?;
        let labels = arrow::compute::cast(&labels, &DataType::Utf8)?;
        let labels = labels.as_string::<i32>();
        let mut out = Vec::with_capacity(rows);
        for l in labels.iter() {
            let code = match l {
                None => Some(self.n as i64),
                Some(s) => match pack(s.as_bytes()) {
                    Some(k) => self.short_labels.get(k),
                    None => self.long_labels.get(s).copied(),
                },
            };
            out.push(
                code.ok_or_else(|| {
                    internal(format!("{}: label {l:?} is not declared", self.name))
                })?,
            );
        }
        Ok(out)
    }
}

impl ByValue {
    /// One column of few distinct values: each value is labelled once and
    /// remembered across batches. `None` when the column has too many values for
    /// that to pay.
    pub(super) fn codes(
        &self,
        name: &str,
        a: &ArrayRef,
        tally: Option<&Tally>,
        label: impl Fn(&ArrayRef) -> Result<Vec<i64>>,
    ) -> Result<Option<Int64Array>> {
        if self.off.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let label = &label;
        match a.data_type() {
            DataType::Utf8View => {
                let s = a.as_string_view();
                let views = s.views();
                // Every value short and already labelled (a long view never equals
                // a short key): a lookup per row and nothing else.
                if tally.is_none() && a.logical_null_count() == 0 {
                    let short = {
                        let cache = self
                            .cache
                            .lock()
                            .map_err(|_| internal("label cache poisoned".into()))?;
                        cache.short.clone()
                    };
                    let mut out = vec![0i64; views.len()];
                    if short.get_all(views, &mut out) {
                        out.iter_mut().for_each(|c| *c &= CODE_BITS);
                        return Ok(Some(Int64Array::from(out)));
                    }
                }
                // An inline view (at most 12 bytes) is its own key: no hashing of bytes.
                self.lookup(name, a, tally, label, |i| {
                    if (views[i] as u32) <= 12 {
                        Key::Short(views[i])
                    } else {
                        Key::Long(s.value(i).as_bytes())
                    }
                })
            }
            DataType::Utf8 => {
                let s = a.as_string::<i32>();
                self.lookup(name, a, tally, label, |i| {
                    let b = s.value(i).as_bytes();
                    pack(b).map_or(Key::Long(b), Key::Short)
                })
            }
            DataType::LargeUtf8 => {
                let s = a.as_string::<i64>();
                self.lookup(name, a, tally, label, |i| {
                    let b = s.value(i).as_bytes();
                    pack(b).map_or(Key::Long(b), Key::Short)
                })
            }
            DataType::Boolean => {
                let bs = a.as_boolean();
                self.lookup(name, a, tally, label, |i| Key::Short(fixed_key(&[bs.value(i) as u8])))
            }
            dt => {
                // Fixed-width values: their bytes, tagged with a length no string key
                // has, so the two never collide.
                let codable = matches!(dt, DataType::Int64 | DataType::Int32 | DataType::Date32);
                let Some(w) = dt.primitive_width().filter(|w| *w <= 12 && codable) else {
                    return Ok(None);
                };
                let data = a.to_data();
                let bytes = data.buffers()[0].as_slice();
                let offset = data.offset();
                self.lookup(name, a, tally, label, |i| {
                    Key::Short(fixed_key(&bytes[(offset + i) * w..(offset + i + 1) * w]))
                })
            }
        }
    }

    /// Codes for every row of `a` from the per-value cache, labelling the values it
    /// has not seen yet in one evaluation.
    fn lookup<'a>(
        &self,
        name: &str,
        a: &'a ArrayRef,
        tally: Option<&Tally>,
        label: &impl Fn(&ArrayRef) -> Result<Vec<i64>>,
        key: impl Fn(usize) -> Key<'a>,
    ) -> Result<Option<Int64Array>> {
        let n = a.len();
        let poisoned = || internal("label cache poisoned".into());
        let (short, long, mut null_code) = {
            let cache = self.cache.lock().map_err(|_| poisoned())?;
            (cache.short.clone(), cache.long.clone(), cache.null)
        };
        let nulls = a.logical_nulls();
        let is_null = |i: usize| nulls.as_ref().is_some_and(|b| b.is_null(i));
        let mut out = vec![0i64; n];
        let mut missing: Vec<u32> = Vec::new();
        // Rows per tally slot plus one, in this batch (only cached codes of a
        // tally's unlisted values have a high half; index 0 counts listed values).
        // Counted without a branch on the value: a third of the rows unlisted made
        // a data-dependent branch cost more than the count.
        let tallying = tally.is_some();
        let mut tallied: Vec<i64> = vec![0; if tallying { short.len + long.len() + 2 } else { 0 }];
        let mut count = |c: i64| {
            if tallying {
                let t = (c >> 32) as usize;
                if t >= tallied.len() {
                    tallied.resize(t + 1, 0);
                }
                tallied[t] += 1;
            }
            c & CODE_BITS
        };
        for (i, slot) in out.iter_mut().enumerate() {
            let found = if is_null(i) {
                null_code
            } else {
                match key(i) {
                    Key::Short(v) => short.get(v),
                    Key::Long(b) => long.get(b).copied(),
                }
            };
            match found {
                Some(c) => *slot = count(c),
                None => missing.push(i as u32),
            }
        }
        if missing.is_empty() {
            if let Some(t) = tally {
                t.add(tallied.get(1..).unwrap_or_default());
            }
            return Ok(Some(Int64Array::from(out)));
        }
        // One row per value not seen before; after labelling them, `new_*` hold
        // the code of every missing row's value.
        let mut firsts: Vec<u32> = Vec::new();
        let mut new_short = SmallTable::new();
        let mut new_long: HashMap<&[u8], i64> = HashMap::new();
        let mut null_first = false;
        for &i in &missing {
            let fresh = if is_null(i as usize) {
                !std::mem::replace(&mut null_first, true)
            } else {
                match key(i as usize) {
                    Key::Short(v) => {
                        new_short.get(v).is_none() && {
                            new_short.insert(v, 0);
                            true
                        }
                    }
                    Key::Long(b) => new_long.insert(b, 0).is_none(),
                }
            };
            if fresh {
                firsts.push(i);
            }
        }
        if short.len + long.len() + firsts.len() > MAX_CACHED_VALUES {
            self.off.store(true, Ordering::Relaxed);
            if let Some(t) = tally {
                t.give_up();
            }
            return Ok(None);
        }
        let distinct = arrow::compute::take(
            a.as_ref(),
            &UInt32Array::from_iter_values(firsts.iter().copied()),
            None,
        )?;
        let mut codes = label(&distinct)?;
        if let Some(t) = tally {
            // Written as the audit's query writes them (a cast to text).
            let text = arrow::compute::cast(&distinct, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            for (j, c) in codes.iter_mut().enumerate() {
                if !text.is_null(j) {
                    *c |= t.slot(text.value(j)) << 32;
                }
            }
        }
        {
            let mut cache = self.cache.lock().map_err(|_| poisoned())?;
            for (&i, &c) in firsts.iter().zip(&codes) {
                if is_null(i as usize) {
                    null_code = Some(c);
                    cache.null = Some(c);
                    continue;
                }
                match key(i as usize) {
                    Key::Short(v) => {
                        new_short.insert(v, c);
                        Arc::make_mut(&mut cache.short).insert(v, c);
                    }
                    Key::Long(b) => {
                        new_long.insert(b, c);
                        Arc::make_mut(&mut cache.long).insert(b.to_vec(), c);
                    }
                }
            }
        }
        for &i in &missing {
            let i = i as usize;
            out[i] = count(
                if is_null(i) {
                    null_code
                } else {
                    match key(i) {
                        Key::Short(v) => new_short.get(v),
                        Key::Long(b) => new_long.get(b).copied(),
                    }
                }
                .ok_or_else(|| internal(format!("{}: a value was not labelled", name)))?,
            );
        }
        if let Some(t) = tally {
            t.add(tallied.get(1..).unwrap_or_default());
        }
        Ok(Some(Int64Array::from(out)))
    }
}

/// A float's place in IEEE total order as an integer, as `f64::total_cmp` orders
/// them: integers compare (and count, in `bin_positions`) on SIMD lanes.
pub fn total_key(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    b ^ (((b >> 63) as u64) >> 1) as i64
}

/// How many `cuts` (sorted) lie below each value: strictly below when
/// `closed_right` (a value on a cut belongs to the bin below it), else at or below.
/// A few cuts are counted one pass per cut, with no branch, on SIMD lanes (AVX2
/// where the CPU has it: the default target has no 64-bit compare); many are
/// searched.
pub fn bin_positions<T: Copy + Ord>(xs: &[T], cuts: &[T], closed_right: bool) -> Vec<i64> {
    const COUNTED: usize = 16;
    if cuts.len() > COUNTED {
        let pos = |x: &T| {
            let below = |c: &T| if closed_right { *c < *x } else { *c <= *x };
            cuts.partition_point(below) as i64
        };
        return xs.iter().map(pos).collect();
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { counted_avx2(xs, cuts, closed_right) };
    }
    counted(xs, cuts, closed_right)
}

/// `counted` compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn counted_avx2<T: Copy + Ord>(xs: &[T], cuts: &[T], closed_right: bool) -> Vec<i64> {
    counted(xs, cuts, closed_right)
}

#[inline(always)]
fn counted<T: Copy + Ord>(xs: &[T], cuts: &[T], closed_right: bool) -> Vec<i64> {
    let mut out = vec![0i64; xs.len()];
    for &c in cuts {
        if closed_right {
            out.iter_mut().zip(xs).for_each(|(o, x)| *o += i64::from(c < *x));
        } else {
            out.iter_mut().zip(xs).for_each(|(o, x)| *o += i64::from(c <= *x));
        }
    }
    out
}

/// The key of a fixed-width value (at most 12 bytes; wider types are not keyed).
fn fixed_key(bytes: &[u8]) -> u128 {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&13u32.to_le_bytes());
    let w = bytes.len().min(12);
    b[4..4 + w].copy_from_slice(&bytes[..w]);
    u128::from_le_bytes(b)
}

struct Decode {
    name: String,
    labels: Vec<String>,
    stride: i64,
    slots: i64,
}

impl Kind for Decode {
    fn name(&self) -> &str {
        &self.name
    }
    fn returns(&self) -> DataType {
        DataType::Utf8
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        let out: StringArray = args[0]
            .as_primitive::<Int64Type>()
            .iter()
            .map(|c| {
                let slot = (c? / self.stride).rem_euclid(self.slots) as usize;
                self.labels.get(slot).map(String::as_str)
            })
            .collect();
        Ok(Arc::new(out))
    }
}

/// Periods fold into a cell code above this many bits of cells.
const PERIOD_SHIFT: i64 = 1 << 40;
/// Added to a period number so that every foldable one is positive (0 is the
/// null period).
const PERIOD_OFFSET: i64 = 1 << 21;

/// `seg_fold(cell, period)`: a cell code and a calendar period number as one
/// integer, so that segments per period group by one key. A period too far from
/// 1970 to fold (past about 40,000 years of weeks) is an error, never a wrong group.
struct Fold;

impl Kind for Fold {
    fn name(&self) -> &str {
        "seg_fold"
    }
    fn returns(&self) -> DataType {
        DataType::Int64
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        let cells = args[0].as_primitive::<Int64Type>();
        let periods = args[1].as_primitive::<Int64Type>();
        if cells.null_count() == 0 && periods.null_count() == 0 {
            let out: Vec<i64> = cells
                .values()
                .iter()
                .zip(periods.values().iter())
                .map(|(c, p)| Ok(period_slot(*p)? + c))
                .collect::<Result<_>>()?;
            return Ok(Arc::new(Int64Array::from(out)));
        }
        let mut out = Vec::with_capacity(cells.len());
        for (c, p) in cells.iter().zip(periods.iter()) {
            let slot = p.map_or(Ok(0), period_slot)?;
            out.push(c.map(|c| slot + c));
        }
        Ok(Arc::new(Int64Array::from(out)))
    }
}

/// What `seg_fold` adds to a cell code for period `p` (see `Fold`); the null
/// period adds 0.
#[inline]
pub(super) fn period_slot(p: i64) -> Result<i64> {
    match p {
        p if p.abs() < PERIOD_OFFSET => Ok((p + PERIOD_OFFSET) * PERIOD_SHIFT),
        // A data error (exit 3), not a bug: the date itself is the problem.
        p => Err(DataFusionError::External(Box::new(std::io::Error::other(format!(
            "a date {p} periods from 1970 is too far out to group by period"
        ))))),
    }
}

/// `cell` and `period` folded into one integer (see `Fold`).
pub fn fold_period(cell: Expr, period: Expr) -> Expr {
    udf::call(
        Arc::new(Fold),
        Signature::exact(vec![DataType::Int64, DataType::Int64], Volatility::Immutable),
        vec![cell, period],
    )
}

/// The cell code and the period number (null for the null period) of a folded key.
pub fn unfold_period(folded: Expr) -> Result<(Expr, Expr)> {
    use datafusion::logical_expr::{lit, when};
    let cell = folded.clone() % lit(PERIOD_SHIFT);
    let slot = folded / lit(PERIOD_SHIFT);
    let period =
        when(slot.clone().eq(lit(0i64)), lit(datafusion::common::ScalarValue::Int64(None)))
            .otherwise(slot - lit(PERIOD_OFFSET))?;
    Ok((cell, period))
}
