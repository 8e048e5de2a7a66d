//! Dimensions: every kind of labelling (a column, mappings, bins, quantiles, top-N,
//! rules and partitions) checked against its owner's columns.

use super::errors;
use super::expr::{lit_value, unify, RowTyper};
use super::program::*;
use super::{coerce, Checker, Table};
use crate::span::Span;
use crate::syntax::ast;

impl Checker {
    pub(super) fn dimension(&mut self, d: &ast::Dimension, def_span: Span) {
        if errors::OUTPUT_COLUMNS.contains(&d.name.name.as_str()) {
            self.diags.push(errors::reserved_name(d.name.span, "dimension", &d.name.name));
        }
        let owner = match self.tables.get(&d.owner.name) {
            Some((Table::Market(i), _)) => Some(Owner::Market(*i)),
            Some((Table::Entity(i), _)) => Some(Owner::Entity(*i)),
            Some((Table::Poisoned, _)) => None,
            Some((Table::Lookup(_), _)) => {
                self.diags.push(errors::dimension_on_table(d.owner.span, &d.owner.name));
                None
            }
            None => {
                let cands: Vec<&str> = self.tables.keys().map(|k| k.as_str()).collect();
                self.diags.push(errors::unknown_owner(d.owner.span, &d.owner.name, cands));
                None
            }
        };
        let def = owner.and_then(|owner| {
            // A Pareto split ranks entities; a market's rows are not ranked.
            if let (ast::DimBody::Pareto { span, .. }, Owner::Market(m)) = (&d.body, owner) {
                let market = self.out.markets[m].name.clone();
                self.diags.push(errors::pareto_outside_entity(*span, &market));
                return None;
            }
            let (cols, scope, market) = self.owner_scope(owner);
            let (kind, labels) = self.dim_body(&d.body, &cols, &scope)?;
            let order = match (&d.body, &kind) {
                (ast::DimBody::Column(_, Some(vals)), DimKind::Column(e)) => {
                    self.label_order(vals, e.ty)
                }
                _ => Vec::new(),
            };
            Some(DimDef {
                name: d.name.name.clone(),
                span: d.name.span,
                def_span,
                owner,
                market,
                kind,
                labels,
                order,
            })
        });
        let index = match def {
            Some(def) => {
                self.out.dims.push(def);
                Some(self.out.dims.len() - 1)
            }
            _ => None,
        };
        if let Some((_, first)) = self.dims.get(&d.name.name) {
            self.diags.push(errors::duplicate(d.name.span, *first, "dimension", &d.name.name));
            return;
        }
        if index.is_none() {
            self.poisoned_dims.push(d.name.name.clone());
        }
        self.dims.insert(d.name.name.clone(), (index, d.name.span));
    }

    /// `order [...]` of a column dimension: values of the column's type, each once,
    /// as the labels they become.
    fn label_order(&mut self, vals: &[ast::Constant], ty: Type) -> Vec<String> {
        let mut out: Vec<(String, Span)> = Vec::new();
        for c in vals {
            let (v, vt) = lit_value(&c.value);
            if ty != Type::Error && (unify(ty, vt).is_none() || vt == Type::Null) {
                self.diags.push(errors::mismatch(
                    c.span,
                    &format!("a {ty} value"),
                    vt,
                    "`order` lists values of the dimension's column",
                ));
                continue;
            }
            let Some(label) = coerce(v, ty).label() else { continue };
            if let Some((_, first)) = out.iter().find(|(l, _)| *l == label) {
                self.diags.push(errors::order_repeats(c.span, *first, &label));
                continue;
            }
            out.push((label, c.span));
        }
        out.into_iter().map(|(l, _)| l).collect()
    }

