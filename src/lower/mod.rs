//! Checked program → DataFusion `LogicalPlan`s: the only stage that builds plans.
//! Everything is built with `Expr` builders and `LogicalPlanBuilder`; no user text
//! ever becomes SQL.

pub mod audit;
pub mod checked;
pub mod codes;
pub mod errors;
pub mod exact;
pub mod expr;
pub mod scan;
pub mod types;

use crate::check::program::*;
use crate::diagnostic::Diagnostic;
use arrow::datatypes::DataType;
use datafusion::common::{JoinType, NullEquality, ScalarValue};
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::functions_window::expr_fn::{rank, row_number};
use datafusion::logical_expr::expr::{GroupingSet, WindowFunction};
use datafusion::logical_expr::{
    cast, lit, when, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, SortExpr,
};
use expr::{col, div, row, AggSet};
use types::arrow_type;

pub type DfResult<T> = datafusion::error::Result<T>;

/// Supplies the scan of a market's data, already cast to the market's schema.
pub trait Scans {
    fn scan(&self, market: usize) -> DfResult<LogicalPlan>;
}

pub use errors::internal;

pub fn label_col(d: usize) -> String {
    format!("__d{d}")
}
fn code_col(d: usize) -> String {
    format!("__c{d}")
}
fn ord_col(d: usize) -> String {
    format!("__o{d}")
}
fn grid_col(d: usize) -> String {
    format!("__g{d}")
}

/// Market rows: scanned, filtered by the market's `where`.
pub fn market_rows(p: &Checked, m: usize, scans: &dyn Scans) -> DfResult<LogicalPlanBuilder> {
    let mut b = LogicalPlanBuilder::from(scans.scan(m)?);
    if let Some(w) = &p.markets[m].filter {
        b = b.filter(row(w))?;
    }
    Ok(b)
}

/// How a dimension's label is computed over rows of its owner, after the
/// preparation (joins, windows) `prepare_dim` added.
fn label_expr(d: &DimDef, i: usize) -> DfResult<Expr> {
    let text = |e: Expr| cast(e, DataType::Utf8);
    let null_text = || lit(ScalarValue::Utf8(None));
    Ok(match &d.kind {
        // Text labels keep the source's string type (Parquet's views) through the
        // grouping; `segment_plan` and `assign_plan` cast them on the way out.
        DimKind::Column(e) if e.ty == Type::Text => row(e),
        DimKind::Column(e) => text(row(e)),
        DimKind::Top { other, .. } => {
            when(col(&format!("__tr{i}")).is_not_null(), text(col(&format!("__tv{i}"))))
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
        DimKind::Quantiles { expr: e, n } => {
            // Q = floor((rank - 1) * n / count) + 1, equal values sharing a quantile.
            let (rn, cn) = quantile_cols(e);
            let r = cast(col(&rn), DataType::Int64);
            let c = col(&cn);
            let q = ((r - lit(1i64)) * lit(*n as i64)) / c + lit(1i64);
            when(row(e).is_null(), null_text())
                .otherwise(f::concat(vec![lit("Q"), cast(q, DataType::Utf8)]))?
        }
    })
}

/// Adds what a dimension needs before its label can be computed: a ranking join for
/// `top`, rank and count windows for `quantiles`. `rows` builds a fresh copy of the
/// owner's rows for the ranking side.
fn prepare_dim(
    b: LogicalPlanBuilder,
    d: &DimDef,
    i: usize,
    owner_rows: &dyn Fn() -> DfResult<LogicalPlanBuilder>,
) -> DfResult<LogicalPlanBuilder> {
    match &d.kind {
        DimKind::Top { n, expr: e, .. } => {
            let v = format!("__tv{i}");
            let r = format!("__tr{i}");
            let key = format!("__tk{i}");
            let ranking = owner_rows()?
                .filter(row(e).is_not_null())?
                .aggregate(
                    vec![cast(row(e), arrow_type(e.ty)).alias(&v)],
                    vec![datafusion::functions_aggregate::count::count_all().alias("__c")],
                )?
                .window(vec![row_number()
                    .order_by(vec![col("__c").sort(false, true), col(&v).sort(true, true)])
                    .build()?
                    .alias(&r)])?
                .filter(col(&r).lt_eq(lit(*n as i64)))?
                .project(vec![col(&v), cast(col(&r), DataType::Int64).alias(&r)])?
                .build()?;
            let mut cols: Vec<Expr> = b.schema().columns().into_iter().map(Expr::Column).collect();
            cols.push(cast(row(e), arrow_type(e.ty)).alias(&key));
            // The ranking (N rows) is the join's build side, the market rows probe it.
            let rows = b.project(cols)?.build()?;
            LogicalPlanBuilder::from(ranking).join_detailed(
                rows,
                JoinType::Right,
                (vec![v.as_str()], vec![key.as_str()]),
                None,
                NullEquality::NullEqualsNothing,
            )
        }
        DimKind::Quantiles { expr: e, .. } => {
            // Dimensions cutting the same value share one pair of windows: DataFusion
            // cannot plan two identical window expressions side by side.
            let (rn, cn) = quantile_cols(e);
            if b.schema().has_column_with_unqualified_name(&rn) {
                return Ok(b);
            }
            let x = row(e);
            let rk = rank().order_by(vec![x.clone().sort(true, false)]).build()?.alias(rn);
            let cnt = Expr::from(WindowFunction::new(
                datafusion::functions_aggregate::count::count_udaf(),
                vec![x],
            ))
            .alias(cn);
            b.window(vec![rk])?.window(vec![cnt])
        }
        _ => Ok(b),
    }
}

/// Window column names for the quantiles of one expression.
fn quantile_cols(e: &TExpr) -> (String, String) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{:?}", e.kind).hash(&mut h);
    let k = h.finish();
    (format!("__qr{k:x}"), format!("__qc{k:x}"))
}

