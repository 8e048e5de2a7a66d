//! Sums that do not depend on the order rows arrive in. DataFusion adds floats in
//! whatever order its threads finish, so equal spends could differ in the last bit
//! and break a quantile tie differently from run to run; and it adds integers with
//! wrapping, so two `i64::MAX` rows summed to -2. Here floats are summed exactly and
//! rounded once (so any order gives the same bits) and integers fail on overflow.

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Float64Builder, ListArray, ListBuilder,
    UInt64Array,
};
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, UInt64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    cast, Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, Expr, GroupsAccumulator, Signature,
    Volatility,
};
use std::sync::{Arc, OnceLock};

/// `a + b` as the rounded sum and its exact rounding error (Knuth's TwoSum).
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// The exact sum of the finite values added so far. Nearly always two words with
/// `hi + lo` exactly the sum and `hi` its rounding; when a third word would be needed
/// (values of very different magnitudes) it becomes Shewchuk's list of
/// non-overlapping partials, as in Python's `math.fsum`. Either way nothing is lost,
/// so the result is the correctly rounded exact sum whatever the order.
#[derive(Clone, Debug, Default)]
struct ExactSum {
    hi: f64,
    lo: f64,
    partials: Option<Vec<f64>>,
    /// The sum of non-finite inputs (and of overflowed partial sums): 0, ±inf or NaN.
    special: f64,
    count: u64,
}

fn partials_add(p: &mut Vec<f64>, mut x: f64) {
    let mut i = 0;
    for j in 0..p.len() {
        let mut y = p[j];
        if x.abs() < y.abs() {
            std::mem::swap(&mut x, &mut y);
        }
        let (hi, lo) = two_sum(x, y);
        if lo != 0.0 {
            p[i] = lo;
            i += 1;
        }
        x = hi;
    }
    p.truncate(i);
    p.push(x);
}

/// The correctly rounded sum of non-overlapping partials (ascending magnitude),
/// half-way cases to even, as `math.fsum` does.
fn partials_round(p: &[f64]) -> f64 {
    let mut n = p.len();
    if n == 0 {
        return 0.0;
    }
    n -= 1;
    let mut hi = p[n];
    let mut lo = 0.0;
    while n > 0 {
        let x = hi;
        n -= 1;
        let y = p[n];
        hi = x + y;
        lo = y - (hi - x);
        if lo != 0.0 {
            break;
        }
    }
    if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

impl ExactSum {
    fn add(&mut self, x: f64) {
        self.count += 1;
        self.add_value(x);
    }

    fn add_value(&mut self, x: f64) {
        if !x.is_finite() {
            self.special += x;
            return;
        }
        if let Some(p) = &mut self.partials {
            partials_add(p, x);
            if let Some(top) = p.last().filter(|t| !t.is_finite()) {
                self.special += *top;
                p.pop();
            }
            return;
        }
        let (s, e) = two_sum(self.hi, x);
        if !s.is_finite() {
            // The finite values overflow: the sum is that infinity, as a plain sum's is.
            self.special += s;
            return;
        }
        let (t, f) = two_sum(self.lo, e);
        if f != 0.0 {
            let mut p = Vec::with_capacity(4);
            for v in [s, t, f] {
                partials_add(&mut p, v);
            }
            self.partials = Some(p);
            return;
        }
        (self.hi, self.lo) = two_sum(s, t);
    }

    fn sum(&self) -> f64 {
        if self.special != 0.0 || self.special.is_nan() {
            return self.special;
        }
        match &self.partials {
            Some(p) => partials_round(p),
            None => self.hi,
        }
    }

    /// Appends the words whose exact sum this is, to hand to another accumulator
    /// (no vector per group: states of a million groups are built at once).
    fn push_words(&self, out: &mut Float64Builder) {
        let words: &[f64] = match &self.partials {
            Some(p) => p,
            None => &[self.lo, self.hi],
        };
        words.iter().filter(|v| **v != 0.0).for_each(|v| out.append_value(*v));
        if self.special != 0.0 || self.special.is_nan() {
            out.append_value(self.special);
        }
    }

    fn merge(&mut self, words: Option<ArrayRef>, count: u64) {
        self.count += count;
        if let Some(w) = words {
            for v in w.as_primitive::<Float64Type>().values().iter() {
                self.add_value(*v);
            }
        }
    }

    fn result(&self, avg: bool) -> Option<f64> {
        match (self.count, avg) {
            (0, _) => None,
            (n, true) => Some(self.sum() / n as f64),
            (_, false) => Some(self.sum()),
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.partials.as_ref().map_or(0, |p| p.capacity() * 8)
    }
}

/// What an exact float aggregate reads and gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Sum,
    Avg,
    /// The sum of floats kept exact, as its words (a list; null over no values):
    /// finer cells whose sums are combined later without a rounding per cell.
    Words,
    /// The rounded sum of such word lists.
    SumOfWords,
    /// Such word lists merged into one, still exact.
    MergeWords,
}

impl Kind {
    fn avg(self) -> bool {
        self == Kind::Avg
    }
    fn reads_words(self) -> bool {
        matches!(self, Kind::SumOfWords | Kind::MergeWords)
    }
    fn gives_words(self) -> bool {
        matches!(self, Kind::Words | Kind::MergeWords)
    }
}

/// `sum` or `avg` of a float column, exact.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ExactFloat {
    kind: Kind,
    signature: Signature,
}

