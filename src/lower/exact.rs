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

/// Values per extraction block (2^SPLIT_LOG2), and the levels of extraction tried
/// before the rest is added value by value: 4 levels take 164 bits, which covers
/// values 110 binary orders apart.
const SPLIT_BLOCK: usize = 1 << SPLIT_LOG2;
const SPLIT_LOG2: i32 = 10;
const SPLIT_LEVELS: usize = 4;

/// The smallest e with 2^e ≥ x, for finite x > 0.
fn exponent_above(x: f64) -> i32 {
    let b = x.to_bits();
    let biased = ((b >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: below 2^-1022.
        return -1022;
    }
    biased - 1023 + i32::from(b & ((1 << 52) - 1) != 0)
}

/// Groups few enough to hold each one's parts of a block in a dense array, and the
/// rows of a grouped block (2^GROUP_LOG2): every group a block has rows of adds its
/// parts to its sum once per level, so the block is long enough that this costs
/// well under an add per row.
const DENSE_GROUPS: usize = 4096;
const GROUP_LOG2: i32 = 13;
/// Interleaved copies of that array: a group's consecutive rows add to different
/// copies, so each add need not wait for the one before it.
const GROUP_LANES: usize = 4;

/// `add_grouped`'s working arrays, kept by the accumulator: allocated per batch,
/// their zeroing cost as much as the rows' bins. Every call leaves `parts`,
/// `seen`, `counts` and `touched` cleared, as a block's groups are cleared after it.
#[derive(Default)]
struct Scratch {
    parts: Vec<f64>,
    seen: Vec<bool>,
    touched: Vec<usize>,
    counts: Vec<u32>,
    rest: Vec<f64>,
}

impl Scratch {
    /// Sized for `total` groups (the lanes' layout depends on it; growing zeroes
    /// what is added, and everything else is zero already) and blocks of `block`.
    fn fit(&mut self, total: usize, block: usize) {
        if self.seen.len() != total {
            self.parts.clear();
            self.parts.resize(total * GROUP_LANES, 0.0);
            self.seen.resize(total, false);
            self.counts.resize(total, 0);
        }
        if self.rest.len() < block {
            self.rest.resize(block, 0.0);
        }
    }

    fn size(&self) -> usize {
        self.parts.capacity() * 8
            + self.seen.capacity()
            + self.counts.capacity() * 4
            + (self.rest.capacity() + self.touched.capacity()) * 8
    }
}

/// Adds `xs` (no nulls) to the sums of their `groups` by extraction, as
/// `ExactSum::add_block_split` does for one group: each level's parts are summed
/// per group, exactly, and join each group's sum as one word. Returns how many
/// groups switched to partials.
fn add_grouped(
    sums: &mut [ExactSum],
    groups: &[usize],
    xs: &[f64],
    scratch: &mut Scratch,
) -> usize {
    let mut switched = 0;
    let mut add = |s: &mut ExactSum, x: f64| {
        let before = s.partials.is_none();
        s.add_value(x);
        switched += usize::from(before && s.partials.is_some());
    };
    let total = sums.len();
    let block_len = 1 << GROUP_LOG2;
    scratch.fit(total, block_len.min(xs.len()));
    let Scratch { parts, seen, touched, counts, rest } = scratch;
    for (gs, block) in groups.chunks(block_len).zip(xs.chunks(block_len)) {
        // Counted densely first: a group's sum is a wide struct, and a count in
        // each for every row is a scattered write.
        for &g in gs {
            counts[g] += 1;
            if !seen[g] {
                seen[g] = true;
                touched.push(g);
            }
        }
        let r = &mut rest[..block.len()];
        let mut max = lanes(Lanes::Max, block, r, 0.0).1;
        for level in 0.. {
            if max == 0.0 {
                break;
            }
            let e = exponent_above(max);
            let sigma_order = e + GROUP_LOG2 + 2;
            if sigma_order > 1023 || !max.is_finite() {
                gs.iter().zip(block).for_each(|(g, x)| add(&mut sums[*g], *x));
                break;
            }
            if sigma_order - 53 < -1022 || level == SPLIT_LEVELS {
                let left: &[f64] = if level == 0 { block } else { r };
                for (g, x) in gs.iter().zip(left).filter(|(_, x)| **x != 0.0) {
                    add(&mut sums[*g], *x);
                }
                break;
            }
            let sigma = pow2(sigma_order);
            for (i, g) in gs.iter().enumerate() {
                let x = if level == 0 { block[i] } else { r[i] };
                let q = (sigma + x) - sigma;
                r[i] = x - q;
                parts[(i % GROUP_LANES) * total + g] += q;
            }
            // Apart, on lanes: kept in the loop above, the largest rest was a chain
            // through memory that cost more than the extraction.
            let next = lanes(Lanes::Max, r, &mut [], 0.0).1;
            // A group's parts of a block, in every copy, are on σ's grid below σ/2.
            // A NaN among a group's values makes its part NaN, and its sum NaN, as
            // adding them one by one would.
            for &g in touched.iter() {
                let mut part = 0.0;
                for lane in 0..GROUP_LANES {
                    part += std::mem::take(&mut parts[lane * total + g]);
                }
                if part != 0.0 {
                    add(&mut sums[g], part);
                }
            }
            max = next;
        }
        for g in touched.drain(..) {
            seen[g] = false;
            sums[g].count += u64::from(std::mem::take(&mut counts[g]));
        }
    }
    switched
}

/// What a pass over a block's lanes does.
#[derive(Clone, Copy, PartialEq)]
enum Lanes {
    /// The largest |x| of the block.
    Max,
    /// One level of extraction from the block into the scratch.
    First,
    /// One more level, within the scratch.
    Again,
}

/// A pass over `src` (`lanes_generic`), on AVX2 where the CPU has it.
fn lanes(how: Lanes, src: &[f64], r: &mut [f64], sigma: f64) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { lanes_avx2(how, src, r, sigma) };
    }
    lanes_generic(how, src, r, sigma)
}

