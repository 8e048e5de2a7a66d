//! Where data files may be read from: paths resolve against the spec's folder and
//! may not leave the project root unless the user allows it.

use std::path::{Component, Path, PathBuf};

#[derive(Clone, Debug)]
pub struct PathPolicy {
    pub allow_outside: bool,
}

/// The nearest folder at or above `dir` holding `seg.toml` or `.git`, else the
/// current directory.
pub fn project_root(dir: &Path) -> PathBuf {
    let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    for anc in start.ancestors() {
        if anc.join("seg.toml").exists() || anc.join(".git").exists() {
            return anc.to_path_buf();
        }
    }
    std::env::current_dir().ok().and_then(|d| d.canonicalize().ok()).unwrap_or(start)
}

/// Removes `.` and folds `..` without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Resolves a data path written in a spec. `Err` says why it is refused; nothing
/// is opened before this returns.
pub fn resolve(spec_dir: &Path, raw: &str, policy: &PathPolicy) -> Result<PathBuf, String> {
    resolve_from(spec_dir, spec_dir, raw, policy)
}

/// Resolves a `--source MARKET=PATH` path: relative to the current folder, as
/// given, but held to the spec's project root like a path in the spec.
pub fn resolve_source(spec_dir: &Path, raw: &str, policy: &PathPolicy) -> Result<PathBuf, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("the current folder is unreadable: {e}"))?;
    resolve_from(&cwd, spec_dir, raw, policy)
}

/// `raw` relative to `base`, refused if it leaves the project root of `spec_dir`.
fn resolve_from(
    base: &Path,
    spec_dir: &Path,
    raw: &str,
    policy: &PathPolicy,
) -> Result<PathBuf, String> {
    let raw_path = Path::new(raw);
    let dir = base.canonicalize().unwrap_or_else(|_| base.to_path_buf());
    if raw_path.is_absolute() {
        if policy.allow_outside {
            return Ok(raw_path.to_path_buf());
        }
        return Err("it is an absolute path".into());
    }
    let joined = normalize(&dir.join(raw_path));
    if policy.allow_outside {
        return Ok(joined);
    }
    let root = project_root(spec_dir);
    if !joined.starts_with(&root) {
        return Err(format!("it leaves the project root `{}`", root.display()));
    }
    if let Ok(real) = joined.canonicalize() {
        if !real.starts_with(&root) {
            return Err("it is a link that points out of the project".into());
        }
        return Ok(real);
    }
    Ok(joined)
}
