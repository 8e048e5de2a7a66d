//! Labelling: each dimension's label (or label code) as a column over the rows of
//! its market, with what it needs first (a ranking join for `top`, windows for
//! `quantiles`, an entity's rows aggregated per key and joined back).

use super::expr::{col, float};
use super::expr::{row, AggSet};
use super::types::{self, arrow_type};
use super::{codes, market_rows, names, DfResult, Scans};
use crate::check::program::*;
use arrow::datatypes::DataType;
use datafusion::common::{JoinType, NullEquality, ScalarValue};
use datafusion::functions::expr_fn as f;
use datafusion::functions_window::expr_fn::{rank, row_number};
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::{
    cast, lit, when, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder,
};
use datafusion::logical_expr::{WindowFrame, WindowFrameBound, WindowFrameUnits};

/// How a dimension's label is computed over rows of its owner, after the
/// preparation (joins, windows) `prepare_dim` added.
fn label_expr(d: &DimDef, i: usize) -> DfResult<Expr> {
    let text = |e: Expr| cast(e, DataType::Utf8);
    let null_text = || lit(ScalarValue::Utf8(None));
    Ok(match &d.kind {
        // Labels keep the source's type (Parquet's string views, integers, dates)
        // through the grouping; `segment_plan` and `assign_plan` cast them to text
        // on the way out, once per segment instead of once per row.
        DimKind::Column(e) => row(e),
        DimKind::Top { other, .. } => {
            when(col(&names::top_rank(i)).is_not_null(), text(col(&names::top_value(i))))
                .otherwise(lit(other.as_str()))?
        }
        DimKind::Map { expr: e, arms, else_label } => {
            let x = row(e);
            let mut arms_it = arms.iter().filter(|a| !a.values.is_empty());
            let Some(first) = arms_it.next() else {
                return Ok(match else_label {
                    Some(l) => when(x.is_not_null(), lit(l.as_str())).otherwise(lit(l.as_str()))?,
                    None => null_text(),
                });
            };
            let test = |a: &MapArm| {
                let vals: Vec<Expr> =
                    a.values.iter().map(|(v, _)| lit(types::scalar(v, e.ty))).collect();
                if vals.len() == 1 {
                    x.clone().eq(vals[0].clone())
                } else {
                    x.clone().in_list(vals, false)
                }
            };
            let mut case = when(test(first), lit(first.label.as_str()));
            for a in arms_it {
                case = case.when(test(a), lit(a.label.as_str()));
            }
            match else_label {
                Some(l) => case.otherwise(lit(l.as_str()))?,
                None => case.otherwise(null_text())?,
            }
        }
        DimKind::Rules { arms, else_label, .. } => {
            let Some(first) = arms.first() else {
                return Ok(else_label.as_ref().map(|l| lit(l.as_str())).unwrap_or_else(null_text));
            };
            let mut case = when(row(&first.cond), lit(first.label.as_str()));
            for a in &arms[1..] {
                case = case.when(row(&a.cond), lit(a.label.as_str()));
            }
            match else_label {
                Some(l) => case.otherwise(lit(l.as_str()))?,
                None => case.otherwise(null_text())?,
            }
        }
        DimKind::Bins { expr: e, cuts, closed_right, labels } => {
            let x = row(e);
            let below = |c: &Value| {
                let c = lit(types::scalar(c, e.ty));
                if *closed_right {
                    x.clone().lt_eq(c)
                } else {
                    x.clone().lt(c)
                }
            };
            let mut case = when(x.clone().is_null(), null_text());
            for (c, l) in cuts.iter().zip(labels) {
                case = case.when(below(c), lit(l.as_str()));
            }
            case.otherwise(lit(labels[cuts.len()].as_str()))?
        }
        DimKind::Pareto { expr: e, cuts, labels } => {
            // Group 1 + the number of cuts at or below the share held by the entities
            // ranked before this one (0 when the total is 0).
            let (before_name, total_name) = names::pareto(e);
            let before = float(f::coalesce(vec![col(&before_name), lit(0i64)]));
            let total = float(col(&total_name));
            let share = when(total.clone().eq(lit(0f64)), lit(0f64)).otherwise(before / total)?;
            let q = group_of(share, cuts)?;
            when(row(e).is_null(), null_text()).otherwise(group_label(q, labels)?)?
        }
        DimKind::Quantiles { expr: e, n, cuts, labels } => {
            // A row's group from its rank (equal values share the lowest rank): equal
            // groups, Q = floor((rank - 1) * n / count) + 1; cut groups, Q = 1 + the
            // number of cuts at or below (rank - 1) / count, computed in floats as
            // the reference does.
            let (rn, cn) = names::quantile(e);
            let r = cast(col(&rn), DataType::Int64);
            let c = col(&cn);
            let q = match cuts {
                None => ((r - lit(1i64)) * lit(*n as i64)) / c + lit(1i64),
                Some(cuts) => group_of(float(r - lit(1i64)) / float(c), cuts)?,
            };
            let default = cuts.is_none()
                && labels.iter().enumerate().all(|(i, l)| *l == format!("Q{}", i + 1));
            let label = if default {
                f::concat(vec![lit("Q"), cast(q, DataType::Utf8)])
            } else {
                group_label(q, labels)?
            };
            when(row(e).is_null(), null_text()).otherwise(label)?
        }
    })
}

