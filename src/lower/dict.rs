//! Label codes for labels that come from the data: a dictionary filled as the query
//! runs gives each distinct label a code, so a column dimension folds into one
//! integer group key with the other dimensions' codes (and the period of an `over`
//! segmentation) instead of grouping by its text.
//!
//! The dictionary belongs to one compiled plan and is shared by its partitions, so a
//! label keeps its code across batches, threads and re-executions of that plan.
//! Code 0 stands for a null label (unassigned); labels are numbered from 1.
//!
//! A dictionary may have a label limit: past it the labels are too many for the
//! dictionary to pay (each batch looks most of its labels up again), so it raises
//! its flag and fails the query, which the session runs again grouping by label
//! (`Scans::dictionaries`).

use super::codes;
use super::udf::{self, Kind};
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{HashMap, Result};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, Signature, Volatility};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Entries {
    codes: HashMap<Box<str>, i64>,
    labels: Vec<Box<str>>,
}

/// The most labels a dictionary codes, and the flag it raises past them.
pub type Limit = (usize, Arc<AtomicBool>);

/// One query's labels of one dimension, in the order they were first seen.
pub struct Dictionary {
    entries: Mutex<Entries>,
    /// Codes must stay below this, so that `code * stride` fits the cell's bits.
    limit: i64,
    name: String,
    labels: Option<Limit>,
}

impl Dictionary {
    /// A dictionary with codes below `limit` and, if `labels` says so, at most that
    /// many labels.
    pub fn new(name: &str, limit: i64, labels: Option<Limit>) -> Arc<Self> {
        Arc::new(Dictionary { entries: Mutex::default(), limit, name: name.to_string(), labels })
    }

    /// How many codes this dictionary can give (null's 0 and one per label), when
    /// it has a label limit; a grouping by its codes knows their range then.
    pub fn codes(&self) -> Option<i64> {
        self.labels.as_ref().map(|(most, _)| (*most as i64).saturating_add(1).min(self.limit))
    }

    fn code_of(&self, label: &str) -> Result<i64> {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&c) = e.codes.get(label) {
            return Ok(c);
        }
        if let Some((most, full)) = self.labels.as_ref().filter(|(m, _)| e.labels.len() >= *m) {
            full.store(true, Ordering::SeqCst);
            return Err(DataFusionError::External(Box::new(std::io::Error::other(format!(
                "dimension `{}` has more than {most} distinct labels: too many to code",
                self.name
            )))));
        }
        let c = e.labels.len() as i64 + 1;
        if c >= self.limit {
            return Err(DataFusionError::External(Box::new(std::io::Error::other(format!(
                "dimension `{}` has more distinct labels than a group key can number ({})",
                self.name, self.limit
            )))));
        }
        e.codes.insert(label.into(), c);
        e.labels.push(label.into());
        Ok(c)
    }
}

/// `seg_dict_<dim>(label[, period][, cell])`: the group key of a row, `cell` (the
/// other dimensions' codes) plus the label's code times `stride`, folded with the
/// period as `seg_fold` does. One pass computes it all, since this runs per row.
struct Encode {
    dict: Arc<Dictionary>,
    name: String,
    stride: i64,
    /// Whether the second argument is the period.
    period: bool,
}

/// A direct-mapped cache of short labels' views; `u128::MAX` is never an inline
/// view (its length field is past 12), so it marks an empty slot.
const CACHE_BITS: u32 = 8;

/// A folded multiply (as in foldhash) mixes every byte of the view into the slot.
#[inline]
fn cache_slot(view: u128) -> usize {
    let m = ((view as u64) ^ 0x243F_6A88_85A3_08D3) as u128
        * (((view >> 64) as u64) ^ 0x1319_8A2E_0370_7344) as u128;
    (((m as u64) ^ ((m >> 64) as u64)) >> (64 - CACHE_BITS)) as usize
}

