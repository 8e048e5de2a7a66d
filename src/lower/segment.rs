//! One plan per segmentation, in steps: label the rows and group them into segments
//! (by one integer cell code where labels are static), roll `then` subtotals up from
//! the leaves, fill the grid of `x`, compute measures and the `then` level, add
//! shares by window, sort in declared label order.

use super::expr::{col, combine, combines, div, row, AggSet};
use super::labels::{
    code_slots, coded_dims, label_of_cell, labelled_from, labelled_over, owner_rows_over,
};
use super::period;
use super::types::arrow_type;
use super::{codes, dict, exact, internal, measure_columns, names, DfResult, Scans};
use crate::check::program::*;
use crate::diagnostic::Diagnostic;
use arrow::datatypes::DataType;
use datafusion::common::{DFSchemaRef, JoinType, NullEquality, ScalarValue};
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::expr::{GroupingSet, WindowFunction};
use datafusion::logical_expr::{
    cast, lit, try_cast, when, Expr, ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, SortExpr,
};
use std::sync::Arc;

/// `e` with each column it reads replaced by its definition in `plan`'s top
/// projection, when those definitions read no column themselves: an expression that
/// gives the same value after an aggregate of `plan` as on every row of it.
fn after_aggregate(plan: &LogicalPlan, e: &Expr) -> Option<Expr> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    let LogicalPlan::Projection(p) = plan else { return None };
    let defs: std::collections::HashMap<&str, &Expr> =
        p.schema.fields().iter().map(|f| f.name().as_str()).zip(p.expr.iter()).collect();
    let mut ok = true;
    let out = e
        .clone()
        .transform(|x| match &x {
            Expr::Column(c) => match defs.get(c.name.as_str()) {
                Some(def) if def.column_refs().is_empty() => {
                    Ok(Transformed::yes((*def).clone().unalias_nested().data))
                }
                _ => {
                    ok = false;
                    Ok(Transformed::no(x))
                }
            },
            _ => Ok(Transformed::no(x)),
        })
        .ok()?
        .data;
    ok.then_some(out)
}

/// One plan per segmentation: read, label, group, fill the grid, add shares, sort.
pub fn segment_plan(p: &Checked, s: usize, scans: &dyn Scans) -> Result<LogicalPlan, Diagnostic> {
    let sd = &p.segments[s];
    let what = format!("segmentation `{}`", sd.name);
    if sd.migrate.is_some() {
        return super::migrate::plan(p, s, scans).map_err(|e| internal(sd.span, &what, e));
    }
    let seg = Seg { p, s, sd, defs: p.seg_measures(s), scans };
    seg.plan().map_err(|e| internal(sd.span, &what, e))
}

/// The segmentation being planned, and what every step reads.
struct Seg<'a> {
    p: &'a Checked,
    s: usize,
    sd: &'a SegDef,
    /// The measures it can report: its market's, or its entity's.
    defs: &'a [MeasureDef],
    scans: &'a dyn Scans,
}

