//! AST → checked program + diagnostics. Resolves names, types everything, and never
//! stops at the first problem; an error poisons what depends on it instead of
//! cascading into more diagnostics. Knows nothing of DataFusion.

pub mod errors;
pub mod expr;
pub mod mece;
pub mod program;

use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast;
use expr::{lit_value, unify, AggNames, AggTyper, RowTyper};
use program::*;
use std::collections::HashMap;

/// Where a market's schema comes from when it has no `columns` (and where declared
/// columns are checked against the file). Implemented by the engine, which knows
/// about paths and file formats; the checker only asks.
pub trait SchemaSource {
    /// `Ok(None)`: data may not be read (`--no-data`). `market` lets a run replace a
    /// market's data (`--source`). `declared`: the spec declares the columns, so
    /// types read from the data only cross-check them and may come from a sample;
    /// otherwise they must hold for every row.
    fn schema(
        &self,
        market: &str,
        path: &str,
        format: Format,
        declared: bool,
        span: Span,
    ) -> Result<Option<Vec<(String, Type, bool, String)>>, Diagnostic>;
}

/// A source that never reads data.
pub struct NoData;

impl SchemaSource for NoData {
    fn schema(
        &self,
        _: &str,
        _: &str,
        _: Format,
        _: bool,
        _: Span,
    ) -> Result<Option<Vec<(String, Type, bool, String)>>, Diagnostic> {
        Ok(None)
    }
}

