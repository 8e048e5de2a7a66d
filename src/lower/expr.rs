//! Typed row expressions and aggregates → DataFusion `Expr`s.

use super::types::{arrow_type, scalar};
use crate::check::program::*;
use arrow::datatypes::DataType;
use datafusion::common::{Column as DfColumn, ScalarValue};
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::expr::Like;
use datafusion::logical_expr::{cast, in_list, lit, not, when, Between, Expr};

pub fn col(name: &str) -> Expr {
    // Never `datafusion::prelude::col`: it would read `a.b` as table `a`, column `b`.
    Expr::Column(DfColumn::new_unqualified(name))
}

pub fn float(e: Expr) -> Expr {
    cast(e, DataType::Float64)
}

/// `a / b` as seg defines it: float division, null when `b` is zero.
pub fn div(a: Expr, b: Expr) -> Expr {
    let b = float(b);
    when(b.clone().eq(lit(0.0f64)), lit(ScalarValue::Float64(None)))
        .otherwise(float(a) / b)
        .unwrap_or_else(|_| lit(ScalarValue::Float64(None)))
}

/// Lowers a row expression. Columns are read by name from the plan in scope.
pub fn row(e: &TExpr) -> Expr {
    match &e.kind {
        TKind::Col(c) => col(c),
        TKind::Lit(v) => lit(scalar(v, e.ty)),
        TKind::Neg(x) if e.ty == Type::Int => super::checked::neg(row(x)),
        TKind::Neg(x) => Expr::Negative(Box::new(row(x))),
        TKind::Not(x) => not(row(x)),
        TKind::Bin(op, a, b) => {
            let (la, lb) = (row(a), row(b));
            // Mixed int/float operands meet as float on both engines.
            let widen =
                |x: Expr, t: Type| if e.ty == Type::Float && t == Type::Int { float(x) } else { x };
            match op {
                BinOp::And => la.and(lb),
                BinOp::Or => la.or(lb),
                BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq => {
                    let (la, lb) = widen_pair(la, a.ty, lb, b.ty);
                    match op {
                        BinOp::Eq => la.eq(lb),
                        BinOp::NotEq => la.not_eq(lb),
                        BinOp::Lt => la.lt(lb),
                        BinOp::LtEq => la.lt_eq(lb),
                        BinOp::Gt => la.gt(lb),
                        _ => la.gt_eq(lb),
                    }
                }
                BinOp::Div => div(la, lb),
                // A date plus or minus whole days: day numbers, checked, back to a date.
                _ if e.ty == Type::Date => {
                    let (date, n) = if a.ty == Type::Date { (a, b) } else { (b, a) };
                    if n.ty != Type::Int {
                        return lit(ScalarValue::Date32(None));
                    }
                    let days = int_arith(*op, checked_days(date), row(n));
                    cast(cast(days, DataType::Int32), DataType::Date32)
                }
                BinOp::Add | BinOp::Sub | BinOp::Mul
                    if e.ty == Type::Int && a.ty == Type::Int && b.ty == Type::Int =>
                {
                    int_arith(*op, la, lb)
                }
                BinOp::Add => widen(la, a.ty) + widen(lb, b.ty),
                BinOp::Sub => widen(la, a.ty) - widen(lb, b.ty),
                BinOp::Mul => widen(la, a.ty) * widen(lb, b.ty),
            }
        }
        TKind::Between { expr, low, high, negated } => {
            let (x, lo) = widen_pair(row(expr), expr.ty, row(low), low.ty);
            let (x, hi) = widen_pair(x, expr.ty, row(high), high.ty);
            let lo = if expr.ty == Type::Float && low.ty == Type::Int { float(lo) } else { lo };
            Expr::Between(Between::new(Box::new(x), *negated, Box::new(lo), Box::new(hi)))
        }
        TKind::InList { expr, list, negated } => {
            let any_float = expr.ty == Type::Float || list.iter().any(|i| i.ty == Type::Float);
            let w = |x: Expr, t: Type| if any_float && t == Type::Int { float(x) } else { x };
            in_list(w(row(expr), expr.ty), list.iter().map(|i| w(row(i), i.ty)).collect(), *negated)
        }
        TKind::IsNull { expr, negated } => {
            if *negated {
                row(expr).is_not_null()
            } else {
                row(expr).is_null()
            }
        }
        TKind::Like { expr, pattern, negated } => Expr::Like(Like::new(
            *negated,
            Box::new(row(expr)),
            Box::new(row(pattern)),
            None,
            false,
        )),
        TKind::Func(func, args) => {
            let a: Vec<Expr> = args.iter().map(row).collect();
            let part = |p: &str| f::date_part(lit(p), a[0].clone());
            let out = match func {
                Func::Lower => f::lower(a[0].clone()),
                Func::Upper => f::upper(a[0].clone()),
                Func::Trim => f::btrim(vec![a[0].clone()]),
                Func::Length => f::character_length(a[0].clone()),
                Func::Year => f::date_part(lit("year"), a[0].clone()),
                Func::Month => f::date_part(lit("month"), a[0].clone()),
                Func::Abs => f::abs(a[0].clone()),
                Func::Round => {
                    f::round(vec![float(a[0].clone()), a.get(1).cloned().unwrap_or(lit(0i64))])
                }
                Func::Coalesce => {
                    let w: Vec<Expr> =
                        args.iter()
                            .zip(a)
                            .map(|(t, x)| {
                                if e.ty == Type::Float && t.ty == Type::Int {
                                    float(x)
                                } else {
                                    x
                                }
                            })
                            .collect();
                    f::coalesce(w)
                }
                Func::DaysBetween => checked_days(&args[1]) - checked_days(&args[0]),
                Func::HoursBetween => {
                    float(micros(&args[1]) - micros(&args[0])) / lit(3_600_000_000f64)
                }
                Func::Quarter => part("quarter"),
                Func::Week => part("week"),
                Func::Weekday => part("isodow"),
                Func::Day => part("day"),
                Func::Date => cast(a[0].clone(), DataType::Date32),
                // The driver binds `today()` to the as-of date before planning; an
                // unbound one is unknown rather than a guess.
                Func::Today => lit(ScalarValue::Date32(None)),
                Func::StartsWith => f::starts_with(a[0].clone(), a[1].clone()),
                Func::Contains => f::contains(a[0].clone(), a[1].clone()),
                Func::Substr => {
                    // A negative length is an error in DataFusion (and PostgreSQL); seg
                    // reads it as no characters.
                    let len = when(a[2].clone().lt(lit(0i64)), lit(0i64))
                        .otherwise(a[2].clone())
                        .unwrap_or_else(|_| a[2].clone());
                    datafusion::functions::unicode::substr().call(vec![
                        a[0].clone(),
                        a[1].clone(),
                        len,
                    ])
                }
            };
            // Function return types vary (Int32 lengths, Float64 rounds): pin them.
            cast(out, arrow_type(e.ty))
        }
        TKind::Query(_) => lit(ScalarValue::Null),
    }
}