    /// A dimension's kind and its labels in declared order (`else` last), checked
    /// against the owner's columns; `None` when it cannot label anything.
    pub(super) fn dim_body(
        &mut self,
        body: &ast::DimBody,
        cols: &[Column],
        scope: &str,
    ) -> Option<(DimKind, Vec<String>)> {
        let mut typer = RowTyper { cols, scope: scope.to_string(), diags: &mut self.diags };
        let t = &mut typer;
        Some(match body {
            ast::DimBody::Column(e, _) => (DimKind::Column(t.expr(e)), Vec::new()),
            ast::DimBody::Top { n, n_span, expr, else_label, .. } => {
                top(t, *n, *n_span, expr, else_label.as_ref())
            }
            ast::DimBody::Mapping { expr, arms, else_label, .. } => {
                mapping(t, expr, arms, else_label.as_ref())
            }
            ast::DimBody::Rules { arms, else_label, partition, .. } => {
                rules(t, arms, else_label.as_ref(), *partition)
            }
            ast::DimBody::Bins {
                expr, cuts, cuts_span, closed_right, labels, labels_span, ..
            } => bins(t, expr, cuts, *cuts_span, *closed_right, labels.as_deref(), *labels_span)?,
            ast::DimBody::Pareto { expr, cuts, cuts_span, labels, labels_span, .. } => {
                pareto(t, expr, cuts, *cuts_span, labels.as_deref(), *labels_span)?
            }
            ast::DimBody::Quantiles { expr, n, n_span, cuts, labels, labels_span, .. } => {
                quantiles(t, expr, *n, *n_span, cuts.as_deref(), labels.as_deref(), *labels_span)?
            }
        })
    }

    /// Resolves a dimension name: `Ok(None)` when it exists but is broken.
    pub(super) fn dim_ref(&mut self, id: &ast::Ident) -> Result<Option<usize>, ()> {
        match self.dims.get(&id.name) {
            Some((i, _)) => Ok(*i),
            None => {
                let cands: Vec<&str> = self.dims.keys().map(|k| k.as_str()).collect();
                self.diags.push(errors::unknown_dimension(id.span, &id.name, cands));
                Err(())
            }
        }
    }
}

/// Adds a label once, keeping the first position: two arms may give one label.
fn push_label(labels: &mut Vec<String>, l: &str) {
    if !labels.iter().any(|x| x == l) {
        labels.push(l.to_string());
    }
}

/// `top N expr [else "label"]`: labels come from the data.
fn top(
    typer: &mut RowTyper,
    n: u64,
    n_span: Span,
    expr: &ast::Expr,
    else_label: Option<&ast::StrLit>,
) -> (DimKind, Vec<String>) {
    let t = typer.expr(expr);
    if n == 0 || n > 10_000 {
        typer.diags.push(errors::bad_count(n_span, "`top` N", 1, 10_000));
    }
    let other = else_label.map(|l| l.value.clone()).unwrap_or_else(|| "other".into());
    (DimKind::Top { n, expr: t, other }, Vec::new())
}

/// `expr { "a", "b" => "label", ... }`: each value under one label only.
fn mapping(
    typer: &mut RowTyper,
    expr: &ast::Expr,
    arms: &[ast::MapArm],
    else_label: Option<&ast::StrLit>,
) -> (DimKind, Vec<String>) {
    let t = typer.expr(expr);
    let mut out_arms = Vec::new();
    let mut labels = Vec::new();
    let mut seen: Vec<(Value, Span, String)> = Vec::new();
    for arm in arms {
        let mut values = Vec::new();
        for c in &arm.values {
            let (v, vt) = lit_value(&c.value);
            if unify(t.ty, vt).is_none() {
                typer.diags.push(errors::mismatch(
                    c.span,
                    &format!("a {} value", t.ty),
                    vt,
                    &format!("the mapped expression is {}; list values of that type", t.ty),
                ));
                continue;
            }
            let v = coerce(v, t.ty);
            if let Some((_, first, first_label)) = seen.iter().find(|(x, ..)| x == &v) {
                typer.diags.push(errors::duplicate_mapping(
                    c.span,
                    *first,
                    &v.to_string(),
                    &arm.label.value,
                    first_label,
                ));
                continue;
            }
            seen.push((v.clone(), c.span, arm.label.value.clone()));
            values.push((v, c.span));
        }
        push_label(&mut labels, &arm.label.value);
        out_arms.push(MapArm { values, label: arm.label.value.clone(), span: arm.span });
    }
    if let Some(l) = else_label {
        push_label(&mut labels, &l.value);
    }
    let else_label = else_label.map(|l| l.value.clone());
    (DimKind::Map { expr: t, arms: out_arms, else_label }, labels)
}

