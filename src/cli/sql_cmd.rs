//! `seg sql SPEC --dialect D`: each segmentation as one SQL statement for another
//! database (`sql::segment_sql`), on standard output.

use super::exit;
use super::run_cmd::{open, report_in, select_segments};
use super::{DataArgs, EngineArgs};
use crate::engine::session::EngineError;
use crate::sql::Dialect;
use std::path::Path;

pub fn run(
    spec: &Path,
    segments: &[String],
    dialect: Dialect,
    data: &DataArgs,
    eng: &EngineArgs,
) -> u8 {
    let (file, session) = match open(spec, data, eng) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let segs = match select_segments(&session, segments) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let mut worst = exit::OK;
    for (i, s) in segs.into_iter().enumerate() {
        match crate::sql::segment_sql(&session.program, s, dialect, &file.dir()) {
            Ok(text) => {
                if i > 0 {
                    outln!();
                }
                outln!("-- segment {} ({})", session.program.segments[s].name, dialect.name());
                out!("{text}");
            }
            Err(d) => worst = worst.max(report_in(&EngineError::lowering(d), Some(&file))),
        }
    }
    worst
}
