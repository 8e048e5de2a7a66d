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
    codes.sort();
    codes.dedup();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    codes.hash(&mut h);
    (parsed.program.items.len().min(8)).hash(&mut h);
    h.finish()
}
