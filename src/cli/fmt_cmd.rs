//! `seg fmt`: canonical layout for every spec under the paths, written atomically;
//! `--check` prints a unified diff instead; `-` formats standard input.

use super::check_cmd::{collect_specs, plural as s};
use super::exit;
use crate::diagnostic::{Diagnostic, Renderer};
use crate::engine::files;
use std::io::Read;
use std::path::PathBuf;

pub fn run(paths: &[PathBuf], check: bool) -> u8 {
    if paths.iter().any(|p| p.as_os_str() == "-") {
        if paths.len() > 1 {
            errln!("error: `-` (standard input) cannot be mixed with other paths");
            return exit::USAGE;
        }
        return stdin(check);
    }
    let specs = match collect_specs(paths) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {e}");
            return exit::USAGE;
        }
    };
    let mut code = exit::OK;
    let (mut changed, mut refused) = (0, 0);
    for (path, shown) in &specs {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                errln!("error: cannot read {shown}: {e}");
                code = exit::INVALID;
                refused += 1;
                continue;
            }
        };
        let formatted = match crate::fmt::format_bytes(&bytes) {
            Ok(f) => f,
            Err((text, diags)) => {
                report(shown, &text, &diags);
                code = exit::INVALID;
                refused += 1;
                continue;
            }
        };
        if formatted.as_bytes() == bytes.as_slice() {
            continue;
        }
        changed += 1;
        if check {
            let old = String::from_utf8_lossy(&bytes);
            out!("{}", crate::fmt::unified_diff(shown, &old, &formatted));
            code = exit::INVALID;
        } else if let Err(e) = files::write_atomic(path, formatted.as_bytes(), true, &[]) {
            errln!("error: {e}");
            code = exit::INVALID;
        }
    }
    let files = specs.len();
    match (check, changed) {
        (_, 0) if refused == 0 => errln!("ok: {files} spec{} already formatted", s(files)),
        (true, n) if n > 0 => errln!("{n} of {files} spec{} not formatted", s(files)),
        (false, n) if n > 0 => errln!("formatted {n} of {files} spec{}", s(files)),
        _ => {}
    }
    if refused > 0 {
        errln!("{refused} spec{} not formatted: fix the errors above first", s(refused));
    }
    code
}

fn report(shown: &str, text: &str, diags: &[Diagnostic]) {
    let r = Renderer { color: super::color_enabled(), width: 100 };
    for d in diags {
        err!("{}", r.render(d, shown, text));
    }
}

/// `seg fmt -`: standard input to standard output, for editors. A spec that does
/// not parse writes nothing to standard output.
fn stdin(check: bool) -> u8 {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        errln!("error: cannot read standard input: {e}");
        return exit::USAGE;
    }
    match crate::fmt::format_bytes(&bytes) {
        Ok(f) if check => {
            let old = String::from_utf8_lossy(&bytes);
            if f == old {
                return exit::OK;
            }
            out!("{}", crate::fmt::unified_diff("<stdin>", &old, &f));
            exit::INVALID
        }
        Ok(f) => {
            out!("{f}");
            exit::OK
        }
        Err((text, diags)) => {
            report("<stdin>", &text, &diags);
            exit::INVALID
        }
    }
}
