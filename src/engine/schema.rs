//! Reads a data file's schema (CSV header, Parquet footer, IPC schema) for the checker.

use crate::check::program::{Format, Type};
use crate::check::{Columns, SchemaError, SchemaSource};
use crate::engine::paths::{
    data_path, hive_partitions, is_multi, resolve, source_data, DataPathError, PathPolicy,
};
use crate::lower::types::{arrow_type, seg_type};
use arrow::datatypes::{Field, Schema};
use std::collections::HashMap;
use std::io::{BufReader, Seek};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// CSV and JSON carry no types. Declared columns are only cross-checked against
/// this many leading records; undeclared ones are inferred from every record (a
/// float at row 5,001 must not make an `int` column fail at run time).
pub const SAMPLE_RECORDS: usize = 1000;

/// The column names of a CSV file, from its header alone.
pub fn read_csv_header(path: &Path) -> Result<Vec<String>, String> {
    let file = super::files::open_regular(path).map_err(|e| e.to_string())?;
    let fmt = arrow::csv::reader::Format::default().with_header(true);
    let (schema, _) = fmt.infer_schema(BufReader::new(file), Some(0)).map_err(|e| e.to_string())?;
    Ok(schema.fields().iter().map(|f| f.name().clone()).collect())
}

/// Reads the schema of a file: Parquet and Arrow from their metadata; CSV and JSON
/// by inference over every record, or over `SAMPLE_RECORDS` when `sample`.
pub fn read_schema(path: &Path, format: Format, sample: bool) -> Result<Schema, String> {
    let file = super::files::open_regular(path).map_err(|e| e.to_string())?;
    let records = sample.then_some(SAMPLE_RECORDS);
    match format {
        Format::Csv => {
            if records.is_none() {
                if let Some(schema) = infer_csv_in_parts(path) {
                    return Ok(normalize_inferred(schema));
                }
            }
            let fmt = arrow::csv::reader::Format::default().with_header(true);
            let (schema, _) =
                fmt.infer_schema(BufReader::new(file), records).map_err(|e| e.to_string())?;
            Ok(normalize_inferred(schema))
        }
        Format::Json => {
            let (schema, _) = arrow::json::reader::infer_json_schema(BufReader::new(file), records)
                .map_err(|e| e.to_string())?;
            Ok(normalize_inferred(schema))
        }
        Format::Parquet => {
            let builder =
                datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                    file,
                )
                .map_err(|e| e.to_string())?;
            Ok(builder.schema().as_ref().clone())
        }
        Format::Table => Err("a database table, not a file".into()),
        Format::Arrow => {
            let mut f = file;
            match arrow::ipc::reader::FileReader::try_new(&mut f, None) {
                Ok(r) => Ok(r.schema().as_ref().clone()),
                Err(_) => {
                    f.rewind().map_err(|e| e.to_string())?;
                    let r = arrow::ipc::reader::StreamReader::try_new(BufReader::new(f), None)
                        .map_err(|e| e.to_string())?;
                    Ok(r.schema().as_ref().clone())
                }
            }
        }
    }
}

/// Below this size a CSV is inferred in one pass: threads would not pay.
const PARTS_FROM_BYTES: u64 = 32 << 20;

/// Every record's types, inferred in parts on every core and merged as arrow's
/// inference merges the values of one column, so the schema is the one a single
/// pass infers. Inference reads every record with a regex per field, single
/// threaded: 6 s of a 10M-row `seg run`. `None` (a single pass then decides, and
/// reports any error) for small files, one core, a file with quotes (`infer_part`),
/// or parts whose field counts differ.
fn infer_csv_in_parts(path: &Path) -> Option<Schema> {
    use std::io::{BufRead, Read, SeekFrom};
    let len = std::fs::metadata(path).ok()?.len();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
    if cores < 2 || len < PARTS_FROM_BYTES {
        return None;
    }
    let mut f = super::files::open_regular(path).ok()?;
    // Part i starts just after the first newline at or after i/cores of the file.
    let mut starts = vec![0u64];
    for i in 1..cores as u64 {
        f.seek(SeekFrom::Start(len * i / cores as u64)).ok()?;
        let mut r = BufReader::new(&mut f);
        let mut skipped = Vec::new();
        let n = r.read_until(b'\n', &mut skipped).ok()? as u64;
        let at = len * i / cores as u64 + n;
        if at < len && at > *starts.last()? {
            starts.push(at);
        }
    }
    starts.push(len);
    let parts: Vec<Option<(Vec<String>, Vec<u16>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let (from, to) = (w[0], w[1]);
                scope.spawn(move || {
                    let mut f = super::files::open_regular(path).ok()?;
                    f.seek(SeekFrom::Start(from)).ok()?;
                    infer_part(BufReader::new(f.take(to - from)), i == 0)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().ok().flatten()).collect()
    });
    let mut parts = parts.into_iter();
    let (names, mut bits) = parts.next()??;
    for part in parts {
        let (_, more) = part?;
        if more.len() != bits.len() {
            return None;
        }
        bits.iter_mut().zip(more).for_each(|(b, m)| *b |= m);
    }
    let fields: Vec<Field> =
        names.iter().zip(bits).map(|(n, b)| Field::new(n, type_of_bits(b), true)).collect();
    Some(Schema::new(fields))
}

