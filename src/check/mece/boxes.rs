//! The set algebra under the rule analysis: a condition becomes a pair of sets of
//! rows (where it is true, where it is false), each a union of boxes. A box constrains
//! each column to an interval set (numbers and dates; integers exactly), a finite or
//! co-finite set (text) or a subset of {true, false} (bools), each with or without
//! null. Atoms outside this fragment (arithmetic, functions, column against column)
//! become opaque boolean variables: emptiness stays exact (a real row maps to one
//! point of the larger space), but a witness that depends on an opaque variable proves
//! nothing, so none is given.

use super::Witness;
use crate::check::program::*;
use crate::span::Span;
use std::collections::{BTreeMap, BTreeSet};

/// Past this many boxes in one set the analysis gives up on that dimension.
pub(super) const MAX_BOXES: usize = 5_000;

/// Work one dimension may cost before the analysis gives up (N0429): a step per
/// pair of boxes compared, and per column of each box built (what a clone costs).
/// The box count alone does not bound the work: 14 two-way disjunctions stay under
/// `MAX_BOXES` yet took minutes to complement. The budget runs out in
/// about a quarter of a second in a release build; a 1,000-rule dimension of ranges
/// needs a small fraction of it.
pub(super) const MAX_STEPS: u64 = 2_000_000;

/// The analysis ran out of budget: nothing is claimed, MECE is not proven (N0429).
#[derive(Debug)]
pub(super) struct Unknown;

pub(super) type R<T> = Result<T, Unknown>;

/// How a column's values are modelled. Dates and timestamps are `Int` (days,
/// microseconds): their order is the integers', and `< d` next to `>= d` must meet
/// exactly, with no room for a fraction between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Real,
    Text,
    Bool,
}

/// An interval of the number line; infinite ends are never inclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Iv {
    pub(super) lo: f64,
    pub(super) lo_in: bool,
    pub(super) hi: f64,
    pub(super) hi_in: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Vals {
    /// Sorted, disjoint; integer columns hold closed integer intervals only.
    Num(Vec<Iv>),
    /// `finite`: exactly these values; otherwise every value but these.
    Text { finite: bool, set: BTreeSet<String> },
    /// Bit 1: false, bit 2: true.
    Bool(u8),
}

/// The values one column may take in a box. Null is a separate flag because SQL
/// comparisons are never true on null: `a < 10` and `a >= 10` together leave the
/// null rows out, which is exactly the gap a partition must report.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ColSet {
    pub(super) null: bool,
    pub(super) vals: Vals,
}

pub(super) fn full_iv() -> Iv {
    Iv { lo: f64::NEG_INFINITY, lo_in: false, hi: f64::INFINITY, hi_in: false }
}

pub(super) fn iv_empty(i: &Iv) -> bool {
    i.lo > i.hi || (i.lo == i.hi && !(i.lo_in && i.hi_in))
}