/// An entity's rows: one per key (nulls excluded), with features and the labels of
/// `dims`, keyed by `__k{e}`.
fn entity_labels(
    p: &Checked,
    e: usize,
    dims: &[usize],
    coded: &[usize],
    scans: &dyn Scans,
) -> DfResult<LogicalPlan> {
    let ent = &p.entities[e];
    let rows = || -> DfResult<LogicalPlanBuilder> {
        let mut set = AggSet::new("__f");
        let feats: Vec<Expr> = ent
            .features
            .iter()
            .map(|fe| set.measure(&fe.expr, &ent.features).alias(&fe.name))
            .collect();
        let key = col(&ent.key.name);
        let mut proj = vec![col(&ent.key.name)];
        proj.extend(feats);
        market_rows(p, ent.market, scans)?
            .filter(key.clone().is_not_null())?
            .aggregate(vec![key], set.exprs())?
            .project(proj)
    };
    let mut b = rows()?;
    for &d in dims {
        b = prepare_dim(b, &p.dims[d], d, &rows)?;
    }
    let mut out = vec![col(&ent.key.name).alias(format!("__k{e}"))];
    for &d in dims {
        if coded.contains(&d) {
            // Coded once per entity row; the market rows then group by integers.
            out.push(
                codes::label_position(&p.dims[d], label_expr(&p.dims[d], d)?).alias(code_col(d)),
            );
            continue;
        }
        out.push(label_expr(&p.dims[d], d)?.alias(label_col(d)));
        if matches!(p.dims[d].kind, DimKind::Top { .. }) {
            out.push(top_ord(&p.dims[d], d).alias(ord_col(d)));
        }
    }
    b.project(out)?.build()
}

fn top_ord(d: &DimDef, i: usize) -> Expr {
    let n = if let DimKind::Top { n, .. } = d.kind { n as i64 } else { 0 };
    f::coalesce(vec![col(&format!("__tr{i}")), lit(n + 1)])
}