/// A group number from a fraction: 1 + the number of cuts at or below it.
fn group_of(fraction: Expr, cuts: &[f64]) -> DfResult<Expr> {
    let mut q = lit(1i64);
    for cut in cuts {
        q = q + when(fraction.clone().gt_eq(lit(*cut)), lit(1i64)).otherwise(lit(0i64))?;
    }
    Ok(q)
}

/// Group `q` (1-based) as its label.
fn group_label(q: Expr, labels: &[String]) -> DfResult<Expr> {
    let mut case = when(q.clone().eq(lit(1i64)), lit(labels[0].as_str()));
    for (i, l) in labels.iter().enumerate().skip(1) {
        case = case.when(q.clone().eq(lit(i as i64 + 1)), lit(l.as_str()));
    }
    case.otherwise(lit(ScalarValue::Utf8(None)))
}

/// Adds what a dimension needs before its label can be computed: a ranking join for
/// `top`, rank and count windows for `quantiles`. `rows` builds a fresh copy of the
/// owner's rows for the ranking side.
fn prepare_dim(
    p: &Checked,
    b: LogicalPlanBuilder,
    d: &DimDef,
    i: usize,
    owner_rows: &dyn Fn() -> DfResult<LogicalPlanBuilder>,
) -> DfResult<LogicalPlanBuilder> {
    // Under `over`, rankings and cut points are each period's own.
    let per_period = b.schema().has_column_with_unqualified_name(names::PERIOD);
    let part = || if per_period { vec![col(names::PERIOD)] } else { vec![] };
    match &d.kind {
        DimKind::Pareto { expr: e, .. } => {
            // Entities ranked by the value, largest first, ties by key; the running
            // total of those ranked before, and the total of all (nulls rank last and
            // add nothing). Float totals are exact, as the sums they add up.
            let Owner::Entity(ent) = d.owner else { return Ok(b) };
            let (before_name, total_name) = names::pareto(e);
            if b.schema().has_column_with_unqualified_name(&before_name) {
                return Ok(b);
            }
            let key = col(&p.entities[ent].key.name);
            let x = row(e);
            let sum = if e.ty == Type::Float {
                super::exact::float_sum_udaf()
            } else {
                datafusion::functions_aggregate::sum::sum_udaf()
            };
            let order = vec![x.clone().sort(false, false), key.sort(true, false)];
            let before = Expr::from(WindowFunction::new(sum.clone(), vec![x.clone()]))
                .partition_by(part())
                .order_by(order)
                .window_frame(WindowFrame::new_bounds(
                    WindowFrameUnits::Rows,
                    WindowFrameBound::Preceding(ScalarValue::UInt64(None)),
                    WindowFrameBound::Preceding(ScalarValue::UInt64(Some(1))),
                ))
                .build()?
                .alias(before_name);
            let total = Expr::from(WindowFunction::new(sum, vec![x]))
                .partition_by(part())
                .build()?
                .alias(total_name);
            b.window(vec![before])?.window(vec![total])
        }
        DimKind::Top { n, expr: e, .. } => {
            let v = names::top_value(i);
            let r = names::top_rank(i);
            let key = names::top_key(i);
            let mut group = vec![cast(row(e), arrow_type(e.ty)).alias(&v)];
            if per_period {
                group.push(col(names::PERIOD).alias(names::top_period(i)));
            }
            let mut ranked = vec![col(&v), cast(col(&r), DataType::Int64).alias(&r)];
            let (mut left, mut right) = (vec![v.clone()], vec![key.clone()]);
            if per_period {
                ranked.push(col(&names::top_period(i)));
                left.push(names::top_period(i));
                right.push(names::PERIOD.to_string());
            }
            let ranking = owner_rows()?
                .filter(row(e).is_not_null())?
                .aggregate(
                    group,
                    vec![
                        datafusion::functions_aggregate::count::count_all().alias(names::TOP_COUNT)
                    ],
                )?
                .window(vec![row_number()
                    .partition_by(if per_period {
                        vec![col(&names::top_period(i))]
                    } else {
                        vec![]
                    })
                    .order_by(vec![
                        col(names::TOP_COUNT).sort(false, true),
                        col(&v).sort(true, true),
                    ])
                    .build()?
                    .alias(&r)])?
                .filter(col(&r).lt_eq(lit(*n as i64)))?
                .project(ranked)?
                .build()?;
            let mut cols: Vec<Expr> = b.schema().columns().into_iter().map(Expr::Column).collect();
            cols.push(cast(row(e), arrow_type(e.ty)).alias(&key));
            // The ranking (N rows a period) is the join's build side, the market rows
            // probe it. Values are never null there; a null period meets its own.
            let rows = b.project(cols)?.build()?;
            LogicalPlanBuilder::from(ranking).join_detailed(
                rows,
                JoinType::Right,
                (left, right),
                None,
                NullEquality::NullEqualsNull,
            )
        }
        DimKind::Quantiles { expr: e, .. } => {
            // Dimensions cutting the same value share one pair of windows: DataFusion
            // cannot plan two identical window expressions side by side.
            let (rn, cn) = names::quantile(e);
            if b.schema().has_column_with_unqualified_name(&rn) {
                return Ok(b);
            }
            let x = row(e);
            let rk = rank()
                .partition_by(part())
                .order_by(vec![x.clone().sort(true, false)])
                .build()?
                .alias(rn);
            let cnt = Expr::from(WindowFunction::new(
                datafusion::functions_aggregate::count::count_udaf(),
                vec![x],
            ))
            .partition_by(part())
            .build()?
            .alias(cn);
            b.window(vec![rk])?.window(vec![cnt])
        }
        _ => Ok(b),
    }
}