impl Kind for Encode {
    fn name(&self) -> &str {
        &self.name
    }
    fn returns(&self) -> DataType {
        DataType::Int64
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        let text: ArrayRef = match args[0].data_type() {
            DataType::Utf8View => args[0].clone(),
            _ => cast(&args[0], &DataType::Utf8View)?,
        };
        let a = text.as_string_view();
        let periods = self.period.then(|| args[1].as_primitive::<Int64Type>());
        let cells = args.get(1 + usize::from(self.period)).map(|c| c.as_primitive::<Int64Type>());
        if cells.is_some_and(|c| c.null_count() > 0) {
            return Err(DataFusionError::Internal("a null label code".into()));
        }
        // A batch holds few distinct labels: each is looked up in the shared
        // dictionary about once per batch. A short label (12 bytes or fewer) is
        // inline in its 16-byte view, so the view alone identifies it.
        let mut keys = [u128::MAX; 1 << CACHE_BITS];
        let mut vals = [0i64; 1 << CACHE_BITS];
        let mut short: HashMap<u128, i64> = HashMap::new();
        let mut long: HashMap<&str, i64> = HashMap::new();
        // The slow path gives the code and whether the view may be cached.
        let mut code_of = |i: usize, view: u128| -> Result<(i64, bool)> {
            if a.is_null(i) {
                return Ok((0, false));
            }
            if (view as u32) > 12 {
                let v = a.value(i);
                return match long.get(v) {
                    Some(&c) => Ok((c, false)),
                    None => {
                        let c = self.dict.code_of(v)?;
                        long.insert(v, c);
                        Ok((c, false))
                    }
                };
            }
            let c = match short.get(&view) {
                Some(&c) => c,
                None => {
                    let c = self.dict.code_of(a.value(i))?;
                    short.insert(view, c);
                    c
                }
            };
            Ok((c, true))
        };
        let views = a.views();
        let has_nulls = a.null_count() > 0;
        let mut out = Vec::with_capacity(a.len());
        for (i, &view) in views.iter().enumerate() {
            let h = cache_slot(view);
            // A null row's view may hold anything, so the cache is not asked.
            let code = if !has_nulls && keys[h] == view {
                vals[h]
            } else {
                let (c, cache) = code_of(i, view)?;
                if cache {
                    keys[h] = view;
                    vals[h] = c;
                }
                c
            };
            let period = match periods {
                Some(p) if p.is_valid(i) => codes::period_slot(p.value(i))?,
                _ => 0,
            };
            let cell = cells.map_or(0, |c| c.value(i));
            out.push(period + code * self.stride + cell);
        }
        Ok(Arc::new(Int64Array::from(out)))
    }
}

/// `seg_undict_<dim>(cell)`: the label of `cell / stride`, after the aggregation.
struct Decode(Arc<Dictionary>, String, i64);

impl Kind for Decode {
    fn name(&self) -> &str {
        &self.1
    }
    fn returns(&self) -> DataType {
        DataType::Utf8
    }
    fn invoke(&self, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
        let cells = args[0].as_primitive::<Int64Type>();
        let e = self.0.entries.lock().unwrap_or_else(|p| p.into_inner());
        let out: StringArray = cells
            .iter()
            .map(|c| {
                let code = c? / self.2;
                // Every code in a group key was handed out by this dictionary.
                (code > 0).then(|| e.labels.get(code as usize - 1).map(|l| &**l)).flatten()
            })
            .collect();
        Ok(Arc::new(out))
    }
}

/// The group key of `label` (any type, cast to text) and `period`, if any, above
/// the other dimensions' `cell` code (see `Encode`).
pub fn encode(
    dict: &Arc<Dictionary>,
    stride: i64,
    label: Expr,
    period: Option<Expr>,
    cell: Option<Expr>,
) -> Expr {
    let name = format!("seg_dict_{}", dict.name);
    let has_period = period.is_some();
    let mut args = vec![label];
    args.extend(period);
    args.extend(cell);
    udf::call(
        Arc::new(Encode { dict: dict.clone(), name, stride, period: has_period }),
        Signature::any(args.len(), Volatility::Immutable),
        args,
    )
}

/// The label whose code is `cell / stride`.
pub fn decode(dict: &Arc<Dictionary>, stride: i64, cell: Expr) -> Expr {
    let name = format!("seg_undict_{}", dict.name);
    udf::call(
        Arc::new(Decode(dict.clone(), name, stride)),
        Signature::exact(vec![DataType::Int64], Volatility::Immutable),
        vec![cell],
    )
}
