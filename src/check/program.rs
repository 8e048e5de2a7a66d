//! The checked program: names resolved to indices, every expression typed. Lowering
//! and the reference evaluator both read only this, never the AST.

use crate::span::Span;
pub use crate::syntax::ast::BinOp;
use std::fmt;

/// seg's types. Every column, expression and measure has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    Int,
    Float,
    Text,
    Bool,
    Date,
    Timestamp,
    /// The type of a bare `null`: fits anywhere.
    Null,
    /// Poison: something upstream already has a diagnostic, so stay quiet.
    Error,
}

impl Type {
    /// `int` or `float`: what arithmetic and sums accept.
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }
    /// Types with an order that bins, quantiles and ranges may cut.
    pub fn is_ordered(self) -> bool {
        matches!(self, Type::Int | Type::Float | Type::Date | Type::Timestamp)
    }
    /// The type as a spec writes it.
    pub fn name(self) -> &'static str {
        match self {
            Type::Int => "int",
            Type::Float => "float",
            Type::Text => "text",
            Type::Bool => "bool",
            Type::Date => "date",
            Type::Timestamp => "timestamp",
            Type::Null => "null",
            Type::Error => "{unknown}",
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A constant: a literal of the spec, or a value the reference evaluator computes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00.
    Timestamp(i64),
}

impl Value {
    /// SQL's null: unknown, never equal to anything.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// Numbers, dates and timestamps as one number line (dates as days, timestamps
    /// as microseconds), for comparisons and intervals.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Date(d) => Some(*d as f64),
            Value::Timestamp(t) => Some(*t as f64),
            _ => None,
        }
    }
    /// How a value reads as a segment label.
    pub fn label(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(format_float(*f)),
            Value::Text(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Date(d) => Some(crate::calendar::format_date(*d)),
            Value::Timestamp(t) => Some(format_timestamp(*t)),
        }
    }
}