pub struct CheckResult {
    /// Present only when there are no errors.
    pub program: Option<Checked>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn check(ast: &ast::Program, schemas: &dyn SchemaSource) -> CheckResult {
    let mut c = Checker {
        diags: Vec::new(),
        out: Checked::default(),
        tables: HashMap::new(),
        dims: HashMap::new(),
        segs: HashMap::new(),
        poisoned_dims: Vec::new(),
    };
    c.run(ast, schemas);
    let Checker { diags, mut out, .. } = c;
    let mut diags = merge_repeats(diags);
    if !diags.iter().any(|d| d.is_error()) {
        diags.extend(mece::analyse(&mut out));
    }
    let program = (!diags.iter().any(|d| d.is_error())).then_some(out);
    diags.sort_by_key(|d| d.primary_span().map(|s| s.start).unwrap_or(0));
    CheckResult { program, diagnostics: diags }
}

/// One unknown name is one diagnostic, however often it is used: later uses become
/// extra labels on the first.
fn merge_repeats(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for d in diags {
        let mergeable = matches!(
            d.code,
            Code::E0201
                | Code::E0202
                | Code::E0203
                | Code::E0204
                | Code::E0205
                | Code::E0208
                | Code::E0209
        );
        if mergeable {
            if let Some(first) = out.iter_mut().find(|x| x.code == d.code && x.message == d.message)
            {
                if let Some(span) = d.primary_span() {
                    first.labels.push(crate::diagnostic::Label {
                        span,
                        message: Some("also used here".into()),
                    });
                }
                continue;
            }
        }
        out.push(d);
    }
    out
}

/// Format from `as NAME` or else the file extension.
pub fn format_of(path: &str, as_name: Option<&str>) -> Option<Format> {
    let name = match as_name {
        Some(n) => n.to_ascii_lowercase(),
        None => path.rsplit_once('.')?.1.to_ascii_lowercase(),
    };
    Some(match name.as_str() {
        "csv" => Format::Csv,
        "parquet" | "pq" => Format::Parquet,
        "json" | "ndjson" | "jsonl" => Format::Json,
        "arrow" | "ipc" | "feather" => Format::Arrow,
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Table {
    Market(usize),
    Entity(usize),
    /// Defined, but broken: references to it stay quiet.
    Poisoned,
}

struct Checker {
    diags: Vec<Diagnostic>,
    out: Checked,
    /// Markets and entities share one namespace: both can own dimensions.
    tables: HashMap<String, (Table, Span)>,
    dims: HashMap<String, (Option<usize>, Span)>,
    segs: HashMap<String, (Option<usize>, Span)>,
    poisoned_dims: Vec<String>,
}

struct MeasureResolver<'a> {
    defs: &'a [ast::MeasureDef],
    cols: &'a [Column],
    scope: String,
    owner: String,
    state: Vec<State>,
    stack: Vec<usize>,
    done: Vec<Option<MeasureDef>>,
    diags: Vec<Diagnostic>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Todo,
    Busy,
    Done(Type),
}

impl MeasureResolver<'_> {
    fn resolve(&mut self, i: usize) -> Type {
        match self.state[i] {
            State::Done(t) => return t,
            State::Busy => return Type::Error,
            State::Todo => {}
        }
        self.state[i] = State::Busy;
        self.stack.push(i);
        let def = &self.defs[i];
        let mut diags = Vec::new();
        let (expr, ty) = {
            let mut typer = AggTyper {
                cols: self.cols,
                scope: self.scope.clone(),
                owner: self.owner.clone(),
                diags: &mut diags,
            };
            typer.expr(&def.expr, self)
        };
        self.diags.extend(diags);
        let ty = if ty == Type::Null { Type::Float } else { ty };
        self.stack.pop();
        self.state[i] = State::Done(ty);
        self.done[i] =
            Some(MeasureDef { name: def.name.name.clone(), span: def.name.span, expr, ty });
        ty
    }
}

impl AggNames for MeasureResolver<'_> {
    fn sibling(&mut self, name: &str, span: Span) -> Option<(usize, Type)> {
        // The first definition wins; duplicates are reported elsewhere.
        let i = self.defs.iter().position(|d| d.name.name == name)?;
        if self.state[i] == State::Busy {
            let start = self.stack.iter().position(|&s| s == i).unwrap_or(0);
            let mut path: Vec<String> =
                self.stack[start..].iter().map(|&s| self.defs[s].name.name.clone()).collect();
            path.push(name.to_string());
            self.diags.push(errors::cycle(span, &path));
            return Some((i, Type::Error));
        }
        Some((i, self.resolve(i)))
    }

    fn sibling_names(&self) -> Vec<String> {
        self.defs.iter().map(|d| d.name.name.clone()).collect()
    }
}

fn resolve_measures(
    defs: &[ast::MeasureDef],
    cols: &[Column],
    scope: String,
    owner: String,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<MeasureDef>, bool) {
    let mut r = MeasureResolver {
        defs,
        cols,
        scope,
        owner,
        state: vec![State::Todo; defs.len()],
        stack: Vec::new(),
        done: vec![None; defs.len()],
        diags: Vec::new(),
    };
    for i in 0..defs.len() {
        r.resolve(i);
    }
    let ok = r.diags.is_empty();
    diags.extend(r.diags);
    (r.done.into_iter().flatten().collect(), ok)
}

fn type_of_kw(kw: ast::TypeKw) -> Type {
    match kw {
        ast::TypeKw::Int => Type::Int,
        ast::TypeKw::Float => Type::Float,
        ast::TypeKw::Text => Type::Text,
        ast::TypeKw::Bool => Type::Bool,
        ast::TypeKw::Date => Type::Date,
        ast::TypeKw::Timestamp => Type::Timestamp,
    }
}

impl Checker {
    fn run(&mut self, ast: &ast::Program, schemas: &dyn SchemaSource) {
        for item in &ast.items {
            match &item.kind {
                ast::ItemKind::Market(m) => self.market(m, schemas),
                ast::ItemKind::Entity(e) => self.entity(e),
                _ => {}
            }
        }
        for item in &ast.items {
            if let ast::ItemKind::Dimension(d) = &item.kind {
                self.dimension(d);
            }
        }
        for item in &ast.items {
            if let ast::ItemKind::Segment(s) = &item.kind {
                self.segment(s);
            }
        }
        for item in &ast.items {
            match &item.kind {
                ast::ItemKind::Expect(e) => self.expect(e, item.span),
                ast::ItemKind::Example(e) => self.example(e, item.span),
                _ => {}
            }
        }
    }

