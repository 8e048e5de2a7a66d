//! pest pairs → AST, one conversion function per grammar rule, and pest errors → diagnostics.

use super::ast::*;
use super::errors;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use pest::iterators::{Pair, Pairs};
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/seg.pest"]
struct SegParser;

type R<T> = Result<T, Diagnostic>;

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

const STATEMENT_KEYWORDS: [&str; 6] =
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

fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::market_name | Rule::market_ref => "a market name",
        Rule::column_name | Rule::column_ref => "a column name",
        Rule::measure_name | Rule::measure_ref => "a measure name",
        Rule::entity_name => "an entity name",
        Rule::feature_name => "a feature name",
        Rule::dim_name | Rule::dim_ref => "a dimension name",
        Rule::owner_ref => "a market or entity name",
        Rule::seg_name | Rule::seg_ref => "a segmentation name",
        Rule::ident | Rule::quoted_ident | Rule::name_or_call => "a name",
        Rule::string => "a text in double quotes",
        Rule::integer => "a whole number",
        Rule::literal | Rule::neg_literal | Rule::float | Rule::percent | Rule::date | Rule::timestamp => "a value",
        Rule::type_name => "a type (int, float, text, bool, date, timestamp)",
        Rule::expr | Rule::or_expr | Rule::and_expr | Rule::not_expr | Rule::cmp_expr | Rule::add_expr
        | Rule::mul_expr | Rule::unary | Rule::paren => "an expression",
        Rule::market | Rule::entity | Rule::dimension | Rule::segment | Rule::expect | Rule::example => {
            "a statement (market, entity, dimension, segment, expect or example)"
        }
        Rule::EOI => "end of file",
        Rule::cmp_op | Rule::between_tail | Rule::in_tail | Rule::is_null_tail => "a comparison",
        Rule::or_op => "`or`",
        Rule::and_op => "`and`",
        Rule::add_op | Rule::mul_op => "an operator",
        Rule::chain_op | Rule::then_op | Rule::cross_op => "`then` or `x`",
        Rule::columns_block => "`columns { ... }`",
        Rule::column_decl => "a column declaration (`name type`)",
        Rule::where_clause | Rule::seg_where => "`where`",
        Rule::measure_def => "`measure NAME = ...`",
        Rule::feature_def => "a feature (`name = aggregate`)",
        Rule::rule_arm => "a rule (`condition => \"label\"`)",
        Rule::else_arm | Rule::else_label => "`else`",
        Rule::map_arm => "a mapping (`\"value\" => \"label\"`)",
        Rule::closed_right => "`closed right`",
        Rule::label_list => "`labels [...]`",
        Rule::cut_list => "a list of cut points `[...]`",
        Rule::measures_clause => "`measures (...)`",
        Rule::share_clause => "`share of`",
        Rule::format_clause => "`as FORMAT`",
        Rule::market_body | Rule::entity_body | Rule::rule_block | Rule::map_block => "`{`",
        Rule::call_args => "`(`",
        Rule::field => "a field (`column: value`)",
        Rule::expected => "an expected label (`dimension \"label\"`)",
        Rule::partition_check => "`SEGMENTATION is partition`",
        Rule::top_dim | Rule::rules_dim | Rule::partition_dim | Rule::bins_dim | Rule::quantiles_dim
        | Rule::map_dim | Rule::column_dim => "a dimension body (a column, `top`, `rules`, `partition`, `bins`, `quantiles` or a mapping)",
        _ => return None,
    })
}

fn help_for(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::dim_ref | Rule::chain_op | Rule::then_op | Rule::cross_op => {
            "a segmentation reads `MARKET by DIM`, with more dimensions joined by `then` (nested) or `x` (crossed)"
        }
        Rule::market | Rule::entity | Rule::dimension | Rule::segment | Rule::expect | Rule::example | Rule::EOI => {
            "every statement starts with market, entity, dimension, segment, expect or example"
        }
        Rule::type_name | Rule::column_decl => "declare columns as `name type`, e.g. `age int, region text`",
        Rule::rule_arm | Rule::else_arm => "each rule reads `condition => \"label\"`; the last may be `else => \"label\"`",
        Rule::map_arm => "each mapping arm reads `\"value\", \"value\" => \"label\"`",
        Rule::string => "text is written in double quotes, e.g. \"b2b\"",
        Rule::owner_ref => "a dimension reads `dimension NAME on MARKET = ...`",
        _ => return None,
    })
}

