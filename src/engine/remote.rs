//! Running segmentations inside a database (`seg run --on URL`): each one's SQL
//! (`sql::segment_statement`) is sent through the database's client crate, and the rows
//! come back as Arrow batches of the portable plan's schema, so that output is
//! what `seg run` prints.
//!
//! Credentials come from the URL or the client's environment (`PGPASSWORD`...) and
//! are never printed: messages name the URL with its password masked.

use super::session::EngineError;
use crate::check::program::Checked;
use crate::sql::Dialect;
use arrow::array::{ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A database `--on` names.
pub enum Target {
    Postgres(String),
    Sqlite(PathBuf),
    /// `duckdb:FILE`, or `duckdb::memory:` for a database with no tables (file
    /// markets only: DuckDB reads the files itself).
    Duckdb(Option<PathBuf>),
}

impl Target {
    /// `postgres://...` (or `postgresql://`), `sqlite:FILE`.
    pub fn parse(url: &str) -> Result<Target, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Target::Postgres(url.to_string()));
        }
        if let Some(file) = url.strip_prefix("sqlite:") {
            return Ok(Target::Sqlite(PathBuf::from(file.trim_start_matches("//"))));
        }
        if let Some(file) = url.strip_prefix("duckdb:") {
            if !cfg!(feature = "duckdb") {
                return Err("duckdb: needs a seg built with the `duckdb` feature (docs/databases.md); or write the SQL with `seg sql --dialect duckdb` and run it in DuckDB".into());
            }
            let file = file.trim_start_matches("//");
            return Ok(Target::Duckdb((file != ":memory:").then(|| PathBuf::from(file))));
        }
        Err(format!(
            "`{}` is not a database URL seg knows: use postgres://USER@HOST/DB, duckdb:FILE or sqlite:FILE",
            masked(url)
        ))
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Target::Postgres(_) => Dialect::Postgres,
            Target::Sqlite(_) => Dialect::Sqlite,
            Target::Duckdb(_) => Dialect::Duckdb,
        }
    }
}

/// `url` with any password replaced by `***`.
pub fn masked(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(x) => x,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// An open connection.
pub enum Remote {
    Postgres(Box<postgres::Client>),
    Sqlite(rusqlite::Connection),
    #[cfg(feature = "duckdb")]
    Duckdb(duckdb::Connection),
}

impl Remote {
    pub fn connect(target: &Target) -> Result<Remote, EngineError> {
        match target {
            Target::Postgres(url) => postgres::Client::connect(url, postgres::NoTls)
                .map(|c| Remote::Postgres(Box::new(c)))
                .map_err(|e| {
                    EngineError::database(format!("cannot connect to {}: {e}", masked(url)))
                }),
            // Read only: seg never writes to a database it runs in.
            Target::Sqlite(path) => rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map(Remote::Sqlite)
            .map_err(|e| EngineError::database(format!("cannot open {}: {e}", path.display()))),
            #[cfg(feature = "duckdb")]
            Target::Duckdb(path) => {
                let opened = match path {
                    // Read only, as for SQLite.
                    Some(path) => duckdb::Config::default()
                        .access_mode(duckdb::AccessMode::ReadOnly)
                        .and_then(|c| duckdb::Connection::open_with_flags(path, c)),
                    None => duckdb::Connection::open_in_memory(),
                };
                let shown = path.as_ref().map_or(":memory:".into(), |p| p.display().to_string());
                opened
                    .map(Remote::Duckdb)
                    .map_err(|e| EngineError::database(format!("cannot open duckdb:{shown}: {e}")))
            }
            #[cfg(not(feature = "duckdb"))]
            Target::Duckdb(_) => Err(EngineError::database(
                "this seg was built without the `duckdb` feature".to_string(),
            )),
        }
    }

    /// Segmentation `s`, run in the database: its rows as `schema` says.
    pub fn run(
        &mut self,
        p: &Checked,
        s: usize,
        dialect: Dialect,
        base: &Path,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        let (sql, schema) =
            crate::sql::segment_statement(p, s, dialect, base).map_err(EngineError::lowering)?;
        let name = &p.segments[s].name;
        let failed = |e: String| {
            EngineError::database(format!(
                "segmentation `{name}`: the database refused its SQL: {e}"
            ))
        };
        let cells = match self {
            Remote::Postgres(c) => {
                let rows = c.query(sql.trim_end().trim_end_matches(';'), &[]).map_err(|e| {
                    failed(
                        e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string()),
                    )
                })?;
                rows.iter().map(|r| (0..r.len()).map(|i| pg_cell(r, i)).collect()).collect()
            }
            Remote::Sqlite(c) => {
                let mut stmt = c.prepare(&sql).map_err(|e| failed(e.to_string()))?;
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| (0..n).map(|i| Ok(sqlite_cell(r.get_ref(i)?))).collect())
                    .map_err(|e| failed(e.to_string()))?;
                rows.collect::<Result<Vec<Vec<Cell>>, _>>().map_err(|e| failed(e.to_string()))?
            }
            #[cfg(feature = "duckdb")]
            Remote::Duckdb(c) => {
                let mut stmt = c.prepare(&sql).map_err(|e| failed(e.to_string()))?;
                let mut rows = stmt.query([]).map_err(|e| failed(e.to_string()))?;
                let n = schema.fields().len();
                let mut cells = Vec::new();
                while let Some(r) = rows.next().map_err(|e| failed(e.to_string()))? {
                    let row: Result<Vec<Cell>, _> =
                        (0..n).map(|i| r.get_ref(i).map(duckdb_cell)).collect();
                    cells.push(row.map_err(|e| failed(e.to_string()))?);
                }
                cells
            }
        };
        to_batch(&schema, cells).map(|b| vec![b])
    }
}

