//! Lowering's one diagnostic: a plan that fails to build after a clean check.

use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// A lowering failure after a clean check is a compiler bug: say so, with the span
/// of what was being lowered.
pub fn internal(span: Span, what: &str, e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(Code::E0901, format!("internal error while lowering {what}: {e}"))
        .with_label(span, "while compiling this")
        .with_help("this is a bug in seg; please report it with the spec")
}