/// The token at `pos` as the user sees it: a whole word or number (`3.5`,
/// `x.csv`), else one character. Message and span both come from it, so they agree.
fn found_token(text: &str, pos: usize) -> &str {
    let rest = &text[pos.min(text.len())..];
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    match rest.chars().next() {
        None => "",
        Some(c) if c.is_alphanumeric() || c == '_' => {
            &rest[..rest.char_indices().find(|(_, c)| !word(*c)).map_or(rest.len(), |(i, _)| i)]
        }
        Some(c) => &rest[..c.len_utf8()],
    }
}

fn describe_found(text: &str, pos: usize) -> String {
    match found_token(text, pos) {
        "" => "end of file".into(),
        "\n" => "end of line".into(),
        t => format!("`{}`", t.chars().take(40).collect::<String>()),
    }
}

fn found_len(text: &str, pos: usize) -> usize {
    found_token(text, pos).len()
}

/// `full` is the whole spec; the error's position is relative to byte `base` of it.
fn pest_error(e: pest::error::Error<Rule>, full: &str, base: usize) -> Diagnostic {
    let pos = base
        + match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
    let mut names: Vec<String> = Vec::new();
    let mut help = None;
    match &e.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            for r in positives {
                if let Some(n) = rule_name(*r) {
                    if !names.iter().any(|x| x == n) {
                        names.push(n.to_string());
                    }
                }
                help = help.or(help_for(*r));
            }
        }
        pest::error::ErrorVariant::CustomError { message } => {
            if message.contains("limit") {
                return errors::call_limit(pos);
            }
        }
    }
    if let Some(attempts) = e.parse_attempts() {
        let said_statement = names.iter().any(|n| n.starts_with("a statement"));
        for tok in attempts.expected_tokens() {
            let t = tok.to_string();
            let keyword = t.len() >= 2 && t.chars().all(|c| c.is_ascii_lowercase());
            let punct =
                matches!(t.as_str(), "=" | "=>" | "{" | "}" | "(" | ")" | "[" | "]" | "," | ":");
            if said_statement && STATEMENT_KEYWORDS.contains(&t.as_str()) {
                continue;
            }
            let shown = format!("`{t}`");
            if (keyword || punct) && !names.contains(&shown) && names.len() < 6 {
                names.push(shown);
            }
        }
    }
    let expected = match names.len() {
        0 => "something else".to_string(),
        1 => names[0].clone(),
        n => format!("{} or {}", names[..n - 1].join(", "), names[n - 1]),
    };
    let len = found_len(full, pos).max(1);
    errors::syntax(Span::new(pos, pos + len), &expected, &describe_found(full, pos), help)
}

// ------------------------------------------------------------------ conversion

struct Ctx {
    base: usize,
}

/// The children of one pair, consumed in order; a missing child is an internal
/// diagnostic (the grammar and this file disagree), never a panic.
struct Kids<'i> {
    it: Pairs<'i, Rule>,
    span: Span,
    peeked: Option<Pair<'i, Rule>>,
}

impl<'i> Kids<'i> {
    fn peek(&mut self) -> Option<&Pair<'i, Rule>> {
        if self.peeked.is_none() {
            self.peeked = self.it.next();
        }
        self.peeked.as_ref()
    }

    fn peek_rule(&mut self) -> Option<Rule> {
        self.peek().map(|p| p.as_rule())
    }

    fn next(&mut self) -> Option<Pair<'i, Rule>> {
        self.peeked.take().or_else(|| self.it.next())
    }

    fn any(&mut self) -> R<Pair<'i, Rule>> {
        self.next().ok_or_else(|| {
            errors::internal(self.span, "a grammar rule has fewer parts than expected")
        })
    }

    fn expect(&mut self, rule: Rule) -> R<Pair<'i, Rule>> {
        let p = self.any()?;
        if p.as_rule() == rule {
            Ok(p)
        } else {
            Err(errors::internal(self.span, &format!("expected {rule:?}, got {:?}", p.as_rule())))
        }
    }

    fn opt(&mut self, rule: Rule) -> Option<Pair<'i, Rule>> {
        if self.peek_rule() == Some(rule) {
            self.next()
        } else {
            None
        }
    }
}

