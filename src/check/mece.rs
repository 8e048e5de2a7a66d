//! Rule analysis: proves dimensions MECE, or finds shadowed rules, overlaps and gaps
//! with a concrete witness row.
//!
//! A condition becomes a pair of sets of rows (where it is true, where it is false),
//! each a union of boxes. A box constrains each column to an interval set (numbers and
//! dates; integers exactly), a finite or co-finite set (text) or a subset of
//! {true, false} (bools), each with or without null. Atoms outside this fragment
//! (arithmetic, functions, column against column) become opaque boolean variables:
//! emptiness stays exact (a real row maps to one point of the larger space), but a
//! witness that depends on an opaque variable proves nothing, so no claim is made.

use super::program::*;
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use std::collections::{BTreeMap, BTreeSet};

/// Past this many boxes in one set the analysis gives up on that dimension.
const MAX_BOXES: usize = 5_000;

/// Work one dimension may cost before the analysis gives up (N0429): a step per
/// pair of boxes compared, and per column of each box built (what a clone costs). The box count alone does not bound the work: 14 two-way disjunctions
/// stay under `MAX_BOXES` yet took minutes to complement. The budget runs out in
/// about a quarter of a second in a release build; a 1,000-rule dimension of ranges
/// needs a small fraction of it.
const MAX_STEPS: u64 = 2_000_000;

#[derive(Debug)]
struct Unknown;

type R<T> = Result<T, Unknown>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
    Bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Iv {
    lo: f64,
    lo_in: bool,
    hi: f64,
    hi_in: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Vals {
    /// Sorted, disjoint; integer columns hold closed integer intervals only.
    Num(Vec<Iv>),
    /// `finite`: exactly these values; otherwise every value but these.
    Text { finite: bool, set: BTreeSet<String> },
    /// Bit 1: false, bit 2: true.
    Bool(u8),
}

#[derive(Clone, Debug, PartialEq)]
struct ColSet {
    null: bool,
    vals: Vals,
}

fn full_iv() -> Iv {
    Iv { lo: f64::NEG_INFINITY, lo_in: false, hi: f64::INFINITY, hi_in: false }
}

fn iv_empty(i: &Iv) -> bool {
    i.lo > i.hi || (i.lo == i.hi && !(i.lo_in && i.hi_in))
}

/// Integer normalisation: closed bounds at whole numbers.
fn int_iv(i: Iv) -> Option<Iv> {
    let lo = if i.lo.is_infinite() {
        i.lo
    } else if i.lo_in {
        i.lo.ceil()
    } else {
        i.lo.floor() + 1.0
    };
    let hi = if i.hi.is_infinite() {
        i.hi
    } else if i.hi_in {
        i.hi.floor()
    } else {
        i.hi.ceil() - 1.0
    };
    let r = Iv { lo, lo_in: lo.is_finite(), hi, hi_in: hi.is_finite() };
    (!iv_empty(&r)).then_some(r)
}

fn normalize(kind: Kind, mut ivs: Vec<Iv>) -> Vec<Iv> {
    if kind == Kind::Int {
        ivs = ivs.into_iter().filter_map(int_iv).collect();
    } else {
        ivs.retain(|i| !iv_empty(i));
    }
    ivs.sort_by(|a, b| a.lo.total_cmp(&b.lo).then(b.lo_in.cmp(&a.lo_in)));
    let mut out: Vec<Iv> = Vec::new();
    for i in ivs {
        if let Some(last) = out.last_mut() {
            let touches = if kind == Kind::Int {
                last.hi.is_infinite() || i.lo <= last.hi + 1.0
            } else {
                i.lo < last.hi || (i.lo == last.hi && (i.lo_in || last.hi_in))
            };
            if touches {
                if i.hi > last.hi || (i.hi == last.hi && i.hi_in) {
                    last.hi = i.hi;
                    last.hi_in = i.hi_in;
                }
                continue;
            }
        }
        out.push(i);
    }
    out
}

fn iv_intersect(a: &[Iv], b: &[Iv], kind: Kind) -> Vec<Iv> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let (lo, lo_in) = if x.lo > y.lo {
                (x.lo, x.lo_in)
            } else if y.lo > x.lo {
                (y.lo, y.lo_in)
            } else {
                (x.lo, x.lo_in && y.lo_in)
            };
            let (hi, hi_in) = if x.hi < y.hi {
                (x.hi, x.hi_in)
            } else if y.hi < x.hi {
                (y.hi, y.hi_in)
            } else {
                (x.hi, x.hi_in && y.hi_in)
            };
            out.push(Iv { lo, lo_in, hi, hi_in });
        }
    }
    normalize(kind, out)
}

fn iv_complement(a: &[Iv], kind: Kind) -> Vec<Iv> {
    let mut out = Vec::new();
    let mut cur = Iv { lo: f64::NEG_INFINITY, lo_in: false, hi: 0.0, hi_in: false };
    for i in a {
        cur.hi = i.lo;
        cur.hi_in = !i.lo_in;
        out.push(cur);
        cur = Iv { lo: i.hi, lo_in: !i.hi_in, hi: 0.0, hi_in: false };
    }
    cur.hi = f64::INFINITY;
    cur.hi_in = false;
    out.push(cur);
    normalize(kind, out)
}

impl ColSet {
    fn full(kind: Kind) -> ColSet {
        ColSet { null: true, vals: ColSet::all_values(kind) }
    }

