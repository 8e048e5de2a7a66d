//! The portable lowering: the plans of `segment_plan`, built from standard
//! expressions only (CASE, joins, windows, grouping sets), for engines that do not
//! have seg's functions: other databases through SQL (`seg sql`, `--on`) and stock
//! cluster executors.
//!
//! Two steps. Lowering runs with scans that refuse every shortcut (label codes,
//! dictionaries, in-memory lookups, materialized subplans), so labels are grouped
//! as labels and joins stay joins. Then the seg functions that remain in any plan
//! are replaced by their standard forms:
//! - checked integer arithmetic (`seg_add`...) by the plain operators: the check
//!   is an overflow guard, and a database raises its own overflow error;
//! - exact sums and averages (`seg_sum`, `seg_avg`) by `sum` and `avg`, which agree
//!   to the last few bits (the order of float additions differs), and row counts
//!   (`seg_rows`) by `count(*)`;
//! - calendar period numbers and labels by date parts and string functions;
//!
//! - `seg_unordered`, which hides an ordering from DataFusion's optimizer (it
//!   otherwise groups sorted input wrongly, see `udf::unordered`), by the standard
//!   `CASE WHEN x IS NOT NULL THEN x ELSE x END`: the same value, and DataFusion
//!   derives no ordering through a `CASE` either. Portable plans run in DataFusion
//!   too (stock Ballista executors), so the fence must stay; other databases do
//!   not need it, and `without_fences` takes it out before SQL is written. A label
//!   that is the same on every row is fenced by `CASE WHEN random() >= 0 THEN x
//!   ELSE x END` instead (see `udf::unordered_constant`).
//!
//! What has no standard form (`mode`, ISO week labels) is left in place, and
//! `non_standard` names it, so an emitter can refuse with a diagnostic instead of
//! emitting SQL that a database would not run or would run differently.

use super::{DfResult, Scans};
use crate::calendar::PeriodUnit;
use crate::check::program::Checked;
use crate::diagnostic::Diagnostic;
use arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::average::avg_udaf;
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::expr::{AggregateFunction, Case, ScalarFunction};
use datafusion::logical_expr::{cast, lit, Expr, LogicalPlan, LogicalPlanBuilder};

/// Segmentation `s` as a portable plan (see the module's comment).
pub fn segment_plan(p: &Checked, s: usize, scans: &dyn Scans) -> Result<LogicalPlan, Diagnostic> {
    let plan = super::segment_plan(p, s, &Portable(scans))?;
    let sd = &p.segments[s];
    standard(plan)
        .and_then(modes_as_joins)
        .map_err(|e| super::internal(sd.span, &format!("segmentation `{}`", sd.name), e))
}

/// The scans of a session with every shortcut refused.
struct Portable<'a>(&'a dyn Scans);

impl Scans for Portable<'_> {
    fn scan(&self, market: usize) -> DfResult<LogicalPlan> {
        self.0.scan(market)
    }
    fn table(&self, table: usize) -> DfResult<LogicalPlan> {
        self.0.table(table)
    }
    fn portable(&self) -> bool {
        true
    }
}

