//! Every definition and reference of a spec's names, from its AST: what go to
//! definition, find references, rename and the symbol lists read. Built from the
//! statements that parse, so it works while the user is typing.

use crate::span::Span;
use crate::syntax::ast::*;

/// What a name stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Market,
    Table,
    Entity,
    Dimension,
    Segment,
    Measure,
    Feature,
    Column,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Market => "market",
            Kind::Table => "table",
            Kind::Entity => "entity",
            Kind::Dimension => "dimension",
            Kind::Segment => "segmentation",
            Kind::Measure => "measure",
            Kind::Feature => "feature",
            Kind::Column => "column",
        }
    }

    /// Names of these kinds live in one namespace per spec (markets and entities
    /// are both owners; a segmentation may be named like its market).
    pub fn top_level(self) -> bool {
        matches!(self, Kind::Market | Kind::Table | Kind::Entity | Kind::Dimension | Kind::Segment)
    }
}

/// A named thing: its kind, the market, entity or table it belongs to ("" for
/// top-level ones) and its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sym {
    pub kind: Kind,
    pub scope: String,
    pub name: String,
}

/// One place a symbol is written.
#[derive(Clone, Debug)]
pub struct Occ {
    pub sym: usize,
    pub span: Span,
    pub def: bool,
    /// For a definition: the whole statement or item it defines.
    pub full: Span,
}

#[derive(Default, Debug)]
pub struct Index {
    pub syms: Vec<Sym>,
    pub occs: Vec<Occ>,
}

impl Index {
    /// `read`: columns read from data files, per market or table, with the span of
    /// the file's path (their definition, for navigation).
    pub fn build(program: &Program, read: &[(String, Vec<String>, Span)]) -> Index {
        let mut ix = Index::default();
        for item in &program.items {
            ix.defs(item);
        }
        for (scope, cols, at) in read {
            for c in cols {
                if ix.find(Kind::Column, scope, c).is_none_or(|s| !ix.is_defined(s)) {
                    let sym = ix.sym(Kind::Column, scope, c);
                    ix.occs.push(Occ { sym, span: *at, def: true, full: *at });
                }
            }
        }
        for item in &program.items {
            ix.refs(item);
        }
        ix
    }

    fn sym(&mut self, kind: Kind, scope: &str, name: &str) -> usize {
        let s = Sym { kind, scope: scope.to_string(), name: name.to_string() };
        match self.syms.iter().position(|x| *x == s) {
            Some(i) => i,
            None => {
                self.syms.push(s);
                self.syms.len() - 1
            }
        }
    }

    fn def(&mut self, kind: Kind, scope: &str, id: &Ident, full: Span) {
        let sym = self.sym(kind, scope, &id.name);
        self.occs.push(Occ { sym, span: id.span, def: true, full });
    }

    fn find(&self, kind: Kind, scope: &str, name: &str) -> Option<usize> {
        self.syms.iter().position(|s| s.kind == kind && s.scope == scope && s.name == name)
    }

    fn is_defined(&self, sym: usize) -> bool {
        self.occs.iter().any(|o| o.sym == sym && o.def)
    }

    /// Records a reference to the first of `candidates` that is defined.
    fn reference(&mut self, id: &Ident, candidates: &[(Kind, &str)]) {
        for &(kind, scope) in candidates {
            if let Some(sym) = self.find(kind, scope, &id.name).filter(|&s| self.is_defined(s)) {
                self.occs.push(Occ { sym, span: id.span, def: false, full: id.span });
                return;
            }
        }
    }

    fn defs(&mut self, item: &Item) {
        match &item.kind {
            ItemKind::Market(m) => {
                self.def(Kind::Market, "", &m.name, item.span);
                let scope = m.name.name.clone();
                for c in m.columns.iter().flat_map(|b| &b.columns) {
                    self.def(Kind::Column, &scope, &c.name, c.span);
                }
                for me in &m.measures {
                    self.def(Kind::Measure, &scope, &me.name, me.span);
                }
            }
            ItemKind::Table(t) => {
                self.def(Kind::Table, "", &t.name, item.span);
                for c in t.columns.iter().flat_map(|b| &b.columns) {
                    self.def(Kind::Column, &t.name.name, &c.name, c.span);
                }
            }
            ItemKind::Entity(e) => {
                self.def(Kind::Entity, "", &e.name, item.span);
                for f in &e.features {
                    self.def(Kind::Feature, &e.name.name, &f.name, f.span);
                }
                for me in &e.measures {
                    self.def(Kind::Measure, &e.name.name, &me.name, me.span);
                }
            }
            ItemKind::Dimension(d) => self.def(Kind::Dimension, "", &d.name, item.span),
            ItemKind::Segment(s) => {
                if let Some(n) = &s.name {
                    self.def(Kind::Segment, "", n, item.span);
                }
            }
            ItemKind::Expect(_) | ItemKind::Example(_) => {}
        }
    }