    fn all_values(kind: Kind) -> Vals {
        match kind {
            Kind::Int | Kind::Real => Vals::Num(vec![full_iv()]),
            Kind::Text => Vals::Text { finite: false, set: BTreeSet::new() },
            Kind::Bool => Vals::Bool(3),
        }
    }

    fn no_values(kind: Kind) -> Vals {
        match kind {
            Kind::Int | Kind::Real => Vals::Num(Vec::new()),
            Kind::Text => Vals::Text { finite: true, set: BTreeSet::new() },
            Kind::Bool => Vals::Bool(0),
        }
    }

    fn values_empty(&self) -> bool {
        match &self.vals {
            Vals::Num(v) => v.is_empty(),
            Vals::Text { finite, set } => *finite && set.is_empty(),
            Vals::Bool(b) => *b == 0,
        }
    }

    fn is_empty(&self) -> bool {
        !self.null && self.values_empty()
    }

    fn is_full(&self, kind: Kind) -> bool {
        self.null && self.vals == ColSet::all_values(kind)
    }

    fn intersect(&self, o: &ColSet, kind: Kind) -> ColSet {
        let vals = match (&self.vals, &o.vals) {
            (Vals::Num(a), Vals::Num(b)) => Vals::Num(iv_intersect(a, b, kind)),
            (Vals::Text { finite: fa, set: a }, Vals::Text { finite: fb, set: b }) => {
                match (fa, fb) {
                    (true, true) => {
                        Vals::Text { finite: true, set: a.intersection(b).cloned().collect() }
                    }
                    (true, false) => {
                        Vals::Text { finite: true, set: a.difference(b).cloned().collect() }
                    }
                    (false, true) => {
                        Vals::Text { finite: true, set: b.difference(a).cloned().collect() }
                    }
                    (false, false) => {
                        Vals::Text { finite: false, set: a.union(b).cloned().collect() }
                    }
                }
            }
            (Vals::Bool(a), Vals::Bool(b)) => Vals::Bool(a & b),
            _ => ColSet::no_values(kind),
        };
        ColSet { null: self.null && o.null, vals }
    }

    fn complement(&self, kind: Kind) -> ColSet {
        let vals = match &self.vals {
            Vals::Num(a) => Vals::Num(iv_complement(a, kind)),
            Vals::Text { finite, set } => Vals::Text { finite: !finite, set: set.clone() },
            Vals::Bool(b) => Vals::Bool(3 & !b),
        };
        ColSet { null: !self.null, vals }
    }
}

fn col_meets(x: &ColSet, y: &ColSet, kind: Kind) -> bool {
    if x.null && y.null {
        return true;
    }
    match (&x.vals, &y.vals) {
        (Vals::Num(a), Vals::Num(b)) => a.iter().any(|i| {
            b.iter().any(|j| {
                let (lo, lo_in) = if i.lo > j.lo {
                    (i.lo, i.lo_in)
                } else if j.lo > i.lo {
                    (j.lo, j.lo_in)
                } else {
                    (i.lo, i.lo_in && j.lo_in)
                };
                let (hi, hi_in) = if i.hi < j.hi {
                    (i.hi, i.hi_in)
                } else if j.hi < i.hi {
                    (j.hi, j.hi_in)
                } else {
                    (i.hi, i.hi_in && j.hi_in)
                };
                let iv = Iv { lo, lo_in, hi, hi_in };
                if kind == Kind::Int {
                    int_iv(iv).is_some()
                } else {
                    !iv_empty(&iv)
                }
            })
        }),
        (Vals::Text { finite: fa, set: a }, Vals::Text { finite: fb, set: b }) => match (fa, fb) {
            (true, true) => a.iter().any(|v| b.contains(v)),
            (true, false) => a.iter().any(|v| !b.contains(v)),
            (false, true) => b.iter().any(|v| !a.contains(v)),
            (false, false) => true,
        },
        (Vals::Bool(a), Vals::Bool(b)) => a & b != 0,
        _ => false,
    }
}

/// One conjunction of column constraints; an absent variable is unconstrained.
type Cube = BTreeMap<usize, ColSet>;

#[derive(Clone, Debug, Default)]
struct Set {
    boxes: Vec<Cube>,
}

struct Var {
    name: String,
    kind: Kind,
    opaque: bool,
}

struct Space {
    vars: Vec<Var>,
    /// Box operations so far, against `MAX_STEPS`.
    steps: std::cell::Cell<u64>,
}

impl Space {
    fn new() -> Space {
        Space { vars: Vec::new(), steps: std::cell::Cell::new(0) }
    }

    /// Charges `n` box operations; past the budget every further operation fails.
    fn tick(&self, n: usize) -> R<()> {
        let s = self.steps.get() + n as u64;
        self.steps.set(s);
        if s > MAX_STEPS {
            Err(Unknown)
        } else {
            Ok(())
        }
    }

    fn var(&mut self, name: &str, kind: Kind, opaque: bool, _span: Span) -> usize {
        if let Some(i) = self.vars.iter().position(|v| v.name == name && v.opaque == opaque) {
            return i;
        }
        self.vars.push(Var { name: name.to_string(), kind, opaque });
        self.vars.len() - 1
    }

    fn full(&self) -> Set {
        Set { boxes: vec![Cube::new()] }
    }

