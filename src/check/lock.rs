//! Lock files (`SPEC.lock`): data-dependent definitions (quantile and pareto cut
//! points, `top N` lists) frozen by `seg lock`, and their application to a checked
//! program, which turns each frozen dimension into a plain one with the same labels.
//!
//! Why a rewrite rather than a second way to run: a frozen `quantiles` *is* `bins` at
//! the cut values the lock records, a frozen `pareto` is `rules` on (value, key), a
//! frozen `top` is a mapping of its members. Every later stage (lowering, the
//! reference evaluator, `why`, `explain`) then handles frozen definitions with code
//! it already has, and cannot drift from them.

use super::errors::{lock_stale as stale, lock_unreadable};
use super::program::{
    format_timestamp, Checked, DimDef, DimKind, MapArm, Owner, RuleArm, TExpr, TKind, Type, Value,
};
use crate::diagnostic::Diagnostic;
use crate::span::Span;
use crate::syntax::ast::BinOp;
use serde::{Deserialize, Serialize};

/// The lock format's version; a newer one is refused rather than misread.
pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub version: u32,
    /// The spec, as `seg lock` was given it.
    pub spec: String,
    /// `--period`: the period of an `over` segmentation the definitions were
    /// computed on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<LockPeriod>,
    /// The data each market read, in spec order.
    #[serde(default)]
    pub data: Vec<LockData>,
    #[serde(default, rename = "dimension")]
    pub dimensions: Vec<LockDim>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockPeriod {
    pub segment: String,
    pub period: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockData {
    pub market: String,
    /// As the spec writes it (or `--source`).
    pub path: String,
    /// Rows read (before the market's `where`).
    pub rows: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockDim {
    pub name: String,
    /// The dimension as the spec wrote it (whitespace collapsed), and the entity
    /// features it reads: a lock for another definition is stale.
    pub definition: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
    /// `quantiles`, `pareto` or `top`.
    pub kind: String,
    /// Rows (or entities) that got one of the groups below.
    pub count: u64,
    #[serde(default, rename = "group")]
    pub groups: Vec<LockGroup>,
}

/// One group of a frozen dimension, in label order (a `top` list in rank order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockGroup {
    pub label: String,
    /// Rows (or entities) in the group when locked.
    pub size: u64,
    /// `quantiles`: the group's lowest value (absent: the group was empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<LockValue>,
    /// `pareto`: the group's last entity in rank order: its value and key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<LockValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_key: Option<LockValue>,
    /// `top`: the member's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<LockValue>,
}

/// A value as TOML writes it; dates and timestamps as text, read back by the type
/// of the expression they belong to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LockValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl std::fmt::Display for LockValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockValue::Bool(b) => write!(f, "{b}"),
            LockValue::Int(i) => write!(f, "{i}"),
            LockValue::Float(x) => write!(f, "{x}"),
            LockValue::Text(t) => write!(f, "{t:?}"),
        }
    }
}

impl LockValue {
    pub fn of(v: &Value) -> Option<LockValue> {
        Some(match v {
            Value::Null => return None,
            Value::Int(i) => LockValue::Int(*i),
            Value::Float(f) => LockValue::Float(*f),
            Value::Text(t) => LockValue::Text(t.clone()),
            Value::Bool(b) => LockValue::Bool(*b),
            Value::Date(d) => LockValue::Text(crate::calendar::format_date(*d)),
            Value::Timestamp(t) => LockValue::Text(format_timestamp(*t)),
        })
    }

    /// The value as `ty`, if it reads as one.
    pub fn to_value(&self, ty: Type) -> Option<Value> {
        Some(match (self, ty) {
            (LockValue::Int(i), Type::Int) => Value::Int(*i),
            (LockValue::Int(i), Type::Float) => Value::Float(*i as f64),
            (LockValue::Float(f), Type::Float) => Value::Float(*f),
            (LockValue::Text(t), Type::Text) => Value::Text(t.clone()),
            (LockValue::Bool(b), Type::Bool) => Value::Bool(*b),
            (LockValue::Text(t), Type::Date) => Value::Date(crate::calendar::parse_date(t)?),
            (LockValue::Text(t), Type::Timestamp) => {
                Value::Timestamp(crate::calendar::parse_timestamp(t)?)
            }
            _ => return None,
        })
    }
}

impl LockFile {
    /// The text `seg lock` writes: a comment header, then TOML in spec order.
    pub fn to_text(&self) -> String {
        let body = toml::to_string(self).unwrap_or_default();
        format!(
            "# Frozen definitions of {}, written by `seg lock`: review it like the spec.\n\
             # `seg lock` again after changing a frozen dimension; `--no-lock` ignores it.\n\n{body}",
            self.spec
        )
    }