/// `rules { cond => "label", ... }` (first match) or `partition { ... }` (one match).
fn rules(
    typer: &mut RowTyper,
    arms: &[ast::RuleArm],
    else_label: Option<&ast::StrLit>,
    partition: bool,
) -> (DimKind, Vec<String>) {
    let mut out_arms = Vec::new();
    let mut labels = Vec::new();
    for arm in arms {
        let cond = typer.expect_bool(&arm.cond, "a rule's condition");
        push_label(&mut labels, &arm.label.value);
        out_arms.push(RuleArm { cond, label: arm.label.value.clone(), span: arm.span });
    }
    if let Some(l) = else_label {
        push_label(&mut labels, &l.value);
    }
    let else_label = else_label.map(|l| l.value.clone());
    (DimKind::Rules { arms: out_arms, else_label, partition }, labels)
}

/// `bins expr [cuts] [labels]`: cut points ascending, of the value's type; one
/// more label than cuts.
fn bins(
    typer: &mut RowTyper,
    expr: &ast::Expr,
    cuts: &[ast::Constant],
    cuts_span: Span,
    closed_right: bool,
    labels: Option<&[ast::StrLit]>,
    labels_span: Span,
) -> Option<(DimKind, Vec<String>)> {
    let t = typer.expr(expr);
    if !t.ty.is_ordered() && t.ty != Type::Error {
        typer.diags.push(errors::not_orderable(t.span, "`bins`", t.ty));
        return None;
    }
    let mut values: Vec<(Value, Span)> = Vec::new();
    // Default labels show cut points as written: `[100, 1000]` on a float
    // column reads "100-1000", not "100.0-1000.0".
    let mut written: Vec<Value> = Vec::new();
    for c in cuts {
        let (v, vt) = lit_value(&c.value);
        if t.ty != Type::Error && (unify(t.ty, vt).is_none() || vt == Type::Null) {
            typer.diags.push(errors::mismatch(
                c.span,
                &format!("a {} cut point", t.ty),
                vt,
                "cut points have the type of the binned value",
            ));
            continue;
        }
        written.push(v.clone());
        values.push((coerce(v, t.ty), c.span));
    }
    if cuts.is_empty() {
        typer.diags.push(errors::mismatch(
            cuts_span,
            "at least one cut point",
            Type::Null,
            "write the cut points in ascending order, e.g. `[18, 25, 35]`",
        ));
    }
    for w in values.windows(2) {
        if let (Some(a), Some(b)) = (w[0].0.as_f64(), w[1].0.as_f64()) {
            if b <= a {
                typer.diags.push(errors::bins_not_ascending(
                    w[1].1,
                    w[0].1,
                    &w[1].0.to_string(),
                    &w[0].0.to_string(),
                ));
            }
        }
    }
    let n = values.len() + 1;
    let labels_out: Vec<String> = match labels {
        Some(ls) => {
            // A count off because of a bad cut point was reported already.
            if ls.len() != n && values.len() == cuts.len() {
                typer.diags.push(errors::label_count(labels_span, n, ls.len()));
            }
            let mut seen: Vec<&ast::StrLit> = Vec::new();
            for l in ls {
                if let Some(first) = seen.iter().find(|x| x.value == l.value) {
                    typer.diags.push(errors::duplicate(l.span, first.span, "bin label", &l.value));
                }
                seen.push(l);
            }
            ls.iter().map(|l| l.value.clone()).collect()
        }
        None => default_bin_labels(&written, closed_right),
    };
    let cuts: Vec<Value> = values.into_iter().map(|v| v.0).collect();
    Some((DimKind::Bins { expr: t, cuts, closed_right, labels: labels_out.clone() }, labels_out))
}

/// `quantiles expr N [labels [...]]` (labels Q1..QN by default) or `quantiles expr
/// [50%, 90%] [labels [...]]` (labels P0-50, P50-90, P90-100 by default).
fn quantiles(
    typer: &mut RowTyper,
    expr: &ast::Expr,
    n: u64,
    n_span: Span,
    cuts: Option<&[ast::Constant]>,
    labels: Option<&[ast::StrLit]>,
    labels_span: Span,
) -> Option<(DimKind, Vec<String>)> {
    let t = typer.expr(expr);
    if !t.ty.is_ordered() && t.ty != Type::Error {
        typer.diags.push(errors::not_orderable(t.span, "`quantiles`", t.ty));
        return None;
    }
    let fractions = match cuts {
        Some(cs) => Some(quantile_cuts(typer, cs, n_span)?),
        None if !(2..=1000).contains(&n) => {
            typer.diags.push(errors::bad_count(n_span, "the number of quantiles", 2, 1000));
            return None;
        }
        None => None,
    };
    let groups = fractions.as_ref().map_or(n as usize, |f| f.len() + 1);
    let labels: Vec<String> = match labels {
        Some(ls) => group_labels(typer, ls, groups, labels_span)?,
        None => match &fractions {
            None => (1..=n).map(|i| format!("Q{i}")).collect(),
            Some(f) => {
                let mut ends = vec![0.0];
                ends.extend(f.iter().copied());
                ends.push(1.0);
                ends.windows(2)
                    .map(|w| format!("P{}-{}", format_percent(w[0]), format_percent(w[1])))
                    .collect()
            }
        },
    };
    let kind =
        DimKind::Quantiles { expr: t, n: groups as u64, cuts: fractions, labels: labels.clone() };
    Some((kind, labels))
}