impl Seg<'_> {
    fn plan(&self) -> DfResult<LogicalPlan> {
        // The share's measure is computed even when it is not reported.
        let mut wanted = self.sd.measures.clone();
        if let Some(s) = self.sd.share_of.filter(|s| !wanted.contains(s)) {
            wanted.push(s);
        }
        let mut set = AggSet::new(names::MEASURE_AGG);
        let measures: Vec<(usize, Expr)> =
            wanted.iter().map(|&i| (i, set.measure(&self.defs[i].expr, self.defs))).collect();
        let keep = measure_columns(self.defs, &wanted);
        let b = self.grouped(&set, &keep)?;
        let b = match &self.sd.over {
            Some(o) => self.frame(b, o)?,
            None => self.grid(b)?,
        };
        let b = self.measures(b, &measures)?;
        let b = match self.sd.with_total {
            true => self.with_total(b, &set, &measures)?,
            false => b,
        };
        let b = self.shares(b)?;
        let b = match self.sd.over {
            Some(_) => self.changes(b)?,
            None => b,
        };
        self.output(b)
    }

    fn over(&self) -> Option<&OverDef> {
        self.sd.over.as_ref()
    }

    /// Under `over`, every grouping also groups by period.
    fn period_cols(&self) -> Vec<Expr> {
        self.over().map(|_| col(names::PERIOD)).into_iter().collect()
    }

    fn dims(&self) -> &[usize] {
        &self.sd.dims
    }

    fn is_top(&self, d: usize) -> bool {
        matches!(self.p.dims[d].kind, DimKind::Top { .. })
    }

    fn tops(&self) -> impl Iterator<Item = usize> + '_ {
        self.dims().iter().copied().filter(|&d| self.is_top(d))
    }

    /// `then` with more than one dimension: every prefix of the chain is a level.
    fn subtotals(&self) -> bool {
        self.sd.mode == SegMode::Then && self.dims().len() > 1
    }

    /// Whether rows carry a level (`then`, or `with total`).
    fn levels(&self) -> bool {
        self.sd.has_levels()
    }

    /// `then`: rows have parents, and a `share_of_parent`.
    fn parents(&self) -> bool {
        self.sd.mode == SegMode::Then
    }

    /// Grouping sets for the `then` levels (each prefix of the chain), and a
    /// `grouping()` flag per rolled-up dimension to compute the level from.
    fn grouping_sets(&self, aggs: &mut Vec<Expr>) -> Expr {
        for (i, &d) in self.dims().iter().enumerate().skip(1) {
            aggs.push(agg::grouping(col(&names::label(d))).alias(names::grouping(i)));
        }
        let cols: Vec<Expr> = self.dims().iter().map(|&d| col(&names::label(d))).collect();
        Expr::GroupingSet(GroupingSet::GroupingSets(
            (1..=cols.len())
                .map(|n| {
                    let mut set = self.period_cols();
                    set.extend(cols[..n].iter().cloned());
                    set
                })
                .collect(),
        ))
    }

    /// Labelled rows grouped into segments: the row count, the measures' base
    /// aggregates and each `top` label's rank.
    fn grouped(&self, set: &AggSet, keep: &[String]) -> DfResult<LogicalPlanBuilder> {
        // Leaves that subtotals are rolled up from keep partial aggregates.
        let aggs = |partial: bool| {
            let aggs = if partial { set.partial_exprs() } else { set.exprs() };
            let mut aggs = super::rows::with_rows(aggs, &[]);
            for d in self.tops() {
                aggs.push(agg::min(col(&names::top_order(d))).alias(names::top_order(d)));
            }
            aggs
        };
        if let Some((pass, cells)) = self.scans.shared_cells(self.s) {
            let (rows, aggs) = pass.rows_for(cells, self.sd, set, self.subtotals())?;
            let leaves = self.coded_leaves(rows, self.dims(), None, aggs, set)?;
            return if self.subtotals() { self.rolled_up(leaves, set) } else { Ok(leaves) };
        }
        // Static-label dimensions group by one integer cell code. Subtotals are then
        // rolled up from the leaf cells, which needs aggregates that combine.
        let decomposable = set.aggs.iter().all(combines);
        let coded = if self.subtotals() && !decomposable {
            Vec::new()
        } else {
            coded_dims(self.p, self.dims(), self.scans)?
        };
        let sd = self.sd;
        let reduced = self.scans.reduced(self.s);
        let lab = match &reduced {
            // Reduced rows carry no period and no entity: `reduce::shape` allows
            // neither, so they are labelled as they are.
            Some((shape, rows)) => labelled_from(
                LogicalPlanBuilder::from(rows.clone()),
                self.p,
                sd.owner(),
                self.dims(),
                sd.filter.as_ref(),
                &shape.keep(set),
                &coded,
                None,
                self.scans,
            )?,
            None => labelled_over(
                self.p,
                sd.owner(),
                self.dims(),
                sd.filter.as_ref(),
                keep,
                &coded,
                self.over(),
                self.scans,
            )?,
        };
        let aggs = |partial: bool| match &reduced {
            Some((shape, _)) => shape.aggregates(set, partial),
            None => aggs(partial),
        };
        let dict = self.dictionary_dim(&coded, decomposable);
        if !coded.is_empty() || dict.is_some() {
            let leaves = self.coded_leaves(lab, &coded, dict, aggs(self.subtotals()), set)?;
            return if self.subtotals() { self.rolled_up(leaves, set) } else { Ok(leaves) };
        }
        if self.subtotals() {
            self.aggregate_levels(lab, aggs(false))
        } else {
            let mut cols: Vec<Expr> = self.dims().iter().map(|&d| col(&names::label(d))).collect();
            cols.extend(self.period_cols());
            lab.aggregate(cols, aggs(false))
        }
    }

    /// The one dimension whose labels come from the data (a column as it is) when
    /// every other one is coded: a dictionary filled as the query runs codes it, so
    /// the segments group by one integer key instead of a second, multi-column key
    /// per row. Under a calendar `over` the period folds into that key too. Without
    /// `over`, only a text column is coded, and only when the session can run the
    /// plan again if its labels pass the dictionary's limit (other columns group by
    /// their own fixed-width values, which costs no more than a code): that limit,
    /// and the flag the dictionary raises then.
    fn dictionary_dim(
        &self,
        coded: &[usize],
        decomposable: bool,
    ) -> Option<(usize, Option<dict::Limit>)> {
        if self.scans.portable() {
            return None;
        }
        let mut rest = self.dims().iter().filter(|d| !coded.contains(d));
        let d = *rest.next()?;
        let DimKind::Column(e) = &self.p.dims[d].kind else { return None };
        // Subtotals roll up from the leaf cells, which needs aggregates that combine.
        let rolls = !self.subtotals() || decomposable;
        if rest.next().is_some() || !rolls {
            return None;
        }
        match self.over() {
            Some(o) if matches!(o.kind, PeriodKind::Calendar(_)) => Some((d, None)),
            None if e.ty == Type::Text => Some((d, Some(self.scans.dictionaries()?))),
            _ => None,
        }
    }

    /// Leaf cells grouped by one integer (each coded dimension's code times its
    /// stride, plus the labels of the others), then decoded back to labels.
    fn coded_leaves(
        &self,
        lab: LogicalPlanBuilder,
        coded: &[usize],
        dict_dim: Option<(usize, Option<dict::Limit>)>,
        aggs: Vec<Expr>,
        set: &AggSet,
    ) -> DfResult<LogicalPlanBuilder> {
        let mut stride = 1i64;
        let mut strides = Vec::new();
        let mut terms = Vec::new();
        for &d in coded {
            terms.push((col(&names::code(d)), stride));
            strides.push((d, stride));
            stride *= code_slots(self.p, d, self.scans)?;
        }
        let cell = super::cell::sum(&terms);
        // A dictionary-coded dimension's codes go above every coded dimension's,
        // and its encoder folds the period in the same pass.
        let dict_of = dict_dim.as_ref().map(|(d, _)| *d);
        let dict = dict_dim.map(|(d, labels)| {
            (d, dict::Dictionary::new(&self.p.dims[d].name, (1i64 << 40) / stride, labels))
        });
        let lab_schema = lab.schema().clone();
        let labels: Vec<Expr> = self
            .dims()
            .iter()
            .filter(|d| !coded.contains(d) && Some(**d) != dict_of)
            .map(|&d| col(&names::label(d)))
            .collect();
        // Every label coded and calendar periods: the period folds into the cell
        // code, so segments per period group by one integer, as without `over`.
        let fold = labels.is_empty()
            && self.over().is_some_and(|o| matches!(o.kind, PeriodKind::Calendar(_)));
        let folded = match (&dict, cell) {
            (Some((d, dict)), cell) if self.over().is_some() => {
                let label = col(&names::label(*d));
                Some(dict::encode(dict, stride, label, Some(col(names::PERIOD)), cell))
            }
            // No period: the coded dimensions' cell code computed by one function,
            // and the dictionary's code added above it.
            (Some((d, coder)), _) => {
                let label = col(&names::label(*d));
                let (lab, cell) = match terms.is_empty() {
                    true => (lab, None),
                    false => (super::cell::fused(lab, terms)?, Some(col(names::CELL))),
                };
                let key = dict::encode(coder, stride, label, None, cell);
                let leaves = match coder.codes() {
                    Some(codes) => {
                        let range = codes.saturating_mul(stride);
                        super::dense::grouped(lab, key, names::CELL, range, aggs)?
                    }
                    None => lab.aggregate(vec![key.alias(names::CELL)], aggs)?,
                };
                return self.decoded(leaves, &strides, dict.as_ref(), stride, &lab_schema, set);
            }
            (None, Some(cell)) if fold => Some(codes::fold_period(cell, col(names::PERIOD))),
            // One segment and exactly one row: its labels are known here, and an
            // aggregate without grouping gives its one row even over no rows (the
            // measures read null and zero aggregates alike: `AggSet::measure`).
            _ if self.single_cell() => {
                let agg = lab.aggregate(Vec::<Expr>::new(), aggs)?;
                let mut cols: Vec<Expr> = self
                    .dims()
                    .iter()
                    .map(|&d| lit(self.p.dims[d].labels[0].as_str()).alias(names::label(d)))
                    .collect();
                cols.push(col(names::ROWS));
                cols.extend(set.names.iter().map(|n| col(n)));
                return agg.project(cols);
            }
            // Every dimension labels every row alike (`rules { else => "all" }`): one
            // segment, so no grouping at all. The code is the same on every row, so
            // its minimum is it; over no rows it is null, and the row is dropped, as
            // a grouped aggregate would give none.
            (None, Some(cell))
                if labels.is_empty() && self.over().is_none() && self.constant(coded) =>
            {
                // The code is computed once, after the aggregate, when the labelling
                // step defines it without reading a column (always, for these
                // dimensions); a column of it per row would cost as much as the sum.
                let leaves = match after_aggregate(lab.plan(), &cell) {
                    Some(code) => {
                        let agg = lab
                            .aggregate(Vec::<Expr>::new(), aggs)?
                            .filter(col(names::ROWS).gt(lit(0i64)))?;
                        let mut cols = vec![code.alias(names::CELL)];
                        cols.extend(agg.schema().columns().into_iter().map(Expr::Column));
                        agg.project(cols)?
                    }
                    None => {
                        let mut all = vec![agg::min(cell).alias(names::CELL)];
                        all.extend(aggs);
                        lab.aggregate(Vec::<Expr>::new(), all)?
                            .filter(col(names::CELL).is_not_null())?
                    }
                };
                return self.decoded(leaves, &strides, None, stride, &lab_schema, set);
            }
            (None, Some(_)) => {
                // The cell code computed by one function from the columns it reads.
                let fused = super::cell::fused(lab, terms)?;
                let period = self.period_cols();
                let leaves = if labels.is_empty() && period.is_empty() {
                    super::dense::grouped(fused, col(names::CELL), names::CELL, stride, aggs)?
                } else {
                    let mut group = vec![col(names::CELL)];
                    group.extend(labels);
                    group.extend(period);
                    fused.aggregate(group, aggs)?
                };
                return self.decoded(leaves, &strides, None, stride, &lab_schema, set);
            }
            (None, None) => return lab.aggregate(self.period_cols(), aggs),
        };
        let agg = lab.aggregate(vec![folded.unwrap().alias(names::CELL)], aggs)?;
        let (cell, period) = codes::unfold_period(col(names::CELL))?;
        let schema = agg.schema().clone();
        let mut cols = vec![cell.alias(names::CELL), period.alias(names::PERIOD)];
        cols.extend(
            schema.columns().into_iter().filter(|c| c.name != names::CELL).map(Expr::Column),
        );
        let leaves = agg.project(cols)?;
        self.decoded(leaves, &strides, dict.as_ref(), stride, &lab_schema, set)
    }

    /// Whether every dimension in `coded` gives every row of this segmentation the
    /// same label: it reads no column and labels the segmentation's own rows.
    fn constant(&self, coded: &[usize]) -> bool {
        coded.iter().all(|&d| {
            let dd = &self.p.dims[d];
            dd.owner == self.sd.owner() && dd.has_static_labels() && dd.input_columns().is_empty()
        })
    }

    /// Whether the result is one row, whatever the data: every dimension gives every
    /// row its one label (`rules { else => "all" }`), and there are no levels and no
    /// periods. That row needs no grid to list it, no window for its total and no
    /// sort, which is most of what planning a segmentation costs.
    /// (Portable plans group by labels, not codes, and keep the general shape.)
    fn single_cell(&self) -> bool {
        !self.scans.portable()
            && self.sd.mode == SegMode::Cross
            && self.over().is_none()
            && !self.levels()
            && self.dims().iter().all(|&d| {
                let dd = &self.p.dims[d];
                self.constant(&[d])
                    && dd.labels.len() == 1
                    && matches!(dd.kind, DimKind::Rules { else_label: Some(_), .. })
            })
    }

    /// Leaf cells keyed by cell code, decoded back to each dimension's label.
    fn decoded(
        &self,
        leaves: LogicalPlanBuilder,
        strides: &[(usize, i64)],
        dict: Option<&(usize, Arc<dict::Dictionary>)>,
        stride: i64,
        lab_schema: &DFSchemaRef,
        set: &AggSet,
    ) -> DfResult<LogicalPlanBuilder> {
        let label_type = |d: usize| {
            lab_schema.field_with_unqualified_name(&names::label(d)).map(|f| f.data_type().clone())
        };
        let mut proj: Vec<Expr> = Vec::new();
        for &d in self.dims() {
            if let Some((_, dict)) = dict.filter(|(x, _)| *x == d) {
                let label = dict::decode(dict, stride, col(names::CELL));
                proj.push(cast(label, label_type(d)?).alias(names::label(d)));
                continue;
            }
            match strides.iter().find(|(x, _)| *x == d) {
                Some(&(_, s)) => proj.push(
                    label_of_cell(self.p, d, s, col(names::CELL), self.scans)?
                        .alias(names::label(d)),
                ),
                None => proj.push(col(&names::label(d))),
            }
        }
        proj.extend(self.period_cols());
        proj.push(col(names::ROWS));
        proj.extend(set.names.iter().map(|n| col(n)));
        proj.extend(self.tops().map(|d| col(&names::top_order(d))));
        leaves.project(proj)
    }

    /// `then` subtotals from the leaf cells (`expr::combine`): float sums come as
    /// exact word lists and are rounded once, so a subtotal has the bits of a sum
    /// over its rows.
    fn rolled_up(&self, leaves: LogicalPlanBuilder, set: &AggSet) -> DfResult<LogicalPlanBuilder> {
        let mut re = vec![agg::sum(col(names::ROWS)).alias(names::ROWS)];
        for (a, n) in set.aggs.iter().zip(&set.names) {
            re.push(combine(a, col(n)).alias(n));
        }
        for d in self.tops() {
            re.push(agg::min(col(&names::top_order(d))).alias(names::top_order(d)));
        }
        self.aggregate_levels(leaves, re)
    }

    /// `b` aggregated by `aggs` per `then` level (`grouping_sets`).
    fn aggregate_levels(
        &self,
        b: LogicalPlanBuilder,
        mut aggs: Vec<Expr>,
    ) -> DfResult<LogicalPlanBuilder> {
        // DataFusion 55 streams a grouping-sets aggregate over input sorted on a
        // grouping column (the period: `over`'s windows and the leaf cells come
        // sorted by it) and then splits a group across input batches: with one
        // thread, a segment came out as two rows. Hiding the ordering keeps the
        // plain hash aggregate. (Found by the property test; `--threads 1` on 45,000
        // rows reproduced it.)
        let mut keys: Vec<String> = self.dims().iter().map(|&d| names::label(d)).collect();
        if self.over().is_some() {
            keys.push(names::PERIOD.to_string());
        }
        let schema = b.schema().clone();
        let cols: Vec<Expr> = schema
            .columns()
            .into_iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                let constant =
                    self.dims().iter().any(|&d| c.name == names::label(d) && self.constant(&[d]));
                if keys.contains(&c.name) {
                    let (x, ty) = (Expr::Column(c.clone()), f.data_type().clone());
                    match constant {
                        true => super::udf::unordered_constant(x, ty),
                        false => super::udf::unordered(x, ty),
                    }
                    .alias(c.name.clone())
                } else {
                    Expr::Column(c)
                }
            })
            .collect();
        let sets = self.grouping_sets(&mut aggs);
        b.project(cols)?.aggregate(vec![sets], aggs)
    }

    /// `x`: the full grid of labels, empty cells included. Static label domains come
    /// from the spec; data-dependent ones from the data.
    fn grid(&self, b: LogicalPlanBuilder) -> DfResult<LogicalPlanBuilder> {
        let dims = self.dims();
        if !self.has_grid() || self.single_cell() {
            return Ok(b);
        }
        // Static label domains do not read the segments, so the join below is their
        // only reader: computed apart, they would cost a second plan and no scan.
        let once = dims.iter().all(|&d| self.p.dims[d].has_static_labels());
        let agg_plan = match once {
            true => self.without_grouping_id(b)?.build()?,
            false => self.shared(b)?,
        };
        let Some(g) = self.grid_cells(&agg_plan)? else {
            return Ok(LogicalPlanBuilder::from(agg_plan));
        };
        let left: Vec<String> = dims.iter().map(|&d| names::grid(d)).collect();
        let right: Vec<String> = dims.iter().map(|&d| names::label(d)).collect();
        // The grid (the product of the label domains) is the build side.
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
                f::coalesce(vec![col(&names::grid(d)), col(&names::label(d))])
                    .alias(names::label(d))
            })
            .collect();
        for field in agg_plan.schema().fields() {
            let n = field.name();
            if !right.contains(n) {
                cols.push(col(n).alias(n));
            }
        }
        joined.project(cols)
    }

    /// The grouped segments as a plan several steps read, computed once (see
    /// `Scans::materialize`). DataFusion's own grouping id is not a column of it.
    fn shared(&self, b: LogicalPlanBuilder) -> DfResult<LogicalPlan> {
        self.scans.materialize(self.without_grouping_id(b)?.build()?)
    }

    /// The grouped segments without DataFusion's own grouping id.
    fn without_grouping_id(&self, b: LogicalPlanBuilder) -> DfResult<LogicalPlanBuilder> {
        let cols: Vec<Expr> = b
            .schema()
            .columns()
            .into_iter()
            .filter(|c| c.name != datafusion::logical_expr::Aggregate::INTERNAL_GROUPING_ID)
            .map(Expr::Column)
            .collect();
        b.project(cols)
    }

    /// The rows whose periods are listed: the market's (its `where` applied), before
    /// the segmentation's `where` and whatever the owner is (an entity's periods are
    /// its market rows').
    fn period_rows(&self, o: &OverDef) -> DfResult<LogicalPlanBuilder> {
        let rows = super::market_rows(self.p, self.sd.market, self.scans)?;
        rows.project(vec![period::of_row(o).alias(names::PERIOD)])
    }

    /// Whether an `x` segmentation lists its full grid of labels.
    fn has_grid(&self) -> bool {
        let dims = self.dims();
        self.sd.mode == SegMode::Cross
            && (dims.len() > 1 || dims.iter().any(|&d| self.p.dims[d].has_static_labels()))
    }

    /// The product of the label domains, one column `__g{d}` per dimension (as
    /// text). Static domains come from the spec; data-dependent ones from the data
    /// (all periods together, under `over`).
    fn grid_cells(&self, segments: &LogicalPlan) -> DfResult<Option<LogicalPlanBuilder>> {
        let p = self.p;
        let mut grid: Option<LogicalPlanBuilder> = None;
        for &d in self.dims() {
            let dd = &p.dims[d];
            let domain = if dd.has_static_labels() {
                let rows: Vec<Vec<Expr>> =
                    dd.labels.iter().map(|l| vec![lit(l.as_str()).alias(names::grid(d))]).collect();
                LogicalPlanBuilder::values(rows)?
                    .project(vec![col("column1").alias(names::grid(d))])?
            } else {
                // The labels the data has: those of the segments that have rows.
                LogicalPlanBuilder::from(segments.clone())
                    .filter(col(&names::label(d)).is_not_null())?
                    .aggregate(
                        vec![col(&names::label(d)).alias(names::grid(d))],
                        Vec::<Expr>::new(),
                    )?
                    // Its own SELECT in SQL: the unparser folds a grouping that
                    // is a join's input into the SELECT above it.
                    .project(vec![col(&names::grid(d))])?
            };
            grid = Some(match grid {
                None => domain,
                Some(g) => g.cross_join(domain.build()?)?,
            });
        }
        Ok(grid)
    }

    /// `over`: every segment in every period. The segments are those any period
    /// has (and the full grid of `x`); the periods, every one in the data's range.
    /// A segment a period lacks gets no aggregates, which `measures` reads as an
    /// empty segment (0 rows), as it does for an empty grid cell.
    fn frame(&self, b: LogicalPlanBuilder, o: &OverDef) -> DfResult<LogicalPlanBuilder> {
        // A projection over the aggregate, so the grouping flags are plain columns
        // (DataFusion resolves `grouping()` inside the aggregate it belongs to).
        // DataFusion's own grouping id is not a column of the result.
        let agg = self.shared(b)?;
        let dims = self.dims();
        let labels: Vec<String> = dims.iter().map(|&d| names::label(d)).collect();
        let mut keys = labels.clone();
        if self.subtotals() {
            keys.extend((1..dims.len()).map(names::grouping));
        }
        let framed = |k: &str| format!("__f{k}");
        let as_text = |k: &String| -> Expr {
            if labels.contains(k) {
                cast(col(k), DataType::Utf8).alias(framed(k))
            } else {
                col(k).alias(framed(k))
            }
        };
        let mut segments = LogicalPlanBuilder::from(agg.clone())
            .aggregate(keys.iter().map(as_text).collect::<Vec<_>>(), Vec::<Expr>::new())?;
        if self.has_grid() {
            if let Some(g) = self.grid_cells(&agg)? {
                let cells = g.project(
                    dims.iter()
                        .map(|&d| {
                            cast(col(&names::grid(d)), DataType::Utf8)
                                .alias(framed(&names::label(d)))
                        })
                        .collect::<Vec<_>>(),
                )?;
                segments = segments.union(cells.build()?)?.distinct()?;
            }
        }
        // Without a `where` of its own, a market segmentation's segments have rows
        // in exactly the market's periods: read them there instead of the data.
        let rows = match (&self.sd.filter, self.sd.owner()) {
            (None, Owner::Market(_)) => {
                LogicalPlanBuilder::from(agg.clone()).project(vec![col(names::PERIOD)])?
            }
            _ => self.period_rows(o)?,
        };
        let periods =
            period::all(o, rows)?.project(vec![col(names::PERIOD).alias(framed(names::PERIOD))])?;
        let frame = segments.cross_join(periods.build()?)?;
        let mut left: Vec<String> = keys.iter().map(|k| framed(k)).collect();
        left.push(framed(names::PERIOD));
        let mut right = keys.clone();
        right.push(names::PERIOD.to_string());
        // The frame (segments times periods) drives; a segment's aggregates join it
        // by labels and period, nulls (unassigned, rolled up) equal to nulls.
        let joined = frame.join_detailed(
            agg.clone(),
            JoinType::Left,
            (left, right.clone()),
            None,
            NullEquality::NullEqualsNull,
        )?;
        let mut cols: Vec<Expr> = Vec::new();
        for k in &right {
            cols.push(col(&framed(k)).alias(k));
        }
        for field in agg.schema().fields() {
            if !right.contains(field.name()) {
                cols.push(col(field.name()).alias(field.name()));
            }
        }
        joined.project(cols)
    }

    /// A row's level: under `then`, k minus the dimensions rolled up; the cells of
    /// an `x` grid with a total are level k.
    fn level(&self) -> Option<Expr> {
        let k = self.dims().len();
        if !self.levels() {
            return None;
        }
        if !self.parents() {
            return Some(lit(k as i64));
        }
        let mut rolled = lit(0i64);
        for i in 1..k {
            rolled = rolled + cast(col(&names::grouping(i)), DataType::Int64);
        }
        Some(if k > 1 { lit(k as i64) - rolled } else { lit(1i64) })
    }

    /// Measures over the aggregates, each cast to its type; the level; the row count
    /// (0 in grid cells no row reached).
    fn measures(
        &self,
        b: LogicalPlanBuilder,
        measures: &[(usize, Expr)],
    ) -> DfResult<LogicalPlanBuilder> {
        let mut proj: Vec<Expr> = self.dims().iter().map(|&d| col(&names::label(d))).collect();
        proj.extend(self.period_cols());
        if let Some(l) = self.level() {
            proj.push(l.alias(names::LEVEL));
        }
        proj.push(f::coalesce(vec![col(names::ROWS), lit(0i64)]).alias(names::ROWS));
        for (i, e) in measures {
            proj.push(cast(e.clone(), arrow_type(self.defs[*i].ty)).alias(names::measure(*i)));
        }
        proj.extend(self.tops().map(|d| col(&names::top_order(d))));
        b.project(proj)
    }

    /// The grand-total row (`with total`) appended to the segments: every row of
    /// the segmentation (its `where` applied), level 0, every label null. It has the
    /// columns `measures` made, so shares and sorting treat it like any row.
    fn with_total(
        &self,
        b: LogicalPlanBuilder,
        set: &AggSet,
        measures: &[(usize, Expr)],
    ) -> DfResult<LogicalPlanBuilder> {
        let schema = b.schema().clone();
        let typed_null = |name: &str| -> DfResult<Expr> {
            let t = schema.field_with_unqualified_name(name)?.data_type().clone();
            Ok(cast(lit(ScalarValue::Null), t).alias(name))
        };
        let aggs = super::rows::with_rows(set.exprs(), &[]);
        let shared = self.scans.shared_cells(self.s);
        let reduced = if shared.is_none() { self.scans.reduced(self.s) } else { None };
        let mut totals = match (shared, reduced) {
            (Some((pass, cells)), _) => {
                let (rows, aggs) = pass.rows_for(cells, self.sd, set, false)?;
                rows.aggregate(Vec::<Expr>::new(), aggs)?
            }
            (None, Some((shape, rows))) => {
                let mut rows = LogicalPlanBuilder::from(rows);
                if let Some(w) = &self.sd.filter {
                    rows = rows.filter(row(w))?;
                }
                rows.aggregate(Vec::<Expr>::new(), shape.aggregates(set, false))?
            }
            (None, None) => {
                let mut rows = owner_rows_over(self.p, self.sd.owner(), self.over(), self.scans)?;
                if let Some(w) = &self.sd.filter {
                    rows = rows.filter(row(w))?;
                }
                rows.aggregate(self.period_cols(), aggs)?
            }
        };
        if let Some(o) = self.over() {
            // A total for every period, those without rows included.
            let found = totals.build()?;
            let periods = period::all(o, self.period_rows(o)?)?
                .project(vec![col(names::PERIOD).alias("__fp")])?;
            let fields: Vec<String> =
                found.schema().fields().iter().map(|f| f.name().clone()).collect();
            let joined = periods.join_detailed(
                found,
                JoinType::Left,
                (vec!["__fp"], vec![names::PERIOD]),
                None,
                NullEquality::NullEqualsNull,
            )?;
            let cols: Vec<Expr> = fields
                .iter()
                .map(|f| match f == names::PERIOD {
                    true => col("__fp").alias(names::PERIOD),
                    false => col(f).alias(f),
                })
                .collect();
            totals = joined.project(cols)?;
        }
        let mut proj = Vec::new();
        for &d in self.dims() {
            proj.push(typed_null(&names::label(d))?);
        }
        proj.extend(self.period_cols());
        proj.push(lit(0i64).alias(names::LEVEL));
        proj.push(f::coalesce(vec![col(names::ROWS), lit(0i64)]).alias(names::ROWS));
        for (i, e) in measures {
            proj.push(cast(e.clone(), arrow_type(self.defs[*i].ty)).alias(names::measure(*i)));
        }
        for d in self.tops() {
            proj.push(typed_null(&names::top_order(d))?);
        }
        let total = totals.project(proj)?.build()?;
        b.union(total)
    }

    /// What a share divides: the `share of` measure, or the row count; and whether
    /// it is a float.
    fn share_quantity(&self) -> (Expr, bool) {
        match self.sd.share_of {
            Some(i) => (col(&names::measure(i)), self.defs[i].ty == Type::Float),
            None => (col(names::ROWS), false),
        }
    }

    /// Totals by window: over each level (or everything), over each row's parent,
    /// and each `top` label's rank shared by every cell of that label.
    fn shares(&self, mut b: LogicalPlanBuilder) -> DfResult<LogicalPlanBuilder> {
        if self.single_cell() {
            return Ok(b);
        }
        let (q, q_float) = self.share_quantity();
        let dims = self.dims();
        let mut windows = Vec::new();
        // Shares are within the period, under `over`.
        if self.levels() {
            let mut level = self.period_cols();
            level.push(col(names::LEVEL));
            windows.push(window_sum(q.clone(), q_float, level.clone())?.alias(names::TOTAL));
            for lv in (2..=dims.len()).filter(|_| self.parents()) {
                let mut part = level.clone();
                part.extend(dims[..lv - 1].iter().map(|&d| col(&names::label(d))));
                windows.push(window_sum(q.clone(), q_float, part)?.alias(names::parent_total(lv)));
            }
        } else {
            windows.push(window_sum(q, q_float, self.period_cols())?.alias(names::TOTAL));
        }
        // Grid cells no row reached have no rank for a `top` label.
        for d in self.tops() {
            let w = Expr::from(WindowFunction::new(
                datafusion::functions_aggregate::min_max::min_udaf(),
                vec![col(&names::top_order(d))],
            ))
            .partition_by({
                let mut part = vec![col(&names::label(d))];
                part.extend(self.period_cols());
                part
            })
            .build()?
            .alias(names::top_order_in_grid(d));
            windows.push(w);
        }
        // One window node per partitioning: DataFusion plans a node's windows together
        // only when they share their sort keys.
        for w in windows {
            b = b.window(vec![w])?;
        }
        Ok(b)
    }

    /// `share` and `share_of_parent` as columns.
    fn share_exprs(&self) -> DfResult<(Expr, Option<Expr>)> {
        let (q, _) = self.share_quantity();
        // The one row's total is its own quantity (`shares` computes no window).
        let total = if self.single_cell() { q.clone() } else { col(names::TOTAL) };
        let share = div(q.clone(), total);
        if !self.parents() {
            return Ok((share, None));
        }
        let mut case = when(col(names::LEVEL).eq(lit(1i64)), share.clone());
        for lv in 2..=self.dims().len() {
            case = case.when(
                col(names::LEVEL).eq(lit(lv as i64)),
                div(q.clone(), col(&names::parent_total(lv))),
            );
        }
        Ok((share, Some(case.otherwise(lit(ScalarValue::Float64(None)))?)))
    }

    /// `over`: each segment's share quantity, `share` and `share_of_parent` in the
    /// previous period (every period is listed, so the previous row of the segment
    /// ordered by period is the previous period).
    fn changes(&self, b: LogicalPlanBuilder) -> DfResult<LogicalPlanBuilder> {
        use datafusion::functions_window::expr_fn::lag;
        let (q, _) = self.share_quantity();
        let (share, sop) = self.share_exprs()?;
        let mut cols: Vec<Expr> = b.schema().columns().into_iter().map(Expr::Column).collect();
        cols.push(share.alias(names::SHARE));
        if let Some(sop) = sop {
            cols.push(sop.alias(names::SHARE_OF_PARENT));
        }
        let b = b.project(cols)?;
        let mut segment: Vec<Expr> = self.dims().iter().map(|&d| col(&names::label(d))).collect();
        if self.levels() {
            segment.push(col(names::LEVEL));
        }
        let prev = |x: Expr, name: &str| -> DfResult<Expr> {
            Ok(lag(x, Some(1), None)
                .partition_by(segment.clone())
                .order_by(vec![col(names::PERIOD).sort(true, false)])
                .build()?
                .alias(name))
        };
        let mut windows =
            vec![prev(q, names::PREV_QUANTITY)?, prev(col(names::SHARE), names::PREV_SHARE)?];
        if self.parents() {
            windows.push(prev(col(names::SHARE_OF_PARENT), names::PREV_SHARE_OF_PARENT)?);
        }
        b.window(windows)
    }

    /// The sort: subtotals before their children, `top` labels by rank, static
    /// labels in declared order, others by text; nulls (unassigned) last.
    fn sort_keys(&self) -> DfResult<Vec<SortExpr>> {
        let mut sort = Vec::new();
        // Periods in order, the null period (rows without one) last.
        if self.over().is_some() {
            sort.push(col(names::PERIOD).sort(true, false));
        }
        // The grand total first: its labels are null, like the unassigned segment's.
        if self.sd.with_total {
            sort.push(
                when(col(names::LEVEL).eq(lit(0i64)), lit(0i64))
                    .otherwise(lit(1i64))?
                    .sort(true, true),
            );
        }
        for (i, &d) in self.dims().iter().enumerate() {
            let label = col(&names::label(d));
            if self.levels() && i > 0 {
                sort.push(
                    when(col(names::LEVEL).lt_eq(lit(i as i64)), lit(0i64))
                        .otherwise(lit(1i64))?
                        .sort(true, true),
                );
            }
            if self.is_top(d) {
                sort.push(
                    when(label.clone().is_null(), lit(ScalarValue::Int64(None)))
                        .otherwise(col(&names::top_order_in_grid(d)))?
                        .sort(true, false),
                );
            } else if let Some(o) = static_ord(&self.p.dims[d], label.clone())? {
                sort.push(o.sort(true, false));
            } else {
                sort.extend(column_order(&self.p.dims[d], label.clone(), self.scans.portable())?);
            }
            sort.push(label.sort(true, false));
        }
        Ok(sort)
    }

    /// Final columns in cli.md order: labels, level, rows, measures, share,
    /// share_of_parent.
    fn output(&self, b: LogicalPlanBuilder) -> DfResult<LogicalPlan> {
        let (q, _) = self.share_quantity();
        let mut out: Vec<Expr> = Vec::new();
        if let Some(o) = self.over() {
            out.push(period::label(o, col(names::PERIOD)).alias("period"));
        }
        out.extend(
            self.dims()
                .iter()
                .map(|&d| cast(col(&names::label(d)), DataType::Utf8).alias(&self.p.dims[d].name)),
        );
        if self.levels() {
            out.push(col(names::LEVEL).alias("level"));
        }
        out.push(col(names::ROWS).alias("rows"));
        for &i in &self.sd.measures {
            out.push(col(&names::measure(i)).alias(&self.defs[i].name));
        }
        if self.over().is_some() {
            // Computed before the previous period's were looked up (`changes`).
            out.push(col(names::SHARE).alias("share"));
            if self.parents() {
                out.push(col(names::SHARE_OF_PARENT).alias("share_of_parent"));
            }
            // Null for the first period, over a zero or a null, and for rows without
            // a period.
            let in_period = |e: Expr| -> DfResult<Expr> {
                when(col(names::PERIOD).is_null(), lit(ScalarValue::Float64(None))).otherwise(e)
            };
            let growth = div(q.clone(), col(names::PREV_QUANTITY)) - lit(1f64);
            out.push(in_period(growth)?.alias("growth"));
            let change = col(names::SHARE) - col(names::PREV_SHARE);
            out.push(in_period(change)?.alias("share_change"));
            if self.parents() {
                let change = col(names::SHARE_OF_PARENT) - col(names::PREV_SHARE_OF_PARENT);
                out.push(in_period(change)?.alias("parent_share_change"));
            }
        } else {
            let (share, sop) = self.share_exprs()?;
            out.push(share.alias("share"));
            if let Some(sop) = sop {
                out.push(sop.alias("share_of_parent"));
            }
        }
        // One row: nothing to sort.
        if self.single_cell() {
            return b.project(out)?.build();
        }
        // The output columns are computed before the sort, under internal names, and
        // only renamed after it: DataFusion 55 parallelizes a costly projection above
        // a sort by splitting the sorted stream round-robin, and the result then
        // comes back in partition order, not sorted (seen with one-row batches).
        let mut pre: Vec<Expr> = b.schema().columns().into_iter().map(Expr::Column).collect();
        let mut rename = Vec::new();
        for (i, e) in out.into_iter().enumerate() {
            let (inner, name) = match e {
                Expr::Alias(a) => (*a.expr, a.name),
                other => {
                    let n = other.schema_name().to_string();
                    (other, n)
                }
            };
            let slot = format!("__out{i}");
            pre.push(inner.alias(&slot));
            rename.push(col(&slot).alias(name));
        }
        let mut keys = self.sort_keys()?;
        if self.scans.portable() {
            // SQL lets `ORDER BY` name a select-list column, but not use one inside
            // an expression (PostgreSQL refuses `CASE ... ELSE "__og0" END` when
            // `__og0` is a window of the same SELECT): each key that is not a plain
            // column is computed as one first.
            for (i, k) in keys.iter_mut().enumerate() {
                if !matches!(k.expr, Expr::Column(_)) {
                    let slot = format!("__sk{i}");
                    pre.push(std::mem::replace(&mut k.expr, col(&slot)).alias(&slot));
                }
            }
        }
        b.project(pre)?.sort(keys)?.project(rename)?.build()
    }
}

