//! The rule analysis proper: what each rule of a dimension matches under the owner's
//! preconditions, and what follows (rules that never match, overlaps, gaps, adjacent
//! ranges), as findings with witnesses. Wording them is `errors.rs`'s job.

use super::boxes::*;
use super::{DimFindings, Finding, Witness};
use crate::check::program::*;
use crate::span::Span;

/// What is known about the rows of an owner (market or entity) before any rule.
fn preconditions(space: &mut Space, p: &Checked, owner: Owner, extra: Option<&TExpr>) -> R<Set> {
    let mut pre = space.full();
    match owner {
        Owner::Market(m) => {
            let mk = &p.markets[m];
            if let Some(f) = &mk.filter {
                pre = space.cond(f)?.0;
            }
            for c in mk.columns.iter().filter(|c| !c.nullable) {
                if let Some(kind) = Space::kind_of(c.ty) {
                    let v = space.var(&c.name, kind, false, Span::default());
                    let nn =
                        space.single(v, ColSet { null: false, vals: ColSet::all_values(kind) });
                    pre = space.intersect(&pre, &nn)?;
                }
            }
        }
        Owner::Entity(e) => {
            // Keys are never null; counts and sums are never null (0 over no values).
            let ent = &p.entities[e];
            let mut nonnull = vec![ent.key.clone()];
            for f in &ent.features {
                if never_null(&f.expr, &ent.features) {
                    nonnull.push(Column { name: f.name.clone(), ty: f.ty, nullable: false });
                }
            }
            for c in nonnull {
                if let Some(kind) = Space::kind_of(c.ty) {
                    let v = space.var(&c.name, kind, false, Span::default());
                    let nn =
                        space.single(v, ColSet { null: false, vals: ColSet::all_values(kind) });
                    pre = space.intersect(&pre, &nn)?;
                }
            }
        }
    }
    if let Some(x) = extra {
        let t = space.cond(x)?.0;
        pre = space.intersect(&pre, &t)?;
    }
    Ok(pre)
}

/// Whether a feature is never null on an entity row: counts and sums of no values
/// are 0, so a rule on `spend` covers entities with no spending; other aggregates
/// and a division (by zero) can be null.
fn never_null(m: &MExpr, all: &[MeasureDef]) -> bool {
    match m {
        MExpr::Agg(a) => matches!(a.func, AggFunc::Count | AggFunc::Sum),
        MExpr::Ref(i, _) => never_null(&all[*i].expr, all),
        MExpr::Lit(v) => !v.is_null(),
        MExpr::Neg(x, _) => never_null(x, all),
        MExpr::Bin(BinOp::Div, ..) => false,
        MExpr::Bin(_, a, b, _) => never_null(a, all) && never_null(b, all),
    }
}

