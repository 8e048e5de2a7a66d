//! Diagnostics raised by the checker: names, types, definitions, data schemas.

use super::program::{DimDef, Type};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// The closest candidate, if any is close enough to be a plausible typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn did_you_mean(d: Diagnostic, what: &str, name: &str, candidates: Vec<&str>) -> Diagnostic {
    match suggest(name, candidates.iter().copied()) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None if candidates.is_empty() => d.with_help(format!("no {what} is defined here")),
        None => {
            let mut list: Vec<&str> = candidates;
            list.sort();
            let shown: Vec<String> = list.iter().take(8).map(|c| format!("`{c}`")).collect();
            let more = if list.len() > 8 { ", ..." } else { "" };
            d.with_help(format!("the {what}s here are {}{more}", shown.join(", ")))
        }
    }
}

pub fn unknown_column(span: Span, name: &str, scope: &str, candidates: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(Code::E0201, format!("unknown column `{name}` in {scope}"))
        .with_label(span, "not a column of this market");
    did_you_mean(d, "column", name, candidates)
}

pub fn unknown_market(span: Span, name: &str, candidates: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(Code::E0202, format!("unknown market `{name}`"))
        .with_label(span, "no market has this name");
    did_you_mean(d, "market", name, candidates)
}

pub fn unknown_dimension(span: Span, name: &str, candidates: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(Code::E0203, format!("unknown dimension `{name}`"))
        .with_label(span, "no dimension has this name");
    did_you_mean(d, "dimension", name, candidates)
}

pub fn unknown_measure(span: Span, name: &str, market: &str, candidates: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(Code::E0204, format!("unknown measure `{name}` on market `{market}`"))
        .with_label(span, "not a measure of this market");
    did_you_mean(d, "measure", name, candidates)
}

pub fn unknown_segment(span: Span, name: &str, candidates: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(Code::E0205, format!("unknown segmentation `{name}`"))
        .with_label(span, "no segmentation has this name");
    did_you_mean(d, "segmentation", name, candidates)
}

pub fn duplicate(span: Span, first: Span, what: &str, name: &str) -> Diagnostic {
    Diagnostic::new(Code::E0206, format!("{what} `{name}` is defined twice"))
        .with_label(span, "defined again here")
        .with_label(first, "first defined here")
        .with_help(format!("rename one of them, or remove the second `{name}`"))
}

pub fn builtin_rows(span: Span) -> Diagnostic {
    Diagnostic::new(Code::E0206, "measure `rows` is built in")
        .with_label(span, "this redefines `rows`")
        .with_help("every market already counts its rows as `rows`; pick another name")
}

pub fn cycle(span: Span, path: &[String]) -> Diagnostic {
    Diagnostic::new(Code::E0207, format!("`{}` is defined in terms of itself", path[0]))
        .with_label(span, "this reference closes the cycle")
        .with_note(format!("the cycle is {}", path.join(" → ")))
        .with_help("define one of these from the data instead of from the others")
}

pub fn unknown_function(span: Span, name: &str, candidates: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(Code::E0208, format!("unknown function `{name}`"))
        .with_label(span, "not a function");
    did_you_mean(d, "function", name, candidates)
}

pub fn unknown_owner(span: Span, name: &str, candidates: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(Code::E0209, format!("unknown market or entity `{name}`"))
        .with_label(span, "no market or entity has this name");
    did_you_mean(d, "market or entitie", name, candidates)
        .with_note("a dimension labels the rows of a market or of an entity")
}

pub fn unknown_label(span: Span, label: &str, dim: &str, candidates: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(Code::E0210, format!("dimension `{dim}` has no label \"{label}\""))
        .with_label(span, "not a label of this dimension");
    did_you_mean(d, "label", label, candidates)
}

