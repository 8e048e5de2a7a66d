//! Segmentations as SQL for other databases (`seg sql`, `seg run --on`): portable
//! plans (`lower::portable`) unparsed for a dialect. The only place that knows
//! DataFusion's unparser; SQL is emitted from plans here and never parsed from users.
//!
//! A market reads a table of the same name; on DuckDB, that name is a CTE that
//! reads the market's files through `read_parquet` / `read_csv` with the declared
//! types. Whatever a dialect cannot express is a diagnostic (E0801) that
//! names the construct and the dialect, never SQL that would run differently.

use crate::check::program::Type;
use crate::check::program::{Checked, Format};
use crate::diagnostic::Diagnostic;
use errors::unportable;

mod ctes;
mod errors;
use crate::lower::{self, DfResult, Scans};
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::unparser::dialect as ud;
use datafusion::sql::unparser::Unparser;
use sqlparser::ast::{Ident, TableAlias, TableFactor, VisitMut, VisitorMut};
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// The databases `seg sql` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Duckdb,
    Postgres,
    Sqlite,
    Mysql,
    Bigquery,
    Snowflake,
}

impl Dialect {
    pub const ALL: [Dialect; 6] = [
        Dialect::Duckdb,
        Dialect::Postgres,
        Dialect::Sqlite,
        Dialect::Mysql,
        Dialect::Bigquery,
        Dialect::Snowflake,
    ];

    /// How the dialect quotes an identifier.
    fn quote(self) -> char {
        if matches!(self, Dialect::Mysql | Dialect::Bigquery) {
            '`'
        } else {
            '"'
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Duckdb => "duckdb",
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
            Dialect::Mysql => "mysql",
            Dialect::Bigquery => "bigquery",
            Dialect::Snowflake => "snowflake",
        }
    }

    pub fn parse(name: &str) -> Option<Dialect> {
        Dialect::ALL.into_iter().find(|d| d.name() == name)
    }

    fn unparser(self) -> Box<dyn ud::Dialect> {
        match self {
            Dialect::Duckdb => Box::new(DuckDb),
            Dialect::Postgres => Box::new(ud::PostgreSqlDialect {}),
            Dialect::Sqlite => Box::new(ud::SqliteDialect {}),
            Dialect::Mysql => Box::new(ud::MySqlDialect {}),
            Dialect::Bigquery => Box::new(ud::BigQueryDialect {}),
            Dialect::Snowflake => Box::new(ud::SnowflakeDialect::new()),
        }
    }

    /// sqlparser's dialect of the same database, to read the SQL back (tests).
    pub fn parser(self) -> Box<dyn sqlparser::dialect::Dialect> {
        use sqlparser::dialect as pd;
        match self {
            Dialect::Duckdb => Box::new(pd::DuckDbDialect {}),
            Dialect::Postgres => Box::new(pd::PostgreSqlDialect {}),
            Dialect::Sqlite => Box::new(pd::SQLiteDialect {}),
            Dialect::Mysql => Box::new(pd::MySqlDialect {}),
            Dialect::Bigquery => Box::new(pd::BigQueryDialect {}),
            Dialect::Snowflake => Box::new(pd::SnowflakeDialect {}),
        }
    }
}

/// DataFusion's DuckDB dialect writes every `/` as `//`, DuckDB's integer
/// division, which floors floats too. seg divides only floats (and writes integer
/// floors as `floor`), so `/` must stay `/`.
struct DuckDb;

impl ud::Dialect for DuckDb {
    fn identifier_quote_style(&self, _: &str) -> Option<char> {
        Some('"')
    }
    fn character_length_style(&self) -> ud::CharacterLengthStyle {
        ud::CharacterLengthStyle::Length
    }
    fn distinct_from_style(&self) -> ud::DistinctFromStyle {
        ud::DistinctFromStyle::FullText
    }
    /// DuckDB has `trim`, not `btrim`.
    fn scalar_function_to_sql_overrides(
        &self,
        unparser: &Unparser,
        func_name: &str,
        args: &[datafusion::logical_expr::Expr],
    ) -> DfResult<Option<sqlparser::ast::Expr>> {
        if func_name != "btrim" {
            return Ok(None);
        }
        unparser.scalar_function_to_sql("trim", args).map(Some)
    }
}