/// Floats print the shortest way that reads back the same, as arrow's CSV writer does.
pub fn format_float(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// A fraction as a percentage, without trailing zeros: 0.5 as `50`, 0.995 as `99.5`.
pub fn format_percent(f: f64) -> String {
    let s = format!("{:.6}", f * 100.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]` for microseconds since the epoch.
pub fn format_timestamp(us: i64) -> String {
    let days = us.div_euclid(86_400_000_000);
    let rem = us.rem_euclid(86_400_000_000);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let base = format!(
        "{}T{:02}:{:02}:{:02}",
        crate::calendar::format_date(days as i32),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac == 0 {
        base
    } else {
        format!("{base}.{frac:06}")
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Text(s) => write!(f, "{s:?}"),
            other => f.write_str(&other.label().unwrap_or_default()),
        }
    }
}

/// A data file's format, from `as FORMAT` or the path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Csv,
    Parquet,
    Json,
    Arrow,
    /// `from table "schema.name"`: a table of the database `--on` names; the
    /// path is the table's name.
    Table,
}

impl Format {
    /// The extension its files have, for reading a folder of them.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Json => "json",
            Format::Arrow => "arrow",
            Format::Table => "table",
        }
    }
}

/// A column of a market (or an entity's key): its name, type and whether it may
/// hold nulls (the MECE proofs rely on `nullable: false`).
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub ty: Type,
    pub nullable: bool,
}

/// A whole checked spec. Everything refers to everything else by index into these
/// vectors; it exists only when the spec has no errors.
#[derive(Clone, Debug, Default)]
pub struct Checked {
    pub markets: Vec<MarketDef>,
    /// Lookup tables that markets join.
    pub tables: Vec<TableDef>,
    pub entities: Vec<EntityDef>,
    pub dims: Vec<DimDef>,
    pub segments: Vec<SegDef>,
    pub expects: Vec<ExpectDef>,
    pub examples: Vec<ExampleDef>,
}

/// A market: a data file, its schema, its `where` and its measures.
#[derive(Clone, Debug)]
pub struct MarketDef {
    pub name: String,
    pub span: Span,
    pub path: String,
    pub path_span: Span,
    pub format: Format,
    /// The declared `columns`, with the span of each declaration.
    pub declared: Option<Vec<(Column, Span)>>,
    /// The schema seg works with: declared, or read from the file.
    pub columns: Vec<Column>,
    /// `join`s, in order.
    pub joins: Vec<JoinDef>,
    /// The columns a row of the market has once its tables are joined, as
    /// expressions name them: its own (`c`, and `MARKET.c`), each table's
    /// (`TABLE.c`, and `c`); a bare name two of them share is left out (ambiguous).
    /// Without joins, `columns`.
    pub row_columns: Vec<Column>,
    pub filter: Option<TExpr>,
    pub measures: Vec<MeasureDef>,
}

/// A lookup table: a data file with one row per `key`.
#[derive(Clone, Debug)]
pub struct TableDef {
    pub name: String,
    pub span: Span,
    pub path: String,
    pub path_span: Span,
    pub format: Format,
    pub columns: Vec<Column>,
    pub key: Column,
}

/// `join TABLE on COLUMN [= TABLE.KEY]`: a left, many-to-one join.
#[derive(Clone, Debug)]
pub struct JoinDef {
    pub table: usize,
    /// The market's column.
    pub column: String,
    /// The table's column it matches (its key unless named).
    pub key: String,
    pub span: Span,
}

impl Checked {
    /// The measures segmentation `s` can report: its entity's, or its market's.
    pub fn seg_measures(&self, s: usize) -> &[MeasureDef] {
        let sd = &self.segments[s];
        match sd.entity {
            Some(e) => &self.entities[e].measures,
            None => &self.markets[sd.market].measures,
        }
    }

    /// Every row expression of the program, for passes that rewrite them.
    pub fn exprs_mut(&mut self) -> Vec<&mut TExpr> {
        fn measure<'a>(m: &'a mut MExpr, out: &mut Vec<&'a mut TExpr>) {
            match m {
                MExpr::Agg(a) => out.extend(a.arg.iter_mut().chain(a.filter.iter_mut())),
                MExpr::Neg(x, _) => measure(x, out),
                MExpr::Bin(_, a, b, _) => {
                    measure(a, out);
                    measure(b, out);
                }
                MExpr::Ref(..) | MExpr::Lit(_) => {}
            }
        }
        let mut out = Vec::new();
        for m in &mut self.markets {
            out.extend(m.filter.iter_mut());
            m.measures.iter_mut().for_each(|d| measure(&mut d.expr, &mut out));
        }
        for e in &mut self.entities {
            e.features.iter_mut().for_each(|d| measure(&mut d.expr, &mut out));
        }
        for d in &mut self.dims {
            match &mut d.kind {
                DimKind::Column(e)
                | DimKind::Top { expr: e, .. }
                | DimKind::Map { expr: e, .. }
                | DimKind::Bins { expr: e, .. }
                | DimKind::Quantiles { expr: e, .. }
                | DimKind::Pareto { expr: e, .. } => out.push(e),
                DimKind::Rules { arms, .. } => out.extend(arms.iter_mut().map(|a| &mut a.cond)),
            }
        }
        for s in &mut self.segments {
            out.extend(s.filter.iter_mut());
        }
        for e in &mut self.expects {
            if let ExpectDef::Assert { expr, .. } = e {
                out.push(expr);
            }
        }
        out
    }

    /// Replaces `today()` with `date` (days since 1970-01-01) everywhere; returns
    /// whether the program used it, so that an output can say which date it used.
    pub fn bind_today(&mut self, date: i32) -> bool {
        fn walk(e: &mut TExpr, date: i32, used: &mut bool) {
            if let TKind::Func(Func::Today, _) = e.kind {
                e.kind = TKind::Lit(Value::Date(date));
                *used = true;
            }
            e.children_mut().into_iter().for_each(|x| walk(x, date, used));
        }
        let mut used = false;
        for e in self.exprs_mut() {
            walk(e, date, &mut used);
        }
        used
    }
}

impl MarketDef {
    /// The column called `name`, if the market has it.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A measure of a market, or a feature of an entity, with the type it computes as.
#[derive(Clone, Debug)]
pub struct MeasureDef {
    pub name: String,
    pub span: Span,
    /// The whole definition, `NAME = EXPR`.
    pub def_span: Span,
    pub expr: MExpr,
    pub ty: Type,
}

/// A measure or entity feature: aggregates combined by arithmetic.
#[derive(Clone, Debug, PartialEq)]
pub enum MExpr {
    Agg(Agg),
    /// Another measure (feature) of the same market (entity), by index, and its type.
    Ref(usize, Type),
    /// An integer or float literal; its type is its value's.
    Lit(Value),
    /// Negation, of the operand's type.
    Neg(Box<MExpr>, Type),
    /// Arithmetic: `Float` if either side is or the operator is `/`, else `Int`.
    Bin(BinOp, Box<MExpr>, Box<MExpr>, Type),
}

impl MExpr {
    /// The type the checker gave this expression: what it computes as (an `Int`
    /// measure overflows instead of rounding) and what the output column holds.
    pub fn ty(&self) -> Type {
        match self {
            MExpr::Agg(a) => a.ty,
            MExpr::Lit(Value::Int(_)) => Type::Int,
            MExpr::Lit(_) => Type::Float,
            MExpr::Ref(_, t) | MExpr::Neg(_, t) | MExpr::Bin(.., t) => *t,
        }
    }
}

/// The aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggFunc {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Median,
    /// The most frequent non-null value; the smallest among ties.
    Mode,
}

/// One aggregate call: `sum(revenue)`, `count(distinct customer_id)`, `count()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Agg {
    pub func: AggFunc,
    pub distinct: bool,
    /// `None` only for `count()`.
    pub arg: Option<TExpr>,
    /// `where COND`: only rows where it is true are aggregated.
    pub filter: Option<TExpr>,
    pub ty: Type,
}

/// An entity: the rows of `market` grouped by `key`, with per-key features.
#[derive(Clone, Debug)]
pub struct EntityDef {
    pub name: String,
    pub span: Span,
    pub market: usize,
    pub key: Column,
    pub features: Vec<MeasureDef>,
    /// Aggregates of the features over entity rows (for entity segmentations).
    pub measures: Vec<MeasureDef>,
}

impl EntityDef {
    /// An entity row's columns: the key, then each feature.
    pub fn columns(&self) -> Vec<Column> {
        let mut cols = vec![self.key.clone()];
        cols.extend(self.features.iter().map(|f| Column {
            name: f.name.clone(),
            ty: f.ty,
            nullable: true,
        }));
        cols
    }
}

/// Whose rows a dimension labels: a market's, or an entity's (one row per key,
/// joined back to the market's rows by the key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Market(usize),
    Entity(usize),
}

/// A dimension: how to label each row of its owner.
#[derive(Clone, Debug)]
pub struct DimDef {
    pub name: String,
    pub span: Span,
    /// The whole `dimension ... = ...` statement.
    pub def_span: Span,
    pub owner: Owner,
    /// The market whose rows the dimension finally labels.
    pub market: usize,
    pub kind: DimKind,
    /// Every label in declared order, `else` last; empty when labels come from data.
    pub labels: Vec<String>,
    /// For a column dimension, `order [...]`: these labels sort first, in this order.
    pub order: Vec<String>,
}

impl DimDef {
    /// The columns the dimension's labelling reads (rules: every condition's).
    pub fn input_columns(&self) -> Vec<String> {
        let mut cols = Vec::new();
        match &self.kind {
            DimKind::Rules { arms, .. } => arms.iter().for_each(|a| a.cond.columns(&mut cols)),
            DimKind::Map { expr, .. }
            | DimKind::Bins { expr, .. }
            | DimKind::Column(expr)
            | DimKind::Top { expr, .. }
            | DimKind::Quantiles { expr, .. }
            | DimKind::Pareto { expr, .. } => expr.columns(&mut cols),
        }
        cols
    }

    /// Labels are known before reading data (not a column's values or a top-N ranking).
    pub fn has_static_labels(&self) -> bool {
        !matches!(self.kind, DimKind::Column(_) | DimKind::Top { .. })
    }
}

/// The kinds of labelling. `Column` and `Top` take their labels from the data; the
/// others have labels known from the spec.
#[derive(Clone, Debug)]
pub enum DimKind {
    Column(TExpr),
    Top {
        n: u64,
        expr: TExpr,
        other: String,
    },
    Map {
        expr: TExpr,
        arms: Vec<MapArm>,
        else_label: Option<String>,
    },
    Rules {
        arms: Vec<RuleArm>,
        else_label: Option<String>,
        partition: bool,
    },
    Bins {
        expr: TExpr,
        cuts: Vec<Value>,
        closed_right: bool,
        labels: Vec<String>,
    },
    /// On an entity: rank by `expr` descending (ties by key); an entity is in group
    /// 1 + the number of cuts at or below the share of the total held by the
    /// entities ranked before it.
    Pareto {
        expr: TExpr,
        cuts: Vec<f64>,
        labels: Vec<String>,
    },
    /// `n` groups of equal size (by rank; equal values share a group), or, with
    /// `cuts`, groups cut at those fractions of the ordered values.
    Quantiles {
        expr: TExpr,
        n: u64,
        cuts: Option<Vec<f64>>,
        labels: Vec<String>,
    },
}

/// Values that get one label in a mapping, each with its span.
#[derive(Clone, Debug)]
pub struct MapArm {
    pub values: Vec<(Value, Span)>,
    pub label: String,
    pub span: Span,
}

/// A condition and the label it gives (first match for `rules`, the only match for
/// `partition`).
#[derive(Clone, Debug)]
pub struct RuleArm {
    pub cond: TExpr,
    pub label: String,
    pub span: Span,
}

/// How a segmentation combines its dimensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegMode {
    /// `by a` or `by a x b`: the full grid of labels.
    Cross,
    /// `by a then b`: a hierarchy with subtotals.
    Then,
}

