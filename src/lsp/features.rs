//! What the editor asks of an open document: hover, completion, symbols, code
//! actions and semantic tokens. Each reads the document's index (names, from the
//! AST) and its last clean analysis (types, labels, MECE findings).

use super::index::{Kind, Occ};
use super::text::Lines;
use super::Doc;
use crate::check::mece::{self, Finding};
use crate::check::program::{Checked, Column, DimDef, DimKind, Owner, Value};
use crate::span::Span;
use crate::syntax::ast::{DimBody, ItemKind};
use lsp_types::*;
use std::collections::HashMap;

pub const TOKEN_TYPES: [SemanticTokenType; 9] = [
    SemanticTokenType::KEYWORD,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::COMMENT,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::ENUM,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::VARIABLE,
];

pub fn symbol_kind(k: Kind) -> SymbolKind {
    match k {
        Kind::Market | Kind::Table => SymbolKind::STRUCT,
        Kind::Entity => SymbolKind::CLASS,
        Kind::Dimension => SymbolKind::ENUM,
        Kind::Segment => SymbolKind::FUNCTION,
        Kind::Measure => SymbolKind::VARIABLE,
        Kind::Feature => SymbolKind::PROPERTY,
        Kind::Column => SymbolKind::FIELD,
    }
}

fn token_type(k: Kind) -> u32 {
    match k {
        Kind::Market | Kind::Table | Kind::Entity => 4,
        Kind::Dimension => 5,
        Kind::Segment => 6,
        Kind::Column | Kind::Feature => 7,
        Kind::Measure => 8,
    }
}

fn program(doc: &Doc) -> Option<&Checked> {
    doc.good.as_ref().and_then(|s| s.program.as_ref())
}

fn text_of(doc: &Doc, span: Span) -> &str {
    doc.text.get(span.start as usize..span.end as usize).unwrap_or_default()
}

fn line_of(doc: &Doc, span: Span) -> u32 {
    Lines::new(&doc.text).position(span.start as usize).line + 1
}

fn show_value(v: &Value) -> String {
    match v {
        Value::Date(d) => crate::calendar::format_date(*d),
        other => mece::show_value(other),
    }
}

/// The exact interval of each bin, in label order.
fn bin_intervals(d: &DimDef) -> Vec<String> {
    let DimKind::Bins { cuts, closed_right, .. } = &d.kind else { return vec![] };
    let c: Vec<String> = cuts.iter().map(show_value).collect();
    (0..=c.len())
        .map(|i| {
            let lo = (i > 0).then(|| c[i - 1].clone());
            let hi = c.get(i).cloned();
            match (lo, hi, closed_right) {
                (None, Some(h), false) => format!("x < {h}"),
                (None, Some(h), true) => format!("x <= {h}"),
                (Some(l), None, false) => format!("x >= {l}"),
                (Some(l), None, true) => format!("x > {l}"),
                (Some(l), Some(h), false) => format!("{l} <= x < {h}"),
                (Some(l), Some(h), true) => format!("{l} < x <= {h}"),
                (None, None, _) => "every value".to_string(),
            }
        })
        .collect()
}

fn dim_kind_word(d: &DimDef) -> &'static str {
    match &d.kind {
        DimKind::Column(_) => "the value itself (labels from the data)",
        DimKind::Top { .. } => "top N by rows (labels from the data)",
        DimKind::Map { .. } => "mapping",
        DimKind::Rules { partition: true, .. } => "partition (MECE rules)",
        DimKind::Rules { .. } => "rules (first match wins)",
        DimKind::Bins { .. } => "bins",
        DimKind::Pareto { .. } => "pareto (ABC by cumulative share)",
        DimKind::Quantiles { .. } => "quantiles",
    }
}

fn hover_dim(p: &Checked, d: &DimDef) -> String {
    let owner = match d.owner {
        Owner::Market(m) => format!("market `{}`", p.markets[m].name),
        Owner::Entity(e) => format!("entity `{}`", p.entities[e].name),
    };
    let mut s = format!("**dimension `{}`** on {owner}: {}\n\n", d.name, dim_kind_word(d));
    let intervals = bin_intervals(d);
    if d.labels.is_empty() {
        s.push_str("Labels come from the data.\n");
    } else {
        s.push_str("Labels, in order:\n\n");
        for (i, l) in d.labels.iter().enumerate() {
            match intervals.get(i) {
                Some(iv) => s.push_str(&format!("{}. `{l}`: {iv}\n", i + 1)),
                None => s.push_str(&format!("{}. `{l}`\n", i + 1)),
            }
        }
    }
    s
}