/// The seg functions still in `plan` after `standard`: each one's name, once.
pub fn non_standard(plan: &LogicalPlan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|x| {
                let name = match x {
                    Expr::ScalarFunction(ScalarFunction { func, .. }) => Some(func.name()),
                    Expr::AggregateFunction(AggregateFunction { func, .. }) => Some(func.name()),
                    Expr::WindowFunction(w) => Some(w.fun.name()),
                    _ => None,
                };
                if let Some(n) = name.filter(|n| n.starts_with("seg_")) {
                    if !out.iter().any(|o| o == n) {
                        out.push(n.to_string());
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    out
}

/// What a seg function left by `non_standard` stands for in the spec, for the
/// diagnostics that refuse it.
pub fn construct(function: &str) -> String {
    match function {
        "seg_mode" => "`mode(...)`".into(),
        "seg_period_label_week" => "`over ... by week` (ISO week labels)".into(),
        f => format!("the function `{f}`"),
    }
}

/// A node whose expressions changed, with its schema computed again (a rewritten
/// expression may change a column's type or nullability).
fn with_schema(node: Transformed<LogicalPlan>) -> DfResult<Transformed<LogicalPlan>> {
    if node.transformed {
        node.map_data(|n| n.recompute_schema())
    } else {
        Ok(node)
    }
}

/// `x` behind a fence that DataFusion derives no ordering through, in standard
/// terms (see the module's comment).
fn fence(x: Expr) -> Expr {
    Expr::Case(Case::new(
        None,
        vec![(Box::new(x.clone().is_not_null()), Box::new(x.clone()))],
        Some(Box::new(x)),
    ))
}

/// `fence` for a value that is the same on every row (`udf::unordered_constant`):
/// `CASE WHEN random() >= 0 THEN x ELSE x END`, whose condition DataFusion can
/// neither fold nor take for a constant.
fn fence_constant(x: Expr) -> Expr {
    Expr::Case(Case::new(
        None,
        vec![(Box::new(random_condition()), Box::new(x.clone()))],
        Some(Box::new(x)),
    ))
}

fn random_condition() -> Expr {
    datafusion::functions::expr_fn::random().gt_eq(datafusion::logical_expr::lit(0.0f64))
}

/// What `fence` or `fence_constant` wrapped, if `e` is one.
fn fenced(e: &Expr) -> Option<&Expr> {
    let Expr::Case(Case { expr: None, when_then_expr, else_expr: Some(x) }) = e else {
        return None;
    };
    match when_then_expr.as_slice() {
        [(when, then)]
            if **then == **x
                && (**when == x.as_ref().clone().is_not_null() || **when == random_condition()) =>
        {
            Some(x)
        }
        _ => None,
    }
}

/// `plan` without fences (`seg_unordered` or its standard form): identities only
/// DataFusion's optimizer needs.
pub fn without_fences(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        let node = node.map_expressions(|e| {
            e.transform_up(|e| match e {
                Expr::ScalarFunction(ScalarFunction { func, mut args })
                    if func.name() == "seg_unordered" =>
                {
                    Ok(Transformed::yes(args.remove(0)))
                }
                e => match fenced(&e) {
                    Some(x) => Ok(Transformed::yes(x.clone())),
                    None => Ok(Transformed::no(e)),
                },
            })
        })?;
        with_schema(node)
    })
    .map(|t| t.data)
}

/// `plan` with seg's functions replaced by standard expressions where one exists.
/// An output column keeps its name (an alias), so the nodes above still find it.
pub fn standard(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        // SQL writers take VALUES only as a whole statement: as a relation it
        // becomes one `SELECT` of literals per row, united.
        if let LogicalPlan::Values(v) = node {
            return values_as_union(v).map(Transformed::yes);
        }
        let names = matches!(
            node,
            LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_) | LogicalPlan::Window(_)
        );
        let schema = input_schema(&node);
        let node = node.map_expressions(|e| {
            let before = e.schema_name().to_string();
            let aliased = matches!(e, Expr::Alias(_) | Expr::Column(_));
            let out = e.transform_up(|e| {
                let e = integer_division(e, &schema)?;
                if e.transformed {
                    return Ok(e);
                }
                rewrite(e.data)
            })?;
            if names && out.transformed && !aliased {
                Ok(out.update_data(|e| e.alias(before)))
            } else {
                Ok(out)
            }
        })?;
        with_schema(node)
    })
    .map(|t| t.data)
}

/// `plan` with every `mode(x)` of a plain grouping computed by standard parts: the
/// rows of each group and value counted, the first by count (descending) then
/// value (ascending) kept by `row_number()`, and joined back to the group (null
/// labels equal: the unassigned segment has one). The same answer as seg's UDAF:
/// the most frequent non-null value, the smallest among ties, null for none.
pub fn modes_as_joins(plan: LogicalPlan) -> DfResult<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        let LogicalPlan::Aggregate(agg) = &node else { return Ok(Transformed::no(node)) };
        let grouping_sets = agg.group_expr.iter().any(|g| matches!(g, Expr::GroupingSet(_)));
        if grouping_sets || !agg.aggr_expr.iter().any(is_mode) {
            return Ok(Transformed::no(node));
        }
        mode_join(agg).map(Transformed::yes)
    })
    .map(|t| t.data)
}

fn is_mode(e: &Expr) -> bool {
    matches!(unaliased(e), Expr::AggregateFunction(f) if f.func.name() == "seg_mode")
}

fn unaliased(e: &Expr) -> &Expr {
    match e {
        Expr::Alias(a) => unaliased(&a.expr),
        e => e,
    }
}