    fn owner_ref(&mut self, id: &Ident) {
        self.reference(id, &[(Kind::Market, ""), (Kind::Entity, "")]);
    }

    fn refs(&mut self, item: &Item) {
        match &item.kind {
            ItemKind::Market(m) => {
                let scope = m.name.name.as_str();
                let names = [(Kind::Measure, scope), (Kind::Column, scope)];
                for me in &m.measures {
                    self.expr(&me.expr, &names);
                }
                for f in &m.filters {
                    self.expr(f, &names);
                }
                for j in &m.joins {
                    self.reference(&j.table, &[(Kind::Table, "")]);
                    self.reference(&j.column, &[(Kind::Column, scope)]);
                    if let Some((t, k)) = &j.key {
                        self.reference(t, &[(Kind::Table, "")]);
                        self.reference(k, &[(Kind::Column, t.name.as_str())]);
                    }
                }
            }
            ItemKind::Table(t) => {
                if let Some(k) = &t.key {
                    self.reference(k, &[(Kind::Column, t.name.name.as_str())]);
                }
            }
            ItemKind::Entity(e) => {
                self.reference(&e.market, &[(Kind::Market, "")]);
                let (en, mk) = (e.name.name.as_str(), e.market.name.as_str());
                self.reference(&e.key, &[(Kind::Column, mk)]);
                let names = [(Kind::Feature, en), (Kind::Column, mk)];
                for f in e.features.iter().chain(&e.measures) {
                    self.expr(&f.expr, &names);
                }
            }
            ItemKind::Dimension(d) => {
                self.owner_ref(&d.owner);
                let names = self.owner_names(&d.owner.name);
                let names: Vec<(Kind, &str)> =
                    names.iter().map(|(k, s)| (*k, s.as_str())).collect();
                match &d.body {
                    DimBody::Column(e, _)
                    | DimBody::Top { expr: e, .. }
                    | DimBody::Mapping { expr: e, .. }
                    | DimBody::Bins { expr: e, .. }
                    | DimBody::Pareto { expr: e, .. }
                    | DimBody::Quantiles { expr: e, .. } => self.expr(e, &names),
                    DimBody::Rules { arms, .. } => {
                        for a in arms {
                            self.expr(&a.cond, &names);
                        }
                    }
                }
            }
            ItemKind::Segment(s) => {
                self.owner_ref(&s.market);
                for d in &s.dims {
                    self.reference(d, &[(Kind::Dimension, "")]);
                }
                let owned = self.owner_names(&s.market.name);
                let names: Vec<(Kind, &str)> =
                    owned.iter().map(|(k, s)| (*k, s.as_str())).collect();
                for f in &s.filters {
                    self.expr(f, &names);
                }
                let owner = s.market.name.as_str();
                for m in s.measures.iter().flat_map(|(ms, _)| ms).chain(&s.share_of) {
                    self.reference(m, &[(Kind::Measure, owner)]);
                }
                for o in s.over.iter().chain(s.migrate.as_ref().map(|m| &m.over)) {
                    self.expr(&o.expr, &names);
                }
            }
            ItemKind::Expect(Expect::Partition { segment }) => {
                self.reference(segment, &[(Kind::Segment, "")]);
            }
            ItemKind::Expect(Expect::Assert(e)) => self.expect_expr(e),
            ItemKind::Example(x) => {
                self.owner_ref(&x.owner);
                let owned = self.owner_names(&x.owner.name);
                let names: Vec<(Kind, &str)> =
                    owned.iter().map(|(k, s)| (*k, s.as_str())).collect();
                for (f, _) in &x.fields {
                    self.reference(f, &names);
                }
                for (d, _, _) in &x.expected {
                    self.reference(d, &[(Kind::Dimension, "")]);
                }
            }
        }
    }

