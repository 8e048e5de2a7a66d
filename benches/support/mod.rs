//! What the scale benches share: row counts from the command line,
//! a reproducible generator, medians, and one timed spec run through the driver.

use seg::check::program::Value;
use seg::driver::{Driver, LoadOptions};
use seg::engine::paths::PathPolicy;
use seg::engine::session::{Session, SessionOptions};
use std::path::Path;
use std::time::Instant;

/// `10M` or `200K` as a count.
pub fn count(s: &str) -> u64 {
    let s = s.trim().to_ascii_uppercase();
    let (n, mult) = match s.chars().last() {
        Some('M') => (&s[..s.len() - 1], 1_000_000),
        Some('K') => (&s[..s.len() - 1], 1_000),
        _ => (s.as_str(), 1),
    };
    n.parse::<u64>().expect("a count like 10M or 200K") * mult
}

/// xorshift64*, reproducible.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The checked spec `spec` (placed in `dir` as `bench.seg`) and a session on it.
pub fn open(dir: &Path, spec: &str) -> (std::sync::Arc<seg::driver::SpecFile>, Session) {
    let driver = Driver::new(LoadOptions {
        no_data: false,
        policy: PathPolicy { allow_outside: true },
        sources: Default::default(),
        as_of: None,
        no_lock: false,
        database: None,
    });
    let file = driver.analyse(&dir.join("bench.seg"), "bench.seg", spec.as_bytes());
    let program = file.program.clone().unwrap_or_else(|| panic!("{:?}", file.diagnostics));
    let opts =
        SessionOptions { policy: Some(PathPolicy { allow_outside: true }), ..Default::default() };
    let session = Session::new(program, dir, &opts).expect("session");
    (file, session)
}

/// One timed run of segmentation 0 of `spec` (placed in `dir`): check, open the
/// session, run. Returns seconds and the result rows.
pub fn run(dir: &Path, spec: &str) -> (f64, Vec<Vec<Value>>) {
    let started = Instant::now();
    let (_, session) = open(dir, spec);
    let batches = session.run_segment(0).expect("run");
    let secs = started.elapsed().as_secs_f64();
    (secs, seg::engine::batches_to_values(&batches))
}

/// `--rows N` (default 10M) and `--runs N` (default 3) from the command line, and
/// the bench's data folder `seg-bench/NAME-ROWS` under the target folder, created.
pub fn rows_runs_dir(name: &str) -> (u64, usize, std::path::PathBuf) {
    let args: Vec<String> = std::env::args().collect();
    let arg = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let rows = arg("--rows").map_or(10_000_000, |s| count(s));
    let runs: usize = arg("--runs").map_or(3, |s| s.parse().expect("--runs N"));
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let dir = std::path::PathBuf::from(target).join(format!("seg-bench/{name}-{rows}"));
    std::fs::create_dir_all(&dir).unwrap();
    (rows, runs, dir)
}

/// Three segmentations of `sales_parquet`'s market: bars (a mapping), a Marimekko
/// (the mapping crossed with bins) and nested bars (the mapping then a column).
pub const SALES_SPEC: &str = r#"market sales from "sales.parquet" {
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
"#;

const REGIONS: [&str; 6] = ["north", "south", "east", "west", "central", "online"];
const CHANNELS: [&str; 3] = ["web", "store", "phone"];

/// A sales market of `rows` rows as Parquet: region (6 values), channel (3),
/// revenue (0-200, cents) and day (a year): the `report`, `databases` and
/// `cluster` benches' data.
pub fn sales_parquet(path: &Path, rows: u64) {
    use arrow::array::{ArrayRef, Date32Array, Float64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;
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