fn mode_join(agg: &datafusion::logical_expr::Aggregate) -> DfResult<LogicalPlan> {
    use datafusion::functions_aggregate::count::count_all;
    use datafusion::functions_window::expr_fn::row_number;
    use datafusion::logical_expr::{ExprFunctionExt, JoinType};
    let c = |n: String| Expr::Column(datafusion::common::Column::from_name(n));
    let input = agg.input.as_ref().clone();
    let groups = &agg.group_expr;
    let keyed: Vec<Expr> =
        groups.iter().enumerate().map(|(j, e)| e.clone().alias(format!("__mg{j}"))).collect();
    let rest: Vec<Expr> = agg
        .aggr_expr
        .iter()
        .enumerate()
        .filter(|(_, a)| !is_mode(a))
        .map(|(i, a)| unaliased(a).clone().alias(format!("__mr{i}")))
        .collect();
    // The projection makes the grouping a subquery of its own in SQL: the unparser
    // folds an aggregate straight under a join into the SELECT above, and loses it.
    let mut b = LogicalPlanBuilder::from(input.clone()).aggregate(keyed, rest)?;
    let names: Vec<Expr> = b.schema().columns().into_iter().map(Expr::Column).collect();
    b = b.project(names)?;
    for (i, a) in agg.aggr_expr.iter().enumerate().filter(|(_, a)| is_mode(a)) {
        let Expr::AggregateFunction(f) = unaliased(a) else { continue };
        let x = f.params.args[0].clone();
        let mut side = LogicalPlanBuilder::from(input.clone()).filter(x.clone().is_not_null())?;
        if let Some(only) = &f.params.filter {
            side = side.filter((**only).clone())?;
        }
        let key = |j: usize| format!("__mk{i}_{j}");
        let mut by: Vec<Expr> =
            groups.iter().enumerate().map(|(j, e)| e.clone().alias(key(j))).collect();
        by.push(x.alias(format!("__mv{i}")));
        let first = row_number()
            .partition_by((0..groups.len()).map(|j| c(key(j))).collect())
            .order_by(vec![
                c(format!("__mn{i}")).sort(false, true),
                c(format!("__mv{i}")).sort(true, true),
            ])
            .build()?
            .alias(format!("__mf{i}"));
        let mut kept: Vec<Expr> = (0..groups.len()).map(|j| c(key(j))).collect();
        kept.push(c(format!("__mv{i}")));
        let side = side
            .aggregate(by, vec![count_all().alias(format!("__mn{i}"))])?
            .window(vec![first])?
            .filter(c(format!("__mf{i}")).eq(lit(1u64)))?
            .project(kept)?
            .build()?;
        // Null labels are equal: `=` alone would lose the unassigned segment's mode.
        let on: Vec<Expr> = (0..groups.len())
            .map(|j| {
                let (g, k) = (c(format!("__mg{j}")), c(key(j)));
                g.clone().eq(k.clone()).or(g.is_null().and(k.is_null()))
            })
            .chain(std::iter::once(lit(true)))
            .collect();
        b = b.join_on(side, JoinType::Left, on)?;
    }
    let out: Vec<Expr> = agg
        .schema
        .iter()
        .enumerate()
        .map(|(j, (q, field))| {
            let e = if j < groups.len() {
                c(format!("__mg{j}"))
            } else if is_mode(&agg.aggr_expr[j - groups.len()]) {
                c(format!("__mv{}", j - groups.len()))
            } else {
                c(format!("__mr{}", j - groups.len()))
            };
            e.alias_qualified(q.cloned(), field.name())
        })
        .collect();
    b.project(out)?.build()
}

/// `a / b` of two integers as DataFusion computes it (the quotient truncated
/// toward zero), written so that every database agrees: they disagree on what `/`
/// of two integers is (DuckDB and MySQL give a fraction).
fn integer_division(e: Expr, schema: &DFSchema) -> DfResult<Transformed<Expr>> {
    use datafusion::logical_expr::{BinaryExpr, ExprSchemable, Operator};
    let Expr::BinaryExpr(BinaryExpr { left, op: Operator::Divide, right }) = &e else {
        return Ok(Transformed::no(e));
    };
    let int = |x: &Expr| x.get_type(schema).is_ok_and(|t| t.is_integer());
    if !(int(left) && int(right)) {
        return Ok(Transformed::no(e));
    }
    // `a % b` keeps `a`'s sign everywhere, so `a - a % b` is the multiple of `b`
    // toward zero and the division is exact, as an integer or a float.
    let (a, b) = ((**left).clone(), (**right).clone());
    let exact = (a.clone() - a % b.clone()) / b;
    Ok(Transformed::yes(cast(exact, DataType::Int64)))
}

