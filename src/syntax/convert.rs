//! pest pairs → AST: one conversion function per grammar rule. Spans are shifted
//! by the chunk's offset, so a statement re-parsed alone still points into the file.

use super::ast::*;
use super::errors;
use super::parser::{Rule, R};
use crate::calendar::{parse_date, parse_timestamp};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use pest::iterators::{Pair, Pairs};

pub(super) struct Ctx {
    pub(super) base: usize,
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

    pub(super) fn program(&self, p: Pair<Rule>) -> R<Program> {
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
            Rule::table => ItemKind::Table(self.table(p)?),
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
        let db_table = k.opt(Rule::db_table).is_some();
        let source = self.string(k.expect(Rule::string)?)?;
        let format = match k.opt(Rule::format_clause) {
            Some(f) => Some(self.name(self.kids(f).any()?)?),
            None => None,
        };
        let mut m = Market {
            name,
            db_table,
            source,
            format,
            columns: None,
            filters: Vec::new(),
            measures: Vec::new(),
            joins: Vec::new(),
        };
        if let Some(body) = k.opt(Rule::market_body) {
            for item in body.into_inner() {
                match item.as_rule() {
                    Rule::columns_block => m.columns = Some(self.columns_block(item)?),
                    Rule::where_clause => m.filters.push(self.expr(self.kids(item).any()?)?),
                    Rule::measure_def => m.measures.push(self.measure_def(item)?),
                    Rule::join_clause => m.joins.push(self.join(item)?),
                    _ => return Err(self.unexpected(&item)),
                }
            }
        }
        Ok(m)
    }

    fn join(&self, p: Pair<Rule>) -> R<Join> {
        let span = self.span(&p);
        let mut k = self.kids(p);
        k.expect(Rule::join_kw)?;
        let table = self.name(k.expect(Rule::table_ref)?)?;
        let column = self.name(k.expect(Rule::column_ref)?)?;
        let key = match k.opt(Rule::qualified_ref) {
            Some(q) => {
                let mut q = self.kids(q);
                let t = self.name(q.expect(Rule::table_ref)?)?;
                let c = self.name(q.expect(Rule::column_ref)?)?;
                Some((t, c))
            }
            None => None,
        };
        Ok(Join { table, column, key, span })
    }

    fn table(&self, p: Pair<Rule>) -> R<Table> {
        let span = self.span(&p);
        let mut k = self.kids(p);
        k.expect(Rule::table_kw)?;
        let name = self.name(k.expect(Rule::table_name)?)?;
        let source = self.string(k.expect(Rule::string)?)?;
        let format = match k.opt(Rule::format_clause) {
            Some(f) => Some(self.name(self.kids(f).any()?)?),
            None => None,
        };
        let mut t = Table { name, source, format, columns: None, key: None, span };
        for item in k.expect(Rule::table_body)?.into_inner() {
            match item.as_rule() {
                Rule::columns_block => t.columns = Some(self.columns_block(item)?),
                Rule::key_clause => {
                    let mut kk = self.kids(item);
                    kk.expect(Rule::key_kw)?;
                    t.key = Some(self.name(kk.expect(Rule::column_ref)?)?);
                }
                _ => return Err(self.unexpected(&item)),
            }
        }
        Ok(t)
    }

    fn columns_block(&self, p: Pair<Rule>) -> R<ColumnsBlock> {
        let span = self.span(&p);
        let mut columns = Vec::new();
        for c in p.into_inner() {
            columns.push(self.column_decl(c)?);
        }
        Ok(ColumnsBlock { columns, span })
    }

    /// `[c1, c2, ...]` of bins, quantiles and pareto, with its span.
    fn cut_list(&self, p: Pair<Rule>) -> R<(Vec<Constant>, Span)> {
        let span = self.span(&p);
        let mut cuts = Vec::new();
        for c in p.into_inner() {
            cuts.push(self.constant(c)?);
        }
        Ok((cuts, span))
    }

