//! Line-editor parts for reedline: prompt, highlighting, completion, multi-line input.

use super::{open_brackets, COMMANDS};
use nu_ansi_term::{Color, Style};
use reedline::{
    default_emacs_keybindings, ColumnarMenu, Completer, CompletionResult, Emacs, FileBackedHistory,
    Highlighter, KeyCode, KeyModifiers, MenuBuilder, Prompt, PromptEditMode, PromptHistorySearch,
    Reedline, ReedlineEvent, ReedlineMenu, Span, StyledText, Suggestion, ValidationResult,
    Validator,
};
use std::borrow::Cow;
use std::sync::{Arc, Mutex};

pub const KEYWORDS: [&str; 58] = [
    "market",
    "entity",
    "dimension",
    "segment",
    "expect",
    "example",
    "from",
    "as",
    "columns",
    "where",
    "measure",
    "measures",
    "on",
    "top",
    "else",
    "rules",
    "partition",
    "bins",
    "closed",
    "right",
    "labels",
    "quantiles",
    "of",
    "by",
    "then",
    "x",
    "share",
    "is",
    "and",
    "or",
    "not",
    "in",
    "between",
    "null",
    "true",
    "false",
    "distinct",
    "count",
    "table",
    "key",
    "join",
    "pareto",
    "order",
    "with",
    "total",
    "like",
    "mode",
    "over",
    "migrate",
    "to",
    "year",
    "quarter",
    "month",
    "week",
    "period",
    "growth",
    "share_change",
    "parent_share_change",
];

pub struct SegPrompt {
    pub spec: Option<String>,
}

impl Prompt for SegPrompt {
    fn render_prompt_left(&self) -> Cow<'_, str> {
        match &self.spec {
            Some(s) => Cow::Owned(format!("seg ({s})")),
            None => Cow::Borrowed("seg"),
        }
    }
    fn render_prompt_right(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn render_prompt_indicator(&self, _: PromptEditMode) -> Cow<'_, str> {
        Cow::Borrowed("> ")
    }
    fn render_prompt_multiline_indicator(&self) -> Cow<'_, str> {
        Cow::Borrowed("... ")
    }
    fn render_prompt_history_search_indicator(&self, h: PromptHistorySearch) -> Cow<'_, str> {
        Cow::Owned(format!("(search: {}) ", h.term))
    }
}

pub struct SegHighlighter;

impl Highlighter for SegHighlighter {
    fn highlight(&self, line: &str, _cursor: usize) -> StyledText {
        let mut out = StyledText::new();
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut i = 0;
        let slice = |a: usize, b: usize| {
            line[chars[a].0..chars.get(b).map(|c| c.0).unwrap_or(line.len())].to_string()
        };
        while i < chars.len() {
            let c = chars[i].1;
            let start = i;
            let style = if c == '#' {
                i = chars.len();
                Style::new().fg(Color::DarkGray)
            } else if c == '"' {
                i += 1;
                while i < chars.len() && chars[i].1 != '"' {
                    if chars[i].1 == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(chars.len());
                Style::new().fg(Color::Green)
            } else if c.is_ascii_digit() {
                while i < chars.len()
                    && (chars[i].1.is_ascii_alphanumeric()
                        || matches!(chars[i].1, '.' | '-' | '%' | ':'))
                {
                    i += 1;
                }
                Style::new().fg(Color::Yellow)
            } else if c.is_alphabetic() || c == '_' || c == ':' {
                i += 1;
                while i < chars.len() && (chars[i].1.is_alphanumeric() || chars[i].1 == '_') {
                    i += 1;
                }
                let word = slice(start, i);
                if KEYWORDS.contains(&word.as_str()) {
                    Style::new().fg(Color::Blue).bold()
                } else if word.starts_with(':') {
                    Style::new().fg(Color::Magenta)
                } else {
                    Style::new()
                }
            } else {
                i += 1;
                Style::new()
            };
            out.push((style, slice(start, i)));
        }
        out
    }
}

/// Completes keywords, `:commands` and the session's names; `names` is refreshed by
/// the front end after every input.
pub struct SegCompleter {
    pub names: Arc<Mutex<Vec<String>>>,
}

impl Completer for SegCompleter {
    fn complete(&mut self, line: &str, pos: usize) -> CompletionResult {
        let pos = pos.min(line.len());
        let start = line[..pos]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map(|i| i + 1)
            .unwrap_or(0);
        let word = &line[start..pos];
        if word.is_empty() {
            return CompletionResult::fresh(Vec::<Suggestion>::new());
        }
        let mut cands: Vec<String> = Vec::new();
        if word.starts_with(':') {
            cands.extend(COMMANDS.iter().map(|c| c.to_string()));
        } else {
            cands.extend(self.names.lock().map(|n| n.clone()).unwrap_or_default());
            cands.extend(KEYWORDS.iter().map(|k| k.to_string()));
            // Functions and aggregates, as the checker knows them.
            cands.extend(crate::check::expr::FUNCTIONS.iter().map(|f| f.to_string()));
            cands.extend(crate::check::expr::AGGREGATES.iter().map(|f| f.to_string()));
        }
        cands.sort();
        cands.dedup();
        let suggestions: Vec<Suggestion> = cands
            .into_iter()
            .filter(|c| c.starts_with(word) && c != word)
            .map(|value| Suggestion {
                value,
                span: Span::new(start, pos),
                append_whitespace: true,
                ..Default::default()
            })
            .collect();
        CompletionResult::fresh(suggestions)
    }
}

/// Input continues while brackets are open.
pub struct SegValidator;

impl Validator for SegValidator {
    fn validate(&self, line: &str) -> ValidationResult {
        if open_brackets(line) > 0 {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Complete
        }
    }
}

/// The configured line editor.
pub fn editor(names: Arc<Mutex<Vec<String>>>, color: bool) -> Reedline {
    let mut keys = default_emacs_keybindings();
    keys.add_binding(
        KeyModifiers::NONE,
        KeyCode::Tab,
        ReedlineEvent::UntilFound(vec![
            ReedlineEvent::Menu("completion_menu".into()),
            ReedlineEvent::MenuNext,
        ]),
    );
    let menu = ColumnarMenu::default().with_name("completion_menu");
    let mut ed = Reedline::create()
        .with_completer(Box::new(SegCompleter { names }))
        .with_quick_completions(true)
        .with_partial_completions(true)
        .with_menu(ReedlineMenu::EngineCompleter(Box::new(menu)))
        .with_edit_mode(Box::new(Emacs::new(keys)))
        .with_validator(Box::new(SegValidator))
        .with_ansi_colors(color);
    if color {
        ed = ed.with_highlighter(Box::new(SegHighlighter));
    }
    if let Some(path) = history_path() {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Ok(h) = FileBackedHistory::with_file(10_000, path) {
            ed = ed.with_history(Box::new(h));
        }
    }
    ed
}

/// `$SEG_HISTORY`, else `seg/history.txt` in the user's data directory.
pub fn history_path() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("SEG_HISTORY") {
        return Some(p.into());
    }
    dirs::data_dir().map(|d| d.join("seg").join("history.txt"))
}
