//! The owned, pest-free syntax tree. Every node carries the byte span it came from.

use crate::span::Span;

/// A name as written (a quoted name without its backticks), and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal, escapes resolved, and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

/// A whole spec: its statements in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Program {
    pub items: Vec<Item>,
}

/// One statement; `span` covers all of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub kind: ItemKind,
    pub span: Span,
}

/// The six kinds of statement.
#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    Market(Market),
    Table(Table),
    Entity(Entity),
    Dimension(Dimension),
    Segment(Segment),
    Expect(Expect),
    Example(Example),
}

/// `market NAME from "PATH" [as FORMAT] { columns {...}; where ...; measure ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Market {
    pub name: Ident,
    /// `from table "schema.name"`: `source` names a database table, not a file.
    pub db_table: bool,
    pub source: StrLit,
    pub format: Option<Ident>,
    pub columns: Option<ColumnsBlock>,
    pub filters: Vec<Expr>,
    pub measures: Vec<MeasureDef>,
    /// `join T on COL [= T.KEY]`, in order.
    pub joins: Vec<Join>,
}

/// `join T on COL` (the table's key) or `join T on COL = T.KEY`.
#[derive(Clone, Debug, PartialEq)]
pub struct Join {
    pub table: Ident,
    pub column: Ident,
    /// `= T.KEY`: the table and key as written.
    pub key: Option<(Ident, Ident)>,
    pub span: Span,
}

/// `table NAME from "PATH" [as FORMAT] { columns { ... } key COL }`: a lookup table.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub name: Ident,
    pub source: StrLit,
    pub format: Option<Ident>,
    pub columns: Option<ColumnsBlock>,
    pub key: Option<Ident>,
    pub span: Span,
}

/// `columns { ... }`: the declared schema.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnsBlock {
    pub columns: Vec<ColumnDecl>,
    pub span: Span,
}

/// One declared column: `name type`.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnDecl {
    pub name: Ident,
    pub ty: TypeName,
    pub span: Span,
}

/// The column types a spec can declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TypeKw {
    Int,
    Float,
    Text,
    Bool,
    Date,
    Timestamp,
}

/// A type keyword where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeName {
    pub kw: TypeKw,
    pub span: Span,
}

/// `measure NAME = EXPR` in a market, or `NAME = EXPR` in an entity.
#[derive(Clone, Debug, PartialEq)]
pub struct MeasureDef {
    pub name: Ident,
    pub expr: Expr,
    pub span: Span,
}

/// `entity NAME of MARKET by KEY { features }`: one row per key.
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub name: Ident,
    pub market: Ident,
    pub key: Ident,
    pub features: Vec<MeasureDef>,
    /// `measure NAME = AGG(feature)`: over the entity's rows, for entity segmentations.
    pub measures: Vec<MeasureDef>,
}

/// `dimension NAME on OWNER = BODY`; the owner is a market or an entity.
#[derive(Clone, Debug, PartialEq)]
pub struct Dimension {
    pub name: Ident,
    pub owner: Ident,
    pub body: DimBody,
}

/// How a dimension labels a row.
#[derive(Clone, Debug, PartialEq)]
pub enum DimBody {
    /// The value itself; `order [...]` puts these values first, in this order.
    Column(Expr, Option<Vec<Constant>>),
    Top {
        n: u64,
        n_span: Span,
        expr: Expr,
        else_label: Option<StrLit>,
        span: Span,
    },
    Mapping {
        expr: Expr,
        arms: Vec<MapArm>,
        else_label: Option<StrLit>,
        span: Span,
    },
    Rules {
        arms: Vec<RuleArm>,
        else_label: Option<StrLit>,
        partition: bool,
        span: Span,
    },
    Bins {
        expr: Expr,
        cuts: Vec<Constant>,
        cuts_span: Span,
        closed_right: bool,
        labels: Option<Vec<StrLit>>,
        labels_span: Span,
        span: Span,
    },
    /// `pareto EXPR [cuts] [labels [...]]`: ABC groups by cumulative share.
    Pareto {
        expr: Expr,
        cuts: Vec<Constant>,
        cuts_span: Span,
        labels: Option<Vec<StrLit>>,
        labels_span: Span,
        span: Span,
    },
    /// `n` equal groups, or groups cut at the fractions `cuts` (then `n` is 0).
    Quantiles {
        expr: Expr,
        n: u64,
        n_span: Span,
        cuts: Option<Vec<Constant>>,
        labels: Option<Vec<StrLit>>,
        labels_span: Span,
        span: Span,
    },
}