/// The columns `seg run` adds to every result; a dimension or measure of the same
/// name would make two output columns with one name.
/// The columns seg adds to a segmentation's output (v1), and those the v2 contract
/// reserves for `over` and `migrate` output.
pub const OUTPUT_COLUMNS: [&str; 10] = [
    "rows",
    "share",
    "level",
    "share_of_parent",
    "period",
    "growth",
    "share_change",
    "parent_share_change",
    "from",
    "to",
];

pub fn reserved_name(span: Span, what: &str, name: &str) -> Diagnostic {
    Diagnostic::new(Code::E0211, format!("{what} `{name}` has the name of an output column"))
        .with_label(span, format!("`{name}` is a column seg adds to results"))
        .with_help(format!(
            "seg names these result columns: {}; rename the {what}, e.g. `{name}_{}`",
            OUTPUT_COLUMNS.join(", "),
            if what == "dimension" { "band" } else { "value" }
        ))
}

pub fn measure_named_like_dimension(dim_ref: Span, measure: Span, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::E0211,
        format!("measure `{name}` has the name of a dimension of this segmentation"),
    )
    .with_label(dim_ref, format!("this dimension's column is named `{name}`"))
    .with_label(measure, "and so is this measure's")
    .with_help(
        "rename the measure or the dimension, or leave the measure out with `measures (...)`",
    )
}

pub fn mismatch(span: Span, expected: &str, found: Type, help: &str) -> Diagnostic {
    Diagnostic::new(Code::E0301, format!("expected {expected}, found {found}"))
        .with_label(span, format!("this is {found}"))
        .with_help(help.to_string())
}

pub fn operands(
    op_span: Span,
    op: &str,
    lhs: (Span, Type),
    rhs: (Span, Type),
    help: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::E0301,
        format!("`{op}` cannot compare or combine {} with {}", lhs.1, rhs.1),
    )
    .with_label(op_span, "these operands do not fit")
    .with_label(lhs.0, format!("{}", lhs.1))
    .with_label(rhs.0, format!("{}", rhs.1))
    .with_help(help.to_string())
}

pub fn not_orderable(span: Span, what: &str, found: Type) -> Diagnostic {
    Diagnostic::new(Code::E0302, format!("{what} needs a number or a date, found {found}"))
        .with_label(span, format!("this is {found}"))
        .with_help("cut numbers or dates; to group text, map its values: `dimension d on m = col { \"a\" => \"A\" }`")
}

pub fn aggregate_in_row(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(Code::E0303, format!("aggregate `{name}` where a row value is expected"))
        .with_label(span, "aggregates belong in measures and entity features")
        .with_help("define it as a measure (`measure m = ...`) or an entity feature, and use that")
}

pub fn column_in_aggregate_scope(span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(Code::E0304, format!("column `{name}` is used outside an aggregate"))
        .with_label(span, "a measure sums up many rows; one row's value has no meaning here")
        .with_help(format!("wrap it in an aggregate, e.g. `sum({name})` or `max({name})`"))
}

pub fn arity(span: Span, name: &str, expected: &str, found: usize) -> Diagnostic {
    Diagnostic::new(Code::E0305, format!("`{name}` takes {expected}, found {found}"))
        .with_label(span, "wrong number of arguments")
        .with_help(format!("call it as documented in docs/language.md, e.g. `{name}(x)`"))
}

pub fn nested_aggregate(span: Span) -> Diagnostic {
    Diagnostic::new(Code::E0306, "an aggregate inside an aggregate")
        .with_label(span, "this aggregate is nested")
        .with_help("aggregate row values once; to aggregate per key first, define an entity")
}

pub fn distinct_misuse(span: Span) -> Diagnostic {
    Diagnostic::new(Code::E0307, "`distinct` only goes with `count`")
        .with_label(span, "here")
        .with_help("write `count(distinct x)`")
}

pub fn bins_not_ascending(span: Span, prev: Span, value: &str, previous: &str) -> Diagnostic {
    Diagnostic::new(Code::E0401, "bin cut points are not strictly ascending")
        .with_label(span, format!("{value} comes after {previous}"))
        .with_label(prev, "the previous cut point")
        .with_help("list cut points from low to high, each once: `bins age [18, 25, 35]`")
}

