//! Typing of expressions: row expressions (filters, rules, dimension inputs) and
//! aggregate expressions (measures, entity features).

use super::errors;
use super::program::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use crate::syntax::ast::{self, ExprKind, Lit};

pub const FUNCTIONS: [&str; 20] = [
    "lower",
    "upper",
    "trim",
    "length",
    "year",
    "month",
    "abs",
    "round",
    "coalesce",
    "days_between",
    "hours_between",
    "quarter",
    "week",
    "weekday",
    "day",
    "date",
    "today",
    "starts_with",
    "contains",
    "substr",
];
pub const AGGREGATES: [&str; 7] = ["count", "sum", "avg", "min", "max", "median", "mode"];

pub fn lit_value(lit: &Lit) -> (Value, Type) {
    match lit {
        Lit::Int(i) => (Value::Int(*i), Type::Int),
        Lit::Float(f) | Lit::Percent(f) => (Value::Float(*f), Type::Float),
        Lit::Text(s) => (Value::Text(s.clone()), Type::Text),
        Lit::Bool(b) => (Value::Bool(*b), Type::Bool),
        Lit::Date(d) => (Value::Date(*d), Type::Date),
        Lit::Timestamp(t) => (Value::Timestamp(*t), Type::Timestamp),
        Lit::Null => (Value::Null, Type::Null),
    }
}

/// The type two operands share for comparison, if any.
pub fn unify(a: Type, b: Type) -> Option<Type> {
    use Type::*;
    match (a, b) {
        (Error, _) | (_, Error) => Some(Error),
        (Null, t) | (t, Null) => Some(t),
        (x, y) if x == y => Some(x),
        (Int, Float) | (Float, Int) => Some(Float),
        _ => None,
    }
}

fn agg_func(name: &str) -> Option<AggFunc> {
    Some(match name {
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "median" => AggFunc::Median,
        "mode" => AggFunc::Mode,
        _ => return None,
    })
}

fn func(name: &str) -> Option<Func> {
    Some(match name {
        "lower" => Func::Lower,
        "upper" => Func::Upper,
        "trim" => Func::Trim,
        "length" => Func::Length,
        "year" => Func::Year,
        "month" => Func::Month,
        "abs" => Func::Abs,
        "round" => Func::Round,
        "coalesce" => Func::Coalesce,
        "days_between" => Func::DaysBetween,
        "hours_between" => Func::HoursBetween,
        "quarter" => Func::Quarter,
        "week" => Func::Week,
        "weekday" => Func::Weekday,
        "day" => Func::Day,
        "date" => Func::Date,
        "today" => Func::Today,
        "starts_with" => Func::StartsWith,
        "contains" => Func::Contains,
        "substr" => Func::Substr,
        _ => return None,
    })
}

/// An argument a v2 function takes: what to call it in a message, and the test.
type ArgKind = (&'static str, fn(Type) -> bool);

fn is_time(t: Type) -> bool {
    matches!(t, Type::Date | Type::Timestamp)
}

fn is_text(t: Type) -> bool {
    t == Type::Text
}

fn is_int(t: Type) -> bool {
    t == Type::Int
}

/// A v2 function's arguments, for help texts.
fn signature(f: Func) -> &'static str {
    match f {
        Func::DaysBetween => "two dates or timestamps: `days_between(first_buy, today())`",
        Func::HoursBetween => "two timestamps: `hours_between(landed_at, departed_at)`",
        Func::Quarter | Func::Week | Func::Weekday | Func::Day => "a date or a timestamp",
        Func::Date => "a timestamp: `date(created_at)`",
        Func::StartsWith | Func::Contains => "a text and the text to look for",
        Func::Substr => "a text, a 1-based start and a length: `substr(code, 1, 3)`",
        _ => "its documented arguments",
    }
}