/// Market rows carrying a label column `__d{i}` for each of `dims` (and `__o{i}`
/// for `top` rankings), after the segmentation's `where`, plus `keep` columns.
/// Dimensions in `coded` get their label code `__c{i}` instead (see `codes`).
pub fn labelled(
    p: &Checked,
    m: usize,
    dims: &[usize],
    filter: Option<&TExpr>,
    keep: &[String],
    coded: &[usize],
    scans: &dyn Scans,
) -> DfResult<LogicalPlanBuilder> {
    labelled_from(market_rows(p, m, scans)?, p, m, dims, filter, keep, coded, scans)
}

/// `labelled` over given market rows (which may carry extra columns to `keep`).
#[allow(clippy::too_many_arguments)]
fn labelled_from(
    mut b: LogicalPlanBuilder,
    p: &Checked,
    m: usize,
    dims: &[usize],
    filter: Option<&TExpr>,
    keep: &[String],
    coded: &[usize],
    scans: &dyn Scans,
) -> DfResult<LogicalPlanBuilder> {
    // Entity dimensions: aggregate per key, label, join back.
    let mut by_entity: Vec<(usize, Vec<usize>)> = Vec::new();
    for &d in dims {
        if let Owner::Entity(e) = p.dims[d].owner {
            match by_entity.iter_mut().find(|(x, _)| *x == e) {
                Some((_, v)) => v.push(d),
                None => by_entity.push((e, vec![d])),
            }
        }
    }
    for (e, ds) in &by_entity {
        let ent = entity_labels(p, *e, ds, coded, scans)?;
        let key = p.entities[*e].key.name.clone();
        let k = format!("__k{e}");
        // The entity table (one row per key) is the build side; the market rows
        // probe it instead of being hashed themselves.
        b = LogicalPlanBuilder::from(ent).join_detailed(
            b.build()?,
            JoinType::Right,
            (vec![k.as_str()], vec![key.as_str()]),
            None,
            NullEquality::NullEqualsNothing,
        )?;
    }
    let market_dims: Vec<usize> =
        dims.iter().copied().filter(|&d| p.dims[d].owner == Owner::Market(m)).collect();
    let rows = || market_rows(p, m, scans);
    for &d in &market_dims {
        b = prepare_dim(b, &p.dims[d], d, &rows)?;
    }
    // The segmentation's `where` comes after rankings, quantiles and entity
    // features, which are computed over the whole market.
    if let Some(w) = filter {
        b = b.filter(row(w))?;
    }
    let mut out: Vec<Expr> = keep.iter().map(|c| col(c)).collect();
    for &d in dims {
        if coded.contains(&d) && p.dims[d].owner == Owner::Market(m) {
            let label = label_expr(&p.dims[d], d)?;
            let code = if codes::codable(&p.dims[d]) {
                codes::code_expr(&p.dims[d], label)
            } else {
                codes::label_position(&p.dims[d], label)
            };
            out.push(code.alias(code_col(d)));
        } else if let (true, Owner::Entity(e)) = (coded.contains(&d), p.dims[d].owner) {
            // Rows without an entity row are unassigned (the last slot); re-derived
            // from the key for the reason given below.
            let unmatched = col(&format!("__k{e}")).is_null();
            out.push(
                when(unmatched, lit(codes::slots(&p.dims[d]) - 1))
                    .otherwise(col(&code_col(d)))?
                    .alias(code_col(d)),
            );
        } else if p.dims[d].owner == Owner::Market(m) {
            out.push(label_expr(&p.dims[d], d)?.alias(label_col(d)));
            if matches!(p.dims[d].kind, DimKind::Top { .. }) {
                out.push(top_ord(&p.dims[d], d).alias(ord_col(d)));
            }
        } else if let Owner::Entity(e) = p.dims[d].owner {
            // Re-derive the label from the join key instead of passing the column
            // through: DataFusion 55 treats a constant from the null-padded side of an
            // outer join as constant after the join, and a streaming aggregate then
            // splits groups (see apache/datafusion#25053).
            let unmatched = col(&format!("__k{e}")).is_null();
            out.push(
                when(unmatched.clone(), lit(ScalarValue::Utf8(None)))
                    .otherwise(col(&label_col(d)))?
                    .alias(label_col(d)),
            );
            if matches!(p.dims[d].kind, DimKind::Top { .. }) {
                out.push(
                    when(unmatched, lit(ScalarValue::Int64(None)))
                        .otherwise(col(&ord_col(d)))?
                        .alias(ord_col(d)),
                );
            }
        }
    }
    b.project(out)
}

