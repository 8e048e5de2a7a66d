//! The fuzz target: everything a spec from a pull request reaches before any data
//! is read. Shared by the fuzzer (`fuzz/main.rs`) and the test that replays
//! `fuzz/corpus/`, so both run exactly the same code.

use seg::diagnostic::Renderer;
use std::hash::{Hash, Hasher};

/// Parses (on the calling thread, which needs a `PARSE_STACK` stack), checks with
/// the MECE analysis, and renders every diagnostic three ways. Returns
/// a summary of what it reached (the diagnostic codes), the fuzzer's notion of
/// coverage.
pub fn target(bytes: &[u8]) -> u64 {
    let parsed = seg::syntax::parse_bytes_here(bytes);
    let checked = seg::check::check(&parsed.program, &seg::check::NoData);
    let r = Renderer { color: false, width: 100 };
    let mut codes: Vec<&str> = Vec::new();
    for d in parsed.diagnostics.iter().chain(&checked.diagnostics) {
        std::hint::black_box(r.render(d, "fuzz.seg", &parsed.text));
        std::hint::black_box(d.to_json("fuzz.seg", &parsed.text));
        std::hint::black_box(d.to_github("fuzz.seg", &parsed.text));
        codes.push(d.code.as_str());
    }
    if let Some(p) = &checked.program {
        std::hint::black_box(seg::check::mece::partition_notes(p));
    }
    if !parsed.diagnostics.iter().any(|d| d.is_error()) {
        formats_faithfully(&parsed);
    }
    codes.sort();
    codes.dedup();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    codes.hash(&mut h);
    (parsed.program.items.len().min(8)).hash(&mut h);
    h.finish()
}

/// The AST's Debug text without spans.
fn shape(p: &seg::syntax::ast::Program) -> String {
    let debug = format!("{p:?}");
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(i) = rest.find("Span { start: ") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        rest = &rest[rest.find('}').map_or(rest.len(), |j| j + 1)..];
    }
    out.push_str(rest);
    out
}

/// `seg fmt`'s three properties on a spec that parses: it formats, the AST is kept
/// (spans aside), formatting again changes nothing, and the comments survive in
/// order. A failure panics: the fuzzer reports it as a finding.
fn formats_faithfully(parsed: &seg::syntax::Parsed) {
    let text = &parsed.text;
    let once = seg::syntax::format_here(text)
        .unwrap_or_else(|d| panic!("fmt refused a spec that parses: {d:?}"));
    let again = seg::syntax::parse_bytes_here(once.as_bytes());
    assert!(!again.diagnostics.iter().any(|d| d.is_error()), "fmt(x) does not parse:\n{once}");
    assert_eq!(shape(&parsed.program), shape(&again.program), "fmt changed the AST:\n{once}");
    let twice = seg::syntax::format_here(&once).expect("fmt(fmt(x))");
    assert_eq!(once, twice, "fmt is not idempotent");
    let comments = |t: &str| -> Vec<String> {
        seg::syntax::layout::comments(t)
            .into_iter()
            .map(|(s, e)| t[s..e].trim_end().to_string())
            .collect()
    };
    assert_eq!(comments(text), comments(&once), "fmt lost or moved a comment");
}