    fn single(&self, v: usize, c: ColSet) -> Set {
        if c.is_empty() {
            return Set::default();
        }
        let mut b = Cube::new();
        if !c.is_full(self.vars[v].kind) {
            b.insert(v, c);
        }
        Set { boxes: vec![b] }
    }

    /// Whether two boxes share a point, without building their intersection: the
    /// analysis asks this far more often than it needs the intersection itself.
    fn meets(&self, a: &Cube, b: &Cube) -> bool {
        b.iter().all(|(v, c)| match a.get(v) {
            Some(x) => col_meets(x, c, self.vars[*v].kind),
            None => !c.is_empty(),
        })
    }

    fn box_intersect(&self, a: &Cube, b: &Cube) -> Option<Cube> {
        if !self.meets(a, b) {
            return None;
        }
        let mut out = a.clone();
        for (v, c) in b {
            let merged = match out.get(v) {
                Some(x) => x.intersect(c, self.vars[*v].kind),
                None => c.clone(),
            };
            if merged.is_empty() {
                return None;
            }
            out.insert(*v, merged);
        }
        Some(out)
    }

    fn intersect(&self, a: &Set, b: &Set) -> R<Set> {
        let mut out = Vec::new();
        for x in &a.boxes {
            self.tick(b.boxes.len())?;
            for y in &b.boxes {
                if let Some(z) = self.box_intersect(x, y) {
                    self.tick(z.len())?;
                    out.push(z);
                }
            }
            if out.len() > MAX_BOXES {
                return Err(Unknown);
            }
        }
        Ok(Set { boxes: out })
    }

    /// `a ∪= b` in place (no copy of `a`: the rule loops grow a union rule by rule).
    fn extend(&self, a: &mut Set, b: &Set) -> R<()> {
        self.tick(b.boxes.len())?;
        a.boxes.extend(b.boxes.iter().cloned());
        if a.boxes.len() > MAX_BOXES {
            return Err(Unknown);
        }
        Ok(())
    }

    fn union(&self, a: &Set, b: &Set) -> R<Set> {
        self.tick(a.boxes.len() + b.boxes.len())?;
        let mut boxes = a.boxes.clone();
        boxes.extend(b.boxes.iter().cloned());
        if boxes.len() > MAX_BOXES {
            return Err(Unknown);
        }
        Ok(Set { boxes })
    }

    /// `a \ b` for single boxes: peel `b` off one variable at a time.
    fn box_minus(&self, a: &Cube, b: &Cube, out: &mut Vec<Cube>) {
        if !self.meets(a, b) {
            out.push(a.clone());
            return;
        }
        let mut rest = a.clone();
        for (v, c) in b {
            let kind = self.vars[*v].kind;
            let cur = rest.get(v).cloned().unwrap_or_else(|| ColSet::full(kind));
            let outside = cur.intersect(&c.complement(kind), kind);
            if !outside.is_empty() {
                let mut piece = rest.clone();
                piece.insert(*v, outside);
                out.push(piece);
            }
            let inside = cur.intersect(c, kind);
            if inside.is_empty() {
                return;
            }
            rest.insert(*v, inside);
        }
    }

    fn minus(&self, a: &Set, b: &Set) -> R<Set> {
        let mut cur = a.boxes.clone();
        for bb in &b.boxes {
            self.tick(cur.len())?;
            let mut next = Vec::new();
            for ab in &cur {
                self.box_minus(ab, bb, &mut next);
            }
            if next.len() > MAX_BOXES {
                return Err(Unknown);
            }
            self.tick(next.iter().map(|c| c.len()).sum())?;
            cur = next;
            if cur.is_empty() {
                break;
            }
        }
        Ok(Set { boxes: cur })
    }

    fn kind_of(ty: Type) -> Option<Kind> {
        Some(match ty {
            Type::Int | Type::Date | Type::Timestamp => Kind::Int,
            Type::Float => Kind::Real,
            Type::Text => Kind::Text,
            Type::Bool => Kind::Bool,
            _ => return None,
        })
    }

    /// A constant as a number (dates and timestamps as their integer encodings).
    fn number(v: &Value) -> Option<f64> {
        v.as_f64()
    }

    fn opaque(&mut self, e: &TExpr) -> (Set, Set) {
        let v = self.var(&format!("{:?}", e.kind), Kind::Bool, true, e.span);
        (
            self.single(v, ColSet { null: false, vals: Vals::Bool(2) }),
            self.single(v, ColSet { null: false, vals: Vals::Bool(1) }),
        )
    }

