//! The REPL's session: definitions typed so far, checked with the same checker as
//! `seg check`, and a DataFusion session whose sources are registered once. It
//! returns text for the front end to print; `editor` holds the line-editor parts.

pub mod editor;

use crate::check;
use crate::check::program::{Checked, DimKind, Owner};
use crate::diagnostic::Renderer;
use crate::driver::{Driver, LoadOptions};
use crate::engine::paths::PathPolicy;
use crate::engine::session::{EngineError, Session, SessionOptions};
use crate::engine::{files, output};
use crate::span::Span;
use crate::syntax::{self, ast};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the front end should show after one input.
#[derive(Debug, Default)]
pub struct Reply {
    pub out: String,
    pub err: String,
    pub failed: bool,
    pub quit: bool,
}

impl Reply {
    fn out(s: impl Into<String>) -> Reply {
        Reply { out: s.into(), ..Default::default() }
    }
    fn err(s: impl Into<String>) -> Reply {
        Reply { err: s.into(), failed: true, ..Default::default() }
    }
}

#[derive(Clone, Debug)]
struct Def {
    text: String,
    /// ("dimension", "buyer") for definitions that a later one may replace.
    key: Option<(&'static str, String)>,
    /// Typed in this session (kept across `:reload`), not read from the spec.
    interactive: bool,
}
pub const COMMANDS: [&str; 14] = [
    ":help", ":load", ":reload", ":schema", ":dims", ":sample", ":explain", ":audit", ":save",
    ":time", ":quit", ":exit", ":defs", ":clear",
];

const HELP: &str = "\
Type statements (market, entity, dimension, segment, expect, example) to add them to
the session; a dimension with an existing name replaces it. Type a segmentation such as
`coffee by buyer then venue` to run it at once.