/// Scans of tables with the markets' declared columns: the SQL names a table (on
/// DuckDB, a CTE over the files of that name); the plan never reads a file.
struct TableScans<'a> {
    p: &'a Checked,
}

impl Scans for TableScans<'_> {
    fn scan(&self, market: usize) -> DfResult<LogicalPlan> {
        let m = &self.p.markets[market];
        // `from table "schema.name"` names its table; a file market is a table (or
        // on DuckDB a CTE) of its own name.
        let name = if m.format == Format::Table { &m.path } else { &m.name };
        lower::scan::of_table(name, &m.columns)
    }
    fn table(&self, table: usize) -> DfResult<LogicalPlan> {
        let t = &self.p.tables[table];
        lower::scan::of_table(&t.name, &t.columns)
    }
}

/// The SQL of segmentation `s` in `dialect`. `base` is the spec's folder, which
/// relative data paths are read from (DuckDB's file readers).
pub fn segment_sql(
    p: &Checked,
    s: usize,
    dialect: Dialect,
    base: &Path,
) -> Result<String, Diagnostic> {
    segment_statement(p, s, dialect, base).map(|(sql, _)| sql)
}

/// `segment_sql`, and the columns the statement returns as `seg run` types them.
pub fn segment_statement(
    p: &Checked,
    s: usize,
    dialect: Dialect,
    base: &Path,
) -> Result<(String, arrow::datatypes::SchemaRef), Diagnostic> {
    // Their SQL runs but gives other numbers (open bugs): refused before planning.
    // `migrate`: new and lost entities come out wrong. `over`: shares within a
    // period without a value came out null on DuckDB where seg has numbers.
    if p.segments[s].migrate.is_some() {
        return Err(unportable(p, s, "`migrate`", dialect));
    }
    if p.segments[s].over.is_some() {
        return Err(unportable(p, s, "`over`", dialect));
    }
    let plan = lower::portable::segment_plan(p, s, &TableScans { p })?;
    let plan = lower::portable::without_fences(plan).map_err(|e| {
        let sd = &p.segments[s];
        lower::internal(sd.span, &format!("segmentation `{}`", sd.name), e)
    })?;
    let schema = std::sync::Arc::new(plan.schema().as_arrow().clone());
    if let Some(f) = lower::portable::non_standard(&plan).first() {
        return Err(unportable(p, s, &lower::portable::construct(f), dialect));
    }
    if let Some(what) = dialect_gap(&plan, dialect) {
        return Err(unportable(p, s, &what, dialect));
    }
    let unparser_dialect = dialect.unparser();
    let mut stmt = Unparser::new(unparser_dialect.as_ref()).plan_to_sql(&plan).map_err(|e| {
        // The unparser's message quotes whole plan nodes: its first words suffice.
        let why: String = e.strip_backtrace().chars().take(100).collect();
        unportable(p, s, &format!("a plan shape the SQL writer does not cover ({why}...)"), dialect)
    })?;
    let _ = stmt.visit(&mut Aliases { next: 0 });
    readable(&mut stmt, p, s, dialect);
    let first = match dialect {
        Dialect::Duckdb => readers(p, base, dialect)
            .map_err(|e| lower::internal(p.segments[s].span, "the DuckDB file readers", e))?,
        _ => vec![],
    };
    if let sqlparser::ast::Statement::Query(q) = &mut stmt {
        ctes::lift(q, first, p, s, dialect.quote());
    }
    Ok((format!("{stmt:#};\n"), schema))
}