/// An entity's rows: one per key (nulls excluded), with features and the labels of
/// `dims`, keyed by `__k{e}`.
fn entity_labels(
    p: &Checked,
    e: usize,
    dims: &[usize],
    coded: &[usize],
    over: Option<&OverDef>,
    scans: &dyn Scans,
) -> DfResult<LogicalPlan> {
    let ent = &p.entities[e];
    let rows = || entity_rows_over(p, e, over, scans);
    let mut b = rows()?;
    for &d in dims {
        b = prepare_dim(p, b, &p.dims[d], d, &rows)?;
    }
    let mut out = vec![col(&ent.key.name).alias(names::entity_key(e))];
    if over.is_some() {
        out.push(col(names::PERIOD).alias(names::ENTITY_PERIOD));
    }
    for &d in dims {
        if coded.contains(&d) {
            // Coded once per entity row; the market rows then group by integers.
            out.push(
                codes::label_position(&p.dims[d], label_expr(&p.dims[d], d)?).alias(names::code(d)),
            );
            continue;
        }
        out.push(label_expr(&p.dims[d], d)?.alias(names::label(d)));
        if matches!(p.dims[d].kind, DimKind::Top { .. }) {
            out.push(top_ord(&p.dims[d], d).alias(names::top_order(d)));
        }
    }
    b.project(out)?.build()
}

fn top_ord(d: &DimDef, i: usize) -> Expr {
    let n = if let DimKind::Top { n, .. } = d.kind { n as i64 } else { 0 };
    f::coalesce(vec![col(&names::top_rank(i)), lit(n + 1)])
}

/// Market rows carrying a label column `__d{i}` for each of `dims` (and `__o{i}`
/// for `top` rankings), after the segmentation's `where`, plus `keep` columns.
/// Dimensions in `coded` get their label code `__c{i}` instead (see `codes`).
pub fn labelled(
    p: &Checked,
    owner: Owner,
    dims: &[usize],
    filter: Option<&TExpr>,
    keep: &[String],
    coded: &[usize],
    scans: &dyn Scans,
) -> DfResult<LogicalPlanBuilder> {
    labelled_over(p, owner, dims, filter, keep, coded, None, scans)
}

/// `labelled` per period of `over` (when given): rows carry their period `__p`,
/// and entity features, rankings and cut points are computed per period.
#[allow(clippy::too_many_arguments)]
pub fn labelled_over(
    p: &Checked,
    owner: Owner,
    dims: &[usize],
    filter: Option<&TExpr>,
    keep: &[String],
    coded: &[usize],
    over: Option<&OverDef>,
    scans: &dyn Scans,
) -> DfResult<LogicalPlanBuilder> {
    let rows = owner_rows_over(p, owner, over, scans)?;
    labelled_from(rows, p, owner, dims, filter, keep, coded, over, scans)
}

