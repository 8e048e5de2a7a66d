//! Text → AST: the only stage that knows pest. Screens hostile input, parses, and
//! resynchronises at the next statement so one typo does not hide the rest.

pub mod ast;
mod convert;
pub mod errors;
pub mod layout;
mod limits;
mod parser;
mod pest_errors;

pub use parser::parse_expr;

/// The reserved words (grammar/seg.pest's `keyword`): no name may be one.
pub const KEYWORDS: [&str; 24] = [
    "market",
    "entity",
    "dimension",
    "segment",
    "expect",
    "example",
    "from",
    "as",
    "where",
    "on",
    "of",
    "by",
    "else",
    "then",
    "and",
    "or",
    "not",
    "in",
    "is",
    "between",
    "null",
    "true",
    "false",
    "distinct",
];

use crate::diagnostic::Diagnostic;
use ast::Program;

/// The outcome of reading one spec: the text diagnostics are drawn against (lossy
/// for invalid UTF-8), what parsed, and what did not.
pub struct Parsed {
    pub text: String,
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
}

/// The stack the parser runs on. Callers of `parse_bytes_here` provide it.
pub const PARSE_STACK: usize = 256 << 20;

pub fn parse_bytes(bytes: &[u8]) -> Parsed {
    parse_bytes_with(bytes, false)
}

/// `parse_bytes` on the calling thread, which must have a `PARSE_STACK` stack: for
/// callers that parse millions of inputs (the fuzzer), where a thread per parse
/// would be most of the cost.
pub fn parse_bytes_here(bytes: &[u8]) -> Parsed {
    parse_bytes_with(bytes, true)
}

fn parse_bytes_with(bytes: &[u8], here: bool) -> Parsed {
    if bytes.len() > errors::MAX_SPEC_BYTES {
        // Nothing of the text is kept: rendering a 2 MiB source would be the slow part.
        return Parsed {
            text: String::new(),
            program: Program::default(),
            diagnostics: vec![errors::too_large(bytes.len())],
        };
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str_with(text, here),
        Err(e) => Parsed {
            text: String::from_utf8_lossy(bytes).into_owned(),
            program: Program::default(),
            diagnostics: vec![errors::invalid_utf8(e.valid_up_to())],
        },
    }
}

pub fn parse_str(text: &str) -> Parsed {
    parse_str_with(text, false)
}

fn parse_str_with(text: &str, here: bool) -> Parsed {
    if text.len() > errors::MAX_SPEC_BYTES {
        return Parsed {
            text: String::new(),
            program: Program::default(),
            diagnostics: vec![errors::too_large(text.len())],
        };
    }
    let screened = limits::scan(text);
    if !screened.is_empty() {
        return Parsed {
            text: text.to_string(),
            program: Program::default(),
            diagnostics: screened,
        };
    }
    if here {
        let (program, diagnostics) = parser::parse_program(text);
        return Parsed { text: text.to_string(), program, diagnostics };
    }
    // pest and the conversion recurse once per nesting level and operator; a thread
    // with a known, generous stack keeps the limits above safe in any caller.
    let (program, diagnostics) = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(PARSE_STACK)
            .spawn_scoped(s, || parser::parse_program(text))
            .ok()
            .and_then(|h| h.join().ok())
    })
    .unwrap_or_else(|| {
        (
            Program::default(),
            vec![errors::internal(crate::span::Span::new(0, 0), "the parser thread failed")],
        )
    });
    Parsed { text: text.to_string(), program, diagnostics }
}

/// `format` on the calling thread, which must have a `PARSE_STACK` stack (the
/// fuzzer's, which formats millions of inputs).
pub fn format_here(text: &str) -> Result<String, Vec<Diagnostic>> {
    if text.len() > errors::MAX_SPEC_BYTES || !limits::scan(text).is_empty() {
        return Err(parse_str_with(text, true).diagnostics);
    }
    // One parse gives the tree the layout walks.
    match parser::parse_tree(text) {
        Ok(tree) => Ok(layout::format_tree(text, tree)),
        // Not parsed: the statement-by-statement parse words every error.
        Err(first) => {
            let diags = parse_str_with(text, true).diagnostics;
            Err(if diags.iter().any(|d| d.is_error()) { diags } else { vec![first] })
        }
    }
}

/// `text` in canonical layout (`seg fmt`), or the diagnostics that stop it: a spec
/// that does not parse is never rewritten.
pub fn format(text: &str) -> Result<String, Vec<Diagnostic>> {
    // The layout recurses like the parser, so it gets the parser's stack.
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(PARSE_STACK)
            .spawn_scoped(s, || format_here(text))
            .ok()
            .and_then(|h| h.join().ok())
    })
    .unwrap_or_else(|| {
        Err(vec![errors::internal(crate::span::Span::new(0, 0), "the layout failed")])
    })
}