/// Days since 1970-01-01 of a date or a timestamp (its date), as Int64.
fn checked_days(e: &TExpr) -> Expr {
    let date = if e.ty == Type::Timestamp { cast(row(e), DataType::Date32) } else { row(e) };
    cast(cast(date, DataType::Int32), DataType::Int64)
}

/// Microseconds since 1970-01-01 of a timestamp (a date is its midnight), as Int64.
fn micros(e: &TExpr) -> Expr {
    if e.ty == Type::Date {
        checked_days(e) * lit(86_400_000_000i64)
    } else {
        cast(row(e), DataType::Int64)
    }
}

/// `+`, `-`, `*` on integers, failing on overflow.
fn int_arith(op: BinOp, a: Expr, b: Expr) -> Expr {
    match op {
        BinOp::Add => super::checked::add(a, b),
        BinOp::Sub => super::checked::sub(a, b),
        _ => super::checked::mul(a, b),
    }
}

fn widen_pair(a: Expr, ta: Type, b: Expr, tb: Type) -> (Expr, Expr) {
    match (ta, tb) {
        (Type::Int, Type::Float) => (float(a), b),
        (Type::Float, Type::Int) => (a, float(b)),
        _ => (a, b),
    }
}

/// The aggregate call for one base aggregate of a measure.
pub fn aggregate(a: &Agg) -> Expr {
    match (a.func, aggregate_input(a)) {
        (AggFunc::Count, None) => datafusion::functions_aggregate::count::count_all(),
        (AggFunc::Count, Some(x)) if a.distinct => agg::count_distinct(x),
        (AggFunc::Count, Some(x)) => agg::count(x),
        (AggFunc::Sum, Some(x)) if a.ty == Type::Float => super::exact::float_sum(float(x)),
        (AggFunc::Sum, Some(x)) => super::exact::int_sum(x),
        (AggFunc::Avg, Some(x)) => super::exact::float_avg(float(x)),
        (AggFunc::Min, Some(x)) => agg::min(x),
        (AggFunc::Max, Some(x)) => agg::max(x),
        (AggFunc::Median, Some(x)) => agg::median(float(x)),
        (AggFunc::Mode, Some(x)) => super::mode::mode(x),
        (_, None) => datafusion::functions_aggregate::count::count_all(),
    }
}

/// Aggregate `a` over a cell, in a form `combine` adds up across cells: as
/// `aggregate`, except float sums, kept as exact word lists.
pub fn partial(a: &Agg) -> Expr {
    match (a.func, aggregate_input(a)) {
        (AggFunc::Sum, Some(x)) if a.ty == Type::Float && !a.distinct => {
            super::exact::float_sum_words(float(x))
        }
        _ => aggregate(a),
    }
}

