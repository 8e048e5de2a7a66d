//! One scan for the segmentations of a run that read the same market: the finest
//! cells they all need (every dimension's label code, every `where` as a flag)
//! aggregated once, with each measure's aggregates in parts that combine; each
//! segmentation then rolls its own segments up from those cells.

use super::expr::{col, combine, combine_partial, combines, partial, row, AggSet};
use super::labels::labelled_from;
use super::rows::with_rows;
use super::{codes, market_rows, names, DfResult, Scans};
use crate::check::program::*;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::logical_expr::{lit, Expr, LogicalPlan, LogicalPlanBuilder};

/// The most cells a shared pass may have. Past it the cells cost more to group and
/// roll up than the scans they save.
pub const MAX_CELLS: i64 = 1 << 18;

/// A shared pass: which segmentations read it and where each part of a cell is.
#[derive(Debug)]
pub struct Pass {
    pub market: usize,
    pub segs: Vec<usize>,
    /// Each dimension in the cell code: (dimension, stride, slots).
    dims: Vec<(usize, i64, i64)>,
    /// Each segmentation `where` in the cell code, as a 0/1 flag at a stride.
    filters: Vec<(TExpr, i64)>,
    /// The aggregates computed per cell, in their combinable form, by column name.
    aggs: AggSet,
    /// How many cells the code can take.
    pub cells: i64,
}

/// Why segmentation `s` cannot roll up from a shared pass, if it cannot.
pub fn unshareable(p: &Checked, s: usize, scans: &dyn Scans) -> Option<String> {
    let sd = &p.segments[s];
    if scans.portable() {
        return Some("portable plans scan per segmentation".into());
    }
    if sd.migrate.is_some() || sd.over.is_some() {
        return Some("`over` and `migrate` read periods of their own".into());
    }
    if let Owner::Entity(e) = sd.owner() {
        return Some(format!("it segments entity `{}`", p.entities[e].name));
    }
    for &d in &sd.dims {
        let dd = &p.dims[d];
        if !dd.has_static_labels() || dd.labels.is_empty() {
            return Some(format!("dimension `{}` takes its labels from the data", dd.name));
        }
        if dd.owner != sd.owner() {
            return Some(format!("dimension `{}` labels an entity", dd.name));
        }
    }
    let mut set = AggSet::new(names::MEASURE_AGG);
    for &i in sd.measures.iter().chain(&sd.share_of) {
        set.measure(&p.seg_measures(s)[i].expr, p.seg_measures(s));
    }
    if let Some(a) = set.aggs.iter().find(|a| !combines(a)) {
        let what = match (a.func, a.distinct) {
            (AggFunc::Count, true) => "count(distinct ...)".to_string(),
            (f, _) => format!("{f:?}").to_lowercase(),
        };
        return Some(format!("{what} does not combine across cells"));
    }
    None
}