    /// Where a name in an expression over `owner`'s rows may point: an entity's
    /// features, then its market's columns; a market's measures, then columns.
    fn owner_names(&self, owner: &str) -> Vec<(Kind, String)> {
        let market = self.entity_market(owner);
        match market {
            Some(m) => vec![
                (Kind::Feature, owner.to_string()),
                (Kind::Measure, owner.to_string()),
                (Kind::Column, m),
            ],
            None => vec![(Kind::Measure, owner.to_string()), (Kind::Column, owner.to_string())],
        }
    }

    /// The market an entity reads, from its `of` reference.
    pub fn entity_market(&self, entity: &str) -> Option<String> {
        let e = self.find(Kind::Entity, "", entity)?;
        let def = self.occs.iter().find(|o| o.sym == e && o.def)?;
        // The entity's `of MARKET` is the first market reference inside its statement.
        self.occs
            .iter()
            .filter(|o| !o.def && def.full.contains(o.span))
            .find(|o| self.syms[o.sym].kind == Kind::Market)
            .map(|o| self.syms[o.sym].name.clone())
    }

    fn expr(&mut self, e: &Expr, names: &[(Kind, &str)]) {
        match &e.kind {
            ExprKind::Lit(_) => {}
            ExprKind::Name(id) => self.reference(id, names),
            ExprKind::Neg(x) | ExprKind::Not(x) => self.expr(x, names),
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(lhs, names);
                self.expr(rhs, names);
            }
            ExprKind::Between { expr, low, high, .. } => {
                self.expr(expr, names);
                self.expr(low, names);
                self.expr(high, names);
            }
            ExprKind::InList { expr, list, .. } => {
                self.expr(expr, names);
                for x in list {
                    self.expr(x, names);
                }
            }
            ExprKind::IsNull { expr, .. } => self.expr(expr, names),
            ExprKind::Like { expr, pattern, .. } => {
                self.expr(expr, names);
                self.expr(pattern, names);
            }
            ExprKind::Call { args, filter, .. } => {
                for a in args {
                    self.expr(a, names);
                }
                if let Some(f) = filter {
                    self.expr(f, names);
                }
            }
        }
    }

    /// `expect share(customers, "b2b") > 10%`: a query's first argument is a
    /// segmentation.
    fn expect_expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Call { args, .. } => {
                if let Some(Expr { kind: ExprKind::Name(id), .. }) = args.first() {
                    self.reference(id, &[(Kind::Segment, "")]);
                }
            }
            ExprKind::Neg(x) | ExprKind::Not(x) | ExprKind::IsNull { expr: x, .. } => {
                self.expect_expr(x)
            }
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expect_expr(lhs);
                self.expect_expr(rhs);
            }
            ExprKind::Between { expr, low, high, .. } => {
                self.expect_expr(expr);
                self.expect_expr(low);
                self.expect_expr(high);
            }
            _ => {}
        }
    }

    /// The occurrence at byte `offset`, if a name is written there.
    pub fn at(&self, offset: usize) -> Option<&Occ> {
        let o = offset as u32;
        self.occs.iter().find(|x| x.span.start <= o && o <= x.span.end)
    }

    pub fn definition(&self, sym: usize) -> Option<&Occ> {
        self.occs.iter().find(|o| o.sym == sym && o.def)
    }

    pub fn occurrences(&self, sym: usize) -> impl Iterator<Item = &Occ> {
        self.occs.iter().filter(move |o| o.sym == sym)
    }

    /// A symbol that `name` would clash with if `sym` were renamed to it.
    pub fn clash(&self, sym: usize, name: &str) -> Option<&Sym> {
        let s = &self.syms[sym];
        self.syms.iter().enumerate().find_map(|(i, o)| {
            let same_space = if s.kind.top_level() {
                o.kind.top_level()
            } else {
                !o.kind.top_level() && o.scope == s.scope
            };
            (i != sym && same_space && o.name == name && self.is_defined(i)).then_some(o)
        })
    }
}
