//! `expect` and `example` statements: assertions over segmentation results become
//! typed expressions over queries; examples become rows with the labels they expect.

use super::errors;
use super::expr::{lit_value, unify, RowTyper};
use super::program::*;
use super::{coerce, Checker, Table};
use crate::span::Span;
use crate::syntax::ast;

impl Checker {
    pub(super) fn expect(&mut self, e: &ast::Expect, span: Span) {
        match e {
            ast::Expect::Partition { segment } => {
                if let Ok(Some(i)) = self.seg_ref(segment) {
                    self.out.expects.push(ExpectDef::Partition { segment: i, span, proven: None });
                }
            }
            ast::Expect::Assert(expr) => {
                let before = self.diags.len();
                let t = self.assertion(expr);
                if t.ty != Type::Error && t.ty != Type::Bool {
                    self.diags.push(errors::mismatch(
                        t.span,
                        "a condition (bool)",
                        t.ty,
                        "an expect states a condition, e.g. `expect rows(s, \"b2b\") >= 1`",
                    ));
                }
                if self.diags.len() == before {
                    self.out.expects.push(ExpectDef::Assert { expr: t, span });
                }
            }
        }
    }

    /// Types an `expect` expression: like a row expression over no columns, where
    /// calls read numbers off segmentations.
    pub(super) fn assertion(&mut self, e: &ast::Expr) -> TExpr {
        // Rewrite every call into a typed query first, then type the rest with the
        // ordinary row typer over a scope whose "columns" are those queries.
        let mut queries: Vec<(String, SegQuery, Type)> = Vec::new();
        let rewritten = self.rewrite_queries(e, &mut queries);
        let cols: Vec<Column> = queries
            .iter()
            .map(|(n, _, t)| Column { name: n.clone(), ty: *t, nullable: true })
            .collect();
        let typed = RowTyper { cols: &cols, scope: "an expect".into(), diags: &mut self.diags }
            .expr(&rewritten);
        substitute(typed, &queries)
    }

    pub(super) fn rewrite_queries(
        &mut self,
        e: &ast::Expr,
        out: &mut Vec<(String, SegQuery, Type)>,
    ) -> ast::Expr {
        use ast::ExprKind as K;
        let b = |x: &ast::Expr, s: &mut Self, out: &mut Vec<(String, SegQuery, Type)>| {
            Box::new(s.rewrite_queries(x, out))
        };
        let kind = match &e.kind {
            K::Call { func, args, .. } => {
                let ty = self.query(func, args, e.span, out);
                let name = format!("\u{0}q{}", out.len().saturating_sub(1));
                if ty.is_none() {
                    // Already reported; a null literal keeps the rest quiet.
                    return ast::Expr { kind: K::Lit(ast::Lit::Null), span: e.span };
                }
                K::Name(ast::Ident { name, span: e.span })
            }
            K::Name(id) => {
                self.diags.push(errors::bare_name_in_expect(id));
                K::Lit(ast::Lit::Null)
            }
            K::Lit(l) => K::Lit(l.clone()),
            K::Neg(x) => K::Neg(b(x, self, out)),
            K::Not(x) => K::Not(b(x, self, out)),
            K::Binary { op, op_span, lhs, rhs } => K::Binary {
                op: *op,
                op_span: *op_span,
                lhs: b(lhs, self, out),
                rhs: b(rhs, self, out),
            },
            K::Between { expr, low, high, negated } => K::Between {
                expr: b(expr, self, out),
                low: b(low, self, out),
                high: b(high, self, out),
                negated: *negated,
            },
            K::InList { expr, list, negated } => K::InList {
                expr: b(expr, self, out),
                list: list.iter().map(|x| self.rewrite_queries(x, out)).collect(),
                negated: *negated,
            },
            K::IsNull { expr, negated } => {
                K::IsNull { expr: b(expr, self, out), negated: *negated }
            }
            K::Like { expr, pattern, negated } => K::Like {
                expr: b(expr, self, out),
                pattern: b(pattern, self, out),
                negated: *negated,
            },
        };
        ast::Expr { kind, span: e.span }
    }

