//! Many-to-one joins as lookups: a lookup table held in memory answers each market
//! row's key with the table row it names, and the table's columns are gathered by
//! that row number.
//!
//! Why not DataFusion's hash join: a `join` is many-to-one by contract (the keys are
//! checked unique), so each market row meets at most one table row. The hash join
//! pays for the general case: it gathers every market column through index vectors
//! and probes a map that allows duplicates. A lookup leaves the market batch as it
//! is, adds one row number, and gathers only the table columns the spec reads
//! (measured in benches/joins.rs; see docs/performance.md). Keys of a type the index
//! does not cover (floats) keep the hash join.
//!
//! A dimension that is a table column as it is (`dimension c on sales = country`)
//! goes further: its labels are the table column's distinct values, known once the
//! table is in memory, so each key maps straight to a label code (`ColumnCodes`) and
//! the market rows group by integers, like static labels, instead of gathering and
//! hashing strings.

use super::udf::{self, Kind};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{HashMap, Result};
use datafusion::logical_expr::{Expr, Signature, Volatility};
use std::sync::{Arc, Mutex};

fn df_internal(msg: String) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Internal(msg)
}

/// Past this ratio of key range to rows, a dense array wastes memory; a hash map
/// takes over.
const DENSE_SPREAD: i64 = 4;

/// A table in memory, indexed by its key.
pub struct TableIndex {
    name: String,
    batch: RecordBatch,
    index: Index,
    /// Per column, its label codes once asked for (`None`: too many distinct values).
    codes: Mutex<std::collections::HashMap<String, Option<Arc<ColumnCodes>>>>,
}

/// Past this many distinct values a column is not coded: the codes stay `u16`, and
/// the decoding list stays small next to the table.
const MAX_CODED_LABELS: usize = 1 << 15;

/// A table column's values as label codes: `labels` are its distinct values as
/// text (as `cast(x, Utf8)` writes them, the label a column dimension gives), and
/// `by_key` the code of each dense key slot (dense index) or table row (hash index).
/// Code `labels.len()` is unassigned: a null value, a null key or a key the table
/// lacks.
pub struct ColumnCodes {
    pub labels: Vec<String>,
    by_key: ByKey,
}

/// Codes per key slot or row, in a byte each while the labels fit: a smaller array
/// keeps more of the random reads (one per market row) in cache.
enum ByKey {
    Narrow(Vec<u8>),
    Wide(Vec<u16>),
}

impl ByKey {
    fn get(&self, i: usize) -> i64 {
        match self {
            ByKey::Narrow(v) => v[i] as i64,
            ByKey::Wide(v) => v[i] as i64,
        }
    }
}

/// Each key's code through a dense index's slots.
fn dense_codes<T: Copy + Into<i64>>(keys: &[i64], min: i64, table: &[T], none: i64) -> Vec<i64> {
    let n = table.len() as u64;
    keys.iter()
        .map(|&v| {
            let slot = v.wrapping_sub(min) as u64;
            if slot < n {
                table[slot as usize].into()
            } else {
                none
            }
        })
        .collect()
}

enum Index {
    /// Integer keys in a narrow range: `rows[key - min]`, `u32::MAX` for none.
    Dense {
        min: i64,
        rows: Vec<u32>,
    },
    Ints(HashMap<i64, u32>),
    Text(HashMap<Box<str>, u32>),
}

/// A key that appears more than once: its value as shown to users and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateKey {
    pub key: String,
    pub times: usize,
}

/// How a key column is compared: integers (ints, dates, timestamps, booleans) or
/// text. Both sides of a join have the same seg type, so the same family.
enum Keys {
    Ints(ArrayRef),
    Text(ArrayRef),
}

fn keys(a: &ArrayRef) -> Result<Option<Keys>> {
    Ok(match a.data_type() {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::Date32
        | DataType::Date64
        | DataType::Timestamp(..)
        | DataType::Boolean => Some(Keys::Ints(cast(a, &DataType::Int64)?)),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            Some(Keys::Text(cast(a, &DataType::Utf8View)?))
        }
        _ => None,
    })
}

