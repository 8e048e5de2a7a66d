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
}

/// A spec analysis kept for reuse: valid while its text and the data files whose
/// schemas it read are unchanged.
struct Cached {
    text_hash: u64,
    inputs: Vec<(PathBuf, Stamp)>,
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
            let fresh = c.inputs.iter().all(|(p, stamp)| Stamp::of(p).as_ref() == Some(stamp));
            if c.text_hash == text_hash && c.spec.display == display && fresh {
                return c.spec.clone();
            }
        }
        let (spec, inputs) = self.analyse_uncached(path, display, bytes);
        let spec = Arc::new(spec);
        analyses.insert(path.to_path_buf(), Cached { text_hash, inputs, spec: spec.clone() });
        spec
    }

    fn analyse_uncached(
        &self,
        path: &Path,
        display: &str,
        bytes: &[u8],
    ) -> (SpecFile, Vec<(PathBuf, Stamp)>) {
        let parsed = syntax::parse_bytes(bytes);
        let mut spec = SpecFile {
            display: display.to_string(),
            path: path.to_path_buf(),
            text: parsed.text,
            diagnostics: parsed.diagnostics,
            program: None,
            today: None,
        };
        let schemas = self.schemas_for(&spec.dir());
        let checked = check::check(&parsed.program, &schemas);
        spec.diagnostics.extend(checked.diagnostics);
        spec.diagnostics.sort_by_key(|d| d.primary_span().map(|s| s.start).unwrap_or(0));
        if !spec.diagnostics.iter().any(|d| d.is_error()) {
            spec.program = checked.program;
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