    /// The sets where `e` is true and where it is false.
    fn cond(&mut self, e: &TExpr) -> R<(Set, Set)> {
        Ok(match &e.kind {
            TKind::Lit(Value::Bool(true)) => (self.full(), Set::default()),
            TKind::Lit(Value::Bool(false)) => (Set::default(), self.full()),
            TKind::Lit(_) => (Set::default(), Set::default()),
            TKind::Col(c) if e.ty == Type::Bool => {
                let v = self.var(c, Kind::Bool, false, e.span);
                (
                    self.single(v, ColSet { null: false, vals: Vals::Bool(2) }),
                    self.single(v, ColSet { null: false, vals: Vals::Bool(1) }),
                )
            }
            TKind::Not(x) => {
                let (t, f) = self.cond(x)?;
                (f, t)
            }
            TKind::Bin(BinOp::And, a, b) => {
                let (ta, fa) = self.cond(a)?;
                let (tb, fb) = self.cond(b)?;
                (self.intersect(&ta, &tb)?, self.union(&fa, &fb)?)
            }
            TKind::Bin(BinOp::Or, a, b) => {
                let (ta, fa) = self.cond(a)?;
                let (tb, fb) = self.cond(b)?;
                (self.union(&ta, &tb)?, self.intersect(&fa, &fb)?)
            }
            TKind::Bin(op, a, b) if op.is_comparison() => {
                match (column_of(a), constant_of(b), column_of(b), constant_of(a)) {
                    (Some(c), Some(k), _, _) => self.atom(e, c, a.ty, *op, &k),
                    (_, _, Some(c), Some(k)) => self.atom(e, c, b.ty, flip(*op), &k),
                    _ => self.opaque(e),
                }
            }
            TKind::Between { expr, low, high, negated } => {
                match (column_of(expr), constant_of(low), constant_of(high)) {
                    (Some(c), Some(lo), Some(hi)) => {
                        let (t1, f1) = self.atom(e, c, expr.ty, BinOp::GtEq, &lo);
                        let (t2, f2) = self.atom(e, c, expr.ty, BinOp::LtEq, &hi);
                        let t = self.intersect(&t1, &t2)?;
                        let f = self.union(&f1, &f2)?;
                        if *negated {
                            (f, t)
                        } else {
                            (t, f)
                        }
                    }
                    _ => self.opaque(e),
                }
            }
            TKind::InList { expr, list, negated } => {
                let Some(c) = column_of(expr) else { return Ok(self.opaque(e)) };
                let consts: Option<Vec<Value>> = list.iter().map(constant_of).collect();
                let Some(consts) = consts else { return Ok(self.opaque(e)) };
                let has_null = consts.iter().any(|v| v.is_null());
                let mut t = Set::default();
                let mut f = Set::default();
                let mut first = true;
                for k in consts.iter().filter(|v| !v.is_null()) {
                    let (ti, fi) = self.atom(e, c, expr.ty, BinOp::Eq, k);
                    t = self.union(&t, &ti)?;
                    f = if first { fi } else { self.intersect(&f, &fi)? };
                    first = false;
                }
                if first {
                    // An empty (or all-null) list: never true; false for non-null values.
                    let Some(kind) = Self::kind_of(expr.ty) else { return Ok(self.opaque(e)) };
                    let v = self.var(c, kind, false, e.span);
                    f = self.single(v, ColSet { null: false, vals: ColSet::all_values(kind) });
                }
                if has_null {
                    // `x in (.., null)` is never false.
                    f = Set::default();
                }
                if *negated {
                    (f, t)
                } else {
                    (t, f)
                }
            }
            TKind::IsNull { expr, negated } => match (column_of(expr), Self::kind_of(expr.ty)) {
                (Some(c), Some(kind)) => {
                    let v = self.var(c, kind, false, e.span);
                    let is_null =
                        self.single(v, ColSet { null: true, vals: ColSet::no_values(kind) });
                    let not_null =
                        self.single(v, ColSet { null: false, vals: ColSet::all_values(kind) });
                    if *negated {
                        (not_null, is_null)
                    } else {
                        (is_null, not_null)
                    }
                }
                _ => self.opaque(e),
            },
            _ => self.opaque(e),
        })
    }

    fn atom(&mut self, e: &TExpr, col: &str, ty: Type, op: BinOp, k: &Value) -> (Set, Set) {
        let Some(kind) = Self::kind_of(ty) else { return self.opaque(e) };
        if k.is_null() {
            return (Set::default(), Set::default());
        }
        let v = self.var(col, kind, false, e.span);
        let vals = match kind {
            Kind::Int | Kind::Real => {
                let Some(x) = Self::number(k) else { return self.opaque(e) };
                let ivs = match op {
                    BinOp::Eq => vec![Iv { lo: x, lo_in: true, hi: x, hi_in: true }],
                    BinOp::NotEq => vec![
                        Iv { hi: x, hi_in: false, ..full_iv() },
                        Iv { lo: x, lo_in: false, ..full_iv() },
                    ],
                    BinOp::Lt => vec![Iv { hi: x, hi_in: false, ..full_iv() }],
                    BinOp::LtEq => vec![Iv { hi: x, hi_in: true, ..full_iv() }],
                    BinOp::Gt => vec![Iv { lo: x, lo_in: false, ..full_iv() }],
                    _ => vec![Iv { lo: x, lo_in: true, ..full_iv() }],
                };
                Vals::Num(normalize(kind, ivs))
            }
            Kind::Text => {
                let Value::Text(s) = k else { return self.opaque(e) };
                let set: BTreeSet<String> = [s.clone()].into();
                match op {
                    BinOp::Eq => Vals::Text { finite: true, set },
                    BinOp::NotEq => Vals::Text { finite: false, set },
                    // Text order is not modelled.
                    _ => return self.opaque(e),
                }
            }
            Kind::Bool => {
                let Value::Bool(b) = k else { return self.opaque(e) };
                let bit = if *b { 2 } else { 1 };
                match op {
                    BinOp::Eq => Vals::Bool(bit),
                    BinOp::NotEq => Vals::Bool(3 & !bit),
                    _ => return self.opaque(e),
                }
            }
        };
        let t = ColSet { null: false, vals };
        let mut f = t.complement(kind);
        f.null = false;
        (self.single(v, t), self.single(v, f))
    }

