//! The diagnostics of SQL emission (E0801).

use super::Dialect;
use crate::check::program::Checked;
use crate::diagnostic::{Code, Diagnostic};

/// Segmentation `s` uses `what`, which `dialect` cannot express.
pub(super) fn unportable(p: &Checked, s: usize, what: &str, dialect: Dialect) -> Diagnostic {
    let sd = &p.segments[s];
    Diagnostic::new(
        Code::E0801,
        format!(
            "segmentation `{}` uses {what}, which seg cannot write in {} SQL",
            sd.name,
            dialect.name()
        ),
    )
    .with_label(sd.span, "this segmentation")
    .with_help("run it with `seg run`, or choose another dialect (`seg sql --dialect duckdb`)")
}
