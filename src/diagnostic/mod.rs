//! The one diagnostic type every stage reports through, and its machine-readable forms.
//!
//! Constructors live next to the stage that raises them (`syntax::errors`,
//! `check::errors`, ...); this module only knows the shape and how to render it.

pub mod codes;

use crate::span::{LineIndex, Span};
pub use codes::{Code, ExitClass};
use serde::Serialize;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Label {
    pub span: Span,
    pub message: Option<String>,
}

/// A problem found in a spec. The first label is the primary one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic of `code`, with the severity the code table gives it.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        let message = message.into();
        self.labels.push(Label { span, message: (!message.is_empty()).then_some(message) });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }

    /// The form `--format json` prints: one object, one line.
    pub fn to_json(&self, file: &str, src: &str) -> serde_json::Value {
        let idx = LineIndex::new(src);
        let span = self.primary_span().unwrap_or_default().clamp_to(src);
        let (line, column) = idx.line_col(span.start);
        let (end_line, end_column) = idx.line_col(span.end);
        serde_json::json!({
            "file": file,
            "code": self.code,
            "severity": self.severity.as_str(),
            "message": self.message,
            "line": line,
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "help": self.help,
            "notes": self.notes,
        })
    }

    /// The form `--format github` prints: a workflow command that annotates a pull request.
    pub fn to_github(&self, file: &str, src: &str) -> String {
        let idx = LineIndex::new(src);
        let span = self.primary_span().unwrap_or_default().clamp_to(src);
        let (line, col) = idx.line_col(span.start);
        let (end_line, end_col) = idx.line_col(span.end);
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let mut msg = self.message.clone();
        if let Some(help) = &self.help {
            msg.push_str("\nhelp: ");
            msg.push_str(help);
        }
        format!(
            "::{level} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}",
            gh_property(file),
            gh_property(self.code.as_str()),
            gh_data(&msg)
        )
    }
}

// GitHub workflow commands need these escapes or a message with a newline or a
// comma would end the annotation early.
fn gh_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.help.is_none() && self.notes.is_empty() {
            return None;
        }
        let mut text = self.help.clone().unwrap_or_default();
        for note in &self.notes {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str("note: ");
            text.push_str(note);
        }
        Some(Box::new(text))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(|(i, l)| {
            let span = miette::SourceSpan::new((l.span.start as usize).into(), l.span.len());
            if i == 0 {
                miette::LabeledSpan::new_primary_with_span(l.message.clone(), span)
            } else {
                miette::LabeledSpan::new_with_span(l.message.clone(), span)
            }
        })))
    }
}

/// Renders diagnostics against their source with miette's graphical handler.
pub struct Renderer {
    pub color: bool,
    pub width: usize,
}

impl Renderer {
    pub fn render(&self, diag: &Diagnostic, file: &str, src: &str) -> String {
        // Clamp first: miette panics or draws garbage on spans past the end.
        let mut clamped = diag.clone();
        for l in &mut clamped.labels {
            l.span = l.span.clamp_to(src);
        }
        // miette lays lines out with format widths, which panic past 65,535 columns;
        // a line that long is unreadable anyway, so say where instead of drawing it.
        if clamped.labels.iter().any(|l| longest_line(src, l.span) > MAX_DRAWN_LINE) {
            let index = LineIndex::new(src);
            for l in std::mem::take(&mut clamped.labels) {
                let (line, col) = index.line_col(l.span.start);
                clamped.notes.insert(
                    0,
                    format!(
                        "at {file}:{line}:{col}: {} (the line is too long to show)",
                        l.message.as_deref().unwrap_or("here")
                    ),
                );
            }
        }
        let theme = if self.color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme)
            .with_width(self.width)
            .with_links(false);
        let report =
            DiagWithSource { diag: &clamped, src: miette::NamedSource::new(file, src.to_string()) };
        let mut out = String::new();
        if handler.render_report(&mut out, &report).is_err() {
            out = format!("{}[{}]: {}\n", diag.severity.as_str(), diag.code, diag.message);
        }
        out
    }
}

/// Longest source line, in bytes, that a report draws.
const MAX_DRAWN_LINE: usize = 1_000;

/// The length of the longest line that `span` touches.
fn longest_line(src: &str, span: Span) -> usize {
    let start = src[..span.start as usize].rfind('\n').map_or(0, |i| i + 1);
    let end = src[span.end as usize..].find('\n').map_or(src.len(), |i| span.end as usize + i);
    src[start..end].split('\n').map(str::len).max().unwrap_or(0)
}

struct DiagWithSource<'a> {
    diag: &'a Diagnostic,
    src: miette::NamedSource<String>,
}

impl fmt::Debug for DiagWithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.diag.fmt(f)
    }
}

impl fmt::Display for DiagWithSource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.diag, f)
    }
}

impl std::error::Error for DiagWithSource<'_> {}

impl miette::Diagnostic for DiagWithSource<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        miette::Diagnostic::code(self.diag)
    }
    fn severity(&self) -> Option<miette::Severity> {
        miette::Diagnostic::severity(self.diag)
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        miette::Diagnostic::help(self.diag)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        miette::Diagnostic::labels(self.diag)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
}
