//! Diagnostics raised while reading a spec: input limits, syntax errors, bad literals.

use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

pub const MAX_SPEC_BYTES: usize = 1 << 20;
pub const MAX_LINE_BYTES: usize = 10_000;
pub const MAX_NESTING: usize = 64;
/// Operands in one chain of `and`, `or`, `+` ... (each adds a level to the tree).
pub const MAX_OPERANDS: usize = 1000;

/// `len` is what was read: a file is read only up to one byte past the limit, so
/// its true size may be larger.
pub fn too_large(len: usize) -> Diagnostic {
    let size = if len > MAX_SPEC_BYTES + 1 {
        format!("{len} bytes")
    } else {
        "more than 1 MiB".to_string()
    };
    Diagnostic::new(Code::E0001, format!("spec is {size}, over the limit of 1 MiB"))
        .with_help("split the spec into several files; seg reads every `*.seg` in a folder")
}

pub fn invalid_utf8(at: usize) -> Diagnostic {
    Diagnostic::new(Code::E0002, "spec is not valid UTF-8")
        .with_label(Span::new(at, at + 3), "this byte is not UTF-8")
        .with_help("save the file as UTF-8")
}

pub fn line_too_long(start: usize, len: usize) -> Diagnostic {
    Diagnostic::new(Code::E0003, format!("line is {len} bytes, over the limit of {MAX_LINE_BYTES}"))
        .with_label(Span::new(start, start + 1), "this line is too long")
        .with_help("break the line; statements may span several lines")
}

pub fn too_deep(at: usize) -> Diagnostic {
    Diagnostic::new(Code::E0004, format!("nesting is deeper than {MAX_NESTING} levels"))
        .with_label(Span::new(at, at + 1), format!("level {} opens here", MAX_NESTING + 1))
        .with_help("name intermediate results as measures or dimensions instead of nesting")
}

pub fn bidi_control(at: usize, len: usize, ch: char) -> Diagnostic {
    Diagnostic::new(
        Code::E0005,
        format!("bidirectional control character U+{:04X} outside a comment", ch as u32),
    )
    .with_label(
        Span::new(at, at + len),
        "this invisible character can make code read differently than it runs",
    )
    .with_help("delete the character; bidirectional text is allowed only in comments")
}

pub fn call_limit(at: usize) -> Diagnostic {
    Diagnostic::new(Code::E0006, "spec is too complex to parse")
        .with_label(Span::new(at, at + 1), "the parser gave up near here")
        .with_help("simplify the expression; the parser limits how much work one spec may cost")
}

pub fn too_many_operands(span: Span) -> Diagnostic {
    Diagnostic::new(Code::E0007, format!("expression has more than {MAX_OPERANDS} operands"))
        .with_label(
            Span::new(span.start as usize, span.start as usize + 1),
            "this expression is too long",
        )
        .with_help("split it into several rules, or list values with `in (...)`")
}

pub fn syntax(span: Span, expected: &str, found: &str, help: Option<&str>) -> Diagnostic {
    let d = Diagnostic::new(Code::E0101, format!("expected {expected}, found {found}"))
        .with_label(span, format!("expected {expected}"));
    match help {
        Some(h) => d.with_help(h),
        None => d,
    }
}

pub fn bad_escape(span: Span) -> Diagnostic {
    Diagnostic::new(Code::E0102, "unknown escape in text")
        .with_label(span, "not a known escape")
        .with_help("the escapes are \\\" \\\\ \\n and \\t")
}

pub fn bad_number(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(Code::E0103, format!("{what} is out of range"))
        .with_label(span, "this number does not fit")
        .with_help("whole numbers must fit in 64 bits")
}

pub fn bad_date(span: Span) -> Diagnostic {
    Diagnostic::new(Code::E0104, "not a valid date")
        .with_label(span, "no such day")
        .with_help("dates are written YYYY-MM-DD, e.g. 2024-03-31")
}

pub fn unknown_format(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(Code::E0105, format!("unknown data format `{name}`"))
        .with_label(span, "not a format")
        .with_help("the formats are csv, parquet, json (ndjson) and arrow (ipc)")
}

pub fn internal(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(Code::E0900, format!("internal error: {what}"))
        .with_label(span, "while reading this")
        .with_help("this is a bug in seg; please report it with the spec")
}