    /// An optional `labels [...]`, and its span (`default` when absent, for messages).
    fn label_list(&self, k: &mut Kids, default: Span) -> R<(Option<Vec<StrLit>>, Span)> {
        let Some(l) = k.opt(Rule::label_list) else { return Ok((None, default)) };
        let span = self.span(&l);
        let mut v = Vec::new();
        for s in l.into_inner() {
            v.push(self.string(s)?);
        }
        Ok((Some(v), span))
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
        let mut measures = Vec::new();
        for f in body.into_inner() {
            match f.as_rule() {
                Rule::measure_def => measures.push(self.measure_def(f)?),
                _ => features.push(self.measure_def(f)?),
            }
        }
        Ok(Entity { name, market, key, features, measures })
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
            Rule::column_dim => {
                let expr = self.expr(k.expect(Rule::expr)?)?;
                let order = match k.opt(Rule::order_clause) {
                    Some(o) => {
                        let mut o = self.kids(o);
                        o.expect(Rule::order_kw)?;
                        let mut vals = Vec::new();
                        while let Some(c) = o.next() {
                            vals.push(self.constant(c)?);
                        }
                        Some(vals)
                    }
                    None => None,
                };
                DimBody::Column(expr, order)
            }
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
                let (cuts, cuts_span) = self.cut_list(k.expect(Rule::cut_list)?)?;
                let closed_right = match k.opt(Rule::closed_right) {
                    Some(c) => self.kids(c).expect(Rule::side)?.as_str() == "right",
                    None => false,
                };
                let (labels, labels_span) = self.label_list(&mut k, cuts_span)?;
                DimBody::Bins { expr, cuts, cuts_span, closed_right, labels, labels_span, span }
            }
            Rule::pareto_dim => {
                k.expect(Rule::pareto_kw)?;
                let expr = self.expr(k.expect(Rule::expr)?)?;
                let (cuts, cuts_span) = self.cut_list(k.expect(Rule::cut_list)?)?;
                let (labels, labels_span) = self.label_list(&mut k, cuts_span)?;
                DimBody::Pareto { expr, cuts, cuts_span, labels, labels_span, span }
            }
            Rule::quantiles_dim => {
                let expr = self.expr(k.expect(Rule::expr)?)?;
                let (n, n_span, cuts) = match k.opt(Rule::cut_list) {
                    Some(cut_pair) => {
                        let (cuts, cs) = self.cut_list(cut_pair)?;
                        (0, cs, Some(cuts))
                    }
                    None => {
                        let n_pair = k.expect(Rule::integer)?;
                        (self.count(&n_pair)?, self.span(&n_pair), None)
                    }
                };
                let (labels, labels_span) = self.label_list(&mut k, n_span)?;
                DimBody::Quantiles { expr, n, n_span, cuts, labels, labels_span, span }
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
            with_total: false,
            over: Vec::new(),
            migrate: None,
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
                Rule::with_total => seg.with_total = true,
                Rule::over_clause => {
                    let span = self.span(&c);
                    let mut k = self.kids(c);
                    let kw = k.expect(Rule::over_kw)?;
                    let expr = self.expr(k.expect(Rule::expr)?)?;
                    let unit = match k.next() {
                        Some(u) => Some(self.name(u)?),
                        None => None,
                    };
                    let kw_span = self.span(&kw);
                    seg.over.push(Over { expr, unit, span, kw_span });
                }
                Rule::migrate_clause => {
                    let span = self.span(&c);
                    let mut k = self.kids(c);
                    let kw = k.expect(Rule::migrate_kw)?;
                    let over_kw = k.expect(Rule::over_kw)?;
                    let expr = self.expr(k.expect(Rule::expr)?)?;
                    let unit = match k.opt(Rule::period_unit) {
                        Some(u) => Some(self.name(u)?),
                        None => None,
                    };
                    let from = self.period_value(k.expect(Rule::period_value)?)?;
                    k.expect(Rule::to_kw)?;
                    let to = self.period_value(k.expect(Rule::period_value)?)?;
                    let over = Over { expr, unit, span, kw_span: self.span(&over_kw) };
                    seg.migrate =
                        Some(Box::new(Migrate { over, from, to, kw_span: self.span(&kw) }));
                }
                _ => return Err(self.unexpected(&c)),
            }
        }
        Ok(seg)
    }

    /// A period as written after `from` or `to`: `2024`, `"2024-Q1"`.
    fn period_value(&self, p: Pair<Rule>) -> R<(String, Span)> {
        let span = self.span(&p);
        let inner = self.kids(p).any()?;
        let text = match inner.as_rule() {
            Rule::string => self.string(inner)?.value,
            _ => inner.as_str().to_string(),
        };
        Ok((text, span))
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

    pub(super) fn expr(&self, p: Pair<Rule>) -> R<Expr> {
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
                    Rule::like_tail => {
                        let mut t = self.kids(tail);
                        let negated = t.opt(Rule::not_op).is_some();
                        t.expect(Rule::like_kw)?;
                        let pattern = Box::new(self.expr(t.expect(Rule::add_expr)?)?);
                        ExprKind::Like { expr: lhs, pattern, negated }
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
                let mut func = self.name(k.any()?)?;
                // `customers.country`: a joined table's column, one name to the checker.
                if k.peek_rule().is_some_and(|r| r != Rule::call_args) {
                    let column = self.name(k.any()?)?;
                    func = Ident {
                        name: format!("{}.{}", func.name, column.name),
                        span: func.span.to(column.span),
                    };
                }
                match k.opt(Rule::call_args) {
                    None => Ok(Expr { kind: ExprKind::Name(func), span }),
                    Some(args_pair) => {
                        let mut a = self.kids(args_pair);
                        let distinct = a.opt(Rule::distinct_kw).is_some();
                        let mut args = Vec::new();
                        let mut filter = None;
                        while let Some(x) = a.next() {
                            if x.as_rule() == Rule::agg_where {
                                let mut w = self.kids(x);
                                w.opt(Rule::where_kw);
                                filter = Some(Box::new(self.expr(w.any()?)?));
                            } else if x.as_rule() == Rule::period_arg {
                                // `period "2024"` reads as the call `period("2024")`.
                                let xs = self.span(&x);
                                let mut pk = self.kids(x);
                                let kw = pk.expect(Rule::period_kw)?;
                                let (value, vspan) =
                                    self.period_value(pk.expect(Rule::period_value)?)?;
                                let func = Ident { name: "period".into(), span: self.span(&kw) };
                                let arg =
                                    Expr { kind: ExprKind::Lit(Lit::Text(value)), span: vspan };
                                args.push(Expr {
                                    kind: ExprKind::Call {
                                        func,
                                        distinct: false,
                                        args: vec![arg],
                                        filter: None,
                                    },
                                    span: xs,
                                });
                            } else {
                                args.push(self.expr(x)?);
                            }
                        }
                        Ok(Expr { kind: ExprKind::Call { func, distinct, args, filter }, span })
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