fn find_column<'p>(p: &'p Checked, scope: &str, name: &str) -> Option<(&'p Column, String)> {
    if let Some(m) = p.markets.iter().find(|m| m.name == scope) {
        let c = m.columns.iter().find(|c| c.name == name)?;
        let from = if m.declared.is_some() {
            format!("declared in market `{}`", m.name)
        } else {
            format!("read from `{}` (market `{}`)", m.path, m.name)
        };
        return Some((c, from));
    }
    let t = p.tables.iter().find(|t| t.name == scope)?;
    let c = t.columns.iter().find(|c| c.name == name)?;
    Some((c, format!("table `{}` (`{}`)", t.name, t.path)))
}

/// Markdown for the thing at `at`, and the span it describes.
pub fn hover(doc: &Doc, at: usize) -> Option<(String, Option<Span>)> {
    if let Some(occ) = doc.index.at(at) {
        return hover_name(doc, occ).map(|md| (md, Some(occ.span)));
    }
    hover_rule(doc, at)
}

fn hover_name(doc: &Doc, occ: &Occ) -> Option<String> {
    let sym = &doc.index.syms[occ.sym];
    let def = doc.index.definition(occ.sym);
    let def_line = def.map(|d| line_of(doc, d.span));
    let p = program(doc);
    let md = match sym.kind {
        Kind::Dimension => match p.and_then(|p| p.dims.iter().find(|d| d.name == sym.name)) {
            Some(d) => hover_dim(p?, d),
            None => format!("**dimension `{}`**", sym.name),
        },
        Kind::Column => {
            let found = p.and_then(|p| find_column(p, &sym.scope, &sym.name));
            match found {
                Some((c, from)) => format!(
                    "**column `{}`**: `{}`, {}\n\n{from}{}",
                    c.name,
                    c.ty,
                    if c.nullable { "may be null" } else { "never null" },
                    def_line.map(|l| format!(", line {l}")).unwrap_or_default()
                ),
                None => format!("**column `{}`** of `{}`", sym.name, sym.scope),
            }
        }
        Kind::Measure | Kind::Feature => {
            let ty = p.and_then(|p| {
                let ms = p
                    .markets
                    .iter()
                    .filter(|m| m.name == sym.scope)
                    .flat_map(|m| m.measures.iter())
                    .chain(
                        p.entities
                            .iter()
                            .filter(|e| e.name == sym.scope)
                            .flat_map(|e| e.features.iter().chain(e.measures.iter())),
                    );
                ms.clone().find(|m| m.name == sym.name).map(|m| m.ty.to_string())
            });
            let text = def.map(|d| text_of(doc, d.full).to_string()).unwrap_or_default();
            format!(
                "**{} `{}`** of `{}`{}\n\n```seg\n{}\n```",
                sym.kind.word(),
                sym.name,
                sym.scope,
                ty.map(|t| format!(": `{t}`")).unwrap_or_default(),
                text.trim()
            )
        }
        Kind::Market | Kind::Table | Kind::Entity | Kind::Segment => {
            let text = def.map(|d| text_of(doc, d.full)).unwrap_or_default();
            let head: String = text.lines().take(12).collect::<Vec<_>>().join("\n");
            let cols = match (sym.kind, p) {
                (Kind::Market, Some(p)) => p.markets.iter().find(|m| m.name == sym.name).map(|m| {
                    let c: Vec<String> =
                        m.columns.iter().map(|c| format!("`{}` {}", c.name, c.ty)).collect();
                    format!("\n\nColumns: {}", c.join(", "))
                }),
                _ => None,
            };
            format!(
                "**{} `{}`**{}\n\n```seg\n{head}\n```{}",
                sym.kind.word(),
                sym.name,
                def_line.map(|l| format!(" (line {l})")).unwrap_or_default(),
                cols.unwrap_or_default()
            )
        }
    };
    Some(md)
}

