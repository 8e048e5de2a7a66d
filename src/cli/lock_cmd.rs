//! `seg lock`: writes `SPEC.lock`, the spec's data-dependent definitions computed on
//! its data (or on one period of an `over` segmentation).

use super::run_cmd::{open_with, report};
use super::{exit, DataArgs, EngineArgs};
use crate::engine::files;
use crate::engine::lock::{compute, Period};
use std::path::Path;

pub fn run(
    spec: &Path,
    period: Option<&str>,
    segment: Option<&str>,
    data: &DataArgs,
    eng: &EngineArgs,
) -> u8 {
    // Computed afresh: an existing lock is what this replaces, not an input.
    let fresh = DataArgs { no_lock: true, ..data.clone() };
    let (file, session) = match open_with(spec, &fresh, eng, false) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let p = &session.program;
    let period = match period {
        None => None,
        Some(text) => {
            let overs: Vec<usize> = (0..p.segments.len())
                .filter(|&s| p.segments[s].over.is_some())
                .filter(|&s| segment.is_none_or(|n| p.segments[s].name == n))
                .collect();
            let s = match (overs.as_slice(), segment) {
                ([s], _) => *s,
                ([], Some(n)) => {
                    errln!(
                        "error: --segment `{n}` is not an `over` segmentation of {}",
                        file.display
                    );
                    return exit::USAGE;
                }
                ([], None) => {
                    errln!(
                        "error: --period needs an `over` segmentation, and {} has none",
                        file.display
                    );
                    return exit::USAGE;
                }
                _ => {
                    errln!(
                        "error: {} has several `over` segmentations; name one with --segment",
                        file.display
                    );
                    return exit::USAGE;
                }
            };
            let over = p.segments[s].over.as_ref().expect("filtered on over");
            let Some(value) = over.parse_period(text) else {
                errln!(
                    "error: `{text}` is not a period of `{}` (write it as its `period` column shows it, e.g. 2024, 2024-Q1, 2024-03, 2024-W09)",
                    p.segments[s].name
                );
                return exit::USAGE;
            };
            Some(Period { segment: s, value, text: text.to_string() })
        }
    };
    let lock = match compute(&session, &file.display, &file.text, period.as_ref()) {
        Ok(l) => l,
        Err(e) => return report(&e),
    };
    let dest = files::lock_file(spec);
    let mut inputs = vec![spec.to_path_buf()];
    inputs.extend(session.files.iter().cloned());
    if let Err(e) = files::write_atomic(&dest, lock.to_text().as_bytes(), true, &inputs) {
        return report(&e);
    }
    let n = lock.dimensions.len();
    errln!("wrote {} ({n} frozen definition{})", dest.display(), if n == 1 { "" } else { "s" });
    exit::OK
}
