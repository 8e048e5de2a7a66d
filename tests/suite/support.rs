//! Shared helpers: paths, golden comparison with `SEG_BLESS=1` to rewrite, fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `name` in the target folder: the seg binary is `target/<profile>/seg`, and the
/// tests' outside tools and outputs sit beside the profiles.
pub fn in_target(name: &str) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_seg"));
    bin.parent().and_then(|p| p.parent()).expect("target folder").join(name)
}

pub fn bless() -> bool {
    std::env::var_os("SEG_BLESS").is_some()
}

/// Compares `actual` with the file at `expected`; with `SEG_BLESS` set, rewrites it.
pub fn golden(expected: &Path, actual: &str, failures: &mut Vec<String>) {
    if bless() {
        std::fs::write(expected, actual).expect("write golden file");
        return;
    }
    match std::fs::read_to_string(expected) {
        Ok(want) if want == actual => {}
        Ok(want) => failures.push(format!(
            "{} differs (rerun with SEG_BLESS=1 to accept):\n{}",
            expected.display(),
            first_difference(&want, actual)
        )),
        Err(_) => failures
            .push(format!("{} is missing (run with SEG_BLESS=1 to create it)", expected.display())),
    }
}

fn first_difference(want: &str, got: &str) -> String {
    for (i, (a, b)) in want.lines().zip(got.lines()).enumerate() {
        if a != b {
            return format!("line {}:\n  expected: {a}\n  actual:   {b}", i + 1);
        }
    }
    format!("expected {} lines, got {}", want.lines().count(), got.lines().count())
}

pub fn finish(failures: Vec<String>) {
    if !failures.is_empty() {
        panic!("{} failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
    }
}

pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The shared test data, with binary copies (Parquet, Arrow IPC, NDJSON) made from the CSV.
pub fn ensure_fixtures() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let data = root().join("tests/cases/data");
        let csv = data.join("mini.csv");
        let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("id", arrow::datatypes::DataType::Int64, true),
            arrow::datatypes::Field::new("customer_type", arrow::datatypes::DataType::Utf8, true),
            arrow::datatypes::Field::new("age", arrow::datatypes::DataType::Int64, true),
            arrow::datatypes::Field::new("region", arrow::datatypes::DataType::Utf8, true),
            arrow::datatypes::Field::new("revenue", arrow::datatypes::DataType::Float64, true),
            arrow::datatypes::Field::new("kg", arrow::datatypes::DataType::Float64, true),
            arrow::datatypes::Field::new("day", arrow::datatypes::DataType::Date32, true),
        ]));
        let file = std::fs::File::open(&csv).expect("mini.csv");
        let reader = arrow::csv::ReaderBuilder::new(schema.clone())
            .with_header(true)
            .build(file)
            .expect("csv reader");
        let batches: Vec<_> = reader.map(|b| b.expect("batch")).collect();
        let pq = data.join("mini.parquet");
        if !pq.exists() {
            let f = std::fs::File::create(&pq).unwrap();
            let mut w =
                datafusion::parquet::arrow::ArrowWriter::try_new(f, schema.clone(), None).unwrap();
            for b in &batches {
                w.write(b).unwrap();
            }
            w.close().unwrap();
        }
        let ipc = data.join("mini.arrow");
        if !ipc.exists() {
            let f = std::fs::File::create(&ipc).unwrap();
            let mut w = arrow::ipc::writer::FileWriter::try_new(f, &schema).unwrap();
            for b in &batches {
                w.write(b).unwrap();
            }
            w.finish().unwrap();
        }
        let nd = data.join("mini.ndjson");
        if !nd.exists() {
            let mut out = Vec::new();
            {
                let mut w = arrow::json::LineDelimitedWriter::new(&mut out);
                for b in &batches {
                    w.write(b).unwrap();
                }
                w.finish().unwrap();
            }
            std::fs::write(&nd, out).unwrap();
        }
    });
}

pub fn seg(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seg"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run seg")
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A scratch project (it has a `.git` marker, so it is its own project root).
pub fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::copy(root().join("tests/cases/data/mini.csv"), dir.path().join("data/mini.csv"))
        .unwrap();
    dir
}

pub fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// A spec analysed by a driver of its own (no cache shared between cases).
pub fn analyse_once(
    path: &Path,
    display: &str,
    bytes: &[u8],
    opts: &seg::driver::LoadOptions,
) -> std::sync::Arc<seg::driver::SpecFile> {
    seg::driver::Driver::new(opts.clone()).analyse(path, display, bytes)
}

/// Runs `git` in `dir` (with an identity to commit as); the command must succeed.
pub fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(["-c", "user.email=t@t", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .map(|o| o.status.success());
    assert_eq!(ok.ok(), Some(true), "git {args:?}");
}

/// A Python virtual environment under the target folder with `reqs` (relative to
/// the root) installed, made on first use and again when `reqs` changes: its python.
pub fn python_venv(name: &str, reqs: &str) -> PathBuf {
    use std::process::Command;
    let dir = in_target(name);
    let python = dir.join("bin/python");
    let reqs = root().join(reqs);
    let stamp = dir.join("requirements.txt");
    let current = std::fs::read(&stamp).ok() == std::fs::read(&reqs).ok();
    if python.exists() && current {
        return python;
    }
    let ok = Command::new("python3").args(["-m", "venv"]).arg(&dir).status();
    assert!(ok.is_ok_and(|s| s.success()), "python3 -m venv failed: CI installs python3");
    let pip = Command::new(&python)
        .args(["-m", "pip", "install", "-q", "-r"])
        .arg(&reqs)
        .status()
        .expect("run pip");
    assert!(pip.success(), "pip install -r {} failed", reqs.display());
    std::fs::copy(&reqs, &stamp).unwrap();
    python
}

/// A value as SQL text for an INSERT (test data only).
pub fn sql_literal(v: &seg::check::program::Value) -> String {
    use seg::check::program::Value;
    match v {
        Value::Null => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_nan() => "'NaN'".into(),
        Value::Float(f) if f.is_infinite() => {
            if *f > 0.0 {
                "'Infinity'".into()
            } else {
                "'-Infinity'".into()
            }
        }
        Value::Float(f) => format!("{f:?}"),
        Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
        Value::Bool(b) => {
            if *b {
                "TRUE".into()
            } else {
                "FALSE".into()
            }
        }
        Value::Date(d) => format!("'{}'", seg::calendar::format_date(*d)),
        Value::Timestamp(us) => {
            let (days, rest) = (us.div_euclid(86_400_000_000), us.rem_euclid(86_400_000_000));
            let s = rest / 1_000_000;
            format!(
                "'{} {:02}:{:02}:{:02}.{:06}'",
                seg::calendar::format_date(days as i32),
                s / 3600,
                s / 60 % 60,
                s % 60,
                rest % 1_000_000
            )
        }
    }
}

/// Rows equal as a database or a cluster must give them: integers and text
/// exactly, floats to 1e-9 relative (partial sums added in another order).
#[allow(dead_code)] // used only by feature-gated tests
pub fn same_rows(
    a: &[Vec<seg::check::program::Value>],
    b: &[Vec<seg::check::program::Value>],
) -> bool {
    use seg::check::program::Value;
    let same = |x: &Value, y: &Value| match (x, y) {
        (Value::Float(p), Value::Float(q)) => {
            p == q || (p - q).abs() <= 1e-9 * p.abs().max(q.abs())
        }
        _ => x == y,
    };
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(u, v)| same(u, v)))
}