/// One part's column names (the header, in the first part) and, per column, the
/// kinds of value its records hold (`kind_bits`), read as arrow-csv's inference
/// reads them. `None` on anything that inference would report as an error.
/// Quotes are read as plain characters, so that a quote anywhere ends the part
/// (`None`): a quoted field may hold a newline, where a part must not start.
fn infer_part(part: impl std::io::Read, header: bool) -> Option<(Vec<String>, Vec<u16>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(header)
        .flexible(false)
        .quoting(false)
        .from_reader(part);
    let quoted = |r: &csv::StringRecord| r.iter().any(|v| v.contains('"'));
    // Without a header, `headers` is the first record, which is still read below.
    let first = reader.headers().ok()?;
    if quoted(first) {
        return None;
    }
    let names: Vec<String> = match header {
        true => first.iter().map(str::to_string).collect(),
        false => (0..first.len()).map(|i| format!("column_{}", i + 1)).collect(),
    };
    let mut bits = vec![0u16; names.len()];
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).ok()? {
        if quoted(&record) {
            return None;
        }
        record.iter().zip(bits.iter_mut()).for_each(|(v, b)| *b |= kind_bits(v));
    }
    Some((names, bits))
}

/// arrow-csv's `InferredDataType::update` for one value, as the bit of the kind it
/// is (an empty value is null: no bit). ASCII values are classified by hand, which
/// is what makes inference over every record affordable; anything else goes
/// through the same regular expressions arrow-csv uses (`\d` there is any Unicode
/// digit).
pub fn kind_bits(v: &str) -> u16 {
    const TEXT: u16 = 1 << 8;
    if v.is_empty() {
        return 0;
    }
    if v.starts_with('"') {
        return TEXT;
    }
    if !v.is_ascii() {
        return kind_bits_by_regex(v);
    }
    let b = v.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return 1;
    }
    // Numbers: -?digits[.digits][e[+-]digits]
    let sign = usize::from(b[0] == b'-');
    let int = digits(sign);
    let mut at = sign + int;
    if at == b.len() && int > 0 {
        return if v.len() >= 19 && v.parse::<i64>().is_err() { TEXT } else { 1 << 1 };
    }
    let mut frac = None;
    if at < b.len() && b[at] == b'.' {
        let n = digits(at + 1);
        frac = Some(n);
        at += 1 + n;
    }
    let mantissa = match frac {
        Some(n) => int > 0 || n > 0,
        None => int > 0,
    };
    if mantissa && at < b.len() && (b[at] == b'e' || b[at] == b'E') {
        let mut e = at + 1;
        if e < b.len() && (b[e] == b'+' || b[e] == b'-') {
            e += 1;
        }
        let n = digits(e);
        if n > 0 && e + n == b.len() {
            return 1 << 2;
        }
    } else if mantissa && frac.is_some() && at == b.len() {
        return 1 << 2;
    }
    if v == "NaN" || v == "nan" || v == "inf" || v == "-inf" {
        return 1 << 2;
    }
    // Dates and timestamps: \d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d[.fraction][rest]
    let at_digits =
        |i: usize, n: usize| b.len() >= i + n && b[i..i + n].iter().all(u8::is_ascii_digit);
    if !(at_digits(0, 4)
        && b.get(4) == Some(&b'-')
        && at_digits(5, 2)
        && b.get(7) == Some(&b'-')
        && at_digits(8, 2))
    {
        return TEXT;
    }
    if b.len() == 10 {
        return 1 << 3;
    }
    let time = matches!(b[10], b'T' | b' ')
        && at_digits(11, 2)
        && b.get(13) == Some(&b':')
        && at_digits(14, 2)
        && b.get(16) == Some(&b':')
        && at_digits(17, 2);
    if !time {
        return TEXT;
    }
    match b.get(19) {
        None => 1 << 4,
        Some(c) if !c.is_ascii_digit() && *c != b'.' => 1 << 4,
        Some(b'.') => match digits(20) {
            n @ 1..=9 => {
                1 << (if n <= 3 {
                    5
                } else if n <= 6 {
                    6
                } else {
                    7
                })
            }
            _ => TEXT,
        },
        Some(_) => TEXT,
    }
}

