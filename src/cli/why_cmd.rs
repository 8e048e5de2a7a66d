//! `seg why`: why chosen rows of a market got their labels.

use super::run_cmd::{open_with, report, report_in};
use super::{exit, DataArgs, EngineArgs, WhyFormat};
use crate::diagnostic::Renderer;
use crate::engine::session::EngineError;
use std::path::Path;

#[allow(clippy::too_many_arguments)]
pub fn run(
    spec: &Path,
    market: &str,
    cond: Option<&str>,
    row: Option<u64>,
    limit: usize,
    format: WhyFormat,
    data: &DataArgs,
    eng: &EngineArgs,
) -> u8 {
    if cond.is_none() && row.is_none() {
        errln!("error: seg why needs the rows to explain: --where COND or --row N");
        return exit::USAGE;
    }
    if row == Some(0) {
        errln!("error: --row counts from 1");
        return exit::USAGE;
    }
    let (file, session) = match open_with(spec, data, eng, true) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let p = &session.program;
    let Some(m) = p.markets.iter().position(|x| x.name == market) else {
        let names: Vec<&str> = p.markets.iter().map(|m| m.name.as_str()).collect();
        errln!("error: no market named `{market}` (there are: {})", names.join(", "));
        return exit::USAGE;
    };
    // The condition is seg's own expression syntax, checked like a `where`.
    let typed = match cond {
        None => None,
        Some(text) => {
            let r = Renderer { color: super::color_enabled(), width: 100 };
            let parsed = crate::syntax::parse_expr(text).map_err(|d| vec![d]);
            match parsed.and_then(|e| crate::check::row_condition(p, m, &e)) {
                Ok(t) => Some(t),
                Err(diags) => {
                    for d in &diags {
                        err!("{}", r.render(d, "--where", text));
                    }
                    return exit::USAGE;
                }
            }
        }
    };
    let rows = match crate::engine::why::why(&session, &file.text, m, typed.as_ref(), row, limit) {
        Ok(r) => r,
        Err(e @ EngineError::Failed(_)) if e.code() == Some(crate::diagnostic::Code::E0901) => {
            return report_in(&e, Some(&file))
        }
        Err(e) => return report(&e),
    };
    match format {
        WhyFormat::Text => out!("{}", crate::engine::why::to_text(&rows, &file.display)),
        WhyFormat::Json => {
            out!("{}\n", serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into()))
        }
    }
    exit::OK
}