    pub fn parse(text: &str) -> Result<LockFile, String> {
        let lock: LockFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if lock.version != VERSION {
            return Err(format!(
                "lock format version {} (this seg reads version {VERSION})",
                lock.version
            ));
        }
        Ok(lock)
    }
}

/// Whether a dimension's definition depends on the data (what `seg lock` freezes).
pub fn freezable(d: &DimDef) -> bool {
    matches!(d.kind, DimKind::Quantiles { .. } | DimKind::Pareto { .. } | DimKind::Top { .. })
}

/// The kind name a lock records.
pub fn kind_name(d: &DimDef) -> &'static str {
    match d.kind {
        DimKind::Quantiles { .. } => "quantiles",
        DimKind::Pareto { .. } => "pareto",
        _ => "top",
    }
}

/// Whether `entry` froze dimension `d` as the spec defines it now.
fn frozen_as(p: &Checked, d: &DimDef, entry: &LockDim, src: &str) -> bool {
    let (def, reads) = definition(p, d, src);
    entry.definition == def && entry.reads == reads && entry.kind == kind_name(d)
}

/// The text with comments dropped and whitespace collapsed: what a definition
/// means, not how it is laid out or annotated.
fn collapse(s: &str) -> String {
    let mut out = String::new();
    let (mut in_str, mut escaped, mut in_comment) = (false, false, false);
    for c in s.chars() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
                out.push(' ');
            }
            continue;
        }
        if in_str {
            if c == '"' && !escaped {
                in_str = false;
            }
            escaped = !escaped && c == '\\';
        } else if c == '#' {
            in_comment = true;
            continue;
        } else if c == '"' {
            in_str = true;
        }
        out.push(c);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a lock records of a dimension's definition: its text and the text of each
/// entity feature it reads.
pub fn definition(p: &Checked, d: &DimDef, src: &str) -> (String, Vec<String>) {
    let text = |s: Span| collapse(src.get(s.start as usize..s.end as usize).unwrap_or(""));
    let mut reads = Vec::new();
    if let Owner::Entity(e) = d.owner {
        let used = d.input_columns();
        for f in &p.entities[e].features {
            if used.contains(&f.name) {
                reads.push(text(f.def_span));
            }
        }
    }
    (text(d.def_span), reads)
}

/// Replaces every frozen dimension of `p` by its frozen form. Errors when the lock
/// no longer matches the spec: a dimension frozen with another definition, a
/// data-dependent dimension it lacks, or one it has that the spec no longer does.
pub fn apply(p: &mut Checked, lock: &LockFile, src: &str, lock_path: &str) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for entry in &lock.dimensions {
        let found = p.dims.iter().find(|d| d.name == entry.name);
        if !found.is_some_and(freezable) {
            diags.push(stale(
                None,
                &entry.name,
                format!(
                    "`{lock_path}` freezes dimension `{}`, which the spec no longer has as \
                     quantiles, pareto or top",
                    entry.name
                ),
                "the current dimensions",
            ));
        }
    }
    let mut frozen: Vec<(usize, DimKind, Vec<String>)> = Vec::new();
    for (i, d) in p.dims.iter().enumerate() {
        if !freezable(d) {
            continue;
        }
        let Some(entry) = lock.dimensions.iter().find(|x| x.name == d.name) else {
            diags.push(stale(
                Some(d),
                &d.name,
                format!(
                    "dimension `{}` depends on the data but `{lock_path}` does not freeze it",
                    d.name
                ),
                "it",
            ));
            continue;
        };
        if !frozen_as(p, d, entry, src) {
            let mut diag = stale(
                Some(d),
                &d.name,
                format!("`{lock_path}` froze `{}` for another definition", d.name),
                "the new definition",
            );
            diag = diag.with_note(format!("locked: {}", entry.definition));
            for r in &entry.reads {
                diag = diag.with_note(format!("locked, reading: {r}"));
            }
            diags.push(diag);
            continue;
        }
        match frozen_kind(p, d, entry) {
            Ok((kind, labels)) => frozen.push((i, kind, labels)),
            Err(why) => {
                diags.push(lock_unreadable(lock_path, &format!("dimension `{}`: {why}", d.name)))
            }
        }
    }
    if diags.is_empty() {
        for (i, kind, labels) in frozen {
            p.dims[i].kind = kind;
            p.dims[i].labels = labels;
        }
    }
    diags
}

/// For the REPL, where definitions are tried out: freezes the dimensions whose
/// definition is still the one locked, and leaves the others (redefined, or new)
/// computed from the data. Returns the names of the dimensions it froze.
pub fn apply_matching(p: &mut Checked, lock: &LockFile, src: &str) -> Vec<String> {
    let mut done = Vec::new();
    for i in 0..p.dims.len() {
        let d = &p.dims[i];
        let Some(entry) = lock.dimensions.iter().find(|x| x.name == d.name) else { continue };
        if !freezable(d) || !frozen_as(p, d, entry, src) {
            continue;
        }
        if let Ok((kind, labels)) = frozen_kind(p, d, entry) {
            done.push(d.name.clone());
            p.dims[i].kind = kind;
            p.dims[i].labels = labels;
        }
    }
    done
}