pub fn duplicate_mapping(
    span: Span,
    first: Span,
    value: &str,
    label: &str,
    first_label: &str,
) -> Diagnostic {
    let msg = if label == first_label {
        format!("value {value} is listed twice under \"{label}\"")
    } else {
        format!("value {value} is mapped to both \"{first_label}\" and \"{label}\"")
    };
    Diagnostic::new(Code::E0402, msg)
        .with_label(span, format!("mapped to \"{label}\" here"))
        .with_label(first, format!("already mapped to \"{first_label}\" here"))
        .with_help(format!("a value gets one label: remove {value} from one of the lists"))
}

pub fn label_count(span: Span, expected: usize, found: usize) -> Diagnostic {
    Diagnostic::new(Code::E0403, format!("{expected} bins need {expected} labels, found {found}"))
        .with_label(span, format!("{found} labels"))
        .with_help(format!(
            "n cut points make n + 1 bins: give {expected} labels, lowest bin first"
        ))
}

pub fn foreign_dimension(
    span: Span,
    dim: &str,
    dim_market: &str,
    market: &str,
    def: Span,
) -> Diagnostic {
    Diagnostic::new(Code::E0404, format!("dimension `{dim}` labels market `{dim_market}`, not `{market}`"))
        .with_label(span, format!("used on `{market}` here"))
        .with_label(def, format!("defined on `{dim_market}`"))
        .with_help(format!("define a dimension on `{market}` (`dimension name on {market} = ...`), or segment `{dim_market}`"))
}

pub fn unrelated_markets(a: Span, a_market: &str, b: Span, b_market: &str) -> Diagnostic {
    Diagnostic::new(Code::E0405, format!("dimensions from unrelated markets `{a_market}` and `{b_market}`"))
        .with_label(b, format!("labels `{b_market}`"))
        .with_label(a, format!("labels `{a_market}`"))
        .with_help("a segmentation groups the rows of one market; every dimension must label that market or an entity of it")
}

pub fn mixed_chain(then_span: Span, x_span: Span) -> Diagnostic {
    Diagnostic::new(Code::E0406, "a segmentation mixes `then` and `x`")
        .with_label(x_span, "a cross")
        .with_label(then_span, "a hierarchy")
        .with_help("use `then` for a hierarchy with subtotals or `x` for a full grid, not both; write two segmentations")
}

pub fn repeated_dimension(span: Span, first: Span, name: &str) -> Diagnostic {
    Diagnostic::new(Code::E0407, format!("dimension `{name}` appears twice in one segmentation"))
        .with_label(span, "again here")
        .with_label(first, "first here")
        .with_help("each dimension splits the market once; remove the repetition")
}

pub fn bad_count(span: Span, what: &str, min: u64, max: u64) -> Diagnostic {
    Diagnostic::new(Code::E0408, format!("{what} must be between {min} and {max}"))
        .with_label(span, "out of range")
        .with_help(format!("pick a number from {min} to {max}"))
}

pub fn too_many_labels(span: Span, dim: &str, n: usize, found: usize) -> Diagnostic {
    Diagnostic::new(Code::E0409, format!("too many labels for segmentation over `{dim}`: it has {n} dimension(s), found {found} labels"))
        .with_label(span, "one label per dimension, in order")
        .with_help("name one label for each dimension, from the first")
}

pub fn entity_dim_in_example(span: Span, dim: &str, entity: &str) -> Diagnostic {
    Diagnostic::new(Code::E0410, format!("dimension `{dim}` labels entity `{entity}`, which a market row alone cannot decide"))
        .with_label(span, "needs the entity's aggregated features")
        .with_help(format!("write an example on the entity: `example {entity} {{ feature: value }} => {dim} \"label\"`"))
}