impl TableIndex {
    /// Indexes `batch` (every row of table `name`) by column `key`. `Ok(None)` when
    /// the key's type is not one the index covers; `Err` names a duplicate key (the
    /// first one met, in file order). Null keys match nothing and are not indexed.
    pub fn build(
        name: &str,
        batch: RecordBatch,
        key: &str,
    ) -> Result<std::result::Result<Option<TableIndex>, DuplicateKey>> {
        let Some(col) = batch.column_by_name(key).cloned() else {
            return Err(df_internal(format!("table `{name}` has no column `{key}`")));
        };
        let index = match keys(&col)? {
            None => return Ok(Ok(None)),
            Some(Keys::Ints(a)) => {
                let a = a.as_primitive::<Int64Type>();
                let (mut lo, mut hi) = (i64::MAX, i64::MIN);
                for v in a.iter().flatten() {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
                let spread = (hi as i128 - lo as i128 + 1).max(0);
                let dense = spread <= (a.len() as i128).max(1024) * DENSE_SPREAD as i128;
                // Shown as the table shows it (a date as a date), not as the integer.
                let dup = |v: i64, r: usize| DuplicateKey {
                    key: arrow::util::display::array_value_to_string(&col, r)
                        .unwrap_or_else(|_| v.to_string()),
                    times: a.iter().filter(|x| *x == Some(v)).count(),
                };
                if lo > hi {
                    Index::Ints(HashMap::new())
                } else if dense {
                    let mut rows = vec![u32::MAX; spread as usize];
                    for (r, v) in a.iter().enumerate() {
                        let Some(v) = v else { continue };
                        let slot = &mut rows[(v - lo) as usize];
                        if *slot != u32::MAX {
                            return Ok(Err(dup(v, r)));
                        }
                        *slot = r as u32;
                    }
                    Index::Dense { min: lo, rows }
                } else {
                    let mut map = HashMap::with_capacity(a.len());
                    for (r, v) in a.iter().enumerate() {
                        let Some(v) = v else { continue };
                        if map.insert(v, r as u32).is_some() {
                            return Ok(Err(dup(v, r)));
                        }
                    }
                    Index::Ints(map)
                }
            }
            Some(Keys::Text(a)) => {
                let a = a.as_string_view();
                let mut map: HashMap<Box<str>, u32> = HashMap::with_capacity(a.len());
                for (r, v) in a.iter().enumerate() {
                    let Some(v) = v else { continue };
                    if map.insert(v.into(), r as u32).is_some() {
                        let times = a.iter().filter(|x| *x == Some(v)).count();
                        return Ok(Err(DuplicateKey { key: format!("{v:?}"), times }));
                    }
                }
                Index::Text(map)
            }
        };
        Ok(Ok(Some(TableIndex { name: name.to_string(), batch, index, codes: Default::default() })))
    }

    /// The label codes of `column` (computed once, then shared by every plan).
    pub fn codes(&self, column: &str) -> Result<Option<Arc<ColumnCodes>>> {
        let mut cache = self.codes.lock().map_err(|_| df_internal("codes lock".into()))?;
        if let Some(c) = cache.get(column) {
            return Ok(c.clone());
        }
        let built = self.build_codes(column)?.map(Arc::new);
        cache.insert(column.to_string(), built.clone());
        Ok(built)
    }

    fn build_codes(&self, column: &str) -> Result<Option<ColumnCodes>> {
        // Labels as `cast(x, Utf8)` writes them; held as string views so that a
        // short label (12 bytes or fewer, inline in its view) is found by its
        // 16-byte view alone, without hashing or comparing bytes.
        let col = self.column(column)?;
        let text: ArrayRef = match col.data_type() {
            DataType::Utf8View => col.clone(),
            DataType::Utf8 | DataType::LargeUtf8 => cast(col, &DataType::Utf8View)?,
            _ => cast(&cast(col, &DataType::Utf8)?, &DataType::Utf8View)?,
        };
        let a = text.as_string_view();
        let views = a.views();
        let mut labels: Vec<String> = Vec::new();
        let mut short: HashMap<u128, u16> = HashMap::new();
        let mut long: HashMap<&str, u16> = HashMap::new();
        let mut by_row: Vec<u16> = Vec::with_capacity(a.len());
        for (i, &view) in views.iter().enumerate() {
            if a.is_null(i) {
                by_row.push(u16::MAX);
                continue;
            }
            let inline = (view as u32) <= 12;
            let found = if inline { short.get(&view) } else { long.get(a.value(i)) };
            let code = match found {
                Some(&c) => c,
                None => {
                    if labels.len() >= MAX_CODED_LABELS {
                        return Ok(None);
                    }
                    let c = labels.len() as u16;
                    let v = a.value(i);
                    if inline {
                        short.insert(view, c);
                    } else {
                        long.insert(v, c);
                    }
                    labels.push(v.to_string());
                    c
                }
            };
            by_row.push(code);
        }
        let none = labels.len() as u16;
        let fix = |c: u16| if c == u16::MAX { none } else { c };
        let wide: Vec<u16> = match &self.index {
            Index::Dense { rows, .. } => rows
                .iter()
                .map(|&r| if r == u32::MAX { none } else { fix(by_row[r as usize]) })
                .collect(),
            _ => by_row.into_iter().map(fix).collect(),
        };
        let by_key = if labels.len() < u8::MAX as usize {
            ByKey::Narrow(wide.into_iter().map(|c| c as u8).collect())
        } else {
            ByKey::Wide(wide)
        };
        Ok(Some(ColumnCodes { labels, by_key }))
    }

    /// The label code of each market row's key (see `ColumnCodes`).
    fn codes_of(&self, key: &ArrayRef, cc: &ColumnCodes) -> Result<ArrayRef> {
        let none = cc.labels.len() as i64;
        let code = |r: u32| if r == u32::MAX { none } else { cc.by_key.get(r as usize) };
        let nulls = key.logical_nulls();
        let bad = || df_internal(format!("a join key of `{}` changed type", self.name));
        let mut out: Vec<i64> = match (&self.index, keys(key)?.ok_or_else(bad)?) {
            (Index::Dense { min, .. }, Keys::Ints(a)) => {
                // The dense slots index `by_key` directly: one random access per row
                // into a byte (or `u16`) array, an eighth of the row index's size.
                let keys = a.as_primitive::<Int64Type>().values();
                match &cc.by_key {
                    ByKey::Narrow(t) => dense_codes(keys, *min, t, none),
                    ByKey::Wide(t) => dense_codes(keys, *min, t, none),
                }
            }
            (Index::Ints(map), Keys::Ints(a)) => a
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .map(|v| code(map.get(v).copied().unwrap_or(u32::MAX)))
                .collect(),
            (Index::Text(map), Keys::Text(a)) => a
                .as_string_view()
                .iter()
                .map(|v| code(v.and_then(|v| map.get(v).copied()).unwrap_or(u32::MAX)))
                .collect(),
            _ => return Err(bad()),
        };
        if let Some(n) = nulls {
            for (o, valid) in out.iter_mut().zip(n.iter()) {
                if !valid {
                    *o = none;
                }
            }
        }
        Ok(Arc::new(arrow::array::Int64Array::from(out)))
    }

    /// The table row each key names (null: a null key, or no such row).
    fn rows(&self, key: &ArrayRef) -> Result<UInt32Array> {
        let none = || df_internal(format!("a join key of `{}` changed type", self.name));
        let found: Vec<u32> = match (&self.index, keys(key)?.ok_or_else(none)?) {
            (Index::Dense { min, rows }, Keys::Ints(a)) => {
                // A tight loop over the raw values (null slots hold some value; the
                // validity below discards them): this runs once per market row.
                let n = rows.len() as u64;
                a.as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .map(|&v| {
                        let slot = v.wrapping_sub(*min) as u64;
                        if slot < n {
                            rows[slot as usize]
                        } else {
                            u32::MAX
                        }
                    })
                    .collect()
            }
            (Index::Ints(map), Keys::Ints(a)) => a
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .map(|v| map.get(v).copied().unwrap_or(u32::MAX))
                .collect(),
            (Index::Text(map), Keys::Text(a)) => a
                .as_string_view()
                .iter()
                .map(|v| v.and_then(|v| map.get(v).copied()).unwrap_or(u32::MAX))
                .collect(),
            _ => return Err(none()),
        };
        let hit: arrow::buffer::BooleanBuffer = found.iter().map(|&r| r != u32::MAX).collect();
        let valid = match key.logical_nulls() {
            Some(n) => &hit & n.inner(),
            None => hit,
        };
        Ok(UInt32Array::new(found.into(), Some(arrow::buffer::NullBuffer::new(valid))))
    }

    fn column(&self, name: &str) -> Result<&ArrayRef> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| df_internal(format!("table `{}` has no column `{name}`", self.name)))
    }
}