/// `kind_bits` through arrow-csv's own patterns (for values that are not ASCII).
fn kind_bits_by_regex(v: &str) -> u16 {
    static SET: std::sync::LazyLock<regex::RegexSet> = std::sync::LazyLock::new(|| {
        regex::RegexSet::new([
            r"(?i)^(true)$|^(false)$(?-i)",
            r"^-?(\d+)$",
            r"^-?((\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?|\d+([eE][-+]?\d+))$",
            r"^\d{4}-\d\d-\d\d$",
            r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[^\d\.].*)?$",
            r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\.\d{1,3}(?:[^\d].*)?$",
            r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\.\d{1,6}(?:[^\d].*)?$",
            r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\.\d{1,9}(?:[^\d].*)?$",
        ])
        .expect("arrow-csv's patterns")
    });
    match SET.matches(v).into_iter().next() {
        Some(1) if v.len() >= 19 && v.parse::<i64>().is_err() => 1 << 8,
        Some(m) => 1 << m,
        None if v == "NaN" || v == "nan" || v == "inf" || v == "-inf" => 1 << 2,
        None => 1 << 8,
    }
}

/// arrow-csv's `InferredDataType::get`: the type a set of value kinds infers.
fn type_of_bits(b: u16) -> arrow::datatypes::DataType {
    use arrow::datatypes::{DataType, TimeUnit};
    match b {
        0 => DataType::Null,
        1 => DataType::Boolean,
        2 => DataType::Int64,
        4 | 6 => DataType::Float64,
        b if b != 0 && (b & !0b1111_1000) == 0 => match b.leading_zeros() {
            8 => DataType::Timestamp(TimeUnit::Nanosecond, None),
            9 => DataType::Timestamp(TimeUnit::Microsecond, None),
            10 => DataType::Timestamp(TimeUnit::Millisecond, None),
            11 => DataType::Timestamp(TimeUnit::Second, None),
            _ => DataType::Date32,
        },
        _ => DataType::Utf8,
    }
}

/// Inferred CSV/JSON types are widened to seg's canonical ones so an inferred schema
/// and a declared one read the same file the same way.
fn normalize_inferred(schema: Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let t = seg_type(f.data_type()).unwrap_or(Type::Text);
            Field::new(f.name(), arrow_type(t), true)
        })
        .collect();
    Schema::new(fields)
}

/// The file type a Hive partition column reports: its type is the declaration's.
pub const HIVE_PARTITION: &str = "partition";

/// What identifies a file's contents without reading them: its length and
/// modification time. A schema read under one stamp is reused while it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl Stamp {
    pub fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp { len: m.len(), modified: m.modified().ok() })
    }
}

type Entry = (Stamp, Result<Columns, String>);

/// Schemas read so far, by file, format and whether the columns were declared
/// (declared ones are only sampled). Shared by every analysis of one driver.
#[derive(Default)]
pub struct SchemaCache {
    entries: Mutex<HashMap<(PathBuf, Format, bool), Entry>>,
    /// Files actually read, for tests and an editor's status line.
    reads: std::sync::atomic::AtomicUsize,
}

impl SchemaCache {
    /// How many schemas were read from files (not served from the cache).
    pub fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn read(
        &self,
        path: &Path,
        format: Format,
        sample: bool,
    ) -> (Option<Stamp>, Result<Columns, String>) {
        let stamp = Stamp::of(path);
        let key = (path.to_path_buf(), format, sample);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let (Some(s), Some((cached, r))) = (&stamp, entries.get(&key)) {
            if s == cached {
                return (stamp, r.clone());
            }
        }
        self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let columns = read_schema(path, format, sample).map(|schema| {
            schema
                .fields()
                .iter()
                .filter_map(|f| {
                    seg_type(f.data_type())
                        .map(|t| (f.name().clone(), t, f.is_nullable(), f.data_type().to_string()))
                })
                .collect()
        });
        // A file that vanished or cannot be stamped is read again next time.
        if let Some(s) = &stamp {
            entries.insert(key, (s.clone(), columns.clone()));
        }
        (stamp, columns)
    }
}