/// The columns of table `name` (`schema.table`, or a table of the default schema)
/// in the database at `url`, as the checker reads a file's (`seg check --on URL`).
/// A type seg has no name for reads as text.
pub fn table_columns(url: &str, name: &str) -> Result<crate::check::Columns, String> {
    use crate::check::program::Type;
    let target = Target::parse(url)?;
    let mut db = Remote::connect(&target).map_err(|e| {
        e.diagnostic().map_or_else(|| "cannot connect".to_string(), |d| d.message.clone())
    })?;
    let (schema, table) = match name.split_once('.') {
        Some((s, t)) => (Some(s), t),
        None => (None, name),
    };
    // (name, the database's type name, nullable)
    let found: Vec<(String, String, bool)> = match &mut db {
        Remote::Postgres(c) => c
            .query(
                "SELECT column_name::text, data_type::text, is_nullable::text FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                &[&schema.unwrap_or("public"), &table],
            )
            .map_err(|e| e.to_string())?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<_, String>(2) == "YES"))
            .collect(),
        Remote::Sqlite(c) => {
            let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            let pragma = match schema {
                Some(s) => format!("PRAGMA {}.table_info({})", quote(s), quote(table)),
                None => format!("PRAGMA table_info({})", quote(table)),
            };
            let mut stmt = c.prepare(&pragma).map_err(|e| e.to_string())?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)? == 0))
                })
                .map_err(|e| e.to_string())?;
            rows.collect::<Result<_, _>>().map_err(|e| e.to_string())?
        }
        #[cfg(feature = "duckdb")]
        Remote::Duckdb(c) => {
            let mut stmt = c
                .prepare(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                     WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                )
                .map_err(|e| e.to_string())?;
            let rows = stmt
                .query_map([schema.unwrap_or("main"), table], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)? == "YES"))
                })
                .map_err(|e| e.to_string())?;
            rows.collect::<Result<_, _>>().map_err(|e| e.to_string())?
        }
    };
    if found.is_empty() {
        return Err(format!("the database has no table `{name}` (or it has no columns)"));
    }
    let seg_type = |t: &str| {
        let t = t.to_ascii_lowercase();
        let base = t.split('(').next().unwrap_or("").trim();
        match base {
            "bigint" | "integer" | "int" | "smallint" | "tinyint" | "int2" | "int4" | "int8"
            | "hugeint" | "ubigint" | "uinteger" | "usmallint" | "utinyint" => Type::Int,
            "double precision" | "double" | "real" | "float" | "float4" | "float8" | "numeric"
            | "decimal" => Type::Float,
            "boolean" | "bool" => Type::Bool,
            "date" => Type::Date,
            b if b.starts_with("timestamp") => Type::Timestamp,
            _ => Type::Text,
        }
    };
    Ok(found.into_iter().map(|(n, t, nullable)| (n, seg_type(&t), nullable, t)).collect())
}