    /// A concrete row in the set whose values do not depend on opaque atoms, showing
    /// the columns in `shown` (others keep whatever value the preconditions allow).
    fn witness(&self, s: &Set, shown: &[String]) -> Option<Vec<(String, String)>> {
        let b = s.boxes.iter().find(|b| b.keys().all(|v| !self.vars[*v].opaque))?;
        let mut row = Vec::new();
        for (v, c) in b {
            let var = &self.vars[*v];
            if !shown.is_empty() && !shown.contains(&var.name) {
                continue;
            }
            let value = if !c.values_empty() {
                match &c.vals {
                    Vals::Num(ivs) => {
                        let i = ivs.first()?;
                        let x = if i.lo_in {
                            i.lo
                        } else if i.hi_in && i.lo.is_infinite() {
                            i.hi
                        } else if i.lo.is_infinite() && i.hi.is_infinite() {
                            0.0
                        } else if i.lo.is_infinite() {
                            if var.kind == Kind::Int {
                                i.hi - 1.0
                            } else {
                                (i.hi - 1.0).min(i.hi.floor())
                            }
                        } else if i.hi.is_infinite() {
                            if var.kind == Kind::Int {
                                i.lo + 1.0
                            } else {
                                i.lo.floor() + 1.0
                            }
                        } else if var.kind == Kind::Int {
                            i.lo + 1.0
                        } else {
                            (i.lo + i.hi) / 2.0
                        };
                        fmt_num(x)
                    }
                    Vals::Text { finite: true, set } => format!("{:?}", set.iter().next()?),
                    Vals::Text { finite: false, set } => {
                        let mut n = 0;
                        loop {
                            let cand =
                                if n == 0 { "other".to_string() } else { format!("other{n}") };
                            if !set.contains(&cand) {
                                break format!("{cand:?}");
                            }
                            n += 1;
                        }
                    }
                    Vals::Bool(b) => (if b & 2 != 0 { "true" } else { "false" }).to_string(),
                }
            } else {
                "null".to_string()
            };
            row.push((var.name.clone(), value));
        }
        Some(row)
    }
}

fn fmt_num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        o => o,
    }
}

fn column_of(e: &TExpr) -> Option<&str> {
    match &e.kind {
        TKind::Col(c) => Some(c),
        _ => None,
    }
}

fn constant_of(e: &TExpr) -> Option<Value> {
    match &e.kind {
        TKind::Lit(v) => Some(v.clone()),
        TKind::Neg(x) => match constant_of(x)? {
            Value::Int(i) => Some(Value::Int(-i)),
            Value::Float(f) => Some(Value::Float(-f)),
            _ => None,
        },
        _ => None,
    }
}

/// A witness as a dimension's users read it: `revenue = 100, region = null`.
fn show(row: &[(String, String)]) -> String {
    if row.is_empty() {
        return "any row".into();
    }
    row.iter().map(|(c, v)| format!("{c} = {v}")).collect::<Vec<_>>().join(", ")
}

/// What is known about the rows of an owner (market or entity) before any rule.
fn preconditions(space: &mut Space, p: &Checked, owner: Owner, extra: Option<&TExpr>) -> R<Set> {
    let mut pre = space.full();
    match owner {
        Owner::Market(m) => {
            let mk = &p.markets[m];
            if let Some(f) = &mk.filter {
                pre = space.cond(f)?.0;
            }
            for c in mk.columns.iter().filter(|c| !c.nullable) {
                if let Some(kind) = Space::kind_of(c.ty) {
                    let v = space.var(&c.name, kind, false, Span::default());
                    let nn =
                        space.single(v, ColSet { null: false, vals: ColSet::all_values(kind) });
                    pre = space.intersect(&pre, &nn)?;
                }
            }
        }
        Owner::Entity(e) => {
            // Keys are never null; counts and sums are never null (0 over no values).
            let ent = &p.entities[e];
            let mut nonnull = vec![ent.key.clone()];
            for f in &ent.features {
                if never_null(&f.expr, &ent.features) {
                    nonnull.push(Column { name: f.name.clone(), ty: f.ty, nullable: false });
                }
            }
            for c in nonnull {
                if let Some(kind) = Space::kind_of(c.ty) {
                    let v = space.var(&c.name, kind, false, Span::default());
                    let nn =
                        space.single(v, ColSet { null: false, vals: ColSet::all_values(kind) });
                    pre = space.intersect(&pre, &nn)?;
                }
            }
        }
    }
    if let Some(x) = extra {
        let t = space.cond(x)?.0;
        pre = space.intersect(&pre, &t)?;
    }
    Ok(pre)
}

fn never_null(m: &MExpr, all: &[MeasureDef]) -> bool {
    match m {
        MExpr::Agg(a) => matches!(a.func, AggFunc::Count | AggFunc::Sum),
        MExpr::Ref(i) => never_null(&all[*i].expr, all),
        MExpr::Lit(v) => !v.is_null(),
        MExpr::Neg(x) => never_null(x, all),
        MExpr::Bin(BinOp::Div, ..) => false,
        MExpr::Bin(_, a, b) => never_null(a, all) && never_null(b, all),
    }
}

fn ordinal(i: usize) -> String {
    format!("rule {}", i + 1)
}

/// The outcome for one dimension under given preconditions.
struct DimResult {
    diags: Vec<Diagnostic>,
    /// Every row gets exactly one label: proven.
    proven: bool,
}

