//! Lifts the unparser's nested derived tables into one `WITH` list, each named
//! after what it computes, so a statement reads top to bottom like the spec.
//!
//! Only derived tables reached through `FROM` and joins are lifted, never those
//! inside expressions: a subquery in an expression may refer to the columns of the
//! query around it, which a CTE could not see. `LATERAL` ones stay for the same
//! reason, and so does a derived table with its own `ORDER BY` or `LIMIT`: the
//! order of the rows `seg run --on` reads back rests on it, and a CTE gives the
//! database more freedom to drop it. Inner tables are lifted first, so every CTE
//! comes after the ones it reads.

use crate::check::program::Checked;
use sqlparser::ast::{
    Cte, Expr, GroupByExpr, Ident, LimitClause, ObjectName, Query, Select, SelectItem, SetExpr,
    TableAlias, TableFactor, With,
};
use std::collections::HashSet;
use std::ops::ControlFlow;

/// The names a CTE may not take, and how names are quoted.
struct Names {
    taken: HashSet<String>,
    quote: char,
}

/// `query` with its derived tables lifted into `with`, after `first` (DuckDB's
/// readers). Names are fresh: none is an identifier of the statement, the data or
/// another CTE, so no reference changes what it resolves to.
pub fn lift(query: &mut Query, first: Vec<Cte>, p: &Checked, s: usize, quote: char) {
    let mut taken = super::names_in_use(p, &*query);
    taken.extend(first.iter().map(|c| c.alias.name.value.clone()));
    let _ = sqlparser::ast::visit_relations(query, |r| {
        taken.extend(r.0.iter().filter_map(|part| part.as_ident()).map(|i| i.value.clone()));
        ControlFlow::<()>::Continue(())
    });
    let names = &mut Names { taken, quote };
    let mut ctes = first;
    let mut renamed: Vec<(String, String)> = Vec::new();
    let readers = ctes.len();
    let mut lifter = Lifter { p, s, names, ctes: &mut ctes, readers, renamed: &mut renamed };
    lifter.query(query);
    if ctes.is_empty() {
        return;
    }
    // References to a lifted table by its old alias now name the CTE.
    let mut follow = |e: &mut Expr| {
        if let Expr::CompoundIdentifier(parts) = e {
            if parts.len() == 2 {
                if let Some((_, new)) = renamed.iter().find(|(old, _)| *old == parts[0].value) {
                    parts[0] = Ident::with_quote(names.quote, new.clone());
                }
            }
        }
        ControlFlow::<()>::Continue(())
    };
    let _ = sqlparser::ast::visit_expressions_mut(query, &mut follow);
    for c in ctes.iter_mut() {
        let _ = sqlparser::ast::visit_expressions_mut(&mut *c.query, &mut follow);
    }
    let with = query.with.get_or_insert_with(|| With {
        with_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        recursive: false,
        cte_tables: vec![],
    });
    ctes.append(&mut with.cte_tables);
    with.cte_tables = ctes;
}

struct Lifter<'a> {
    p: &'a Checked,
    s: usize,
    names: &'a mut Names,
    ctes: &'a mut Vec<Cte>,
    /// How many of `ctes` are DuckDB's file readers (a market's rows, not a step).
    readers: usize,
    /// (old alias, CTE name) of every lifted table.
    renamed: &'a mut Vec<(String, String)>,
}

