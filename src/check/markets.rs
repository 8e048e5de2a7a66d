//! Markets and entities: their columns (declared or read from the data), filters,
//! measures and features, resolved in dependency order.

use super::errors;
use super::expr::{AggNames, AggTyper};
use super::program::*;
use super::{format_of, Checker, Columns, SchemaError, SchemaSource, Table};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::syntax::ast;
use std::collections::HashMap;

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
        self.done[i] = Some(MeasureDef {
            name: def.name.name.clone(),
            span: def.name.span,
            def_span: def.span,
            expr,
            ty,
        });
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
    pub(super) fn market(&mut self, m: &ast::Market, schemas: &dyn SchemaSource) {
        let format = self.market_format(m);
        let declared = m.columns.as_ref().map(|block| self.declared_columns(block));
        let columns = match format {
            Some(format) => self.market_columns(m, format, declared.as_deref(), schemas),
            None => declared.as_ref().map(|d| d.iter().map(|(c, _)| c.clone()).collect()),
        };
        let scope = format!("market `{}`", m.name.name);
        let (joins, row_columns) = match &columns {
            Some(cols) => self.joins(m, cols),
            None => (Vec::new(), None),
        };
        let filter = match &row_columns {
            Some(cols) => self.conditions(&m.filters, cols, &scope, "a market's `where`"),
            None => None,
        };
        self.measure_names(&m.measures);
        let table = match (format, columns, row_columns) {
            (Some(format), Some(columns), Some(row_columns)) => {
                let (measures, _) = resolve_measures(
                    &m.measures,
                    &row_columns,
                    scope,
                    format!("`{}`", m.name.name),
                    &mut self.diags,
                );
                self.out.markets.push(MarketDef {
                    name: m.name.name.clone(),
                    span: m.name.span,
                    path: m.source.value.clone(),
                    path_span: m.source.span,
                    format,
                    declared,
                    columns,
                    joins,
                    row_columns,
                    filter,
                    measures,
                });
                Table::Market(self.out.markets.len() - 1)
            }
            (None, Some(columns), _) => {
                // The format is broken, but measures are still checked so that
                // their own mistakes show now, not after the fix.
                resolve_measures(
                    &m.measures,
                    &columns,
                    scope,
                    format!("`{}`", m.name.name),
                    &mut self.diags,
                );
                Table::Poisoned
            }
            _ => Table::Poisoned,
        };
        self.declare_table(&m.name, "market", table);
    }

    /// The data format: `as FORMAT`, or the path's extension.
    fn market_format(&mut self, m: &ast::Market) -> Option<Format> {
        if m.db_table {
            return Some(Format::Table);
        }
        let format = format_of(&m.source.value, m.format.as_ref().map(|f| f.name.as_str()));
        if format.is_none() {
            self.diags.push(match &m.format {
                Some(f) => crate::syntax::errors::unknown_format(f.span, &f.name),
                None => errors::unknown_extension(m.source.span, &m.source.value),
            });
        }
        format
    }

    /// `columns { ... }`, each name once, all nullable until the data says otherwise.
    fn declared_columns(&mut self, block: &ast::ColumnsBlock) -> Vec<(Column, Span)> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut cols = Vec::new();
        for c in &block.columns {
            if let Some(first) = seen.get(c.name.name.as_str()) {
                self.diags.push(errors::duplicate(c.name.span, *first, "column", &c.name.name));
                continue;
            }
            seen.insert(&c.name.name, c.name.span);
            let col = Column { name: c.name.name.clone(), ty: type_of_kw(c.ty.kw), nullable: true };
            cols.push((col, c.span));
        }
        cols
    }

    /// The columns seg works with: declared (cross-checked against the file when it
    /// may be read) or read from the file; `None` when neither is possible.
    fn market_columns(
        &mut self,
        m: &ast::Market,
        format: Format,
        declared: Option<&[(Column, Span)]>,
        schemas: &dyn SchemaSource,
    ) -> Option<Vec<Column>> {
        let mut columns: Option<Vec<Column>> =
            declared.map(|d| d.iter().map(|(c, _)| c.clone()).collect());
        let source = &m.source;
        match schemas.schema(&m.name.name, &source.value, format, declared.is_some()) {
            Ok(None) if declared.is_none() && format == Format::Table => {
                self.diags.push(errors::table_without_columns(m.name.span, &m.name.name))
            }
            Ok(None) if declared.is_none() => {
                self.diags.push(errors::no_schema(m.name.span, &m.name.name))
            }
            Ok(None) => {}
            Ok(Some(file_cols)) => match (declared, columns.as_mut()) {
                (Some(decl), Some(cols)) => self.cross_check(m, format, decl, &file_cols, cols),
                _ => {
                    let read = file_cols.iter().map(|(n, t, nullable, _)| Column {
                        name: n.clone(),
                        ty: *t,
                        nullable: *nullable,
                    });
                    columns = Some(read.collect());
                }
            },
            Err(SchemaError::Refused { why }) => {
                self.diags.push(errors::path_refused(source.span, &source.value, &why))
            }
            // The declared schema still stands for later statements (no cascade),
            // but the data cannot be what it promises.
            Err(SchemaError::Unreadable { file, why }) if declared.is_some() => {
                self.diags.push(errors::unreadable_declared(source.span, &file, &why))
            }
            Err(SchemaError::Unreadable { file, why }) => {
                self.diags.push(errors::unreadable(source.span, &file, &why))
            }
        }
        columns
    }

    /// Declared columns against the file's: each must exist with a type the file
    /// can be read as. The file says which columns may hold nulls.
    fn cross_check(
        &mut self,
        m: &ast::Market,
        format: Format,
        declared: &[(Column, Span)],
        file_cols: &Columns,
        columns: &mut [Column],
    ) {
        for (c, span) in declared {
            match file_cols.iter().find(|(n, ..)| n == &c.name) {
                None => {
                    let cands: Vec<&str> = file_cols.iter().map(|(n, ..)| n.as_str()).collect();
                    self.diags.push(errors::missing_in_data(
                        *span,
                        &c.name,
                        &m.source.value,
                        cands,
                    ));
                }
                Some((_, t, nullable, shown)) => {
                    // A Hive partition column is typed by the declaration.
                    if shown != "partition" && !compatible_with_file(c.ty, *t, format) {
                        self.diags.push(errors::schema_mismatch(
                            *span,
                            &c.name,
                            c.ty,
                            shown,
                            &m.source.value,
                        ));
                    }
                    if let Some(col) = columns.iter_mut().find(|x| x.name == c.name) {
                        col.nullable = *nullable;
                    }
                }
            }
        }
    }

    /// Measure names: not `rows` (built in), not an output column, each once.
    fn measure_names(&mut self, measures: &[ast::MeasureDef]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for md in measures {
            if md.name.name == "rows" {
                self.diags.push(errors::builtin_rows(md.name.span));
            } else if errors::OUTPUT_COLUMNS.contains(&md.name.name.as_str()) {
                self.diags.push(errors::reserved_name(md.name.span, "measure", &md.name.name));
            } else if let Some(first) = seen.get(md.name.name.as_str()) {
                self.diags.push(errors::duplicate(md.name.span, *first, "measure", &md.name.name));
            }
            seen.insert(&md.name.name, md.name.span);
        }
    }

    /// `table NAME from "PATH" { columns {...} key COL }`: its columns as a market's
    /// are found (declared, or read from the file), and its key.
    pub(super) fn table(&mut self, t: &ast::Table, schemas: &dyn SchemaSource) {
        // A table reads like a market without a body: reuse the market's checks.
        let as_market = ast::Market {
            name: t.name.clone(),
            db_table: false,
            source: t.source.clone(),
            format: t.format.clone(),
            columns: t.columns.clone(),
            filters: Vec::new(),
            measures: Vec::new(),
            joins: Vec::new(),
        };
        let format = self.market_format(&as_market);
        let declared = t.columns.as_ref().map(|block| self.declared_columns(block));
        let columns = match format {
            Some(f) => self.market_columns(&as_market, f, declared.as_deref(), schemas),
            None => None,
        };
        let key = match (&t.key, &columns) {
            (None, _) => {
                self.diags.push(errors::table_without_key(t.name.span, &t.name.name));
                None
            }
            (Some(k), Some(cols)) => match cols.iter().find(|c| c.name == k.name) {
                Some(c) => Some(c.clone()),
                None => {
                    let cands: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
                    let scope = format!("table `{}`", t.name.name);
                    self.diags.push(errors::unknown_column(k.span, &k.name, &scope, cands));
                    None
                }
            },
            (Some(_), None) => None,
        };
        let table = match (format, columns, key) {
            (Some(format), Some(columns), Some(key)) => {
                self.out.tables.push(TableDef {
                    name: t.name.name.clone(),
                    span: t.name.span,
                    path: t.source.value.clone(),
                    path_span: t.source.span,
                    format,
                    columns,
                    key,
                });
                Table::Lookup(self.out.tables.len() - 1)
            }
            _ => Table::Poisoned,
        };
        self.declare_table(&t.name, "table", table);
    }

    /// A market's joins, and the columns its rows then have (see
    /// `MarketDef::row_columns`); `None` when a join is broken.
    fn joins(&mut self, m: &ast::Market, cols: &[Column]) -> (Vec<JoinDef>, Option<Vec<Column>>) {
        let mut joins = Vec::new();
        let mut broken = false;
        for j in &m.joins {
            let t = match self.tables.get(&j.table.name) {
                Some((Table::Lookup(t), _)) => *t,
                Some((Table::Poisoned, _)) => {
                    broken = true;
                    continue;
                }
                _ => {
                    let cands: Vec<&str> = self
                        .tables
                        .iter()
                        .filter(|(_, (k, _))| matches!(k, Table::Lookup(_)))
                        .map(|(n, _)| n.as_str())
                        .collect();
                    self.diags.push(errors::unknown_table(j.table.span, &j.table.name, cands));
                    broken = true;
                    continue;
                }
            };
            let td = self.out.tables[t].clone();
            let Some(col) = cols.iter().find(|c| c.name == j.column.name) else {
                let cands: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
                let scope = format!("market `{}`", m.name.name);
                self.diags.push(errors::unknown_column(
                    j.column.span,
                    &j.column.name,
                    &scope,
                    cands,
                ));
                broken = true;
                continue;
            };
            if let Some((tt, key)) = &j.key {
                if tt.name != td.name || key.name != td.key.name {
                    self.diags.push(errors::join_not_on_key(key.span, &td.name, &td.key.name));
                    broken = true;
                    continue;
                }
            }
            if col.ty != td.key.ty {
                self.diags.push(errors::join_types(
                    j.span,
                    &col.name,
                    col.ty,
                    &td.name,
                    &td.key.name,
                    td.key.ty,
                ));
                broken = true;
                continue;
            }
            if joins.iter().any(|x: &JoinDef| x.table == t) {
                self.diags.push(errors::duplicate(
                    j.table.span,
                    j.table.span,
                    "join of table",
                    &td.name,
                ));
                broken = true;
                continue;
            }
            joins.push(JoinDef {
                table: t,
                column: col.name.clone(),
                key: td.key.name.clone(),
                span: j.span,
            });
        }
        if broken {
            return (joins, None);
        }
        if joins.is_empty() {
            return (joins, Some(cols.to_vec()));
        }
        // Qualified names always; a bare name only when one source has it.
        let mut sources: Vec<(String, Vec<Column>)> = vec![(m.name.name.clone(), cols.to_vec())];
        for j in &joins {
            let td = &self.out.tables[j.table];
            // A table's columns are null on market rows without a match.
            let nullable =
                td.columns.iter().map(|c| Column { nullable: true, ..c.clone() }).collect();
            sources.push((td.name.clone(), nullable));
        }
        // `join T on id` where T's key is also `id`: the two are equal wherever a row
        // matched, so the table's key gives up its bare name to the market's column.
        let hidden = |i: usize, col: &str| {
            i > 0 && joins.get(i - 1).is_some_and(|j| j.key == col && j.column == col)
        };
        let mut row = Vec::new();
        for (i, (name, cs)) in sources.iter().enumerate() {
            for c in cs {
                let shared = sources.iter().enumerate().any(|(k, (_, other))| {
                    k != i && !hidden(k, &c.name) && other.iter().any(|o| o.name == c.name)
                });
                if !shared && !hidden(i, &c.name) {
                    row.push(c.clone());
                }
                row.push(Column { name: format!("{name}.{}", c.name), ..c.clone() });
            }
        }
        (joins, Some(row))
    }

    pub(super) fn entity(&mut self, e: &ast::Entity) {
        let market = self.market_ref(&e.market);
        let table = match market {
            Some(mi) => {
                let mk = &self.out.markets[mi];
                let cols = mk.row_columns.clone();
                let key = match cols.iter().find(|c| c.name == e.key.name) {
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
                        let mut ent = EntityDef {
                            name: e.name.name.clone(),
                            span: e.name.span,
                            market: mi,
                            key,
                            features,
                            measures: Vec::new(),
                        };
                        self.measure_names(&e.measures);
                        let (measures, _) = resolve_measures(
                            &e.measures,
                            &ent.columns(),
                            format!("entity `{}`", e.name.name),
                            format!("entity `{}`", e.name.name),
                            &mut self.diags,
                        );
                        ent.measures = measures;
                        self.out.entities.push(ent);
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
    pub(super) fn market_ref(&mut self, id: &ast::Ident) -> Option<usize> {
        match self.tables.get(&id.name) {
            Some((Table::Market(i), _)) => Some(*i),
            Some((Table::Poisoned, _)) => None,
            Some((Table::Lookup(_), _)) => {
                self.diags.push(errors::unknown_market(id.span, &id.name, vec![]).with_help(
                    format!(
                        "`{}` is a table; join it to a market: `join {} on COLUMN`",
                        id.name, id.name
                    ),
                ));
                None
            }
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
    pub(super) fn owner_scope(&self, owner: Owner) -> (Vec<Column>, String, usize) {
        match owner {
            Owner::Market(i) => (
                self.out.markets[i].row_columns.clone(),
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
}

/// Whether a column declared `declared` can be read from a file whose column is `file`.
/// CSV and JSON carry no types, so any declaration is applied by the reader; binary
/// formats must agree (ints may widen to float).
fn compatible_with_file(declared: Type, file: Type, format: Format) -> bool {
    match format {
        Format::Csv | Format::Json => true,
        // SQLite keeps dates and times as text: a text column may be declared so.
        Format::Table if file == Type::Text => true,
        _ => declared == file || (declared == Type::Float && file == Type::Int),
    }
}