fn analyse_rules(
    p: &Checked,
    d: &DimDef,
    arms: &[RuleArm],
    has_else: bool,
    partition: bool,
    extra: Option<&TExpr>,
) -> R<DimResult> {
    let mut space = Space::new();
    let pre = preconditions(&mut space, p, d.owner, extra)?;
    let mut trues = Vec::new();
    for a in arms {
        let (t, _) = space.cond(&a.cond)?;
        trues.push(space.intersect(&t, &pre)?);
    }
    let mut shown = Vec::new();
    for a in arms {
        a.cond.columns(&mut shown);
    }
    let mut diags = Vec::new();
    let mut proven = true;
    if partition {
        for i in 0..arms.len() {
            for j in i + 1..arms.len() {
                let both = space.intersect(&trues[i], &trues[j])?;
                if both.boxes.is_empty() {
                    continue;
                }
                proven = false;
                if let Some(w) = space.witness(&both, &shown) {
                    diags.push(
                        Diagnostic::error("E0421", format!("partition `{}` has overlapping rules: {} and {} both match {}", d.name, ordinal(i), ordinal(j), show(&w)))
                            .with_label(arms[j].span, format!("{} matches {}", ordinal(j), show(&w)))
                            .with_label(arms[i].span, format!("{} matches it too", ordinal(i)))
                            .with_help("a partition gives each row exactly one label: tighten one rule so they no longer overlap, or use `rules` for first-match"),
                    );
                }
            }
        }
    } else {
        // Shadowing: a rule none of whose rows get past the earlier rules.
        let mut before = Set::default();
        for (i, t) in trues.iter().enumerate() {
            if t.boxes.is_empty() {
                diags.push(
                    Diagnostic::warning(
                        "W0420",
                        format!("{} of `{}` can never match", ordinal(i), d.name),
                    )
                    .with_label(arms[i].span, "no row satisfies this condition")
                    .with_help("fix the condition, or remove the rule"),
                );
            } else if i > 0 && space.minus(t, &before)?.boxes.is_empty() {
                let shadows = minimal_cover(&space, t, &trues[..i])?;
                let names: Vec<String> = shadows.iter().map(|&k| ordinal(k)).collect();
                let mut diag = Diagnostic::warning(
                    "W0420",
                    format!(
                        "{} of `{}` can never match: shadowed by {}",
                        ordinal(i),
                        d.name,
                        join_and(&names)
                    ),
                )
                .with_label(arms[i].span, "every row it matches is taken earlier");
                for &k in &shadows {
                    diag =
                        diag.with_label(arms[k].span, format!("{} takes them first", ordinal(k)));
                }
                diags.push(diag.with_help("rules match first to last: move this rule up, narrow the earlier ones, or remove it"));
            }
            space.extend(&mut before, t)?;
        }
    }
    if !has_else {
        let mut all = Set::default();
        for t in &trues {
            space.extend(&mut all, t)?;
        }
        let gap = space.minus(&pre, &all)?;
        if !gap.boxes.is_empty() {
            proven = false;
            if let Some(w) = space.witness(&gap, &shown) {
                let around = rules_around(&w, arms, &mut space);
                if partition {
                    let mut diag = Diagnostic::error(
                        "E0422",
                        format!(
                            "partition `{}` leaves rows without a label, e.g. {}",
                            d.name,
                            show(&w)
                        ),
                    );
                    diag = match around.as_slice() {
                        [] => diag.with_label(d.span, format!("no rule matches {}", show(&w))),
                        list => {
                            let mut dd = diag.with_label(
                                arms[list[0]].span,
                                format!("{} stops short of {}", ordinal(list[0]), show(&w)),
                            );
                            for &k in &list[1..] {
                                dd = dd.with_label(
                                    arms[k].span,
                                    format!("{} starts after it", ordinal(k)),
                                );
                            }
                            dd.with_label(d.span, "in this partition")
                        }
                    };
                    diags.push(diag.with_help("a partition must cover every row: widen a rule to include the witness, or add `else => \"label\"`"));
                } else {
                    diags.push(
                        Diagnostic::warning(
                            "W0423",
                            format!("rules `{}` leave rows unassigned, e.g. {}", d.name, show(&w)),
                        )
                        .with_label(d.span, format!("no rule matches {}", show(&w)))
                        .with_help(
                            "add `else => \"label\"` so every row gets a label, or widen the rules",
                        ),
                    );
                }
            }
        }
    }
    diags.extend(adjacent_ranges(&mut space, d, arms, partition));
    Ok(DimResult { diags, proven })
}

fn join_and(names: &[String]) -> String {
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        n => format!("{} and {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

/// A small set of earlier rules that together cover `t`.
fn minimal_cover(space: &Space, t: &Set, earlier: &[Set]) -> R<Vec<usize>> {
    let mut chosen: Vec<usize> = (0..earlier.len())
        .filter(|&k| space.intersect(t, &earlier[k]).map(|x| !x.boxes.is_empty()).unwrap_or(true))
        .collect();
    let mut i = 0;
    while i < chosen.len() {
        let without: Vec<usize> = chosen.iter().copied().filter(|&k| k != chosen[i]).collect();
        let mut cover = Set::default();
        for &k in &without {
            space.extend(&mut cover, &earlier[k])?;
        }
        if space.minus(t, &cover)?.boxes.is_empty() {
            chosen = without;
        } else {
            i += 1;
        }
    }
    Ok(chosen)
}

/// Rules that have a bound exactly at the witness value (the rules around a hole).
fn rules_around(w: &[(String, String)], arms: &[RuleArm], space: &mut Space) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, a) in arms.iter().enumerate() {
        if let Some((col, Some(iv))) = single_range(space, &a.cond) {
            if let Some((_, val)) = w.iter().find(|(c, _)| *c == col) {
                let hits = |x: f64| fmt_num(x) == *val;
                if hits(iv.lo)
                    || hits(iv.hi)
                    || (iv.hi.is_finite() && hits(iv.hi + 1.0))
                    || (iv.lo.is_finite() && hits(iv.lo - 1.0))
                {
                    out.push(i);
                }
            }
        }
    }
    out
}

