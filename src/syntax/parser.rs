//! The parser's entry points: the whole file at once, or, after an error, statement by
//! statement so that one mistake does not hide the next. `convert` builds the AST and
//! `pest_errors` words pest's errors.

use super::ast::*;
use super::convert::Ctx;
use super::errors;
use super::pest_errors::{describe_found, pest_error};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/seg.pest"]
pub(super) struct SegParser;

pub(super) type R<T> = Result<T, Diagnostic>;

/// Parses `src` (already screened by `limits::scan`). Returns every statement that
/// parsed and one diagnostic per statement that did not.
pub fn parse_program(src: &str) -> (Program, Vec<Diagnostic>) {
    configure_pest();
    match parse_chunk(src, src, 0) {
        Ok(program) => (program, Vec::new()),
        Err(first) => {
            // Resync: parse each top-level statement on its own so one typo does
            // not hide the errors (and the good statements) after it.
            let mut program = Program::default();
            let mut diags = Vec::new();
            let starts = statement_starts(src);
            for (i, &start) in starts.iter().enumerate() {
                let end = starts.get(i + 1).copied().unwrap_or(src.len());
                match parse_chunk(src, &src[start..end], start) {
                    Ok(p) => program.items.extend(p.items),
                    Err(d) => diags.push(d),
                }
            }
            if diags.is_empty() {
                diags.push(first);
            }
            (program, diags)
        }
    }
}

/// One pest parse for `seg fmt`: the tree, once the AST conversion (escapes, dates)
/// has accepted it too.
pub(super) fn parse_tree(src: &str) -> R<pest::iterators::Pair<'_, Rule>> {
    configure_pest();
    let mut pairs = SegParser::parse(Rule::program, src).map_err(|e| pest_error(e, src, 0))?;
    let pair =
        pairs.next().ok_or_else(|| errors::internal(Span::new(0, src.len()), "no program"))?;
    Ctx { base: 0 }.program(pair.clone())?;
    Ok(pair)
}

/// Parses a single expression (used by the REPL and by tests).
pub fn parse_expr(src: &str) -> R<Expr> {
    configure_pest();
    let mut pairs = SegParser::parse(Rule::expr, src).map_err(|e| pest_error(e, src, 0))?;
    // pest_error takes the whole text and the chunk's offset in it.
    let pair = pairs
        .next()
        .ok_or_else(|| errors::internal(Span::new(0, src.len()), "empty expression"))?;
    let end = pair.as_span().end();
    if end != src.len() {
        return Err(errors::syntax(
            Span::new(end, end + 1),
            "end of expression",
            &describe_found(src, end),
            None,
        ));
    }
    Ctx { base: 0 }.expr(pair)
}

fn configure_pest() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Enough for a 1 MiB spec of ordinary statements; pathological nesting
        // hits it long before it could hang.
        pest::set_call_limit(std::num::NonZeroUsize::new(20_000_000));
        pest::set_error_detail(true);
    });
}

/// Parses `text`, which starts at byte `base` of `full` (the whole spec).
fn parse_chunk(full: &str, text: &str, base: usize) -> R<Program> {
    let mut pairs = SegParser::parse(Rule::program, text).map_err(|e| pest_error(e, full, base))?;
    let pair = pairs
        .next()
        .ok_or_else(|| errors::internal(Span::new(base, base + text.len()), "no program"))?;
    Ctx { base }.program(pair)
}

pub(super) const STATEMENT_KEYWORDS: [&str; 6] =
    ["market", "entity", "dimension", "segment", "expect", "example"];

/// Offsets of lines that start, in column 0, with a statement keyword.
fn statement_starts(src: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        if offset > 0 {
            let word: String = line.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            if STATEMENT_KEYWORDS.contains(&word.as_str()) {
                starts.push(offset);
            }
        }
        offset += line.len();
    }
    starts
}

// ------------------------------------------------------------------ errors

// ------------------------------------------------------------------ conversion

// Howard Hinnant's days_from_civil.