/// The dimensions of a segmentation that group by label code: those with static
/// labels, while the combined code stays small.
fn coded_dims(p: &Checked, dims: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut cells = 1i64;
    for &d in dims {
        let dd = &p.dims[d];
        if dd.has_static_labels() && !dd.labels.is_empty() {
            if let Some(c) = cells.checked_mul(codes::slots(dd)).filter(|c| *c < (1 << 40)) {
                cells = c;
                out.push(d);
            }
        }
    }
    out
}

/// Columns that measures (or a filter) read, so the labelled plan keeps them.
fn measure_columns(p: &Checked, m: usize, measures: &[usize]) -> Vec<String> {
    fn walk(e: &MExpr, all: &[MeasureDef], out: &mut Vec<String>) {
        match e {
            MExpr::Agg(a) => {
                if let Some(x) = &a.arg {
                    x.columns(out)
                }
            }
            MExpr::Ref(i, _) => walk(&all[*i].expr, all, out),
            MExpr::Neg(x, _) => walk(x, all, out),
            MExpr::Bin(_, a, b, _) => {
                walk(a, all, out);
                walk(b, all, out);
            }
            MExpr::Lit(_) => {}
        }
    }
    let all = &p.markets[m].measures;
    let mut out = Vec::new();
    for &i in measures {
        walk(&all[i].expr, all, &mut out);
    }
    out
}

/// The sort position of a label in declared order; data-dependent labels sort by text.
fn static_ord(d: &DimDef, label: Expr) -> DfResult<Option<Expr>> {
    if !d.has_static_labels() || d.labels.is_empty() {
        return Ok(None);
    }
    let mut case = when(label.clone().eq(lit(d.labels[0].as_str())), lit(0i64));
    for (k, l) in d.labels.iter().enumerate().skip(1) {
        case = case.when(label.clone().eq(lit(l.as_str())), lit(k as i64));
    }
    Ok(Some(case.otherwise(lit(ScalarValue::Int64(None)))?))
}

/// A total over a window. Float totals are exact, like the sums they add up, so a
/// share does not change with the order the segments' rows arrive in.
fn window_sum(x: Expr, float: bool, partition: Vec<Expr>) -> DfResult<Expr> {
    let f = if float { exact::float_sum_udaf() } else { sum_udaf() };
    Expr::from(WindowFunction::new(f, vec![x])).partition_by(partition).build()
}

/// One plan per segmentation: read, label, group, fill the grid, add shares, sort.
pub fn segment_plan(p: &Checked, s: usize, scans: &dyn Scans) -> Result<LogicalPlan, Diagnostic> {
    let sd = &p.segments[s];
    segment_plan_inner(p, sd, scans)
        .map_err(|e| internal(sd.span, &format!("segmentation `{}`", sd.name), e))
}

