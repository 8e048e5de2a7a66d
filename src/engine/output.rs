//! Result formats: a table for people; CSV, JSON and Parquet for machines. Files are
//! written by `engine::files`.

use super::session::EngineError;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

impl OutFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutFormat::Table => "txt",
            OutFormat::Csv => "csv",
            OutFormat::Json => "json",
            OutFormat::Parquet => "parquet",
        }
    }
}

/// Batches encoded in memory; writing to memory cannot fail, so a failure is an
/// encoder's (a bug).
fn encode(
    format: OutFormat,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<Vec<u8>, EngineError> {
    let mut out = Vec::new();
    let mut w = Sink::new(format, &mut out, schema).map_err(EngineError::internal)?;
    for b in batches {
        w.write(b).map_err(EngineError::internal)?;
    }
    w.finish().map_err(EngineError::internal)?;
    Ok(out)
}

/// CSV with a header; nothing at all when there is no batch to take it from.
pub fn to_csv(batches: &[RecordBatch]) -> Result<Vec<u8>, EngineError> {
    match batches.first() {
        Some(b) => encode(OutFormat::Csv, b.schema(), batches),
        None => Ok(Vec::new()),
    }
}

/// One JSON array of objects; nulls are written as `null`, not left out.
pub fn to_json(batches: &[RecordBatch]) -> Result<Vec<u8>, EngineError> {
    // JSON takes its keys from each batch; the schema is not consulted.
    let schema = batches.first().map_or_else(|| SchemaRef::new(Schema::empty()), |b| b.schema());
    encode(OutFormat::Json, schema, batches)
}

pub fn to_parquet(batches: &[RecordBatch], schema: SchemaRef) -> Result<Vec<u8>, EngineError> {
    encode(OutFormat::Parquet, schema, batches)
}

fn cell(a: &ArrayRef, i: usize, name: &str) -> String {
    if a.is_null(i) {
        return String::new();
    }
    match a.data_type() {
        DataType::Float64 => {
            let v = a.as_primitive::<Float64Type>().value(i);
            if name == "share" || name == "share_of_parent" {
                format!("{:.1}%", v * 100.0)
            } else {
                group_thousands(&format!("{v:.2}"))
            }
        }
        DataType::Int64 if name != "level" => {
            group_thousands(&a.as_primitive::<Int64Type>().value(i).to_string())
        }
        _ => {
            let s = arrow::util::display::array_value_to_string(a, i).unwrap_or_default();
            // A label with invisible edges ("cafe " vs "cafe") is shown quoted.
            if s.is_empty() || s.trim() != s {
                format!("{s:?}")
            } else {
                s
            }
        }
    }
}

/// `1234567.5` as `1,234,567.5`.
pub fn group_thousands(s: &str) -> String {
    let (sign, rest) = s.strip_prefix('-').map(|r| ("-", r)).unwrap_or(("", s));
    let (int, frac) = rest.split_once('.').map(|(a, b)| (a, Some(b))).unwrap_or((rest, None));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// A table for people: labels left, numbers right, shares as percentages, subtotal
/// children indented.
pub fn to_table(batches: &[RecordBatch], dims: usize) -> String {
    to_table_with(batches, dims, false)
}

/// A share as a bar of Unicode blocks, `width` cells for 100%, in eighths.
pub fn share_bar(share: f64, width: usize) -> String {
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let eighths = (share.clamp(0.0, 1.0) * width as f64 * 8.0).round() as usize;
    format!("{}{}", "█".repeat(eighths / 8), PARTS[eighths % 8])
}

/// `to_table`; with `bars` (a terminal), a share bar beside each row's share.
pub fn to_table_with(batches: &[RecordBatch], dims: usize, bars: bool) -> String {
    let Some(first) = batches.first() else { return String::from("(no rows)\n") };
    let schema = first.schema();
    let mut names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            rows.push(names.iter().enumerate().map(|(c, n)| cell(b.column(c), i, n)).collect());
        }
    }
    let share_col = names.iter().position(|n| n == "share");
    let bar_col = share_col.filter(|_| bars).map(|sc| {
        for (r, b) in rows.iter_mut().zip(batches.iter().flat_map(|b| {
            // An arrow kernel on result arrays, not a plan expression.
            let col = arrow::compute::kernels::cast::cast_with_options(
                b.column(sc),
                &DataType::Float64,
                &Default::default(),
            )
            .ok();
            (0..b.num_rows()).map(move |i| {
                col.as_ref().and_then(|c| {
                    let a = c.as_primitive::<arrow::datatypes::Float64Type>();
                    a.is_valid(i).then(|| a.value(i))
                })
            })
        })) {
            r.insert(sc + 1, b.map(|x| share_bar(x, 20)).unwrap_or_default());
        }
        names.insert(sc + 1, String::new());
        sc + 1
    });
    let level_col = names.iter().position(|n| n == "level");
    let mut widths: Vec<usize> = names.iter().map(|n| n.chars().count()).collect();
    widths.iter_mut().take(dims).for_each(|w| *w = (*w).max("(unassigned)".len()));
    for r in &rows {
        for (c, v) in r.iter().enumerate() {
            widths[c] = widths[c].max(v.chars().count());
        }
    }
    let mut numeric: Vec<bool> = schema
        .fields()
        .iter()
        .map(|f| matches!(f.data_type(), DataType::Int64 | DataType::Float64))
        .collect();
    if let Some(b) = bar_col {
        numeric.insert(b, false);
    }
    let mut out = String::new();
    let line = |out: &mut String, vals: &[String], header: bool| {
        for (c, v) in vals.iter().enumerate() {
            if c > 0 {
                out.push_str("  ");
            }
            let pad = widths[c] - v.chars().count();
            if numeric[c] && !header {
                out.push_str(&" ".repeat(pad));
                out.push_str(v);
            } else if c + 1 == vals.len() {
                out.push_str(v);
            } else {
                out.push_str(v);
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(&mut out, &names, true);
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    line(&mut out, &rule, true);
    for r in &rows {
        let mut r = r.clone();
        // Unassigned rows have no label; say so rather than print nothing.
        if let Some(lc) = level_col {
            let lv: usize = r[lc].parse().unwrap_or(1);
            for (d, v) in r.iter_mut().enumerate().take(dims) {
                if v.is_empty() && d < lv {
                    *v = "(unassigned)".into();
                }
            }
        } else {
            for v in r.iter_mut().take(dims) {
                if v.is_empty() {
                    *v = "(unassigned)".into();
                }
            }
        }
        line(&mut out, &r, false);
    }
    out
}

/// The one encoder of result batches, over any byte sink: the in-memory outputs
/// of `seg run` and the streamed files of `seg assign` differ only in where the
/// bytes go and how a failure is reported, so errors stay plain text here.
// One sink lives per output file, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Sink<W: std::io::Write + Send> {
    Csv(arrow::csv::Writer<std::io::BufWriter<W>>),
    /// The writer, and whether any row went through it (no row: `[]`).
    Json(arrow::json::Writer<std::io::BufWriter<W>, arrow::json::writer::JsonArray>, bool),
    Parquet(datafusion::parquet::arrow::ArrowWriter<W>),
}

impl<W: std::io::Write + Send> Sink<W> {
    fn new(format: OutFormat, out: W, schema: SchemaRef) -> Result<Self, String> {
        if format == OutFormat::Parquet {
            return datafusion::parquet::arrow::ArrowWriter::try_new(out, schema, None)
                .map(Sink::Parquet)
                .map_err(|e| e.to_string());
        }
        let buffered = std::io::BufWriter::with_capacity(1 << 20, out);
        Ok(match format {
            OutFormat::Csv | OutFormat::Table => {
                // The header is written even when no row follows.
                let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(buffered);
                w.write(&RecordBatch::new_empty(schema)).map_err(|e| e.to_string())?;
                Sink::Csv(w)
            }
            _ => Sink::Json(
                arrow::json::WriterBuilder::new().with_explicit_nulls(true).build(buffered),
                false,
            ),
        })
    }

    fn write(&mut self, b: &RecordBatch) -> Result<(), String> {
        match self {
            Sink::Csv(w) => w.write(b).map_err(|e| e.to_string()),
            Sink::Json(w, any) => {
                *any |= b.num_rows() > 0;
                w.write(b).map_err(|e| e.to_string())
            }
            Sink::Parquet(w) => w.write(b).map_err(|e| e.to_string()),
        }
    }

    fn finish(self) -> Result<(), String> {
        use std::io::Write;
        let flushed = |r: std::io::Result<()>| r.map_err(|e| e.to_string());
        match self {
            Sink::Csv(w) => flushed(w.into_inner().flush()),
            Sink::Json(mut w, any) => {
                w.finish().map_err(|e| e.to_string())?;
                let mut inner = w.into_inner();
                if !any {
                    flushed(inner.write_all(b"[]"))?;
                }
                flushed(inner.flush())
            }
            Sink::Parquet(w) => w.close().map(|_| ()).map_err(|e| e.to_string()),
        }
    }
}

/// Writes result batches to a file as they arrive, so an output larger than memory
/// (every row of a market, from `assign`) never has to be held whole.
pub struct BatchWriter<'a>(Sink<&'a mut std::fs::File>);

fn write_error(e: String) -> EngineError {
    EngineError::write(format!("cannot write the output: {e}"))
}

impl<'a> BatchWriter<'a> {
    pub fn new(
        format: OutFormat,
        file: &'a mut std::fs::File,
        schema: SchemaRef,
    ) -> Result<Self, EngineError> {
        Sink::new(format, file, schema).map(BatchWriter).map_err(write_error)
    }

    pub fn write(&mut self, b: &RecordBatch) -> Result<(), EngineError> {
        self.0.write(b).map_err(write_error)
    }

    pub fn finish(self) -> Result<(), EngineError> {
        self.0.finish().map_err(write_error)
    }
}

/// `seg run --pivot DIM`: the labels of dimension `pivot` (its column index among
/// the `dims` label columns) become columns. Each result row keyed by the other
/// labels gathers, for every label of the pivoted dimension in order of first
/// appearance, every value column: named `LABEL` when there is one value column,
/// `LABEL VALUE` otherwise (`EU rows`, `EU share`). A cell no row reached is null.
/// Only rows without a level column (no `then`, no total) can be pivoted.
pub fn pivot(
    batches: &[RecordBatch],
    dims: usize,
    pivot: usize,
) -> Result<Vec<RecordBatch>, EngineError> {
    use arrow::array::{new_null_array, UInt32Array};
    use arrow::compute::take;
    use arrow::datatypes::Field;
    use std::collections::HashMap;
    let Some(first) = batches.first() else { return Ok(Vec::new()) };
    let schema = first.schema();
    let all = arrow::compute::concat_batches(&schema, batches).map_err(EngineError::internal)?;
    let text = |c: usize, i: usize| -> Option<String> {
        let a = all.column(c);
        if a.is_null(i) {
            return None;
        }
        arrow::util::display::array_value_to_string(a, i).ok()
    };
    let keys: Vec<usize> = (0..dims).filter(|&c| c != pivot).collect();
    let values: Vec<usize> = (dims..schema.fields().len()).collect();
    // Output rows in order of first appearance of their key; pivot labels likewise.
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    let mut row_of: HashMap<Vec<Option<String>>, usize> = HashMap::new();
    let mut labels: Vec<Option<String>> = Vec::new();
    // (output row, label) -> input row
    let mut cell: HashMap<(usize, usize), usize> = HashMap::new();
    for i in 0..all.num_rows() {
        let key: Vec<Option<String>> = keys.iter().map(|&c| text(c, i)).collect();
        let r = *row_of.entry(key.clone()).or_insert_with(|| {
            rows.push(key);
            rows.len() - 1
        });
        let l = text(pivot, i);
        let li = match labels.iter().position(|x| *x == l) {
            Some(p) => p,
            None => {
                labels.push(l);
                labels.len() - 1
            }
        };
        cell.insert((r, li), i);
    }
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    // Key columns: the first input row of each output row.
    let firsts: Vec<Option<u32>> = (0..rows.len())
        .map(|r| (0..labels.len()).find_map(|l| cell.get(&(r, l)).map(|&i| i as u32)))
        .collect();
    let firsts = UInt32Array::from(firsts);
    for &c in &keys {
        fields.push(schema.field(c).as_ref().clone());
        columns.push(take(all.column(c), &firsts, None).map_err(EngineError::internal)?);
    }
    for (li, l) in labels.iter().enumerate() {
        let name = l.clone().unwrap_or_else(|| "(unassigned)".into());
        let idx = UInt32Array::from(
            (0..rows.len()).map(|r| cell.get(&(r, li)).map(|&i| i as u32)).collect::<Vec<_>>(),
        );
        for &v in &values {
            let f = schema.field(v);
            let shown =
                if values.len() == 1 { name.clone() } else { format!("{name} {}", f.name()) };
            fields.push(Field::new(shown, f.data_type().clone(), true));
            let col = if rows.is_empty() {
                new_null_array(f.data_type(), 0)
            } else {
                take(all.column(v), &idx, None).map_err(EngineError::internal)?
            };
            columns.push(col);
        }
    }
    let out = RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)
        .map_err(EngineError::internal)?;
    Ok(vec![out])
}
