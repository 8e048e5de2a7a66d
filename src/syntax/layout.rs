//! Canonical layout (`seg fmt`): the parse tree reprinted token by token, every
//! comment kept in order. Lives in `syntax` because it walks pest's tree, which
//! keeps every token the AST drops.
//!
//! Tokens come out in source order: named tokens from the tree, the grammar's
//! anonymous ones (`{`, `=>`, `by`...) lexed from the gaps between them, so a
//! comment, found by its offset, is written where it stood: at the end of the line
//! it followed, or on a line of its own. The only tokens dropped are `;`, trailing
//! commas and parentheses the precedence makes redundant, none of which changes the
//! AST.

use super::parser::Rule;
use pest::iterators::Pair;

/// Lines are filled (column lists) or broken (examples) past this width.
const WIDTH: usize = 88;
const INDENT: usize = 2;

/// `src` in canonical layout, from its parse tree.
pub(super) fn format_tree<'s>(src: &'s str, program: Pair<'s, Rule>) -> String {
    let mut w = W::new(src, comments(src));
    w.program(program);
    w.finish()
}

/// The comments of `src` as byte ranges, in order (strings and backquoted names
/// may hold a `#`).
pub fn comments(src: &str) -> Vec<(usize, usize)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' && b[i] != b'\n' {
                    i += 1;
                }
                i += 1;
            }
            b'#' => {
                let end = src[i..].find('\n').map_or(src.len(), |n| i + n);
                out.push((i, end));
                i = end;
            }
            _ => i += 1,
        }
    }
    out
}