/// `lanes_generic` compiled for AVX2, four doubles per instruction: the default
/// target has two. Only vector width changes; IEEE semantics do not (no FMA).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn lanes_avx2(how: Lanes, src: &[f64], r: &mut [f64], sigma: f64) -> (f64, f64) {
    lanes_generic(how, src, r, sigma)
}

/// With σ = `sigma`, each value's part on σ's grid is taken and what is left of it
/// is written to `r` (for `Again`, `r` holds the values and `src` is unused);
/// returns the exact sum of the parts and the largest |rest|. For `Max`, the
/// largest |x| of `src` only.
#[inline(always)]
fn lanes_generic(how: Lanes, src: &[f64], r: &mut [f64], sigma: f64) -> (f64, f64) {
    const L: usize = 8;
    let (mut sum, mut max) = ([0.0f64; L], [0.0f64; L]);
    let bigger = |m: f64, x: f64| if x.abs() > m { x.abs() } else { m };
    if how == Lanes::Max {
        let mut chunks = src.chunks_exact(L);
        for c in &mut chunks {
            for i in 0..L {
                max[i] = bigger(max[i], c[i]);
            }
        }
        chunks.remainder().iter().for_each(|x| max[0] = bigger(max[0], *x));
    } else {
        let mut step = |x: f64, lane: usize| {
            let q = (sigma + x) - sigma;
            sum[lane] += q;
            max[lane] = bigger(max[lane], x - q);
            x - q
        };
        let tail = src.len() / L * L;
        if how == Lanes::First {
            for (c, out) in src[..tail].chunks_exact(L).zip(r.chunks_exact_mut(L)) {
                for i in 0..L {
                    out[i] = step(c[i], i);
                }
            }
            for (x, out) in src[tail..].iter().zip(&mut r[tail..]) {
                *out = step(*x, 0);
            }
        } else {
            let tail = r.len() / L * L;
            for c in r[..tail].chunks_exact_mut(L) {
                for (i, x) in c.iter_mut().enumerate() {
                    *x = step(*x, i);
                }
            }
            for x in &mut r[tail..] {
                *x = step(*x, 0);
            }
        }
    }
    // Every partial sum of parts is a multiple of σ·2⁻⁵³ below σ/2: exact in any order.
    (sum.iter().sum(), max.iter().fold(0.0, |m, x| bigger(m, *x)))
}