    pub(super) fn query(
        &mut self,
        func: &ast::Ident,
        args: &[ast::Expr],
        span: Span,
        out: &mut Vec<(String, SegQuery, Type)>,
    ) -> Option<Type> {
        let Some(first) = args.first() else {
            self.diags.push(errors::arity(span, &func.name, "a segmentation and labels", 0));
            return None;
        };
        let ast::ExprKind::Name(seg_id) = &first.kind else {
            self.diags.push(errors::mismatch(
                first.span,
                "a segmentation name",
                Type::Error,
                "write e.g. `share(customers, \"b2b\")`",
            ));
            return None;
        };
        let seg = self.seg_ref(seg_id).ok()??;
        let sd = self.out.segments[seg].clone();
        let measures = self.out.seg_measures(seg);
        let owner = match sd.entity {
            Some(e) => self.out.entities[e].name.clone(),
            None => self.out.markets[sd.market].name.clone(),
        };
        let (what, ty) = match func.name.as_str() {
            "rows" => (QueryWhat::Rows, Type::Int),
            "share" => (QueryWhat::Share, Type::Float),
            "share_of_parent" => (QueryWhat::ShareOfParent, Type::Float),
            "growth" if sd.over.is_some() => (QueryWhat::Growth, Type::Float),
            "share_change" if sd.over.is_some() => (QueryWhat::ShareChange, Type::Float),
            "parent_share_change" if sd.over.is_some() => {
                (QueryWhat::ParentShareChange, Type::Float)
            }
            other => match measures.iter().position(|m| m.name == other) {
                Some(i) => (QueryWhat::Measure(i), measures[i].ty),
                None => {
                    let mut cands: Vec<&str> = vec!["rows", "share", "share_of_parent"];
                    cands.extend(measures.iter().map(|m| m.name.as_str()));
                    self.diags.push(errors::unknown_measure(func.span, other, &owner, cands));
                    return None;
                }
            },
        };
        // `period "2024"` (the last argument) names the period of an `over`.
        let mut labels_args = &args[1..];
        let period = match labels_args.last().map(|a| &a.kind) {
            Some(ast::ExprKind::Call { func: f, args: pa, .. }) if f.name == "period" => {
                let text = match pa.first().map(|x| &x.kind) {
                    Some(ast::ExprKind::Lit(ast::Lit::Text(t))) => t.clone(),
                    Some(ast::ExprKind::Lit(ast::Lit::Int(i))) => i.to_string(),
                    _ => {
                        self.diags.push(errors::period_arg(
                            labels_args[labels_args.len() - 1].span,
                            &sd.name,
                        ));
                        return None;
                    }
                };
                labels_args = &labels_args[..labels_args.len() - 1];
                Some((text, f.span))
            }
            _ => None,
        };
        let changes = matches!(
            what,
            QueryWhat::Growth | QueryWhat::ShareChange | QueryWhat::ParentShareChange
        );
        match (&sd.over, &period) {
            (Some(_), None) => {
                self.diags.push(errors::period_arg(span, &sd.name));
                return None;
            }
            (None, Some((_, pspan))) => {
                self.diags.push(errors::period_without_over(*pspan, &sd.name));
                return None;
            }
            _ => {}
        }
        if changes && labels_args.len() < sd.dims.len() && sd.mode == SegMode::Cross {
            // Growth of a margin is not the sum of the cells' growths.
            self.diags.push(errors::arity(
                span,
                &func.name,
                "every label of the segment",
                labels_args.len(),
            ));
            return None;
        }
        if what == QueryWhat::ParentShareChange && sd.mode != SegMode::Then {
            self.diags.push(errors::arity(span, &func.name, "a `then` segmentation", 0));
            return None;
        }
        // A migration is read by `from` and `to` labels; others by one per dimension.
        let slots = if sd.migrate.is_some() { 2 } else { sd.dims.len() };
        if labels_args.len() > slots {
            self.diags.push(errors::too_many_labels(
                labels_args[slots].span,
                &sd.name,
                slots,
                labels_args.len(),
            ));
            return None;
        }
        let mut labels = Vec::new();
        for (i, a) in labels_args.iter().enumerate() {
            let dim = &self.out.dims[sd.dims[i.min(sd.dims.len() - 1)]];
            let extra = match (sd.migrate.is_some(), i) {
                (true, 0) => Some(MIGRATE_NEW),
                (true, _) => Some(MIGRATE_LOST),
                _ => None,
            };
            match &a.kind {
                ast::ExprKind::Lit(ast::Lit::Text(s)) => {
                    if dim.has_static_labels()
                        && !dim.labels.contains(s)
                        && extra != Some(s.as_str())
                    {
                        let mut cands: Vec<&str> = dim.labels.iter().map(|l| l.as_str()).collect();
                        cands.extend(extra);
                        self.diags.push(errors::unknown_label(a.span, s, &dim.name, cands));
                        return None;
                    }
                    labels.push(Some(s.clone()));
                }
                ast::ExprKind::Lit(ast::Lit::Null) => labels.push(None),
                _ => {
                    self.diags.push(errors::mismatch(
                        a.span,
                        "a label in double quotes",
                        Type::Error,
                        "name segments by their labels, e.g. \"b2b\"",
                    ));
                    return None;
                }
            }
        }
        if labels.is_empty() && what == QueryWhat::ShareOfParent {
            self.diags.push(errors::arity(
                span,
                "share_of_parent",
                "a segmentation and at least one label",
                1,
            ));
            return None;
        }
        if let (Some(o), Some((text, _))) = (&sd.over, &period) {
            // The period as the `period` column shows it; a label that names no
            // period simply finds no row (E0426 when it cannot be a period at all).
            let ok = match o.kind {
                PeriodKind::Calendar(u) => u.parse_label(text).is_some(),
                PeriodKind::Int => text.parse::<i64>().is_ok(),
                PeriodKind::Text => true,
            };
            if !ok {
                let at = args.last().map_or(span, |a| a.span);
                self.diags.push(errors::bad_period(at, text, o.kind));
                return None;
            }
            labels.insert(0, Some(text.clone()));
        }
        out.push((format!("\u{0}q{}", out.len()), SegQuery { what, segment: seg, labels }, ty));
        Some(ty)
    }

