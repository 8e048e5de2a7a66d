//! Sessions, sources, execution and output: everything that touches data files.

pub mod audit;
pub mod errors;
pub mod expect;
pub mod files;
pub mod gen;
pub mod memory;
pub mod output;
pub mod paths;
pub mod schema;
pub mod session;

use crate::check::{self, program::Checked};
use crate::diagnostic::Diagnostic;
use crate::syntax;
use paths::PathPolicy;
use std::path::{Path, PathBuf};

/// One spec file, read, parsed and checked.
pub struct SpecFile {
    /// The path as the user gave it (for messages).
    pub display: String,
    pub path: PathBuf,
    pub text: String,
    pub diagnostics: Vec<Diagnostic>,
    pub program: Option<Checked>,
}

impl SpecFile {
    pub fn dir(&self) -> PathBuf {
        files::folder_of(&self.path)
    }
}

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub no_data: bool,
    pub policy: PathPolicy,
    /// `--source MARKET=PATH` replacements, read instead of the spec's paths.
    pub sources: std::collections::HashMap<String, std::path::PathBuf>,
}

pub fn load_spec(
    path: &Path,
    display: &str,
    opts: &LoadOptions,
) -> Result<SpecFile, std::io::Error> {
    let bytes = files::read_limited(path, syntax::errors::MAX_SPEC_BYTES)?;
    Ok(load_bytes(path, display, &bytes, opts))
}

pub fn load_bytes(path: &Path, display: &str, bytes: &[u8], opts: &LoadOptions) -> SpecFile {
    let parsed = syntax::parse_bytes(bytes);
    let mut spec = SpecFile {
        display: display.to_string(),
        path: path.to_path_buf(),
        text: parsed.text,
        diagnostics: parsed.diagnostics,
        program: None,
    };
    let schemas = schema::FileSchemas {
        spec_dir: spec.dir(),
        policy: opts.policy.clone(),
        no_data: opts.no_data,
        sources: opts.sources.clone(),
    };
    let checked = check::check(&parsed.program, &schemas);
    spec.diagnostics.extend(checked.diagnostics);
    spec.diagnostics.sort_by_key(|d| d.primary_span().map(|s| s.start).unwrap_or(0));
    if !spec.diagnostics.iter().any(|d| d.is_error()) {
        spec.program = checked.program;
    }
    spec
}

/// Result batches as rows of seg values (for `seg test` and the reference comparison).
pub fn batches_to_values(
    batches: &[arrow::record_batch::RecordBatch],
) -> Vec<Vec<crate::check::program::Value>> {
    use crate::check::program::Value;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float64Type, Int64Type};
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let row = b
                .columns()
                .iter()
                .map(|a| {
                    if a.is_null(i) {
                        return Value::Null;
                    }
                    match a.data_type() {
                        DataType::Int64 => Value::Int(a.as_primitive::<Int64Type>().value(i)),
                        DataType::Float64 => Value::Float(a.as_primitive::<Float64Type>().value(i)),
                        DataType::Utf8 => Value::Text(a.as_string::<i32>().value(i).to_string()),
                        DataType::Utf8View => Value::Text(a.as_string_view().value(i).to_string()),
                        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
                        _ => Value::Text(
                            arrow::util::display::array_value_to_string(a, i).unwrap_or_default(),
                        ),
                    }
                })
                .collect();
            out.push(row);
        }
    }
    out
}
