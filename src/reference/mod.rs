//! The reference evaluator: seg's semantics written plainly, row by row, over the same
//! checked program. It runs `example` rows and is the oracle the DataFusion engine
//! is tested against; it favours obviousness over speed.

pub mod segment;

use crate::check::program::*;
use std::cmp::Ordering;

/// Looks up a column of the row in scope.
pub trait RowRef {
    fn get(&self, name: &str) -> Value;
}

impl<F: Fn(&str) -> Value> RowRef for F {
    fn get(&self, name: &str) -> Value {
        self(name)
    }
}

fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

fn from_truth(b: Option<bool>) -> Value {
    b.map(Value::Bool).unwrap_or(Value::Null)
}

/// Compares two non-null values of compatible types (ints and floats compare as numbers).
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Text(x), Value::Text(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
        (Value::Timestamp(x), Value::Timestamp(y)) => Some(x.cmp(y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Evaluates a row expression with SQL's three-valued logic.
pub fn eval(e: &TExpr, row: &dyn RowRef) -> Value {
    match &e.kind {
        TKind::Col(c) => row.get(c),
        TKind::Lit(v) => v.clone(),
        TKind::Query(_) => Value::Null,
        TKind::Neg(x) => match eval(x, row) {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            Value::Float(f) => Value::Float(-f),
            _ => Value::Null,
        },
        TKind::Not(x) => from_truth(truth(&eval(x, row)).map(|b| !b)),
        TKind::Bin(op, a, b) => {
            if *op == BinOp::And || *op == BinOp::Or {
                let (x, y) = (truth(&eval(a, row)), truth(&eval(b, row)));
                return from_truth(match op {
                    BinOp::And => match (x, y) {
                        (Some(false), _) | (_, Some(false)) => Some(false),
                        (Some(true), Some(true)) => Some(true),
                        _ => None,
                    },
                    _ => match (x, y) {
                        (Some(true), _) | (_, Some(true)) => Some(true),
                        (Some(false), Some(false)) => Some(false),
                        _ => None,
                    },
                });
            }
            let (x, y) = (eval(a, row), eval(b, row));
            if x.is_null() || y.is_null() {
                return Value::Null;
            }
            if op.is_comparison() {
                let Some(o) = compare(&x, &y) else { return Value::Null };
                return Value::Bool(match op {
                    BinOp::Eq => o == Ordering::Equal,
                    BinOp::NotEq => o != Ordering::Equal,
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::LtEq => o != Ordering::Greater,
                    BinOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                });
            }
            arith(*op, &x, &y, e.ty)
        }
        TKind::Between { expr, low, high, negated } => {
            let x = eval(expr, row);
            let ge = cmp_bool(&x, &eval(low, row), |o| o != Ordering::Less);
            let le = cmp_bool(&x, &eval(high, row), |o| o != Ordering::Greater);
            let inside = match (ge, le) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            from_truth(if *negated { inside.map(|b| !b) } else { inside })
        }
        TKind::InList { expr, list, negated } => {
            let x = eval(expr, row);
            let mut saw_null = x.is_null();
            let mut found = false;
            if !x.is_null() {
                for i in list {
                    let v = eval(i, row);
                    match compare(&x, &v) {
                        Some(Ordering::Equal) => found = true,
                        None => saw_null = true,
                        _ => {}
                    }
                }
            }
            let r = if found {
                Some(true)
            } else if saw_null {
                None
            } else {
                Some(false)
            };
            from_truth(if *negated { r.map(|b| !b) } else { r })
        }
        TKind::IsNull { expr, negated } => Value::Bool(eval(expr, row).is_null() != *negated),
        TKind::Like { expr, pattern, negated } => match (eval(expr, row), eval(pattern, row)) {
            (Value::Text(x), Value::Text(p)) => Value::Bool(like(&x, &p) != *negated),
            _ => Value::Null,
        },
        TKind::Func(f, args) => {
            let vals: Vec<Value> = args.iter().map(|a| eval(a, row)).collect();
            func(*f, &vals, e.ty)
        }
    }
}

fn cmp_bool(a: &Value, b: &Value, pred: impl Fn(Ordering) -> bool) -> Option<bool> {
    compare(a, b).map(pred)
}

pub fn arith(op: BinOp, x: &Value, y: &Value, ty: Type) -> Value {
    if ty == Type::Date {
        let shifted = match (x, y, op) {
            (Value::Date(d), Value::Int(n), BinOp::Add) | (Value::Int(n), Value::Date(d), _) => {
                (*d as i64).checked_add(*n)
            }
            (Value::Date(d), Value::Int(n), _) => (*d as i64).checked_sub(*n),
            _ => None,
        };
        return shifted.and_then(|d| i32::try_from(d).ok()).map_or(Value::Null, Value::Date);
    }
    if op == BinOp::Div {
        let (Some(a), Some(b)) = (num(x), num(y)) else { return Value::Null };
        return if b == 0.0 { Value::Null } else { Value::Float(a / b) };
    }
    if ty == Type::Int {
        let (Value::Int(a), Value::Int(b)) = (x, y) else { return Value::Null };
        return Value::Int(match op {
            BinOp::Add => a.wrapping_add(*b),
            BinOp::Sub => a.wrapping_sub(*b),
            _ => a.wrapping_mul(*b),
        });
    }
    let (Some(a), Some(b)) = (num(x), num(y)) else { return Value::Null };
    Value::Float(match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        _ => a * b,
    })
}

/// Days since 1970-01-01 of a date, or of a timestamp's date.
fn days_of(v: &Value) -> Option<i64> {
    match v {
        Value::Date(d) => Some(*d as i64),
        Value::Timestamp(t) => Some(t.div_euclid(86_400_000_000)),
        _ => None,
    }
}

/// Microseconds since 1970-01-01 of a timestamp, or of a date's midnight.
fn micros_of(v: &Value) -> Option<i64> {
    match v {
        Value::Date(d) => Some(*d as i64 * 86_400_000_000),
        Value::Timestamp(t) => Some(*t),
        _ => None,
    }
}

/// (year, month, day) of days since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// 1 = Monday ... 7 = Sunday; 1970-01-01 was a Thursday.
fn weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7) + 1
}

