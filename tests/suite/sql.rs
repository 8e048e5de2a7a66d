//! `seg sql` against real databases: every segmentation of every spec in `specs/`,
//! written for DuckDB and SQLite and run there (DuckDB from PyPI, SQLite through
//! Python's `sqlite3`; `tests/sql/query.py`), must give `seg run`'s numbers. The SQL
//! of every dialect must read back with sqlparser in that dialect. A segmentation
//! a dialect cannot express is E0801, never SQL.

use super::golden::load;
use super::support::*;
use seg::check::program::Value;
use seg::engine::session::{Session, SessionOptions};
use seg::sql::{segment_sql, Dialect};
use std::process::Command;

/// Equal as the issue asks: integers and text exactly, floats to 1e-9 relative.
pub fn same(seg: &Value, db: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (seg, db) {
        (Value::Null, J::Null) => true,
        (Value::Int(a), J::Number(n)) => n.as_i64() == Some(*a) || n.as_f64() == Some(*a as f64),
        (Value::Float(a), J::Number(n)) => {
            let b = n.as_f64().unwrap_or(f64::NAN);
            a == &b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
        }
        (Value::Text(a), J::String(b)) => a == b,
        (Value::Date(d), J::String(b)) => &seg::calendar::format_date(*d) == b,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::Bool(a), J::Number(n)) => n.as_i64() == Some(*a as i64),
        _ => false,
    }
}

#[test]
fn specs_give_seg_runs_numbers_on_duckdb_and_sqlite() {
    ensure_fixtures();
    let python = python_venv("sql-venv", "tests/sql/requirements.txt");
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let (mut ran, mut refused) = (std::collections::BTreeMap::new(), 0);
    for spec_path in files_with_ext(&root().join("specs"), "seg") {
        let file = load(&spec_path);
        let program = file.program.clone().expect("specs check");
        let dir = spec_path.parent().unwrap();
        let session =
            Session::new(program.clone(), dir, &SessionOptions::default()).expect("session");
        // SQLite reads tables named after the markets and tables, loaded from the files.
        let tables: Vec<String> = program
            .markets
            .iter()
            .map(|m| (&m.name, &m.path))
            .chain(program.tables.iter().map(|t| (&t.name, &t.path)))
            .map(|(n, p)| format!("{n}={}", dir.join(p).display()))
            .collect();
        for (s, sd) in program.segments.iter().enumerate() {
            let want = seg::engine::batches_to_values(&session.run_segment(s).expect("seg run"));
            for dialect in [Dialect::Duckdb, Dialect::Sqlite] {
                let what = format!("{} {} ({})", file.display, sd.name, dialect.name());
                let sql = match segment_sql(&program, s, dialect, dir) {
                    Ok(sql) => sql,
                    Err(d) if d.code == seg::diagnostic::Code::E0801 => {
                        refused += 1;
                        continue;
                    }
                    Err(d) => {
                        failures.push(format!("{what}: {}", d.message));
                        continue;
                    }
                };
                let path = tmp.path().join(format!("{}_{}.sql", sd.name, dialect.name()));
                std::fs::write(&path, &sql).unwrap();
                let out = Command::new(&python)
                    .arg(root().join("tests/sql/query.py"))
                    .arg(dialect.name())
                    .arg(&path)
                    .args(&tables)
                    .output()
                    .expect("run python");
                if !out.status.success() {
                    failures.push(format!(
                        "{what}: the database refused the SQL:\n{}\n{sql}",
                        String::from_utf8_lossy(&out.stderr)
                    ));
                    continue;
                }
                let got: Vec<Vec<serde_json::Value>> =
                    serde_json::from_slice(&out.stdout).expect("rows as JSON");
                let equal = got.len() == want.len()
                    && got.iter().zip(&want).all(|(g, w)| {
                        g.len() == w.len() && g.iter().zip(w).all(|(g, w)| same(w, g))
                    });
                if equal {
                    *ran.entry(dialect.name()).or_insert(0) += 1;
                } else {
                    failures.push(format!(
                        "{what}: different rows\nseg run: {want:?}\ndatabase: {got:?}\n{sql}"
                    ));
                }
            }
        }
    }
    eprintln!("segmentations run and equal: {ran:?}; refused with E0801: {refused}");
    // Differences not yet resolved are listed, each by its first line, so that
    // the list stays exact: a new difference fails, and so does a listed one that
    // is gone (issue 16 keeps them open).
    let known = std::fs::read_to_string(root().join("tests/sql/known_differences.txt")).unwrap();
    let known: Vec<&str> = known.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    let firsts: Vec<String> =
        failures.iter().map(|f| f.lines().next().unwrap_or("").to_string()).collect();
    let mut unexpected: Vec<String> = failures
        .iter()
        .zip(&firsts)
        .filter(|(_, first)| !known.contains(&first.as_str()))
        .map(|(f, _)| f.clone())
        .collect();
    for k in &known {
        if !firsts.iter().any(|f| f == k) {
            unexpected
                .push(format!("listed in tests/sql/known_differences.txt but equal now: {k}"));
        }
    }
    finish(unexpected);
}

