//! Entity `example`s: features computed from other features (`avg_ticket = spend /
//! orders`) are derived from the values the example gives, so a rule on them sees
//! the same number a run would; a given value that disagrees is reported.

use super::errors;
use super::program::*;
use crate::diagnostic::Diagnostic;
use crate::span::Span;

/// A feature's value from the example's fields, when every feature it reads is
/// given or derivable and it aggregates nothing itself. `None`: not derivable.
fn derive(
    i: usize,
    feats: &[MeasureDef],
    given: &[(String, Value)],
    depth: usize,
) -> Option<Value> {
    if let Some((_, v)) = given.iter().find(|(n, _)| *n == feats[i].name) {
        return Some(v.clone());
    }
    // Features are acyclic (the checker refused cycles), so this ends; the bound
    // only guards against a broken program.
    if depth > feats.len() {
        return None;
    }
    eval(&feats[i].expr, feats, given, depth + 1)
}

fn eval(m: &MExpr, feats: &[MeasureDef], given: &[(String, Value)], depth: usize) -> Option<Value> {
    match m {
        MExpr::Agg(_) => None,
        MExpr::Ref(i, _) => derive(*i, feats, given, depth),
        MExpr::Lit(v) => Some(v.clone()),
        MExpr::Neg(x, _) => match eval(x, feats, given, depth)? {
            Value::Int(i) => Some(i.checked_neg().map_or(Value::Null, Value::Int)),
            Value::Float(f) => Some(Value::Float(-f)),
            _ => Some(Value::Null),
        },
        MExpr::Bin(op, a, b, ty) => {
            let (x, y) = (eval(a, feats, given, depth)?, eval(b, feats, given, depth)?);
            if x.is_null() || y.is_null() {
                return Some(Value::Null);
            }
            // As a run computes it: `/` in floats, null over zero; integers exact,
            // and no value at all past 64 bits (a run would stop with E0602).
            if *op == BinOp::Div || *ty == Type::Float {
                let (p, q) = (x.as_f64()?, y.as_f64()?);
                return Some(match op {
                    BinOp::Div if q == 0.0 => Value::Null,
                    BinOp::Div => Value::Float(p / q),
                    BinOp::Add => Value::Float(p + q),
                    BinOp::Sub => Value::Float(p - q),
                    _ => Value::Float(p * q),
                });
            }
            let (Value::Int(p), Value::Int(q)) = (x, y) else { return None };
            let r = match op {
                BinOp::Add => p.checked_add(q),
                BinOp::Sub => p.checked_sub(q),
                _ => p.checked_mul(q),
            };
            r.map(Value::Int)
        }
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => a == b,
    }
}

/// The example's fields completed with every derivable feature it does not give,
/// and a diagnostic for each given feature that its derivation contradicts.
pub fn complete(
    ent: &EntityDef,
    fields: Vec<(String, Value)>,
    spans: &[(String, Span)],
) -> (Vec<(String, Value)>, Vec<Diagnostic>) {
    let feats = &ent.features;
    let mut out = fields.clone();
    let mut diags = Vec::new();
    for f in feats {
        if matches!(f.expr, MExpr::Agg(_)) {
            continue;
        }
        // Derive from the other fields only, to test a given value against them.
        let others: Vec<(String, Value)> =
            fields.iter().filter(|(n, _)| *n != f.name).cloned().collect();
        let Some(derived) = eval(&f.expr, feats, &others, 0) else { continue };
        let derived = crate::check::coerce(derived, f.ty);
        match fields.iter().find(|(n, _)| *n == f.name) {
            Some((_, given)) if !same(given, &derived) => {
                let span = spans.iter().find(|(n, _)| *n == f.name).map_or(ent.span, |s| s.1);
                diags.push(errors::contradicts_derived(span, &f.name, given, &derived));
            }
            Some(_) => {}
            None => out.push((f.name.clone(), derived)),
        }
    }
    (out, diags)
}
