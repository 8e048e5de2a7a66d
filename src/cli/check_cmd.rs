//! `seg check`: diagnostics for every spec under the given paths.

use super::{exit, DataArgs, DiagFormat};
use crate::diagnostic::{Diagnostic, ExitClass, Renderer, Severity};
use crate::driver::{Driver, LoadOptions, SpecFile};
use crate::engine::paths::PathPolicy;
use std::path::PathBuf;

/// Every `*.seg` under the paths, in a stable order, with the names users gave.
pub fn collect_specs(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, String> {
    let roots: Vec<PathBuf> =
        if paths.is_empty() { vec![PathBuf::from(".")] } else { paths.to_vec() };
    let mut out = Vec::new();
    for root in roots {
        if root.is_dir() {
            let mut found = Vec::new();
            crate::driver::spec_files_under(&root, &mut found);
            found.sort();
            out.extend(found.into_iter().map(|p| {
                let shown = p.display().to_string();
                (p, shown)
            }));
        } else if root.exists() {
            out.push((root.clone(), root.display().to_string()));
        } else {
            return Err(format!("no such file or folder: {}", root.display()));
        }
    }
    Ok(out)
}

/// The exit code a set of diagnostics calls for (cli.md): policy refusals first,
/// then invalid specs, then data problems.
pub fn exit_code(diags: &[Diagnostic], deny_warnings: bool) -> u8 {
    let errors: Vec<&Diagnostic> = diags.iter().filter(|d| d.is_error()).collect();
    let class = |c: ExitClass| errors.iter().any(|d| d.code.exit() == c);
    if class(ExitClass::Policy) {
        return exit::POLICY;
    }
    // Unreadable data and schema mismatches are data errors; everything else is the spec.
    if errors.iter().any(|d| d.code.exit() != ExitClass::Data) {
        return exit::INVALID;
    }
    if !errors.is_empty() {
        return exit::DATA;
    }
    if deny_warnings && diags.iter().any(|d| d.severity == Severity::Warning) {
        return exit::INVALID;
    }
    exit::OK
}

pub fn print_diagnostics(spec: &SpecFile, format: DiagFormat) {
    match format {
        DiagFormat::Human => {
            let r = Renderer { color: super::color_enabled(), width: 100 };
            for d in &spec.diagnostics {
                err!("{}", r.render(d, &spec.display, &spec.text));
            }
        }
        DiagFormat::Json => {
            for d in &spec.diagnostics {
                outln!("{}", d.to_json(&spec.display, &spec.text));
            }
        }
        DiagFormat::Github => {
            for d in &spec.diagnostics {
                outln!("{}", d.to_github(&spec.display, &spec.text));
            }
        }
    }
}

pub fn run(
    paths: &[PathBuf],
    format: DiagFormat,
    deny_warnings: bool,
    no_data: bool,
    on: Option<String>,
    data: &DataArgs,
) -> u8 {
    if let Some(url) = &on {
        if let Err(why) = crate::engine::remote::Target::parse(url) {
            errln!("error: --on {why}");
            return exit::USAGE;
        }
    }
    let specs = match collect_specs(paths) {
        Ok(s) => s,
        Err(e) => {
            errln!("error: {e}");
            return exit::USAGE;
        }
    };
    let opts = LoadOptions {
        no_data,
        policy: PathPolicy { allow_outside: data.allow_outside },
        sources: Default::default(),
        as_of: data.as_of,
        no_lock: data.no_lock,
        database: on,
    };
    // One driver for every spec: a data file several specs read is read once.
    let driver = Driver::new(opts);
    let mut all = Vec::new();
    let mut code = exit::OK;
    let mut unreadable = 0;
    for (path, shown) in &specs {
        let spec = match driver.load(path, shown) {
            Ok(s) => driver.with_data_checks(s),
            Err(e) => {
                errln!("error: cannot read {shown}: {e}");
                code = worst(code, exit::DATA);
                unreadable += 1;
                continue;
            }
        };
        print_diagnostics(&spec, format);
        if format == DiagFormat::Human {
            if let Some(p) = &spec.program {
                for note in crate::check::mece::partition_notes(p) {
                    errln!("{shown}: {note}");
                }
            }
        }
        let c = exit_code(&spec.diagnostics, deny_warnings);
        code = worst(code, c);
        all.extend(spec.diagnostics.iter().cloned());
    }
    let errors = all.iter().filter(|d| d.is_error()).count() + unreadable;
    let warnings = all.iter().filter(|d| d.severity == Severity::Warning).count();
    if format == DiagFormat::Human {
        let files = specs.len();
        if errors + warnings == 0 {
            errln!("ok: {files} spec{} checked, no problems", plural(files));
        } else {
            errln!(
                "{errors} error{}, {warnings} warning{} in {files} spec{}",
                plural(errors),
                plural(warnings),
                plural(files)
            );
        }
    }
    code
}

pub(super) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Combines exit codes across files: the most specific failure wins.
pub fn worst(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        exit::OK => 0,
        exit::DATA => 1,
        exit::INVALID => 2,
        exit::POLICY => 3,
        _ => 4,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}
