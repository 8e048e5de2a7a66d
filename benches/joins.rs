//! The cost of a join: a market joined to a lookup table against the same
//! segmentation on a file where the join was done beforehand. Same rows, same
//! numbers (checked), same threads; the ratio of the medians is the figure quoted in
//! docs/performance.md.
//!
//! `cargo bench --bench joins` runs 10M sales rows against a 2M-row table, three
//! runs each. `-- --rows 1M --table 200K --runs 1` narrows it.

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use support::{count, median, run, Rng};

#[allow(dead_code)]
mod support;

const COUNTRIES: [&str; 8] = ["DE", "FR", "GB", "US", "CA", "BR", "JP", "IN"];
const TIERS: [&str; 4] = ["gold", "silver", "bronze", "new"];

fn write(path: &Path, batches: Vec<RecordBatch>) {
    let f = std::fs::File::create(path).unwrap();
    let mut w =
        datafusion::parquet::arrow::ArrowWriter::try_new(f, batches[0].schema(), None).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

/// The sales, the customer table and the sales with the customers already joined.
/// About 2% of sales name a customer the table lacks.
fn generate(dir: &Path, rows: u64, customers: u64) {
    let country = |c: u64| COUNTRIES[(c % 8) as usize];
    let tier = |c: u64| TIERS[((c / 8) % 4) as usize];
    let cust_schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("tier", DataType::Utf8, false),
    ]));
    let mut batches = Vec::new();
    let chunk = 1_000_000u64;
    let mut start = 1;
    while start <= customers {
        let end = (start + chunk).min(customers + 1);
        let ids: Vec<i64> = (start..end).map(|c| c as i64).collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from(ids.iter().map(|&c| country(c as u64)).collect::<Vec<_>>())),
            Arc::new(StringArray::from(ids.iter().map(|&c| tier(c as u64)).collect::<Vec<_>>())),
        ];
        batches.push(RecordBatch::try_new(cust_schema.clone(), cols).unwrap());
        start = end;
    }
    write(&dir.join("customers.parquet"), batches);
    let sales_schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("revenue", DataType::Float64, false),
    ]));
    let joined_schema = Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("revenue", DataType::Float64, false),
        Field::new("country", DataType::Utf8, true),
        Field::new("tier", DataType::Utf8, true),
    ]));
    let mut rng = Rng(42);
    let (mut sales, mut joined) = (Vec::new(), Vec::new());
    let mut done = 0;
    while done < rows {
        let n = chunk.min(rows - done);
        let ids: Vec<i64> =
            (0..n).map(|_| (rng.next() % (customers + customers / 50)) as i64 + 1).collect();
        let revenue: Vec<f64> = (0..n).map(|_| (rng.next() % 20_000) as f64 / 100.0).collect();
        let known = |c: i64| (c as u64) <= customers;
        sales.push(
            RecordBatch::try_new(
                sales_schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids.clone())) as ArrayRef,
                    Arc::new(Float64Array::from(revenue.clone())),
                ],
            )
            .unwrap(),
        );
        let c: Vec<Option<&str>> =
            ids.iter().map(|&i| known(i).then(|| country(i as u64))).collect();
        let t: Vec<Option<&str>> = ids.iter().map(|&i| known(i).then(|| tier(i as u64))).collect();
        joined.push(
            RecordBatch::try_new(
                joined_schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)) as ArrayRef,
                    Arc::new(Float64Array::from(revenue)),
                    Arc::new(StringArray::from(c)),
                    Arc::new(StringArray::from(t)),
                ],
            )
            .unwrap(),
        );
        done += n;
    }
    write(&dir.join("sales.parquet"), sales);
    write(&dir.join("joined.parquet"), joined);
}

const JOINED_SPEC: &str = r#"table customers from "customers.parquet" { key customer_id }
market sales from "sales.parquet" { join customers on customer_id; measure value = sum(revenue) }
dimension c on sales = country
dimension t on sales = tier
segment s = sales by c x t
"#;

const PREJOINED_SPEC: &str = r#"market sales from "joined.parquet" { measure value = sum(revenue) }
dimension c on sales = country
dimension t on sales = tier
segment s = sales by c x t
"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let rows = arg("--rows").map_or(10_000_000, |s| count(s));
    let customers = arg("--table").map_or(2_000_000, |s| count(s));
    let runs: usize = arg("--runs").map_or(3, |s| s.parse().expect("--runs N"));
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let dir = PathBuf::from(target).join(format!("seg-bench/joins-{rows}-{customers}"));
    std::fs::create_dir_all(&dir).unwrap();
    if !dir.join("joined.parquet").exists() {
        eprintln!(
            "joins: generating {rows} sales rows and {customers} customers in {}",
            dir.display()
        );
        generate(&dir, rows, customers);
    }
    let (mut joined, mut prejoined) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let (a, ra) = run(&dir, JOINED_SPEC);
        let (b, rb) = run(&dir, PREJOINED_SPEC);
        assert_eq!(ra, rb, "the join and the pre-joined file disagree");
        eprintln!("joins: run {}: joined {a:.2} s, pre-joined {b:.2} s", i + 1);
        joined.push(a);
        prejoined.push(b);
    }
    let (a, b) = (median(joined), median(prejoined));
    println!(
        "joins: {rows} rows x {customers}-row table: joined {a:.2} s, pre-joined {b:.2} s (medians of {runs}); ratio {:.2}",
        a / b
    );
}
