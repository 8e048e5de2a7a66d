//! `seg test`: `example` rows checked without data, `expect` statements on data.

use super::check_cmd::{collect_specs, print_diagnostics};
use super::run_cmd::{engine_exit, open};
use super::{exit, DataArgs, DiagFormat, EngineArgs};
use crate::check::program::*;
use crate::driver::{Driver, LoadOptions};
use crate::engine::{expect, paths::PathPolicy};
use crate::span::LineIndex;
use std::collections::HashMap;
use std::path::PathBuf;

struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn record(&mut self, ok: bool, what: &str, detail: &str) {
        if ok {
            self.passed += 1;
            outln!("ok    {what}");
        } else {
            self.failed += 1;
            outln!("FAIL  {what}");
            if !detail.is_empty() {
                outln!("      {detail}");
            }
        }
    }
}

pub fn run(paths: &[PathBuf], data: &DataArgs, eng: &EngineArgs) -> u8 {
    let specs = match collect_specs(paths) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {e}");
            return exit::USAGE;
        }
    };
    let mut tally = Tally { passed: 0, failed: 0 };
    let mut code = exit::OK;
    let driver = Driver::new(LoadOptions {
        no_data: false,
        policy: PathPolicy { allow_outside: data.allow_outside },
        sources: Default::default(),
        as_of: data.as_of,
        no_lock: data.no_lock,
        database: None,
    });
    for (path, shown) in &specs {
        let file = match driver.load(path, shown) {
            Ok(f) => f,
            Err(e) => {
                errln!("error: cannot read {shown}: {e}");
                code = code.max(exit::DATA);
                continue;
            }
        };
        super::run_cmd::say_as_of(&file, data);
        let Some(program) = file.program.clone() else {
            print_diagnostics(&file, DiagFormat::Human);
            tally.record(
                false,
                &format!("{shown}: the spec checks"),
                "fix the diagnostics above first",
            );
            continue;
        };
        let idx = LineIndex::new(&file.text);
        let place = |span: crate::span::Span| {
            let (line, _) = idx.line_col(span.start);
            let text: String = file.text
                [span.clamp_to(&file.text).start as usize..span.clamp_to(&file.text).end as usize]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            format!("{shown}:{line} {text}")
        };
        for v in expect::examples(&program) {
            let shown_got = v.got.map(|g| format!("{g:?}")).unwrap_or_else(|| "unassigned".into());
            tally.record(
                v.ok,
                &place(v.span).replacen(' ', " example: ", 1),
                &format!("{} gives {shown_got}", program.dims[v.dim].name),
            );
        }
        if program.expects.is_empty() {
            continue;
        }
        let (_, session) = match open(path, data, eng) {
            Ok(x) => x,
            Err(c) => {
                code = code.max(c);
                for e in &program.expects {
                    let span = match e {
                        ExpectDef::Partition { span, .. } | ExpectDef::Assert { span, .. } => *span,
                    };
                    tally.record(false, &place(span), "the data could not be read");
                }
                continue;
            }
        };
        for v in expect::expect_verdicts(&session, &mut HashMap::new()) {
            if let Some(err) = &v.error {
                code = code.max(engine_exit(err));
            }
            tally.record(v.ok, &place(v.span), &v.detail);
        }
    }
    outln!("{} passed, {} failed", tally.passed, tally.failed);
    if tally.failed > 0 {
        return code.max(exit::INVALID);
    }
    code
}
