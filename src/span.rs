//! The one source-location type: byte offsets into a spec, kept small and `Copy`.

use serde::Serialize;

/// A half-open byte range `[start, end)` into the source text of one spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        // Specs are capped at 1 MiB before parsing, so offsets always fit in u32.
        Span { start: start as u32, end: end.max(start) as u32 }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub fn shift(self, by: usize) -> Span {
        Span { start: self.start + by as u32, end: self.end + by as u32 }
    }

    /// Clamps to `src` and to char boundaries, so a renderer can never be handed a
    /// span outside the text it draws.
    pub fn clamp_to(self, src: &str) -> Span {
        let mut start = (self.start as usize).min(src.len());
        let mut end = (self.end as usize).min(src.len()).max(start);
        while !src.is_char_boundary(start) {
            start -= 1;
        }
        while !src.is_char_boundary(end) {
            end += 1;
        }
        Span::new(start, end)
    }
}

/// Maps byte offsets to 1-based line and column (columns count characters).
pub struct LineIndex<'a> {
    src: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { src, line_starts }
    }

    /// The 0-based line `offset` is on (offsets past the end are on the last line).
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset) - 1
    }

    /// Where 0-based `line` starts, if the text has it.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line).copied()
    }

    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = Span::new(offset as usize, offset as usize).clamp_to(self.src).start as usize;
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let col = self.src[self.line_starts[line]..offset].chars().count() + 1;
        (line + 1, col)
    }
}
