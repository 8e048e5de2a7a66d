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

/// The files a data path stands for. A plain path is itself; a glob (`*`, `?`,
/// `[...]`, `**`) is every regular file it matches; a folder is every file below it
/// with the format's extension (Hive partitions, `year=2024/`, included). Each file
/// is held to the policy on its own, so a link inside the project that points out
/// of it is refused like a path that does. Sorted, so reads are reproducible.
pub fn expand(
    spec_dir: &Path,
    raw: &str,
    extension: &str,
    policy: &PathPolicy,
) -> Result<Vec<PathBuf>, String> {
    let is_glob = raw.contains(['*', '?', '[']);
    // The pattern's fixed prefix is held to the policy like any path.
    let fixed: String = raw.chars().take_while(|c| !matches!(c, '*' | '?' | '[')).collect();
    let base = resolve(spec_dir, if fixed.is_empty() { "." } else { &fixed }, policy)?;
    let files: Vec<PathBuf> = if is_glob {
        let pattern = resolve_pattern(spec_dir, raw, policy)?;
        let found = glob::glob(&pattern.to_string_lossy())
            .map_err(|e| format!("`{raw}` is not a valid pattern: {e}"))?;
        found.filter_map(Result::ok).filter(|p| p.is_file()).collect()
    } else if base.is_dir() {
        let mut out = Vec::new();
        walk(&base, extension, &mut out);
        out
    } else {
        return Ok(vec![base]);
    };
    let mut checked = Vec::new();
    for f in files {
        let shown = f.strip_prefix(spec_dir).unwrap_or(&f).to_string_lossy().to_string();
        let ok = within_policy(spec_dir, &f, policy)
            .map_err(|why| format!("`{shown}` (matched by `{raw}`) is refused: {why}"))?;
        checked.push(ok);
    }
    if checked.is_empty() {
        return Err(format!("no `{extension}` file matches `{raw}`"));
    }
    checked.sort();
    Ok(checked)
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

/// A market's (or table's) data as DataFusion reads it: the path to give it (a file,
/// a pattern, or a folder ending in `/`), the files it stands for, and the folder
/// Hive partitions are counted from (`None` for a single file).
pub struct DataPath {
    pub table_path: String,
    pub files: Vec<PathBuf>,
    pub hive_base: Option<PathBuf>,
}

/// Whether a spec's data path names several files (a pattern or a folder).
pub fn is_multi(spec_dir: &Path, raw: &str, policy: &PathPolicy) -> bool {
    raw.contains(['*', '?', '[']) || resolve(spec_dir, raw, policy).is_ok_and(|p| p.is_dir())
}

/// Resolves a data path, expanding patterns and folders (see `expand`).
pub fn data_path(
    spec_dir: &Path,
    raw: &str,
    extension: &str,
    policy: &PathPolicy,
) -> Result<DataPath, String> {
    if !is_multi(spec_dir, raw, policy) {
        let p = resolve(spec_dir, raw, policy)?;
        return Ok(DataPath {
            table_path: p.to_string_lossy().to_string(),
            files: vec![p],
            hive_base: None,
        });
    }
    let files = expand(spec_dir, raw, extension, policy)?;
    let fixed: String = raw.chars().take_while(|c| !matches!(c, '*' | '?' | '[')).collect();
    let base = resolve(spec_dir, if fixed.is_empty() { "." } else { &fixed }, policy)?;
    let base =
        if base.is_dir() { base } else { base.parent().map(Path::to_path_buf).unwrap_or(base) };
    let table_path = if raw.contains(['*', '?', '[']) {
        resolve_pattern(spec_dir, raw, policy)?.to_string_lossy().to_string()
    } else {
        format!("{}/", base.to_string_lossy().trim_end_matches('/'))
    };
    Ok(DataPath { table_path, files, hive_base: Some(base) })
}

/// A `--source` path (already resolved, see `resolve_source`): one file, or every
/// file a pattern in it matches, each held to the policy.
pub fn source_data(spec_dir: &Path, path: &Path, policy: &PathPolicy) -> Result<DataPath, String> {
    let raw = path.to_string_lossy().to_string();
    if !raw.contains(['*', '?', '[']) {
        return Ok(DataPath { table_path: raw, files: vec![path.to_path_buf()], hive_base: None });
    }
    let found = glob::glob(&raw).map_err(|e| format!("`{raw}` is not a valid pattern: {e}"))?;
    let mut files = Vec::new();
    for f in found.filter_map(Result::ok).filter(|p| p.is_file()) {
        let ok = within_policy(spec_dir, &f, policy)
            .map_err(|why| format!("`{}` (matched by `{raw}`) is refused: {why}", f.display()))?;
        files.push(ok);
    }
    if files.is_empty() {
        return Err(format!("no file matches `{raw}`"));
    }
    files.sort();
    let fixed: String = raw.chars().take_while(|c| !matches!(c, '*' | '?' | '[')).collect();
    let base = PathBuf::from(&fixed);
    let base = if fixed.ends_with('/') {
        base
    } else {
        base.parent().map(Path::to_path_buf).unwrap_or(base)
    };
    Ok(DataPath { table_path: raw, files, hive_base: Some(base) })
}
