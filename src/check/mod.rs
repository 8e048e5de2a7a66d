//! AST → checked program + diagnostics. Resolves names, types everything, and never
//! stops at the first problem; an error poisons what depends on it instead of
//! cascading into more diagnostics. Knows nothing of DataFusion.

mod derive;
mod dimensions;
pub mod errors;
mod expects;
pub mod expr;
pub mod lock;
mod markets;
pub mod mece;
pub mod program;
mod segments;

use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast;
use expr::RowTyper;
use program::*;
use std::collections::HashMap;

pub use dimensions::default_bin_labels;

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
    ) -> Result<Option<Columns>, SchemaError>;
}

/// Why a schema could not be had; the checker words it (E0504, E0502).
#[derive(Clone, Debug, PartialEq)]
pub enum SchemaError {
    /// The path policy refuses the path.
    Refused { why: String },
    /// The file could not be read as its format. `file` names it as the user
    /// wrote it (the spec's path, or a `--source` replacement).
    Unreadable { file: String, why: String },
}

/// A file's columns as the checker sees them: name, seg type, whether it may hold
/// nulls, and the file's own type name (for messages).
pub type Columns = Vec<(String, Type, bool, String)>;

/// A source that never reads data.
pub struct NoData;

impl SchemaSource for NoData {
    fn schema(&self, _: &str, _: &str, _: Format, _: bool) -> Result<Option<Columns>, SchemaError> {
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
    /// A lookup table (`table ... { key ... }`).
    Lookup(usize),
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

impl Checker {
    fn run(&mut self, ast: &ast::Program, schemas: &dyn SchemaSource) {
        // Tables first: a market may join a table declared after it.
        for item in &ast.items {
            if let ast::ItemKind::Table(t) = &item.kind {
                self.table(t, schemas);
            }
        }
        for item in &ast.items {
            match &item.kind {
                ast::ItemKind::Market(m) => self.market(m, schemas),
                ast::ItemKind::Entity(e) => self.entity(e),
                _ => {}
            }
        }
        for item in &ast.items {
            if let ast::ItemKind::Dimension(d) = &item.kind {
                self.dimension(d, item.span);
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
}

/// A literal widened to the type it is compared with (an int cut point on a float column).
pub fn coerce(v: Value, ty: Type) -> Value {
    match (v, ty) {
        (Value::Int(i), Type::Float) => Value::Float(i as f64),
        (v, _) => v,
    }
}

/// A condition over market `m`'s rows, typed (`seg why --where`, the REPL): the
/// condition and any diagnostics against `text`.
pub fn row_condition(
    p: &program::Checked,
    m: usize,
    e: &crate::syntax::ast::Expr,
) -> Result<program::TExpr, Vec<crate::diagnostic::Diagnostic>> {
    let mut diags = Vec::new();
    let mk = &p.markets[m];
    let t = expr::RowTyper {
        cols: &mk.row_columns,
        scope: format!("market `{}`", mk.name),
        diags: &mut diags,
    }
    .expect_bool(e, "`--where`");
    if diags.iter().any(|d| d.is_error()) {
        Err(diags)
    } else {
        Ok(t)
    }
}
