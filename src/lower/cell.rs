//! A cell code (Σ code × stride over the dimensions and `where` flags of a cell) as
//! one function of the columns they read. As separate expressions, each dimension
//! looked its column's values up on its own (two dimensions of one column hashed it
//! twice), each flag compared text row by row, and the sum took a kernel per term.
//! Here the dimensions and flags that label one column by value share one lookup,
//! remembered per value as their part of the cell code, and the rest is added in
//! one loop.

use super::codes::{ByValue, Inner};
use super::udf::{self, Kind};
use super::{names, DfResult};
use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::Result;
use datafusion::logical_expr::{lit, Expr, LogicalPlan, LogicalPlanBuilder};
use std::sync::Arc;

/// Coders of one column whose codes are remembered per value, summed with strides.
struct Joint {
    name: String,
    arg: usize,
    coders: Vec<(Arc<Inner>, i64)>,
    by_value: ByValue,
}

/// A coder over its own arguments (bins, labels of several columns).
struct Part {
    coder: Arc<Inner>,
    args: Vec<usize>,
    stride: i64,
}

struct Cell {
    /// `seg_cell_` and what it codes, for `seg explain`.
    name: String,
    joint: Vec<Joint>,
    parts: Vec<Part>,
    /// Codes computed by other expressions (Int64; a null makes the cell null).
    plain: Vec<(usize, i64)>,
}

impl Kind for Cell {
    fn name(&self) -> &str {
        &self.name
    }
    fn returns(&self) -> DataType {
        DataType::Int64
    }
    fn invoke(&self, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let rows = args.first().map_or(rows, |a| a.len());
        let mut out = vec![0i64; rows];
        let add = |out: &mut [i64], codes: &[i64], stride: i64| {
            out.iter_mut().zip(codes).for_each(|(o, c)| *o += c * stride);
        };
        for j in &self.joint {
            let a = &args[j.arg];
            let label = |distinct: &ArrayRef| -> Result<Vec<i64>> {
                let mut sum = vec![0i64; distinct.len()];
                for (coder, stride) in &j.coders {
                    let codes = coder.evaluate(std::slice::from_ref(distinct), 0)?;
                    add(&mut sum, &codes, *stride);
                }
                Ok(sum)
            };
            match j.by_value.codes(&j.name, a, None, label)? {
                Some(codes) => add(&mut out, codes.values(), 1),
                // Too many values to remember: each dimension evaluates its labels.
                None => {
                    for (coder, stride) in &j.coders {
                        let codes = coder.evaluate(std::slice::from_ref(a), rows)?;
                        add(&mut out, &codes, *stride);
                    }
                }
            }
        }
        for p in &self.parts {
            let own: Vec<ArrayRef> = p.args.iter().map(|i| args[*i].clone()).collect();
            let codes = p.coder.codes(&own, rows)?;
            add(&mut out, codes.values(), p.stride);
        }
        let mut nulls: Option<NullBuffer> = None;
        for &(i, stride) in &self.plain {
            let codes = arrow::compute::cast(&args[i], &DataType::Int64)?;
            let codes = codes.as_primitive::<Int64Type>();
            add(&mut out, codes.values(), stride);
            nulls = NullBuffer::union(nulls.as_ref(), codes.nulls());
        }
        Ok(Arc::new(Int64Array::new(out.into(), nulls)))
    }
}

/// `Σ term × stride` as one `seg_cell` call. A term that is a dimension's code
/// function (`codes::code_expr`) is computed inside it; any other term is an Int64
/// expression passed in.
pub fn cell(terms: Vec<(Expr, i64)>) -> Expr {
    let mut args: Vec<Expr> = Vec::new();
    let mut arg = |e: &Expr| match args.iter().position(|a| a == e) {
        Some(i) => i,
        None => {
            args.push(e.clone());
            args.len() - 1
        }
    };
    let mut cell =
        Cell { name: "seg_cell".into(), joint: Vec::new(), parts: Vec::new(), plain: Vec::new() };
    for (term, stride) in terms {
        let coder = udf::call_of::<Inner>(&term);
        let what = coder.as_ref().map_or("code", |(c, _)| c.name());
        cell.name = format!("{}_{}", cell.name, what.strip_prefix("seg_code_").unwrap_or(what));
        match coder {
            Some((coder, [only])) if coder.joins_by_value() => {
                let i = arg(only);
                match cell.joint.iter_mut().find(|j| j.arg == i) {
                    Some(j) => {
                        j.name.push('+');
                        j.name.push_str(coder.name());
                        j.coders.push((coder, stride));
                    }
                    None => cell.joint.push(Joint {
                        name: coder.name().to_string(),
                        arg: i,
                        coders: vec![(coder, stride)],
                        by_value: ByValue::default(),
                    }),
                }
            }
            Some((coder, own)) => {
                let args = own.iter().map(&mut arg).collect();
                cell.parts.push(Part { coder, args, stride });
            }
            None => {
                let i = arg(&term);
                cell.plain.push((i, stride));
            }
        }
    }
    let signature = udf::any_args(args.len());
    udf::call(Arc::new(cell), signature, args)
}

/// `Σ term × stride` as plain arithmetic (`None` for no terms): for plans that fold
/// the cell code further, and for a `lab` that `fused` cannot rewrite.
pub fn sum(terms: &[(Expr, i64)]) -> Option<Expr> {
    terms
        .iter()
        .map(|(t, s)| if *s == 1 { t.clone() } else { t.clone() * lit(*s) })
        .reduce(|a, b| a + b)
}

/// `lab`, whose last step is a projection, with the columns that `terms` names
/// (code columns, times their strides) replaced by one column `names::CELL`: their
/// sum, computed by `cell` from the projection's input. A term that is not a column
/// of the projection must read only columns the projection passes through. When
/// `lab` does not end in a projection, the sum is added as plain arithmetic.
pub fn fused(lab: LogicalPlanBuilder, terms: Vec<(Expr, i64)>) -> DfResult<LogicalPlanBuilder> {
    let plan = lab.build()?;
    let LogicalPlan::Projection(proj) = &plan else {
        let sum = sum(&terms).unwrap_or_else(|| lit(0i64));
        let mut cols: Vec<Expr> = plan.schema().columns().into_iter().map(Expr::Column).collect();
        cols.push(sum.alias(names::CELL));
        return LogicalPlanBuilder::from(plan).project(cols);
    };
    let mut exprs = proj.expr.clone();
    let mut defined = Vec::new();
    for (term, stride) in terms {
        let own = match &term {
            Expr::Column(c) if c.relation.is_none() => {
                exprs.iter().position(|e| matches!(e, Expr::Alias(a) if a.name == c.name))
            }
            _ => None,
        };
        match own {
            Some(i) => {
                let Expr::Alias(a) = exprs.remove(i) else { unreachable!("an alias") };
                defined.push((*a.expr, stride));
            }
            None => defined.push((term, stride)),
        }
    }
    exprs.push(cell(defined).alias(names::CELL));
    LogicalPlanBuilder::from(proj.input.clone()).project(exprs)
}