/// The findings on one rules dimension under the owner's preconditions (and `extra`,
/// a segmentation's `where`).
pub(super) fn analyse_rules(
    p: &Checked,
    d: &DimDef,
    arms: &[RuleArm],
    has_else: bool,
    partition: bool,
    extra: Option<&TExpr>,
) -> R<DimFindings> {
    let mut space = Space::new();
    let pre = preconditions(&mut space, p, d.owner, extra)?;
    let mut trues = Vec::new();
    for a in arms {
        let (t, _) = space.cond(&a.cond)?;
        trues.push(space.intersect(&t, &pre)?);
    }
    // A witness names only the columns the rules read; the rest are noise.
    let mut shown = Vec::new();
    for a in arms {
        a.cond.columns(&mut shown);
    }
    let mut findings = Vec::new();
    let mut proven = true;
    if partition {
        for i in 0..arms.len() {
            for j in i + 1..arms.len() {
                let both = space.intersect(&trues[i], &trues[j])?;
                if both.boxes.is_empty() {
                    continue;
                }
                proven = false;
                // No witness when every overlapping box rests on an opaque atom: the
                // overlap is real in the larger space but no row is known to show it.
                if let Some(witness) = space.witness(&both, &shown) {
                    findings.push(Finding::Overlap { first: i, second: j, witness });
                }
            }
        }
    } else {
        // Shadowing: a rule none of whose rows get past the earlier rules.
        let mut before = Set::default();
        for (i, t) in trues.iter().enumerate() {
            if t.boxes.is_empty() {
                findings.push(Finding::Unsatisfiable { rule: i });
            } else if i > 0 && space.minus(t, &before)?.boxes.is_empty() {
                let by = minimal_cover(&space, t, &trues[..i])?;
                findings.push(Finding::Shadowed { rule: i, by });
            }
            space.extend(&mut before, t)?;
        }
    }
    if !has_else {
        let mut all = Set::default();
        for t in &trues {
            space.extend(&mut all, t)?;
        }
        let gap = space.minus(&pre, &all)?;
        if !gap.boxes.is_empty() {
            proven = false;
            if let Some(witness) = space.witness(&gap, &shown) {
                let around = rules_around(&witness, arms, &mut space);
                findings.push(Finding::Gap { witness, around });
            }
        }
    }
    if !partition {
        findings.extend(adjacent_ranges(&mut space, arms));
    }
    Ok(DimFindings { findings, proven })
}

/// A small set of earlier rules that together cover `t`: start from every rule that
/// meets it and drop each one the others still cover without. Not the smallest
/// cover (that is set cover), but every rule named takes some of the rows.
fn minimal_cover(space: &Space, t: &Set, earlier: &[Set]) -> R<Vec<usize>> {
    let mut chosen: Vec<usize> = (0..earlier.len())
        .filter(|&k| space.intersect(t, &earlier[k]).map(|x| !x.boxes.is_empty()).unwrap_or(true))
        .collect();
    let mut i = 0;
    while i < chosen.len() {
        let without: Vec<usize> = chosen.iter().copied().filter(|&k| k != chosen[i]).collect();
        let mut cover = Set::default();
        for &k in &without {
            space.extend(&mut cover, &earlier[k])?;
        }
        if space.minus(t, &cover)?.boxes.is_empty() {
            chosen = without;
        } else {
            i += 1;
        }
    }
    Ok(chosen)
}

/// Rules that have a bound exactly at the witness value (the rules around a hole):
/// what a user must widen, so the report points at them.
fn rules_around(w: &Witness, arms: &[RuleArm], space: &mut Space) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, a) in arms.iter().enumerate() {
        if let Some((col, Some(iv))) = single_range(space, &a.cond) {
            if let Some((_, val)) = w.iter().find(|(c, _)| *c == col) {
                let hits = |x: f64| val.as_f64() == Some(x);
                if hits(iv.lo)
                    || hits(iv.hi)
                    || (iv.hi.is_finite() && hits(iv.hi + 1.0))
                    || (iv.lo.is_finite() && hits(iv.lo - 1.0))
                {
                    out.push(i);
                }
            }
        }
    }
    out
}

/// A condition that is one interval on one numeric column (`age >= 25 and age < 35`):
/// only such rules have ends that can meet, so only they are compared for
/// boundaries counted twice or left out.
fn single_range(space: &mut Space, e: &TExpr) -> Option<(String, Option<Iv>)> {
    let (t, _) = space.cond(e).ok()?;
    let [b] = t.boxes.as_slice() else { return None };
    if b.len() != 1 {
        return None;
    }
    let (v, c) = b.iter().next()?;
    let var = &space.vars[*v];
    if var.opaque || c.null {
        return None;
    }
    match &c.vals {
        Vals::Num(ivs) if ivs.len() == 1 => Some((var.name.clone(), Some(ivs[0]))),
        _ => None,
    }
}

