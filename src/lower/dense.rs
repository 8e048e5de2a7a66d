//! Grouping by one integer code whose range is known when planning, through a
//! table indexed by code instead of a hash table: a row's group is one load from
//! the table (DataFusion's one-integer hash grouping was 8-15% of a
//! segmentation's samples).
//!
//! The plan stays a DataFusion plan: one aggregate without grouping whose single
//! function (`seg_dense`) holds every aggregate's own groups accumulator, fed the
//! rows' groups. It gives one list of the cells that rows reached, which is
//! unnested into rows with the same columns the grouped aggregate would have.

use super::DfResult;
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StructArray};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{exec_err, internal_err, Result, ScalarValue};
use datafusion::functions::core::expr_fn::get_field;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    col, Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, Expr, GroupsAccumulator,
    LogicalPlanBuilder, Signature, Volatility,
};
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

/// The widest range of codes grouped through a table indexed by code: the table
/// costs 4 bytes per code up to the highest code met, in each partition (at most
/// 4 MiB here). The aggregates' states are per code that rows reach, as with hash
/// grouping, so the range may be sparse (a dictionary's codes times the other
/// dimensions' range).
pub const MAX_CELLS: i64 = 1 << 20;

/// The one column the aggregate gives, a list of cells; a struct per cell once
/// unnested.
const DENSE: &str = "__dense";
/// The cell code's field in each cell's struct.
const KEY: &str = "k";

/// `b` grouped by the code `key` (an Int64 in `0..cells`, or null) into `aggs`,
/// as `b.aggregate(vec![key.alias(name)], aggs)` would give: the same columns, one
/// row per code that rows reached, in no order. Through the code table when
/// `cells` is at most `MAX_CELLS` and every aggregate has a groups accumulator
/// that needs no ordering, distinct values or filter (`capable`); by DataFusion's
/// hash grouping otherwise. A code out of range fails the query.
pub fn grouped(
    b: LogicalPlanBuilder,
    key: Expr,
    name: &str,
    cells: i64,
    aggs: Vec<Expr>,
) -> DfResult<LogicalPlanBuilder> {
    let hashed = |b: LogicalPlanBuilder, aggs| match &key {
        Expr::Column(c) if c.name == name => b.aggregate(vec![key.clone()], aggs),
        _ => b.aggregate(vec![key.clone().alias(name)], aggs),
    };
    if !(1..=MAX_CELLS).contains(&cells) {
        return hashed(b, aggs);
    }
    let mut parts: Vec<(Arc<AggregateUDF>, usize)> = Vec::new();
    let mut args = vec![key.clone()];
    let mut outs = vec![get_field(col(DENSE), KEY).alias(name)];
    for e in &aggs {
        let (name, inner) = match e {
            Expr::Alias(a) => (a.name.clone(), (*a.expr).clone()),
            other => (other.schema_name().to_string(), other.clone()),
        };
        let mut able = true;
        // An aggregate under an expression (an integer sum cast back from its
        // decimal) is computed per cell here; the expression reads its field after.
        let out = inner
            .transform_up(|x| match x {
                Expr::AggregateFunction(f) if capable(&f) => {
                    let field = part_name(parts.len());
                    parts.push((f.func.clone(), f.params.args.len()));
                    args.extend(f.params.args);
                    Ok(Transformed::yes(get_field(col(DENSE), field)))
                }
                Expr::AggregateFunction(_) => {
                    able = false;
                    Ok(Transformed::no(x))
                }
                _ => Ok(Transformed::no(x)),
            })?
            .data;
        if !able {
            return hashed(b, aggs);
        }
        outs.push(out.alias(name));
    }
    let udaf = Arc::new(AggregateUDF::new_from_impl(Dense {
        signature: Signature::variadic_any(Volatility::Immutable),
        cells: cells as usize,
        parts,
    }));
    b.aggregate(Vec::<Expr>::new(), vec![udaf.call(args).alias(DENSE)])?
        .unnest_column(DENSE)?
        .project(outs)
}

/// Whether `f` can run as a groups accumulator fed by code: one of the aggregates
/// seg's plans use, all of which have one, with no ordering, distinct values or
/// filter, which the groups accumulators are not given here.
fn capable(f: &AggregateFunction) -> bool {
    const NAMES: &[&str] = &[
        "count",
        "sum",
        "min",
        "max",
        super::rows::NAME,
        "seg_sum",
        "seg_avg",
        "seg_sum_words",
        "seg_sum_of_words",
        "seg_merge_words",
    ];
    let p = &f.params;
    NAMES.contains(&f.func.name())
        && !p.distinct
        && p.filter.is_none()
        && p.order_by.is_empty()
        && p.null_treatment.is_none()
}

