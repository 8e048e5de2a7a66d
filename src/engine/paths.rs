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

/// Why a data path yields no files: the policy refuses it (exit 5), or nothing
/// matches it (a data error, exit 3).
#[derive(Debug)]
pub enum DataPathError {
    Refused(String),
    NoMatch(String),
}

impl std::fmt::Display for DataPathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataPathError::Refused(s) | DataPathError::NoMatch(s) => f.write_str(s),
        }
    }
}

const WILDCARDS: [char; 3] = ['*', '?', '['];

/// The part of a pattern before its first wildcard.
fn fixed_prefix(raw: &str) -> &str {
    &raw[..raw.find(WILDCARDS).unwrap_or(raw.len())]
}

/// A market's (or table's) files: one, or every file a pattern or a folder stands
/// for, and the folder Hive partitions are counted from (`None` for one file).
pub struct DataPath {
    pub files: Vec<PathBuf>,
    pub hive_base: Option<PathBuf>,
}

/// Whether a spec's data path names several files (a pattern or a folder).
pub fn is_multi(spec_dir: &Path, raw: &str, policy: &PathPolicy) -> bool {
    raw.contains(WILDCARDS) || resolve(spec_dir, raw, policy).is_ok_and(|p| p.is_dir())
}

/// The files a data path stands for. A plain path is itself; a pattern (`*`, `?`,
/// `[...]`, `**`) is every regular file it matches; a folder is every file below it
/// with the format's extension (Hive partitions, `year=2024/`, included). The
/// pattern's fixed part is held to the policy like any path, and each file on its
/// own, so a link inside the project that points out of it is refused too.
pub fn data_path(
    spec_dir: &Path,
    raw: &str,
    extension: &str,
    policy: &PathPolicy,
) -> Result<DataPath, DataPathError> {
    let refused = DataPathError::Refused;
    let fixed = fixed_prefix(raw);
    let base =
        resolve(spec_dir, if fixed.is_empty() { "." } else { fixed }, policy).map_err(refused)?;
    let files = if raw.contains(WILDCARDS) {
        let pattern = resolve_pattern(spec_dir, raw, policy).map_err(refused)?;
        glob_files(spec_dir, &pattern.to_string_lossy(), raw, policy)?
    } else if base.is_dir() {
        let mut found = Vec::new();
        walk(&base, extension, &mut found);
        held_to_policy(spec_dir, found, raw, policy)?
    } else {
        return Ok(DataPath { files: vec![base], hive_base: None });
    };
    if files.is_empty() {
        return Err(DataPathError::NoMatch(format!("no `{extension}` file matches `{raw}`")));
    }
    // Partition folders count from the folder, or from the pattern's fixed part.
    let hive_base = if base.is_dir() { base } else { parent(&base) };
    Ok(DataPath { files, hive_base: Some(hive_base) })
}

/// A `--source` path (already resolved, see `resolve_source`): one file, or every
/// file a pattern in it matches, each held to the policy.
pub fn source_data(
    spec_dir: &Path,
    path: &Path,
    policy: &PathPolicy,
) -> Result<DataPath, DataPathError> {
    let raw = path.to_string_lossy();
    if !raw.contains(WILDCARDS) {
        return Ok(DataPath { files: vec![path.to_path_buf()], hive_base: None });
    }
    let files = glob_files(spec_dir, &raw, &raw, policy)?;
    let fixed = PathBuf::from(fixed_prefix(&raw));
    if files.is_empty() {
        return Err(DataPathError::NoMatch(format!("no file matches `{raw}`")));
    }
    let hive_base = if fixed_prefix(&raw).ends_with('/') { fixed } else { parent(&fixed) };
    Ok(DataPath { files, hive_base: Some(hive_base) })
}

fn parent(p: &Path) -> PathBuf {
    p.parent().map_or_else(|| p.to_path_buf(), Path::to_path_buf)
}

/// Every regular file `pattern` (absolute) matches, held to the policy; `raw` is the
/// pattern as the user wrote it, for messages.
fn glob_files(
    spec_dir: &Path,
    pattern: &str,
    raw: &str,
    policy: &PathPolicy,
) -> Result<Vec<PathBuf>, DataPathError> {
    let found = glob::glob(pattern)
        .map_err(|e| DataPathError::Refused(format!("`{raw}` is not a valid pattern: {e}")))?;
    let files: Vec<PathBuf> = found.filter_map(Result::ok).filter(|p| p.is_file()).collect();
    held_to_policy(spec_dir, files, raw, policy)
}

/// Each file canonical and inside the project (unless allowed out), sorted so reads
/// are reproducible.
fn held_to_policy(
    spec_dir: &Path,
    files: Vec<PathBuf>,
    raw: &str,
    policy: &PathPolicy,
) -> Result<Vec<PathBuf>, DataPathError> {
    let mut out = Vec::new();
    for f in files {
        let shown = f.strip_prefix(spec_dir).unwrap_or(&f).to_string_lossy().to_string();
        let ok = within_policy(spec_dir, &f, policy).map_err(|why| {
            DataPathError::Refused(format!("`{shown}` (matched by `{raw}`) is refused: {why}"))
        })?;
        out.push(ok);
    }
    out.sort();
    Ok(out)
}

/// A pattern made absolute the way `resolve` makes a path absolute.
fn resolve_pattern(spec_dir: &Path, raw: &str, policy: &PathPolicy) -> Result<PathBuf, String> {
    let raw_path = Path::new(raw);
    if raw_path.is_absolute() {
        return if policy.allow_outside {
            Ok(raw_path.to_path_buf())
        } else {
            Err("it is an absolute path".into())
        };
    }
    let dir = spec_dir.canonicalize().unwrap_or_else(|_| spec_dir.to_path_buf());
    Ok(normalize(&dir.join(raw_path)))
}

/// A matched file, refused if it (or a link on its way) leaves the project root.
fn within_policy(spec_dir: &Path, file: &Path, policy: &PathPolicy) -> Result<PathBuf, String> {
    if policy.allow_outside {
        return Ok(file.to_path_buf());
    }
    let root = project_root(spec_dir);
    let real = file.canonicalize().map_err(|e| e.to_string())?;
    if !real.starts_with(&root) {
        return Err("it is a link that points out of the project".into());
    }
    Ok(real)
}

fn walk(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let hidden = e.file_name().to_string_lossy().starts_with(['.', '_']);
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, extension, out);
        } else if p.extension().is_some_and(|x| x == extension.trim_start_matches('.')) {
            out.push(p);
        }
    }
}

/// Hive partition columns of `file` below `base`: each `key=value` folder on the way.
pub fn hive_partitions(base: &Path, file: &Path) -> Vec<(String, String)> {
    let rel = file.strip_prefix(base).unwrap_or(file);
    rel.parent()
        .map(|d| {
            d.components()
                .filter_map(|c| {
                    let s = c.as_os_str().to_string_lossy();
                    s.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}