    /// Types several `where`s and joins them with `and`.
    fn conditions(
        &mut self,
        filters: &[ast::Expr],
        cols: &[Column],
        scope: &str,
        what: &str,
    ) -> Option<TExpr> {
        let mut out: Option<TExpr> = None;
        for f in filters {
            let t = RowTyper { cols, scope: scope.to_string(), diags: &mut self.diags }
                .expect_bool(f, what);
            out = Some(match out {
                None => t,
                Some(prev) => {
                    let span = prev.span.to(t.span);
                    TExpr {
                        kind: TKind::Bin(BinOp::And, Box::new(prev), Box::new(t)),
                        ty: Type::Bool,
                        span,
                    }
                }
            });
        }
        out
    }

    fn declare_table(&mut self, name: &ast::Ident, what: &str, t: Table) -> bool {
        if let Some((_, first)) = self.tables.get(&name.name) {
            self.diags.push(errors::duplicate(name.span, *first, what, &name.name));
            return false;
        }
        self.tables.insert(name.name.clone(), (t, name.span));
        true
    }

    fn market(&mut self, m: &ast::Market, schemas: &dyn SchemaSource) {
        let format = match format_of(&m.source.value, m.format.as_ref().map(|f| f.name.as_str())) {
            Some(f) => Some(f),
            None => {
                self.diags.push(match &m.format {
                    Some(f) => crate::syntax::errors::unknown_format(f.span, &f.name),
                    None => errors::unknown_extension(m.source.span, &m.source.value),
                });
                None
            }
        };
        let declared: Option<Vec<(Column, Span)>> = m.columns.as_ref().map(|block| {
            let mut seen: HashMap<&str, Span> = HashMap::new();
            let mut cols = Vec::new();
            for c in &block.columns {
                if let Some(first) = seen.get(c.name.name.as_str()) {
                    self.diags.push(errors::duplicate(c.name.span, *first, "column", &c.name.name));
                    continue;
                }
                seen.insert(&c.name.name, c.name.span);
                cols.push((
                    Column { name: c.name.name.clone(), ty: type_of_kw(c.ty.kw), nullable: true },
                    c.span,
                ));
            }
            cols
        });
        let mut columns: Vec<Column> = declared
            .as_ref()
            .map(|d| d.iter().map(|(c, _)| c.clone()).collect())
            .unwrap_or_default();
        let mut schema_known = declared.is_some();
        if let Some(format) = format {
            match schemas.schema(
                &m.name.name,
                &m.source.value,
                format,
                declared.is_some(),
                m.source.span,
            ) {
                Ok(None) => {
                    if declared.is_none() {
                        self.diags.push(errors::no_schema(m.name.span, &m.name.name));
                    }
                }
                Ok(Some(file_cols)) => match &declared {
                    None => {
                        columns = file_cols
                            .iter()
                            .map(|(n, t, nullable, _)| Column {
                                name: n.clone(),
                                ty: *t,
                                nullable: *nullable,
                            })
                            .collect();
                        schema_known = true;
                    }
                    Some(decl) => {
                        for (c, span) in decl {
                            match file_cols.iter().find(|(n, ..)| n == &c.name) {
                                None => {
                                    let cands: Vec<&str> =
                                        file_cols.iter().map(|(n, ..)| n.as_str()).collect();
                                    self.diags.push(errors::missing_in_data(
                                        *span,
                                        &c.name,
                                        &m.source.value,
                                        cands,
                                    ));
                                }
                                Some((_, t, nullable, shown)) => {
                                    if !compatible_with_file(c.ty, *t, format) {
                                        self.diags.push(errors::schema_mismatch(
                                            *span,
                                            &c.name,
                                            c.ty,
                                            shown,
                                            &m.source.value,
                                        ));
                                    }
                                    if let Some(col) = columns.iter_mut().find(|x| x.name == c.name)
                                    {
                                        col.nullable = *nullable;
                                    }
                                }
                            }
                        }
                    }
                },
                Err(d) if d.code == Code::E0502 && declared.is_some() => {
                    // The declared schema still stands for later statements (no
                    // cascade), but the data cannot be what it promises.
                    // The file and the reason, as the schema reader worded them (the
                    // file may be a `--source` replacement).
                    let (path, why) = d
                        .message
                        .strip_prefix("cannot read the schema of `")
                        .and_then(|r| r.split_once("`: "))
                        .unwrap_or((&m.source.value, &d.message));
                    self.diags.push(errors::unreadable_declared(m.source.span, path, why));
                }
                Err(d) => self.diags.push(d),
            }
        }
        let scope = format!("market `{}`", m.name.name);
        let filter = if schema_known {
            self.conditions(&m.filters, &columns, &scope, "a market's `where`")
        } else {
            None
        };
        let mut measures = Vec::new();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for md in &m.measures {
            if md.name.name == "rows" {
                self.diags.push(errors::builtin_rows(md.name.span));
            } else if errors::OUTPUT_COLUMNS.contains(&md.name.name.as_str()) {
                self.diags.push(errors::reserved_name(md.name.span, "measure", &md.name.name));
            } else if let Some(first) = seen.get(md.name.name.as_str()) {
                self.diags.push(errors::duplicate(md.name.span, *first, "measure", &md.name.name));
            }
            seen.insert(&md.name.name, md.name.span);
        }
        if schema_known {
            let (ms, _) = resolve_measures(
                &m.measures,
                &columns,
                scope,
                format!("`{}`", m.name.name),
                &mut self.diags,
            );
            measures = ms;
        }
        let ok = schema_known && format.is_some();
        let table = if ok {
            self.out.markets.push(MarketDef {
                name: m.name.name.clone(),
                span: m.name.span,
                path: m.source.value.clone(),
                path_span: m.source.span,
                format: format.unwrap_or(Format::Csv),
                declared,
                columns,
                filter,
                measures,
            });
            Table::Market(self.out.markets.len() - 1)
        } else {
            Table::Poisoned
        };
        self.declare_table(&m.name, "market", table);
    }

