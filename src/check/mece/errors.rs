//! Findings of the rule analysis in words: the E042x/W042x diagnostics and N0429.
//! Nothing here decides anything; tests read the findings, users read this.

use super::{Finding, Witness};
use crate::check::program::{DimDef, RuleArm, Value};
use crate::diagnostic::{Code, Diagnostic};

/// The diagnostic for one finding on a rules dimension.
pub fn finding(d: &DimDef, arms: &[RuleArm], partition: bool, f: &Finding) -> Diagnostic {
    match f {
        Finding::Overlap { first: i, second: j, witness: w } => Diagnostic::new(
            Code::E0421,
            format!(
                "partition `{}` has overlapping rules: {} and {} both match {}",
                d.name,
                rule(*i),
                rule(*j),
                show(w)
            ),
        )
        .with_label(arms[*j].span, format!("{} matches {}", rule(*j), show(w)))
        .with_label(arms[*i].span, format!("{} matches it too", rule(*i)))
        .with_help(
            "a partition gives each row exactly one label: tighten one rule so they no longer overlap, or use `rules` for first-match",
        ),
        Finding::Unsatisfiable { rule: i } => {
            Diagnostic::new(Code::W0420, format!("{} of `{}` can never match", rule(*i), d.name))
                .with_label(arms[*i].span, "no row satisfies this condition")
                .with_help("fix the condition, or remove the rule")
        }
        Finding::Shadowed { rule: i, by } => {
            let names: Vec<String> = by.iter().map(|&k| rule(k)).collect();
            let mut diag = Diagnostic::new(
                Code::W0420,
                format!(
                    "{} of `{}` can never match: shadowed by {}",
                    rule(*i),
                    d.name,
                    join_and(&names)
                ),
            )
            .with_label(arms[*i].span, "every row it matches is taken earlier");
            for &k in by {
                diag = diag.with_label(arms[k].span, format!("{} takes them first", rule(k)));
            }
            diag.with_help(
                "rules match first to last: move this rule up, narrow the earlier ones, or remove it",
            )
        }
        Finding::Gap { witness: w, around } if partition => {
            let diag = Diagnostic::new(
                Code::E0422,
                format!("partition `{}` leaves rows without a label, e.g. {}", d.name, show(w)),
            );
            let diag = match around.as_slice() {
                [] => diag.with_label(d.span, format!("no rule matches {}", show(w))),
                [first, rest @ ..] => {
                    let mut dd = diag.with_label(
                        arms[*first].span,
                        format!("{} stops short of {}", rule(*first), show(w)),
                    );
                    for &k in rest {
                        dd = dd.with_label(arms[k].span, format!("{} starts after it", rule(k)));
                    }
                    dd.with_label(d.span, "in this partition")
                }
            };
            diag.with_help(
                "a partition must cover every row: widen a rule to include the witness, or add `else => \"label\"`",
            )
        }
        Finding::Gap { witness: w, .. } => Diagnostic::new(
            Code::W0423,
            format!("rules `{}` leave rows unassigned, e.g. {}", d.name, show(w)),
        )
        .with_label(d.span, format!("no rule matches {}", show(w)))
        .with_help("add `else => \"label\"` so every row gets a label, or widen the rules"),
        Finding::Boundary { ends: i, starts: j, column, at, both_include: true } => {
            Diagnostic::new(
                Code::W0424,
                format!(
                    "rules {} and {} of `{}` both include {column} = {}",
                    i + 1,
                    j + 1,
                    d.name,
                    num(*at)
                ),
            )
            .with_label(arms[*j].span, format!("starts at {}, included", num(*at)))
            .with_label(arms[*i].span, format!("ends at {}, included", num(*at)))
            .with_help(
                "adjacent ranges should share a boundary once: make one side strict (`<` or `>`)",
            )
        }
        Finding::Boundary { ends: i, starts: j, column, at, both_include: false } => {
            Diagnostic::new(
                Code::W0424,
                format!(
                    "rules {} and {} of `{}` leave a hole at {column} = {}",
                    i + 1,
                    j + 1,
                    d.name,
                    num(*at)
                ),
            )
            .with_label(arms[*i].span, format!("ends before {}", num(*at)))
            .with_label(arms[*j].span, format!("starts after {}", num(*at)))
            .with_help("adjacent ranges should meet: make one side inclusive (`<=` or `>=`)")
        }
    }
}

/// N0429: the analysis ran out of budget on this dimension.
pub fn gave_up(d: &DimDef) -> Diagnostic {
    Diagnostic::new(
        Code::N0429,
        format!("the rules of `{}` are too complex to analyse; MECE is not proven", d.name),
    )
    .with_label(d.span, "analysis stopped here")
    .with_help(
        "split the dimension, or rely on `expect ... is partition`, which is then checked on data",
    )
}

fn rule(i: usize) -> String {
    format!("rule {}", i + 1)
}

fn join_and(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Integral values without a fraction, so a witness reads `age = 25`, not `25.0`.
fn num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A witness as a dimension's users read it: `revenue = 100, region = null`.
fn show(w: &Witness) -> String {
    show_witness(w)
}

/// A witness row, as the diagnostics and the language server's hover show it.
pub fn show_witness(w: &Witness) -> String {
    if w.is_empty() {
        return "any row".into();
    }
    w.iter().map(|(c, v)| format!("{c} = {}", show_value(v))).collect::<Vec<_>>().join(", ")
}

/// One value as a spec would write it (texts quoted).
pub fn show_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(x) => num(*x),
        Value::Text(s) => format!("{s:?}"),
        Value::Bool(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Timestamp(t) => t.to_string(),
    }
}