pub fn data_dependent_in_example(span: Span, dim: &str, kind: &str) -> Diagnostic {
    Diagnostic::new(
        Code::E0411,
        format!("dimension `{dim}` is a {kind}, which depends on the whole data set"),
    )
    .with_label(span, "an example row cannot decide this")
    .with_help("check it on data with `expect` instead")
}

pub fn no_schema(span: Span, market: &str) -> Diagnostic {
    Diagnostic::new(
        Code::E0501,
        format!("market `{market}` has no `columns` and data may not be read"),
    )
    .with_label(span, "its schema is unknown without the data file")
    .with_help("declare the columns (`columns { id int, region text }`), or run without --no-data")
}

pub fn table_without_columns(span: Span, market: &str) -> Diagnostic {
    Diagnostic::new(
        Code::E0501,
        format!("market `{market}` reads a database table and has no `columns`"),
    )
    .with_label(span, "its schema is unknown without the database")
    .with_help("declare the columns (`columns { id int, region text }`), or check it against the database: `seg check --on URL`")
}

pub fn unreadable(span: Span, path: &str, why: &str) -> Diagnostic {
    Diagnostic::new(Code::E0502, format!("cannot read the schema of `{path}`: {why}"))
        .with_label(span, "this data file")
        .with_help("check the path (it is relative to the spec's folder) and the file's format")
}

pub fn schema_mismatch(
    decl: Span,
    column: &str,
    declared: Type,
    found: &str,
    path: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::E0503,
        format!("column `{column}` is declared {declared} but `{path}` has {found}"),
    )
    .with_label(decl, format!("declared {declared} here"))
    .with_help(format!("declare `{column}` with the file's type, or fix the data"))
}

pub fn missing_in_data(decl: Span, column: &str, path: &str, candidates: Vec<&str>) -> Diagnostic {
    let d = Diagnostic::new(
        Code::E0503,
        format!("column `{column}` is declared but `{path}` has no such column"),
    )
    .with_label(decl, "declared here");
    did_you_mean(d, "column", column, candidates)
}

pub fn path_refused(span: Span, path: &str, why: &str) -> Diagnostic {
    Diagnostic::new(Code::E0504, format!("data path `{path}` is refused: {why}"))
        .with_label(span, "outside the project")
        .with_help("keep data inside the project (the folder with seg.toml or .git), or pass --allow-outside")
}

pub fn unknown_extension(span: Span, path: &str) -> Diagnostic {
    Diagnostic::new(Code::E0505, format!("cannot tell the format of `{path}`"))
        .with_label(span, "no known extension")
        .with_help(
            "name the format: `market m from \"data.txt\" as csv` (csv, parquet, json, arrow)",
        )
}

/// A data file `check` must read (to verify declared columns) cannot be read: the
/// run would fail the same way, so this is an error, not a warning.
pub fn unreadable_declared(span: Span, path: &str, why: &str) -> Diagnostic {
    Diagnostic::new(Code::E0502, format!("cannot read `{path}` to verify its declared columns: {why}"))
        .with_label(span, "this data file")
        .with_help("fix the path (it is relative to the spec's folder), or pass --no-data to check the spec alone")
}

pub fn bare_name_in_expect(id: &crate::syntax::ast::Ident) -> Diagnostic {
    Diagnostic::new(Code::E0309, format!("`{}` needs a segmentation to read from", id.name))
        .with_label(id.span, "a bare name in an expect")
        .with_help("read a number off a segmentation, e.g. `rows(SEG, \"label\")` or `share(SEG, \"label\")`")
}

pub fn not_a_measure(span: Span) -> Diagnostic {
    Diagnostic::new(Code::E0308, "a measure must be a number computed from aggregates")
        .with_label(span, "not an aggregate or arithmetic on aggregates")
        .with_help("measures read like `sum(revenue)`, `count(distinct customer_id)` or `value / volume`; filter rows with `where`")
}