/// `seg_row_<table>(key)`: the table row a market row's key names.
struct RowOf(Arc<TableIndex>, String);

impl Kind for RowOf {
    fn name(&self) -> &str {
        &self.1
    }
    fn returns(&self) -> DataType {
        DataType::UInt32
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        Ok(Arc::new(self.0.rows(&args[0])?))
    }
}

/// `seg_<table>_<column>(row)`: a table column gathered by row number.
struct Gather {
    name: String,
    table: Arc<TableIndex>,
    column: String,
    ty: DataType,
}

impl Kind for Gather {
    fn name(&self) -> &str {
        &self.name
    }
    fn returns(&self) -> DataType {
        self.ty.clone()
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        let rows = args[0].as_primitive::<arrow::datatypes::UInt32Type>();
        Ok(take(self.table.column(&self.column)?, rows, None)?)
    }
}

/// `seg_code_<table>_<column>(key)`: the label code of a table column at a key.
struct CodeOf {
    name: String,
    table: Arc<TableIndex>,
    codes: Arc<ColumnCodes>,
}

impl Kind for CodeOf {
    fn name(&self) -> &str {
        &self.name
    }
    fn returns(&self) -> DataType {
        DataType::Int64
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        self.table.codes_of(&args[0], &self.codes)
    }
}