fn segment_plan_inner(p: &Checked, sd: &SegDef, scans: &dyn Scans) -> DfResult<LogicalPlan> {
    let m = sd.market;
    let mk = &p.markets[m];
    let dims = &sd.dims;
    let k = dims.len();
    let mut wanted: Vec<usize> = sd.measures.clone();
    if let Some(s) = sd.share_of {
        if !wanted.contains(&s) {
            wanted.push(s);
        }
    }
    let keep = measure_columns(p, m, &wanted);

    let mut set = AggSet::new("__a");
    let measure_exprs: Vec<(usize, Expr)> =
        wanted.iter().map(|&i| (i, set.measure(&mk.measures[i].expr, &mk.measures))).collect();
    let mut aggs = vec![datafusion::functions_aggregate::count::count_all().alias("__rows")];
    aggs.extend(set.exprs());
    let is_top = |d: usize| matches!(p.dims[d].kind, DimKind::Top { .. });
    for &d in dims.iter().filter(|&&d| is_top(d)) {
        aggs.push(agg::min(col(&ord_col(d))).alias(ord_col(d)));
    }
    let subtotals = sd.mode == SegMode::Then && k > 1;
    // Static-label dimensions group by one integer cell code. Subtotals are then
    // rolled up from the leaf cells, which needs aggregates that combine.
    let decomposable = set.aggs.iter().all(|a| {
        matches!(a.func, AggFunc::Min | AggFunc::Max)
            || (matches!(a.func, AggFunc::Count | AggFunc::Sum) && !a.distinct)
    });
    let coded = if subtotals && !decomposable { Vec::new() } else { coded_dims(p, dims) };
    let lab = labelled(p, m, dims, sd.filter.as_ref(), &keep, &coded, scans)?;
    let group_cols: Vec<Expr> = dims.iter().map(|&d| col(&label_col(d))).collect();
    let grouping_sets = |aggs: &mut Vec<Expr>| {
        for (i, &d) in dims.iter().enumerate().skip(1) {
            aggs.push(agg::grouping(col(&label_col(d))).alias(format!("__gr{i}")));
        }
        Expr::GroupingSet(GroupingSet::GroupingSets(
            (1..=k).map(|n| group_cols[..n].to_vec()).collect(),
        ))
    };
    let mut b = if coded.is_empty() {
        if subtotals {
            let sets = grouping_sets(&mut aggs);
            lab.aggregate(vec![sets], aggs)?
        } else {
            lab.aggregate(group_cols.clone(), aggs)?
        }
    } else {
        let mut cell: Option<Expr> = None;
        let mut stride = 1i64;
        let mut strides = Vec::new();
        for &d in &coded {
            let term =
                if stride == 1 { col(&code_col(d)) } else { col(&code_col(d)) * lit(stride) };
            cell = Some(match cell {
                None => term,
                Some(c) => c + term,
            });
            strides.push((d, stride));
            stride *= codes::slots(&p.dims[d]);
        }
        let mut group = vec![cell.expect("coded is not empty").alias("__cell")];
        group.extend(dims.iter().filter(|d| !coded.contains(d)).map(|&d| col(&label_col(d))));
        let leaves = lab.aggregate(group, aggs)?;
        let mut proj: Vec<Expr> = Vec::new();
        for &d in dims {
            match strides.iter().find(|(x, _)| *x == d) {
                Some(&(_, s)) => proj
                    .push(codes::label_of_cell(&p.dims[d], s, col("__cell")).alias(label_col(d))),
                None => proj.push(col(&label_col(d))),
            }
        }
        proj.push(col("__rows"));
        proj.extend(set.names.iter().map(|n| col(n)));
        proj.extend(dims.iter().filter(|&&d| is_top(d)).map(|&d| col(&ord_col(d))));
        let leaves = leaves.project(proj)?;
        if subtotals {
            let mut re = vec![agg::sum(col("__rows")).alias("__rows")];
            for (a, n) in set.aggs.iter().zip(&set.names) {
                re.push(
                    match a.func {
                        AggFunc::Min => agg::min(col(n)),
                        AggFunc::Max => agg::max(col(n)),
                        // Rolled up like the leaves were summed: exactly.
                        AggFunc::Sum if a.ty == Type::Float => exact::float_sum(col(n)),
                        _ => exact::int_sum(col(n)),
                    }
                    .alias(n),
                );
            }
            for &d in dims.iter().filter(|&&d| is_top(d)) {
                re.push(agg::min(col(&ord_col(d))).alias(ord_col(d)));
            }
            let sets = grouping_sets(&mut re);
            leaves.aggregate(vec![sets], re)?
        } else {
            leaves
        }
    };

    // `x`: the full grid of labels, empty cells included. Static label domains come
    // from the spec; data-dependent ones from the data.
    if sd.mode == SegMode::Cross && (k > 1 || dims.iter().any(|&d| p.dims[d].has_static_labels())) {
        let mut grid: Option<LogicalPlanBuilder> = None;
        for &d in dims {
            let dd = &p.dims[d];
            let domain = if dd.has_static_labels() {
                let rows: Vec<Vec<Expr>> =
                    dd.labels.iter().map(|l| vec![lit(l.as_str()).alias(grid_col(d))]).collect();
                LogicalPlanBuilder::values(rows)?
                    .project(vec![col("column1").alias(grid_col(d))])?
            } else {
                labelled(p, m, &[d], sd.filter.as_ref(), &[], &[], scans)?
                    .filter(col(&label_col(d)).is_not_null())?
                    .aggregate(vec![col(&label_col(d)).alias(grid_col(d))], Vec::<Expr>::new())?
            };
            grid = Some(match grid {
                None => domain,
                Some(g) => g.cross_join(domain.build()?)?,
            });
        }
        if let Some(g) = grid {
            let agg_plan = b.build()?;
            let left: Vec<String> = dims.iter().map(|&d| grid_col(d)).collect();
            let right: Vec<String> = dims.iter().map(|&d| label_col(d)).collect();
            let joined = g.join_detailed(
                agg_plan.clone(),
                JoinType::Full,
                (
                    left.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    right.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                ),
                None,
                NullEquality::NullEqualsNothing,
            )?;
            let mut cols: Vec<Expr> = dims
                .iter()
                .map(|&d| {
                    f::coalesce(vec![col(&grid_col(d)), col(&label_col(d))]).alias(label_col(d))
                })
                .collect();
            for field in agg_plan.schema().fields() {
                let n = field.name();
                if n.starts_with("__d") {
                    continue;
                }
                cols.push(col(n).alias(n));
            }
            b = joined.project(cols)?;
        }
    }

    // Measures over the aggregates; then shares by window.
    let rows_e = f::coalesce(vec![col("__rows"), lit(0i64)]);
    let mut proj: Vec<Expr> = dims.iter().map(|&d| col(&label_col(d))).collect();
    let level = if sd.mode == SegMode::Then && k > 1 {
        let mut rolled = lit(0i64);
        for i in 1..k {
            rolled = rolled + cast(col(&format!("__gr{i}")), DataType::Int64);
        }
        Some(lit(k as i64) - rolled)
    } else if sd.mode == SegMode::Then {
        Some(lit(1i64))
    } else {
        None
    };
    if let Some(l) = &level {
        proj.push(l.clone().alias("__level"));
    }
    proj.push(rows_e.alias("__rows"));
    for (i, e) in &measure_exprs {
        proj.push(cast(e.clone(), arrow_type(mk.measures[*i].ty)).alias(format!("__m{i}")));
    }
    for &d in dims.iter().filter(|&&d| is_top(d)) {
        proj.push(col(&ord_col(d)));
    }
    b = b.project(proj)?;
    let (q, q_float) = match sd.share_of {
        Some(i) => (col(&format!("__m{i}")), mk.measures[i].ty == Type::Float),
        None => (col("__rows"), false),
    };
    let mut windows = Vec::new();
    match level {
        Some(_) => {
            windows.push(window_sum(q.clone(), q_float, vec![col("__level")])?.alias("__tot"));
            for lv in 2..=k {
                let mut part = vec![col("__level")];
                part.extend(dims[..lv - 1].iter().map(|&d| col(&label_col(d))));
                windows.push(window_sum(q.clone(), q_float, part)?.alias(format!("__par{lv}")));
            }
        }
        None => windows.push(window_sum(q.clone(), q_float, vec![])?.alias("__tot")),
    }
    // Grid cells no row reached have no rank for a `top` label; every cell of that
    // label shares its rank.
    for &d in dims.iter().filter(|&&d| is_top(d)) {
        let w = Expr::from(WindowFunction::new(
            datafusion::functions_aggregate::min_max::min_udaf(),
            vec![col(&ord_col(d))],
        ))
        .partition_by(vec![col(&label_col(d))])
        .build()?
        .alias(format!("__O{d}"));
        windows.push(w);
    }
    // One window node per partitioning: DataFusion plans a node's windows together
    // only when they share their sort keys.
    for w in windows {
        b = b.window(vec![w])?;
    }

    // Final columns in cli.md order, sorted by declared label order.
    let mut sort: Vec<SortExpr> = Vec::new();
    for (i, &d) in dims.iter().enumerate() {
        let label = col(&label_col(d));
        if sd.mode == SegMode::Then && i > 0 {
            // A subtotal row comes before its children.
            sort.push(
                when(col("__level").lt_eq(lit(i as i64)), lit(0i64))
                    .otherwise(lit(1i64))?
                    .sort(true, true),
            );
        }
        if is_top(d) {
            sort.push(
                when(label.clone().is_null(), lit(ScalarValue::Int64(None)))
                    .otherwise(col(&format!("__O{d}")))?
                    .sort(true, false),
            );
        } else if let Some(o) = static_ord(&p.dims[d], label.clone())? {
            sort.push(o.sort(true, false));
        }
        sort.push(label.sort(true, false));
    }
    let mut out: Vec<Expr> = dims
        .iter()
        .map(|&d| cast(col(&label_col(d)), DataType::Utf8).alias(&p.dims[d].name))
        .collect();
    if level.is_some() {
        out.push(col("__level").alias("level"));
    }
    out.push(col("__rows").alias("rows"));
    for &i in &sd.measures {
        out.push(col(&format!("__m{i}")).alias(&mk.measures[i].name));
    }
    out.push(div(q.clone(), col("__tot")).alias("share"));
    if level.is_some() {
        let mut case = when(col("__level").eq(lit(1i64)), div(q.clone(), col("__tot")));
        for lv in 2..=k {
            case = case.when(
                col("__level").eq(lit(lv as i64)),
                div(q.clone(), col(&format!("__par{lv}"))),
            );
        }
        out.push(case.otherwise(lit(ScalarValue::Float64(None)))?.alias("share_of_parent"));
    }
    b.sort(sort)?.project(out)?.build()
}

