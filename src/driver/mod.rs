//! The one way every front end (CLI, REPL, and the coming formatter and language
//! server) turns spec text into checked programs and sessions: read, parse, check,
//! cache.
//!
//! Designed for an editor: analysing a buffer again re-reads no data file that has
//! not changed (schemas are cached by file identity: path, length and modification
//! time), and an unchanged buffer over unchanged data is not analysed again at all.

use crate::check::{self, program::Checked};
use crate::diagnostic::Diagnostic;
use crate::engine::errors::EngineError;
use crate::engine::files;
use crate::engine::paths::PathPolicy;
use crate::engine::schema::{FileSchemas, SchemaCache, Stamp};
use crate::engine::session::{Session, SessionOptions};
use crate::syntax;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One spec file, read, parsed and checked.
pub struct SpecFile {
    /// The path as the user gave it (for messages).
    pub display: String,
    pub path: PathBuf,
    pub text: String,
    /// Syntax and check diagnostics, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// The checked program; `None` when any diagnostic is an error.
    pub program: Option<Checked>,
    /// The date `today()` stood for, when the program uses it.
    pub today: Option<i32>,
    /// The lock file applied to `program` (`SPEC.lock`), if one was.
    pub lock: Option<crate::check::lock::LockFile>,
}

impl SpecFile {
    /// The folder data paths are relative to.
    pub fn dir(&self) -> PathBuf {
        files::folder_of(&self.path)
    }
}

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Check without reading any data file (declared columns only).
    pub no_data: bool,
    pub policy: PathPolicy,
    /// `--source MARKET=PATH` replacements, read instead of the spec's paths.
    pub sources: HashMap<String, PathBuf>,
    /// `--as-of DATE`: the value of `today()` (days since 1970-01-01); else the
    /// current date (UTC).
    pub as_of: Option<i32>,
    /// `--no-lock`: ignore `SPEC.lock`.
    pub no_lock: bool,
    /// `--on URL`: where a `from table` market's columns are read from when the
    /// spec does not declare them (and checked against when it does).
    pub database: Option<String>,
}

/// A spec analysis kept for reuse: valid while its text and the data files whose
/// schemas it read are unchanged.
struct Cached {
    text_hash: u64,
    inputs: Vec<(PathBuf, Stamp)>,
    /// The lock file's stamp when analysed (`None`: there was none).
    lock: Option<Stamp>,
    spec: Arc<SpecFile>,
}

/// Loads and checks specs, caching schemas and analyses across calls.
pub struct Driver {
    opts: LoadOptions,
    schemas: SchemaCache,
    analyses: Mutex<HashMap<PathBuf, Cached>>,
}

impl Driver {
    pub fn new(opts: LoadOptions) -> Driver {
        Driver { opts, schemas: SchemaCache::default(), analyses: Mutex::default() }
    }

    pub fn options(&self) -> &LoadOptions {
        &self.opts
    }