/// Aggregate `a` over cells from their `partial` values in column `c`: counts and
/// sums add up (float sums rounded once, as if every row were summed at once),
/// minima and maxima combine. Only for aggregates that `combines`.
pub fn combine(a: &Agg, c: Expr) -> Expr {
    match a.func {
        AggFunc::Min => agg::min(c),
        AggFunc::Max => agg::max(c),
        AggFunc::Sum if a.ty == Type::Float => super::exact::sum_of_words(c),
        _ => super::exact::int_sum(c),
    }
}

/// `combine`, keeping the form of `partial` (cells of cells, combined again later).
pub fn combine_partial(a: &Agg, c: Expr) -> Expr {
    match a.func {
        AggFunc::Sum if a.ty == Type::Float => super::exact::merge_words(c),
        _ => combine(a, c),
    }
}

/// Whether cells' values of `a` combine into a coarser cell's (`combine`).
pub fn combines(a: &Agg) -> bool {
    matches!(a.func, AggFunc::Min | AggFunc::Max)
        || (matches!(a.func, AggFunc::Count | AggFunc::Sum) && !a.distinct)
}

/// What aggregate `a` reads per row: its argument, gated by its `where`.
pub fn aggregate_input(a: &Agg) -> Option<Expr> {
    // `agg(x where c)` is `agg(CASE WHEN c THEN x END)`: every aggregate skips nulls,
    // so a row the filter does not keep (false or null) counts for nothing. One
    // shape for every aggregate, the exact sums and the UDAFs included.
    let gate = |x: Expr| match &a.filter {
        Some(c) => when(row(c), x.clone()).end().unwrap_or(x),
        None => x,
    };
    match (&a.arg, &a.filter) {
        (Some(x), _) => Some(gate(row(x))),
        (None, Some(_)) => Some(gate(lit(1i64))),
        (None, None) => None,
    }
}

/// Collects the base aggregates of measures (following references) so each is
/// computed once, and builds each measure's expression over their output columns.
#[derive(Debug, Default)]
pub struct AggSet {
    pub aggs: Vec<Agg>,
    /// Output column of each base aggregate.
    pub names: Vec<String>,
    prefix: String,
}

impl AggSet {
    pub fn new(prefix: &str) -> Self {
        AggSet { aggs: Vec::new(), names: Vec::new(), prefix: prefix.to_string() }
    }

    fn slot(&mut self, a: &Agg) -> String {
        if let Some(i) = self.aggs.iter().position(|x| x == a) {
            return self.names[i].clone();
        }
        let name = format!("{}{}", self.prefix, self.aggs.len());
        self.aggs.push(a.clone());
        self.names.push(name.clone());
        name
    }

    /// The aggregate expressions, aliased to their slot names.
    pub fn exprs(&self) -> Vec<Expr> {
        self.aggs.iter().zip(&self.names).map(|(a, n)| aggregate(a).alias(n)).collect()
    }

    /// The aggregates of cells to be combined later (`combine`), aliased to their
    /// slot names: float sums stay exact word lists until then.
    pub fn partial_exprs(&self) -> Vec<Expr> {
        self.aggs.iter().zip(&self.names).map(|(a, n)| partial(a).alias(n)).collect()
    }

    /// A measure's value over the aggregated columns. Counts and sums of no values
    /// are 0 (also in grid cells no row reached); other aggregates stay null.
    pub fn measure(&mut self, m: &MExpr, siblings: &[MeasureDef]) -> Expr {
        match m {
            MExpr::Agg(a) => {
                let c = col(&self.slot(a));
                match a.func {
                    AggFunc::Count => f::coalesce(vec![c, lit(0i64)]),
                    AggFunc::Sum if a.ty == Type::Int => f::coalesce(vec![c, lit(0i64)]),
                    AggFunc::Sum => f::coalesce(vec![c, lit(0.0f64)]),
                    _ => c,
                }
            }
            MExpr::Ref(i, _) => self.measure(&siblings[*i].expr, siblings),
            MExpr::Lit(v) => {
                lit(scalar(v, if matches!(v, Value::Int(_)) { Type::Int } else { Type::Float }))
            }
            MExpr::Neg(x, Type::Int) => super::checked::neg(self.measure(x, siblings)),
            MExpr::Neg(x, _) => Expr::Negative(Box::new(self.measure(x, siblings))),
            MExpr::Bin(op, a, b, _) => {
                let (ta, tb) = (a.ty(), b.ty());
                let (x, y) = (self.measure(a, siblings), self.measure(b, siblings));
                let float_result = ta == Type::Float || tb == Type::Float;
                let w =
                    |e: Expr, t: Type| if float_result && t == Type::Int { float(e) } else { e };
                match op {
                    BinOp::Div => div(x, y),
                    _ if !float_result => int_arith(*op, x, y),
                    BinOp::Add => w(x, ta) + w(y, tb),
                    BinOp::Sub => w(x, ta) - w(y, tb),
                    _ => w(x, ta) * w(y, tb),
                }
            }
        }
    }
}