  :help                 this text
  :load FILE            start over from a spec file
  :reload               re-read the spec, keeping typed definitions that still check
  :schema MARKET        the columns of a market
  :dims                 the dimensions and their labels
  :sample MARKET [N]    the first N rows of a market (default 10)
  :explain EXPR         the DataFusion plan of a segmentation
  :audit EXPR           unassigned rows, unmapped values and totals of a segmentation
  :save FILE            write the session as a spec that `seg check` accepts
  :time on|off          report how long each query takes
  :quit                 leave (Ctrl-D works too)

Ctrl-C cancels a running query; at the prompt it clears the line.
";
pub struct Repl {
    spec: Option<PathBuf>,
    dir: PathBuf,
    defs: Vec<Def>,
    program: Checked,
    session: Option<Session>,
    /// Checks every input against the definitions; data schemas are read once
    /// per file and read again only when the file changes.
    driver: Driver,
    policy: PathPolicy,
    threads: Option<usize>,
    /// The loaded spec's lock file (unless `--no-lock`): applied to every dimension
    /// still defined as locked.
    lock: Option<crate::check::lock::LockFile>,
    pub time: bool,
    pub color: bool,
    /// Share bars beside the tables (on a terminal).
    pub bars: bool,
}

/// Something that resolves when the user asks to cancel the running query.
pub type Cancel = crate::engine::session::CancelFuture;

fn item_key(item: &ast::Item) -> Option<(&'static str, String)> {
    match &item.kind {
        ast::ItemKind::Market(m) => Some(("market", m.name.name.clone())),
        ast::ItemKind::Entity(e) => Some(("entity", e.name.name.clone())),
        ast::ItemKind::Dimension(d) => Some(("dimension", d.name.name.clone())),
        ast::ItemKind::Segment(s) => s.name.as_ref().map(|n| ("segment", n.name.clone())),
        _ => None,
    }
}

/// Brackets still open, outside strings and comments: the input continues.
pub fn open_brackets(text: &str) -> i64 {
    let mut depth = 0i64;
    let (mut in_str, mut esc, mut in_comment) = (false, false, false);
    for c in text.chars() {
        if in_comment {
            in_comment = c != '\n';
        } else if in_str {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else {
            match c {
                '#' => in_comment = true,
                '"' => in_str = true,
                '{' | '(' | '[' => depth += 1,
                '}' | ')' | ']' => depth -= 1,
                _ => {}
            }
        }
    }
    depth
}

const QUERY_NAME: &str = "__repl_query";

/// The most a market's columns may take in memory between queries: trying cut
/// points on 10M rows then reads the file once, not per query.
const CACHE_BUDGET: usize = 4 << 30;

/// A query's market reduced for its shape is held when that keeps at most a
/// quarter of the rows: grouping fewer saves too little to pay for holding them.
const REDUCE_AT_MOST: f64 = 0.25;

impl Repl {
    /// A session on `spec` (or none); `as_of` is the date `today()` stands for.
    pub fn new(
        spec: Option<&Path>,
        allow_outside: bool,
        threads: Option<usize>,
        color: bool,
        as_of: Option<i32>,
        no_lock: bool,
    ) -> Result<(Repl, Reply), String> {
        let dir = match spec.and_then(|s| s.parent()) {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let policy = PathPolicy { allow_outside };
        let driver = Driver::new(LoadOptions {
            no_data: false,
            policy: policy.clone(),
            sources: HashMap::new(),
            as_of,
            no_lock,
            database: None,
        });
        let mut repl = Repl {
            spec: None,
            dir,
            defs: Vec::new(),
            program: Checked::default(),
            session: None,
            driver,
            policy,
            threads,
            lock: None,
            time: false,
            color,
            bars: false,
        };
        let reply = match spec {
            Some(p) => repl.load(p),
            None => Reply::out("no spec loaded: define a market, or :load FILE\n"),
        };
        if reply.failed && repl.defs.is_empty() && spec.is_some() {
            return Err(reply.err);
        }
        Ok((repl, reply))
    }

    pub fn spec_name(&self) -> Option<String> {
        self.spec.as_ref().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().to_string())
    }

    /// Names to complete: markets, columns, dimensions, measures, segmentations.
    pub fn names(&self) -> Vec<String> {
        let p = &self.program;
        let mut v: Vec<String> = Vec::new();
        for m in &p.markets {
            v.push(m.name.clone());
            v.extend(m.row_columns.iter().map(|c| c.name.clone()));
            v.extend(m.measures.iter().map(|x| x.name.clone()));
        }
        for t in &p.tables {
            v.push(t.name.clone());
        }
        for e in &p.entities {
            v.push(e.name.clone());
            v.extend(e.features.iter().map(|f| f.name.clone()));
            v.extend(e.measures.iter().map(|x| x.name.clone()));
        }
        v.extend(p.dims.iter().map(|d| d.name.clone()));
        v.extend(p.segments.iter().filter(|s| s.name != QUERY_NAME).map(|s| s.name.clone()));
        v.sort();
        v.dedup();
        v
    }

    fn full_text(defs: &[Def], extra: &str) -> (String, usize) {
        let mut text = String::new();
        for d in defs {
            text.push_str(&d.text);
            text.push('\n');
        }
        let offset = text.len();
        text.push_str(extra);
        text.push('\n');
        (text, offset)
    }

    /// Checks `defs` plus `extra`. Diagnostics in `extra` are drawn against the typed
    /// text (`shown`, whose first byte is at `offset + skip` of the whole).
    fn check(
        &self,
        defs: &[Def],
        extra: &str,
        skip: usize,
        shown: &str,
    ) -> Result<(Checked, String), String> {
        let (text, offset) = Self::full_text(defs, extra);
        let (diags, mut program) = self.driver.check_text(&self.dir, &text);
        if let (Some(p), Some(lock)) = (&mut program, &self.lock) {
            crate::check::lock::apply_matching(p, lock, &text);
        }
        let r = Renderer { color: self.color, width: 100 };
        let mut rendered = String::new();
        let base = (offset + skip) as u32;
        for d in &diags {
            let in_input = d.primary_span().is_some_and(|s| s.start >= base);
            if in_input {
                let mut local = d.clone();
                for l in &mut local.labels {
                    l.span = if l.span.start >= base {
                        Span { start: l.span.start - base, end: l.span.end.saturating_sub(base) }
                    } else {
                        Span::default()
                    };
                }
                local.labels.retain(|l| l.span != Span::default() || l.span.end > 0);
                rendered.push_str(&r.render(&local, "<input>", shown));
            } else {
                rendered.push_str(&r.render(d, "<session>", &text));
            }
        }
        match program {
            Some(p) => Ok((p, rendered)),
            None => Err(rendered),
        }
    }

    fn install(&mut self, program: Checked) -> Result<(), EngineError> {
        let same = self.session.as_ref().is_some_and(|s| {
            let a = &s.program.markets;
            let b = &program.markets;
            a.len() == b.len()
                && a.iter().zip(b).all(|(x, y)| {
                    x.name == y.name
                        && x.path == y.path
                        && x.columns == y.columns
                        && x.format == y.format
                })
        });
        if same {
            if let Some(s) = self.session.as_mut() {
                s.program = program.clone();
            }
        } else if program.markets.is_empty() {
            self.session = None;
        } else {
            let opts = SessionOptions {
                threads: self.threads,
                policy: Some(self.policy.clone()),
                ..Default::default()
            };
            let mut session = self.driver.session(program.clone(), &self.dir, &opts)?;
            session.cache_columns(CACHE_BUDGET)?;
            session.hold_reductions(REDUCE_AT_MOST);
            self.session = Some(session);
        }
        self.program = program;
        Ok(())
    }

    pub fn load(&mut self, path: &Path) -> Reply {
        let bytes = match files::read_limited(path, syntax::errors::MAX_SPEC_BYTES) {
            Ok(b) => b,
            Err(e) => return Reply::err(format!("error: cannot read {}: {e}\n", path.display())),
        };
        let parsed = syntax::parse_bytes(&bytes);
        let defs: Vec<Def> = parsed
            .program
            .items
            .iter()
            .map(|i| {
                let s = i.span.clamp_to(&parsed.text);
                Def {
                    text: parsed.text[s.start as usize..s.end as usize].to_string(),
                    key: item_key(i),
                    interactive: false,
                }
            })
            .collect();
        let dir = files::folder_of(path);
        let old_dir = std::mem::replace(&mut self.dir, dir.clone());
        let old_lock = self.lock.take();
        let mut notes = String::new();
        let lock_path = files::lock_file(path);
        if let Some(read) = self.driver.read_lock(path) {
            match read.and_then(|t| crate::check::lock::LockFile::parse(&t)) {
                Ok(l) => self.lock = Some(l),
                Err(why) => {
                    notes.push_str(&format!("warning: {} ignored: {why}\n", lock_path.display()))
                }
            }
        }
        if !parsed.diagnostics.is_empty() {
            let r = Renderer { color: self.color, width: 100 };
            let text: String = parsed
                .diagnostics
                .iter()
                .map(|d| r.render(d, &path.display().to_string(), &parsed.text))
                .collect();
            self.dir = old_dir;
            self.lock = old_lock;
            return Reply::err(text);
        }
        match self.check(&defs, "", 0, "") {
            Ok((program, warnings)) => {
                self.session = None;
                if let Err(e) = self.install(program) {
                    self.dir = old_dir;
                    self.lock = old_lock;
                    return Reply::err(e.to_text());
                }
                let frozen = self.lock.as_ref().map_or(0, |l| l.dimensions.len());
                if frozen > 0 {
                    notes.push_str(&format!(
                        "using {} ({frozen} frozen definition(s); --no-lock ignores it)\n",
                        lock_path.display()
                    ));
                }
                self.defs = defs;
                self.spec = Some(path.to_path_buf());
                let p = &self.program;
                Reply {
                    out: format!(
                        "loaded {}: {} market(s), {} dimension(s), {} segmentation(s)\n",
                        path.display(),
                        p.markets.len(),
                        p.dims.len(),
                        p.segments.len()
                    ),
                    err: warnings + &notes,
                    ..Default::default()
                }
            }
            Err(diags) => {
                self.dir = old_dir;
                self.lock = old_lock;
                Reply::err(diags)
            }
        }
    }

    /// Evaluates one complete input (a statement, a segmentation or a `:command`).
    pub fn eval(&mut self, input: &str, cancel: impl FnOnce() -> Cancel) -> Reply {
        let input = input.trim();
        if input.is_empty() {
            return Reply::default();
        }
        if let Some(cmd) = input.strip_prefix(':') {
            return self.command(cmd, cancel);
        }
        let first = input.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or("");
        if ["market", "entity", "dimension", "segment", "expect", "example"].contains(&first) {
            return self.define(input);
        }
        self.query(input, cancel, Mode::Run)
    }

    fn define(&mut self, input: &str) -> Reply {
        let parsed = syntax::parse_str(input);
        if !parsed.diagnostics.is_empty() {
            let r = Renderer { color: self.color, width: 100 };
            return Reply::err(
                parsed
                    .diagnostics
                    .iter()
                    .map(|d| r.render(d, "<input>", input))
                    .collect::<String>(),
            );
        }
        let keys: Vec<Option<(&'static str, String)>> =
            parsed.program.items.iter().map(item_key).collect();
        let mut defs: Vec<Def> = self
            .defs
            .iter()
            .filter(|d| d.key.is_none() || !keys.contains(&d.key))
            .cloned()
            .collect();
        let replaced: Vec<String> = self
            .defs
            .iter()
            .filter(|d| d.key.is_some() && keys.contains(&d.key))
            .filter_map(|d| d.key.as_ref().map(|(k, n)| format!("{k} {n}")))
            .collect();
        let (program, warnings) = match self.check(&defs, input, 0, input) {
            Ok(x) => x,
            Err(e) => return Reply::err(e),
        };
        if let Err(e) = self.install(program) {
            return Reply::err(e.to_text());
        }
        for (i, item) in parsed.program.items.iter().enumerate() {
            let s = item.span.clamp_to(input);
            defs.push(Def {
                text: input[s.start as usize..s.end as usize].to_string(),
                key: keys[i].clone(),
                interactive: true,
            });
        }
        self.defs = defs;
        let mut out = String::new();
        for k in keys.iter().flatten() {
            if replaced.contains(&format!("{} {}", k.0, k.1)) {
                out.push_str(&format!(
                    "redefined {} {} (the previous definition is replaced)\n",
                    k.0, k.1
                ));
            } else {
                out.push_str(&format!("defined {} {}\n", k.0, k.1));
            }
        }
        if out.is_empty() {
            out.push_str("added\n");
        }
        Reply { out, err: warnings, ..Default::default() }
    }

    /// Checks `expr` as a segmentation and returns the program and its index.
    fn compile_query(&self, expr: &str) -> Result<(Checked, usize), String> {
        let prefix = format!("segment {QUERY_NAME} = ");
        let text = format!("{prefix}{expr}");
        let (program, _) = self.check(&self.defs, &text, prefix.len(), expr)?;
        let idx = program
            .segments
            .iter()
            .position(|s| s.name == QUERY_NAME)
            .ok_or_else(|| "error: not a segmentation\n".to_string())?;
        Ok((program, idx))
    }

    fn query(&mut self, expr: &str, cancel: impl FnOnce() -> Cancel, mode: Mode) -> Reply {
        let (program, idx) = match self.compile_query(expr) {
            Ok(x) => x,
            Err(e) => return Reply::err(e),
        };
        let keep = self.program.clone();
        if let Err(e) = self.install(program) {
            return Reply::err(e.to_text());
        }
        let started = Instant::now();
        let result = self.run_query(idx, cancel, mode);
        let elapsed = started.elapsed();
        // The query is not part of the session.
        if let Some(s) = self.session.as_mut() {
            s.program = keep.clone();
        }
        self.program = keep;
        let mut reply = match result {
            Ok(text) => Reply::out(
                text.replace(&format!("audit of {QUERY_NAME}"), &format!("audit of {expr}")),
            ),
            Err(e) => Reply::err(e.to_text()),
        };
        if self.time {
            reply.out.push_str(&format!("time: {:.3} s\n", elapsed.as_secs_f64()));
        }
        reply
    }

    fn run_query(
        &self,
        idx: usize,
        cancel: impl FnOnce() -> Cancel,
        mode: Mode,
    ) -> Result<String, EngineError> {
        let session =
            self.session.as_ref().ok_or_else(|| EngineError::data("no market is defined"))?;
        match mode {
            Mode::Run => {
                let batches = session.run_segment_cancellable(idx, cancel())?;
                Ok(output::to_table_with(
                    &batches,
                    session.program.segments[idx].label_columns(),
                    self.bars,
                ) + "\n")
            }
            Mode::Explain => {
                let plan = session.segment_plan(idx)?;
                session.explain(plan, false).map(|t| t + "\n")
            }
            Mode::Audit => {
                let reports = crate::engine::audit::audit_all(session, &[idx])?;
                Ok(reports.iter().map(|r| r.render(&session.program)).collect())
            }
        }
    }

    fn command(&mut self, cmd: &str, cancel: impl FnOnce() -> Cancel) -> Reply {
        let (name, arg) =
            cmd.split_once(char::is_whitespace).map(|(a, b)| (a, b.trim())).unwrap_or((cmd, ""));
        match name {
            "help" | "h" | "?" => Reply::out(HELP),
            "quit" | "q" | "exit" => Reply { quit: true, ..Default::default() },
            "time" => match arg {
                "on" => {
                    self.time = true;
                    Reply::out("timing on\n")
                }
                "off" => {
                    self.time = false;
                    Reply::out("timing off\n")
                }
                _ => Reply::err("usage: :time on|off\n"),
            },
            "load" if !arg.is_empty() => self.load(Path::new(arg)),
            "reload" => self.reload(),
            "schema" => self.schema(arg),
            "dims" => Reply::out(self.dims()),
            "defs" => {
                Reply::out(self.defs.iter().map(|d| format!("{}\n", d.text)).collect::<String>())
            }
            "sample" => self.sample(arg),
            "explain" if !arg.is_empty() => self.query(arg, cancel, Mode::Explain),
            "audit" if !arg.is_empty() => self.query(arg, cancel, Mode::Audit),
            "save" if !arg.is_empty() => self.save(Path::new(arg)),
            _ => {
                let all: Vec<&str> = COMMANDS.iter().map(|c| &c[1..]).collect();
                let hint = check::errors::suggest(name, all.iter().copied())
                    .map(|s| format!(" (did you mean :{s}?)"))
                    .unwrap_or_default();
                Reply::err(format!(
                    "unknown command or missing argument: :{cmd}{hint}; :help lists the commands\n"
                ))
            }
        }
    }

    fn reload(&mut self) -> Reply {
        let Some(spec) = self.spec.clone() else {
            return Reply::err("no spec to reload; use :load FILE\n");
        };
        let typed: Vec<Def> = self.defs.iter().filter(|d| d.interactive).cloned().collect();
        let mut reply = self.load(&spec);
        if reply.failed {
            return reply;
        }
        for d in typed {
            let r = self.define(&d.text);
            if r.failed {
                let first = d.text.lines().next().unwrap_or("");
                reply.out.push_str(&format!("dropped `{first}`: it no longer checks\n"));
            }
        }
        reply
    }

    fn schema(&self, market: &str) -> Reply {
        let Some(m) = self.program.markets.iter().find(|m| m.name == market) else {
            let names: Vec<&str> = self.program.markets.iter().map(|m| m.name.as_str()).collect();
            return Reply::err(format!(
                "no market `{market}`; the markets are {}\n",
                names.join(", ")
            ));
        };
        let mut out = format!("market {} from {:?}\n", m.name, m.path);
        for c in &m.columns {
            out.push_str(&format!("  {:<20} {}\n", c.name, c.ty));
        }
        for x in &m.measures {
            out.push_str(&format!("  measure {:<12} {}\n", x.name, x.ty));
        }
        Reply::out(out)
    }

    fn dims(&self) -> String {
        let p = &self.program;
        let mut out = String::new();
        for d in &p.dims {
            let owner = match d.owner {
                Owner::Market(m) => p.markets[m].name.clone(),
                Owner::Entity(e) => p.entities[e].name.clone(),
            };
            let kind = match &d.kind {
                DimKind::Column(_) => "column",
                DimKind::Top { .. } => "top",
                DimKind::Map { .. } => "mapping",
                DimKind::Rules { partition: true, .. } => "partition",
                DimKind::Rules { .. } => "rules",
                DimKind::Bins { .. } => "bins",
                DimKind::Quantiles { .. } => "quantiles",
                DimKind::Pareto { .. } => "pareto",
            };
            let labels = if d.labels.is_empty() {
                "(labels from data)".to_string()
            } else {
                d.labels.join(", ")
            };
            out.push_str(&format!("{} on {owner}: {kind}: {labels}\n", d.name));
        }
        if out.is_empty() {
            out.push_str("no dimensions yet\n");
        }
        out
    }

    fn sample(&self, arg: &str) -> Reply {
        let mut parts = arg.split_whitespace();
        let Some(market) = parts.next() else { return Reply::err("usage: :sample MARKET [N]\n") };
        let n: usize = match parts.next().map(|x| x.parse()) {
            None => 10,
            Some(Ok(n)) => n,
            Some(Err(_)) => return Reply::err("usage: :sample MARKET [N]\n"),
        };
        let Some(mi) = self.program.markets.iter().position(|m| m.name == market) else {
            return Reply::err(format!("no market `{market}`\n"));
        };
        let Some(session) = &self.session else { return Reply::err("no data is loaded\n") };
        let plan = crate::lower::scan::sample(session, mi, n);
        match plan.map_err(crate::engine::session::classify).and_then(|p| session.execute(p)) {
            Ok(b) => Reply::out(
                arrow::util::pretty::pretty_format_batches(&b)
                    .map(|t| t.to_string() + "\n")
                    .unwrap_or_default(),
            ),
            Err(e) => Reply::err(e.to_text()),
        }
    }

    /// A market's data path rewritten to stay right from the folder a spec is saved in.
    fn relocate(&self, d: &Def, target_dir: &Path) -> String {
        if !matches!(d.key, Some(("market", _))) {
            return d.text.clone();
        }
        let parsed = syntax::parse_str(&d.text);
        let Some(ast::ItemKind::Market(m)) = parsed.program.items.first().map(|i| &i.kind) else {
            return d.text.clone();
        };
        let (Ok(data), Ok(to)) =
            (self.dir.join(&m.source.value).canonicalize(), target_dir.canonicalize())
        else {
            return d.text.clone();
        };
        let rel = relative_path(&to, &data);
        let s = m.source.span;
        let quoted = format!("{:?}", rel.to_string_lossy());
        format!("{}{}{}", &d.text[..s.start as usize], quoted, &d.text[s.end as usize..])
    }

    fn save(&self, path: &Path) -> Reply {
        let mut text = String::from("# saved from seg repl\n");
        let target_dir = files::folder_of(path);
        for d in &self.defs {
            text.push_str(&self.relocate(d, &target_dir));
            text.push('\n');
        }
        // `:save` may replace a spec (saving back to the loaded one is the point) but
        // never a data file, a lock file or any other existing file.
        let mut inputs: Vec<PathBuf> =
            self.session.as_ref().map(|s| s.files.clone()).unwrap_or_default();
        inputs.extend(self.spec.as_deref().map(files::lock_file));
        if path.exists() && path.extension().is_none_or(|e| e != "seg") {
            return Reply::err(format!(
                "error: refusing to write `{}`: it exists and is not a spec (*.seg)\n",
                path.display()
            ));
        }
        match files::write_atomic(path, text.as_bytes(), true, &inputs) {
            Ok(()) => {
                Reply::out(format!("saved {} definitions to {}\n", self.defs.len(), path.display()))
            }
            Err(e) => Reply::err(e.to_text()),
        }
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Run,
    Explain,
    Audit,
}

/// `target` as a path relative to the folder `from` (both absolute).
fn relative_path(from: &Path, target: &Path) -> PathBuf {
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = target.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    out
}
