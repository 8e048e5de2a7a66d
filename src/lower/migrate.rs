//! `migrate`: the from × to matrix of an entity dimension between two periods.
//! Each period's entities are labelled on that period's rows alone (features, cut
//! points and rankings included); the two sides meet by key in a full join, where
//! an entity missing from the first period comes `new` and one missing from the
//! second goes `lost`.

use super::expr::{col, div, AggSet};
use super::labels::labelled_over;
use super::types::arrow_type;
use super::{names, DfResult, Scans};
use crate::check::program::*;
use arrow::datatypes::DataType;
use datafusion::common::{JoinType, NullEquality};
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::count::count_all;
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::expr::WindowFunction;
use datafusion::logical_expr::{
    cast, lit, when, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder,
};

use crate::check::program::{MIGRATE_LOST as LOST, MIGRATE_NEW as NEW};

fn period_lit(v: &PeriodValue) -> Expr {
    match v {
        PeriodValue::Num(n) => lit(*n),
        PeriodValue::Text(t) => lit(t.as_str()),
    }
}

/// The plan of migrate segmentation `s`: `from`, `to`, `rows` (entities), the
/// entity measures (over each entity's features in the second period, or the first
/// for `lost`), `share`; every cell of (labels, new) × (labels, lost) listed.
pub fn plan(p: &Checked, s: usize, scans: &dyn Scans) -> DfResult<LogicalPlan> {
    let sd = &p.segments[s];
    let (Some(mg), Some(e), Some(&d)) = (&sd.migrate, sd.entity, sd.dims.first()) else {
        return Err(datafusion::error::DataFusionError::Internal(
            "a migrate segmentation without its entity dimension".into(),
        ));
    };
    let ent = &p.entities[e];
    let dd = &p.dims[d];
    let key = ent.key.name.clone();
    let feats: Vec<String> = ent.features.iter().map(|f| f.name.clone()).collect();
    let mut keep = vec![key.clone()];
    keep.extend(feats.iter().cloned());
    let over = Some(&mg.over);
    let labelled = labelled_over(p, Owner::Entity(e), &[d], None, &keep, &[], over, scans)?;
    let labelled = labelled.build()?;
    let side = |at: &PeriodValue, tag: &str| -> DfResult<LogicalPlan> {
        // The period test rides on the key rather than filtering `__p` alone: a
        // filter on a window's partition column is pushed below the window, and
        // DataFusion 55 then drops that column from the window's sort while the
        // window still requires it (a plan that fails its own sanity check).
        let k = format!("__k{tag}");
        let in_period = when(col(names::PERIOD).eq(period_lit(at)), col(&key))
            .otherwise(lit(datafusion::common::ScalarValue::Null))?;
        let mut cols = vec![
            in_period.alias(&k),
            cast(col(&names::label(d)), DataType::Utf8).alias(format!("__l{tag}")),
        ];
        cols.extend(feats.iter().map(|f| col(f).alias(format!("__{tag}_{f}"))));
        LogicalPlanBuilder::from(labelled.clone())
            .project(cols)?
            .filter(col(&k).is_not_null())?
            .build()
    };
    let (first, second) = (side(&mg.from, "a")?, side(&mg.to, "b")?);
    let joined = LogicalPlanBuilder::from(first).join_detailed(
        second,
        JoinType::Full,
        (vec!["__ka"], vec!["__kb"]),
        None,
        NullEquality::NullEqualsNothing,
    )?;
    // Each entity's row: both labels, and the features it is measured by.
    let is_new = col("__ka").is_null();
    let is_lost = col("__kb").is_null();
    let mut cols = vec![
        when(is_new.clone(), lit(NEW)).otherwise(col("__la"))?.alias("__from"),
        when(is_lost.clone(), lit(LOST)).otherwise(col("__lb"))?.alias("__to"),
    ];
    for fe in &ent.features {
        let (a, b) = (col(&format!("__a_{}", fe.name)), col(&format!("__b_{}", fe.name)));
        cols.push(when(is_lost.clone(), a).otherwise(b)?.alias(&fe.name));
    }
    let rows = joined.project(cols)?;
    // The cells: counts, then the measures over the aggregates.
    let mut wanted = sd.measures.clone();
    if let Some(x) = sd.share_of.filter(|x| !wanted.contains(x)) {
        wanted.push(x);
    }
    let mut set = AggSet::new(names::MEASURE_AGG);
    let measures: Vec<(usize, Expr)> =
        wanted.iter().map(|&i| (i, set.measure(&ent.measures[i].expr, &ent.measures))).collect();
    let mut aggs = vec![count_all().alias(names::ROWS)];
    aggs.extend(set.exprs());
    let cells = rows.aggregate(vec![col("__from"), col("__to")], aggs)?.build()?;
    // The full matrix: labels (declared, or seen in either period) plus `new` down,
    // plus `lost` across; unassigned entities only where they are.
    let domain = |extra: &str, column: &str| -> DfResult<LogicalPlanBuilder> {
        let mut labels: Vec<String> =
            if dd.has_static_labels() { dd.labels.clone() } else { vec![] };
        labels.push(extra.to_string());
        let rows: Vec<Vec<Expr>> = labels.iter().map(|l| vec![lit(l.as_str())]).collect();
        let listed =
            LogicalPlanBuilder::values(rows)?.project(vec![col("column1").alias(column)])?;
        if dd.has_static_labels() {
            return Ok(listed);
        }
        let seen = LogicalPlanBuilder::from(cells.clone())
            .project(vec![col("__from").alias(column)])?
            .union(
                LogicalPlanBuilder::from(cells.clone())
                    .project(vec![col("__to").alias(column)])?
                    .build()?,
            )?
            .filter(col(column).is_not_null())?;
        listed.union(seen.build()?)?.distinct()
    };
    let grid = domain(NEW, "__gf")?
        .filter(col("__gf").not_eq(lit(LOST)))?
        .cross_join(domain(LOST, "__gt")?.filter(col("__gt").not_eq(lit(NEW)))?.build()?)?
        // An entity cannot be both new and lost.
        .filter(col("__gf").not_eq(lit(NEW)).or(col("__gt").not_eq(lit(LOST))))?;
    let filled = grid.join_detailed(
        cells.clone(),
        JoinType::Full,
        (vec!["__gf", "__gt"], vec!["__from", "__to"]),
        None,
        NullEquality::NullEqualsNothing,
    )?;
    let mut proj = vec![
        f::coalesce(vec![col("__gf"), col("__from")]).alias("__from"),
        f::coalesce(vec![col("__gt"), col("__to")]).alias("__to"),
        f::coalesce(vec![col(names::ROWS), lit(0i64)]).alias(names::ROWS),
    ];
    for (i, e) in &measures {
        proj.push(cast(e.clone(), arrow_type(ent.measures[*i].ty)).alias(names::measure(*i)));
    }
    let (q, float) = match sd.share_of {
        Some(i) => (col(&names::measure(i)), ent.measures[i].ty == Type::Float),
        None => (col(names::ROWS), false),
    };
    let total = Expr::from(WindowFunction::new(
        if float { super::exact::float_sum_udaf() } else { sum_udaf() },
        vec![q.clone()],
    ))
    .partition_by(vec![])
    .build()?
    .alias(names::TOTAL);
    let b = filled.project(proj)?.window(vec![total])?;
    // Labels in declared order (data-dependent ones by text), unassigned, then
    // `new` down and `lost` across.
    let order = |c: &str, last: &str| -> DfResult<Expr> {
        let label = col(c);
        let mut case = when(label.clone().eq(lit(last)), lit(i64::MAX));
        for (k, l) in dd.labels.iter().enumerate().filter(|_| dd.has_static_labels()) {
            case = case.when(label.clone().eq(lit(l.as_str())), lit(k as i64));
        }
        case.when(label.is_null(), lit(i64::MAX - 1)).otherwise(lit(i64::MAX - 2))
    };
    let sort = vec![
        order("__from", NEW)?.sort(true, false),
        col("__from").sort(true, false),
        order("__to", LOST)?.sort(true, false),
        col("__to").sort(true, false),
    ];
    let mut out =
        vec![col("__from").alias("from"), col("__to").alias("to"), col(names::ROWS).alias("rows")];
    for &i in &sd.measures {
        out.push(col(&names::measure(i)).alias(&ent.measures[i].name));
    }
    out.push(div(q, col(names::TOTAL)).alias("share"));
    b.sort(sort)?.project(out)?.build()
}

/// The periods of migrate segmentation `s` that have market rows, as `period`
/// labels in one column `p`, each with its row count `n`, and the first and last
/// period of the data (for a message when a named period has none).
pub fn periods_found(p: &Checked, s: usize, scans: &dyn Scans) -> DfResult<LogicalPlan> {
    use datafusion::functions_aggregate::expr_fn as agg;
    let sd = &p.segments[s];
    let Some(mg) = &sd.migrate else {
        return Err(datafusion::error::DataFusionError::Internal("not a migration".into()));
    };
    let at = super::period::of_row(&mg.over);
    let hit = |v: &PeriodValue| when(at.clone().eq(period_lit(v)), lit(1i64)).otherwise(lit(0i64));
    super::market_rows(p, sd.market, scans)?
        .aggregate(
            Vec::<Expr>::new(),
            vec![
                agg::sum(hit(&mg.from)?).alias("from_rows"),
                agg::sum(hit(&mg.to)?).alias("to_rows"),
                super::period::label(&mg.over, agg::min(at.clone())).alias("first"),
                super::period::label(&mg.over, agg::max(at)).alias("last"),
            ],
        )?
        .build()
}