/// What `plan` uses that `dialect` cannot run with seg's meaning, in the spec's
/// words: the first of grouping sets, `median`, a function (`missing_function`),
/// SQLite's case-blind `like` and its textual dates, and date arithmetic.
fn dialect_gap(plan: &LogicalPlan, dialect: Dialect) -> Option<String> {
    use lower::portable as pt;
    if matches!(dialect, Dialect::Sqlite | Dialect::Mysql) && pt::has_grouping_sets(plan) {
        return Some("`then` subtotals (GROUPING SETS)".into());
    }
    if !matches!(dialect, Dialect::Duckdb | Dialect::Snowflake)
        && pt::uses_aggregate(plan, "median")
    {
        return Some("`median(...)`".into());
    }
    if let Some(what) = missing_function(plan, dialect) {
        return Some(what);
    }
    if dialect == Dialect::Sqlite && pt::uses_like(plan) {
        return Some("`like` (SQLite's ignores case)".into());
    }
    if dialect == Dialect::Sqlite && pt::timestamp_to_date(plan) {
        // SQLite has no date type: the cast keeps the timestamp's whole text.
        return Some("`date(...)` of a timestamp".into());
    }
    // DuckDB and PostgreSQL refuse the cast; SQLite would read the text's leading
    // digits and give a wrong number.
    pt::temporal_as_number(plan).then(|| "arithmetic on dates or times".into())
}

/// The first function of `plan` that `dialect` lacks, or has with another meaning,
/// in the spec's words. Checked against each database's manual; DuckDB, SQLite
/// and PostgreSQL also by running the generated cases.
fn missing_function(plan: &LogicalPlan, dialect: Dialect) -> Option<String> {
    use Dialect::*;
    for (name, first) in lower::portable::scalar_calls(plan) {
        let part = first.as_deref().unwrap_or_default();
        let (lacks, spec) = match name.as_str() {
            // BigQuery's CONTAINS_SUBSTR ignores case; MySQL's INSTR follows the
            // collation; PostgreSQL and SQLite have no `contains`.
            "contains" => (!matches!(dialect, Duckdb | Snowflake), "contains"),
            // Snowflake spells it STARTSWITH.
            "starts_with" => (matches!(dialect, Sqlite | Mysql | Snowflake), "starts_with"),
            // DuckDB's `btrim` is written as `trim` (its SQL dialect, above).
            "btrim" => (!matches!(dialect, Duckdb | Postgres), "trim"),
            // A start of 0 or less counts differently (MySQL gives '', BigQuery and
            // Snowflake start at 1).
            "substr" => (matches!(dialect, Mysql | Bigquery | Snowflake), "substr"),
            "date_part" => {
                // Fields other than these fall back to `date_part(...)`, which only
                // DuckDB, PostgreSQL and Snowflake have; Snowflake's week follows
                // a session setting and it has no `isodow`.
                let simple =
                    matches!(part, "year" | "month" | "day" | "hour" | "minute" | "second");
                let lacks = match dialect {
                    Duckdb | Postgres => false,
                    Snowflake => matches!(part, "week" | "isodow"),
                    Sqlite | Mysql | Bigquery => !simple,
                };
                let spec = match part {
                    "isodow" => "weekday",
                    "quarter" => "quarter",
                    "week" => "week",
                    "day" => "day",
                    "month" => "month",
                    _ => "year",
                };
                (lacks, spec)
            }
            _ => (false, ""),
        };
        if lacks {
            return Some(format!("`{spec}(...)`"));
        }
    }
    None
}

/// DuckDB: a CTE per market and table, named after it, reading its files with
/// the declared types (a code of digits stays text; DuckDB would guess a number).
fn readers(p: &Checked, base: &Path, dialect: Dialect) -> Result<Vec<sqlparser::ast::Cte>, String> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let ctes: Vec<String> = p
        .markets
        .iter()
        .map(|m| (&m.name, &m.path, m.format, &m.columns))
        .chain(p.tables.iter().map(|t| (&t.name, &t.path, t.format, &t.columns)))
        .filter(|(_, _, format, _)| *format != Format::Table)
        .map(|(name, path, format, columns)| {
            let path: PathBuf = base.join(path);
            let path = quote(&path.display().to_string());
            let types = || {
                let fields: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{}: {}", quote(&c.name), quote(duckdb_type(c.ty))))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            };
            let read = match format {
                Format::Csv => format!("read_csv({path}, header = true, columns = {})", types()),
                Format::Json => format!("read_json({path}, columns = {})", types()),
                Format::Parquet | Format::Arrow | Format::Table => {
                    format!("read_parquet({path})")
                }
            };
            format!("{} AS (SELECT * FROM {read})", ident(name))
        })
        .collect();
    // Markets that read database tables need no reader.
    if ctes.is_empty() {
        return Ok(vec![]);
    }
    // Read back as syntax, to stand first in the statement's own `WITH`.
    let text = format!("WITH {} SELECT 1", ctes.join(", "));
    let parsed = sqlparser::parser::Parser::parse_sql(dialect.parser().as_ref(), &text);
    match parsed.as_deref() {
        Ok([sqlparser::ast::Statement::Query(q)]) => {
            Ok(q.with.as_ref().map(|w| w.cte_tables.clone()).unwrap_or_default())
        }
        _ => Err(format!("{parsed:?}")),
    }
}