/// The shared pass over `market` for the segmentations `segs` that can use one
/// (`unshareable` is `None`), taken in order while the cells stay under
/// `MAX_CELLS`; `None` unless two or more take part.
pub fn plan_pass(
    p: &Checked,
    market: usize,
    segs: &[usize],
    scans: &dyn Scans,
) -> DfResult<Option<(Pass, LogicalPlan)>> {
    let mut dims: Vec<usize> = Vec::new();
    let mut filters: Vec<TExpr> = Vec::new();
    let mut taken = Vec::new();
    let mut cells = 1i64;
    for &s in segs {
        let sd = &p.segments[s];
        if sd.owner() != Owner::Market(market) || unshareable(p, s, scans).is_some() {
            continue;
        }
        let mut more = 1i64;
        for d in sd.dims.iter().filter(|d| !dims.contains(d)) {
            more = more.saturating_mul(codes::slots(&p.dims[*d]));
        }
        if sd.filter.as_ref().is_some_and(|f| !filters.contains(f)) {
            more = more.saturating_mul(2);
        }
        match cells.checked_mul(more).filter(|c| *c <= MAX_CELLS) {
            Some(c) => cells = c,
            None => continue,
        }
        dims.extend(sd.dims.iter().filter(|d| !dims.contains(d)).collect::<Vec<_>>());
        if let Some(f) = sd.filter.as_ref().filter(|f| !filters.contains(f)) {
            filters.push(f.clone());
        }
        taken.push(s);
    }
    if taken.len() < 2 {
        return Ok(None);
    }
    let mut set = AggSet::new(names::SHARED_AGG);
    for &s in &taken {
        let sd = &p.segments[s];
        for &i in sd.measures.iter().chain(&sd.share_of) {
            set.measure(&p.seg_measures(s)[i].expr, p.seg_measures(s));
        }
    }
    // Every column the aggregates and the flags read passes the labelling step.
    let mut keep = Vec::new();
    for a in &set.aggs {
        a.arg.iter().chain(&a.filter).for_each(|x| x.columns(&mut keep));
    }
    filters.iter().for_each(|f| f.columns(&mut keep));
    let rows = market_rows(p, market, scans)?;
    let lab =
        labelled_from(rows, p, Owner::Market(market), &dims, None, &keep, &dims, None, scans)?;
    let mut terms = Vec::new();
    let mut stride = 1i64;
    let mut placed = Vec::new();
    let mut add = |term: Expr, slots: i64| {
        let at = stride;
        terms.push((term, at));
        stride *= slots;
        at
    };
    for &d in &dims {
        let at = add(col(&names::code(d)), codes::slots(&p.dims[d]));
        placed.push((d, at, codes::slots(&p.dims[d])));
    }
    let mut flags = Vec::new();
    for f in &filters {
        // A row the `where` does not keep (false or null) gets 0.
        let mut read = Vec::new();
        f.columns(&mut read);
        let at = add(codes::flag_code(row(f), read)?, 2);
        flags.push((f.clone(), at));
    }
    let aggs: Vec<Expr> =
        set.aggs.iter().zip(&set.names).map(|(a, n)| partial(a).alias(n)).collect();
    let aggs = with_rows(aggs, &[]);
    let plan = super::dense::grouped(
        super::cell::fused(lab, terms)?,
        col(names::CELL),
        names::CELL,
        cells,
        aggs,
    )?
    .build()?;
    let pass = Pass { market, segs: taken, dims: placed, filters: flags, aggs: set, cells };
    Ok(Some((pass, plan)))
}

impl Pass {
    /// Segmentation `s`'s rows of the cells: only cells its `where` keeps, each
    /// dimension's code taken back out of the cell code, its aggregates under the
    /// names `set` gives them. With them, the aggregates that combine the cells
    /// into `s`'s own (as `partial` values when `partial`, for `then` subtotals).
    pub fn rows_for(
        &self,
        cells: LogicalPlan,
        sd: &SegDef,
        set: &AggSet,
        partial: bool,
    ) -> DfResult<(LogicalPlanBuilder, Vec<Expr>)> {
        let mut b = LogicalPlanBuilder::from(cells);
        let part = |stride: i64, slots: i64| (col(names::CELL) / lit(stride)) % lit(slots);
        if let Some(f) = &sd.filter {
            let (_, at) = self.filters.iter().find(|(x, _)| x == f).expect("flag in pass");
            b = b.filter(part(*at, 2).eq(lit(1i64)))?;
        }
        let mut proj = vec![col(names::ROWS)];
        for &d in &sd.dims {
            let &(_, at, slots) = self.dims.iter().find(|(x, _, _)| *x == d).expect("dim in pass");
            proj.push(part(at, slots).alias(names::code(d)));
        }
        let mut aggs = vec![agg::sum(col(names::ROWS)).alias(names::ROWS)];
        for (a, n) in set.aggs.iter().zip(&set.names) {
            let i = self.aggs.aggs.iter().position(|x| x == a).expect("aggregate in pass");
            proj.push(col(&self.aggs.names[i]).alias(n));
            let c = col(n);
            aggs.push(if partial { combine_partial(a, c) } else { combine(a, c) }.alias(n));
        }
        Ok((b.project(proj)?, aggs))
    }
}