fn words_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true)))
}

fn state_fields(name: &str) -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(
            format_state_name(name, "words"),
            DataType::List(Arc::new(Field::new_list_field(DataType::Float64, true))),
            true,
        )),
        Arc::new(Field::new(format_state_name(name, "count"), DataType::UInt64, true)),
    ]
}

fn state_arrays(sums: &[ExactSum]) -> Vec<ArrayRef> {
    let mut words = ListBuilder::new(Float64Builder::new());
    for s in sums {
        s.push_words(words.values());
        words.append(true);
    }
    let counts: UInt64Array = sums.iter().map(|s| Some(s.count)).collect();
    vec![Arc::new(words.finish()), Arc::new(counts)]
}

fn result_array(sums: &[ExactSum], kind: Kind) -> ArrayRef {
    if kind.gives_words() {
        let mut words = ListBuilder::new(Float64Builder::new());
        for s in sums {
            s.push_words(words.values());
            words.append(s.count > 0);
        }
        return Arc::new(words.finish());
    }
    Arc::new(sums.iter().map(|s| s.result(kind.avg())).collect::<Float64Array>())
}

/// Adds word lists (`Kind::Words` results) into `sums[group(i)]`; a null list is no
/// values.
fn add_words(
    sums: &mut [ExactSum],
    values: &ArrayRef,
    group: impl Fn(usize) -> usize,
    filter: Option<&BooleanArray>,
) -> usize {
    let lists: &ListArray = values.as_list::<i32>();
    let mut switched = 0;
    for i in 0..lists.len() {
        if lists.is_valid(i) && selected(filter, i) {
            let s = &mut sums[group(i)];
            let before = s.partials.is_none();
            s.merge(Some(lists.value(i)), 1);
            switched += usize::from(before && s.partials.is_some());
        }
    }
    switched
}

impl AggregateUDFImpl for ExactFloat {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Sum => "seg_sum",
            Kind::Avg => "seg_avg",
            Kind::Words => "seg_sum_words",
            Kind::SumOfWords => "seg_sum_of_words",
            Kind::MergeWords => "seg_merge_words",
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(if self.kind.gives_words() { words_type() } else { DataType::Float64 })
    }
    fn accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(One { sum: ExactSum::default(), kind: self.kind }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields(args.name))
    }
    fn groups_accumulator_supported(&self, _: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(&self, _: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Groups { sums: Vec::new(), kind: self.kind, with_partials: 0 }))
    }
}