/// The checker's view of data files: resolves paths with the policy, reads schemas
/// through the driver's cache, and notes which files it read.
pub struct FileSchemas<'a> {
    spec_dir: PathBuf,
    policy: PathPolicy,
    no_data: bool,
    /// `--source MARKET=PATH`: that market's schema comes from PATH (as given).
    sources: HashMap<String, PathBuf>,
    cache: &'a SchemaCache,
    inputs: Mutex<Vec<(PathBuf, Stamp)>>,
    /// `--on URL`: the database a `from table` market's columns are read from.
    database: Option<String>,
}

impl<'a> FileSchemas<'a> {
    pub fn new(
        spec_dir: PathBuf,
        policy: PathPolicy,
        no_data: bool,
        sources: HashMap<String, PathBuf>,
        cache: &'a SchemaCache,
    ) -> Self {
        FileSchemas {
            spec_dir,
            policy,
            no_data,
            sources,
            cache,
            inputs: Mutex::default(),
            database: None,
        }
    }

    /// Reads `from table` markets' columns from the database at `url` (`--on`).
    pub fn with_database(mut self, url: Option<String>) -> Self {
        self.database = url;
        self
    }

    /// The data files read, with the stamps they had.
    pub fn take_inputs(&self) -> Vec<(PathBuf, Stamp)> {
        std::mem::take(&mut self.inputs.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl SchemaSource for FileSchemas<'_> {
    fn schema(
        &self,
        market: &str,
        raw: &str,
        format: Format,
        declared: bool,
    ) -> Result<Option<Columns>, SchemaError> {
        // A database table has no file: its columns are declared (or read from the
        // database by `seg check --on URL`).
        if format == Format::Table {
            return match (&self.database, self.no_data) {
                (Some(url), false) => {
                    super::remote::table_columns(url, raw).map(Some).map_err(|why| {
                        SchemaError::Unreadable {
                            file: format!("table {raw} in {}", super::remote::masked(url)),
                            why,
                        }
                    })
                }
                _ => Ok(None),
            };
        }
        // The policy needs no data, so `--no-data` reports a refused path too.
        let unusable = |e: DataPathError, file: String| match e {
            DataPathError::NoMatch(why) => SchemaError::Unreadable { file, why },
            DataPathError::Refused(why) => SchemaError::Refused { why },
        };
        let data = match self.sources.get(market) {
            Some(p) => source_data(&self.spec_dir, p, &self.policy)
                .map_err(|e| unusable(e, p.display().to_string()))?,
            // Without data a pattern or folder is not listed; one file's path is
            // still held to the policy.
            None if self.no_data => {
                if !is_multi(&self.spec_dir, raw, &self.policy) {
                    resolve(&self.spec_dir, raw, &self.policy)
                        .map_err(|why| SchemaError::Refused { why })?;
                }
                return Ok(None);
            }
            None => data_path(&self.spec_dir, raw, format.extension(), &self.policy)
                .map_err(|e| unusable(e, raw.to_string()))?,
        };
        // Several files: the first one's schema stands for all, plus its Hive
        // partition folders (typed by the declaration, so text here).
        let partitions = match &data.hive_base {
            Some(base) => hive_partitions(base, &data.files[0]),
            None => Vec::new(),
        };
        let path = data.files[0].clone();
        if self.no_data {
            return Ok(None);
        }
        let (stamp, mut columns) = self.cache.read(&path, format, declared);
        if let Ok(cols) = &mut columns {
            for (k, _) in partitions {
                if !cols.iter().any(|c| c.0 == k) {
                    cols.push((k, Type::Text, true, HIVE_PARTITION.to_string()));
                }
            }
        }
        if let Some(s) = stamp {
            self.inputs.lock().unwrap_or_else(|e| e.into_inner()).push((path, s));
        }
        // A replaced market's problem is with the replacement: name that file.
        let file = match self.sources.get(market) {
            Some(p) => format!("{} (from --source)", p.display()),
            None => raw.to_string(),
        };
        columns.map(Some).map_err(|why| SchemaError::Unreadable { file, why })
    }
}