fn part_name(i: usize) -> String {
    format!("p{i}")
}

/// `seg_dense(code, args of part 0, args of part 1, ...)`: each part's aggregate
/// per code, as a list of structs (`k`, `p0`, `p1`, ...) for the codes rows reached.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Dense {
    signature: Signature,
    /// Codes run over `0..cells`; a null code is one more cell.
    cells: usize,
    /// Each part's aggregate and how many arguments it takes.
    parts: Vec<(Arc<AggregateUDF>, usize)>,
}

impl Dense {
    /// Each part's range of the arguments (after the code).
    fn ranges(&self) -> Vec<Range<usize>> {
        let mut at = 1;
        self.parts
            .iter()
            .map(|(_, n)| {
                at += n;
                at - n..at
            })
            .collect()
    }

    /// Each part's return field and state fields, named by `name`, from the
    /// fields of all the arguments.
    fn part_fields(
        &self,
        arg_fields: &[FieldRef],
        name: impl Fn(usize) -> String,
    ) -> Result<Vec<(FieldRef, Vec<FieldRef>)>> {
        let types: Vec<DataType> = arg_fields.iter().map(|f| f.data_type().clone()).collect();
        let mut out = Vec::new();
        for (i, ((f, _), r)) in self.parts.iter().zip(self.ranges()).enumerate() {
            let name = name(i);
            let ret = Arc::new(Field::new(&name, f.return_type(&types[r.clone()])?, true));
            let states = f.state_fields(StateFieldsArgs {
                name: &name,
                input_fields: &arg_fields[r],
                return_field: ret.clone(),
                ordering_fields: &[],
                is_distinct: false,
            })?;
            out.push((ret, states));
        }
        Ok(out)
    }

    fn cell_fields(&self, arg_types: &[DataType]) -> Result<Fields> {
        let mut fields = vec![Field::new(KEY, DataType::Int64, true)];
        for (i, ((f, _), r)) in self.parts.iter().zip(self.ranges()).enumerate() {
            fields.push(Field::new(part_name(i), f.return_type(&arg_types[r])?, true));
        }
        Ok(fields.into())
    }
}

impl AggregateUDFImpl for Dense {
    fn name(&self) -> &str {
        "seg_dense"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Struct(self.cell_fields(arg_types)?), true))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: String, f: &Field| {
            Arc::new(Field::new(name, DataType::new_list(f.data_type().clone(), true), true))
        };
        let mut out = vec![list(
            format_state_name(args.name, "keys"),
            &Field::new("", DataType::Int64, true),
        )];
        let name = |i| format_state_name(args.name, &part_name(i));
        for (_, states) in self.part_fields(args.input_fields, name)? {
            out.extend(states.iter().map(|s| list(s.name().clone(), s)));
        }
        Ok(out)
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let fields = self.part_fields(args.expr_fields, part_name)?;
        let mut parts = Vec::new();
        for (i, (((f, _), r), (ret, states))) in
            self.parts.iter().zip(self.ranges()).zip(fields).enumerate()
        {
            let name = part_name(i);
            let inner = AccumulatorArgs {
                return_field: ret,
                schema: args.schema,
                ignore_nulls: false,
                order_bys: &[],
                is_reversed: false,
                name: &name,
                is_distinct: false,
                exprs: &args.exprs[r.clone()],
                expr_fields: &args.expr_fields[r.clone()],
            };
            if !f.groups_accumulator_supported(inner.clone()) {
                return internal_err!("`{}` has no groups accumulator for seg_dense", f.name());
            }
            parts.push(Part {
                acc: Mutex::new(f.create_groups_accumulator(inner)?),
                args: r,
                states: states.len(),
            });
        }
        let types: Vec<DataType> = args.expr_fields.iter().map(|f| f.data_type().clone()).collect();
        Ok(Box::new(Cells {
            cells: self.cells,
            parts,
            fields: self.cell_fields(&types)?,
            slot: Vec::new(),
            codes: Vec::new(),
            groups: Vec::new(),
        }))
    }
}

struct Part {
    /// Only ever reached through `&mut` (`get_mut`, no locking): the mutex makes
    /// the `Send` accumulator `Sync`, as `Accumulator` must be.
    acc: Mutex<Box<dyn GroupsAccumulator>>,
    args: Range<usize>,
    /// How many state columns it has.
    states: usize,
}

impl Part {
    fn acc(&mut self) -> &mut dyn GroupsAccumulator {
        self.acc.get_mut().unwrap_or_else(PoisonError::into_inner).as_mut()
    }
}