#[test]
fn every_dialect_reads_back() {
    ensure_fixtures();
    let mut failures = Vec::new();
    for spec_path in files_with_ext(&root().join("specs"), "seg") {
        let file = load(&spec_path);
        let program = file.program.clone().expect("specs check");
        let dir = spec_path.parent().unwrap();
        for (s, sd) in program.segments.iter().enumerate() {
            for dialect in Dialect::ALL {
                let what = format!("{} {} ({})", file.display, sd.name, dialect.name());
                match segment_sql(&program, s, dialect, dir) {
                    Ok(sql) => {
                        let parsed =
                            sqlparser::parser::Parser::parse_sql(dialect.parser().as_ref(), &sql);
                        if let Err(e) = parsed {
                            failures.push(format!("{what}: sqlparser: {e}\n{sql}"));
                        }
                    }
                    Err(d) if d.code == seg::diagnostic::Code::E0801 => {
                        if !d.message.contains(dialect.name()) {
                            failures.push(format!("{what}: E0801 names no dialect"));
                        }
                    }
                    Err(d) => failures.push(format!("{what}: {}", d.message)),
                }
            }
        }
    }
    finish(failures);
}

/// Each segmentation of a spec through `seg run --on` (`remote`, in `dialect`)
/// against `seg run`: the failures, and how many ran equal and were refused (E0801).
fn compare_remote(
    file: &seg::driver::SpecFile,
    remote: &mut seg::engine::remote::Remote,
    dialect: Dialect,
    failures: &mut Vec<String>,
) -> (usize, usize) {
    let program = file.program.clone().expect("specs check");
    let dir = file.dir();
    let session = Session::new(program.clone(), &dir, &SessionOptions::default()).expect("session");
    let (mut equal, mut refused) = (0, 0);
    for (s, sd) in program.segments.iter().enumerate() {
        let what = format!("{} {} ({})", file.display, sd.name, dialect.name());
        let want = seg::engine::batches_to_values(&session.run_segment(s).expect("seg run"));
        match remote.run(&program, s, dialect, &dir) {
            Ok(b) => {
                let got = seg::engine::batches_to_values(&b);
                if same_rows(&want, &got) {
                    equal += 1;
                } else {
                    failures.push(format!(
                        "{what}: different rows\nseg run: {want:?}\ndatabase: {got:?}"
                    ));
                }
            }
            Err(e) if e.code() == Some(seg::diagnostic::Code::E0801) => refused += 1,
            Err(e) => failures.push(format!("{what}: {}", e.to_text())),
        }
    }
    (equal, refused)
}

/// The server `.ci/run` starts (`SEG_TEST_POSTGRES_URL`); without it, outside CI,
/// the PostgreSQL tests say so and pass.
fn postgres_url() -> Option<String> {
    let url = std::env::var("SEG_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        assert!(std::env::var("CI").is_err(), "CI must start PostgreSQL (.ci/run)");
        eprintln!("SEG_TEST_POSTGRES_URL is not set: PostgreSQL test not run");
    }
    url
}