/// The label code of `column` of `table` at the row `key` names, with the labels
/// the codes stand for; `None` when the column has too many distinct values.
pub fn code_of(
    table: &Arc<TableIndex>,
    column: &str,
    key: Expr,
) -> Result<Option<(Expr, Arc<ColumnCodes>)>> {
    let Some(codes) = table.codes(column)? else { return Ok(None) };
    let kind = CodeOf {
        name: format!("seg_code_{}_{}", table.name, column),
        table: table.clone(),
        codes: codes.clone(),
    };
    let e = udf::call(Arc::new(kind), Signature::any(1, Volatility::Immutable), vec![key]);
    Ok(Some((e, codes)))
}

/// The row number `key` names in `table`, as an expression.
pub fn row_of(table: &Arc<TableIndex>, key: Expr) -> Expr {
    let kind = RowOf(table.clone(), format!("seg_row_{}", table.name));
    udf::call(Arc::new(kind), Signature::any(1, Volatility::Immutable), vec![key])
}

/// Column `column` of `table` at row number `row` (null for a null row).
pub fn gather(table: &Arc<TableIndex>, column: &str, row: Expr) -> Result<Expr> {
    let ty = table.column(column)?.data_type().clone();
    let kind = Gather {
        name: format!("seg_{}_{}", table.name, column),
        table: table.clone(),
        column: column.to_string(),
        ty,
    };
    Ok(udf::call(
        Arc::new(kind),
        Signature::exact(vec![DataType::UInt32], Volatility::Immutable),
        vec![row],
    ))
}