/// One group (no GROUP BY, and windows).
#[derive(Debug)]
struct One {
    sum: ExactSum,
    kind: Kind,
}

impl Accumulator for One {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if self.kind.reads_words() {
            add_words(std::slice::from_mut(&mut self.sum), &values[0], |_| 0, None);
            return Ok(());
        }
        let v = values[0].as_primitive::<Float64Type>();
        if v.null_count() > 0 {
            for x in v.iter().flatten() {
                self.sum.add(x);
            }
            return Ok(());
        }
        // Four sums side by side, merged exactly at the end: each addition waits on
        // the one before in its own sum only, so the four chains overlap in the CPU.
        let mut lanes: [ExactSum; 4] = Default::default();
        let chunks = v.values().chunks_exact(4);
        let rest = chunks.remainder();
        for c in chunks {
            for (lane, x) in lanes.iter_mut().zip(c) {
                lane.add(*x);
            }
        }
        for x in rest {
            self.sum.add(*x);
        }
        for lane in &lanes {
            let mut words = Float64Builder::new();
            lane.push_words(&mut words);
            self.sum.merge(Some(Arc::new(words.finish())), lane.count);
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let a = result_array(std::slice::from_ref(&self.sum), self.kind);
        ScalarValue::try_from_array(&a, 0)
    }
    fn size(&self) -> usize {
        self.sum.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let arrays = state_arrays(std::slice::from_ref(&self.sum));
        arrays.iter().map(|a| ScalarValue::try_from_array(a, 0)).collect()
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let words = states[0].as_list::<i32>();
        let counts = states[1].as_primitive::<UInt64Type>();
        for i in 0..words.len() {
            self.sum.merge(words.is_valid(i).then(|| words.value(i)), counts.value(i));
        }
        Ok(())
    }
}

struct Groups {
    sums: Vec<ExactSum>,
    kind: Kind,
    /// Groups holding partials, counted as they switch: `size` is asked after every
    /// batch and must not walk a million groups each time.
    with_partials: usize,
}

/// What a group's partials cost, roughly (a few words and the vector's header).
const PARTIALS_BYTES: usize = 64;

impl Groups {
    fn take(&mut self, emit: EmitTo) -> Vec<ExactSum> {
        let taken = emit.take_needed(&mut self.sums);
        self.with_partials -=
            taken.iter().filter(|s| s.partials.is_some()).count().min(self.with_partials);
        taken
    }
}

fn selected(filter: Option<&BooleanArray>, i: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(i) && f.value(i))
}

impl GroupsAccumulator for Groups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        groups: &[usize],
        filter: Option<&BooleanArray>,
        total: usize,
    ) -> Result<()> {
        self.sums.resize_with(total, ExactSum::default);
        if self.kind.reads_words() {
            self.with_partials += add_words(&mut self.sums, &values[0], |i| groups[i], filter);
            return Ok(());
        }
        let v = values[0].as_primitive::<Float64Type>();
        let data = v.values();
        let mut switched = 0;
        let mut add = |s: &mut ExactSum, x: f64| {
            let before = s.partials.is_none();
            s.add(x);
            switched += usize::from(before && s.partials.is_some());
        };
        if v.null_count() == 0 && filter.is_none() {
            for (g, x) in groups.iter().zip(data.iter()) {
                add(&mut self.sums[*g], *x);
            }
        } else {
            for (i, g) in groups.iter().enumerate() {
                if v.is_valid(i) && selected(filter, i) {
                    add(&mut self.sums[*g], data[i]);
                }
            }
        }
        self.with_partials += switched;
        Ok(())
    }
    fn evaluate(&mut self, emit: EmitTo) -> Result<ArrayRef> {
        let taken = self.take(emit);
        Ok(result_array(&taken, self.kind))
    }
    fn state(&mut self, emit: EmitTo) -> Result<Vec<ArrayRef>> {
        let taken = self.take(emit);
        Ok(state_arrays(&taken))
    }
    fn merge_batch(&mut self, values: &[ArrayRef], groups: &[usize], total: usize) -> Result<()> {
        self.sums.resize_with(total, ExactSum::default);
        let words: &ListArray = values[0].as_list::<i32>();
        let counts = values[1].as_primitive::<UInt64Type>();
        for (i, g) in groups.iter().enumerate() {
            let s = &mut self.sums[*g];
            let before = s.partials.is_none();
            s.merge(words.is_valid(i).then(|| words.value(i)), counts.value(i));
            self.with_partials += usize::from(before && s.partials.is_some());
        }
        Ok(())
    }
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        if self.kind.reads_words() {
            let mut sums = vec![ExactSum::default(); values[0].len()];
            add_words(&mut sums, &values[0], |i| i, filter);
            return Ok(state_arrays(&sums));
        }
        let v = values[0].as_primitive::<Float64Type>();
        let sums: Vec<ExactSum> = (0..v.len())
            .map(|i| {
                let mut s = ExactSum::default();
                if v.is_valid(i) && selected(filter, i) {
                    s.add(v.value(i));
                }
                s
            })
            .collect();
        Ok(state_arrays(&sums))
    }
    fn size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<ExactSum>() + self.with_partials * PARTIALS_BYTES
    }
}