/// Every segmentation of every spec in `specs/` through `seg run --on postgres://`
/// (the `Remote` client on the SQL `seg sql` writes) on a real PostgreSQL server,
/// with each market's and table's rows loaded into a table of its name in a
/// database of its own: `seg run`'s numbers, or E0801, or a line of
/// `tests/sql/known_differences.txt`.
#[test]
fn specs_give_seg_runs_numbers_on_postgres() {
    use seg::engine::remote::{Remote, Target};
    ensure_fixtures();
    let Some(admin) = postgres_url() else { return };
    let python = python_venv("sql-venv", "tests/sql/requirements.txt");
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect");
    client.batch_execute("DROP DATABASE IF EXISTS seg_specs").unwrap();
    client.batch_execute("CREATE DATABASE seg_specs").unwrap();
    let (base, _) =
        admin.split('?').next().unwrap().rsplit_once('/').expect("a database in the URL");
    let url = format!("{base}/seg_specs");
    let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connect to seg_specs");
    let pg_type = |ty: seg::check::program::Type| {
        use seg::check::program::Type;
        match ty {
            Type::Int => "BIGINT",
            Type::Float => "DOUBLE PRECISION",
            Type::Bool => "BOOLEAN",
            Type::Date => "DATE",
            Type::Timestamp => "TIMESTAMP",
            Type::Text | Type::Null | Type::Error => "TEXT",
        }
    };
    let quote = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let mut failures = Vec::new();
    let (mut equal, mut refused) = (0, 0);
    for spec_path in files_with_ext(&root().join("specs"), "seg") {
        let file = load(&spec_path);
        let program = file.program.clone().expect("specs check");
        let dir = spec_path.parent().unwrap();
        let sources = program
            .markets
            .iter()
            .map(|m| (&m.name, &m.path, &m.columns))
            .chain(program.tables.iter().map(|t| (&t.name, &t.path, &t.columns)));
        for (name, path, columns) in sources {
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            let typed: Vec<String> =
                columns.iter().map(|c| format!("{} {}", quote(&c.name), pg_type(c.ty))).collect();
            db.batch_execute(&format!(
                "DROP TABLE IF EXISTS {0}; CREATE TABLE {0} ({1})",
                quote(name),
                typed.join(", ")
            ))
            .unwrap();
            let out = Command::new(&python)
                .arg(root().join("tests/sql/query.py"))
                .arg("csv")
                .arg(dir.join(path))
                .arg(serde_json::to_string(&names).unwrap())
                .output()
                .expect("run python");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let mut w = db
                .copy_in(&format!("COPY {} FROM STDIN (FORMAT csv, HEADER true)", quote(name)))
                .unwrap();
            std::io::Write::write_all(&mut w, &out.stdout).unwrap();
            w.finish().unwrap();
        }
        let mut remote = Remote::connect(&Target::Postgres(url.clone())).expect("--on postgres");
        let (e, r) = compare_remote(&file, &mut remote, Dialect::Postgres, &mut failures);
        equal += e;
        refused += r;
    }
    drop(db);
    eprintln!("postgres: {equal} segmentations equal, {refused} refused with E0801");
    assert!(equal > 0, "nothing ran on PostgreSQL");
    finish(failures);
}