    pub(super) fn example(&mut self, e: &ast::Example, span: Span) {
        let before = self.diags.len();
        let owner = match self.tables.get(&e.owner.name) {
            Some((Table::Market(i), _)) => Owner::Market(*i),
            Some((Table::Entity(i), _)) => Owner::Entity(*i),
            Some((Table::Poisoned, _)) => return,
            Some((Table::Lookup(_), _)) => {
                self.diags.push(errors::dimension_on_table(e.owner.span, &e.owner.name));
                return;
            }
            None => {
                let cands: Vec<&str> = self.tables.keys().map(|k| k.as_str()).collect();
                self.diags.push(errors::unknown_owner(e.owner.span, &e.owner.name, cands));
                return;
            }
        };
        let (cols, scope, _) = self.owner_scope(owner);
        let mut fields = Vec::new();
        for (name, c) in &e.fields {
            let Some(col) = cols.iter().find(|x| x.name == name.name) else {
                let cands: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
                self.diags.push(errors::unknown_column(name.span, &name.name, &scope, cands));
                continue;
            };
            let (v, vt) = lit_value(&c.value);
            if unify(col.ty, vt).is_none() {
                self.diags.push(errors::mismatch(
                    c.span,
                    &format!("a {} value", col.ty),
                    vt,
                    &format!("column `{}` is {}", col.name, col.ty),
                ));
                continue;
            }
            fields.push((name.name.clone(), coerce(v, col.ty)));
        }
        let mut expected = Vec::new();
        for (dim_id, label, espan) in &e.expected {
            let Ok(Some(di)) = self.dim_ref(dim_id) else { continue };
            let dim = &self.out.dims[di];
            if dim.owner != owner {
                match dim.owner {
                    Owner::Entity(ei) if matches!(owner, Owner::Market(_)) => {
                        let en = self.out.entities[ei].name.clone();
                        self.diags.push(errors::entity_dim_in_example(dim_id.span, &dim.name, &en));
                    }
                    _ => {
                        let dm = self.out.markets[dim.market].name.clone();
                        let def = dim.span;
                        self.diags.push(errors::foreign_dimension(
                            dim_id.span,
                            &dim.name,
                            &dm,
                            &e.owner.name,
                            def,
                        ));
                    }
                }
                continue;
            }
            match &dim.kind {
                DimKind::Top { .. } => {
                    self.diags.push(errors::data_dependent_in_example(
                        dim_id.span,
                        &dim.name,
                        "`top` ranking",
                    ));
                    continue;
                }
                DimKind::Quantiles { .. } => {
                    self.diags.push(errors::data_dependent_in_example(
                        dim_id.span,
                        &dim.name,
                        "`quantiles` cut",
                    ));
                    continue;
                }
                _ => {}
            }
            if let Some(l) = label {
                if dim.has_static_labels() && !dim.labels.contains(&l.value) {
                    let cands: Vec<&str> = dim.labels.iter().map(|l| l.as_str()).collect();
                    self.diags.push(errors::unknown_label(l.span, &l.value, &dim.name, cands));
                    continue;
                }
            }
            expected.push((di, label.as_ref().map(|l| l.value.clone()), *espan));
        }
        let fields = match owner {
            Owner::Entity(ei) => {
                let spans: Vec<(String, Span)> =
                    e.fields.iter().map(|(n, c)| (n.name.clone(), c.span)).collect();
                let (fields, diags) =
                    super::derive::complete(&self.out.entities[ei], fields, &spans);
                self.diags.extend(diags);
                fields
            }
            Owner::Market(_) => fields,
        };
        if self.diags.len() == before {
            self.out.examples.push(ExampleDef { owner, span, fields, expected });
        }
    }
}

/// Replaces the placeholder columns of an expect with their queries.
fn substitute(mut e: TExpr, queries: &[(String, SegQuery, Type)]) -> TExpr {
    fn walk(e: &mut TExpr, queries: &[(String, SegQuery, Type)]) {
        if let TKind::Col(name) = &e.kind {
            if let Some((_, q, _)) = queries.iter().find(|(n, ..)| n == name) {
                e.kind = TKind::Query(q.clone());
            }
        }
        e.children_mut().into_iter().for_each(|x| walk(x, queries));
    }
    walk(&mut e, queries);
    e
}