/// The parts' accumulators, a group per cell that rows reached.
struct Cells {
    cells: usize,
    parts: Vec<Part>,
    fields: Fields,
    /// Each code's group, `NONE` until rows reach it; index `cells` is the null
    /// code. Grown as codes are met. Groups are numbered as codes are first met, so the parts hold states
    /// for the cells rows reach, not for the whole range: the exact sums' scratch
    /// is per group and per batch, and most codes of a shared pass's range
    /// (every combination of every dimension) are never met.
    slot: Vec<u32>,
    /// Each group's code (`cells` for null).
    codes: Vec<usize>,
    /// Scratch: a batch's groups.
    groups: Vec<usize>,
}

const NONE: u32 = u32::MAX;

impl std::fmt::Debug for Cells {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cells({} of {})", self.codes.len(), self.cells)
    }
}

impl Cells {
    /// The group of code `c` (`cells` for null), numbered on first meeting. The
    /// table grows to the codes met (doubling), not to the range: a dictionary's
    /// range is its label limit, its codes are the labels seen.
    #[inline]
    fn group(&mut self, c: usize) -> usize {
        if c >= self.slot.len() {
            let len = (c + 1).max(self.slot.len() * 2).min(self.cells + 1);
            self.slot.resize(len, NONE);
        }
        let s = self.slot[c];
        if s != NONE {
            return s as usize;
        }
        let g = self.codes.len();
        self.slot[c] = g as u32;
        self.codes.push(c);
        g
    }

    /// `codes` as groups. Codes are checked, not trusted: one out of range would
    /// index another cell's state.
    fn groups_of(&mut self, codes: &Int64Array, groups: &mut Vec<usize>) -> Result<()> {
        let cells = self.cells;
        groups.clear();
        groups.reserve(codes.len());
        let mut ok = true;
        if codes.null_count() == 0 {
            for &c in codes.values() {
                let c = c as u64 as usize;
                // `cells` itself is the null code's slot, not a code's.
                ok &= c < cells;
                groups.push(self.group(c.min(cells)));
            }
        } else {
            for c in codes.iter() {
                let c = c.map_or(Some(cells), |c| Some(c as u64 as usize).filter(|c| *c < cells));
                ok &= c.is_some();
                groups.push(self.group(c.unwrap_or(cells)));
            }
        }
        if !ok {
            return exec_err!("a cell code is outside 0..{cells}");
        }
        Ok(())
    }
}

impl Cells {
    /// Each group's code, null for the null code.
    fn keys(&self) -> Int64Array {
        self.codes.iter().map(|&c| (c != self.cells).then_some(c as i64)).collect()
    }
}

impl Accumulator for Cells {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let mut groups = std::mem::take(&mut self.groups);
        self.groups_of(values[0].as_primitive::<Int64Type>(), &mut groups)?;
        if !groups.is_empty() {
            let total = self.codes.len();
            for p in &mut self.parts {
                let args = p.args.clone();
                p.acc().update_batch(&values[args], &groups, None, total)?;
            }
        }
        self.groups = groups;
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = |a: ArrayRef| SingleRowListArrayBuilder::new(a).build_list_scalar();
        let mut out = vec![list(Arc::new(self.keys()))];
        for p in &mut self.parts {
            for a in p.acc().state(EmitTo::All)? {
                out.push(list(a));
            }
        }
        Ok(out)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let keys = states[0].as_list::<i32>();
        let mut groups = Vec::new();
        for row in 0..keys.len() {
            if keys.is_null(row) {
                continue;
            }
            let these = keys.value(row);
            self.groups_of(these.as_primitive::<Int64Type>(), &mut groups)?;
            if groups.is_empty() {
                continue;
            }
            let total = self.codes.len();
            let mut at = 1;
            for p in &mut self.parts {
                let cols: Vec<ArrayRef> = states[at..at + p.states]
                    .iter()
                    .map(|s| s.as_list::<i32>().value(row))
                    .collect();
                at += p.states;
                p.acc().merge_batch(&cols, &groups, total)?;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut cols: Vec<ArrayRef> = vec![Arc::new(self.keys())];
        for p in &mut self.parts {
            cols.push(p.acc().evaluate(EmitTo::All)?);
        }
        let cells = StructArray::try_new(self.fields.clone(), cols, None)?;
        Ok(SingleRowListArrayBuilder::new(Arc::new(cells)).build_list_scalar())
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.slot.capacity() * std::mem::size_of::<u32>()
            + (self.codes.capacity() + self.groups.capacity()) * std::mem::size_of::<usize>()
            + self.parts.iter().map(|p| p.acc.lock().map_or(0, |a| a.size())).sum::<usize>()
    }
}