/// A segmentation: a market's rows (after its `where`) by dimensions, with the
/// measures it reports.
#[derive(Clone, Debug)]
pub struct SegDef {
    pub name: String,
    pub span: Span,
    pub market: usize,
    pub dims: Vec<usize>,
    pub mode: SegMode,
    pub filter: Option<TExpr>,
    /// Indices into the market's measures, in output order.
    pub measures: Vec<usize>,
    /// `share of MEASURE`; `None` is a share of rows.
    pub share_of: Option<usize>,
    /// `with total`: a grand-total row, level 0 with null labels; the output then has
    /// a `level` column even for `x` (cells are level k).
    pub with_total: bool,
    /// `segment ENTITY by ...`: the rows are the entity's (one per key of `market`);
    /// `rows` counts entities and the measures are the entity's.
    pub entity: Option<usize>,
    /// `over EXPR [by UNIT]`: the segmentation once per period.
    pub over: Option<OverDef>,
    /// `migrate over ... from P1 to P2`: the from × to matrix of an entity
    /// dimension between two periods.
    pub migrate: Option<MigrateDef>,
}

/// The `from` of an entity absent from the first period of a `migrate`.
pub const MIGRATE_NEW: &str = "new";
/// The `to` of an entity absent from the second period.
pub const MIGRATE_LOST: &str = "lost";

