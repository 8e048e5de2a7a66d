//! `seg report SPEC -o FILE.html`: runs the segmentations, the audit and the
//! checks, and writes the report (`report::html`) atomically.

use super::run_cmd::{open, report, report_in, select_segments};
use super::{exit, DataArgs, EngineArgs};
use crate::engine::files;
use std::path::Path;

pub fn run(
    spec: &Path,
    segments: &[String],
    dest: &Path,
    force: bool,
    data: &DataArgs,
    eng: &EngineArgs,
) -> u8 {
    match dest.extension().and_then(|e| e.to_str()) {
        Some("html") | Some("htm") => {}
        _ => {
            errln!("error: seg report writes HTML: name the output FILE.html");
            return exit::USAGE;
        }
    }
    // Refused before any work, and again once the data files are known.
    if let Err(e) = files::check_output(dest, force, &files::run_inputs(spec, &[])) {
        return report(&e);
    }
    let (file, session) = match open(spec, data, eng) {
        Ok(x) => x,
        Err(c) => return c,
    };
    super::run_cmd::say_as_of(&file, data);
    let segs = match select_segments(&session, segments) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let bar = super::progress::start(session.files.len());
    let (results, audits) = match crate::engine::audit::run_audited(&session, &segs) {
        Ok(x) => x,
        Err(e) => return report_in(&e, Some(&file)),
    };
    let verdicts = crate::report::verdicts(&file, &session, &results);
    let html = crate::report::html(&file, &session.program, &results, &audits, &verdicts);
    drop(bar);
    let inputs = files::run_inputs(spec, &session.files);
    if let Err(e) = files::write_atomic(dest, html.as_bytes(), force, &inputs) {
        return report(&e);
    }
    errln!(
        "wrote {} ({} segmentation{}, {})",
        dest.display(),
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        crate::engine::session::human_size(html.len())
    );
    exit::OK
}