/// An entity's rows: one per non-null key of its market (the market's `where`
/// applied), the key and every feature.
pub fn entity_rows(p: &Checked, e: usize, scans: &dyn Scans) -> DfResult<LogicalPlanBuilder> {
    entity_rows_over(p, e, None, scans)
}

/// `entity_rows`, per period of `over` when given: one row per key and period,
/// the features computed over that period's rows.
pub fn entity_rows_over(
    p: &Checked,
    e: usize,
    over: Option<&OverDef>,
    scans: &dyn Scans,
) -> DfResult<LogicalPlanBuilder> {
    let ent = &p.entities[e];
    let mut set = AggSet::new(names::FEATURE_AGG);
    let feats: Vec<Expr> = ent
        .features
        .iter()
        .map(|fe| set.measure(&fe.expr, &ent.features).alias(&fe.name))
        .collect();
    let key = col(&ent.key.name);
    let mut proj = vec![col(&ent.key.name)];
    let mut group = vec![key.clone()];
    if over.is_some() {
        proj.push(col(names::PERIOD));
        group.push(col(names::PERIOD));
    }
    proj.extend(feats);
    with_period(market_rows(p, ent.market, scans)?, over)?
        .filter(key.clone().is_not_null())?
        .aggregate(group, set.exprs())?
        .project(proj)
}

/// Rows with their period `__p` added, under `over`.
fn with_period(b: LogicalPlanBuilder, over: Option<&OverDef>) -> DfResult<LogicalPlanBuilder> {
    let Some(o) = over else { return Ok(b) };
    let mut cols: Vec<Expr> = b.schema().columns().into_iter().map(Expr::Column).collect();
    cols.push(super::period::of_row(o).alias(names::PERIOD));
    b.project(cols)
}

/// The rows a segmentation groups: a market's, or an entity's.
pub fn owner_rows(p: &Checked, owner: Owner, scans: &dyn Scans) -> DfResult<LogicalPlanBuilder> {
    owner_rows_over(p, owner, None, scans)
}

/// `owner_rows` with each row's period `__p`, under `over`.
pub fn owner_rows_over(
    p: &Checked,
    owner: Owner,
    over: Option<&OverDef>,
    scans: &dyn Scans,
) -> DfResult<LogicalPlanBuilder> {
    match owner {
        Owner::Market(m) => with_period(market_rows(p, m, scans)?, over),
        Owner::Entity(e) => entity_rows_over(p, e, over, scans),
    }
}