/// `migrate over EXPR [by UNIT] from P1 to P2`.
#[derive(Clone, Debug)]
pub struct MigrateDef {
    pub over: OverDef,
    /// The two periods as `over` numbers them, and as written.
    pub from: PeriodValue,
    pub to: PeriodValue,
}

/// A period of an `over` expression: a number (calendar, int) or text.
#[derive(Clone, Debug, PartialEq)]
pub enum PeriodValue {
    Num(i64),
    Text(String),
}

/// The period of each market row in an `over` segmentation.
#[derive(Clone, Debug)]
pub struct OverDef {
    /// A row expression over the market's columns (a date, timestamp, int or text).
    pub expr: TExpr,
    pub kind: PeriodKind,
    pub span: Span,
}

impl OverDef {
    /// A period as the `period` column shows it (`2024`, `"2024-Q1"`, an int or
    /// text value), numbered as `over` numbers it.
    pub fn parse_period(&self, text: &str) -> Option<PeriodValue> {
        match self.kind {
            PeriodKind::Calendar(u) => u.parse_label(text).map(PeriodValue::Num),
            PeriodKind::Int => text.trim().parse().ok().map(PeriodValue::Num),
            PeriodKind::Text => Some(PeriodValue::Text(text.to_string())),
        }
    }
}

/// How an `over` expression becomes periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodKind {
    /// A date or timestamp by a calendar unit; every period between the first and
    /// the last is listed.
    Calendar(crate::calendar::PeriodUnit),
    /// An integer period column (a year): every integer between the first and last.
    Int,
    /// A text period column: the values present, in text order.
    Text,
}

impl SegDef {
    /// Whose rows are segmented.
    pub fn owner(&self) -> Owner {
        match self.entity {
            Some(e) => Owner::Entity(e),
            None => Owner::Market(self.market),
        }
    }

    /// The number of label columns that lead each output row: `period` under
    /// `over`, then one per dimension.
    pub fn label_columns(&self) -> usize {
        if self.migrate.is_some() {
            return 2;
        }
        self.dims.len() + usize::from(self.over.is_some())
    }

    /// Whether the output has a `level` column.
    pub fn has_levels(&self) -> bool {
        self.mode == SegMode::Then || self.with_total
    }
}

/// An `expect`: a partition to prove (statically, else on data), or a condition
/// over segmentation results.
#[derive(Clone, Debug)]
pub enum ExpectDef {
    Partition { segment: usize, span: Span, proven: Option<bool> },
    Assert { expr: TExpr, span: Span },
}

/// An `example`: a row of the owner and the label each named dimension must give it.
#[derive(Clone, Debug)]
pub struct ExampleDef {
    pub owner: Owner,
    pub span: Span,
    pub fields: Vec<(String, Value)>,
    pub expected: Vec<(usize, Option<String>, Span)>,
}