/// Over a rule of a `rules`/`partition` dimension: whether it can fire, and the
/// witness rows of its overlaps and gaps.
fn hover_rule(doc: &Doc, at: usize) -> Option<(String, Option<Span>)> {
    let o = at as u32;
    for item in &doc.ast.items {
        let ItemKind::Dimension(d) = &item.kind else { continue };
        let DimBody::Rules { arms, .. } = &d.body else { continue };
        let Some(i) = arms.iter().position(|a| a.span.start <= o && o <= a.span.end) else {
            continue;
        };
        let p = program(doc)?;
        let dim = p.dims.iter().position(|x| x.name == d.name.name)?;
        let f = mece::findings(p, dim)?;
        let mut lines = Vec::new();
        let mut fires = true;
        for finding in &f.findings {
            match finding {
                Finding::Unsatisfiable { rule } if *rule == i => {
                    fires = false;
                    lines.push("No row satisfies this condition.".to_string());
                }
                Finding::Shadowed { rule, by } if *rule == i => {
                    fires = false;
                    let by: Vec<String> = by.iter().map(|b| format!("{}", b + 1)).collect();
                    lines.push(format!("Every row it matches is taken by rule {}.", by.join(", ")));
                }
                Finding::Overlap { first, second, witness } if *first == i || *second == i => {
                    lines.push(format!(
                        "Overlaps rule {}: both match {}.",
                        if *first == i { second + 1 } else { first + 1 },
                        mece::show_witness(witness)
                    ));
                }
                Finding::Gap { witness, around } if around.contains(&i) => {
                    lines.push(format!(
                        "Stops short of {}: no rule matches it.",
                        mece::show_witness(witness)
                    ));
                }
                _ => {}
            }
        }
        let head = if fires {
            format!("**rule {}** of `{}` can fire.", i + 1, d.name.name)
        } else {
            format!("**rule {}** of `{}` never fires.", i + 1, d.name.name)
        };
        if f.proven {
            lines.push(format!(
                "`{}` is proven MECE: every row gets exactly one label.",
                d.name.name
            ));
        }
        lines.insert(0, head);
        return Some((lines.join("\n\n"), Some(arms[i].span)));
    }
    None
}

// ------------------------------------------------------------------ completion

const STATEMENTS: [&str; 7] =
    ["market", "table", "entity", "dimension", "segment", "expect", "example"];
const BODY_WORDS: [&str; 19] = [
    "rules",
    "partition",
    "bins",
    "quantiles",
    "pareto",
    "top",
    "labels",
    "closed",
    "else",
    "where",
    "measures",
    "share",
    "of",
    "with",
    "total",
    "over",
    "migrate",
    "then",
    "by",
];

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem { label: label.to_string(), kind: Some(kind), detail, ..Default::default() }
}

fn signature(f: &str) -> &'static str {
    match f {
        "lower" | "upper" | "trim" => "(text) -> text",
        "length" => "(text) -> int",
        "year" | "month" | "quarter" | "week" | "weekday" | "day" => "(date) -> int",
        "abs" | "round" => "(number) -> number",
        "coalesce" => "(x, y, ...) -> the first non-null",
        "days_between" => "(date, date) -> int",
        "hours_between" => "(timestamp, timestamp) -> int",
        "date" => "(timestamp) -> date",
        "today" => "() -> date (the as-of date)",
        "starts_with" | "contains" => "(text, text) -> bool",
        "substr" => "(text, start, length) -> text",
        "count" => "aggregate: count(), count(x), count(distinct x)",
        "sum" | "avg" | "min" | "max" | "median" => "aggregate (x [where cond])",
        "mode" => "aggregate: the most frequent value",
        "share" => "(segmentation, label...) -> float",
        "rows" => "(segmentation, label...) -> int",
        "growth" => "(segmentation, label..., period \"P\") -> float",
        _ => "",
    }
}

/// The statement the cursor is in: its text up to the cursor.
fn statement_prefix(text: &str, at: usize) -> &str {
    let before = &text[..at.min(text.len())];
    let mut start = 0;
    let mut offset = 0;
    for line in before.split_inclusive('\n') {
        let word: String = line.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        if STATEMENTS.contains(&word.as_str()) {
            start = offset;
        }
        offset += line.len();
    }
    &before[start..]
}

