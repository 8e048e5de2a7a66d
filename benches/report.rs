//! The cost of `seg report` against `seg run` of the same segmentations: 10M rows of
//! a Parquet market, three segmentations (bars, a Marimekko, nested bars) and an
//! `expect`. The report also audits every segmentation, checks the expectations and
//! draws the charts; the target (issue 15) is at most 1.2× the run.
//!
//! `cargo bench --bench report` (`-- --rows 1M --runs 1` to narrow it).

use arrow::array::{ArrayRef, Date32Array, Float64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use seg::engine::session::Session;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use support::{median, Rng};

#[allow(dead_code)]
mod support;

const REGIONS: [&str; 6] = ["north", "south", "east", "west", "central", "online"];
const CHANNELS: [&str; 3] = ["web", "store", "phone"];

fn generate(path: &Path, rows: u64) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("region", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("revenue", DataType::Float64, false),
        Field::new("day", DataType::Date32, false),
    ]));
    let f = std::fs::File::create(path).unwrap();
    let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(f, schema.clone(), None).unwrap();
    let mut rng = Rng(11);
    let mut done = 0;
    while done < rows {
        let n = 1_000_000.min(rows - done);
        let region: Vec<&str> = (0..n).map(|_| REGIONS[(rng.next() % 6) as usize]).collect();
        let channel: Vec<&str> = (0..n).map(|_| CHANNELS[(rng.next() % 3) as usize]).collect();
        let revenue: Vec<f64> = (0..n).map(|_| (rng.next() % 20_000) as f64 / 100.0).collect();
        let day: Vec<i32> = (0..n).map(|_| 19_358 + (rng.next() % 365) as i32).collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(region)),
            Arc::new(StringArray::from(channel)),
            Arc::new(Float64Array::from(revenue)),
            Arc::new(Date32Array::from(day)),
        ];
        w.write(&RecordBatch::try_new(schema.clone(), cols).unwrap()).unwrap();
        done += n;
    }
    w.close().unwrap();
}

const SPEC: &str = r#"market sales from "sales.parquet" {
  measure value = sum(revenue)
}
dimension zone on sales = region {
  "north", "south" => "north-south"
  "east", "west"   => "east-west"
  else             => "other"
}
dimension ticket on sales = bins revenue [20, 50, 100]
dimension via on sales = channel
segment by_zone = sales by zone
segment grid    = sales by zone x ticket
segment nested  = sales by zone then via
expect share(by_zone, "other") > 10%
"#;

fn session(dir: &Path) -> (Arc<seg::driver::SpecFile>, Session) {
    support::open(dir, SPEC)
}

/// `seg run`: every segmentation, as tables.
fn run(dir: &Path) -> f64 {
    let started = Instant::now();
    let (_, s) = session(dir);
    let mut out = 0;
    for k in 0..s.program.segments.len() {
        let b = s.run_segment(k).expect("run");
        out += seg::engine::output::to_table(&b, s.program.segments[k].label_columns()).len();
    }
    assert!(out > 0);
    started.elapsed().as_secs_f64()
}

/// `seg report`: the same, plus the audit, the expectations and the HTML.
fn report(dir: &Path) -> (f64, usize) {
    let started = Instant::now();
    let (file, s) = session(dir);
    let segs: Vec<usize> = (0..s.program.segments.len()).collect();
    let (results, audits) = seg::engine::audit::run_audited(&s, &segs).expect("run, audit");
    let t2 = started.elapsed().as_secs_f64();
    let verdicts = seg::report::verdicts(&file, &s, &results);
    let t3 = started.elapsed().as_secs_f64();
    let html = seg::report::html(&file, &s.program, &results, &audits, &verdicts);
    eprintln!(
        "report: segments and audit {t2:.2} s, checks {:.2} s, html {:.3} s",
        t3 - t2,
        started.elapsed().as_secs_f64() - t3
    );
    (started.elapsed().as_secs_f64(), html.len())
}

fn main() {
    let (rows, runs, dir) = support::rows_runs_dir("report");
    if !dir.join("sales.parquet").exists() {
        eprintln!("report: generating {rows} rows in {}", dir.display());
        generate(&dir.join("sales.parquet"), rows);
    }
    let (mut r, mut p) = (Vec::new(), Vec::new());
    let mut size = 0;
    for i in 0..runs {
        r.push(run(&dir));
        let (t, n) = report(&dir);
        p.push(t);
        size = n;
        eprintln!("report: run {}: run {:.2} s, report {:.2} s", i + 1, r[i], p[i]);
    }
    let (r, p) = (median(r), median(p));
    println!(
        "report: {rows} rows, 3 segmentations: seg run {r:.2} s, seg report {p:.2} s ({size} bytes of HTML), medians of {runs}; ratio {:.2}",
        p / r
    );
}