/// One value as a database returned it, before it takes the column's Arrow type.
#[derive(Debug)]
enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    /// A value of this database type that seg's client cannot read.
    Unreadable(String),
}

fn pg_cell(r: &postgres::Row, i: usize) -> Cell {
    use postgres::types::Type;
    let t = r.columns()[i].type_().clone();
    let get = |x: Option<Cell>| x.unwrap_or(Cell::Null);
    match t {
        Type::INT8 => get(r.try_get::<_, Option<i64>>(i).ok().flatten().map(Cell::Int)),
        Type::INT4 => {
            get(r.try_get::<_, Option<i32>>(i).ok().flatten().map(|v| Cell::Int(v.into())))
        }
        Type::INT2 => {
            get(r.try_get::<_, Option<i16>>(i).ok().flatten().map(|v| Cell::Int(v.into())))
        }
        Type::FLOAT8 => get(r.try_get::<_, Option<f64>>(i).ok().flatten().map(Cell::Float)),
        Type::FLOAT4 => {
            get(r.try_get::<_, Option<f32>>(i).ok().flatten().map(|v| Cell::Float(v.into())))
        }
        Type::BOOL => get(r.try_get::<_, Option<bool>>(i).ok().flatten().map(Cell::Bool)),
        Type::DATE => get(r.try_get::<_, Option<PgDate>>(i).ok().flatten().map(|d| Cell::Int(d.0))),
        // A type the client cannot read as text is an error, never a null in
        // place of a value.
        _ => match r.try_get::<_, Option<String>>(i) {
            Ok(v) => get(v.map(Cell::Text)),
            Err(_) => Cell::Unreadable(t.name().to_string()),
        },
    }
}

/// A PostgreSQL `DATE` as days since 1970-01-01, read from the binary format (days
/// since 2000-01-01, big-endian), so no date crate is needed for one integer.
struct PgDate(i64);

impl<'a> postgres::types::FromSql<'a> for PgDate {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let days = <[u8; 4]>::try_from(raw).map(i32::from_be_bytes)?;
        // 2000-01-01 is day 10957 of the Unix epoch.
        Ok(PgDate(i64::from(days) + 10_957))
    }
    fn accepts(ty: &postgres::types::Type) -> bool {
        *ty == postgres::types::Type::DATE
    }
}