/// `"a", "b" => "label"` in a mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct MapArm {
    pub values: Vec<Constant>,
    pub label: StrLit,
    pub span: Span,
}

/// `CONDITION => "label"` in `rules` or `partition`.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleArm {
    pub cond: Expr,
    pub label: StrLit,
    pub span: Span,
}

/// `segment [NAME =] MARKET by D1 (then|x) D2 ... [where ...] [report ...] [share of M]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub name: Option<Ident>,
    pub market: Ident,
    pub dims: Vec<Ident>,
    pub ops: Vec<(ChainOp, Span)>,
    pub filters: Vec<Expr>,
    pub measures: Option<(Vec<Ident>, Span)>,
    pub share_of: Option<Ident>,
    /// `with total`: a grand-total row (level 0, labels null).
    pub with_total: bool,
    /// `over EXPR [by UNIT]`: the segmentation per period (more than one is an error).
    pub over: Vec<Over>,
    /// `migrate over EXPR [by UNIT] from P1 to P2`.
    pub migrate: Option<Box<Migrate>>,
    pub span: Span,
}

/// `migrate over order_date by year from 2024 to 2025`: periods as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Migrate {
    pub over: Over,
    pub from: (String, Span),
    pub to: (String, Span),
    pub kw_span: Span,
}

/// `over order_date by month`, or `over year_column`.
#[derive(Clone, Debug, PartialEq)]
pub struct Over {
    pub expr: Expr,
    pub unit: Option<Ident>,
    pub span: Span,
    pub kw_span: Span,
}

/// How two dimensions of a segmentation combine: nested (`then`) or crossed (`x`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainOp {
    Then,
    Cross,
}

/// `expect SEG is partition` or `expect CONDITION` over segmentation results.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    Partition { segment: Ident },
    Assert(Expr),
}

/// `example OWNER { column = value, ... } => dimension = "label", ...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub owner: Ident,
    pub fields: Vec<(Ident, Constant)>,
    pub expected: Vec<(Ident, Option<StrLit>, Span)>,
}

/// A literal value as written (negative numbers included).
#[derive(Clone, Debug, PartialEq)]
pub struct Constant {
    pub value: Lit,
    pub span: Span,
}

/// A literal's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Int(i64),
    Float(f64),
    /// `20%`, kept apart from floats so the checker can say it was a percentage.
    Percent(f64),
    Text(String),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01T00:00:00.
    Timestamp(i64),
    Null,
}

/// A row or aggregate expression; the checker decides which it may be.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// Binary operators, arithmetic, comparison and logical.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
}

impl BinOp {
    /// The operator as written in a spec.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Eq => "=",
            BinOp::NotEq => "!=",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    /// `=`, `!=`, `<`, `<=`, `>`, `>=`.
    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq)
    }

    /// `+`, `-`, `*`, `/`.
    pub fn is_arithmetic(self) -> bool {
        matches!(self, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div)
    }
}

/// The shapes of an expression. `Name` is a column, a measure or a feature,
/// depending on where it appears; `Call` is a function or an aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Lit(Lit),
    Name(Ident),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Binary {
        op: BinOp,
        op_span: Span,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// `x [not] like pattern`.
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    /// `f(args)`, `count(distinct x)`, `sum(x where cond)`: `filter` is the `where`.
    Call {
        func: Ident,
        distinct: bool,
        args: Vec<Expr>,
        filter: Option<Box<Expr>>,
    },
}