    /// The date `today()` stands for: `--as-of`, else the current date (UTC).
    pub fn as_of(&self) -> i32 {
        self.opts.as_of.unwrap_or_else(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            (secs / 86_400) as i32
        })
    }

    /// How many data file schemas this driver has read (cache misses).
    pub fn schema_reads(&self) -> usize {
        self.schemas.reads()
    }

    /// Reads a spec from disk (refusing FIFOs and devices, at most 1 MiB) and
    /// analyses it.
    pub fn load(&self, path: &Path, display: &str) -> Result<Arc<SpecFile>, std::io::Error> {
        let bytes = files::read_limited(path, syntax::errors::MAX_SPEC_BYTES)?;
        Ok(self.analyse(path, display, &bytes))
    }

    /// Analyses spec text that may not be on disk yet (an editor's buffer); `path`
    /// places it (data paths are relative to its folder).
    pub fn analyse(&self, path: &Path, display: &str, bytes: &[u8]) -> Arc<SpecFile> {
        let text_hash = hash(bytes);
        let mut analyses = self.analyses.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = analyses.get(path) {
            let fresh = c.inputs.iter().all(|(p, stamp)| Stamp::of(p).as_ref() == Some(stamp))
                && (self.opts.no_lock || Stamp::of(&files::lock_file(path)) == c.lock);
            if c.text_hash == text_hash && c.spec.display == display && fresh {
                return c.spec.clone();
            }
        }
        let lock = Stamp::of(&files::lock_file(path));
        let lock_text = self.read_lock(path);
        let (spec, inputs) = self.analyse_uncached(path, display, bytes, lock_text);
        let spec = Arc::new(spec);
        analyses.insert(path.to_path_buf(), Cached { text_hash, inputs, lock, spec: spec.clone() });
        spec
    }

    /// `SPEC.lock` as read from disk, unless `--no-lock` (`Err`: it exists but
    /// cannot be read).
    pub fn read_lock(&self, spec: &Path) -> Option<Result<String, String>> {
        if self.opts.no_lock {
            return None;
        }
        let path = files::lock_file(spec);
        if !path.exists() {
            return None;
        }
        Some(
            files::read_limited(&path, syntax::errors::MAX_SPEC_BYTES * 16)
                .map_err(|e| e.to_string())
                .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".to_string())),
        )
    }

    /// `analyse`, with the lock file's text given (a spec at a git revision and its
    /// lock there), not read from disk; never cached.
    pub fn analyse_with_lock(
        &self,
        path: &Path,
        display: &str,
        bytes: &[u8],
        lock: Option<String>,
    ) -> Arc<SpecFile> {
        let lock = if self.opts.no_lock { None } else { lock.map(Ok) };
        Arc::new(self.analyse_uncached(path, display, bytes, lock).0)
    }

    fn analyse_uncached(
        &self,
        path: &Path,
        display: &str,
        bytes: &[u8],
        lock: Option<Result<String, String>>,
    ) -> (SpecFile, Vec<(PathBuf, Stamp)>) {
        let parsed = syntax::parse_bytes(bytes);
        let mut spec = SpecFile {
            display: display.to_string(),
            path: path.to_path_buf(),
            text: parsed.text,
            diagnostics: parsed.diagnostics,
            program: None,
            today: None,
            lock: None,
        };
        let schemas = self.schemas_for(&spec.dir());
        let checked = check::check(&parsed.program, &schemas);
        spec.diagnostics.extend(checked.diagnostics);
        spec.diagnostics.sort_by_key(|d| d.primary_span().map(|s| s.start).unwrap_or(0));
        let mut program = checked.program;
        // The lock freezes data-dependent dimensions into plain ones; a lock that
        // no longer matches the spec is an error, never silently half-applied.
        if let (Some(p), Some(lock)) = (&mut program, lock) {
            let shown = format!("{display}.lock");
            let parsed = lock.and_then(|t| crate::check::lock::LockFile::parse(&t));
            match parsed {
                Err(why) => {
                    spec.diagnostics.push(crate::check::errors::lock_unreadable(&shown, &why))
                }
                Ok(l) => {
                    let diags = crate::check::lock::apply(p, &l, &spec.text, &shown);
                    spec.diagnostics.extend(diags);
                    spec.lock = Some(l);
                }
            }
        }
        if !spec.diagnostics.iter().any(|d| d.is_error()) {
            spec.program = program;
        }
        if let Some(p) = &mut spec.program {
            let date = self.as_of();
            spec.today = p.bind_today(date).then_some(date);
        }
        (spec, schemas.take_inputs())
    }

    /// The checker's view of the data for specs in `spec_dir`, through the cache.
    pub fn schemas_for(&self, spec_dir: &Path) -> FileSchemas<'_> {
        FileSchemas::new(
            spec_dir.to_path_buf(),
            self.opts.policy.clone(),
            self.opts.no_data,
            self.opts.sources.clone(),
            &self.schemas,
        )
        .with_database(self.opts.database.clone())
    }

    /// Parses and checks text that belongs to no file (the REPL's session of
    /// definitions plus the line being typed), with data paths relative to `dir`.
    pub fn check_text(&self, dir: &Path, text: &str) -> (Vec<Diagnostic>, Option<Checked>) {
        let parsed = syntax::parse_str(text);
        let mut diags = parsed.diagnostics;
        let checked = check::check(&parsed.program, &self.schemas_for(dir));
        diags.extend(checked.diagnostics);
        let mut program = checked.program.filter(|_| !diags.iter().any(|d| d.is_error()));
        if let Some(p) = &mut program {
            p.bind_today(self.as_of());
        }
        (diags, program)
    }

    /// `spec` with the warnings only its data can give: drift from the lock file
    /// (`with_drift`) and grids too large to be useful (W0433). For `seg check`
    /// with data; unchanged with `--no-data` or when the spec has errors.
    pub fn with_data_checks(&self, spec: Arc<SpecFile>) -> Arc<SpecFile> {
        let spec = self.with_drift(spec);
        let Some(program) = &spec.program else { return spec };
        if self.opts.no_data || !program.segments.iter().any(|sd| sd.dims.len() > 1) {
            return spec;
        }
        let opts = SessionOptions {
            policy: Some(self.opts.policy.clone()),
            sources: self.opts.sources.clone(),
            ..Default::default()
        };
        let Ok(session) = Session::new(program.clone(), &spec.dir(), &opts) else { return spec };
        let mut extra = Vec::new();
        for (s, sd) in program.segments.iter().enumerate() {
            match session.grid_cells(s) {
                Ok(Some((cells, sizes))) if cells > GRID_CELLS_WARNING => {
                    let named: Vec<(String, u128)> = sd
                        .dims
                        .iter()
                        .zip(sizes)
                        .map(|(&d, n)| (program.dims[d].name.clone(), n))
                        .collect();
                    extra.push(crate::engine::errors::grid_too_large(
                        sd.span, &sd.name, cells, &named,
                    ));
                }
                Ok(_) => {}
                // A data error here is `seg run`'s to report, with its own code.
                Err(_) => {}
            }
        }
        with_extra(spec, extra)
    }

    /// `spec` with warnings where its data has drifted from its lock file (see
    /// `engine::lock::drift`), for `seg check` with data. Unchanged without a lock,
    /// with `--no-data`, or when the spec has errors.
    pub fn with_drift(&self, spec: Arc<SpecFile>) -> Arc<SpecFile> {
        let (Some(lock), Some(frozen)) = (&spec.lock, &spec.program) else { return spec };
        if self.opts.no_data {
            return spec;
        }
        let (unlocked, _) =
            self.analyse_uncached(&spec.path, &spec.display, spec.text.as_bytes(), None);
        let Some(unlocked) = unlocked.program else { return spec };
        let opts = SessionOptions {
            policy: Some(self.opts.policy.clone()),
            sources: self.opts.sources.clone(),
            ..Default::default()
        };
        let dir = spec.dir();
        let found = Session::new(unlocked, &dir, &opts).and_then(|u| {
            let f = Session::new(frozen.clone(), &dir, &opts)?;
            crate::engine::lock::drift(&u, &f, lock, &spec.text)
        });
        let extra = match found {
            Ok(w) => w,
            Err(e) => e.diagnostic().cloned().into_iter().collect(),
        };
        with_extra(spec, extra)
    }

    /// A session over a checked program: its sources registered (headers and
    /// footers read), ready to plan and run.
    pub fn session(
        &self,
        program: Checked,
        dir: &Path,
        opts: &SessionOptions,
    ) -> Result<Session, EngineError> {
        Session::new(program, dir, opts)
    }
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Every `*.seg` under `dir`, skipping hidden folders and `target` (what `seg check`
/// and `seg fmt` take a folder to mean, and the language server's workspace).
pub fn spec_files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let hidden = name.to_string_lossy().starts_with('.') || name == "target";
        if p.is_dir() && !hidden {
            spec_files_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "seg") {
            out.push(p);
        }
    }
}

/// Above this many cells, `seg check` with data warns about a grid (W0433).
pub const GRID_CELLS_WARNING: u128 = 10_000_000;

/// `spec` with `extra` diagnostics among its own, in the order of the text.
fn with_extra(spec: Arc<SpecFile>, extra: Vec<Diagnostic>) -> Arc<SpecFile> {
    if extra.is_empty() {
        return spec;
    }
    let mut diagnostics = spec.diagnostics.clone();
    diagnostics.extend(extra);
    diagnostics.sort_by_key(|d| d.primary_span().map(|s| s.start).unwrap_or(0));
    Arc::new(SpecFile {
        display: spec.display.clone(),
        path: spec.path.clone(),
        text: spec.text.clone(),
        diagnostics,
        program: spec.program.clone(),
        today: spec.today,
        lock: spec.lock.clone(),
    })
}