/// Every market row with one label column per dimension on it (`seg assign`).
/// The read order of a row in `assign_plan`.
const ASSIGN_ROW: &str = "__row";

pub fn assign_plan(p: &Checked, m: usize, scans: &dyn Scans) -> Result<LogicalPlan, Diagnostic> {
    let mk = &p.markets[m];
    let inner = || -> DfResult<LogicalPlan> {
        let dims: Vec<usize> = (0..p.dims.len()).filter(|&d| p.dims[d].market == m).collect();
        let mut keep: Vec<String> = mk.columns.iter().map(|c| c.name.clone()).collect();
        // Rows leave in the order they were read: numbered on the way in (the
        // session reads each file as one ordered stream for this), sorted on the way
        // out, since joins and windows in between may reorder them.
        let numbered = market_rows(p, m, scans)?.window(vec![row_number().alias(ASSIGN_ROW)])?;
        keep.push(ASSIGN_ROW.to_string());
        let lab = labelled_from(numbered, p, m, &dims, None, &keep, &[], scans)?
            .sort(vec![col(ASSIGN_ROW).sort(true, false)])?;
        keep.pop();
        // Columns leave with seg's types whatever the source carried (string views).
        let mut out: Vec<Expr> = mk
            .columns
            .iter()
            .map(|c| cast(col(&c.name), arrow_type(c.ty)).alias(&c.name))
            .collect();
        for &d in &dims {
            let name = &p.dims[d].name;
            let shown = if keep.contains(name) { format!("{name}_label") } else { name.clone() };
            out.push(cast(col(&label_col(d)), DataType::Utf8).alias(shown));
        }
        lab.project(out)?.build()
    };
    inner().map_err(|e| internal(mk.span, &format!("market `{}`", mk.name), e))
}
