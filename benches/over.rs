//! The cost of `over`: a segmentation per month over 36 months of a market against
//! the same segmentation without `over`, on the same rows and threads. The ratio of
//! the medians is the figure quoted in docs/performance.md.
//!
//! `cargo bench --bench over` runs 10M rows, three runs each; `-- --rows 1M --runs 1`
//! narrows it, `-- --dim mapping` segments by a mapping instead of the column.

use arrow::array::{ArrayRef, Date32Array, Float64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::path::Path;
use std::sync::Arc;
use support::{median, Rng};

#[allow(dead_code)]
mod support;

const REGIONS: [&str; 6] = ["north", "south", "east", "west", "central", "online"];

/// Sales over the 36 months from 2022-01-01 (day 18993), six regions.
fn generate(path: &Path, rows: u64) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("region", DataType::Utf8, false),
        Field::new("revenue", DataType::Float64, false),
        Field::new("day", DataType::Date32, false),
    ]));
    let f = std::fs::File::create(path).unwrap();
    let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(f, schema.clone(), None).unwrap();
    let mut rng = Rng(7);
    let mut done = 0;
    while done < rows {
        let n = 1_000_000.min(rows - done);
        let region: Vec<&str> = (0..n).map(|_| REGIONS[(rng.next() % 6) as usize]).collect();
        let revenue: Vec<f64> = (0..n).map(|_| (rng.next() % 20_000) as f64 / 100.0).collect();
        let day: Vec<i32> = (0..n).map(|_| 18_993 + (rng.next() % 1_095) as i32).collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(region)),
            Arc::new(Float64Array::from(revenue)),
            Arc::new(Date32Array::from(day)),
        ];
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap()).unwrap();
        done += n;
    }
    w.close().unwrap();
}

const SPEC: &str = r#"market sales from "sales.parquet" { measure value = sum(revenue) }
dimension r on sales = DIM
segment s = sales by r OVER
"#;

/// `--dim column` (default): the region as it is, labels from the data. `--dim
/// mapping`: the regions mapped to their own names, labels known to the spec.
fn dim_body(kind: &str) -> String {
    match kind {
        "mapping" => {
            let arms: Vec<String> = REGIONS.iter().map(|r| format!("\"{r}\" => \"{r}\"")).collect();
            format!("region {{ {} }}", arms.join("\n"))
        }
        _ => "region".to_string(),
    }
}

/// One timed run: seconds and the number of result rows.
fn run(dir: &Path, dim: &str, over: &str) -> (f64, usize) {
    let spec = SPEC.replace("OVER", over).replace("DIM", &dim_body(dim));
    let (secs, rows) = support::run(dir, &spec);
    (secs, rows.len())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let dim = arg("--dim").map_or("column", |s| s.as_str());
    let (rows, runs, dir) = support::rows_runs_dir("over");
    if !dir.join("sales.parquet").exists() {
        eprintln!("over: generating {rows} rows in {}", dir.display());
        generate(&dir.join("sales.parquet"), rows);
    }
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let (a, na) = run(&dir, dim, "over day by month");
        let (b, nb) = run(&dir, dim, "");
        assert_eq!((na, nb), (36 * 6, 6), "36 months of 6 regions, and 6 regions");
        eprintln!("over: run {}: by month {a:.2} s, without {b:.2} s", i + 1);
        with.push(a);
        without.push(b);
    }
    let (a, b) = (median(with), median(without));
    println!(
        "over: {rows} rows, 36 months, {dim} dimension: over by month {a:.2} s, without over {b:.2} s (medians of {runs}); ratio {:.2}",
        a / b
    );
}
