//! Segmentations: a market by dimensions (nested with `then`, crossed with `x`),
//! their filter and the measures they report.

use super::errors;
use super::program::*;
use super::{Checker, Table};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::syntax::ast;

impl Checker {
    pub(super) fn segment(&mut self, s: &ast::Segment) {
        // `segment ENTITY by ...` counts entities; otherwise market rows.
        let (market, entity) = match self.tables.get(&s.market.name) {
            Some((Table::Entity(e), _)) => (Some(self.out.entities[*e].market), Some(*e)),
            _ => (self.market_ref(&s.market), None),
        };
        let mut dims = Vec::new();
        let mut broken = market.is_none();
        let mut seen: Vec<&ast::Ident> = Vec::new();
        for d in &s.dims {
            if let Some(first) = seen.iter().find(|x| x.name == d.name) {
                self.diags.push(errors::repeated_dimension(d.span, first.span, &d.name));
            }
            seen.push(d);
            match self.dim_ref(d) {
                Ok(Some(i)) => dims.push((i, d.span)),
                _ => broken = true,
            }
        }
        let then_op = s.ops.iter().find(|o| o.0 == ast::ChainOp::Then);
        let cross_op = s.ops.iter().find(|o| o.0 == ast::ChainOp::Cross);
        if let (Some(t), Some(x)) = (then_op, cross_op) {
            self.diags.push(errors::mixed_chain(t.1, x.1));
        }
        let mode = if then_op.is_some() { SegMode::Then } else { SegMode::Cross };
        let name = match &s.name {
            Some(n) => n.name.clone(),
            None => {
                let mut n = format!("{}_by", s.market.name);
                for (i, d) in s.dims.iter().enumerate() {
                    if i > 0 {
                        n.push_str(if mode == SegMode::Then { "_then" } else { "_x" });
                    }
                    n.push('_');
                    n.push_str(&d.name);
                }
                n
            }
        };
        let name_span = s.name.as_ref().map(|n| n.span).unwrap_or(s.span);
        let mut filter: Option<TExpr> = None;
        let mut measures = Vec::new();
        let mut share_of = None;
        if let (Some(_), Some(e)) = (market, entity) {
            // An entity segmentation groups entity rows: only the entity's own
            // dimensions label them.
            for &(d, span) in &dims {
                if self.out.dims[d].owner != Owner::Entity(e) {
                    let ent = &self.out.entities[e].name;
                    self.diags.push(errors::not_on_entity(span, &self.out.dims[d].name, ent));
                    broken = true;
                }
            }
        } else if let Some(mi) = market {
            // Dimensions must label this market; name the mismatch precisely.
            let foreign: Vec<&(usize, Span)> =
                dims.iter().filter(|(d, _)| self.out.dims[*d].market != mi).collect();
            if let Some(&&(d, span)) = foreign.first() {
                let other = foreign
                    .iter()
                    .find(|(o, _)| self.out.dims[*o].market != self.out.dims[d].market);
                let dm = &self.out.markets[self.out.dims[d].market].name;
                match other {
                    Some(&&(o, ospan)) => {
                        let om = &self.out.markets[self.out.dims[o].market].name;
                        self.diags.push(errors::unrelated_markets(span, dm, ospan, om));
                    }
                    None => {
                        let def = self.out.dims[d].span;
                        self.diags.push(errors::foreign_dimension(
                            span,
                            &self.out.dims[d].name,
                            dm,
                            &self.out.markets[mi].name,
                            def,
                        ));
                    }
                }
            }
        }
        if let Some(mi) = market {
            let owner = match entity {
                Some(e) => Owner::Entity(e),
                None => Owner::Market(mi),
            };
            let (cols, scope, _) = self.owner_scope(owner);
            filter = self.conditions(&s.filters, &cols, &scope, "a segmentation's `where`");
            let owner_measures = match entity {
                Some(e) => self.out.entities[e].measures.clone(),
                None => self.out.markets[mi].measures.clone(),
            };
            let owner_name = match entity {
                Some(e) => self.out.entities[e].name.clone(),
                None => self.out.markets[mi].name.clone(),
            };
            let names: Vec<String> = owner_measures.iter().map(|m| m.name.clone()).collect();
            let lookup = |id: &ast::Ident, diags: &mut Vec<Diagnostic>| -> Option<Option<usize>> {
                if id.name == "rows" {
                    return Some(None);
                }
                match names.iter().position(|n| n == &id.name) {
                    Some(i) => Some(Some(i)),
                    None => {
                        let mut cands: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
                        cands.push("rows");
                        diags.push(errors::unknown_measure(id.span, &id.name, &owner_name, cands));
                        None
                    }
                }
            };
            match &s.measures {
                Some((list, _)) => {
                    for id in list {
                        if let Some(Some(i)) = lookup(id, &mut self.diags) {
                            if !measures.contains(&i) {
                                measures.push(i);
                            }
                        }
                    }
                }
                None => measures = (0..names.len()).collect(),
            }
            if let Some(id) = &s.share_of {
                share_of = lookup(id, &mut self.diags).flatten();
                // A share divides numbers: `share of` a text `mode` has no meaning.
                if let Some(i) = share_of {
                    let md = &owner_measures[i];
                    if !md.ty.is_numeric() && md.ty != Type::Error {
                        self.diags.push(errors::mismatch(
                            id.span,
                            "a number",
                            md.ty,
                            "`share of` divides a measure that adds up, such as `sum(revenue)`",
                        ));
                        share_of = None;
                    }
                }
            }
            for &m in &measures {
                let md = &owner_measures[m];
                if let Some(&(_, span)) =
                    dims.iter().find(|(d, _)| self.out.dims[*d].name == md.name)
                {
                    self.diags.push(errors::measure_named_like_dimension(span, md.span, &md.name));
                }
            }
        }
        let over = match (s.over.first(), market) {
            (Some(o), Some(mi)) => {
                if let Some(again) = s.over.get(1) {
                    self.diags.push(errors::over_twice(again.kw_span, o.kw_span));
                }
                let over = self.over(o, mi);
                broken |= over.is_none();
                over
            }
            _ => None,
        };
        let migrate = match (&s.migrate, market) {
            (Some(mg), Some(mi)) => {
                let m = self.migrate(s, mg, mi, entity, &dims);
                broken |= m.is_none();
                m
            }
            _ => None,
        };
        let index = if !broken {
            self.out.segments.push(SegDef {
                name: name.clone(),
                span: name_span,
                market: market.unwrap_or(0),
                dims: dims.iter().map(|d| d.0).collect(),
                mode,
                filter,
                measures,
                share_of,
                with_total: s.with_total,
                entity,
                over,
                migrate,
            });
            Some(self.out.segments.len() - 1)
        } else {
            None
        };
        if let Some((_, first)) = self.segs.get(&name) {
            self.diags.push(errors::duplicate(name_span, *first, "segmentation", &name));
            return;
        }
        self.segs.insert(name, (index, name_span));
    }