fn values_as_union(v: datafusion::logical_expr::Values) -> DfResult<LogicalPlan> {
    let fields = v.schema.fields();
    let mut rows = v.values.into_iter().map(|row| {
        let cols: Vec<Expr> = row
            .into_iter()
            .zip(fields.iter())
            .map(|(e, f)| {
                // Aliases inside a VALUES row name nothing; the node's schema does.
                let e = match e {
                    Expr::Alias(a) => *a.expr,
                    e => e,
                };
                cast(e, f.data_type().clone()).alias(f.name())
            })
            .collect();
        LogicalPlanBuilder::empty(true).project(cols)
    });
    let mut b = match rows.next() {
        Some(first) => first?,
        None => return LogicalPlanBuilder::empty(false).build(),
    };
    for r in rows {
        b = b.union(r?.build()?)?;
    }
    b.build()
}

fn rewrite(e: Expr) -> DfResult<Transformed<Expr>> {
    match e {
        Expr::ScalarFunction(ScalarFunction { ref func, ref args }) => {
            let name = func.name().to_string();
            let a = |i: usize| args[i].clone();
            let out = match name.as_str() {
                "seg_add" => a(0) + a(1),
                "seg_sub" => a(0) - a(1),
                "seg_mul" => a(0) * a(1),
                "seg_neg" => Expr::Negative(Box::new(a(0))),
                "seg_unordered" if args.len() == 2 => fence_constant(a(0)),
                "seg_unordered" => fence(a(0)),
                n => match n.strip_prefix("seg_period_label_").and_then(unit) {
                    Some(u) => match period_label(u, a(0)) {
                        Some(x) => x,
                        None => return Ok(Transformed::no(e)),
                    },
                    None => match n.strip_prefix("seg_period_").and_then(unit) {
                        Some(u) => period_number(u, a(0)),
                        None => return Ok(Transformed::no(e)),
                    },
                },
            };
            Ok(Transformed::yes(out))
        }
        Expr::WindowFunction(mut w) => {
            use datafusion::logical_expr::WindowFunctionDefinition as W;
            let standard = match &w.fun {
                W::AggregateUDF(f) if f.name() == "seg_sum" => sum_udaf(),
                W::AggregateUDF(f) if f.name() == "seg_avg" => avg_udaf(),
                _ => return Ok(Transformed::no(Expr::WindowFunction(w))),
            };
            w.fun = W::AggregateUDF(standard);
            Ok(Transformed::yes(Expr::WindowFunction(w)))
        }
        Expr::AggregateFunction(agg) if agg.func.name() == super::rows::NAME => {
            // `count(*)`: the column was only where to count rows.
            let mut all = datafusion::functions_aggregate::count::count_all();
            if let Expr::AggregateFunction(a) = &mut all {
                a.params.filter = agg.params.filter;
            }
            Ok(Transformed::yes(all))
        }
        Expr::AggregateFunction(mut agg) => {
            let standard = match agg.func.name() {
                "seg_sum" => sum_udaf(),
                "seg_avg" => avg_udaf(),
                _ => return Ok(Transformed::no(Expr::AggregateFunction(agg))),
            };
            agg.func = standard;
            Ok(Transformed::yes(Expr::AggregateFunction(agg)))
        }
        e => Ok(Transformed::no(e)),
    }
}

fn unit(name: &str) -> Option<PeriodUnit> {
    [PeriodUnit::Year, PeriodUnit::Quarter, PeriodUnit::Month, PeriodUnit::Week]
        .into_iter()
        .find(|u| u.name() == name)
}

fn part(which: &str, date: Expr) -> Expr {
    cast(f::date_part(lit(which), date), DataType::Int64)
}

/// `a / n` rounded down, for integers, exact in every database (see
/// `integer_division`).
fn div_floor(a: Expr, n: i64) -> Expr {
    // The remainder made non-negative; integer operations only (SQLite may lack
    // `floor`).
    let rem = (a.clone() % lit(n) + lit(n)) % lit(n);
    cast((a - rem) / lit(n), DataType::Int64)
}

/// `PeriodUnit::ordinal` of a date, from its date parts.
fn period_number(u: PeriodUnit, date: Expr) -> Expr {
    match u {
        PeriodUnit::Year => part("year", date),
        PeriodUnit::Quarter => {
            part("year", date.clone()) * lit(4i64) + div_floor(part("month", date) - lit(1i64), 3)
        }
        PeriodUnit::Month => {
            part("year", date.clone()) * lit(12i64) + part("month", date) - lit(1i64)
        }
        // Weeks since Monday 1969-12-29, rounded down (before it too).
        PeriodUnit::Week => div_floor(cast(date, DataType::Int64) + lit(3i64), 7),
    }
}