/// A column dimension's order: the labels `order [...]` lists first, as listed;
/// then numbers, dates and timestamps by value (`2` before `10`), text by text.
/// Every label of a column dimension is a value's text, so reading it back cannot
/// fail; the portable plan says so with a plain `CAST` (PostgreSQL, SQLite and
/// MySQL have no `TRY_CAST`), the fast plan keeps `try_cast` as a guard.
fn column_order(d: &DimDef, label: Expr, portable: bool) -> DfResult<Vec<SortExpr>> {
    let DimKind::Column(e) = &d.kind else { return Ok(Vec::new()) };
    let mut keys = Vec::new();
    if let Some(first) = d.order.first() {
        let n = d.order.len() as i64;
        let mut case = when(label.clone().eq(lit(first.as_str())), lit(0i64));
        for (k, l) in d.order.iter().enumerate().skip(1) {
            case = case.when(label.clone().eq(lit(l.as_str())), lit(k as i64));
        }
        keys.push(case.otherwise(lit(n))?.sort(true, false));
    }
    if matches!(e.ty, Type::Int | Type::Float | Type::Date | Type::Timestamp) {
        // Read back from the label's text, so the key is the same whether the label
        // arrives as the value (a column grouped as it is) or as its text.
        let text = cast(label, DataType::Utf8);
        let value =
            if portable { cast(text, arrow_type(e.ty)) } else { try_cast(text, arrow_type(e.ty)) };
        keys.push(value.sort(true, false));
    }
    Ok(keys)
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