fn udaf(kind: Kind) -> Arc<AggregateUDF> {
    static KINDS: [OnceLock<Arc<AggregateUDF>>; 5] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    KINDS[kind as usize]
        .get_or_init(|| {
            let input = if kind.reads_words() { words_type() } else { DataType::Float64 };
            Arc::new(AggregateUDF::new_from_impl(ExactFloat {
                kind,
                signature: Signature::exact(vec![input], Volatility::Immutable),
            }))
        })
        .clone()
}

/// The exact sum of a Float64 expression (null over no values, as `sum`).
pub fn float_sum(x: Expr) -> Expr {
    udaf(Kind::Sum).call(vec![x])
}

/// `float_sum` of `x` kept exact as a list of words, for finer cells to be summed
/// later by `sum_of_words` with one rounding, as if every row were summed at once.
pub fn float_sum_words(x: Expr) -> Expr {
    udaf(Kind::Words).call(vec![x])
}

/// `float_sum_words` lists merged into one (cells of cells).
pub fn merge_words(words: Expr) -> Expr {
    udaf(Kind::MergeWords).call(vec![words])
}

/// The rounded exact sum of `float_sum_words` lists (null when all are null).
pub fn sum_of_words(words: Expr) -> Expr {
    udaf(Kind::SumOfWords).call(vec![words])
}

/// The exact mean of a Float64 expression.
pub fn float_avg(x: Expr) -> Expr {
    udaf(Kind::Avg).call(vec![x])
}

/// The aggregate function behind `float_sum`, for windows.
pub fn float_sum_udaf() -> Arc<AggregateUDF> {
    udaf(Kind::Sum)
}

/// The sum of an Int64 expression that fails on overflow instead of wrapping: it is
/// summed as a 128-bit decimal (which cannot overflow below 2^64 rows) and cast back,
/// and the cast refuses a result outside Int64.
pub fn int_sum(x: Expr) -> Expr {
    cast(agg::sum(cast(x, DataType::Decimal128(38, 0))), DataType::Int64)
}

/// The exact sum of `chunks`, each added by its own accumulator and then merged, as
/// DataFusion's partial aggregates are: the same bits for any chunking and order.
pub fn sum_chunks(chunks: &[&[f64]]) -> f64 {
    let mut total = ExactSum::default();
    for c in chunks {
        let mut s = ExactSum::default();
        c.iter().for_each(|x| s.add(*x));
        let mut words = Float64Builder::new();
        s.push_words(&mut words);
        total.merge(Some(Arc::new(words.finish())), s.count);
    }
    total.sum()
}