/// A frozen dimension's plain kind and its labels.
fn frozen_kind(p: &Checked, d: &DimDef, entry: &LockDim) -> Result<(DimKind, Vec<String>), String> {
    let value = |v: &Option<LockValue>, ty: Type| -> Result<Option<Value>, String> {
        match v {
            None => Ok(None),
            Some(v) => v.to_value(ty).map(Some).ok_or_else(|| format!("{v} is not a {ty}")),
        }
    };
    let lit = |v: Value, ty: Type, span: Span| TExpr { kind: TKind::Lit(v), ty, span };
    let bin = |op: BinOp, a: TExpr, b: TExpr| TExpr {
        span: a.span,
        kind: TKind::Bin(op, Box::new(a), Box::new(b)),
        ty: Type::Bool,
    };
    match &d.kind {
        DimKind::Quantiles { expr, labels, .. } => {
            if entry.groups.len() != labels.len()
                || entry.groups.iter().zip(labels).any(|(g, l)| &g.label != l)
            {
                return Err("its groups are not the dimension's labels".into());
            }
            // Group k (k >= 2) starts at its lowest value; an empty group at the
            // next non-empty one's, so it stays empty; trailing empty groups at none.
            let mut starts: Vec<Option<Value>> = Vec::new();
            for g in &entry.groups[1..] {
                starts.push(value(&g.from, expr.ty)?);
            }
            let mut cuts: Vec<Value> = Vec::new();
            for k in 0..starts.len() {
                match starts[k..].iter().flatten().next() {
                    Some(v) => cuts.push(v.clone()),
                    None => break,
                }
            }
            let kind = DimKind::Bins {
                expr: expr.clone(),
                cuts,
                closed_right: false,
                labels: labels.clone(),
            };
            Ok((kind, d.labels.clone()))
        }
        DimKind::Pareto { expr, labels, .. } => {
            if entry.groups.len() != labels.len()
                || entry.groups.iter().zip(labels).any(|(g, l)| &g.label != l)
            {
                return Err("its groups are not the dimension's labels".into());
            }
            let Owner::Entity(e) = d.owner else { return Err("pareto off an entity".into()) };
            let key = &p.entities[e].key;
            let key_expr = TExpr { kind: TKind::Col(key.name.clone()), ty: key.ty, span: d.span };
            let mut arms = Vec::new();
            // Group k holds the entities ranked at or before the last entity of the
            // groups up to k: value above it, or equal with a key at or below its.
            let mut bound: Option<(Value, Value)> = None;
            for g in &entry.groups[..entry.groups.len() - 1] {
                if let (Some(v), Some(k)) = (value(&g.last, expr.ty)?, value(&g.last_key, key.ty)?)
                {
                    bound = Some((v, k));
                }
                let Some((v, k)) = &bound else { continue };
                let above = bin(BinOp::Gt, expr.clone(), lit(v.clone(), expr.ty, d.span));
                let tie = bin(
                    BinOp::And,
                    bin(BinOp::Eq, expr.clone(), lit(v.clone(), expr.ty, d.span)),
                    bin(BinOp::LtEq, key_expr.clone(), lit(k.clone(), key.ty, d.span)),
                );
                arms.push(RuleArm {
                    cond: bin(BinOp::Or, above, tie),
                    label: g.label.clone(),
                    span: d.span,
                });
            }
            let last = entry.groups.last().map(|g| g.label.clone()).unwrap_or_default();
            arms.push(RuleArm {
                cond: TExpr {
                    kind: TKind::IsNull { expr: Box::new(expr.clone()), negated: true },
                    ty: Type::Bool,
                    span: d.span,
                },
                label: last,
                span: d.span,
            });
            Ok((DimKind::Rules { arms, else_label: None, partition: false }, d.labels.clone()))
        }
        DimKind::Top { expr, other, .. } => {
            let mut arms = Vec::new();
            let mut labels = Vec::new();
            for g in &entry.groups {
                let v = value(&g.value, expr.ty)?.ok_or("a top member without a value")?;
                labels.push(g.label.clone());
                arms.push(MapArm {
                    values: vec![(v, d.span)],
                    label: g.label.clone(),
                    span: d.span,
                });
            }
            labels.push(other.clone());
            let kind = DimKind::Map { expr: expr.clone(), arms, else_label: Some(other.clone()) };
            Ok((kind, labels))
        }
        _ => Err("not a data-dependent dimension".into()),
    }
}