pub fn filter_outside_aggregate(span: Span, func: &str) -> Diagnostic {
    Diagnostic::new(Code::E0310, format!("`{func}` is not an aggregate, so it takes no `where`"))
        .with_label(span, "a filter outside an aggregate")
        .with_help("filter inside an aggregate (`sum(revenue where online)`), or filter rows with the market's or the segmentation's `where`")
}

pub fn count_of_condition(span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::W0311,
        "`count` of a condition counts every row where it is known, true or false",
    )
    .with_label(span, "this is true or false on every row where it is known")
    .with_help("to count the rows where it holds, write `count(where CONDITION)`")
}

pub fn quantile_label_count(span: Span, expected: usize, found: usize) -> Diagnostic {
    Diagnostic::new(
        Code::E0403,
        format!("{expected} quantile groups need {expected} labels, found {found}"),
    )
    .with_label(span, format!("{found} labels"))
    .with_help("give one label per group, lowest values first; n cuts make n + 1 groups")
}

pub fn bad_quantile_cut(span: Span, after: f64) -> Diagnostic {
    let what = if after == 0.0 {
        "above 0%".to_string()
    } else {
        format!("above the previous cut ({}%)", super::program::format_percent(after))
    };
    Diagnostic::new(Code::E0412, format!("a quantile cut must be a fraction {what} and below 100%"))
        .with_label(span, "not a fraction in ascending order")
        .with_help("cut at fractions of the ordered values, ascending, e.g. `quantiles spend [50%, 90%, 99%]`")
}

pub fn not_on_entity(span: Span, dim: &str, entity: &str) -> Diagnostic {
    Diagnostic::new(
        Code::E0413,
        format!("dimension `{dim}` does not label entity `{entity}`, which this segmentation counts"),
    )
    .with_label(span, format!("not a dimension on `{entity}`"))
    .with_help(format!(
        "segment `{entity}` by dimensions `on {entity}`, or segment its market to size the market by them"
    ))
}

pub fn contradicts_derived(
    span: Span,
    feature: &str,
    given: &super::program::Value,
    derived: &super::program::Value,
) -> Diagnostic {
    Diagnostic::new(
        Code::E0414,
        format!("`{feature}: {given}` contradicts its definition, which gives {derived} here"),
    )
    .with_label(span, format!("the other fields make `{feature}` {derived}"))
    .with_help(format!("drop `{feature}` (it is derived from the other fields), or fix the values"))
}

pub fn pareto_outside_entity(span: Span, market: &str) -> Diagnostic {
    Diagnostic::new(Code::E0415, "`pareto` ranks entities, and this dimension is on a market")
        .with_label(span, format!("on market `{market}`"))
        .with_help(format!(
            "declare an entity (`entity customer of {market} by customer_id {{ spend = sum(revenue) }}`) and put the `pareto` dimension on it"
        ))
}

pub fn order_repeats(span: Span, first: Span, label: &str) -> Diagnostic {
    Diagnostic::new(Code::E0416, format!("`order` lists `{label}` twice"))
        .with_label(span, "listed again")
        .with_label(first, "first listed here")
        .with_help("list each value once, in the order the results should show them")
}

pub fn table_without_key(span: Span, table: &str) -> Diagnostic {
    Diagnostic::new(Code::E0418, format!("table `{table}` has no `key`"))
        .with_label(span, "a lookup table needs the column that identifies a row")
        .with_help("add `key COLUMN` inside the table's braces, e.g. `key customer_id`")
}

pub fn unknown_table(span: Span, name: &str, candidates: Vec<&str>) -> Diagnostic {
    did_you_mean(
        Diagnostic::new(Code::E0212, format!("unknown table `{name}`"))
            .with_label(span, "no table of this name"),
        "table",
        name,
        candidates,
    )
}