    fn entity(&mut self, e: &ast::Entity) {
        let market = self.market_ref(&e.market);
        let table = match market {
            Some(mi) => {
                let mk = &self.out.markets[mi];
                let cols = mk.columns.clone();
                let key = match mk.column(&e.key.name) {
                    Some(k) => Some(k.clone()),
                    None => {
                        let cands: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
                        self.diags.push(errors::unknown_column(
                            e.key.span,
                            &e.key.name,
                            &format!("market `{}`", mk.name),
                            cands,
                        ));
                        None
                    }
                };
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for f in &e.features {
                    if let Some(first) = seen.get(f.name.name.as_str()) {
                        self.diags.push(errors::duplicate(
                            f.name.span,
                            *first,
                            "feature",
                            &f.name.name,
                        ));
                    } else if f.name.name == e.key.name {
                        self.diags.push(errors::duplicate(
                            f.name.span,
                            e.key.span,
                            "feature",
                            &f.name.name,
                        ));
                    }
                    seen.insert(&f.name.name, f.name.span);
                }
                let scope = format!("market `{}`", mk.name);
                let (features, _) = resolve_measures(
                    &e.features,
                    &cols,
                    scope,
                    format!("entity `{}`", e.name.name),
                    &mut self.diags,
                );
                match key {
                    Some(key) => {
                        self.out.entities.push(EntityDef {
                            name: e.name.name.clone(),
                            span: e.name.span,
                            market: mi,
                            key,
                            features,
                        });
                        Table::Entity(self.out.entities.len() - 1)
                    }
                    _ => Table::Poisoned,
                }
            }
            None => Table::Poisoned,
        };
        self.declare_table(&e.name, "entity", table);
    }

    /// Resolves a market name; `None` (with at most one diagnostic) when unusable.
    fn market_ref(&mut self, id: &ast::Ident) -> Option<usize> {
        match self.tables.get(&id.name) {
            Some((Table::Market(i), _)) => Some(*i),
            Some((Table::Poisoned, _)) => None,
            Some((Table::Entity(_), _)) => {
                self.diags.push(errors::unknown_market(id.span, &id.name, vec![]).with_help(
                    format!("`{}` is an entity; segment the market it is `of`", id.name),
                ));
                None
            }
            None => {
                let cands: Vec<&str> = self
                    .tables
                    .iter()
                    .filter(|(_, (t, _))| !matches!(t, Table::Entity(_)))
                    .map(|(k, _)| k.as_str())
                    .collect();
                self.diags.push(errors::unknown_market(id.span, &id.name, cands));
                None
            }
        }
    }