/// Completions at `at`: what may be typed there, from the statement so far.
pub fn complete(doc: &Doc, at: usize) -> Vec<CompletionItem> {
    let prefix = statement_prefix(&doc.text, at);
    let words: Vec<&str> = prefix
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let typing = prefix.chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
    // The word before the one being typed.
    let prev = if typing { words.iter().rev().nth(1) } else { words.last() }.copied().unwrap_or("");
    let first = words.first().copied().unwrap_or("");
    let ix = &doc.index;
    let defs = |k: Kind| -> Vec<String> {
        let mut v: Vec<String> = ix
            .occs
            .iter()
            .filter(|o| o.def && ix.syms[o.sym].kind == k)
            .map(|o| ix.syms[o.sym].name.clone())
            .collect();
        v.dedup();
        v
    };
    let mut out = Vec::new();
    let in_string = prefix.matches('"').count() % 2 == 1;
    // A line that starts at column 0 with at most a word typed starts a statement.
    let line = &doc.text[doc.text[..at].rfind('\n').map_or(0, |i| i + 1)..at];
    let new_statement = line.chars().all(|c| c.is_ascii_alphabetic());
    if (words.len() <= usize::from(typing) || new_statement) && !in_string {
        for k in STATEMENTS {
            out.push(item(k, CompletionItemKind::KEYWORD, None));
        }
        return out;
    }
    let owners = || {
        let mut v: Vec<CompletionItem> = defs(Kind::Market)
            .into_iter()
            .map(|m| item(&m, CompletionItemKind::STRUCT, Some("market".into())))
            .collect();
        v.extend(
            defs(Kind::Entity)
                .into_iter()
                .map(|e| item(&e, CompletionItemKind::CLASS, Some("entity".into()))),
        );
        v
    };
    // The owner named after `on`, `segment [name =]`, `example`, `of`.
    let owner: Option<String> = match first {
        "dimension" => words.iter().position(|w| *w == "on").and_then(|i| words.get(i + 1)),
        "segment" => words
            .iter()
            .position(|w| *w == "by")
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| words.get(i)),
        "example" => words.get(1),
        "market" => words.get(1),
        "entity" => words.iter().position(|w| *w == "of").and_then(|i| words.get(i + 1)),
        _ => None,
    }
    .map(|s| s.to_string());
    let p = program(doc);
    if in_string {
        // Labels: inside `example ... => dim "` or `expect share(seg, "`.
        let labels = labels_for(p, first, &words, typing);
        return labels
            .into_iter()
            .map(|l| item(&l, CompletionItemKind::ENUM_MEMBER, None))
            .collect();
    }
    match (first, prev) {
        ("dimension", "on") | ("segment", "=") | ("example", "example") | ("entity", "of") => {
            return owners()
        }
        ("segment", _)
            if prefix.trim_end().ends_with('=')
                || (words.len() == 2 && !prefix.contains('=') && !typing) =>
        {
            return owners()
        }
        ("segment", "by" | "then" | "x") => {
            let dims = p.map(|p| {
                p.dims
                    .iter()
                    .filter(|d| owner_name(p, d) == owner.as_deref())
                    .map(|d| item(&d.name, CompletionItemKind::ENUM, Some(dim_kind_word(d).into())))
                    .collect::<Vec<_>>()
            });
            return dims.unwrap_or_else(|| {
                defs(Kind::Dimension)
                    .into_iter()
                    .map(|d| item(&d, CompletionItemKind::ENUM, None))
                    .collect()
            });
        }
        ("segment", "of") | ("segment", "measures") => return measures(doc, owner.as_deref()),
        ("expect", "share" | "rows" | "growth") | ("expect", "is") => {
            return defs(Kind::Segment)
                .into_iter()
                .map(|s| item(&s, CompletionItemKind::FUNCTION, Some("segmentation".into())))
                .collect()
        }
        _ => {}
    }
    if first == "segment" && prefix.contains("measures (") && !prefix.contains(')') {
        return measures(doc, owner.as_deref());
    }
    if first == "expect" {
        for f in ["share", "rows", "growth"] {
            out.push(func(f));
        }
        out.extend(
            defs(Kind::Segment)
                .into_iter()
                .map(|s| item(&s, CompletionItemKind::FUNCTION, Some("segmentation".into()))),
        );
        return out;
    }
    if first == "example" && prefix.contains("=>") {
        return defs(Kind::Dimension)
            .into_iter()
            .map(|d| item(&d, CompletionItemKind::ENUM, None))
            .collect();
    }
    // An expression over the owner's rows: its columns, features and measures,
    // functions, and the words a body may hold.
    if let (Some(o), Some(p)) = (owner.as_deref(), p) {
        out.extend(columns_of(p, o));
    }
    out.extend(measures(doc, owner.as_deref()));
    for f in crate::check::expr::FUNCTIONS.iter().chain(crate::check::expr::AGGREGATES.iter()) {
        out.push(func(f));
    }
    for k in BODY_WORDS
        .iter()
        .chain(["and", "or", "not", "in", "is", "null", "between", "like", "distinct"].iter())
    {
        out.push(item(k, CompletionItemKind::KEYWORD, None));
    }
    out
}