/// The row functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Lower,
    Upper,
    Trim,
    Length,
    Year,
    Month,
    Abs,
    Round,
    Coalesce,
    /// `days_between(a, b)`: whole days from `a` to `b` (timestamps as their date).
    DaysBetween,
    /// `hours_between(a, b)`: hours from `a` to `b`, fractional.
    HoursBetween,
    Quarter,
    /// ISO 8601 week of the year (1-53; week 1 holds the year's first Thursday).
    Week,
    /// 1 = Monday ... 7 = Sunday.
    Weekday,
    Day,
    /// `date(ts)`: a timestamp's date.
    Date,
    /// `today()`: the as-of date. The driver replaces it with a literal before
    /// anything is planned or evaluated (`Checked::bind_today`).
    Today,
    StartsWith,
    Contains,
    /// `substr(x, start, len)`: characters from 1-based `start`, at most `len`.
    Substr,
}

/// What an `expect` asks of a segmentation's result.
#[derive(Clone, Debug, PartialEq)]
pub struct SegQuery {
    pub what: QueryWhat,
    pub segment: usize,
    /// One label per leading label column (the period first, under `over`);
    /// `None` is the unassigned (null) segment.
    pub labels: Vec<Option<String>>,
}

/// Which number of a segment an `expect` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryWhat {
    Rows,
    Share,
    ShareOfParent,
    Measure(usize),
    /// `growth`, `share_change`, `parent_share_change` of an `over` segmentation.
    Growth,
    ShareChange,
    ParentShareChange,
}

/// A typed row expression.
#[derive(Clone, Debug, PartialEq)]
pub struct TExpr {
    pub kind: TKind,
    pub ty: Type,
    pub span: Span,
}

/// The shapes of a row expression, names resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum TKind {
    /// A column of the row in scope (a market column, or an entity's key or feature).
    Col(String),
    Lit(Value),
    Neg(Box<TExpr>),
    Not(Box<TExpr>),
    Bin(BinOp, Box<TExpr>, Box<TExpr>),
    Between {
        expr: Box<TExpr>,
        low: Box<TExpr>,
        high: Box<TExpr>,
        negated: bool,
    },
    InList {
        expr: Box<TExpr>,
        list: Vec<TExpr>,
        negated: bool,
    },
    IsNull {
        expr: Box<TExpr>,
        negated: bool,
    },
    Func(Func, Vec<TExpr>),
    /// `x [not] like "pat%"`: SQL `LIKE` (`%` any characters, `_` one, `\\` escapes).
    Like {
        expr: Box<TExpr>,
        pattern: Box<TExpr>,
        negated: bool,
    },
    /// Only in `expect`: a number read off a segmentation's result.
    Query(SegQuery),
}

impl TExpr {
    /// The direct sub-expressions, in order.
    pub fn children(&self) -> Vec<&TExpr> {
        match &self.kind {
            TKind::Col(_) | TKind::Lit(_) | TKind::Query(_) => Vec::new(),
            TKind::Neg(e) | TKind::Not(e) | TKind::IsNull { expr: e, .. } => vec![e],
            TKind::Bin(_, a, b) | TKind::Like { expr: a, pattern: b, .. } => vec![a, b],
            TKind::Between { expr, low, high, .. } => vec![expr, low, high],
            TKind::InList { expr, list, .. } => {
                std::iter::once(&**expr).chain(list.iter()).collect()
            }
            TKind::Func(_, args) => args.iter().collect(),
        }
    }

    /// The direct sub-expressions, mutably.
    pub fn children_mut(&mut self) -> Vec<&mut TExpr> {
        match &mut self.kind {
            TKind::Col(_) | TKind::Lit(_) | TKind::Query(_) => Vec::new(),
            TKind::Neg(e) | TKind::Not(e) | TKind::IsNull { expr: e, .. } => vec![e],
            TKind::Bin(_, a, b) | TKind::Like { expr: a, pattern: b, .. } => vec![a, b],
            TKind::Between { expr, low, high, .. } => vec![expr, low, high],
            TKind::InList { expr, list, .. } => {
                std::iter::once(&mut **expr).chain(list.iter_mut()).collect()
            }
            TKind::Func(_, args) => args.iter_mut().collect(),
        }
    }

    /// Every column the expression reads.
    pub fn columns(&self, out: &mut Vec<String>) {
        if let TKind::Col(c) = &self.kind {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        self.children().into_iter().for_each(|e| e.columns(out));
    }
}