pub fn join_not_on_key(span: Span, table: &str, key: &str) -> Diagnostic {
    Diagnostic::new(Code::E0417, format!("a join matches table `{table}` on its key `{key}`"))
        .with_label(span, format!("not `{table}.{key}`"))
        .with_help(format!("write `on COLUMN = {table}.{key}`, or `on COLUMN` alone"))
}

pub fn join_types(
    span: Span,
    column: &str,
    ty: Type,
    table: &str,
    key: &str,
    key_ty: Type,
) -> Diagnostic {
    Diagnostic::new(
        Code::E0417,
        format!("`{column}` ({ty}) cannot match `{table}.{key}` ({key_ty})"),
    )
    .with_label(span, "a join on columns of different types")
    .with_help("join on columns of one type; declare them alike in `columns { ... }`")
}

pub fn ambiguous_column(span: Span, name: &str, qualified: &[String]) -> Diagnostic {
    Diagnostic::new(Code::E0213, format!("column `{name}` is ambiguous"))
        .with_label(span, "more than one joined source has it")
        .with_help(format!(
            "name the one you mean: {}",
            qualified.iter().map(|q| format!("`{q}`")).collect::<Vec<_>>().join(" or ")
        ))
}

pub fn dimension_on_table(span: Span, table: &str) -> Diagnostic {
    Diagnostic::new(Code::E0209, format!("`{table}` is a table, which labels no rows of its own"))
        .with_label(span, "a lookup table")
        .with_help(format!(
            "join it to a market (`join {table} on COLUMN`) and use its columns there, e.g. `{table}.country`"
        ))
}

pub fn over_twice(again: Span, first: Span) -> Diagnostic {
    Diagnostic::new(Code::E0425, "a segmentation has one `over`")
        .with_label(again, "a second `over`")
        .with_label(first, "the first is here")
        .with_help("keep one `over`; to see two period lengths, write two segmentations")
}

pub fn unknown_period_unit(span: Span, name: &str) -> Diagnostic {
    let units = ["year", "quarter", "month", "week"];
    let mut d = Diagnostic::new(Code::E0425, format!("unknown period `{name}`"))
        .with_label(span, "not a period length");
    d = match suggest(name, units) {
        Some(s) => {
            d.with_help(format!("did you mean `{s}`? periods are year, quarter, month and week"))
        }
        None => d.with_help("write `by year`, `by quarter`, `by month` or `by week`"),
    };
    d
}

pub fn over_date_without_unit(span: Span, ty: Type) -> Diagnostic {
    Diagnostic::new(Code::E0425, format!("`over` a {ty} needs a period length"))
        .with_label(span, format!("this is a {ty}"))
        .with_help("add the period: `by year`, `by quarter`, `by month` or `by week`")
}

pub fn unit_on_non_date(unit: Span, expr: Span, ty: Type) -> Diagnostic {
    Diagnostic::new(Code::E0425, format!("`by` a period length needs a date, found {ty}"))
        .with_label(unit, "a calendar period")
        .with_label(expr, format!("this is {ty}"))
        .with_help(
            "`over DATE by month` cuts dates into periods; an int or text column is its own period: drop `by ...`",
        )
}

pub fn not_a_period(span: Span, ty: Type) -> Diagnostic {
    Diagnostic::new(Code::E0425, format!("`over` needs a date, an int or text, found {ty}"))
        .with_label(span, format!("this is {ty}"))
        .with_help(
            "use a date column with `by year|quarter|month|week`, or an int or text period column",
        )
}

pub fn migrate_with_over(over: Span, migrate: Span) -> Diagnostic {
    Diagnostic::new(Code::E0427, "`migrate` has its own `over`")
        .with_label(over, "a second `over`")
        .with_label(migrate, "`migrate over ...` already names the periods")
        .with_help("remove this `over`: `migrate over DATE by year from 2024 to 2025`")
}

