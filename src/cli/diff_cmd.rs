//! `seg diff`: two versions of a spec (two files, or a file and its past in git)
//! run on the same data; prints what moved.

use super::run_cmd::{open_from, report, SpecAt};
use super::{exit, DataArgs, DiffFormat, EngineArgs};
use std::path::{Path, PathBuf};

pub struct DiffArgs<'a> {
    pub specs: &'a [PathBuf],
    pub rev: Option<&'a str>,
    pub segments: &'a [String],
    pub format: DiffFormat,
    pub fail_on_change: bool,
    pub data: &'a DataArgs,
    pub engine: &'a EngineArgs,
}

/// Past this many bytes of files, a market is read by each version rather than held
/// in memory for both.
const SHARED_READ_LIMIT: u64 = 512 << 20;

/// The spec's text at git revision `rev`, read with the `git` command line.
fn at_revision(spec: &Path, rev: &str) -> Result<Vec<u8>, String> {
    let dir = crate::engine::files::folder_of(spec);
    let name = spec.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    show(&dir, rev, &name)
}

/// The spec's lock file at revision `rev`, when it had one then.
fn lock_at_revision(spec: &Path, rev: &str) -> Option<String> {
    let lock = crate::engine::files::lock_file(spec);
    let dir = crate::engine::files::folder_of(&lock);
    let name = lock.file_name()?.to_string_lossy().to_string();
    show(&dir, rev, &name).ok().and_then(|b| String::from_utf8(b).ok())
}

fn show(dir: &Path, rev: &str, name: &str) -> Result<Vec<u8>, String> {
    if rev.starts_with('-') {
        return Err(format!("`{rev}` is not a revision"));
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .arg("show")
        .arg(format!("{rev}:./{name}"))
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(out.stdout)
}

pub fn run(a: DiffArgs) -> u8 {
    let (old_path, new_path, old_text) = match (a.rev, a.specs) {
        (Some(rev), [spec]) => match at_revision(spec, rev) {
            Ok(t) => (spec.clone(), spec.clone(), Some((format!("{}@{rev}", spec.display()), t))),
            Err(e) => {
                errln!("error: cannot read {} at revision {rev}: {e}", spec.display());
                return exit::USAGE;
            }
        },
        (Some(_), _) => {
            errln!("error: --rev REV takes one spec: seg diff --rev HEAD~1 SPEC");
            return exit::USAGE;
        }
        (None, [old, new]) => (old.clone(), new.clone(), None),
        (None, _) => {
            errln!("error: seg diff takes OLD and NEW specs, or --rev REV SPEC");
            return exit::USAGE;
        }
    };
    // Both read every file in order, so their rows pair up for the moves.
    // The old version runs with its own lock file of then, if it had one.
    let old_src = old_text.as_ref().map(|(n, t)| SpecAt {
        name: n.as_str(),
        bytes: t.as_slice(),
        lock: a.rev.and_then(|rev| lock_at_revision(&old_path, rev)),
    });
    let (_, mut old) = match open_from(&old_path, old_src.as_ref(), a.data, a.engine, true) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let (_, mut new) = match open_from(&new_path, None, a.data, a.engine, true) {
        Ok(x) => x,
        Err(c) => return c,
    };
    // The data is read once: each market's rows are held in memory and both
    // versions scan them (markets whose files pass `SHARED_READ_LIMIT` are read by
    // each version instead).
    if let Err(e) = old.preload(SHARED_READ_LIMIT) {
        return report(&e);
    }
    new.share_scans_from(&old);
    for n in a.segments {
        let known =
            |s: &crate::engine::session::Session| s.program.segments.iter().any(|x| &x.name == n);
        if !known(&old) && !known(&new) {
            errln!("error: neither version has a segmentation named `{n}`");
            return exit::USAGE;
        }
    }
    let d = match crate::engine::diff::diff(&old, &new, a.segments) {
        Ok(d) => d,
        Err(e) => return report(&e),
    };
    let title = match &old_text {
        Some((n, _)) => format!("`{n}` → `{}`", new_path.display()),
        None => format!("`{}` → `{}`", old_path.display(), new_path.display()),
    };
    match a.format {
        DiffFormat::Table => out!("{}", d.to_text()),
        DiffFormat::Markdown => out!("{}", d.to_markdown(&title)),
        DiffFormat::Json => out!("{}", d.to_json()),
    }
    if a.fail_on_change && d.changed() {
        exit::INVALID
    } else {
        exit::OK
    }
}
