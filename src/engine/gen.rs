//! A deterministic generator of coffee-market sales (for benchmarks and demos):
//! realistic cardinalities and skew, a few nulls, the same bytes for the same seed.

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use std::path::Path;
use std::sync::Arc;

/// xorshift64*: small, fast and reproducible everywhere (also the fuzzer's).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    fn pick<'a>(&mut self, w: &[(&'a str, f64)]) -> &'a str {
        let total: f64 = w.iter().map(|x| x.1).sum();
        let mut x = self.unit() * total;
        for (v, p) in w {
            x -= p;
            if x < 0.0 {
                return v;
            }
        }
        w[w.len() - 1].0
    }
}

pub fn coffee_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("customer_type", DataType::Utf8, true),
        Field::new("age", DataType::Int64, true),
        Field::new("region", DataType::Utf8, true),
        Field::new("product", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("kg", DataType::Float64, false),
        Field::new("revenue", DataType::Float64, false),
        Field::new("order_date", DataType::Date32, false),
    ]))
}

/// Rows `[from, to)` of the coffee data set for `seed`.
pub fn coffee_batch(seed: u64, from: u64, to: u64) -> RecordBatch {
    const TYPES: [(&str, f64); 7] = [
        ("office", 14.0),
        ("restaurant", 10.0),
        ("cafe", 11.0),
        ("Cafe ", 0.3),
        ("household", 46.0),
        ("student", 12.0),
        ("hotel", 5.0),
    ];
    const PRODUCTS: [(&str, f64); 5] = [
        ("ground", 30.0),
        ("beans", 22.0),
        ("capsules", 28.0),
        ("cold_brew", 8.0),
        ("instant", 12.0),
    ];
    const REGIONS: [(&str, f64); 6] =
        [("EU", 38.0), ("NA", 30.0), ("APAC", 20.0), ("LATAM", 8.0), ("MEA", 3.0), ("OTHER", 1.0)];
    const CHANNELS: [(&str, f64); 3] = [("retail", 45.0), ("online", 35.0), ("wholesale", 20.0)];
    let n = (to - from) as usize;
    let customers = 50_000u64;
    let (
        mut id,
        mut cust,
        mut ct,
        mut age,
        mut region,
        mut product,
        mut channel,
        mut kg,
        mut revenue,
        mut date,
    ) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for row in from..to {
        let mut r = Rng(seed ^ row.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03);
        r.next_u64();
        // Skewed customers: a few buy often.
        let c = (customers as f64 * r.unit().powf(1.7)) as u64 + 1;
        let mut cr = Rng(seed ^ c.wrapping_mul(0xA24B_AED4_963E_E407));
        cr.next_u64();
        let t = cr.pick(&TYPES);
        let a = if cr.unit() < 0.03 {
            None
        } else {
            Some(16 + (cr.unit() * cr.unit() * 64.0) as i64 + (cr.unit() * 10.0) as i64)
        };
        let reg = if cr.unit() < 0.01 { None } else { Some(cr.pick(&REGIONS)) };
        let p = r.pick(&PRODUCTS);
        let b2b = matches!(t, "office" | "restaurant" | "cafe" | "Cafe " | "hotel");
        let k = if b2b { 2.0 + r.unit() * 38.0 } else { 0.2 + r.unit() * 2.8 };
        let price = match p {
            "ground" => 11.0,
            "beans" => 14.0,
            "capsules" => 32.0,
            "cold_brew" => 6.5,
            _ => 9.0,
        };
        id.push(row as i64 + 1);
        cust.push(c as i64);
        ct.push(Some(t));
        age.push(a);
        region.push(reg);
        product.push(p);
        channel.push(if b2b && r.unit() < 0.5 { "wholesale" } else { r.pick(&CHANNELS) });
        kg.push((k * 100.0).round() / 100.0);
        // Whole currency units: sums of them are exact in any order, so engines that
        // add up in different orders still rank customers' spend identically.
        revenue.push((k * price * (0.85 + r.unit() * 0.3)).round().max(1.0));
        date.push(19_358 + (r.unit() * 730.0) as i32);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(id)),
        Arc::new(Int64Array::from(cust)),
        Arc::new(StringArray::from(ct)),
        Arc::new(Int64Array::from(age)),
        Arc::new(StringArray::from(region)),
        Arc::new(StringArray::from(product)),
        Arc::new(StringArray::from(channel)),
        Arc::new(Float64Array::from(kg)),
        Arc::new(Float64Array::from(revenue)),
        Arc::new(Date32Array::from(date)),
    ];
    RecordBatch::try_new(coffee_schema(), cols).expect("coffee columns match the schema")
}

/// Writes `rows` coffee rows as Parquet or CSV (by extension), in chunks, replacing
/// any file at `path`.
pub fn write_coffee(path: &Path, rows: u64, seed: u64) -> Result<(), String> {
    write_coffee_checked(path, rows, seed, true)
}

/// `write_coffee` through the output checks: an existing file needs `force`.
pub fn write_coffee_checked(path: &Path, rows: u64, seed: u64, force: bool) -> Result<(), String> {
    let csv = path.extension().is_some_and(|e| e == "csv");
    super::files::write_atomic_with(path, force, &[], |file| {
        write_rows(file, csv, rows, seed).map_err(super::session::EngineError::write)
    })
    .map_err(|e| e.to_string())
}

fn write_rows(file: &mut std::fs::File, csv: bool, rows: u64, seed: u64) -> Result<(), String> {
    let chunk = 131_072u64;
    if csv {
        let mut w = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(std::io::BufWriter::new(&mut *file));
        let mut from = 0;
        while from < rows {
            let to = (from + chunk).min(rows);
            w.write(&coffee_batch(seed, from, to)).map_err(|e| e.to_string())?;
            from = to;
        }
        std::io::Write::flush(&mut w.into_inner()).map_err(|e| e.to_string())?;
    } else {
        let mut w =
            datafusion::parquet::arrow::ArrowWriter::try_new(&mut *file, coffee_schema(), None)
                .map_err(|e| e.to_string())?;
        let mut from = 0;
        while from < rows {
            let to = (from + chunk).min(rows);
            w.write(&coffee_batch(seed, from, to)).map_err(|e| e.to_string())?;
            from = to;
        }
        w.close().map_err(|e| e.to_string())?;
    }
    Ok(())
}