/// `PeriodUnit::label` of a period number; `None` for weeks (ISO years).
fn period_label(u: PeriodUnit, ord: Expr) -> Option<Expr> {
    let text = |e: Expr| cast(e, DataType::Utf8);
    let padded = |e: Expr, n: i64| f::lpad(vec![text(e), lit(n), lit("0")]);
    // `concat` skips nulls: a row without a period would be labelled `-Q`.
    let missing = ord.clone().is_null();
    let unless_null = |label: Expr| {
        datafusion::logical_expr::when(missing, lit(ScalarValue::Utf8(None))).otherwise(label).ok()
    };
    unless_null(match u {
        PeriodUnit::Year => padded(ord, 4),
        PeriodUnit::Quarter => f::concat(vec![
            padded(div_floor(ord.clone(), 4), 4),
            lit("-Q"),
            text(ord % lit(4i64) + lit(1i64)),
        ]),
        PeriodUnit::Month => f::concat(vec![
            padded(div_floor(ord.clone(), 12), 4),
            lit("-"),
            padded(ord % lit(12i64) + lit(1i64), 2),
        ]),
        PeriodUnit::Week => return None,
    })
}

/// The columns a node's expressions read: its inputs' schemas, merged.
fn input_schema(node: &LogicalPlan) -> DFSchema {
    let mut schema = DFSchema::empty();
    for input in node.inputs() {
        schema.merge(input.schema());
    }
    schema
}

/// Whether any expression of any node (subqueries included) is a `hit`, given the
/// columns its node reads.
fn any_expr(plan: &LogicalPlan, mut hit: impl FnMut(&Expr, &DFSchema) -> bool) -> bool {
    let mut found = false;
    let stop =
        |found: bool| if found { TreeNodeRecursion::Stop } else { TreeNodeRecursion::Continue };
    let _ = plan.apply_with_subqueries(|node| {
        let schema = input_schema(node);
        let _ = node.apply_expressions(|e| {
            e.apply(|x| {
                found |= hit(x, &schema);
                Ok(stop(found))
            })
        });
        Ok(stop(found))
    });
    found
}

/// Whether a plan groups by GROUPING SETS, which SQLite and MySQL lack.
pub fn has_grouping_sets(plan: &LogicalPlan) -> bool {
    any_expr(plan, |x, _| matches!(x, Expr::GroupingSet(_)))
}

/// Whether a plan casts a date or a timestamp to a number (seg's durations and
/// day differences): databases store and cast them in ways of their own.
pub fn temporal_as_number(plan: &LogicalPlan) -> bool {
    any_cast(plan, |from, to| to.is_integer() && from.is_temporal())
}

/// Whether a plan casts any value of type `from` to type `to` where `hit` says.
fn any_cast(plan: &LogicalPlan, hit: impl Fn(&DataType, &DataType) -> bool) -> bool {
    use datafusion::common::ExprSchema;
    use datafusion::logical_expr::ExprSchemable;
    any_expr(plan, |x, schema| {
        let Expr::Cast(c) = x else { return false };
        let from = c.expr.get_type(schema as &dyn ExprSchema);
        from.is_ok_and(|t| hit(&t, c.field.data_type()))
    })
}

/// The scalar functions a plan calls, once each, with the first argument when it
/// is a text literal (`date_part`'s field), for the dialects' tables of what they
/// lack.
pub fn scalar_calls(plan: &LogicalPlan) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    any_expr(plan, |x, _| {
        if let Expr::ScalarFunction(ScalarFunction { func, args }) = x {
            let first = match args.first() {
                Some(Expr::Literal(ScalarValue::Utf8(Some(t)), _)) => Some(t.clone()),
                _ => None,
            };
            let call = (func.name().to_string(), first);
            if !out.contains(&call) {
                out.push(call);
            }
        }
        false
    });
    out
}

/// Whether a plan matches text with `LIKE` (SQLite's ignores ASCII case).
pub fn uses_like(plan: &LogicalPlan) -> bool {
    any_expr(plan, |x, _| matches!(x, Expr::Like(_)))
}

/// Whether a plan casts a timestamp to a date (seg's `date(...)`).
pub fn timestamp_to_date(plan: &LogicalPlan) -> bool {
    any_cast(plan, |from, to| *to == DataType::Date32 && matches!(from, DataType::Timestamp(..)))
}

/// Whether a plan uses aggregate function `name` (`median`, which only some
/// databases have).
pub fn uses_aggregate(plan: &LogicalPlan, name: &str) -> bool {
    any_expr(plan, |x, _| matches!(x, Expr::AggregateFunction(f) if f.func.name() == name))
}