fn func(f: &str) -> CompletionItem {
    let mut it = item(f, CompletionItemKind::FUNCTION, Some(format!("{f}{}", signature(f))));
    it.insert_text = Some(format!("{f}("));
    it
}

fn owner_name<'p>(p: &'p Checked, d: &DimDef) -> Option<&'p str> {
    Some(match d.owner {
        Owner::Market(m) => p.markets[m].name.as_str(),
        Owner::Entity(e) => p.entities[e].name.as_str(),
    })
}

fn columns_of(p: &Checked, owner: &str) -> Vec<CompletionItem> {
    let cols: Vec<Column> = if let Some(m) = p.markets.iter().find(|m| m.name == owner) {
        m.row_columns.clone()
    } else if let Some(e) = p.entities.iter().find(|e| e.name == owner) {
        let mut c = e.columns();
        c.extend(p.markets[e.market].row_columns.iter().cloned());
        c
    } else {
        Vec::new()
    };
    cols.iter().map(|c| item(&c.name, CompletionItemKind::FIELD, Some(c.ty.to_string()))).collect()
}

fn measures(doc: &Doc, owner: Option<&str>) -> Vec<CompletionItem> {
    let ix = &doc.index;
    ix.occs
        .iter()
        .filter(|o| o.def)
        .filter(|o| {
            let s = &ix.syms[o.sym];
            matches!(s.kind, Kind::Measure) && owner.is_none_or(|w| s.scope == w)
        })
        .map(|o| {
            let s = &ix.syms[o.sym];
            item(
                &s.name,
                CompletionItemKind::VARIABLE,
                Some(text_of(doc, o.full).trim().to_string()),
            )
        })
        .collect()
}

/// Labels the string at the cursor may be: a dimension's, in an `example`'s
/// expectations (the word before the quote), or a segmentation's in an `expect`.
fn labels_for(p: Option<&Checked>, first: &str, words: &[&str], typing: bool) -> Vec<String> {
    let Some(p) = p else { return vec![] };
    let last = if typing { words.iter().rev().nth(1) } else { words.last() };
    match first {
        "example" => last
            .and_then(|w| p.dims.iter().find(|d| d.name == *w))
            .map(|d| d.labels.clone())
            .unwrap_or_default(),
        "expect" => {
            let seg = words.iter().find_map(|w| p.segments.iter().find(|s| s.name == *w));
            seg.map(|s| s.dims.iter().flat_map(|&d| p.dims[d].labels.clone()).collect())
                .unwrap_or_default()
        }
        _ => vec![],
    }
}

// ------------------------------------------------------------------ symbols

#[allow(deprecated)]
pub fn document_symbols(doc: &Doc) -> Vec<DocumentSymbol> {
    let lines = Lines::new(&doc.text);
    let ix = &doc.index;
    let mut tops: Vec<DocumentSymbol> = Vec::new();
    let mut children: HashMap<String, Vec<DocumentSymbol>> = HashMap::new();
    for o in ix.occs.iter().filter(|o| o.def) {
        let s = &ix.syms[o.sym];
        let sym = DocumentSymbol {
            name: s.name.clone(),
            detail: Some(s.kind.word().to_string()),
            kind: symbol_kind(s.kind),
            tags: None,
            deprecated: None,
            range: lines.range(o.full),
            selection_range: lines.range(o.span),
            children: None,
        };
        if s.kind.top_level() {
            tops.push(sym);
        } else {
            children.entry(s.scope.clone()).or_default().push(sym);
        }
    }
    for t in &mut tops {
        if matches!(t.kind, SymbolKind::STRUCT | SymbolKind::CLASS) {
            t.children = children.remove(&t.name);
        }
    }
    tops
}

// ------------------------------------------------------------------ code actions

pub fn code_actions(doc: &Doc, uri: &Url, range: Range) -> Vec<CodeActionOrCommand> {
    let lines = Lines::new(&doc.text);
    let (from, to) = (lines.offset(range.start) as u32, lines.offset(range.end) as u32);
    let mut out = Vec::new();
    for d in &doc.spec.diagnostics {
        let Some(primary) = d.labels.first().map(|l| l.span) else { continue };
        if primary.end < from || primary.start > to {
            continue;
        }
        let lsp_diag = super::text::diagnostic(uri, &lines, d);
        // "did you mean `x`?": replace the name with the suggestion.
        if let Some(s) = d.help.as_deref().and_then(suggestion) {
            out.push(action(
                format!("Replace with `{s}`"),
                uri,
                vec![TextEdit::new(lines.range(primary), s.to_string())],
                lsp_diag.clone(),
            ));
        }
        // Rules that leave rows without a label: add an `else`.
        if d.help.as_deref().is_some_and(|h| h.contains("else =>")) {
            if let Some(edit) = add_else(doc, &lines, primary) {
                out.push(action("Add `else => \"other\"`".to_string(), uri, vec![edit], lsp_diag));
            }
        }
    }
    out
}