    /// The columns a dimension on `owner` sees, and how to describe them.
    fn owner_scope(&self, owner: Owner) -> (Vec<Column>, String, usize) {
        match owner {
            Owner::Market(i) => (
                self.out.markets[i].columns.clone(),
                format!("market `{}`", self.out.markets[i].name),
                i,
            ),
            Owner::Entity(i) => {
                let e = &self.out.entities[i];
                let mut cols = vec![e.key.clone()];
                cols.extend(e.features.iter().map(|f| Column {
                    name: f.name.clone(),
                    ty: f.ty,
                    nullable: true,
                }));
                (cols, format!("entity `{}`", e.name), e.market)
            }
        }
    }

    fn dimension(&mut self, d: &ast::Dimension) {
        if errors::OUTPUT_COLUMNS.contains(&d.name.name.as_str()) {
            self.diags.push(errors::reserved_name(d.name.span, "dimension", &d.name.name));
        }
        let owner = match self.tables.get(&d.owner.name) {
            Some((Table::Market(i), _)) => Some(Owner::Market(*i)),
            Some((Table::Entity(i), _)) => Some(Owner::Entity(*i)),
            Some((Table::Poisoned, _)) => None,
            None => {
                let cands: Vec<&str> = self.tables.keys().map(|k| k.as_str()).collect();
                self.diags.push(errors::unknown_owner(d.owner.span, &d.owner.name, cands));
                None
            }
        };
        let def = owner.and_then(|owner| {
            let (cols, scope, market) = self.owner_scope(owner);
            let (kind, labels) = self.dim_body(&d.body, &cols, &scope)?;
            Some(DimDef {
                name: d.name.name.clone(),
                span: d.name.span,
                owner,
                market,
                kind,
                labels,
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

    fn dim_body(
        &mut self,
        body: &ast::DimBody,
        cols: &[Column],
        scope: &str,
    ) -> Option<(DimKind, Vec<String>)> {
        let mut typer = RowTyper { cols, scope: scope.to_string(), diags: &mut self.diags };
        fn push_label(labels: &mut Vec<String>, l: &str) {
            if !labels.iter().any(|x| x == l) {
                labels.push(l.to_string());
            }
        }
        Some(match body {
            ast::DimBody::Column(e) => {
                let t = typer.expr(e);
                (DimKind::Column(t), Vec::new())
            }
            ast::DimBody::Top { n, n_span, expr, else_label, .. } => {
                let t = typer.expr(expr);
                if *n == 0 || *n > 10_000 {
                    self.diags.push(errors::bad_count(*n_span, "`top` N", 1, 10_000));
                }
                let other =
                    else_label.as_ref().map(|l| l.value.clone()).unwrap_or_else(|| "other".into());
                (DimKind::Top { n: *n, expr: t, other }, Vec::new())
            }
            ast::DimBody::Mapping { expr, arms, else_label, .. } => {
                let t = typer.expr(expr);
                let mut out_arms = Vec::new();
                let mut labels = Vec::new();
                let mut seen: Vec<(Value, Span, String)> = Vec::new();
                for arm in arms {
                    let mut values = Vec::new();
                    for c in &arm.values {
                        let (v, vt) = lit_value(&c.value);
                        if unify(t.ty, vt).is_none() {
                            self.diags.push(errors::mismatch(
                                c.span,
                                &format!("a {} value", t.ty),
                                vt,
                                &format!(
                                    "the mapped expression is {}; list values of that type",
                                    t.ty
                                ),
                            ));
                            continue;
                        }
                        let v = coerce(v, t.ty);
                        if let Some((_, first, first_label)) = seen.iter().find(|(x, ..)| x == &v) {
                            self.diags.push(errors::duplicate_mapping(
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
                    out_arms.push(MapArm {
                        values,
                        label: arm.label.value.clone(),
                        span: arm.span,
                    });
                }
                if let Some(l) = else_label {
                    push_label(&mut labels, &l.value);
                }
                (
                    DimKind::Map {
                        expr: t,
                        arms: out_arms,
                        else_label: else_label.as_ref().map(|l| l.value.clone()),
                    },
                    labels,
                )
            }
            ast::DimBody::Rules { arms, else_label, partition, .. } => {
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
                (
                    DimKind::Rules {
                        arms: out_arms,
                        else_label: else_label.as_ref().map(|l| l.value.clone()),
                        partition: *partition,
                    },
                    labels,
                )
            }
            ast::DimBody::Bins {
                expr, cuts, cuts_span, closed_right, labels, labels_span, ..
            } => {
                let t = typer.expr(expr);
                if !t.ty.is_ordered() && t.ty != Type::Error {
                    self.diags.push(errors::not_orderable(t.span, "`bins`", t.ty));
                    return None;
                }
                let mut values: Vec<(Value, Span)> = Vec::new();
                // Default labels show cut points as written: `[100, 1000]` on a float
                // column reads "100-1000", not "100.0-1000.0".
                let mut written: Vec<Value> = Vec::new();
                for c in cuts {
                    let (v, vt) = lit_value(&c.value);
                    if t.ty != Type::Error && (unify(t.ty, vt).is_none() || vt == Type::Null) {
                        self.diags.push(errors::mismatch(
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
                    self.diags.push(errors::mismatch(
                        *cuts_span,
                        "at least one cut point",
                        Type::Null,
                        "write the cut points in ascending order, e.g. `[18, 25, 35]`",
                    ));
                }
                for w in values.windows(2) {
                    let (a, b) = (w[0].0.as_f64(), w[1].0.as_f64());
                    if let (Some(a), Some(b)) = (a, b) {
                        if b <= a {
                            self.diags.push(errors::bins_not_ascending(
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
                        if ls.len() != n && values.len() == cuts.len() {
                            self.diags.push(errors::label_count(*labels_span, n, ls.len()));
                        }
                        let mut seen: Vec<&ast::StrLit> = Vec::new();
                        for l in ls {
                            if let Some(first) = seen.iter().find(|x| x.value == l.value) {
                                self.diags.push(errors::duplicate(
                                    l.span,
                                    first.span,
                                    "bin label",
                                    &l.value,
                                ));
                            }
                            seen.push(l);
                        }
                        ls.iter().map(|l| l.value.clone()).collect()
                    }
                    None => default_bin_labels(&written, *closed_right),
                };
                let cuts: Vec<Value> = values.into_iter().map(|v| v.0).collect();
                (
                    DimKind::Bins {
                        expr: t,
                        cuts,
                        closed_right: *closed_right,
                        labels: labels_out.clone(),
                    },
                    labels_out,
                )
            }
            ast::DimBody::Quantiles { expr, n, n_span, .. } => {
                let t = typer.expr(expr);
                if !t.ty.is_ordered() && t.ty != Type::Error {
                    self.diags.push(errors::not_orderable(t.span, "`quantiles`", t.ty));
                    return None;
                }
                if *n < 2 || *n > 1000 {
                    self.diags.push(errors::bad_count(*n_span, "the number of quantiles", 2, 1000));
                    return None;
                }
                let labels = (1..=*n).map(|i| format!("Q{i}")).collect();
                (DimKind::Quantiles { expr: t, n: *n }, labels)
            }
        })
    }

    /// Resolves a dimension name: `Ok(None)` when it exists but is broken.
    fn dim_ref(&mut self, id: &ast::Ident) -> Result<Option<usize>, ()> {
        match self.dims.get(&id.name) {
            Some((i, _)) => Ok(*i),
            None => {
                let cands: Vec<&str> = self.dims.keys().map(|k| k.as_str()).collect();
                self.diags.push(errors::unknown_dimension(id.span, &id.name, cands));
                Err(())
            }
        }
    }

    fn segment(&mut self, s: &ast::Segment) {
        let market = self.market_ref(&s.market);
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
        if let Some(mi) = market {
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
            let mk = &self.out.markets[mi];
            let cols = mk.columns.clone();
            let scope = format!("market `{}`", mk.name);
            filter = self.conditions(&s.filters, &cols, &scope, "a segmentation's `where`");
            let mk = &self.out.markets[mi];
            let names: Vec<String> = mk.measures.iter().map(|m| m.name.clone()).collect();
            let lookup = |id: &ast::Ident, diags: &mut Vec<Diagnostic>| -> Option<Option<usize>> {
                if id.name == "rows" {
                    return Some(None);
                }
                match names.iter().position(|n| n == &id.name) {
                    Some(i) => Some(Some(i)),
                    None => {
                        let mut cands: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
                        cands.push("rows");
                        diags.push(errors::unknown_measure(id.span, &id.name, &mk.name, cands));
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
            }
            for &m in &measures {
                let md = &self.out.markets[mi].measures[m];
                if let Some(&(_, span)) =
                    dims.iter().find(|(d, _)| self.out.dims[*d].name == md.name)
                {
                    self.diags.push(errors::measure_named_like_dimension(span, md.span, &md.name));
                }
            }
        }
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

    fn seg_ref(&mut self, id: &ast::Ident) -> Result<Option<usize>, ()> {
        match self.segs.get(&id.name) {
            Some((i, _)) => Ok(*i),
            None => {
                let cands: Vec<&str> = self.segs.keys().map(|k| k.as_str()).collect();
                self.diags.push(errors::unknown_segment(id.span, &id.name, cands));
                Err(())
            }
        }
    }

    fn expect(&mut self, e: &ast::Expect, span: Span) {
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
    fn assertion(&mut self, e: &ast::Expr) -> TExpr {
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

    fn rewrite_queries(
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
                self.diags.push(
                    Diagnostic::new(Code::E0309, format!("`{}` needs a segmentation to read from", id.name))
                        .with_label(id.span, "a bare name in an expect")
                        .with_help(format!("read a number off a segmentation, e.g. `rows(SEG, \"label\")` or `share(SEG, \"label\")`")),
                );
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
        };
        ast::Expr { kind, span: e.span }
    }

    fn query(
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
        let mk = &self.out.markets[sd.market];
        let (what, ty) = match func.name.as_str() {
            "rows" => (QueryWhat::Rows, Type::Int),
            "share" => (QueryWhat::Share, Type::Float),
            "share_of_parent" => (QueryWhat::ShareOfParent, Type::Float),
            other => match mk.measures.iter().position(|m| m.name == other) {
                Some(i) => (QueryWhat::Measure(i), mk.measures[i].ty),
                None => {
                    let mut cands: Vec<&str> = vec!["rows", "share", "share_of_parent"];
                    cands.extend(mk.measures.iter().map(|m| m.name.as_str()));
                    self.diags.push(errors::unknown_measure(func.span, other, &mk.name, cands));
                    return None;
                }
            },
        };
        let labels_args = &args[1..];
        if labels_args.len() > sd.dims.len() {
            self.diags.push(errors::too_many_labels(
                labels_args[sd.dims.len()].span,
                &sd.name,
                sd.dims.len(),
                labels_args.len(),
            ));
            return None;
        }
        let mut labels = Vec::new();
        for (i, a) in labels_args.iter().enumerate() {
            let dim = &self.out.dims[sd.dims[i]];
            match &a.kind {
                ast::ExprKind::Lit(ast::Lit::Text(s)) => {
                    if dim.has_static_labels() && !dim.labels.contains(s) {
                        let cands: Vec<&str> = dim.labels.iter().map(|l| l.as_str()).collect();
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
        out.push((format!("\u{0}q{}", out.len()), SegQuery { what, segment: seg, labels }, ty));
        Some(ty)
    }

    fn example(&mut self, e: &ast::Example, span: Span) {
        let before = self.diags.len();
        let owner = match self.tables.get(&e.owner.name) {
            Some((Table::Market(i), _)) => Owner::Market(*i),
            Some((Table::Entity(i), _)) => Owner::Entity(*i),
            Some((Table::Poisoned, _)) => return,
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

/// A literal widened to the type it is compared with (an int cut point on a float column).
pub fn coerce(v: Value, ty: Type) -> Value {
    match (v, ty) {
        (Value::Int(i), Type::Float) => Value::Float(i as f64),
        (v, _) => v,
    }
}

/// Whether a column declared `declared` can be read from a file whose column is `file`.
/// CSV and JSON carry no types, so any declaration is applied by the reader; binary
/// formats must agree (ints may widen to float).
fn compatible_with_file(declared: Type, file: Type, format: Format) -> bool {
    match format {
        Format::Csv | Format::Json => true,
        _ => declared == file || (declared == Type::Float && file == Type::Int),
    }
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