/// A condition that is one interval on one numeric column (`age >= 25 and age < 35`).
fn single_range(space: &mut Space, e: &TExpr) -> Option<(String, Option<Iv>)> {
    let (t, _) = space.cond(e).ok()?;
    let [b] = t.boxes.as_slice() else { return None };
    if b.len() != 1 {
        return None;
    }
    let (v, c) = b.iter().next()?;
    let var = &space.vars[*v];
    if var.opaque || c.null {
        return None;
    }
    match &c.vals {
        Vals::Num(ivs) if ivs.len() == 1 => Some((var.name.clone(), Some(ivs[0]))),
        _ => None,
    }
}

/// Ranges that meet at a boundary both include (double count) or both exclude (hole).
fn adjacent_ranges(
    space: &mut Space,
    d: &DimDef,
    arms: &[RuleArm],
    partition: bool,
) -> Vec<Diagnostic> {
    let ranges: Vec<Option<(String, Option<Iv>)>> =
        arms.iter().map(|a| single_range(space, &a.cond)).collect();
    let kinds: Vec<Option<Kind>> = ranges
        .iter()
        .map(|r| {
            r.as_ref().and_then(|(c, _)| {
                space.vars.iter().find(|v| &v.name == c && !v.opaque).map(|v| v.kind)
            })
        })
        .collect();
    let mut out = Vec::new();
    for i in 0..arms.len() {
        for j in 0..arms.len() {
            if i == j {
                continue;
            }
            let (Some((ci, Some(a))), Some((cj, Some(b)))) = (&ranges[i], &ranges[j]) else {
                continue;
            };
            if ci != cj || a.hi.is_infinite() || b.lo.is_infinite() {
                continue;
            }
            let int = kinds[i] == Some(Kind::Int);
            // `a` ends where `b` starts.
            let (double, hole) = if int {
                (a.hi == b.lo, b.lo - a.hi == 2.0)
            } else {
                (a.hi == b.lo && a.hi_in && b.lo_in, a.hi == b.lo && !a.hi_in && !b.lo_in)
            };
            let at = if int && hole { a.hi + 1.0 } else { a.hi };
            // A partition reports these as overlaps and gaps (errors) already.
            if partition {
                continue;
            }
            if double {
                out.push(
                    Diagnostic::warning("W0424", format!("rules {} and {} of `{}` both include {ci} = {}", i + 1, j + 1, d.name, fmt_num(at)))
                        .with_label(arms[j].span, format!("starts at {}, included", fmt_num(at)))
                        .with_label(arms[i].span, format!("ends at {}, included", fmt_num(at)))
                        .with_help("adjacent ranges should share a boundary once: make one side strict (`<` or `>`)"),
                );
            } else if hole {
                out.push(
                    Diagnostic::warning(
                        "W0424",
                        format!(
                            "rules {} and {} of `{}` leave a hole at {ci} = {}",
                            i + 1,
                            j + 1,
                            d.name,
                            fmt_num(at)
                        ),
                    )
                    .with_label(arms[i].span, format!("ends before {}", fmt_num(at)))
                    .with_label(arms[j].span, format!("starts after {}", fmt_num(at)))
                    .with_help(
                        "adjacent ranges should meet: make one side inclusive (`<=` or `>=`)",
                    ),
                );
            }
        }
    }
    out
}

/// Whether a row-level expression is proven non-null under the dimension's preconditions.
fn non_null(p: &Checked, d: &DimDef, e: &TExpr, extra: Option<&TExpr>) -> R<bool> {
    let Some(c) = column_of(e) else { return Ok(false) };
    let Some(kind) = Space::kind_of(e.ty) else { return Ok(false) };
    let mut space = Space::new();
    let pre = preconditions(&mut space, p, d.owner, extra)?;
    let v = space.var(c, kind, false, e.span);
    let nulls = space.single(v, ColSet { null: true, vals: ColSet::no_values(kind) });
    Ok(space.intersect(&pre, &nulls)?.boxes.is_empty())
}

