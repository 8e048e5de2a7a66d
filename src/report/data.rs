//! A segmentation's result batches as rows a chart can read: labels, level,
//! period, rows, share and growth, by the output's column names.

use crate::check::program::Checked;
use arrow::array::{Array, AsArray};
// Arrow's kernel, on result arrays (plans are built in `lower` only).
use arrow::compute::cast as convert;
use arrow::datatypes::{DataType, Float64Type};
use arrow::record_batch::RecordBatch;

/// One output row.
#[derive(Clone, Debug)]
pub struct Row {
    /// The label of each label column (null: unassigned, or a subtotal's blank).
    pub labels: Vec<Option<String>>,
    pub level: Option<i64>,
    pub period: Option<String>,
    pub rows: f64,
    pub share: Option<f64>,
    pub growth: Option<f64>,
}

/// The rows of segmentation `s`, and the names of its label columns.
pub fn rows(p: &Checked, s: usize, batches: &[RecordBatch]) -> (Vec<String>, Vec<Row>) {
    let sd = &p.segments[s];
    let names: Vec<String> = if sd.migrate.is_some() {
        vec!["from".into(), "to".into()]
    } else {
        sd.dims.iter().map(|&d| p.dims[d].name.clone()).collect()
    };
    let mut out = Vec::new();
    for b in batches {
        let text = |name: &str| -> Option<Vec<Option<String>>> {
            let c = b.column_by_name(name)?;
            let c = convert(c, &DataType::Utf8).ok()?;
            let a = c.as_string::<i32>();
            Some((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())).collect())
        };
        let num = |name: &str| -> Option<Vec<Option<f64>>> {
            let c = b.column_by_name(name)?;
            let c = convert(c, &DataType::Float64).ok()?;
            let a = c.as_primitive::<Float64Type>();
            Some((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))).collect())
        };
        let labels: Vec<Vec<Option<String>>> =
            names.iter().map(|n| text(n).unwrap_or_else(|| vec![None; b.num_rows()])).collect();
        let level = num("level");
        let period = text("period");
        let rows = num("rows");
        let share = num("share");
        let growth = num("growth");
        for i in 0..b.num_rows() {
            out.push(Row {
                labels: labels.iter().map(|l| l[i].clone()).collect(),
                level: level.as_ref().and_then(|l| l[i]).map(|x| x as i64),
                period: period.as_ref().and_then(|p| p[i].clone()),
                rows: rows.as_ref().and_then(|r| r[i]).unwrap_or(0.0),
                share: share.as_ref().and_then(|s| s[i]),
                growth: growth.as_ref().and_then(|g| g[i]),
            });
        }
    }
    (names, out)
}