/// The ISO 8601 week: the week (Monday to Sunday) that holds the date's Thursday,
/// counted from the week that holds its year's first Thursday.
fn iso_week(days: i64) -> i64 {
    let thursday = days - weekday(days) + 4;
    let (year, _, _) = civil(thursday);
    let jan1 = crate::calendar::parse_date(&format!("{year:04}-01-01")).map_or(0, i64::from);
    (thursday - jan1) / 7 + 1
}

/// SQL `LIKE`: `%` any characters, `_` one character, `\` makes the next one literal
/// (a trailing `\` is itself), as Arrow's kernel reads a pattern.
fn like(text: &str, pattern: &str) -> bool {
    enum Tok {
        Any,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => Tok::Lit(it.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    let s: Vec<char> = text.chars().collect();
    // reach[i]: the pattern so far can match the first i characters.
    let mut reach = vec![false; s.len() + 1];
    reach[0] = true;
    for t in &toks {
        let mut next = vec![false; s.len() + 1];
        match t {
            Tok::Any => {
                let mut on = false;
                for i in 0..=s.len() {
                    on |= reach[i];
                    next[i] = on;
                }
            }
            Tok::One => (0..s.len()).for_each(|i| next[i + 1] = reach[i]),
            Tok::Lit(c) => (0..s.len()).for_each(|i| next[i + 1] = reach[i] && s[i] == *c),
        }
        reach = next;
    }
    reach[s.len()]
}

fn func(f: Func, v: &[Value], ty: Type) -> Value {
    let first = v.first().cloned().unwrap_or(Value::Null);
    match f {
        Func::Coalesce => {
            let x = v.iter().find(|x| !x.is_null()).cloned().unwrap_or(Value::Null);
            match (x, ty) {
                (Value::Int(i), Type::Float) => Value::Float(i as f64),
                (x, _) => x,
            }
        }
        // Unbound `today()` is unknown (the driver binds it before anything runs).
        Func::Today => Value::Null,
        _ if v.iter().any(Value::is_null) => Value::Null,
        Func::DaysBetween => match (days_of(&v[0]), days_of(&v[1])) {
            (Some(a), Some(b)) => Value::Int(b - a),
            _ => Value::Null,
        },
        Func::HoursBetween => match (micros_of(&v[0]), micros_of(&v[1])) {
            (Some(a), Some(b)) => Value::Float((b - a) as f64 / 3_600_000_000.0),
            _ => Value::Null,
        },
        Func::Quarter | Func::Day | Func::Weekday | Func::Week | Func::Date => {
            let Some(days) = days_of(&first) else { return Value::Null };
            let (_, m, d) = civil(days);
            match f {
                Func::Quarter => Value::Int((m - 1) / 3 + 1),
                Func::Day => Value::Int(d),
                Func::Weekday => Value::Int(weekday(days)),
                Func::Week => Value::Int(iso_week(days)),
                _ => i32::try_from(days).map_or(Value::Null, Value::Date),
            }
        }
        Func::StartsWith | Func::Contains => match (&v[0], &v[1]) {
            (Value::Text(x), Value::Text(p)) => Value::Bool(if f == Func::StartsWith {
                x.starts_with(p.as_str())
            } else {
                x.contains(p.as_str())
            }),
            _ => Value::Null,
        },
        Func::Substr => match (&v[0], &v[1], &v[2]) {
            // Characters at 1-based positions start .. start + len - 1 that exist.
            (Value::Text(x), Value::Int(start), Value::Int(len)) => {
                let from = (*start).max(1);
                let to = start.saturating_add((*len).max(0));
                let take = (to - from).max(0) as usize;
                Value::Text(x.chars().skip((from - 1) as usize).take(take).collect())
            }
            _ => Value::Null,
        },
        Func::Lower => match first {
            Value::Text(s) => Value::Text(s.to_lowercase()),
            _ => Value::Null,
        },
        Func::Upper => match first {
            Value::Text(s) => Value::Text(s.to_uppercase()),
            _ => Value::Null,
        },
        Func::Trim => match first {
            Value::Text(s) => Value::Text(s.trim_matches(' ').to_string()),
            _ => Value::Null,
        },
        Func::Length => match first {
            Value::Text(s) => Value::Int(s.chars().count() as i64),
            _ => Value::Null,
        },
        Func::Year | Func::Month => {
            let days = match first {
                Value::Date(d) => d as i64,
                Value::Timestamp(t) => t.div_euclid(86_400_000_000),
                _ => return Value::Null,
            };
            let s = crate::calendar::format_date(days as i32);
            let (y, m) = (
                s[..s.len() - 6].parse::<i64>().unwrap_or(0),
                s[s.len() - 5..s.len() - 3].parse::<i64>().unwrap_or(0),
            );
            Value::Int(if f == Func::Year { y } else { m })
        }
        Func::Abs => match first {
            Value::Int(i) => Value::Int(i.wrapping_abs()),
            Value::Float(x) => Value::Float(x.abs()),
            _ => Value::Null,
        },
        Func::Round => {
            let digits = match v.get(1) {
                Some(Value::Int(d)) => *d,
                Some(Value::Null) => return Value::Null,
                _ => 0,
            };
            let Some(x) = num(&first) else { return Value::Null };
            let m = 10f64.powi(digits as i32);
            let r = (x * m).round() / m;
            if ty == Type::Int {
                Value::Int(r as i64)
            } else {
                Value::Float(r)
            }
        }
    }
}

/// The label a row-level dimension gives one row (`None`: unassigned). `top` and
/// `quantiles` need the whole data set and are handled in `segment`.
pub fn row_label(d: &DimDef, row: &dyn RowRef) -> Option<String> {
    match &d.kind {
        DimKind::Column(e) => eval(e, row).label(),
        DimKind::Map { expr, arms, else_label } => {
            let x = eval(expr, row);
            if !x.is_null() {
                for a in arms {
                    if a.values.iter().any(|(v, _)| compare(&x, v) == Some(Ordering::Equal)) {
                        return Some(a.label.clone());
                    }
                }
            }
            else_label.clone()
        }
        DimKind::Rules { arms, else_label, .. } => {
            for a in arms {
                if eval(&a.cond, row) == Value::Bool(true) {
                    return Some(a.label.clone());
                }
            }
            else_label.clone()
        }
        DimKind::Bins { expr, cuts, closed_right, labels } => {
            let x = eval(expr, row);
            if x.is_null() {
                return None;
            }
            let idx = cuts
                .iter()
                .position(|c| match compare(&x, c) {
                    Some(Ordering::Less) => true,
                    Some(Ordering::Equal) => *closed_right,
                    _ => false,
                })
                .unwrap_or(cuts.len());
            labels.get(idx).cloned()
        }
        DimKind::Top { .. } | DimKind::Quantiles { .. } | DimKind::Pareto { .. } => None,
    }
}