impl Ctx {
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.base + s.start(), self.base + s.end())
    }

    fn kids<'i>(&self, p: Pair<'i, Rule>) -> Kids<'i> {
        let span = self.span(&p);
        Kids { it: p.into_inner(), span, peeked: None }
    }

    fn unexpected(&self, p: &Pair<Rule>) -> Diagnostic {
        errors::internal(self.span(p), &format!("unexpected {:?}", p.as_rule()))
    }

    fn program(&self, p: Pair<Rule>) -> R<Program> {
        let mut items = Vec::new();
        for s in p.into_inner() {
            if s.as_rule() == Rule::EOI {
                continue;
            }
            items.push(self.statement(s)?);
        }
        Ok(Program { items })
    }

    fn statement(&self, p: Pair<Rule>) -> R<Item> {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::market => ItemKind::Market(self.market(p)?),
            Rule::entity => ItemKind::Entity(self.entity(p)?),
            Rule::dimension => ItemKind::Dimension(self.dimension(p)?),
            Rule::segment => ItemKind::Segment(self.segment(p)?),
            Rule::expect => ItemKind::Expect(self.expect(p)?),
            Rule::example => ItemKind::Example(self.example(p)?),
            _ => return Err(self.unexpected(&p)),
        };
        Ok(Item { kind, span })
    }

    /// Any of the named-use wrappers (`market_ref`, `dim_name`, ...) or a bare name.
    fn name(&self, p: Pair<Rule>) -> R<Ident> {
        match p.as_rule() {
            Rule::ident => Ok(Ident { name: p.as_str().to_string(), span: self.span(&p) }),
            Rule::quoted_ident => {
                let s = p.as_str();
                Ok(Ident { name: s[1..s.len() - 1].to_string(), span: self.span(&p) })
            }
            _ => {
                let mut k = self.kids(p);
                let inner = k.any()?;
                self.name(inner)
            }
        }
    }

    fn market(&self, p: Pair<Rule>) -> R<Market> {
        let mut k = self.kids(p);
        let name = self.name(k.expect(Rule::market_name)?)?;
        let source = self.string(k.expect(Rule::string)?)?;
        let format = match k.opt(Rule::format_clause) {
            Some(f) => Some(self.name(self.kids(f).any()?)?),
            None => None,
        };
        let mut m = Market {
            name,
            source,
            format,
            columns: None,
            filters: Vec::new(),
            measures: Vec::new(),
        };
        if let Some(body) = k.opt(Rule::market_body) {
            for item in body.into_inner() {
                match item.as_rule() {
                    Rule::columns_block => {
                        let span = self.span(&item);
                        let mut columns = Vec::new();
                        for c in item.into_inner() {
                            columns.push(self.column_decl(c)?);
                        }
                        m.columns = Some(ColumnsBlock { columns, span });
                    }
                    Rule::where_clause => m.filters.push(self.expr(self.kids(item).any()?)?),
                    Rule::measure_def => m.measures.push(self.measure_def(item)?),
                    _ => return Err(self.unexpected(&item)),
                }
            }
        }
        Ok(m)
    }

    fn column_decl(&self, p: Pair<Rule>) -> R<ColumnDecl> {
        let span = self.span(&p);
        let mut k = self.kids(p);
        let name = self.name(k.expect(Rule::column_name)?)?;
        let t = k.expect(Rule::type_name)?;
        let kw = match t.as_str() {
            "int" => TypeKw::Int,
            "float" => TypeKw::Float,
            "text" => TypeKw::Text,
            "bool" => TypeKw::Bool,
            "date" => TypeKw::Date,
            "timestamp" => TypeKw::Timestamp,
            _ => return Err(self.unexpected(&t)),
        };
        Ok(ColumnDecl { name, ty: TypeName { kw, span: self.span(&t) }, span })
    }

    fn measure_def(&self, p: Pair<Rule>) -> R<MeasureDef> {
        let span = self.span(&p);
        let mut k = self.kids(p);
        let name = self.name(k.any()?)?;
        let expr = self.expr(k.expect(Rule::expr)?)?;
        Ok(MeasureDef { name, expr, span })
    }

    fn entity(&self, p: Pair<Rule>) -> R<Entity> {
        let mut k = self.kids(p);
        let name = self.name(k.expect(Rule::entity_name)?)?;
        let market = self.name(k.expect(Rule::market_ref)?)?;
        let key = self.name(k.expect(Rule::column_ref)?)?;
        let body = k.expect(Rule::entity_body)?;
        let mut features = Vec::new();
        for f in body.into_inner() {
            features.push(self.measure_def(f)?);
        }
        Ok(Entity { name, market, key, features })
    }

    fn dimension(&self, p: Pair<Rule>) -> R<Dimension> {
        let mut k = self.kids(p);
        let name = self.name(k.expect(Rule::dim_name)?)?;
        let owner = self.name(k.expect(Rule::owner_ref)?)?;
        let body = self.dim_body(k.any()?)?;
        Ok(Dimension { name, owner, body })
    }

    fn dim_body(&self, p: Pair<Rule>) -> R<DimBody> {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut k = self.kids(p);
        Ok(match rule {
            Rule::column_dim => DimBody::Column(self.expr(k.expect(Rule::expr)?)?),
            Rule::top_dim => {
                let n_pair = k.expect(Rule::integer)?;
                let (n, n_span) = (self.count(&n_pair)?, self.span(&n_pair));
                let expr = self.expr(k.expect(Rule::expr)?)?;
                let else_label = match k.opt(Rule::else_label) {
                    Some(e) => Some(self.string(self.kids(e).expect(Rule::string)?)?),
                    None => None,
                };
                DimBody::Top { n, n_span, expr, else_label, span }
            }
            Rule::rules_dim | Rule::partition_dim => {
                let (arms, else_label) = self.rule_block(k.expect(Rule::rule_block)?)?;
                DimBody::Rules { arms, else_label, partition: rule == Rule::partition_dim, span }
            }
            Rule::bins_dim => {
                let expr = self.expr(k.expect(Rule::expr)?)?;
                let cut_pair = k.expect(Rule::cut_list)?;
                let cuts_span = self.span(&cut_pair);
                let mut cuts = Vec::new();
                for c in cut_pair.into_inner() {
                    cuts.push(self.constant(c)?);
                }
                let closed_right = match k.opt(Rule::closed_right) {
                    Some(c) => self.kids(c).expect(Rule::side)?.as_str() == "right",
                    None => false,
                };
                let (labels, labels_span) = match k.opt(Rule::label_list) {
                    Some(l) => {
                        let ls = self.span(&l);
                        let mut v = Vec::new();
                        for s in l.into_inner() {
                            v.push(self.string(s)?);
                        }
                        (Some(v), ls)
                    }
                    None => (None, cuts_span),
                };
                DimBody::Bins { expr, cuts, cuts_span, closed_right, labels, labels_span, span }
            }
            Rule::quantiles_dim => {
                let expr = self.expr(k.expect(Rule::expr)?)?;
                let n_pair = k.expect(Rule::integer)?;
                DimBody::Quantiles {
                    expr,
                    n: self.count(&n_pair)?,
                    n_span: self.span(&n_pair),
                    span,
                }
            }
            Rule::map_dim => {
                let expr = self.expr(k.expect(Rule::expr)?)?;
                let block = k.expect(Rule::map_block)?;
                let mut arms = Vec::new();
                let mut else_label = None;
                for a in block.into_inner() {
                    match a.as_rule() {
                        Rule::map_arm => {
                            let aspan = self.span(&a);
                            let mut values = Vec::new();
                            let mut label = None;
                            // Values are `literal`s; the label is the one bare string.
                            for c in a.into_inner() {
                                if c.as_rule() == Rule::string {
                                    label = Some(c);
                                } else {
                                    values.push(self.constant(c)?);
                                }
                            }
                            let label = match label {
                                Some(l) => self.string(l)?,
                                None => {
                                    return Err(errors::internal(
                                        aspan,
                                        "mapping arm without label",
                                    ))
                                }
                            };
                            arms.push(MapArm { values, label, span: aspan });
                        }
                        Rule::else_arm => {
                            else_label = Some(self.string(self.kids(a).expect(Rule::string)?)?)
                        }
                        _ => return Err(self.unexpected(&a)),
                    }
                }
                DimBody::Mapping { expr, arms, else_label, span }
            }
            _ => return Err(errors::internal(span, "unknown dimension body")),
        })
    }

    fn rule_block(&self, p: Pair<Rule>) -> R<(Vec<RuleArm>, Option<StrLit>)> {
        let mut arms = Vec::new();
        let mut else_label = None;
        for a in p.into_inner() {
            let span = self.span(&a);
            match a.as_rule() {
                Rule::rule_arm => {
                    let mut k = self.kids(a);
                    let cond = self.expr(k.expect(Rule::expr)?)?;
                    let label = self.string(k.expect(Rule::string)?)?;
                    arms.push(RuleArm { cond, label, span });
                }
                Rule::else_arm => {
                    else_label = Some(self.string(self.kids(a).expect(Rule::string)?)?)
                }
                _ => return Err(self.unexpected(&a)),
            }
        }
        Ok((arms, else_label))
    }

    fn segment(&self, p: Pair<Rule>) -> R<Segment> {
        let span = self.span(&p);
        let mut k = self.kids(p);
        let name = match k.opt(Rule::seg_name) {
            Some(n) => Some(self.name(n)?),
            None => None,
        };
        let mut e = self.kids(k.expect(Rule::seg_expr)?);
        let market = self.name(e.expect(Rule::market_ref)?)?;
        let mut dims = Vec::new();
        let mut ops = Vec::new();
        for d in e.expect(Rule::dim_chain)?.into_inner() {
            match d.as_rule() {
                Rule::dim_ref => dims.push(self.name(d)?),
                Rule::chain_op => {
                    let s = self.span(&d);
                    let op = self.kids(d).any()?;
                    ops.push((
                        if op.as_rule() == Rule::then_op { ChainOp::Then } else { ChainOp::Cross },
                        s,
                    ));
                }
                _ => return Err(self.unexpected(&d)),
            }
        }
        let mut seg = Segment {
            name,
            market,
            dims,
            ops,
            filters: Vec::new(),
            measures: None,
            share_of: None,
            span,
        };
        while let Some(c) = e.next() {
            match c.as_rule() {
                Rule::seg_where => seg.filters.push(self.expr(self.kids(c).any()?)?),
                Rule::measures_clause => {
                    let cs = self.span(&c);
                    let mut names = Vec::new();
                    for m in c.into_inner() {
                        names.push(self.name(m)?);
                    }
                    seg.measures = Some((names, cs));
                }
                Rule::share_clause => seg.share_of = Some(self.name(self.kids(c).any()?)?),
                _ => return Err(self.unexpected(&c)),
            }
        }
        Ok(seg)
    }

    fn expect(&self, p: Pair<Rule>) -> R<Expect> {
        let mut k = self.kids(p);
        let inner = k.any()?;
        match inner.as_rule() {
            Rule::partition_check => {
                let segment = self.name(self.kids(inner).expect(Rule::seg_ref)?)?;
                Ok(Expect::Partition { segment })
            }
            Rule::expr => Ok(Expect::Assert(self.expr(inner)?)),
            _ => Err(self.unexpected(&inner)),
        }
    }

    fn example(&self, p: Pair<Rule>) -> R<Example> {
        let mut k = self.kids(p);
        let owner = self.name(k.expect(Rule::owner_ref)?)?;
        let mut ex = Example { owner, fields: Vec::new(), expected: Vec::new() };
        while let Some(c) = k.next() {
            match c.as_rule() {
                Rule::field => {
                    let mut f = self.kids(c);
                    let name = self.name(f.expect(Rule::column_ref)?)?;
                    let value = self.constant(f.any()?)?;
                    ex.fields.push((name, value));
                }
                Rule::expected => {
                    let span = self.span(&c);
                    let mut f = self.kids(c);
                    let dim = self.name(f.expect(Rule::dim_ref)?)?;
                    let v = f.any()?;
                    let label =
                        if v.as_rule() == Rule::string { Some(self.string(v)?) } else { None };
                    ex.expected.push((dim, label, span));
                }
                _ => return Err(self.unexpected(&c)),
            }
        }
        Ok(ex)
    }

    // -------------------------------------------------------------- literals

    fn count(&self, p: &Pair<Rule>) -> R<u64> {
        p.as_str().parse::<u64>().map_err(|_| errors::bad_number(self.span(p), "count"))
    }

    fn string(&self, p: Pair<Rule>) -> R<StrLit> {
        let span = self.span(&p);
        let raw = p.as_str();
        let body = &raw[1..raw.len() - 1];
        let mut out = String::with_capacity(body.len());
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, e)) => {
                    let at = span.start as usize + 1 + i;
                    return Err(errors::bad_escape(Span::new(at, at + 1 + e.len_utf8())));
                }
                None => return Err(errors::bad_escape(span)),
            }
        }
        Ok(StrLit { value: out, span })
    }

    fn constant(&self, p: Pair<Rule>) -> R<Constant> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::literal => self.literal(p),
            Rule::neg_literal => {
                let inner = self.kids(p).any()?;
                let lit = self.literal_inner(inner)?;
                let value = match lit {
                    Lit::Int(i) => Lit::Int(-i),
                    Lit::Float(f) => Lit::Float(-f),
                    Lit::Percent(f) => Lit::Percent(-f),
                    other => other,
                };
                Ok(Constant { value, span })
            }
            // A bare string appears where the grammar lists values directly.
            Rule::string => Ok(Constant { value: Lit::Text(self.string(p)?.value), span }),
            _ => Err(self.unexpected(&p)),
        }
    }

    fn literal(&self, p: Pair<Rule>) -> R<Constant> {
        let span = self.span(&p);
        let inner = self.kids(p).any()?;
        Ok(Constant { value: self.literal_inner(inner)?, span })
    }

    fn literal_inner(&self, p: Pair<Rule>) -> R<Lit> {
        let span = self.span(&p);
        let s = p.as_str();
        Ok(match p.as_rule() {
            Rule::integer => {
                Lit::Int(s.parse::<i64>().map_err(|_| errors::bad_number(span, "whole number"))?)
            }
            Rule::float => {
                Lit::Float(s.parse::<f64>().map_err(|_| errors::bad_number(span, "number"))?)
            }
            Rule::percent => Lit::Percent(
                s[..s.len() - 1]
                    .parse::<f64>()
                    .map_err(|_| errors::bad_number(span, "percentage"))?
                    / 100.0,
            ),
            Rule::string => Lit::Text(self.string(p)?.value),
            Rule::true_lit => Lit::Bool(true),
            Rule::false_lit => Lit::Bool(false),
            Rule::null_lit => Lit::Null,
            Rule::date => Lit::Date(parse_date(s).ok_or_else(|| errors::bad_date(span))?),
            Rule::timestamp => {
                Lit::Timestamp(parse_timestamp(s).ok_or_else(|| errors::bad_date(span))?)
            }
            _ => return Err(self.unexpected(&p)),
        })
    }

    // -------------------------------------------------------------- expressions

    fn expr(&self, p: Pair<Rule>) -> R<Expr> {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::expr | Rule::paren => {
                let inner = self.kids(p).any()?;
                let mut e = self.expr(inner)?;
                if e.span != span {
                    // Keep the parentheses in the span so a label covers what was written.
                    e.span = span;
                }
                Ok(e)
            }
            Rule::or_expr | Rule::and_expr | Rule::add_expr | Rule::mul_expr => {
                self.binary_chain(p)
            }
            Rule::not_expr => {
                let mut nots = Vec::new();
                let mut k = self.kids(p);
                while let Some(n) = k.opt(Rule::not_op) {
                    nots.push(self.span(&n));
                }
                let mut e = self.expr(k.expect(Rule::cmp_expr)?)?;
                for s in nots.into_iter().rev() {
                    let span = s.to(e.span);
                    e = Expr { kind: ExprKind::Not(Box::new(e)), span };
                }
                Ok(e)
            }
            Rule::cmp_expr => {
                let mut k = self.kids(p);
                let lhs = self.expr(k.expect(Rule::add_expr)?)?;
                let Some(tail) = k.next() else { return Ok(lhs) };
                let lhs = Box::new(lhs);
                let kind = match tail.as_rule() {
                    Rule::cmp_op => {
                        let op_span = self.span(&tail);
                        let op = match tail.as_str() {
                            "=" => BinOp::Eq,
                            "!=" => BinOp::NotEq,
                            "<" => BinOp::Lt,
                            "<=" => BinOp::LtEq,
                            ">" => BinOp::Gt,
                            ">=" => BinOp::GtEq,
                            _ => return Err(self.unexpected(&tail)),
                        };
                        let rhs = Box::new(self.expr(k.expect(Rule::add_expr)?)?);
                        ExprKind::Binary { op, op_span, lhs, rhs }
                    }
                    Rule::between_tail => {
                        let mut t = self.kids(tail);
                        let negated = t.opt(Rule::not_op).is_some();
                        t.expect(Rule::between_kw)?;
                        let low = Box::new(self.expr(t.expect(Rule::add_expr)?)?);
                        t.expect(Rule::and_op)?;
                        let high = Box::new(self.expr(t.expect(Rule::add_expr)?)?);
                        ExprKind::Between { expr: lhs, low, high, negated }
                    }
                    Rule::in_tail => {
                        let mut t = self.kids(tail);
                        let negated = t.opt(Rule::not_op).is_some();
                        t.expect(Rule::in_kw)?;
                        let mut list = Vec::new();
                        while let Some(x) = t.next() {
                            list.push(self.expr(x)?);
                        }
                        ExprKind::InList { expr: lhs, list, negated }
                    }
                    Rule::is_null_tail => {
                        let mut t = self.kids(tail);
                        t.expect(Rule::is_kw)?;
                        let negated = t.opt(Rule::not_op).is_some();
                        ExprKind::IsNull { expr: lhs, negated }
                    }
                    _ => return Err(self.unexpected(&tail)),
                };
                Ok(Expr { kind, span })
            }
            Rule::unary => {
                let mut negs = Vec::new();
                let mut k = self.kids(p);
                while let Some(n) = k.opt(Rule::neg_op) {
                    negs.push(self.span(&n));
                }
                let mut e = self.expr(k.any()?)?;
                for s in negs.into_iter().rev() {
                    let span = s.to(e.span);
                    e = Expr { kind: ExprKind::Neg(Box::new(e)), span };
                }
                Ok(e)
            }
            Rule::literal => {
                let c = self.literal(p)?;
                Ok(Expr { kind: ExprKind::Lit(c.value), span })
            }
            Rule::name_or_call => {
                let mut k = self.kids(p);
                let func = self.name(k.any()?)?;
                match k.opt(Rule::call_args) {
                    None => Ok(Expr { kind: ExprKind::Name(func), span }),
                    Some(args_pair) => {
                        let mut a = self.kids(args_pair);
                        let distinct = a.opt(Rule::distinct_kw).is_some();
                        let mut args = Vec::new();
                        while let Some(x) = a.next() {
                            args.push(self.expr(x)?);
                        }
                        Ok(Expr { kind: ExprKind::Call { func, distinct, args }, span })
                    }
                }
            }
            _ => Err(self.unexpected(&p)),
        }
    }

    fn binary_chain(&self, p: Pair<Rule>) -> R<Expr> {
        let span = self.span(&p);
        let mut k = self.kids(p);
        let mut lhs = self.expr(k.any()?)?;
        let mut operands = 1;
        while let Some(op_pair) = k.next() {
            operands += 1;
            if operands > errors::MAX_OPERANDS {
                return Err(errors::too_many_operands(span));
            }
            let op_span = self.span(&op_pair);
            let op = match (op_pair.as_rule(), op_pair.as_str()) {
                (Rule::or_op, _) => BinOp::Or,
                (Rule::and_op, _) => BinOp::And,
                (_, "+") => BinOp::Add,
                (_, "-") => BinOp::Sub,
                (_, "*") => BinOp::Mul,
                (_, "/") => BinOp::Div,
                _ => return Err(self.unexpected(&op_pair)),
            };
            let rhs = self.expr(k.any()?)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr {
                kind: ExprKind::Binary { op, op_span, lhs: Box::new(lhs), rhs: Box::new(rhs) },
                span,
            };
        }
        Ok(lhs)
    }
}

/// Days since 1970-01-01 for a valid `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<i32> {
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: u32 = s.get(5..7)?.parse().ok()?;
    let d: u32 = s.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) as i32)
}

fn parse_timestamp(s: &str) -> Option<i64> {
    let days = parse_date(s.get(0..10)?)? as i64;
    let rest = s.get(11..)?;
    let mut parts = rest.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let mi: i64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next().map(|x| x.parse().ok()).unwrap_or(Some(0.0))?;
    if h > 23 || mi > 59 || !(0.0..60.0).contains(&sec) {
        return None;
    }
    Some(days * 86_400_000_000 + (h * 3600 + mi * 60) * 1_000_000 + (sec * 1e6).round() as i64)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` for days since 1970-01-01.
pub fn format_date(days: i32) -> String {
    let z = days as i64 + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}
