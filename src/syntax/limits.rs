//! Cheap scans that refuse hostile input before the parser sees it.

use super::errors;
use crate::diagnostic::Diagnostic;

/// Bidirectional controls that can reorder how code reads (CVE-2021-42574).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Long lines, deep nesting and bidi controls, found in one pass that knows where
/// strings and comments are.
pub fn scan(src: &str) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut line_start = 0;
    for (i, b) in src.bytes().enumerate().chain(std::iter::once((src.len(), b'\n'))) {
        if b == b'\n' {
            if i - line_start > errors::MAX_LINE_BYTES {
                diags.push(errors::line_too_long(line_start, i - line_start));
            }
            line_start = i + 1;
        }
    }
    if !diags.is_empty() {
        return diags;
    }
    #[derive(PartialEq)]
    enum Mode {
        Code,
        Str,
        Quoted,
        Comment,
    }
    let mut mode = Mode::Code;
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, c) in src.char_indices() {
        if is_bidi(c) && mode != Mode::Comment {
            diags.push(errors::bidi_control(i, c.len_utf8(), c));
        }
        match mode {
            Mode::Comment => {
                if c == '\n' {
                    mode = Mode::Code;
                }
            }
            Mode::Str => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' || c == '\n' {
                    mode = Mode::Code;
                }
            }
            Mode::Quoted => {
                if c == '`' || c == '\n' {
                    mode = Mode::Code;
                }
            }
            Mode::Code => match c {
                '#' => mode = Mode::Comment,
                '"' => mode = Mode::Str,
                '`' => mode = Mode::Quoted,
                '(' | '[' | '{' => {
                    depth += 1;
                    if depth > errors::MAX_NESTING {
                        diags.push(errors::too_deep(i));
                        return diags;
                    }
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    diags
}