/// Types row expressions against the columns in scope.
pub struct RowTyper<'a> {
    pub cols: &'a [Column],
    /// For messages: "market `coffee`", "entity `customer`".
    pub scope: String,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl RowTyper<'_> {
    fn err(&mut self, d: Diagnostic) -> Type {
        self.diags.push(d);
        Type::Error
    }

    pub fn expect_bool(&mut self, e: &ast::Expr, what: &str) -> TExpr {
        let t = self.expr(e);
        if !matches!(t.ty, Type::Bool | Type::Null | Type::Error) {
            self.diags.push(errors::mismatch(
                t.span,
                "a condition (bool)",
                t.ty,
                &format!("{what} must be true or false for each row, e.g. `revenue > 0`"),
            ));
        }
        t
    }

    pub fn expr(&mut self, e: &ast::Expr) -> TExpr {
        let span = e.span;
        let (kind, ty) = match &e.kind {
            ExprKind::Lit(l) => {
                let (v, t) = lit_value(l);
                (TKind::Lit(v), t)
            }
            ExprKind::Name(id) => match self.cols.iter().find(|c| c.name == id.name) {
                Some(c) => (TKind::Col(c.name.clone()), c.ty),
                None => {
                    // A bare name that several joined sources have is left out of the
                    // row's columns: say so, with the qualified names to choose from.
                    let suffix = format!(".{}", id.name);
                    let qualified: Vec<String> = self
                        .cols
                        .iter()
                        .filter(|c| c.name.ends_with(&suffix))
                        .map(|c| c.name.clone())
                        .collect();
                    let d = if qualified.len() > 1 {
                        errors::ambiguous_column(id.span, &id.name, &qualified)
                    } else {
                        let cands: Vec<&str> = self.cols.iter().map(|c| c.name.as_str()).collect();
                        errors::unknown_column(id.span, &id.name, &self.scope, cands)
                    };
                    (TKind::Col(id.name.clone()), self.err(d))
                }
            },
            ExprKind::Neg(inner) => {
                let x = self.expr(inner);
                let ty = match x.ty {
                    Type::Int | Type::Float | Type::Error | Type::Null => x.ty,
                    t => self.err(errors::mismatch(
                        x.span,
                        "a number",
                        t,
                        "only numbers can be negated",
                    )),
                };
                (TKind::Neg(Box::new(x)), ty)
            }
            ExprKind::Not(inner) => {
                let x = self.expect_bool(inner, "the operand of `not`");
                (TKind::Not(Box::new(x)), Type::Bool)
            }
            ExprKind::Binary { op, op_span, lhs, rhs } => {
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                let ty = self.binary(*op, *op_span, &a, &b);
                (TKind::Bin(*op, Box::new(a), Box::new(b)), ty)
            }
            ExprKind::Between { expr, low, high, negated } => {
                let x = self.expr(expr);
                let lo = self.expr(low);
                let hi = self.expr(high);
                for bound in [&lo, &hi] {
                    self.comparable(span, "between", &x, bound, true);
                }
                (
                    TKind::Between {
                        expr: Box::new(x),
                        low: Box::new(lo),
                        high: Box::new(hi),
                        negated: *negated,
                    },
                    Type::Bool,
                )
            }
            ExprKind::InList { expr, list, negated } => {
                let x = self.expr(expr);
                let items: Vec<TExpr> = list.iter().map(|i| self.expr(i)).collect();
                for i in &items {
                    self.comparable(i.span, "in", &x, i, false);
                }
                (TKind::InList { expr: Box::new(x), list: items, negated: *negated }, Type::Bool)
            }
            ExprKind::IsNull { expr, negated } => {
                let x = self.expr(expr);
                (TKind::IsNull { expr: Box::new(x), negated: *negated }, Type::Bool)
            }
            ExprKind::Like { expr, pattern, negated } => {
                let x = self.expr(expr);
                let p = self.expr(pattern);
                for t in [&x, &p] {
                    if !matches!(t.ty, Type::Text | Type::Null | Type::Error) {
                        self.diags.push(errors::mismatch(
                            t.span,
                            "text",
                            t.ty,
                            "`like` matches text against a pattern, e.g. `name like \"caf%\"`",
                        ));
                    }
                }
                let (expr, pattern) = (Box::new(x), Box::new(p));
                (TKind::Like { expr, pattern, negated: *negated }, Type::Bool)
            }
            ExprKind::Call { func: f, distinct, args, filter } => {
                if agg_func(&f.name).is_some() {
                    let ty = self.err(errors::aggregate_in_row(f.span, &f.name));
                    (TKind::Lit(Value::Null), ty)
                } else if let Some(w) = filter {
                    let ty = self.err(errors::filter_outside_aggregate(w.span, &f.name));
                    (TKind::Lit(Value::Null), ty)
                } else if *distinct {
                    let ty = self.err(errors::distinct_misuse(f.span));
                    (TKind::Lit(Value::Null), ty)
                } else {
                    let typed: Vec<TExpr> = args.iter().map(|a| self.expr(a)).collect();
                    self.call(f, span, typed)
                }
            }
        };
        TExpr { kind, ty, span }
    }

    fn call(&mut self, f: &ast::Ident, span: Span, args: Vec<TExpr>) -> (TKind, Type) {
        let Some(func) = func(&f.name) else {
            let mut cands: Vec<&str> = FUNCTIONS.to_vec();
            cands.extend(AGGREGATES);
            let ty = self.err(errors::unknown_function(f.span, &f.name, cands));
            return (TKind::Lit(Value::Null), ty);
        };
        let n = args.len();
        let arity_ok = match func {
            Func::Coalesce => n >= 1,
            Func::Round => n == 1 || n == 2,
            Func::Today => n == 0,
            Func::DaysBetween | Func::HoursBetween | Func::StartsWith | Func::Contains => n == 2,
            Func::Substr => n == 3,
            _ => n == 1,
        };
        if !arity_ok {
            let expected = match func {
                Func::Coalesce => "one or more arguments",
                Func::Round => "one or two arguments",
                Func::Today => "no arguments",
                Func::DaysBetween | Func::HoursBetween | Func::StartsWith | Func::Contains => {
                    "two arguments"
                }
                Func::Substr => "three arguments (text, start, length)",
                _ => "one argument",
            };
            let ty = self.err(errors::arity(span, &f.name, expected, n));
            return (TKind::Func(func, args), ty);
        }
        if func == Func::Today {
            return (TKind::Func(func, args), Type::Date);
        }
        // The v2 functions take fixed argument types: check each, then the result.
        let sig: Option<(&[ArgKind], Type)> = match func {
            Func::DaysBetween => Some((&[("a date", is_time), ("a date", is_time)], Type::Int)),
            Func::HoursBetween => Some((&[("a date", is_time), ("a date", is_time)], Type::Float)),
            Func::Quarter | Func::Week | Func::Weekday | Func::Day => {
                Some((&[("a date", is_time)], Type::Int))
            }
            Func::Date => Some((&[("a date or timestamp", is_time)], Type::Date)),
            Func::StartsWith | Func::Contains => {
                Some((&[("text", is_text), ("text", is_text)], Type::Bool))
            }
            Func::Substr => {
                Some((&[("text", is_text), ("an int", is_int), ("an int", is_int)], Type::Text))
            }
            _ => None,
        };
        if let Some((want, result)) = sig {
            let mut ok = true;
            for (a, (what, fits)) in args.iter().zip(want) {
                if !fits(a.ty) && !matches!(a.ty, Type::Error | Type::Null) {
                    self.diags.push(errors::mismatch(
                        a.span,
                        what,
                        a.ty,
                        &format!("`{}` takes {}", f.name, signature(func)),
                    ));
                    ok = false;
                }
                ok &= a.ty != Type::Error;
            }
            return (TKind::Func(func, args), if ok { result } else { Type::Error });
        }
        let first = args[0].ty;
        let want = |ok: bool, what: &str, this: &mut Self| -> bool {
            if ok || matches!(first, Type::Error | Type::Null) {
                true
            } else {
                this.diags.push(errors::mismatch(
                    args[0].span,
                    what,
                    first,
                    &format!("`{}` works on {what}", f.name),
                ));
                false
            }
        };
        let ty = match func {
            Func::Lower | Func::Upper | Func::Trim => {
                if want(first == Type::Text, "text", self) {
                    Type::Text
                } else {
                    Type::Error
                }
            }
            Func::Length => {
                if want(first == Type::Text, "text", self) {
                    Type::Int
                } else {
                    Type::Error
                }
            }
            Func::Year | Func::Month => {
                if want(matches!(first, Type::Date | Type::Timestamp), "a date", self) {
                    Type::Int
                } else {
                    Type::Error
                }
            }
            Func::Abs => {
                if want(first.is_numeric(), "a number", self) {
                    first
                } else {
                    Type::Error
                }
            }
            Func::Round => {
                if want(first.is_numeric(), "a number", self) {
                    if let Some(d) = args.get(1) {
                        if !matches!(d.ty, Type::Int | Type::Error) {
                            self.diags.push(errors::mismatch(
                                d.span,
                                "a whole number of digits",
                                d.ty,
                                "write `round(x, 2)`",
                            ));
                        }
                    }
                    first
                } else {
                    Type::Error
                }
            }
            Func::Coalesce => {
                let mut t = Type::Null;
                for a in &args {
                    match unify(t, a.ty) {
                        Some(u) => t = u,
                        None => {
                            self.diags.push(errors::mismatch(
                                a.span,
                                &format!("{t}"),
                                a.ty,
                                "every argument of `coalesce` must have the same type",
                            ));
                            t = Type::Error;
                            break;
                        }
                    }
                }
                t
            }
            // Handled above, with their signatures.
            Func::DaysBetween
            | Func::HoursBetween
            | Func::Quarter
            | Func::Week
            | Func::Weekday
            | Func::Day
            | Func::Date
            | Func::Today
            | Func::StartsWith
            | Func::Contains
            | Func::Substr => Type::Error,
        };
        (TKind::Func(func, args), ty)
    }

    /// Checks that `b` can be compared with `a`; `ordered` asks for `<`-style order.
    fn comparable(&mut self, op_span: Span, op: &str, a: &TExpr, b: &TExpr, ordered: bool) -> bool {
        match unify(a.ty, b.ty) {
            Some(Type::Error) => false,
            Some(t) => {
                if ordered && t == Type::Bool {
                    self.diags.push(errors::operands(
                        op_span,
                        op,
                        (a.span, a.ty),
                        (b.span, b.ty),
                        "true and false have no order; compare with `=` or `!=`",
                    ));
                    return false;
                }
                true
            }
            None => {
                let help = match (a.ty, b.ty) {
                    (Type::Date, Type::Text) | (Type::Text, Type::Date) => {
                        "write dates without quotes: `order_date >= 2024-01-01`".to_string()
                    }
                    (x, Type::Text) if x.is_numeric() => {
                        "write numbers without quotes: `age > 30`".to_string()
                    }
                    (Type::Text, y) if y.is_numeric() => {
                        "write numbers without quotes: `age > 30`".to_string()
                    }
                    (x, y) => format!("compare values of one type; {x} and {y} do not mix"),
                };
                self.diags.push(errors::operands(
                    op_span,
                    op,
                    (a.span, a.ty),
                    (b.span, b.ty),
                    &help,
                ));
                false
            }
        }
    }

    fn binary(&mut self, op: ast::BinOp, op_span: Span, a: &TExpr, b: &TExpr) -> Type {
        use ast::BinOp::*;
        if a.ty == Type::Error || b.ty == Type::Error {
            return if op.is_arithmetic() { Type::Error } else { Type::Bool };
        }
        match op {
            And | Or => {
                for x in [a, b] {
                    if !matches!(x.ty, Type::Bool | Type::Null) {
                        self.diags.push(errors::mismatch(
                            x.span,
                            "a condition (bool)",
                            x.ty,
                            &format!(
                                "both sides of `{}` must be conditions, e.g. `age > 30`",
                                op.symbol()
                            ),
                        ));
                    }
                }
                Type::Bool
            }
            Eq | NotEq | Lt | LtEq | Gt | GtEq => {
                self.comparable(op_span, op.symbol(), a, b, !matches!(op, Eq | NotEq));
                Type::Bool
            }
            // A date moves by whole days: `order_date + 30`, `today() - 7`.
            Add | Sub if a.ty == Type::Date && matches!(b.ty, Type::Int | Type::Null) => Type::Date,
            Add if b.ty == Type::Date && matches!(a.ty, Type::Int | Type::Null) => Type::Date,
            Add | Sub | Mul | Div => {
                let num = |t: Type| t.is_numeric() || t == Type::Null;
                if !num(a.ty) || !num(b.ty) {
                    self.diags.push(errors::operands(
                        op_span,
                        op.symbol(),
                        (a.span, a.ty),
                        (b.span, b.ty),
                        "arithmetic works on numbers only",
                    ));
                    return Type::Error;
                }
                if op == Div || a.ty == Type::Float || b.ty == Type::Float {
                    Type::Float
                } else {
                    Type::Int
                }
            }
        }
    }
}

