//! pest's errors in the user's words: rule names as "a dimension name", the token
//! found, a hint for common slips, and the span of the whole offending token.

use super::errors;
use super::parser::{Rule, STATEMENT_KEYWORDS};
use crate::diagnostic::Diagnostic;
use crate::span::Span;

fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::market_name | Rule::market_ref => "a market name",
        Rule::table_name | Rule::table_ref => "a table name",
        Rule::join_clause | Rule::join_kw => "`join TABLE on COLUMN`",
        Rule::key_clause | Rule::key_kw => "`key COLUMN`",
        Rule::qualified_ref => "`TABLE.COLUMN`",
        Rule::table_body => "`{`",
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
        // One wording for every statement, so a list of expectations names it once.
        Rule::market | Rule::entity | Rule::dimension | Rule::segment | Rule::expect | Rule::example
        | Rule::table | Rule::table_kw => {
            "a statement (market, table, entity, dimension, segment, expect or example)"
        }
        Rule::EOI => "end of file",
        Rule::cmp_op | Rule::between_tail | Rule::in_tail | Rule::is_null_tail | Rule::like_tail
        | Rule::like_kw => "a comparison",
        Rule::or_op => "`or`",
        Rule::and_op => "`and`",
        Rule::add_op | Rule::mul_op => "an operator",
        Rule::chain_op | Rule::then_op | Rule::cross_op => "`then` or `x`",
        Rule::columns_block => "`columns { ... }`",
        Rule::column_decl => "a column declaration (`name type`)",
        Rule::where_clause | Rule::seg_where | Rule::agg_where | Rule::where_kw => "`where`",
        Rule::measure_def => "`measure NAME = ...`",
        Rule::feature_def => "a feature (`name = aggregate`)",
        Rule::rule_arm => "a rule (`condition => \"label\"`)",
        Rule::else_arm | Rule::else_label => "`else`",
        Rule::map_arm => "a mapping (`\"value\" => \"label\"`)",
        Rule::closed_right => "`closed right`",
        Rule::label_list => "`labels [...]`",
        Rule::order_clause | Rule::order_kw => "`order [...]`",
        Rule::cut_list => "a list of cut points `[...]`",
        Rule::measures_clause => "`measures (...)`",
        Rule::share_clause => "`share of`",
        Rule::with_total | Rule::with_kw => "`with total`",
        Rule::over_clause | Rule::over_kw => "`over DATE by PERIOD`",
        Rule::migrate_clause | Rule::migrate_kw => "`migrate over ...`",
        Rule::period_unit => "a period length (`year`, `quarter`, `month`, `week`)",
        Rule::period_value => "a period (`2024`, `\"2024-Q1\"`)",
        Rule::to_kw => "`to`",
        Rule::format_clause => "`as FORMAT`",
        Rule::market_body | Rule::entity_body | Rule::rule_block | Rule::map_block => "`{`",
        Rule::call_args => "`(`",
        Rule::field => "a field (`column: value`)",
        Rule::expected => "an expected label (`dimension \"label\"`)",
        Rule::partition_check => "`SEGMENTATION is partition`",
        Rule::top_dim | Rule::rules_dim | Rule::partition_dim | Rule::bins_dim | Rule::quantiles_dim
        | Rule::pareto_dim | Rule::pareto_kw | Rule::map_dim | Rule::column_dim => "a dimension body (a column, `top`, `rules`, `partition`, `bins`, `quantiles` or a mapping)",
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

pub(super) fn describe_found(text: &str, pos: usize) -> String {
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
pub(super) fn pest_error(e: pest::error::Error<Rule>, full: &str, base: usize) -> Diagnostic {
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