impl Lifter<'_> {
    fn query(&mut self, q: &mut Query) {
        if q.with.is_some() {
            return;
        }
        self.body(&mut q.body);
    }

    fn body(&mut self, body: &mut SetExpr) {
        match body {
            SetExpr::Select(sel) => {
                for twj in sel.from.iter_mut() {
                    let joined = twj.joins.iter_mut().map(|j| &mut j.relation);
                    for tf in std::iter::once(&mut twj.relation).chain(joined) {
                        self.factor(tf);
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.body(left);
                self.body(right);
            }
            SetExpr::Query(q) => self.query(q),
            _ => {}
        }
    }

    fn factor(&mut self, tf: &mut TableFactor) {
        let TableFactor::Derived { lateral: false, subquery, alias, sample: None } = tf else {
            if let TableFactor::NestedJoin { table_with_joins, .. } = tf {
                let joined = table_with_joins.joins.iter_mut().map(|j| &mut j.relation);
                for inner in std::iter::once(&mut table_with_joins.relation).chain(joined) {
                    self.factor(inner);
                }
            }
            return;
        };
        self.query(subquery);
        // The unparser leaves an empty `LimitOffset` where there is no limit.
        let limited = match &subquery.limit_clause {
            None => false,
            Some(LimitClause::LimitOffset { limit: None, offset: None, limit_by }) => {
                !limit_by.is_empty()
            }
            Some(_) => true,
        };
        let ordered = subquery.order_by.is_some() || limited || subquery.fetch.is_some();
        // A column list on the alias would have to move to the CTE: not produced by
        // the unparser, so such a table stays.
        if ordered
            || subquery.with.is_some()
            || alias.as_ref().is_some_and(|a| !a.columns.is_empty())
        {
            return;
        }
        let lifted: HashSet<String> =
            self.ctes[self.readers..].iter().map(|c| c.alias.name.value.clone()).collect();
        let name = self.fresh(role(subquery, self.p, self.s, &lifted));
        // The aliases `Aliases` gave are unique in the statement, so references to
        // them can follow the CTE's name; any other alias stays on the reference.
        let alias = match alias.take() {
            Some(a) if a.name.value.starts_with("__q") => {
                self.renamed.push((a.name.value, name.clone()));
                None
            }
            other => other,
        };
        let ident = Ident::with_quote(self.names.quote, name);
        let query = std::mem::replace(subquery, Box::new(empty_query()));
        self.ctes.push(Cte {
            alias: TableAlias { explicit: false, name: ident.clone(), columns: vec![], at: None },
            query,
            from: None,
            materialized: None,
            closing_paren_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        });
        *tf = TableFactor::Table {
            name: ObjectName::from(vec![ident]),
            alias,
            args: None,
            with_hints: vec![],
            version: None,
            with_ordinality: false,
            partitions: vec![],
            json_path: None,
            sample: None,
            index_hints: vec![],
        };
    }

    fn fresh(&mut self, base: String) -> String {
        let mut name = base.clone();
        let mut n = 1;
        while self.names.taken.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        self.names.taken.insert(name.clone());
        name
    }
}

/// The name of what a derived table computes, in the spec's words where it can:
/// an entity's rows (grouped by its key), the segmentation's cells (any other
/// grouping), rows labelled by a dimension, the labels a dimension lists, or the
/// market's rows.
fn role(q: &Query, p: &Checked, s: usize, lifted: &HashSet<String>) -> String {
    let sd = &p.segments[s];
    let sel: &Select = match q.body.as_ref() {
        SetExpr::Select(sel) => sel,
        // A dimension's list of labels, as literals: named after the dimension
        // whose labels they are.
        body @ (SetExpr::SetOperation { .. } | SetExpr::Values(_)) => {
            let mut first = None;
            let _ = sqlparser::ast::visit_expressions(body, |e| {
                if let Expr::Value(v) = e {
                    if let sqlparser::ast::Value::SingleQuotedString(text) = &v.value {
                        first = Some(text.clone());
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(())
            });
            let dim = sd.dims.iter().map(|&d| &p.dims[d]).find(|d| {
                first.as_ref().is_some_and(|f| d.labels.contains(f) || d.order.contains(f))
            });
            return dim.map_or_else(|| "labels".into(), |d| format!("{}_labels", d.name));
        }
        _ => return "step".into(),
    };
    if let GroupByExpr::Expressions(keys, _) = &sel.group_by {
        if let [Expr::Identifier(key)] = keys.as_slice() {
            let market = sd.market;
            if let Some(e) =
                p.entities.iter().find(|e| e.market == market && e.key.name == key.value)
            {
                return e.name.clone();
            }
        }
        if !keys.is_empty() {
            return "cells".into();
        }
    }
    let labelled: Vec<&str> = sd
        .dims
        .iter()
        .map(|&d| p.dims[d].name.as_str())
        .filter(|name| {
            sel.projection.iter().any(|item| match item {
                SelectItem::ExprWithAlias { alias, expr } => {
                    alias.value == *name && matches!(expr, Expr::Case { .. })
                }
                _ => false,
            })
        })
        .collect();
    if !labelled.is_empty() {
        return format!("by_{}", labelled.join("_"));
    }
    let measures = p.seg_measures(s);
    let aliases = || {
        sel.projection.iter().filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.as_str()),
            _ => None,
        })
    };
    if aliases().any(|a| measures.iter().any(|m| m.name == a)) {
        return "measures".into();
    }
    let relations: Vec<&str> = sel
        .from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)))
        .filter_map(|r| match r {
            TableFactor::Table { name, .. } => {
                name.0.last().and_then(|part| part.as_ident()).map(|i| i.value.as_str())
            }
            _ => None,
        })
        .collect();
    if relations.len() > 1 {
        // The cells joined to the labels a dimension lists: empty segments show.
        return if relations.iter().any(|r| r.contains("_labels")) {
            "all_cells".into()
        } else {
            "joined".into()
        };
    }
    match relations.as_slice() {
        // A step that only names columns again is another view of the same rows.
        [only] if lifted.contains(*only) && renames_only(sel) => (*only).to_string(),
        [only] if !lifted.contains(*only) => format!("{only}_rows"),
        _ => "step".into(),
    }
}

/// Whether every column of `sel` is a column of its input, perhaps renamed.
fn renames_only(sel: &Select) -> bool {
    sel.selection.is_none()
        && sel.projection.iter().all(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
            }
            _ => false,
        })
}

/// A placeholder left where a lifted query was, replaced at once.
fn empty_query() -> Query {
    Query {
        with: None,
        body: Box::new(SetExpr::Values(sqlparser::ast::Values {
            explicit_row: false,
            value_keyword: false,
            rows: vec![],
        })),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: vec![],
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: vec![],
    }
}