/// How an aggregate scope resolves a bare name: to a sibling measure / feature.
pub trait AggNames {
    /// The index and type of a sibling, resolving it (and finding cycles) on demand.
    fn sibling(&mut self, name: &str, span: Span) -> Option<(usize, Type)>;
    fn sibling_names(&self) -> Vec<String>;
}

pub struct AggTyper<'a> {
    pub cols: &'a [Column],
    pub scope: String,
    /// "market `coffee`" or "entity `customer`", for unknown-measure messages.
    pub owner: String,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl AggTyper<'_> {
    /// A row expression inside an aggregate (its argument or its `where`). A nested
    /// aggregate reads better as E0306 than as "aggregate in a row expression".
    fn row_expr(&mut self, x: &ast::Expr, outer: Span) -> TExpr {
        let mut row_diags = Vec::new();
        let t =
            RowTyper { cols: self.cols, scope: self.scope.clone(), diags: &mut row_diags }.expr(x);
        for d in row_diags {
            if d.code == Code::E0303 {
                self.diags.push(errors::nested_aggregate(d.primary_span().unwrap_or(outer)));
            } else {
                self.diags.push(d);
            }
        }
        t
    }

    pub fn expr(&mut self, e: &ast::Expr, names: &mut dyn AggNames) -> (MExpr, Type) {
        match &e.kind {
            ExprKind::Lit(l) => {
                let (v, t) = lit_value(l);
                if !matches!(t, Type::Int | Type::Float) {
                    self.diags.push(errors::mismatch(
                        e.span,
                        "a number",
                        t,
                        "a measure combines numbers",
                    ));
                    return (MExpr::Lit(v), Type::Error);
                }
                (MExpr::Lit(v), t)
            }
            ExprKind::Name(id) => {
                if let Some((i, t)) = names.sibling(&id.name, id.span) {
                    return (MExpr::Ref(i, t), t);
                }
                if id.name == "rows" {
                    return (
                        MExpr::Agg(Agg {
                            func: AggFunc::Count,
                            distinct: false,
                            arg: None,
                            filter: None,
                            ty: Type::Int,
                        }),
                        Type::Int,
                    );
                }
                if self.cols.iter().any(|c| c.name == id.name) {
                    self.diags.push(errors::column_in_aggregate_scope(id.span, &id.name));
                } else {
                    let sibs = names.sibling_names();
                    let mut cands: Vec<&str> = sibs.iter().map(|s| s.as_str()).collect();
                    cands.push("rows");
                    self.diags.push(errors::unknown_measure(id.span, &id.name, &self.owner, cands));
                }
                (MExpr::Lit(Value::Null), Type::Error)
            }
            ExprKind::Neg(inner) => {
                let (x, t) = self.expr(inner, names);
                (MExpr::Neg(Box::new(x), t), t)
            }
            ExprKind::Binary { op, op_span, lhs, rhs } if op.is_arithmetic() => {
                let (a, ta) = self.expr(lhs, names);
                let (b, tb) = self.expr(rhs, names);
                let ty = if ta == Type::Error || tb == Type::Error {
                    Type::Error
                } else if !ta.is_numeric() || !tb.is_numeric() {
                    self.diags.push(errors::operands(
                        *op_span,
                        op.symbol(),
                        (lhs.span, ta),
                        (rhs.span, tb),
                        "arithmetic works on numbers only",
                    ));
                    Type::Error
                } else if *op == ast::BinOp::Div || ta == Type::Float || tb == Type::Float {
                    Type::Float
                } else {
                    Type::Int
                };
                (MExpr::Bin(*op, Box::new(a), Box::new(b), ty), ty)
            }
            ExprKind::Call { func: f, distinct, args, filter } if agg_func(&f.name).is_some() => {
                let func = agg_func(&f.name).unwrap_or(AggFunc::Count);
                if *distinct && func != AggFunc::Count {
                    self.diags.push(errors::distinct_misuse(f.span));
                    return (MExpr::Lit(Value::Null), Type::Error);
                }
                let arg = match (func, args.len()) {
                    (AggFunc::Count, 0) if !*distinct => None,
                    (_, 1) => {
                        let t = self.row_expr(&args[0], e.span);
                        // `count(flag)` counts non-null values, as in v1; the reader
                        // almost always meant the rows where it holds.
                        if func == AggFunc::Count && !*distinct && t.ty == Type::Bool {
                            self.diags.push(errors::count_of_condition(t.span));
                        }
                        Some(t)
                    }
                    (_, n) => {
                        let expected = if func == AggFunc::Count {
                            "zero or one argument"
                        } else {
                            "one argument"
                        };
                        self.diags.push(errors::arity(e.span, &f.name, expected, n));
                        return (MExpr::Lit(Value::Null), Type::Error);
                    }
                };
                let at = arg.as_ref().map(|a| a.ty).unwrap_or(Type::Int);
                let ty = match func {
                    AggFunc::Count => Type::Int,
                    _ if at == Type::Error => Type::Error,
                    AggFunc::Sum if at.is_numeric() => at,
                    AggFunc::Avg | AggFunc::Median if at.is_numeric() => Type::Float,
                    // Any value has a most frequent one; a bare null has no type.
                    AggFunc::Mode if at != Type::Null => at,
                    AggFunc::Min | AggFunc::Max if at.is_ordered() || at == Type::Text => at,
                    _ => {
                        let span = arg.as_ref().map(|a| a.span).unwrap_or(e.span);
                        self.diags.push(errors::mismatch(
                            span,
                            "a number",
                            at,
                            &format!(
                                "`{}` adds up numbers; to count values use `count(...)`",
                                f.name
                            ),
                        ));
                        Type::Error
                    }
                };
                let filter = filter.as_ref().map(|w| {
                    let t = self.row_expr(w, e.span);
                    if !matches!(t.ty, Type::Bool | Type::Null | Type::Error) {
                        self.diags.push(errors::mismatch(
                            t.span,
                            "a condition (bool)",
                            t.ty,
                            "an aggregate's `where` keeps the rows where it holds, e.g. `count(where age < 30)`",
                        ));
                    }
                    t
                });
                (MExpr::Agg(Agg { func, distinct: *distinct, arg, filter, ty }), ty)
            }
            _ => {
                self.diags.push(errors::not_a_measure(e.span));
                (MExpr::Lit(Value::Null), Type::Error)
            }
        }
    }
}