    /// `over EXPR [by UNIT]`, typed over the market's rows (an entity segmentation's
    /// periods are its market rows' too: features are computed per period).
    fn over(&mut self, o: &ast::Over, market: usize) -> Option<OverDef> {
        use crate::calendar::PeriodUnit;
        let (cols, scope, _) = self.owner_scope(Owner::Market(market));
        let expr =
            super::expr::RowTyper { cols: &cols, scope, diags: &mut self.diags }.expr(&o.expr);
        let kind = match (expr.ty, &o.unit) {
            (Type::Error, _) => return None,
            (Type::Date | Type::Timestamp, Some(u)) => match PeriodUnit::parse(&u.name) {
                Some(unit) => PeriodKind::Calendar(unit),
                None => {
                    self.diags.push(errors::unknown_period_unit(u.span, &u.name));
                    return None;
                }
            },
            (Type::Date | Type::Timestamp, None) => {
                self.diags.push(errors::over_date_without_unit(expr.span, expr.ty));
                return None;
            }
            (Type::Int, None) => PeriodKind::Int,
            (Type::Text, None) => PeriodKind::Text,
            (ty, Some(u)) => {
                self.diags.push(errors::unit_on_non_date(u.span, expr.span, ty));
                return None;
            }
            (ty, None) => {
                self.diags.push(errors::not_a_period(expr.span, ty));
                return None;
            }
        };
        Some(OverDef { expr, kind, span: o.span })
    }

    /// `migrate`: one dimension, on the entity the segmentation counts; periods
    /// that `over` can name.
    fn migrate(
        &mut self,
        s: &ast::Segment,
        mg: &ast::Migrate,
        market: usize,
        entity: Option<usize>,
        dims: &[(usize, Span)],
    ) -> Option<MigrateDef> {
        let mut ok = true;
        if let Some(o) = s.over.first() {
            self.diags.push(errors::migrate_with_over(o.kw_span, mg.kw_span));
            ok = false;
        }
        if entity.is_none() {
            let on_entity = dims.iter().find_map(|&(d, _)| match self.out.dims[d].owner {
                Owner::Entity(e) => Some(self.out.entities[e].name.clone()),
                Owner::Market(_) => None,
            });
            self.diags.push(errors::migrate_not_entity(mg.kw_span, &s.market.name, on_entity));
            ok = false;
        }
        if let Some(&(_, span)) = dims.get(1) {
            self.diags.push(errors::migrate_one_dimension(span, mg.kw_span));
            ok = false;
        }
        // A total or a `where` would need a period to read features from.
        if s.with_total || !s.filters.is_empty() {
            let what = if s.with_total { "with total" } else { "where" };
            self.diags.push(errors::migrate_clause(mg.kw_span, what));
            ok = false;
        }
        for &(d, span) in dims {
            let dd = &self.out.dims[d];
            if let Some(l) = dd.labels.iter().find(|l| *l == MIGRATE_NEW || *l == MIGRATE_LOST) {
                self.diags.push(errors::migrate_reserved_label(span, dd.span, l));
                ok = false;
            }
        }
        let over = self.over(&mg.over, market)?;
        let mut period = |(text, span): &(String, Span)| -> Option<PeriodValue> {
            let v = over.parse_period(text);
            if v.is_none() {
                self.diags.push(errors::bad_period(*span, text, over.kind));
            }
            v
        };
        let (from, to) = (period(&mg.from), period(&mg.to));
        match (from, to, ok) {
            (Some(from), Some(to), true) => Some(MigrateDef { over, from, to }),
            _ => None,
        }
    }

    pub(super) fn seg_ref(&mut self, id: &ast::Ident) -> Result<Option<usize>, ()> {
        match self.segs.get(&id.name) {
            Some((i, _)) => Ok(*i),
            None => {
                let cands: Vec<&str> = self.segs.keys().map(|k| k.as_str()).collect();
                self.diags.push(errors::unknown_segment(id.span, &id.name, cands));
                Err(())
            }
        }
    }
}