/// One piece of a node: a child node, or an anonymous token from the gaps.
enum Piece<'s> {
    Node(Pair<'s, Rule>),
    Lit(usize, &'s str),
}

/// A node's pieces in source order.
fn pieces<'s>(src: &'s str, pair: &Pair<'s, Rule>) -> Vec<Piece<'s>> {
    let mut out = Vec::new();
    let mut at = pair.as_span().start();
    for child in pair.clone().into_inner() {
        let s = child.as_span();
        lex_gap(src, at, s.start(), &mut out);
        at = s.end();
        out.push(Piece::Node(child));
    }
    lex_gap(src, at, pair.as_span().end(), &mut out);
    out
}

/// The grammar's anonymous tokens between `from` and `to`: words, `=>` and single
/// punctuation; whitespace and comments skipped.
fn lex_gap<'s>(src: &'s str, from: usize, to: usize, out: &mut Vec<Piece<'s>>) {
    let b = src.as_bytes();
    let mut i = from;
    while i < to {
        let c = b[i];
        if c == b'#' {
            while i < to && b[i] != b'\n' {
                i += 1;
            }
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < to && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Piece::Lit(s, &src[s..i]));
        } else if src[i..to].starts_with("=>") {
            out.push(Piece::Lit(i, "=>"));
            i += 2;
        } else if c.is_ascii() {
            out.push(Piece::Lit(i, &src[i..i + 1]));
            i += 1;
        } else {
            // A byte-order mark or other non-ASCII whitespace.
            i += src[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
}

/// Precedence levels, loosest first; `ATOM` needs no parentheses anywhere.
const OR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;
const CMP: u8 = 4;
const ADD: u8 = 5;
const MUL: u8 = 6;
const NEG: u8 = 7;
const ATOM: u8 = 8;

/// Where an expression stands: the level of the operator around it (0 for none)
/// and whether it is the left operand of a left-associative chain.
#[derive(Clone, Copy)]
struct Ctx {
    level: u8,
    left: bool,
}

const ROOT: Ctx = Ctx { level: 0, left: false };

/// The loosest operator of an expression node.
fn level(pair: &Pair<Rule>) -> u8 {
    let mut inner = pair.clone().into_inner();
    let count = pair.clone().into_inner().count();
    match pair.as_rule() {
        Rule::expr => inner.next().map_or(ATOM, |p| level(&p)),
        Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr if count > 1 => {
            match pair.as_rule() {
                Rule::or_expr => OR,
                Rule::and_expr => AND,
                Rule::add_expr => ADD,
                _ => MUL,
            }
        }
        Rule::not_expr | Rule::unary if count > 1 => {
            if pair.as_rule() == Rule::not_expr {
                NOT
            } else {
                NEG
            }
        }
        Rule::cmp_expr if count > 1 => CMP,
        Rule::or_expr
        | Rule::and_expr
        | Rule::add_expr
        | Rule::mul_expr
        | Rule::not_expr
        | Rule::unary
        | Rule::cmp_expr => inner.next().map_or(ATOM, |p| level(&p)),
        _ => ATOM,
    }
}

#[derive(Clone, Copy)]
struct Pending {
    blank: bool,
    allow_blank: bool,
    indent: usize,
}

/// The writer: tokens with canonical spacing, lines, indentation and comments.
struct W<'s> {
    src: &'s str,
    out: String,
    comments: Vec<(usize, usize)>,
    next_comment: usize,
    /// End of the last source text written (token or comment).
    last: usize,
    pending: Option<Pending>,
    line_has_text: bool,
    /// Indentation of the current block's lines.
    indent: usize,
    prev: &'s str,
    tight: bool,
    /// Newlines written so far.
    line_count: usize,
}

impl<'s> W<'s> {
    fn new(src: &'s str, comments: Vec<(usize, usize)>) -> Self {
        W {
            src,
            out: String::new(),
            comments,
            next_comment: 0,
            last: 0,
            pending: None,
            line_has_text: false,
            indent: 0,
            prev: "",
            tight: false,
            line_count: 0,
        }
    }

    /// A writer that measures: no comments, so widths are of the tokens alone.
    fn measure(src: &'s str) -> Self {
        W::new(src, Vec::new())
    }

    fn col(&self) -> usize {
        let start = self.out.rfind('\n').map_or(0, |i| i + 1);
        self.out[start..].chars().count()
    }

    fn lines(&self) -> usize {
        self.line_count
    }

    /// The next token starts a line at the block's indentation.
    fn newline(&mut self) {
        self.newline_at(self.indent, true);
    }

    fn newline_at(&mut self, indent: usize, allow_blank: bool) {
        if self.out.is_empty() && self.pending.is_none() && !self.line_has_text {
            self.pending = Some(Pending { blank: false, allow_blank: false, indent });
            return;
        }
        let blank = self.pending.is_some_and(|p| p.blank);
        self.pending = Some(Pending { blank, allow_blank, indent });
    }

    fn materialize(&mut self) {
        if let Some(p) = self.pending.take() {
            if !self.out.is_empty() {
                self.out.push('\n');
                self.line_count += 1;
                if p.blank && p.allow_blank {
                    self.out.push('\n');
                    self.line_count += 1;
                }
            }
            self.out.extend(std::iter::repeat_n(' ', p.indent));
            self.line_has_text = false;
        }
    }

    /// Writes the comments that stand before `at`.
    fn comments_before(&mut self, at: usize) {
        while let Some(&(s, e)) = self.comments.get(self.next_comment) {
            if s >= at {
                break;
            }
            self.next_comment += 1;
            let gap = &self.src[self.last..s];
            let text = self.src[s..e].trim_end();
            if !gap.contains('\n') && self.line_has_text {
                // It followed a token on its line: it stays at that line's end.
                self.out.push_str("  ");
                self.out.push_str(text);
                if self.pending.is_none() {
                    self.pending =
                        Some(Pending { blank: false, allow_blank: false, indent: self.cont() });
                }
            } else {
                let blank = gap.matches('\n').count() >= 2;
                match &mut self.pending {
                    Some(p) => p.blank |= blank,
                    None if self.line_has_text => {
                        self.pending =
                            Some(Pending { blank, allow_blank: false, indent: self.cont() })
                    }
                    None => {}
                }
                let indent = self.pending.map_or(self.indent, |p| p.indent);
                self.materialize();
                self.out.push_str(text);
                self.pending = Some(Pending { blank: false, allow_blank: true, indent });
            }
            self.line_has_text = true;
            self.last = e;
        }
    }

    /// Continuation lines of a statement broken by a comment.
    fn cont(&self) -> usize {
        self.indent + INDENT
    }

    /// Writes the comments before `at` and, when a line is pending, starts it, so
    /// that what follows can be measured on the line it goes to.
    fn start_line(&mut self, at: usize) {
        self.comments_before(at);
        self.mark_blank(at);
        if self.pending.is_some() {
            self.materialize();
        }
    }

    fn mark_blank(&mut self, at: usize) {
        if let Some(p) = &mut self.pending {
            if self.src[self.last.min(at)..at].matches('\n').count() >= 2 {
                p.blank = true;
            }
        }
    }

    fn tok(&mut self, at: usize, text: &'s str) {
        self.comments_before(at);
        self.mark_blank(at);
        let space = !(self.tight
            || matches!(text, ")" | "]" | "," | ":" | ".")
            || matches!(self.prev, "(" | "[" | "."));
        if self.pending.is_some() {
            self.materialize();
        } else if space && self.line_has_text {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.line_has_text = true;
        self.prev = text;
        self.tight = false;
        self.last = self.last.max(at + text.len());
    }

    /// A token the source does not have here (a separator seg fmt puts back).
    fn synth(&mut self, text: &'s str) {
        let at = self.last;
        self.tok(at, text);
    }

    fn pad_to(&mut self, col: usize) {
        let now = self.col();
        self.out.extend(std::iter::repeat_n(' ', col.saturating_sub(now)));
    }

    fn finish(mut self) -> String {
        self.newline_at(0, true);
        self.comments_before(usize::MAX);
        let mut out = self.out.trim_end().to_string();
        out.push('\n');
        if out == "\n" {
            out.clear();
        }
        out
    }

    // ------------------------------------------------------------- structure

    fn program(&mut self, pair: Pair<'s, Rule>) {
        let items: Vec<Pair<'s, Rule>> =
            pair.into_inner().filter(|p| p.as_rule() != Rule::EOI).collect();
        let widths = self.runs(&items, |p| {
            (p.as_rule() == Rule::segment).then(|| {
                let name =
                    p.clone().into_inner().next().filter(|c| c.as_rule() == Rule::seg_name)?;
                Some(name.as_str().chars().count() + "segment ".len())
            })?
        });
        for (item, width) in items.into_iter().zip(widths) {
            self.newline();
            self.aligned_statement(item, width);
        }
    }

    /// For each item, the width its name part is padded to: the widest of its run
    /// (consecutive items `name_width` gives a width for, no blank line between).
    fn runs(
        &self,
        items: &[Pair<'s, Rule>],
        name_width: impl Fn(&Pair<'s, Rule>) -> Option<usize>,
    ) -> Vec<Option<usize>> {
        let mut out: Vec<Option<usize>> = vec![None; items.len()];
        let mut i = 0;
        while i < items.len() {
            if name_width(&items[i]).is_none() {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < items.len()
                && name_width(&items[j]).is_some()
                && !blank_between(self.src, &items[j - 1], &items[j])
            {
                j += 1;
            }
            let max = (i..j).filter_map(|k| name_width(&items[k])).max();
            for slot in &mut out[i..j] {
                *slot = max;
            }
            i = j;
        }
        out
    }

    /// A statement or block item whose `=` is aligned at `width` (from the line's
    /// start) when given.
    fn aligned_statement(&mut self, pair: Pair<'s, Rule>, width: Option<usize>) {
        let Some(width) = width else { return self.walk(pair, ROOT) };
        let start_col = self.pending.map_or(self.indent, |p| p.indent);
        self.start_line(pair.as_span().start());
        let line = Some(self.lines());
        for piece in pieces(self.src, &pair) {
            match piece {
                Piece::Lit(at, "=") => {
                    self.pad_before(at, line, start_col + width);
                    self.tok(at, "=");
                }
                Piece::Lit(at, t) => self.lit(at, t),
                Piece::Node(n) => self.walk(n, ROOT),
            }
        }
    }

    /// Pads to `col` before the token at `at`, unless a comment broke the line
    /// since `line` (then alignment is moot).
    fn pad_before(&mut self, at: usize, line: Option<usize>, col: usize) {
        let Some(l) = line else { return };
        if self.lines() == l && self.pending.is_none() {
            self.comments_before(at);
            if self.lines() == l && self.pending.is_none() {
                self.pad_to(col);
            }
        }
    }

    fn lit(&mut self, at: usize, t: &'s str) {
        if t != ";" {
            self.tok(at, t);
        }
    }

    /// `{ item... }`: each item on its own line, one level in.
    fn block(&mut self, pair: Pair<'s, Rule>) {
        let ps = pieces(self.src, &pair);
        let close = pair.as_span().end() - 1;
        let items: Vec<Pair<'s, Rule>> = ps
            .iter()
            .filter_map(|p| if let Piece::Node(n) = p { Some(n.clone()) } else { None })
            .collect();
        let open = ps.iter().find_map(|p| match p {
            Piece::Lit(at, "{") => Some(*at),
            _ => None,
        });
        // Words before the brace (`columns`).
        for p in &ps {
            match p {
                Piece::Lit(at, "{") => {
                    self.tok(*at, "{");
                    break;
                }
                Piece::Lit(at, t) => self.lit(*at, t),
                Piece::Node(_) => {}
            }
        }
        let has_comments =
            self.comments.iter().any(|&(s, _)| open.is_some_and(|o| s > o) && s < close);
        if items.is_empty() && !has_comments {
            self.tight = true;
            self.tok(close, "}");
            return;
        }
        let outer = self.indent;
        self.indent += INDENT;
        if pair.as_rule() == Rule::columns_block {
            self.columns(items);
        } else {
            let widths = self.item_widths(&items);
            let mut first = true;
            for (item, width) in items.into_iter().zip(widths) {
                self.newline_at(self.indent, !first);
                first = false;
                match item.as_rule() {
                    Rule::rule_arm | Rule::else_arm | Rule::map_arm => self.arm(item, width),
                    _ => self.aligned_statement(item, width),
                }
            }
        }
        self.newline_at(self.indent, true);
        self.comments_before(close);
        self.indent = outer;
        self.newline_at(outer, false);
        self.tok(close, "}");
    }

    /// Alignment widths of a block's items: arms to the widest left side, measures
    /// and features to the widest name of their run.
    fn item_widths(&self, items: &[Pair<'s, Rule>]) -> Vec<Option<usize>> {
        let arms = items
            .iter()
            .any(|i| matches!(i.as_rule(), Rule::rule_arm | Rule::else_arm | Rule::map_arm));
        if arms {
            // An arm a comment breaks is not aligned, nor counted.
            let max =
                items.iter().filter(|i| !self.has_comment(i)).map(|i| self.lhs_width(i)).max();
            return vec![max; items.len()];
        }
        self.runs(items, |p| {
            let mut inner = p.clone().into_inner();
            match p.as_rule() {
                Rule::measure_def => {
                    Some("measure ".len() + inner.next()?.as_str().chars().count())
                }
                Rule::feature_def => Some(inner.next()?.as_str().chars().count()),
                _ => None,
            }
        })
    }

    fn has_comment(&self, p: &Pair<'s, Rule>) -> bool {
        let sp = p.as_span();
        self.comments.iter().any(|&(c, _)| c > sp.start() && c < sp.end())
    }

    /// The width of an arm's left side (before `=>`), written flat.
    fn lhs_width(&self, arm: &Pair<'s, Rule>) -> usize {
        let mut m = W::measure(self.src);
        for piece in pieces(self.src, arm) {
            match piece {
                Piece::Lit(_, "=>") => break,
                Piece::Lit(at, t) => m.lit(at, t),
                Piece::Node(n) => m.walk(n, ROOT),
            }
        }
        m.out.chars().count()
    }

    fn arm(&mut self, arm: Pair<'s, Rule>, width: Option<usize>) {
        let start_col = self.pending.map_or(self.indent, |p| p.indent);
        self.start_line(arm.as_span().start());
        let line = Some(self.lines());
        for piece in pieces(self.src, &arm) {
            match piece {
                Piece::Lit(at, "=>") => {
                    if let Some(w) = width {
                        self.pad_before(at, line, start_col + w);
                    }
                    self.tok(at, "=>");
                }
                Piece::Lit(at, t) => self.lit(at, t),
                Piece::Node(n) => self.walk(n, ROOT),
            }
        }
    }

    /// A column list, filled to the width, `, ` between declarations.
    fn columns(&mut self, decls: Vec<Pair<'s, Rule>>) {
        let mut first = true;
        for decl in decls {
            // As written: the source's spacing (a byte-order mark counts as space to
            // the grammar, not to `split_whitespace`) would make a second run wrap
            // differently from the first.
            let width = {
                let mut m = W::measure(self.src);
                m.walk(decl.clone(), ROOT);
                m.out.trim_start().chars().count()
            };
            if first {
                self.newline_at(self.indent, false);
            } else {
                self.synth(",");
                self.comments_before(decl.as_span().start());
                if self.pending.is_some() || self.col() + 1 + width + 1 > WIDTH {
                    self.newline_at(self.indent, false);
                }
            }
            first = false;
            self.walk(decl, ROOT);
        }
    }

    /// `example m { ... } => d "x", ...`, broken before `=>` when too wide.
    fn example(&mut self, pair: Pair<'s, Rule>) {
        let mut m = W::measure(self.src);
        m.plain(pair.clone());
        let start = self.pending.map_or_else(|| self.col(), |p| p.indent);
        let wide = start + m.out.chars().count() > WIDTH;
        let mut in_fields = false;
        let ps = pieces(self.src, &pair);
        for (i, piece) in ps.iter().enumerate() {
            match piece {
                Piece::Lit(at, "{") => {
                    self.tok(*at, "{");
                    in_fields = true;
                }
                Piece::Lit(at, "}") => {
                    in_fields = false;
                    self.tok(*at, "}");
                }
                Piece::Lit(at, "=>") => {
                    if wide {
                        self.newline_at(self.indent + INDENT, false);
                    }
                    self.tok(*at, "=>");
                }
                Piece::Lit(at, ",")
                    if in_fields && matches!(ps.get(i + 1), Some(Piece::Lit(_, "}"))) =>
                {
                    let _ = at;
                }
                Piece::Lit(at, t) => self.lit(*at, t),
                Piece::Node(n) => self.walk(n.clone(), ROOT),
            }
        }
    }

    /// Every piece of `pair` with default spacing.
    fn plain(&mut self, pair: Pair<'s, Rule>) {
        let ps = pieces(self.src, &pair);
        for (i, piece) in ps.iter().enumerate() {
            match piece {
                // A trailing comma goes.
                Piece::Lit(_, ",")
                    if matches!(ps.get(i + 1), Some(Piece::Lit(_, ")" | "]" | "}"))) => {}
                Piece::Lit(at, t) => self.lit(*at, t),
                Piece::Node(n) => self.walk(n.clone(), ROOT),
            }
        }
    }

    fn walk(&mut self, pair: Pair<'s, Rule>, ctx: Ctx) {
        let rule = pair.as_rule();
        match rule {
            Rule::market_body
            | Rule::table_body
            | Rule::entity_body
            | Rule::rule_block
            | Rule::map_block
            | Rule::columns_block => self.block(pair),
            Rule::example => self.example(pair),
            // A long `bins`/`quantiles` line continues with its labels.
            Rule::label_list => {
                let mut m = W::measure(self.src);
                m.plain(pair.clone());
                if self.pending.is_none() && self.col() + 1 + m.out.chars().count() > WIDTH {
                    self.newline_at(self.indent + INDENT, false);
                }
                self.plain(pair);
            }
            Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr => {
                let n = pair.clone().into_inner().filter(|p| !is_op(p.as_rule())).count();
                // Only a chain of two or more operands has its own operator's level.
                let own = match rule {
                    Rule::or_expr => OR,
                    Rule::and_expr => AND,
                    Rule::add_expr => ADD,
                    _ => MUL,
                };
                let mut first = true;
                for p in pair.into_inner() {
                    if is_op(p.as_rule()) {
                        self.walk(p, ROOT);
                    } else if n > 1 {
                        self.walk(p, Ctx { level: own, left: first });
                        first = false;
                    } else {
                        self.walk(p, ctx);
                    }
                }
            }
            Rule::not_expr | Rule::unary => {
                let prefixed = pair.clone().into_inner().count() > 1;
                let own = if rule == Rule::not_expr { NOT } else { NEG };
                for p in pair.into_inner() {
                    match p.as_rule() {
                        Rule::not_op => self.walk(p, ROOT),
                        Rule::neg_op => {
                            self.walk(p, ROOT);
                            self.tight = true;
                        }
                        _ if prefixed => self.walk(p, Ctx { level: own, left: false }),
                        _ => self.walk(p, ctx),
                    }
                }
            }
            Rule::cmp_expr => {
                let tail = pair.clone().into_inner().count() > 1;
                let sub = if tail { Ctx { level: CMP, left: false } } else { ctx };
                for p in pair.into_inner() {
                    self.walk(p, sub);
                }
            }
            Rule::between_tail | Rule::like_tail => {
                for p in pair.into_inner() {
                    self.walk(p, Ctx { level: CMP, left: false });
                }
            }
            Rule::paren => {
                let inner = pair.clone().into_inner().next();
                let Some(inner) = inner else { return self.plain(pair) };
                let lv = level(&inner);
                let redundant = lv > ctx.level
                    || (lv == ctx.level && ctx.left && matches!(lv, OR | AND | ADD | MUL));
                if redundant {
                    self.walk(inner, ctx);
                } else {
                    self.plain(pair);
                }
            }
            Rule::call_args => {
                self.tight = true;
                self.plain(pair);
            }
            Rule::neg_literal => {
                let ps = pieces(self.src, &pair);
                for piece in ps {
                    match piece {
                        Piece::Lit(at, "-") => {
                            self.tok(at, "-");
                            self.tight = true;
                        }
                        Piece::Lit(at, t) => self.lit(at, t),
                        Piece::Node(n) => self.walk(n, ROOT),
                    }
                }
            }
            _ => {
                if pair.clone().into_inner().next().is_none() {
                    let s = pair.as_span();
                    self.tok(s.start(), pair.as_str());
                } else {
                    self.plain(pair);
                }
            }
        }
    }
}

/// Whether a blank line separates two items in the source.
fn blank_between(src: &str, a: &Pair<Rule>, b: &Pair<Rule>) -> bool {
    let parts: Vec<&str> = src[a.as_span().end()..b.as_span().start()].split('\n').collect();
    parts.len() > 2 && parts[1..parts.len() - 1].iter().any(|l| l.trim().is_empty())
}

fn is_op(r: Rule) -> bool {
    matches!(r, Rule::or_op | Rule::and_op | Rule::add_op | Rule::mul_op)
}
