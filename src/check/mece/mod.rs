//! Proves dimensions MECE, or finds shadowed rules, overlaps and gaps with a concrete
//! witness row.
//!
//! Three layers: `boxes` is the set algebra (conditions as unions of boxes),
//! `analysis` turns a dimension into `Finding`s (data: rule indices and witness
//! values), `errors` words them as diagnostics. The property tests read the findings.

mod analysis;
mod boxes;
mod errors;
pub use errors::{show_value, show_witness};

use crate::check::program::*;
use crate::diagnostic::Diagnostic;
use boxes::Unknown;

/// A row as column values, showing only the columns the rules read; the others may
/// take any value the preconditions allow.
pub type Witness = Vec<(String, Value)>;

/// What the analysis found about a rules dimension. Rules are 0-based indices into
/// its arms.
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    /// No row satisfies the rule's condition (`rules` only).
    Unsatisfiable { rule: usize },
    /// Every row the rule matches is taken by the earlier rules `by` (`rules` only).
    Shadowed { rule: usize, by: Vec<usize> },
    /// Two `partition` rules both match the witness.
    Overlap { first: usize, second: usize, witness: Witness },
    /// No rule matches the witness; `around` are the rules with a bound at it.
    Gap { witness: Witness, around: Vec<usize> },
    /// Rule `ends` stops where rule `starts` begins, at `column = at`; both include
    /// that value, or (`both_include: false`) neither does (`rules` only).
    Boundary { ends: usize, starts: usize, column: String, at: f64, both_include: bool },
}

/// The analysis of one dimension.
#[derive(Clone, Debug)]
pub struct DimFindings {
    pub findings: Vec<Finding>,
    /// Every row gets exactly one label: proven.
    pub proven: bool,
}

/// The findings on dimension `dim` alone (no segmentation's `where`); `None` if it is
/// not made of rules or the analysis gave up.
pub fn findings(p: &Checked, dim: usize) -> Option<DimFindings> {
    let d = &p.dims[dim];
    let DimKind::Rules { arms, else_label, partition } = &d.kind else { return None };
    analysis::analyse_rules(p, d, arms, else_label.is_some(), *partition, None).ok()
}

/// Diagnostics for every dimension, and the static verdict on `expect ... is partition`.
pub fn analyse(p: &mut Checked) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for d in &p.dims {
        match analysis::analyse_dim(p, d, None) {
            // Only rules have findings; other kinds have a verdict, asked for by
            // `segment_proven`, but may still exhaust the budget on a market's `where`.
            Ok(r) => {
                if let DimKind::Rules { arms, partition, .. } = &d.kind {
                    diags
                        .extend(r.findings.iter().map(|f| errors::finding(d, arms, *partition, f)));
                }
            }
            Err(Unknown) => diags.push(errors::gave_up(d)),
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
        let own = analysis::analyse_dim(p, d, extra).map(|r| r.proven).unwrap_or(false);
        // An entity dimension also needs every market row to have a key.
        let key_ok = match d.owner {
            Owner::Entity(e) => {
                let key = &p.entities[e].key;
                let probe = DimDef { owner: Owner::Market(sd.market), ..d.clone() };
                let col = TExpr { kind: TKind::Col(key.name.clone()), ty: key.ty, span: d.span };
                analysis::non_null(p, &probe, &col, sd.filter.as_ref()).unwrap_or(false)
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