/// Integer normalisation: closed bounds at whole numbers, so that `< 10` and
/// `<= 9` are the same interval and adjacency is a step of one.
pub(super) fn int_iv(i: Iv) -> Option<Iv> {
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

/// Sorted, disjoint, touching intervals merged: one canonical form, so that
/// emptiness and equality are structural.
pub(super) fn normalize(kind: Kind, mut ivs: Vec<Iv>) -> Vec<Iv> {
    if kind == Kind::Int {
        ivs = ivs.into_iter().filter_map(int_iv).collect();
    } else {
        ivs.retain(|i| !iv_empty(i));
    }
    ivs.sort_by(|a, b| a.lo.total_cmp(&b.lo).then(b.lo_in.cmp(&a.lo_in)));
    let mut out: Vec<Iv> = Vec::new();
    for i in ivs {
        if let Some(last) = out.last_mut() {
            // Integers [1, 3] and [4, 6] cover every integer between them; reals
            // [1, 3) and (3, 6] leave 3 out.
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

pub(super) fn iv_intersect(a: &[Iv], b: &[Iv], kind: Kind) -> Vec<Iv> {
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

/// The gaps between normalised intervals: each gap ends where an interval starts,
/// with the opposite inclusiveness (the complement of `[3, ..` ends at `.., 3)`).
pub(super) fn iv_complement(a: &[Iv], kind: Kind) -> Vec<Iv> {
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
    pub(super) fn full(kind: Kind) -> ColSet {
        ColSet { null: true, vals: ColSet::all_values(kind) }
    }

    pub(super) fn all_values(kind: Kind) -> Vals {
        match kind {
            Kind::Int | Kind::Real => Vals::Num(vec![full_iv()]),
            Kind::Text => Vals::Text { finite: false, set: BTreeSet::new() },
            Kind::Bool => Vals::Bool(3),
        }
    }

    pub(super) fn no_values(kind: Kind) -> Vals {
        match kind {
            Kind::Int | Kind::Real => Vals::Num(Vec::new()),
            Kind::Text => Vals::Text { finite: true, set: BTreeSet::new() },
            Kind::Bool => Vals::Bool(0),
        }
    }

    pub(super) fn values_empty(&self) -> bool {
        match &self.vals {
            Vals::Num(v) => v.is_empty(),
            Vals::Text { finite, set } => *finite && set.is_empty(),
            Vals::Bool(b) => *b == 0,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        !self.null && self.values_empty()
    }

    pub(super) fn is_full(&self, kind: Kind) -> bool {
        self.null && self.vals == ColSet::all_values(kind)
    }

    pub(super) fn intersect(&self, o: &ColSet, kind: Kind) -> ColSet {
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

    /// Every value and null-ness this set lacks. A comparison's false side is this
    /// with null taken out: on null a comparison is neither true nor false.
    pub(super) fn complement(&self, kind: Kind) -> ColSet {
        let vals = match &self.vals {
            Vals::Num(a) => Vals::Num(iv_complement(a, kind)),
            Vals::Text { finite, set } => Vals::Text { finite: !finite, set: set.clone() },
            Vals::Bool(b) => Vals::Bool(3 & !b),
        };
        ColSet { null: !self.null, vals }
    }
}

/// Whether two column sets share a value (or both allow null), without building
/// their intersection.
pub(super) fn col_meets(x: &ColSet, y: &ColSet, kind: Kind) -> bool {
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
pub(super) type Cube = BTreeMap<usize, ColSet>;

/// A set of rows as a union of boxes. Boxes may overlap: unions stay cheap, and only
/// emptiness (after `minus` or `intersect`) is ever asked.
#[derive(Clone, Debug, Default)]
pub(super) struct Set {
    pub(super) boxes: Vec<Cube>,
}

/// A column of the space, or an opaque atom: a condition the algebra cannot see
/// into, as a boolean of its own. Atoms are named by their expression, so the same
/// atom in two rules is one variable and `x` and `not x` still exclude each other.
pub(super) struct Var {
    pub(super) name: String,
    pub(super) kind: Kind,
    pub(super) opaque: bool,
}

pub(super) struct Space {
    pub(super) vars: Vec<Var>,
    /// Box operations so far, against `MAX_STEPS`.
    steps: std::cell::Cell<u64>,
}

impl Space {
    pub(super) fn new() -> Space {
        Space { vars: Vec::new(), steps: std::cell::Cell::new(0) }
    }

    /// Charges `n` box operations; past the budget every further operation fails.
    pub(super) fn tick(&self, n: usize) -> R<()> {
        let s = self.steps.get() + n as u64;
        self.steps.set(s);
        if s > MAX_STEPS {
            Err(Unknown)
        } else {
            Ok(())
        }
    }

    pub(super) fn var(&mut self, name: &str, kind: Kind, opaque: bool, _span: Span) -> usize {
        if let Some(i) = self.vars.iter().position(|v| v.name == name && v.opaque == opaque) {
            return i;
        }
        self.vars.push(Var { name: name.to_string(), kind, opaque });
        self.vars.len() - 1
    }

    pub(super) fn full(&self) -> Set {
        Set { boxes: vec![Cube::new()] }
    }

    /// The rows where variable `v` is in `c`. A full column set is left out of the
    /// box, so boxes stay as small as their constraints.
    pub(super) fn single(&self, v: usize, c: ColSet) -> Set {
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
    pub(super) fn meets(&self, a: &Cube, b: &Cube) -> bool {
        b.iter().all(|(v, c)| match a.get(v) {
            Some(x) => col_meets(x, c, self.vars[*v].kind),
            None => !c.is_empty(),
        })
    }

    pub(super) fn box_intersect(&self, a: &Cube, b: &Cube) -> Option<Cube> {
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

    pub(super) fn intersect(&self, a: &Set, b: &Set) -> R<Set> {
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
    pub(super) fn extend(&self, a: &mut Set, b: &Set) -> R<()> {
        self.tick(b.boxes.len())?;
        a.boxes.extend(b.boxes.iter().cloned());
        if a.boxes.len() > MAX_BOXES {
            return Err(Unknown);
        }
        Ok(())
    }

    pub(super) fn union(&self, a: &Set, b: &Set) -> R<Set> {
        self.tick(a.boxes.len() + b.boxes.len())?;
        let mut boxes = a.boxes.clone();
        boxes.extend(b.boxes.iter().cloned());
        if boxes.len() > MAX_BOXES {
            return Err(Unknown);
        }
        Ok(Set { boxes })
    }

    /// `a \ b` for single boxes: peel `b` off one variable at a time.
    pub(super) fn box_minus(&self, a: &Cube, b: &Cube, out: &mut Vec<Cube>) {
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

    /// `a \ b`, one box of `b` at a time. This is where the work grows (each box can
    /// split into one piece per constrained variable), so it is charged per piece.
    pub(super) fn minus(&self, a: &Set, b: &Set) -> R<Set> {
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

    pub(super) fn kind_of(ty: Type) -> Option<Kind> {
        Some(match ty {
            Type::Int | Type::Date | Type::Timestamp => Kind::Int,
            Type::Float => Kind::Real,
            Type::Text => Kind::Text,
            Type::Bool => Kind::Bool,
            _ => return None,
        })
    }

    /// A constant as a number (dates and timestamps as their integer encodings).
    pub(super) fn number(v: &Value) -> Option<f64> {
        v.as_f64()
    }

    /// An atom outside the fragment: true and false are two values of a boolean of
    /// its own. Null is left out of both, as for comparisons, so a rule on an
    /// opaque atom never counts as covering every row.
    pub(super) fn opaque(&mut self, e: &TExpr) -> (Set, Set) {
        let v = self.var(&format!("{:?}", e.kind), Kind::Bool, true, e.span);
        (
            self.single(v, ColSet { null: false, vals: Vals::Bool(2) }),
            self.single(v, ColSet { null: false, vals: Vals::Bool(1) }),
        )
    }

    /// The sets where `e` is true and where it is false.
    pub(super) fn cond(&mut self, e: &TExpr) -> R<(Set, Set)> {
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
            // Three-valued logic by sets: `a and b` is false where either is false,
            // and neither where one is null; the unknown rows are in neither set.
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

    /// `col op k` for a constant `k`: the true set is an interval set (or a text
    /// set, or a bool), the false set its complement among non-null values.
    pub(super) fn atom(
        &mut self,
        e: &TExpr,
        col: &str,
        ty: Type,
        op: BinOp,
        k: &Value,
    ) -> (Set, Set) {
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
    pub(super) fn witness(&self, s: &Set, shown: &[String]) -> Option<Witness> {
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
                        if var.kind == Kind::Int {
                            Value::Int(x as i64)
                        } else {
                            Value::Float(x)
                        }
                    }
                    Vals::Text { finite: true, set } => Value::Text(set.iter().next()?.clone()),
                    Vals::Text { finite: false, set } => {
                        let mut n = 0;
                        loop {
                            let cand =
                                if n == 0 { "other".to_string() } else { format!("other{n}") };
                            if !set.contains(&cand) {
                                break Value::Text(cand);
                            }
                            n += 1;
                        }
                    }
                    Vals::Bool(b) => Value::Bool(b & 2 != 0),
                }
            } else {
                Value::Null
            };
            row.push((var.name.clone(), value));
        }
        Some(row)
    }
}

pub(super) fn flip(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        o => o,
    }
}

pub(super) fn column_of(e: &TExpr) -> Option<&str> {
    match &e.kind {
        TKind::Col(c) => Some(c),
        _ => None,
    }
}

pub(super) fn constant_of(e: &TExpr) -> Option<Value> {
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