/// `labelled` over given market rows (which may carry extra columns to `keep`).
#[allow(clippy::too_many_arguments)]
pub(super) fn labelled_from(
    mut b: LogicalPlanBuilder,
    p: &Checked,
    owner: Owner,
    dims: &[usize],
    filter: Option<&TExpr>,
    keep: &[String],
    coded: &[usize],
    over: Option<&OverDef>,
    scans: &dyn Scans,
) -> DfResult<LogicalPlanBuilder> {
    // Dimensions of an entity whose rows these are not: aggregate per key, label,
    // join back. (An entity segmentation labels its own rows in place, below.)
    let mut by_entity: Vec<(usize, Vec<usize>)> = Vec::new();
    for &d in dims {
        if let (Owner::Entity(e), true) = (p.dims[d].owner, p.dims[d].owner != owner) {
            match by_entity.iter_mut().find(|(x, _)| *x == e) {
                Some((_, v)) => v.push(d),
                None => by_entity.push((e, vec![d])),
            }
        }
    }
    for (e, ds) in &by_entity {
        let ent = entity_labels(p, *e, ds, coded, over, scans)?;
        let key = p.entities[*e].key.name.clone();
        let k = names::entity_key(*e);
        let (mut left, mut right) = (vec![k], vec![key]);
        if over.is_some() {
            left.push(names::ENTITY_PERIOD.to_string());
            right.push(names::PERIOD.to_string());
        }
        // The entity table (one row per key and period) is the build side; the
        // market rows probe it instead of being hashed themselves. Keys are never
        // null there; a null period meets its own.
        b = LogicalPlanBuilder::from(ent).join_detailed(
            b.build()?,
            JoinType::Right,
            (left, right),
            None,
            NullEquality::NullEqualsNull,
        )?;
    }
    let own_dims: Vec<usize> = dims.iter().copied().filter(|&d| p.dims[d].owner == owner).collect();
    let rows = || owner_rows_over(p, owner, over, scans);
    for &d in &own_dims {
        b = prepare_dim(p, b, &p.dims[d], d, &rows)?;
    }
    // The segmentation's `where` comes after rankings, quantiles and entity
    // features, which are computed over the whole market.
    if let Some(w) = filter {
        b = b.filter(row(w))?;
    }
    let mut out: Vec<Expr> = keep.iter().map(|c| col(c)).collect();
    if over.is_some() {
        out.push(col(names::PERIOD));
    }
    for &d in dims {
        if coded.contains(&d) && p.dims[d].owner == owner {
            if let Some((code, _)) = super::table_coded(p, &p.dims[d], scans)? {
                out.push(code.alias(names::code(d)));
                continue;
            }
            let label = label_expr(&p.dims[d], d)?;
            let code = if codes::codable(&p.dims[d]) {
                codes::code_expr(&p.dims[d], label, scans.tally(d))
            } else {
                codes::label_position(&p.dims[d], label)
            };
            out.push(code.alias(names::code(d)));
        } else if let (true, Owner::Entity(e)) = (coded.contains(&d), p.dims[d].owner) {
            // Rows without an entity row are unassigned (the last slot); re-derived
            // from the key for the reason given below.
            let unmatched = col(&names::entity_key(e)).is_null();
            out.push(
                when(unmatched, lit(codes::slots(&p.dims[d]) - 1))
                    .otherwise(col(&names::code(d)))?
                    .alias(names::code(d)),
            );
        } else if p.dims[d].owner == owner {
            out.push(label_expr(&p.dims[d], d)?.alias(names::label(d)));
            if matches!(p.dims[d].kind, DimKind::Top { .. }) {
                out.push(top_ord(&p.dims[d], d).alias(names::top_order(d)));
            }
        } else if let Owner::Entity(e) = p.dims[d].owner {
            // Re-derive the label from the join key instead of passing the column
            // through: DataFusion 55 treats a constant from the null-padded side of an
            // outer join as constant after the join, and a streaming aggregate then
            // splits groups (see apache/datafusion#25053).
            let unmatched = col(&names::entity_key(e)).is_null();
            out.push(
                when(unmatched.clone(), lit(ScalarValue::Utf8(None)))
                    .otherwise(col(&names::label(d)))?
                    .alias(names::label(d)),
            );
            if matches!(p.dims[d].kind, DimKind::Top { .. }) {
                out.push(
                    when(unmatched, lit(ScalarValue::Int64(None)))
                        .otherwise(col(&names::top_order(d)))?
                        .alias(names::top_order(d)),
                );
            }
        }
    }
    b.project(out)
}

/// The dimensions of a segmentation that group by label code: those with static
/// labels, and columns of lookup tables (whose labels the table lists), while the
/// combined code stays small.
pub(super) fn coded_dims(p: &Checked, dims: &[usize], scans: &dyn Scans) -> DfResult<Vec<usize>> {
    let mut out = Vec::new();
    if scans.portable() {
        return Ok(out);
    }
    let mut cells = 1i64;
    for &d in dims {
        let dd = &p.dims[d];
        let slots = if dd.has_static_labels() && !dd.labels.is_empty() {
            codes::slots(dd)
        } else if let Some((_, c)) = super::table_coded(p, dd, scans)? {
            c.labels.len() as i64 + 1
        } else {
            continue;
        };
        if let Some(c) = cells.checked_mul(slots).filter(|c| *c < (1 << 40)) {
            cells = c;
            out.push(d);
        }
    }
    Ok(out)
}

/// A coded dimension's label from the combined cell code.
pub(super) fn label_of_cell(
    p: &Checked,
    d: usize,
    stride: i64,
    cell: Expr,
    scans: &dyn Scans,
) -> DfResult<Expr> {
    let dd = &p.dims[d];
    if !dd.has_static_labels() {
        if let Some((_, c)) = super::table_coded(p, dd, scans)? {
            return Ok(codes::label_of_cell_in(dd, c.labels.clone(), stride, cell));
        }
    }
    Ok(codes::label_of_cell(dd, stride, cell))
}

/// The number of code slots of a coded dimension (see `coded_dims`).
pub(super) fn code_slots(p: &Checked, d: usize, scans: &dyn Scans) -> DfResult<i64> {
    let dd = &p.dims[d];
    if !dd.has_static_labels() {
        if let Some((_, c)) = super::table_coded(p, dd, scans)? {
            return Ok(c.labels.len() as i64 + 1);
        }
    }
    Ok(codes::slots(dd))
}