fn suggestion(help: &str) -> Option<&str> {
    let rest = help.strip_prefix("did you mean `")?;
    rest.split('`').next().filter(|s| !s.is_empty())
}

fn action(
    title: String,
    uri: &Url,
    edits: Vec<TextEdit>,
    d: super::text::LspDiag,
) -> CodeActionOrCommand {
    let mut changes = HashMap::new();
    changes.insert(uri.clone(), edits);
    CodeActionOrCommand::CodeAction(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![d]),
        edit: Some(WorkspaceEdit { changes: Some(changes), ..Default::default() }),
        is_preferred: Some(true),
        ..Default::default()
    })
}

/// An `else` arm before the closing brace of the rules block around `span`.
fn add_else(doc: &Doc, lines: &Lines, span: Span) -> Option<TextEdit> {
    for item in &doc.ast.items {
        let ItemKind::Dimension(d) = &item.kind else { continue };
        let DimBody::Rules { span: body, .. } = &d.body else { continue };
        if !(item.span.start <= span.start && span.start <= item.span.end) {
            continue;
        }
        let close = body.start as usize + text_of(doc, *body).rfind('}')?;
        let line_start = doc.text[..close].rfind('\n').map_or(0, |i| i + 1);
        let at_line_start = doc.text[line_start..close].trim().is_empty();
        let (pos, text) = if at_line_start {
            (line_start, "  else => \"other\"\n".to_string())
        } else {
            (close, "\n  else => \"other\"\n".to_string())
        };
        let p = lines.position(pos);
        return Some(TextEdit::new(Range::new(p, p), text));
    }
    None
}

// ------------------------------------------------------------------ semantic tokens

/// Keywords, strings, numbers, comments and every indexed name, as the delta
/// encoding LSP wants (UTF-16 columns).
pub fn semantic_tokens(doc: &Doc) -> Vec<SemanticToken> {
    let text = doc.text.as_str();
    let mut toks: Vec<(usize, usize, u32, u32)> = Vec::new();
    let names: HashMap<u32, &Occ> = doc.index.occs.iter().map(|o| (o.span.start, o)).collect();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let s = i;
        if c == b'#' {
            i = text[i..].find('\n').map_or(b.len(), |n| i + n);
            toks.push((s, i, 3, 0));
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            toks.push((s, i, 1, 0));
        } else if c == b'`' {
            i += 1;
            while i < b.len() && b[i] != b'`' && b[i] != b'\n' {
                i += 1;
            }
            i = (i + 1).min(b.len());
            if let Some(o) = names.get(&(s as u32)) {
                toks.push((s, i, token_type(doc.index.syms[o.sym].kind), u32::from(o.def)));
            }
        } else if c.is_ascii_digit() {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'.' | b'-' | b':' | b'%'))
            {
                i += 1;
            }
            toks.push((s, i, 2, 0));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let w = &text[s..i];
            if let Some(o) = names.get(&(s as u32)) {
                toks.push((s, i, token_type(doc.index.syms[o.sym].kind), u32::from(o.def)));
            } else if crate::syntax::KEYWORDS.contains(&w)
                || STATEMENTS.contains(&w)
                || BODY_WORDS.contains(&w)
            {
                toks.push((s, i, 0, 0));
            }
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    let lines = Lines::new(text);
    let mut out = Vec::new();
    let (mut pl, mut pc) = (0u32, 0u32);
    for (s, e, ty, m) in toks {
        // A token never spans lines here (strings and comments end at a newline).
        let p = lines.position(s);
        let len = text[s..e].encode_utf16().count() as u32;
        let dl = p.line - pl;
        let dc = if dl == 0 { p.character - pc } else { p.character };
        out.push(SemanticToken {
            delta_line: dl,
            delta_start: dc,
            length: len,
            token_type: ty,
            token_modifiers_bitset: m,
        });
        pl = p.line;
        pc = p.character;
    }
    out
}
