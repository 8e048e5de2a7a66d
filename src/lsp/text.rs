//! Byte offsets ↔ LSP positions (lines and UTF-16 code units), and seg's
//! diagnostics as LSP diagnostics.

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::{LineIndex, Span};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range,
    Url,
};

/// An editor's diagnostic (seg's own type is `Diagnostic`).
pub type LspDiag = lsp_types::Diagnostic;

/// LSP positions over a text: `span::LineIndex`'s lines, UTF-16 columns.
pub struct Lines<'t> {
    text: &'t str,
    index: LineIndex<'t>,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str) -> Self {
        Lines { text, index: LineIndex::new(text) }
    }

    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.index.line_of(offset);
        let start = self.index.line_start(line).unwrap_or(0);
        let prefix = self.text.get(start..offset).unwrap_or_default();
        Position::new(line as u32, prefix.encode_utf16().count() as u32)
    }

    pub fn offset(&self, p: Position) -> usize {
        let Some(start) = self.index.line_start(p.line as usize) else { return self.text.len() };
        let end = self.index.line_start(p.line as usize + 1).unwrap_or(self.text.len());
        let line = &self.text[start..end];
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            if units >= p.character {
                return start + i;
            }
            units += c.len_utf16() as u32;
        }
        end.min(self.text.len())
    }

    pub fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start as usize), self.position(span.end as usize))
    }

    /// The whole text.
    pub fn all(&self) -> Range {
        Range::new(Position::new(0, 0), self.position(self.text.len()))
    }
}

/// A seg diagnostic for the editor: the primary label's range, the code, the
/// message with help and notes, and the other labels as related information.
pub fn diagnostic(uri: &Url, lines: &Lines, d: &Diagnostic) -> LspDiag {
    let primary = d.labels.first().map(|l| l.span).unwrap_or_default();
    let mut message = d.message.clone();
    if let Some(l) = d.labels.first().and_then(|l| l.message.as_ref()) {
        message.push_str(&format!("\n{l}"));
    }
    for n in &d.notes {
        message.push_str(&format!("\nnote: {n}"));
    }
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .skip(1)
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), lines.range(l.span)),
            message: l.message.clone().unwrap_or_else(|| "here".to_string()),
        })
        .collect();
    LspDiag::new(
        lines.range(primary),
        Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            _ => DiagnosticSeverity::INFORMATION,
        }),
        Some(NumberOrString::String(d.code.as_str().to_string())),
        Some("seg".to_string()),
        message,
        (!related.is_empty()).then_some(related),
        None,
    )
}