/// The SQL written for the dialects no test executes (MySQL, BigQuery, Snowflake),
/// and for PostgreSQL and SQLite, as golden files: `tests/cases/sql/SPEC.DIALECT.sql`,
/// one statement per segmentation, or the E0801 that refuses it. A change to the
/// SQL writer shows here as a diff to review.
#[test]
fn sql_of_each_dialect_as_golden_files() {
    let mut failures = Vec::new();
    for name in ["coffee", "streaming"] {
        let spec = root().join(format!("specs/{name}.seg"));
        let file = load(&spec);
        let program = file.program.clone().expect("specs check");
        for dialect in [
            Dialect::Postgres,
            Dialect::Sqlite,
            Dialect::Mysql,
            Dialect::Bigquery,
            Dialect::Snowflake,
        ] {
            let mut shown = String::new();
            for (s, sd) in program.segments.iter().enumerate() {
                match segment_sql(&program, s, dialect, spec.parent().unwrap()) {
                    Ok(sql) => shown.push_str(&format!("-- segment {}\n{sql}\n", sd.name)),
                    Err(d) => shown.push_str(&format!(
                        "-- segment {}: {:?} {}\n\n",
                        sd.name, d.code, d.message
                    )),
                }
            }
            let golden_path = root().join(format!("tests/cases/sql/{name}.{}.sql", dialect.name()));
            golden(&golden_path, &shown, &mut failures);
        }
    }
    finish(failures);
}

/// A construct no dialect can write yet (an `over` segmentation's periods), as
/// `seg sql` reports it: `tests/cases/sql/E0801_over.out`.
#[test]
fn unportable_construct_is_e0801() {
    let spec = root().join("specs/cars.seg");
    let file = load(&spec);
    let program = file.program.clone().expect("specs check");
    let s = program.segments.iter().position(|sd| sd.name == "suv_trend").expect("suv_trend");
    let d = segment_sql(&program, s, Dialect::Postgres, spec.parent().unwrap())
        .expect_err("over's periods have no SQL form yet");
    let r = seg::diagnostic::Renderer { color: false, width: 100 };
    let shown = format!(
        "{}--- json\n{}\n",
        r.render(&d, &file.display, &file.text),
        d.to_json(&file.display, &file.text)
    );
    let mut failures = Vec::new();
    golden(&root().join("tests/cases/sql/E0801_over.out"), &shown, &mut failures);
    finish(failures);
}