fn sqlite_cell(v: rusqlite::types::ValueRef) -> Cell {
    use rusqlite::types::ValueRef as V;
    match v {
        V::Null => Cell::Null,
        V::Integer(i) => Cell::Int(i),
        V::Real(f) => Cell::Float(f),
        V::Text(t) | V::Blob(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

#[cfg(feature = "duckdb")]
fn duckdb_cell(v: duckdb::types::ValueRef) -> Cell {
    use duckdb::types::ValueRef as V;
    match v {
        V::Null => Cell::Null,
        V::Boolean(b) => Cell::Bool(b),
        V::TinyInt(i) => Cell::Int(i.into()),
        V::SmallInt(i) => Cell::Int(i.into()),
        V::Int(i) => Cell::Int(i.into()),
        V::BigInt(i) => Cell::Int(i),
        V::UTinyInt(i) => Cell::Int(i.into()),
        V::USmallInt(i) => Cell::Int(i.into()),
        V::UInt(i) => Cell::Int(i.into()),
        // A sum of integers is a HUGEINT in DuckDB; seg's are 64-bit (larger is
        // an overflow seg reports, so it cannot be a row to compare).
        V::HugeInt(i) => i64::try_from(i).map_or(Cell::Float(i as f64), Cell::Int),
        V::UBigInt(i) => i64::try_from(i).map_or(Cell::Float(i as f64), Cell::Int),
        V::UHugeInt(i) => i64::try_from(i).map_or(Cell::Float(i as f64), Cell::Int),
        V::Float(f) => Cell::Float(f.into()),
        V::Double(f) => Cell::Float(f),
        V::Decimal(d) => d.to_string().parse().map_or(Cell::Null, Cell::Float),
        V::Text(t) | V::Blob(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        V::Date32(d) => Cell::Int(d.into()),
        other => Cell::Unreadable(format!("{other:?}")),
    }
}

/// Cell `j` of a row (a short row reads as null).
fn cell(r: &[Cell], j: usize) -> &Cell {
    const NULL: &Cell = &Cell::Null;
    r.get(j).unwrap_or(NULL)
}

/// The rows as one batch of `schema`: each cell converted to its column's type
/// (a database may return an integer where seg computes a float, or 0/1 for a bool).
fn to_batch(schema: &SchemaRef, rows: Vec<Vec<Cell>>) -> Result<RecordBatch, EngineError> {
    let bad = |c: &Cell, t: &DataType| {
        match c {
        Cell::Unreadable(db) => EngineError::database(format!(
            "the database returned a value of type {db}, which seg cannot read, where it expects {t}"
        )),
        c => EngineError::database(format!("the database returned {c:?} where seg expects {t}")),
    }
    };
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (j, f) in schema.fields().iter().enumerate() {
        let col: ArrayRef = match f.data_type() {
            DataType::Int64 => {
                let mut b = Int64Builder::new();
                for r in &rows {
                    match cell(r, j) {
                        Cell::Null => b.append_null(),
                        Cell::Int(i) => b.append_value(*i),
                        Cell::Bool(v) => b.append_value(i64::from(*v)),
                        Cell::Float(v) if v.fract() == 0.0 => b.append_value(*v as i64),
                        c => return Err(bad(c, f.data_type())),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Float64 => {
                let mut b = Float64Builder::new();
                for r in &rows {
                    match cell(r, j) {
                        Cell::Null => b.append_null(),
                        Cell::Int(i) => b.append_value(*i as f64),
                        Cell::Float(v) => b.append_value(*v),
                        c => return Err(bad(c, f.data_type())),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Boolean => {
                let mut b = BooleanBuilder::new();
                for r in &rows {
                    match cell(r, j) {
                        Cell::Null => b.append_null(),
                        Cell::Bool(v) => b.append_value(*v),
                        Cell::Int(i) => b.append_value(*i != 0),
                        c => return Err(bad(c, f.data_type())),
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Utf8 => {
                let mut b = StringBuilder::new();
                for r in &rows {
                    match cell(r, j) {
                        Cell::Null => b.append_null(),
                        Cell::Text(t) => b.append_value(t),
                        Cell::Int(i) => b.append_value(i.to_string()),
                        Cell::Float(v) => b.append_value(v.to_string()),
                        Cell::Bool(v) => b.append_value(v.to_string()),
                        c @ Cell::Unreadable(_) => return Err(bad(c, f.data_type())),
                    }
                }
                Arc::new(b.finish())
            }
            // A date (a `mode` of dates, say): SQLite's text (an ISO date, read by
            // Arrow's parser) or DuckDB's day number.
            DataType::Date32 => {
                let mut days: Vec<Option<i32>> = Vec::with_capacity(rows.len());
                for r in &rows {
                    days.push(match cell(r, j) {
                        Cell::Null => None,
                        Cell::Int(i) => {
                            Some(i32::try_from(*i).map_err(|_| bad(cell(r, j), f.data_type()))?)
                        }
                        Cell::Text(t) => {
                            use arrow::compute::kernels::cast_utils::Parser;
                            match arrow::datatypes::Date32Type::parse(t) {
                                Some(d) => Some(d),
                                None => return Err(bad(cell(r, j), f.data_type())),
                            }
                        }
                        c => return Err(bad(c, f.data_type())),
                    });
                }
                Arc::new(arrow::array::Date32Array::from(days))
            }
            // Labels are text and measures numbers: no other type leaves a
            // segmentation whose SQL runs (`mode` is refused before).
            t => return Err(EngineError::database(format!("a database column of type {t}"))),
        };
        cols.push(col);
    }
    let opts = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows.len()));
    RecordBatch::try_new_with_options(schema.clone(), cols, &opts)
        .map_err(|e| EngineError::database(e.to_string()))
}