/// What a seg function that has no standard form stands for, in the spec's words.
/// DuckDB's name of a seg type.
fn duckdb_type(ty: Type) -> &'static str {
    match ty {
        Type::Int => "BIGINT",
        Type::Float => "DOUBLE",
        Type::Bool => "BOOLEAN",
        Type::Date => "DATE",
        Type::Timestamp => "TIMESTAMP",
        Type::Text | Type::Null | Type::Error => "VARCHAR",
    }
}

/// Renames the internal columns after what they hold, so the SQL reads like the
/// spec: a dimension's label (`__d0`) by the dimension's name, a measure (`__m1`)
/// by the measure's, `__rows` as `rows`. A name that any column of the markets and
/// tables, a table, or any identifier already in the statement has is not taken
/// (the internal name stays): a rename never changes what a reference resolves
/// to. The outermost `SELECT`'s aliases are the output names themselves, which
/// nothing refers to (it has no `ORDER BY`), so they do not block.
fn readable(stmt: &mut sqlparser::ast::Statement, p: &Checked, s: usize, dialect: Dialect) {
    use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};
    use std::collections::HashMap;
    let sd = &p.segments[s];
    let mut wanted: Vec<(String, String)> = sd
        .dims
        .iter()
        .map(|&d| (lower::names::label(d), p.dims[d].name.clone()))
        .chain(
            p.seg_measures(s)
                .iter()
                .enumerate()
                .map(|(i, m)| (lower::names::measure(i), m.name.clone())),
        )
        .collect();
    wanted.push((lower::names::ROWS.to_string(), "rows".to_string()));

    let Statement::Query(top) = &*stmt else { return };
    let outer: HashSet<String> = match (top.body.as_ref(), &top.order_by) {
        (SetExpr::Select(sel), None) => sel
            .projection
            .iter()
            .filter_map(|i| match i {
                SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
                _ => None,
            })
            .collect(),
        _ => HashSet::new(),
    };
    let mut taken = names_in_use(p, &*stmt);
    let mut aliases: HashMap<String, usize> = HashMap::new();
    let _ = stmt.visit(&mut SelectAliases {
        f: &mut |a: &mut Ident| *aliases.entry(a.value.clone()).or_insert(0) += 1,
    });
    // An outer alias that also names something inside still blocks.
    taken.extend(aliases.into_iter().filter(|(a, n)| !outer.contains(a) || *n > 1).map(|(a, _)| a));
    let map: HashMap<String, String> = wanted
        .into_iter()
        .filter(|(_, name)| !name.starts_with("__") && !taken.contains(name))
        .collect();
    if map.is_empty() {
        return;
    }
    // Always quoted (`rows` is a keyword), as the unparser quotes for the dialect.
    let quote = dialect.quote();
    let rename = |i: &mut Ident| {
        if let Some(n) = map.get(&i.value) {
            *i = Ident::with_quote(i.quote_style.unwrap_or(quote), n.clone());
        }
    };
    let _ = sqlparser::ast::visit_expressions_mut(stmt, |e| {
        match e {
            Expr::Identifier(i) => rename(i),
            Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last_mut() {
                    rename(last)
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    let _ = stmt.visit(&mut SelectAliases { f: &mut |a: &mut Ident| rename(a) });
}

/// Every name in use: the data's columns, markets (and their paths) and tables,
/// and every identifier of `sql`'s expressions.
fn names_in_use<V: sqlparser::ast::Visit>(p: &Checked, sql: &V) -> HashSet<String> {
    use sqlparser::ast::Expr;
    let mut taken: HashSet<String> = p
        .markets
        .iter()
        .flat_map(|m| {
            m.columns.iter().map(|c| c.name.clone()).chain([m.name.clone(), m.path.clone()])
        })
        .chain(
            p.tables
                .iter()
                .flat_map(|t| t.columns.iter().map(|c| c.name.clone()).chain([t.name.clone()])),
        )
        .collect();
    let _ = sqlparser::ast::visit_expressions(sql, |e| {
        match e {
            Expr::Identifier(i) => {
                taken.insert(i.value.clone());
            }
            Expr::CompoundIdentifier(parts) => taken.extend(parts.iter().map(|i| i.value.clone())),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    taken
}

/// Calls `f` on every `expr AS alias` of every `SELECT`, unions included.
struct SelectAliases<'a> {
    f: &'a mut dyn FnMut(&mut Ident),
}

impl VisitorMut for SelectAliases<'_> {
    type Break = ();
    fn pre_visit_query(&mut self, q: &mut sqlparser::ast::Query) -> ControlFlow<()> {
        fn walk(body: &mut sqlparser::ast::SetExpr, f: &mut dyn FnMut(&mut Ident)) {
            use sqlparser::ast::{SelectItem, SetExpr};
            match body {
                SetExpr::Select(sel) => {
                    for item in sel.projection.iter_mut() {
                        if let SelectItem::ExprWithAlias { alias, .. } = item {
                            f(alias);
                        }
                    }
                }
                SetExpr::SetOperation { left, right, .. } => {
                    walk(left, f);
                    walk(right, f);
                }
                _ => {}
            }
        }
        walk(q.body.as_mut(), self.f);
        ControlFlow::Continue(())
    }
}

/// Names every derived table: SQLite and MySQL require it, and no column refers
/// to one by name.
struct Aliases {
    next: usize,
}

impl Aliases {
    fn fresh(&mut self) -> TableAlias {
        self.next += 1;
        TableAlias {
            explicit: true,
            name: Ident::new(format!("__q{}", self.next)),
            columns: vec![],
            at: None,
        }
    }
}

impl VisitorMut for Aliases {
    type Break = ();
    /// The unparser names derived tables `derived_projection`, `derived_sort`...,
    /// the same name for siblings (PostgreSQL refuses a name given twice): each
    /// gets its own, and this query's references to it follow. Inner queries come
    /// first, so no generic name is left below this one.
    fn post_visit_query(&mut self, q: &mut sqlparser::ast::Query) -> ControlFlow<()> {
        use sqlparser::ast::{Expr, SetExpr};
        let SetExpr::Select(sel) = q.body.as_mut() else { return ControlFlow::Continue(()) };
        let mut renamed: Vec<(String, String)> = Vec::new();
        for twj in sel.from.iter_mut() {
            let joined = twj.joins.iter_mut().map(|j| &mut j.relation);
            for tf in std::iter::once(&mut twj.relation).chain(joined) {
                if let TableFactor::Derived { alias: Some(a), .. } = tf {
                    if a.name.value.starts_with("derived_") {
                        let new = self.fresh();
                        renamed.push((a.name.value.clone(), new.name.value.clone()));
                        *a = new;
                    }
                }
            }
        }
        if !renamed.is_empty() {
            let _ = sqlparser::ast::visit_expressions_mut(q, |e| {
                if let Expr::CompoundIdentifier(parts) = e {
                    if let (2, Some((_, new))) =
                        (parts.len(), renamed.iter().find(|(old, _)| *old == parts[0].value))
                    {
                        parts[0] = Ident::new(new.clone());
                    }
                }
                ControlFlow::<()>::Continue(())
            });
        }
        ControlFlow::Continue(())
    }
    fn post_visit_table_factor(&mut self, t: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Derived { alias: alias @ None, .. } = t {
            *alias = Some(self.fresh());
        }
        ControlFlow::Continue(())
    }
}