/// Ranges that meet at a boundary both include (double count) or both exclude (hole).
/// A partition reports these as overlaps and gaps already, so only `rules` get them.
fn adjacent_ranges(space: &mut Space, arms: &[RuleArm]) -> Vec<Finding> {
    let ranges: Vec<Option<(String, Option<Iv>)>> =
        arms.iter().map(|a| single_range(space, &a.cond)).collect();
    let kinds: Vec<Option<Kind>> = ranges
        .iter()
        .map(|r| {
            r.as_ref().and_then(|(c, _)| {
                space.vars.iter().find(|v| &v.name == c && !v.opaque).map(|v| v.kind)
            })
        })
        .collect();
    let mut out = Vec::new();
    for i in 0..arms.len() {
        for j in 0..arms.len() {
            if i == j {
                continue;
            }
            let (Some((ci, Some(a))), Some((cj, Some(b)))) = (&ranges[i], &ranges[j]) else {
                continue;
            };
            if ci != cj || a.hi.is_infinite() || b.lo.is_infinite() {
                continue;
            }
            let int = kinds[i] == Some(Kind::Int);
            // `a` ends where `b` starts. Integer ranges are closed, so `< 10` and
            // `>= 10` arrive as [.., 9] and [10, ..]: a hole is a step of two.
            let (double, hole) = if int {
                (a.hi == b.lo, b.lo - a.hi == 2.0)
            } else {
                (a.hi == b.lo && a.hi_in && b.lo_in, a.hi == b.lo && !a.hi_in && !b.lo_in)
            };
            if double || hole {
                let at = if int && hole { a.hi + 1.0 } else { a.hi };
                out.push(Finding::Boundary {
                    ends: i,
                    starts: j,
                    column: ci.clone(),
                    at,
                    both_include: double,
                });
            }
        }
    }
    out
}

/// Whether a row-level expression is proven non-null under the dimension's preconditions.
pub(super) fn non_null(p: &Checked, d: &DimDef, e: &TExpr, extra: Option<&TExpr>) -> R<bool> {
    let Some(c) = column_of(e) else { return Ok(false) };
    let Some(kind) = Space::kind_of(e.ty) else { return Ok(false) };
    let mut space = Space::new();
    let pre = preconditions(&mut space, p, d.owner, extra)?;
    let v = space.var(c, kind, false, e.span);
    let nulls = space.single(v, ColSet { null: true, vals: ColSet::no_values(kind) });
    Ok(space.intersect(&pre, &nulls)?.boxes.is_empty())
}

pub(super) fn analyse_dim(p: &Checked, d: &DimDef, extra: Option<&TExpr>) -> R<DimFindings> {
    match &d.kind {
        DimKind::Rules { arms, else_label, partition } => {
            analyse_rules(p, d, arms, else_label.is_some(), *partition, extra)
        }
        DimKind::Map { else_label: Some(_), .. } | DimKind::Top { .. } => {
            Ok(DimFindings { findings: Vec::new(), proven: true })
        }
        DimKind::Map { expr, arms, else_label: None } => {
            // Total only if the preconditions pin the value to the listed ones.
            let listed: Vec<TExpr> = arms
                .iter()
                .flat_map(|a| {
                    a.values.iter().map(|(v, s)| TExpr {
                        kind: TKind::Lit(v.clone()),
                        ty: expr.ty,
                        span: *s,
                    })
                })
                .collect();
            let as_rule = TExpr {
                kind: TKind::InList { expr: Box::new(expr.clone()), list: listed, negated: false },
                ty: Type::Bool,
                span: expr.span,
            };
            let mut space = Space::new();
            let pre = preconditions(&mut space, p, d.owner, extra)?;
            let (t, _) = space.cond(&as_rule)?;
            Ok(DimFindings {
                findings: Vec::new(),
                proven: space.minus(&pre, &t)?.boxes.is_empty(),
            })
        }
        DimKind::Column(e)
        | DimKind::Bins { expr: e, .. }
        | DimKind::Quantiles { expr: e, .. }
        | DimKind::Pareto { expr: e, .. } => {
            Ok(DimFindings { findings: Vec::new(), proven: non_null(p, d, e, extra)? })
        }
    }
}