pub fn migrate_not_entity(span: Span, owner: &str, entity: Option<String>) -> Diagnostic {
    let help = match entity {
        Some(e) => format!("segment the entity: `segment moves = {e} by ... migrate ...`"),
        None => "put the dimension on an entity (`dimension tier on customer = ...`) and segment that entity".to_string(),
    };
    Diagnostic::new(
        Code::E0427,
        format!("`migrate` follows entities, and `{owner}` is not an entity"),
    )
    .with_label(span, "entities move between labels from one period to the next")
    .with_help(help)
}

pub fn migrate_one_dimension(span: Span, migrate: Span) -> Diagnostic {
    Diagnostic::new(Code::E0427, "`migrate` follows one dimension")
        .with_label(span, "a second dimension")
        .with_label(migrate, "the matrix is from × to of one dimension")
        .with_help("keep one dimension; write one `migrate` segmentation per dimension")
}

pub fn bad_period(span: Span, text: &str, kind: super::program::PeriodKind) -> Diagnostic {
    use super::program::PeriodKind;
    let like = match kind {
        PeriodKind::Calendar(u) => match u {
            crate::calendar::PeriodUnit::Year => "`2024`",
            crate::calendar::PeriodUnit::Quarter => "`\"2024-Q1\"`",
            crate::calendar::PeriodUnit::Month => "`\"2024-03\"`",
            crate::calendar::PeriodUnit::Week => "`\"2024-W09\"` (an ISO week)",
        },
        PeriodKind::Int => "an integer, `2024`",
        PeriodKind::Text => "a text value",
    };
    Diagnostic::new(Code::E0426, format!("`{text}` is not a period of this `over`"))
        .with_label(span, "not a period")
        .with_help(format!("write the period as the `period` column shows it: {like}"))
}

pub fn migrate_clause(migrate: Span, what: &str) -> Diagnostic {
    Diagnostic::new(Code::E0427, format!("`migrate` does not take `{what}`"))
        .with_label(migrate, "the matrix already covers every entity of both periods")
        .with_help(format!(
            "remove `{what}`; to follow a subset, put the condition on the market (`where` in its block)"
        ))
}

pub fn period_arg(span: Span, seg: &str) -> Diagnostic {
    Diagnostic::new(Code::E0426, format!("`{seg}` is per period: name the period"))
        .with_label(span, "which period?")
        .with_help(format!(
            "add the period as the last argument, as the `period` column shows it: `growth({seg}, \"SUV\", period \"2024\")`"
        ))
}

pub fn period_without_over(span: Span, seg: &str) -> Diagnostic {
    Diagnostic::new(Code::E0426, format!("`{seg}` has no periods"))
        .with_label(span, "a period, but the segmentation has no `over`")
        .with_help("remove `period ...`, or add `over DATE by year` to the segmentation")
}

pub fn migrate_reserved_label(span: Span, def: Span, label: &str) -> Diagnostic {
    Diagnostic::new(Code::E0427, format!("a migration cannot follow a label named `{label}`"))
        .with_label(span, "this dimension")
        .with_label(def, format!("has a label `{label}`"))
        .with_help(format!(
            "`new` and `lost` mark entities absent from a period; rename the label, e.g. `{label}_customers`"
        ))
}

pub fn lock_stale(d: Option<&DimDef>, lock_name: &str, message: String, why: &str) -> Diagnostic {
    let diag = Diagnostic::new(Code::E0430, message).with_help(format!(
        "run `seg lock` on the spec again to freeze {why}, or pass `--no-lock` to ignore the lock file"
    ));
    match d {
        Some(d) => diag.with_label(d.span, format!("`{lock_name}` is frozen differently")),
        None => diag,
    }
}

/// A lock file that cannot be read (malformed, or values of the wrong type).
pub fn lock_unreadable(lock_path: &str, why: &str) -> Diagnostic {
    Diagnostic::new(Code::E0431, format!("cannot read lock file `{lock_path}`: {why}"))
        .with_help("`seg lock` writes it again; `--no-lock` ignores it")
}