/// `pareto EXPR [80%, 95%] [labels [...]]`: numbers, cuts as for quantiles, labels
/// `A`, `B`, ... by default. Whether the owner is an entity is checked by the caller,
/// which knows it.
fn pareto(
    typer: &mut RowTyper,
    expr: &ast::Expr,
    cuts: &[ast::Constant],
    cuts_span: Span,
    labels: Option<&[ast::StrLit]>,
    labels_span: Span,
) -> Option<(DimKind, Vec<String>)> {
    let t = typer.expr(expr);
    if !t.ty.is_numeric() && t.ty != Type::Error {
        typer.diags.push(errors::mismatch(
            t.span,
            "a number",
            t.ty,
            "`pareto` ranks entities by a number that adds up, such as `spend`",
        ));
        return None;
    }
    let fractions = quantile_cuts(typer, cuts, cuts_span)?;
    let groups = fractions.len() + 1;
    let labels: Vec<String> = match labels {
        Some(ls) => group_labels(typer, ls, groups, labels_span)?,
        None if groups <= 26 => {
            (0..groups).map(|i| ((b'A' + i as u8) as char).to_string()).collect()
        }
        None => (1..=groups).map(|i| format!("G{i}")).collect(),
    };
    Some((DimKind::Pareto { expr: t, cuts: fractions, labels: labels.clone() }, labels))
}

/// Cut fractions: numbers (`50%` or `0.5`) strictly inside (0, 1), ascending.
fn quantile_cuts(typer: &mut RowTyper, cuts: &[ast::Constant], span: Span) -> Option<Vec<f64>> {
    if cuts.is_empty() || cuts.len() > 999 {
        typer.diags.push(errors::bad_count(span, "the number of quantile cuts", 1, 999));
        return None;
    }
    let mut out: Vec<f64> = Vec::new();
    for c in cuts {
        let f = match &c.value {
            ast::Lit::Percent(x) | ast::Lit::Float(x) => *x,
            ast::Lit::Int(i) => *i as f64,
            _ => f64::NAN,
        };
        let after = out.last().copied().unwrap_or(0.0);
        if !(f > after && f < 1.0) {
            typer.diags.push(errors::bad_quantile_cut(c.span, after));
            return None;
        }
        out.push(f);
    }
    Some(out)
}

/// Given labels of quantile or pareto groups: one per group, each once.
fn group_labels(
    typer: &mut RowTyper,
    ls: &[ast::StrLit],
    groups: usize,
    span: Span,
) -> Option<Vec<String>> {
    if ls.len() != groups {
        typer.diags.push(errors::quantile_label_count(span, groups, ls.len()));
        return None;
    }
    let mut seen: Vec<&ast::StrLit> = Vec::new();
    for l in ls {
        if let Some(first) = seen.iter().find(|x| x.value == l.value) {
            typer.diags.push(errors::duplicate(l.span, first.span, "label", &l.value));
            return None;
        }
        seen.push(l);
    }
    Some(ls.iter().map(|l| l.value.clone()).collect())
}

pub fn default_bin_labels(cuts: &[Value], closed_right: bool) -> Vec<String> {
    let s: Vec<String> = cuts.iter().map(|c| c.label().unwrap_or_default()).collect();
    let mut out = Vec::new();
    if s.is_empty() {
        return vec!["all".into()];
    }
    if closed_right {
        out.push(format!("<= {}", s[0]));
    } else {
        out.push(format!("< {}", s[0]));
    }
    for w in s.windows(2) {
        out.push(format!("{}-{}", w[0], w[1]));
    }
    if closed_right {
        out.push(format!("> {}", s[s.len() - 1]));
    } else {
        out.push(format!("{}+", s[s.len() - 1]));
    }
    out
}