/// 2^k exactly, for k in -1074..=1023 (subnormal below -1022).
fn pow2(k: i32) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1 << (k + 1074))
    }
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
                // The finite values overflow: the sum is that infinity. The step that
                // overflowed also left a NaN below it, which must not reach the words
                // handed to another accumulator (merged, it made the sum NaN).
                self.special += *top;
                p.retain(|w| w.is_finite());
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

    /// Adds a run of values with no nulls, a block at a time (`add_block_split`).
    fn add_slice(&mut self, xs: &[f64]) {
        self.count += xs.len() as u64;
        let mut scratch = [0.0; SPLIT_BLOCK];
        for block in xs.chunks(SPLIT_BLOCK) {
            if !self.add_block_split(block, &mut scratch[..block.len()]) {
                block.iter().for_each(|x| self.add_value(*x));
            }
        }
    }

    /// Adds the values of `block` by error-free extraction, as in
    /// Rump, Ogita and Oishi's AccSum: with σ a power of two far above every |x|,
    /// `q = (σ + x) − σ` is `x` cut to a grid of σ·2⁻⁵³ and `x − q` is exactly what
    /// is left, so the q's add without rounding in any order, on SIMD lanes, and
    /// their sum joins the exact sum as one word. What is left is extracted again,
    /// 41 bits lower, until nothing is. A TwoSum chain instead waits on every add.
    /// Returns false, having added nothing, when the block is not all finite or
    /// lies too near overflow; then it is added value by value. `r` is scratch of
    /// the block's length, for what is left after each level.
    fn add_block_split(&mut self, block: &[f64], r: &mut [f64]) -> bool {
        let mut max = lanes(Lanes::Max, block, r, 0.0).1;
        for level in 0.. {
            if max == 0.0 {
                return true;
            }
            // 2^e bounds every |x|, so every |q| is at most 2^(e+1), and any 2^10 of
            // them sum to at most 2^(e+11) = σ/2: 2^52 units of σ·2⁻⁵³, exact.
            let e = exponent_above(max);
            let sigma_order = e + SPLIT_LOG2 + 2;
            if sigma_order > 1023 || !max.is_finite() {
                debug_assert_eq!(level, 0, "extraction only lowers the bound");
                return false;
            }
            // Below about 2^-1000 the grid would pass the smallest subnormal, and
            // past a few levels the values span very different orders: what is
            // left is added value by value, exactly, either way.
            if sigma_order - 53 < -1022 || level == SPLIT_LEVELS {
                let r = if level == 0 { block } else { &*r };
                r.iter().filter(|x| **x != 0.0).for_each(|x| self.add_value(*x));
                return true;
            }
            let (src, how) =
                if level == 0 { (block, Lanes::First) } else { (&[][..], Lanes::Again) };
            let (q, next) = lanes(how, src, r, pow2(sigma_order));
            if !q.is_finite() {
                // A NaN, which the bound above passed over; nothing was added yet.
                debug_assert_eq!(level, 0);
                return false;
            }
            self.add_value(q);
            max = next;
        }
        unreachable!()
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

    fn merge(&mut self, words: Option<&[f64]>, count: u64) {
        self.count += count;
        for v in words.unwrap_or_default() {
            self.add_value(*v);
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

/// `state_arrays` of one sum per row of `v` holding that row's value (none when
/// it is null or filtered out), built directly: DataFusion asks for it per row when
/// grouping passes rows through unaggregated (millions of groups). A sum of one
/// value `x` has the words `[x]`, none when `x` is zero (NaN and infinities are
/// their own word, as `push_words` gives them).
fn one_value_states(v: &Float64Array, filter: Option<&BooleanArray>) -> Vec<ArrayRef> {
    let mut offsets = Vec::with_capacity(v.len() + 1);
    offsets.push(0i32);
    let mut words = Vec::with_capacity(v.len());
    let mut counts = Vec::with_capacity(v.len());
    for i in 0..v.len() {
        let kept = v.is_valid(i) && selected(filter, i);
        let x = v.value(i);
        if kept && x != 0.0 {
            words.push(x);
        }
        offsets.push(words.len() as i32);
        counts.push(u64::from(kept));
    }
    let field = Arc::new(Field::new_list_field(DataType::Float64, true));
    let lists = ListArray::new(
        field,
        arrow::buffer::OffsetBuffer::new(offsets.into()),
        Arc::new(Float64Array::from(words)),
        None,
    );
    vec![Arc::new(lists), Arc::new(UInt64Array::from(counts))]
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

/// Row `i`'s words in `lists` (exact sums as word lists), read in place: a
/// `ListArray::value` per row allocates a sliced array, which cost more than adding
/// the words when millions of groups merge.
struct Words<'a> {
    lists: &'a ListArray,
    offsets: &'a [i32],
    values: &'a [f64],
}

impl<'a> Words<'a> {
    fn of(a: &'a ArrayRef) -> Self {
        let lists = a.as_list::<i32>();
        let values = lists.values().as_primitive::<Float64Type>().values();
        Words { lists, offsets: lists.value_offsets(), values }
    }
    fn get(&self, i: usize) -> Option<&'a [f64]> {
        let (from, to) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        self.lists.is_valid(i).then(|| &self.values[from..to])
    }
    fn len(&self) -> usize {
        self.lists.len()
    }
}

/// Adds word lists (`Kind::Words` results) into `sums[group(i)]`; a null list is no
/// values.
fn add_words(
    sums: &mut [ExactSum],
    values: &ArrayRef,
    group: impl Fn(usize) -> usize,
    filter: Option<&BooleanArray>,
) -> usize {
    let words = Words::of(values);
    let mut switched = 0;
    for i in 0..words.len() {
        if let Some(w) = words.get(i).filter(|_| selected(filter, i)) {
            let s = &mut sums[group(i)];
            let before = s.partials.is_none();
            s.merge(Some(w), 1);
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
        Ok(Box::new(Groups {
            sums: Vec::new(),
            kind: self.kind,
            with_partials: 0,
            scratch: Scratch::default(),
        }))
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
        self.sum.add_slice(v.values());
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
        let words = Words::of(&states[0]);
        let counts = states[1].as_primitive::<UInt64Type>();
        for i in 0..words.len() {
            self.sum.merge(words.get(i), counts.value(i));
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
    scratch: Scratch,
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

/// Whether row `i` passes an aggregate's `FILTER` (every row, without one).
pub(super) fn selected(filter: Option<&BooleanArray>, i: usize) -> bool {
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
        if v.null_count() == 0 && filter.is_none() && total <= DENSE_GROUPS {
            switched += add_grouped(&mut self.sums, groups, data, &mut self.scratch);
        } else if v.null_count() == 0 && filter.is_none() {
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
        let words = Words::of(&values[0]);
        let counts = values[1].as_primitive::<UInt64Type>();
        for (i, g) in groups.iter().enumerate() {
            let s = &mut self.sums[*g];
            let before = s.partials.is_none();
            s.merge(words.get(i), counts.value(i));
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
        Ok(one_value_states(values[0].as_primitive::<Float64Type>(), filter))
    }
    fn size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<ExactSum>()
            + self.with_partials * PARTIALS_BYTES
            + self.scratch.size()
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
        total.merge(Some(words.finish().values()), s.count);
    }
    total.sum()
}

/// The exact sum of `xs` as one accumulator adds a batch without nulls, through
/// extraction blocks where they apply; the same bits as `sum_chunks(&[xs])`.
pub fn sum_slice(xs: &[f64]) -> f64 {
    let mut s = ExactSum::default();
    s.add_slice(xs);
    s.sum()
}

/// The exact sum and count of the kept, non-null `xs` as a grouped accumulator
/// merges them when DataFusion passes rows through unaggregated: one state per row
/// (`one_value_states`), merged into one sum. The same bits as `sum_chunks`.
pub fn sum_passed_through(xs: &[Option<f64>], keep: &[bool]) -> (f64, u64) {
    let states = one_value_states(&Float64Array::from(xs.to_vec()), Some(&keep.to_vec().into()));
    let mut one = One { sum: ExactSum::default(), kind: Kind::Sum };
    one.merge_batch(&states).expect("states of one_value_states");
    (one.sum.sum(), one.sum.count)
}

/// The exact sum of each group's values, as a grouped accumulator adds a batch
/// without nulls over few groups; the same bits as `sum_chunks` of each group's.
pub fn sum_groups(groups: &[usize], xs: &[f64], total: usize) -> Vec<f64> {
    let mut sums = vec![ExactSum::default(); total];
    add_grouped(&mut sums, groups, xs, &mut Scratch::default());
    sums.iter().map(ExactSum::sum).collect()
}