fn analyse_dim(p: &Checked, d: &DimDef, extra: Option<&TExpr>) -> R<DimResult> {
    match &d.kind {
        DimKind::Rules { arms, else_label, partition } => {
            analyse_rules(p, d, arms, else_label.is_some(), *partition, extra)
        }
        DimKind::Map { else_label: Some(_), .. } | DimKind::Top { .. } => {
            Ok(DimResult { diags: Vec::new(), proven: true })
        }
        DimKind::Map { expr, arms, else_label: None } => {
            // Total only if the preconditions pin the value to the listed ones.
            let listed: Vec<TExpr> = arms
                .iter()
                .flat_map(|a| {
                    a.values.iter().map(|(v, s)| TExpr {
                        kind: TKind::Lit(v.clone()),
                        ty: expr.ty,
                        span: *s,
                    })
                })
                .collect();
            let as_rule = TExpr {
                kind: TKind::InList { expr: Box::new(expr.clone()), list: listed, negated: false },
                ty: Type::Bool,
                span: expr.span,
            };
            let mut space = Space::new();
            let pre = preconditions(&mut space, p, d.owner, extra)?;
            let (t, _) = space.cond(&as_rule)?;
            Ok(DimResult { diags: Vec::new(), proven: space.minus(&pre, &t)?.boxes.is_empty() })
        }
        DimKind::Column(e) | DimKind::Bins { expr: e, .. } | DimKind::Quantiles { expr: e, .. } => {
            Ok(DimResult { diags: Vec::new(), proven: non_null(p, d, e, extra)? })
        }
    }
}

fn gave_up(d: &DimDef) -> Diagnostic {
    Diagnostic::note_severity(
        "N0429",
        format!("the rules of `{}` are too complex to analyse; MECE is not proven", d.name),
    )
    .with_label(d.span, "analysis stopped here")
    .with_help(
        "split the dimension, or rely on `expect ... is partition`, which is then checked on data",
    )
}

/// Diagnostics for every dimension, and the static verdict on `expect ... is partition`.
pub fn analyse(p: &mut Checked) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for d in &p.dims {
        match analyse_dim(p, d, None) {
            Ok(r) => diags.extend(r.diags),
            Err(Unknown) => diags.push(gave_up(d)),
        }
    }
    let verdicts: Vec<Option<bool>> = p
        .expects
        .iter()
        .map(|e| match e {
            ExpectDef::Partition { segment, .. } => Some(segment_proven(p, *segment)),
            _ => None,
        })
        .collect();
    for (e, v) in p.expects.iter_mut().zip(verdicts) {
        if let ExpectDef::Partition { proven, .. } = e {
            *proven = v;
        }
    }
    diags
}

/// Every row of the segmentation lands in exactly one leaf, provably.
fn segment_proven(p: &Checked, s: usize) -> bool {
    let sd = &p.segments[s];
    sd.dims.iter().all(|&di| {
        let d = &p.dims[di];
        let extra = if d.owner == Owner::Market(sd.market) { sd.filter.as_ref() } else { None };
        let own = analyse_dim(p, d, extra).map(|r| r.proven).unwrap_or(false);
        // An entity dimension also needs every market row to have a key.
        let key_ok = match d.owner {
            Owner::Entity(e) => {
                let key = &p.entities[e].key;
                let probe = DimDef { owner: Owner::Market(sd.market), ..d.clone() };
                let col = TExpr { kind: TKind::Col(key.name.clone()), ty: key.ty, span: d.span };
                non_null(p, &probe, &col, sd.filter.as_ref()).unwrap_or(false)
            }
            Owner::Market(_) => true,
        };
        own && key_ok
    })
}

/// What `seg check` says about each `expect ... is partition`.
pub fn partition_notes(program: &Checked) -> Vec<String> {
    program
        .expects
        .iter()
        .filter_map(|e| match e {
            ExpectDef::Partition { segment, proven, .. } => {
                let name = &program.segments[*segment].name;
                Some(match proven {
                    Some(true) => format!("expect {name} is partition: proven statically"),
                    _ => format!("expect {name} is partition: not proven statically; `seg test` verifies it on data"),
                })
            }
            _ => None,
        })
        .collect()
}

/// For property tests: the analysis's claims about a rules dimension, as rule indices.
pub struct Claims {
    pub never_match: Vec<usize>,
    pub overlaps: Vec<(usize, usize, Vec<(String, String)>)>,
    pub gap: Option<Vec<(String, String)>>,
    pub proven: bool,
}

pub fn claims(p: &Checked, dim: usize) -> Option<Claims> {
    let d = &p.dims[dim];
    let DimKind::Rules { arms, else_label, partition } = &d.kind else { return None };
    let r = analyse_rules(p, d, arms, else_label.is_some(), *partition, None).ok()?;
    let mut c =
        Claims { never_match: Vec::new(), overlaps: Vec::new(), gap: None, proven: r.proven };
    for diag in &r.diags {
        let rule_of = |s: Span| arms.iter().position(|a| a.span == s);
        match diag.code {
            "W0420" => c.never_match.extend(diag.primary_span().and_then(rule_of)),
            "E0421" => {
                let j = diag.labels.first().and_then(|l| rule_of(l.span));
                let i = diag.labels.get(1).and_then(|l| rule_of(l.span));
                if let (Some(i), Some(j)) = (i, j) {
                    c.overlaps.push((i, j, parse_witness(&diag.message)));
                }
            }
            "E0422" | "W0423" => c.gap = Some(parse_witness(&diag.message)),
            _ => {}
        }
    }
    Some(c)
}

fn parse_witness(msg: &str) -> Vec<(String, String)> {
    let tail = msg
        .rsplit_once("e.g. ")
        .map(|x| x.1)
        .or_else(|| msg.rsplit_once("match ").map(|x| x.1))
        .unwrap_or("");
    if tail == "any row" {
        return Vec::new();
    }
    tail.split(", ")
        .filter_map(|kv| kv.split_once(" = ").map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}