/// The coffee market's rows, as its spec declares them, for loading into a database.
fn coffee_rows() -> Vec<arrow::record_batch::RecordBatch> {
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = Schema::new(vec![
        Field::new("order_id", DataType::Int64, true),
        Field::new("customer_id", DataType::Int64, true),
        Field::new("customer_type", DataType::Utf8, true),
        Field::new("age", DataType::Int64, true),
        Field::new("region", DataType::Utf8, true),
        Field::new("product", DataType::Utf8, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("kg", DataType::Float64, true),
        Field::new("revenue", DataType::Float64, true),
        Field::new("order_date", DataType::Utf8, true),
    ]);
    let f = std::fs::File::open(root().join("specs/data/coffee_sales.csv")).unwrap();
    arrow::csv::ReaderBuilder::new(std::sync::Arc::new(schema))
        .with_header(true)
        .build(f)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn insert_statements(table: &str) -> Vec<String> {
    seg::engine::batches_to_values(&coffee_rows())
        .iter()
        .map(|row| {
            let vals: Vec<String> = row.iter().map(sql_literal).collect();
            format!("INSERT INTO {table} VALUES ({})", vals.join(", "))
        })
        .collect()
}

/// `seg run ... --format csv` as rows of cells.
fn csv_cells(out: &std::process::Output) -> Vec<Vec<String>> {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Equal cell by cell, numbers to 1e-9 relative (a database adds floats in its own
/// order).
fn same_csv(a: &[Vec<String>], b: &[Vec<String>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter().zip(y).all(|(u, v)| {
                    u == v
                        || matches!((u.parse::<f64>(), v.parse::<f64>()), (Ok(p), Ok(q))
                            if (p - q).abs() <= 1e-9 * p.abs().max(q.abs()))
                })
        })
}

/// The coffee segmentations SQLite can express (no `then`).
const SQLITE_SEGMENTS: [&str; 4] = ["coffee_by_product_line", "age_grid", "mix", "venues"];

/// A SQLite file in `dir` with the coffee market as table `coffee`.
fn coffee_sqlite(dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("coffee.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE coffee (order_id INTEGER, customer_id INTEGER, customer_type TEXT, age INTEGER, region TEXT, product TEXT, channel TEXT, kg REAL, revenue REAL, order_date TEXT); BEGIN;",
    )
    .unwrap();
    for stmt in insert_statements("coffee") {
        conn.execute(&stmt, []).unwrap();
    }
    conn.execute_batch("COMMIT;").unwrap();
    db
}

#[test]
fn run_on_sqlite_prints_what_seg_run_prints() {
    ensure_fixtures();
    let dir = tempfile::tempdir().unwrap();
    let db = coffee_sqlite(dir.path());
    let spec = root().join("specs/coffee.seg");
    let mut args: Vec<String> = vec!["run".into(), spec.display().to_string()];
    for s in SQLITE_SEGMENTS {
        args.extend(["--segment".into(), s.into()]);
    }
    args.extend(["--format".into(), "csv".into()]);
    let local = csv_cells(&seg(&args.iter().map(String::as_str).collect::<Vec<_>>(), &root()));
    let on = format!("sqlite:{}", db.display());
    args.extend(["--on".into(), on]);
    let remote = csv_cells(&seg(&args.iter().map(String::as_str).collect::<Vec<_>>(), &root()));
    assert!(same_csv(&local, &remote), "seg run:\n{local:?}\n--on sqlite:\n{remote:?}");
    // A database that is not there is an error that names it, not a new empty file.
    let missing = dir.path().join("none.db");
    let out = seg(
        &["run", &spec.display().to_string(), "--on", &format!("sqlite:{}", missing.display())],
        &root(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!missing.exists(), "--on created {}", missing.display());
}

/// `seg check --on URL` reads an undeclared `from table` market's columns from the
/// database (E0501 without it), and `seg run --on` runs on them: the same table as
/// the spec read from the CSV file.
#[test]
fn check_on_reads_a_tables_columns_from_the_database() {
    ensure_fixtures();
    let dir = tempfile::tempdir().unwrap();
    let db = coffee_sqlite(dir.path());
    let body = "  measure value = sum(revenue)\n}\n\
        dimension kind on coffee = product {\n  \"ground\", \"beans\" => \"roast\"\n  else => \"other\"\n}\n\
        dimension age_band on coffee = bins age [25, 45]\n\
        segment grid = coffee by kind x age_band\n";
    let table = dir.path().join("table.seg");
    std::fs::write(&table, format!("market coffee from table \"coffee\" {{\n{body}")).unwrap();
    let csv = root().join("specs/data/coffee_sales.csv");
    let file = dir.path().join("file.seg");
    std::fs::write(&file, format!("market coffee from \"{}\" {{\n{body}", csv.display())).unwrap();
    let (table, file) = (table.display().to_string(), file.display().to_string());
    let on = format!("sqlite:{}", db.display());

    let out = seg(&["check", &table], &root());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("E0501"), "{}", text(&out));
    let out = seg(&["check", &table, "--on", &on], &root());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A table the database does not have is named.
    let missing = dir.path().join("missing.seg");
    std::fs::write(&missing, format!("market coffee from table \"nope\" {{\n{body}")).unwrap();
    let out = seg(&["check", &missing.display().to_string(), "--on", &on], &root());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("E0502") && text(&out).contains("no table `nope`"),
        "{}",
        text(&out)
    );

    let local = csv_cells(&seg(&["run", &file, "--format", "csv", "--allow-outside"], &root()));
    let remote = csv_cells(&seg(&["run", &table, "--format", "csv", "--on", &on], &root()));
    assert!(same_csv(&local, &remote), "seg run:\n{local:?}\n--on sqlite:\n{remote:?}");
}

/// `seg run --on postgres://...` on the coffee spec with its market read `from table
/// "public.coffee_sales"`: the same table as the file-based run. `.ci/run` starts
/// the server and sets `SEG_TEST_POSTGRES_URL`.
#[test]
fn run_on_postgres_from_table_prints_what_seg_run_prints() {
    ensure_fixtures();
    let Some(url) = postgres_url() else { return };
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    client
        .batch_execute(
            "DROP TABLE IF EXISTS public.coffee_sales; CREATE TABLE public.coffee_sales (order_id BIGINT, customer_id BIGINT, customer_type TEXT, age BIGINT, region TEXT, product TEXT, channel TEXT, kg DOUBLE PRECISION, revenue DOUBLE PRECISION, order_date DATE)",
        )
        .unwrap();
    let mut tx = client.transaction().unwrap();
    for stmt in insert_statements("public.coffee_sales") {
        tx.batch_execute(&stmt).unwrap();
    }
    tx.commit().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("specs/coffee.seg")).unwrap();
    let from_table = text.replace(
        "market coffee from \"data/coffee_sales.csv\"",
        "market coffee from table \"public.coffee_sales\"",
    );
    assert_ne!(text, from_table);
    let spec = dir.path().join("coffee.seg");
    std::fs::write(&spec, from_table).unwrap();
    // Everything but `mode` and dates runs on PostgreSQL: here, every segmentation.
    let local = csv_cells(&seg(&["run", "specs/coffee.seg", "--format", "csv"], &root()));
    let remote = csv_cells(&seg(
        &["run", &spec.display().to_string(), "--format", "csv", "--on", &url],
        &root(),
    ));
    assert!(same_csv(&local, &remote), "seg run:\n{local:?}\n--on postgres:\n{remote:?}");
    // Without --on, a table market cannot run: exit 3, and the message says why.
    let out = seg(&["run", &spec.display().to_string()], &root());
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--on"));
}

/// `seg run --on duckdb:` (feature `duckdb`): every segmentation of every spec in
/// `specs/` through the `duckdb` crate equals `seg run` or is E0801; and the coffee
/// spec with its market `from table "main.coffee_sales"` in a DuckDB file prints the
/// file-based run's table.
#[cfg(feature = "duckdb")]
#[test]
fn run_on_duckdb_gives_seg_runs_numbers() {
    use seg::engine::remote::{Remote, Target};
    ensure_fixtures();
    let mut failures = Vec::new();
    let (mut equal, mut refused) = (0, 0);
    for spec_path in files_with_ext(&root().join("specs"), "seg") {
        let file = load(&spec_path);
        let mut remote = Remote::connect(&Target::Duckdb(None)).expect("in-memory DuckDB");
        let (e, r) = compare_remote(&file, &mut remote, Dialect::Duckdb, &mut failures);
        equal += e;
        refused += r;
    }
    eprintln!("--on duckdb: {equal} segmentations equal, {refused} refused with E0801");
    assert!(equal > 0);

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("coffee.duckdb");
    {
        let conn = duckdb::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE main.coffee_sales (order_id BIGINT, customer_id BIGINT, customer_type TEXT, age BIGINT, region TEXT, product TEXT, channel TEXT, kg DOUBLE, revenue DOUBLE, order_date DATE); BEGIN;",
        )
        .unwrap();
        for stmt in insert_statements("main.coffee_sales") {
            conn.execute_batch(&stmt).unwrap();
        }
        conn.execute_batch("COMMIT;").unwrap();
    }
    let text = std::fs::read_to_string(root().join("specs/coffee.seg")).unwrap();
    let spec = tmp.path().join("coffee.seg");
    std::fs::write(
        &spec,
        text.replace(
            "market coffee from \"data/coffee_sales.csv\"",
            "market coffee from table \"main.coffee_sales\"",
        ),
    )
    .unwrap();
    let local = csv_cells(&seg(&["run", "specs/coffee.seg", "--format", "csv"], &root()));
    let on = format!("duckdb:{}", db.display());
    let remote = csv_cells(&seg(
        &["run", &spec.display().to_string(), "--format", "csv", "--on", &on],
        &root(),
    ));
    if !same_csv(&local, &remote) {
        failures.push(format!("seg run:\n{local:?}\n--on duckdb:\n{remote:?}"));
    }
    finish(failures);
}
