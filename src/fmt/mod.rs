//! `seg fmt`'s core: a spec's canonical text, and the unified diff `--check` shows.
//! Pure: the CLI reads and writes the files, the language server calls it on buffers.

use crate::diagnostic::Diagnostic;

/// The canonical text of a spec, or why it cannot be formatted: the text the
/// diagnostics are drawn against, and the diagnostics (a spec that does not parse
/// is never rewritten).
pub fn format_bytes(bytes: &[u8]) -> Result<String, (String, Vec<Diagnostic>)> {
    match std::str::from_utf8(bytes) {
        Ok(text) => crate::syntax::format(text).map_err(|d| (text.to_string(), d)),
        Err(_) => {
            let parsed = crate::syntax::parse_bytes(bytes);
            Err((parsed.text, parsed.diagnostics))
        }
    }
}

/// A unified diff from `old` to `new`, with `name` in both headers; empty when equal.
pub fn unified_diff(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name}\t(original)"), &format!("{name}\t(formatted)"))
        .to_string()
}
