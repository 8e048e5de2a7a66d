//! Every internal column name the planner makes, in one place. All start with `__`;
//! a user column of the same name would make a duplicate column, which DataFusion
//! refuses when the plan is built (a loud error, never a number read from the wrong
//! column).
//!
//! Indices are the checked program's: `d` a dimension, `e` an entity, `i` a measure.

/// A dimension's label (Utf8 or a string view).
pub fn label(d: usize) -> String {
    format!("__d{d}")
}

/// A dimension's label code: its label's position, Int64 (see `codes`).
pub fn code(d: usize) -> String {
    format!("__c{d}")
}

/// A `top` label's rank by count (1 is the most frequent), carried to the output.
pub fn top_order(d: usize) -> String {
    format!("__o{d}")
}

/// A `top` label's rank, the same in every cell of the grid (a window over `top_order`).
pub fn top_order_in_grid(d: usize) -> String {
    format!("__og{d}")
}

/// The ranking side of a `top` join: the value, its rank and the probe-side key.
pub fn top_value(d: usize) -> String {
    format!("__tv{d}")
}
pub fn top_rank(d: usize) -> String {
    format!("__tr{d}")
}
pub fn top_key(d: usize) -> String {
    format!("__tk{d}")
}
/// Rows per value in a `top` ranking.
pub const TOP_COUNT: &str = "__tn";

/// A `pareto` dimension's running total before an entity, and the grand total:
/// named by the ranked expression, so dimensions ranking the same value share one
/// pair of windows (DataFusion cannot plan two identical windows side by side).
pub fn pareto(e: &crate::check::program::TExpr) -> (String, String) {
    let (r, _) = quantile(e);
    let k = &r["__qr".len()..];
    (format!("__pb{k}"), format!("__pt{k}"))
}

/// A label domain in the grid of `x`.
pub fn grid(d: usize) -> String {
    format!("__g{d}")
}

/// The table row number that join `j` of a market found (a lookup join).
pub fn join_row(j: usize) -> String {
    format!("__j{j}")
}

/// The key of a market's join number `j`, kept beside the row columns (lookups).
pub fn join_key(j: usize) -> String {
    format!("__jk{j}")
}

/// An entity's key on its own side of the join back to the market rows.
pub fn entity_key(e: usize) -> String {
    format!("__k{e}")
}

/// Whether dimension `i` (0-based, of a `then` chain) was rolled up in a grouping set.
pub fn grouping(i: usize) -> String {
    format!("__gr{i}")
}

/// The total of the share's quantity over a row's parent at `level`.
pub fn parent_total(level: usize) -> String {
    format!("__par{level}")
}

/// A reported measure's value, cast to its type.
pub fn measure(i: usize) -> String {
    format!("__m{i}")
}

/// Prefixes of the base aggregates of measures (`AggSet`) and of entity features.
pub const MEASURE_AGG: &str = "__a";
pub const FEATURE_AGG: &str = "__f";
/// The aggregates of a shared pass's cells (`shared`).
pub const SHARED_AGG: &str = "__p";
/// The combinable aggregates of a reduced market's rows (`reduce`).
pub const REDUCED_AGG: &str = "__r";

/// Rows in a segment (count of all rows).
pub const ROWS: &str = "__rows";
/// The `then` level of a row: 1 for the first dimension, k for leaves.
pub const LEVEL: &str = "__level";
/// The share's quantity over every row of a level (or of the segmentation).
pub const TOTAL: &str = "__tot";
/// The combined label code of a cell: each coded dimension's code times its stride.
pub const CELL: &str = "__cell";
/// A row's position in its file, for `assign`'s output order.
pub const ASSIGN_ROW: &str = "__row";
/// The argument names of the code UDFs (not columns of any plan).
pub const CODE_INPUT: &str = "__x";
pub const LABEL_INPUT: &str = "__label";

/// Rank and count windows for the quantiles of one expression: named by the
/// expression, so dimensions cutting the same value share one pair of windows.
pub fn quantile(e: &crate::check::program::TExpr) -> (String, String) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{:?}", e.kind).hash(&mut h);
    let k = h.finish();
    (format!("__qr{k:x}"), format!("__qc{k:x}"))
}

/// A row's period in an `over` segmentation (see `period`).
pub const PERIOD: &str = "__p";
/// The period of an entity's row, on the entity's side of the join back.
pub const ENTITY_PERIOD: &str = "__pe";
/// The period of dimension `d`'s `top` ranking, on the ranking's side of its join.
pub fn top_period(d: usize) -> String {
    format!("__pt{d}")
}
/// `share` and `share_of_parent` before the output, to compare across periods.
pub const SHARE: &str = "__sh";
pub const SHARE_OF_PARENT: &str = "__sop";
/// The previous period's share quantity, `share` and `share_of_parent`.
pub const PREV_QUANTITY: &str = "__prev_q";
pub const PREV_SHARE: &str = "__prev_sh";
pub const PREV_SHARE_OF_PARENT: &str = "__prev_sop";
