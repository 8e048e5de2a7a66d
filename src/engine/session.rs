//! A DataFusion session over one checked spec: sources registered once, plans
//! lowered on demand, results collected as Arrow batches.

use super::paths::{data_path, source_data, DataPath, DataPathError, PathPolicy};
use crate::check::program::{Checked, Format, SegMode};
use crate::diagnostic::Code;
use crate::lower::scan::ScanMismatch;
use crate::lower::types::arrow_type;
use crate::lower::{self, Scans};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::options::{ArrowReadOptions, JsonReadOptions};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use super::errors::EngineError;

#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    pub threads: Option<usize>,
    pub memory_limit: Option<usize>,
    pub batch_size: Option<usize>,
    pub policy: Option<PathPolicy>,
    /// `--source MARKET=PATH`: replaces a market's data (path as given, relative to cwd).
    pub sources: HashMap<String, PathBuf>,
    /// Read each file as one stream, in file order (for `assign`, whose rows keep
    /// the order they were read in); otherwise files are split across threads.
    pub ordered_scans: bool,
}

pub struct Session {
    pub program: Checked,
    pub ctx: SessionContext,
    pub runtime: tokio::runtime::Runtime,
    scans: Vec<LogicalPlan>,
    /// The data file each market (then each table) reads; the first of several.
    pub inputs: Vec<PathBuf>,
    /// Every data file the session reads (patterns and folders expanded).
    pub files: Vec<PathBuf>,
    /// The schema each CSV or NDJSON market is read with, to locate a bad row after
    /// an error.
    read_schemas: Vec<Option<Arc<Schema>>>,
    /// Every file each scan reads (markets, then tables).
    scan_files: Vec<Vec<PathBuf>>,
    /// The markets whose rows `preload` holds in memory.
    preloaded: Vec<bool>,
    /// Each market's file as the spec (or `--source`) wrote it, for messages.
    shown: Vec<String>,
    /// The pool behind `--memory-limit`, watched for stalls.
    pool: Option<Arc<super::memory::WatchedPool>>,
    /// Each table held in memory and indexed by its key (`None`: a key type the
    /// index does not cover; joins with it stay hash joins).
    lookups: Vec<Option<Arc<lower::lookup::TableIndex>>>,
    /// The error of a plan run while lowering (`materialize`), reported instead of
    /// the lowering failure it caused.
    failed: std::sync::Mutex<Option<EngineError>>,
    /// While `run_segment_tallied` plans and runs: each mapping's tally of unlisted
    /// values (`None`: not countable in this plan).
    #[allow(clippy::type_complexity)]
    tallies: std::sync::Mutex<Option<HashMap<usize, Option<Arc<lower::codes::Tally>>>>>,
    /// What cancels the query being planned and run (the REPL's Ctrl-C), so the
    /// parts run while planning stop too.
    cancel: std::sync::Mutex<Option<SharedCancel>>,
    /// `--cluster`: the Ballista context segmentations run on, as portable plans
    /// (`engine::cluster`). Scans are still planned here: the schemas and the files
    /// come from this machine, so the executors must see the same paths.
    pub(super) cluster: Option<super::cluster::Cluster>,
    /// The shared passes of this run (`share_scans`).
    passes: std::sync::Mutex<Vec<PassSlot>>,
    /// `ctx` on one partition, for plans over a few rows held in memory (`small`).
    one_partition: std::sync::OnceLock<SessionContext>,
    /// The reduced rows repeated queries group (`lower::reduce`), by shape; `None`
    /// unless `hold_reductions` turned reduction on.
    reductions: Option<std::sync::Mutex<Vec<Reduction>>>,
    /// The largest share of a market's rows a reduction may keep and be held.
    reduce_at_most: f64,
    /// Raised by a label dictionary that passed its limit (`lower::dict`): the
    /// segmentation is planned again with `no_dictionaries`.
    dictionary_full: Arc<std::sync::atomic::AtomicBool>,
    no_dictionaries: std::sync::atomic::AtomicBool,
    /// The most labels such a dictionary codes (`DICTIONARY_LABELS`).
    dictionary_labels: usize,
}

/// The most labels a dictionary of labels from the data codes in a segmentation
/// without `over` (`lower::dict`): past them a batch of 8,192 rows looks most of
/// its labels up again, and grouping by label costs less.
const DICTIONARY_LABELS: usize = 100_000;

/// How many reductions a session holds; the oldest is dropped for a new one.
const MAX_REDUCTIONS: usize = 8;

/// One market reduced for one shape of query.
struct Reduction {
    shape: Arc<lower::reduce::Shape>,
    /// The market's files (length, modification time) when they were reduced.
    stamp: Vec<Option<(u64, std::time::SystemTime)>>,
    /// A scan of the reduced rows; `None` when they were too many to be worth
    /// holding, did not fit the memory pool, or failed (each query then reads the
    /// market's rows, and reports any error itself).
    rows: Option<LogicalPlan>,
    /// The held rows' bytes, in the memory pool.
    _reservation: Option<datafusion::execution::memory_pool::MemoryReservation>,
}

/// A shared pass and, once run, a scan of its cells.
struct PassSlot {
    pass: Arc<lower::shared::Pass>,
    plan: LogicalPlan,
    /// `false` for `seg explain`: the cells are shown as the plan that computes them.
    run: bool,
    /// `Some(None)`: the pass failed, and its segmentations scan on their own (and
    /// report the error themselves, naming the segmentation).
    cells: Option<Option<LogicalPlan>>,
}

/// Resolves when the user asks to cancel the running query.
pub type CancelFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
/// A cancel future every stage of one query can wait on.
pub type SharedCancel = futures::future::Shared<CancelFuture>;

impl Scans for Session {
    fn scan(&self, market: usize) -> lower::DfResult<LogicalPlan> {
        Ok(self.scans[market].clone())
    }
    fn table(&self, table: usize) -> lower::DfResult<LogicalPlan> {
        Ok(self.scans[self.program.markets.len() + table].clone())
    }
    fn lookup(&self, table: usize) -> Option<Arc<lower::lookup::TableIndex>> {
        self.lookups.get(table).cloned().flatten()
    }
    fn dictionaries(&self) -> Option<lower::dict::Limit> {
        use std::sync::atomic::Ordering;
        (!self.no_dictionaries.load(Ordering::SeqCst))
            .then(|| (self.dictionary_labels, self.dictionary_full.clone()))
    }
    fn tally(&self, dim: usize) -> Option<Arc<lower::codes::Tally>> {
        let mut tallies = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
        let tallies = tallies.as_mut()?;
        match tallies.entry(dim) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(lower::codes::Tally::for_dim(&self.program.dims[dim])).clone()
            }
            // Not wanted, or coded twice in one plan (each row would count twice).
            std::collections::hash_map::Entry::Occupied(mut o) => {
                if let Some(t) = o.get_mut().take() {
                    t.give_up();
                }
                None
            }
        }
    }
    fn shared_cells(&self, s: usize) -> Option<(Arc<lower::shared::Pass>, LogicalPlan)> {
        // The audit counts unlisted values as rows are coded, per segmentation.
        if self.tallies.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            return None;
        }
        let mut passes = self.passes.lock().unwrap_or_else(|p| p.into_inner());
        let slot = passes.iter_mut().find(|p| p.pass.segs.contains(&s))?;
        if !slot.run {
            return Some((slot.pass.clone(), slot.plan.clone()));
        }
        if slot.cells.is_none() {
            let plan = slot.plan.clone();
            let schema = Arc::new(plan.schema().as_arrow().clone());
            let cells = self
                .execute(plan)
                .ok()
                .and_then(|batches| lower::scan::of_batches(schema, batches).ok());
            slot.cells = Some(cells);
        }
        let cells = slot.cells.clone().flatten()?;
        Some((slot.pass.clone(), cells))
    }

    fn reduced(&self, s: usize) -> Option<(Arc<lower::reduce::Shape>, LogicalPlan)> {
        let reductions = self.reductions.as_ref()?;
        // The audit counts unlisted values per market row, and the cluster reads files.
        if self.cluster.is_some()
            || self.tallies.lock().unwrap_or_else(|p| p.into_inner()).is_some()
        {
            return None;
        }
        let shape = lower::reduce::shape(&self.program, s, self)?;
        let stamp = super::cache::stamp(&self.scan_files[shape.market]);
        let mut held = reductions.lock().unwrap_or_else(|p| p.into_inner());
        // The market's files changed: its reductions are stale, whatever their shape.
        held.retain(|r| r.shape.market != shape.market || r.stamp == stamp);
        if let Some(r) = held.iter().find(|r| *r.shape == shape) {
            return Some((r.shape.clone(), r.rows.clone()?));
        }
        // A failed (or cancelled) reduction is not held: the next query tries again.
        let (rows, reservation) = self.reduce(&shape)?;
        if held.len() >= MAX_REDUCTIONS {
            held.remove(0);
        }
        let shape = Arc::new(shape);
        held.push(Reduction {
            shape: shape.clone(),
            stamp,
            rows: rows.clone(),
            _reservation: reservation,
        });
        Some((shape, rows?))
    }

    fn materialize(&self, plan: LogicalPlan) -> lower::DfResult<LogicalPlan> {
        let schema = Arc::new(plan.schema().as_arrow().clone());
        match self.execute_current(plan) {
            Ok(batches) => lower::scan::of_batches(schema, batches),
            Err(e) => {
                // Kept whole (a data error stays a data error, exit 3); lowering
                // only learns that it must stop.
                *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                Err(datafusion::error::DataFusionError::Execution("materialize failed".into()))
            }
        }
    }
}

/// The most rows held in memory that a plan may read and still run on one partition.
const SMALL_PLAN_ROWS: usize = 1 << 16;

/// Whether `plan` reads only batches held in memory, at most `SMALL_PLAN_ROWS`.
fn small(plan: &LogicalPlan) -> bool {
    lower::scan::held_rows(plan).is_some_and(|n| n <= SMALL_PLAN_ROWS)
}

/// `1048576` as `1 MiB`.
pub fn human_size(n: usize) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if v.fract() == 0.0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Parses `2GiB`, `512MB`, `100k`, `1000`.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024f64.powi(4),
        _ => return None,
    };
    Some((n * mult) as usize)
}

/// Whether an engine message is about memory, however DataFusion wrapped it.
fn about_memory(s: &str) -> bool {
    s.contains("Resources exhausted")
        || s.contains("Not enough memory")
        || s.contains("after spilling")
        || s.contains("memory_limit")
}

/// A memory error in the user's terms: which part of the query ran out, not
/// DataFusion's operator names and settings.
fn memory_error(s: &str) -> Class {
    let part = [
        ("Aggregate", "grouping"),
        ("HashJoin", "a join"),
        ("Sort", "sorting"),
        ("sort", "sorting"),
        ("Window", "a ranking (quantiles, top)"),
        ("Repartition", "moving rows between threads"),
    ]
    .iter()
    .find(|(k, _)| s.contains(k))
    .map_or("the query", |(_, v)| v);
    let needed = s
        .split("Failed to allocate additional ")
        .nth(1)
        .and_then(|r| r.split(" for ").next())
        .map(|n| format!(" ({n} more was needed)"))
        .unwrap_or_default();
    let floor = smallest_limit(s)
        .map(|n| format!("; this step alone needs a limit of at least {}", human_size(n)))
        .unwrap_or_default();
    Class::Memory(format!(
        "the memory limit is too small for this run: {part} ran out of memory{needed}{floor}"
    ))
}

/// The smallest memory limit that could have let this allocation through, read
/// from DataFusion's message (`additional X ... - R remain available for the total
/// memory pool: ...(pool_size: P)`): the pool's use plus the request, `P - R + X`.
/// Only when the pool as a whole was short (`X > R`): when one consumer passed its
/// fair share of a pool with room left, the share depends on how many consumers
/// spill, which the message does not say. A floor: later steps may need more.
fn smallest_limit(s: &str) -> Option<usize> {
    let after = |key: &str| s.split(key).nth(1);
    let size = |t: &str| {
        let mut words = t.split_whitespace();
        let n: f64 = words.next()?.parse().ok()?;
        let unit = words.next()?.trim_end_matches(|c: char| !c.is_ascii_alphabetic());
        let m = match unit {
            "B" => 1.0,
            "KB" => 1024.0,
            "MB" => 1024.0 * 1024.0,
            "GB" => 1024f64.powi(3),
            "TB" => 1024f64.powi(4),
            _ => return None,
        };
        Some((n * m) as usize)
    };
    let additional = size(after("Failed to allocate additional ")?)?;
    let remain = size(after(" - ")?)?;
    let pool = size(after("pool_size: ")?)?;
    (additional > remain).then(|| pool.saturating_sub(remain) + additional)
}

/// A DataFusion error sorted by whose problem it is.
enum Class {
    Data(String),
    Memory(String),
    Bug(String),
}

/// A DataFusion error as the user's problem (data, memory) or seg's (a bug).
pub fn classify(e: datafusion::error::DataFusionError) -> EngineError {
    match classify_inner(e) {
        Class::Data(s) => match overflow_words(&s) {
            Some(words) => EngineError::overflow(words),
            None => EngineError::data(s),
        },
        Class::Memory(s) => EngineError::memory(s),
        Class::Bug(s) => EngineError::internal(s),
    }
}

/// Integer overflow in words, wherever DataFusion wrapped Arrow's message: the
/// checked kernels (`v + 1`) and the cast back from an exact integer sum.
fn overflow_words(s: &str) -> Option<String> {
    if let Some(at) = s.find("Overflow happened on: ") {
        let what = s[at + "Overflow happened on: ".len()..].lines().next().unwrap_or("").trim();
        return Some(format!("integer overflow: {what} does not fit a 64-bit integer"));
    }
    if s.contains("out of range Int64") || s.contains("Overflowing on") {
        return Some("integer overflow: a sum does not fit a 64-bit integer".to_string());
    }
    None
}

fn classify_inner(e: datafusion::error::DataFusionError) -> Class {
    use datafusion::error::DataFusionError as E;
    match e {
        E::ResourcesExhausted(s) => memory_error(&s),
        E::ArrowError(a, _) => Class::Data(a.to_string()),
        E::ParquetError(p) => Class::Data(p.to_string()),
        E::IoError(io) => Class::Data(io.to_string()),
        E::ObjectStore(o) => Class::Data(o.to_string()),
        E::Context(c, inner) => match classify_inner(*inner) {
            Class::Data(s) => Class::Data(format!("{c}: {s}")),
            Class::Bug(s) if about_memory(&c) || about_memory(&s) => {
                memory_error(&format!("{c}: {s}"))
            }
            other => other,
        },
        E::Shared(s) => classify_inner(E::External(Box::new(std::io::Error::other(s.to_string())))),
        E::External(x) => {
            let s = x.to_string();
            if about_memory(&s) {
                memory_error(&s)
            } else {
                Class::Data(s)
            }
        }
        E::Execution(s) if about_memory(&s) => memory_error(&s),
        E::Execution(s)
            if s.contains("Parser error")
                || s.contains("Csv error")
                || s.contains("Json error") =>
        {
            Class::Data(s)
        }
        other => {
            let s = other.to_string();
            if about_memory(&s) {
                memory_error(&s)
            } else if s.contains("Parser error")
                || s.contains("Csv error")
                || s.contains("Json error")
                || s.contains("Parquet error")
                || s.contains("No such file")
            {
                Class::Data(s)
            } else {
                Class::Bug(s)
            }
        }
    }
}

fn extension(p: &Path) -> String {
    p.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default()
}

/// A data file the session registers: a market's, or a lookup table's.
struct Source {
    what: &'static str,
    name: String,
    path: String,
    format: Format,
    columns: Vec<crate::check::program::Column>,
}

impl Source {
    /// The Arrow type a column is read as: its declared type, else text (which
    /// cannot fail to read; the spec makes no promise about the column).
    fn read_as(&self, column: &str) -> DataType {
        self.columns.iter().find(|c| c.name == column).map_or(DataType::Utf8, |c| arrow_type(c.ty))
    }
}

/// Every data file of the program: the markets' (by market index), then the tables'.
fn sources_of(p: &Checked) -> Vec<Source> {
    let markets = p.markets.iter().map(|m| Source {
        what: "market",
        name: m.name.clone(),
        path: m.path.clone(),
        format: m.format,
        columns: m.columns.clone(),
    });
    let tables = p.tables.iter().map(|t| Source {
        what: "table",
        name: t.name.clone(),
        path: t.path.clone(),
        format: t.format,
        columns: t.columns.clone(),
    });
    markets.chain(tables).collect()
}

impl Session {
    /// Resolves and registers every market's source. Nothing is read here but
    /// headers and footers.
    pub fn new(
        program: Checked,
        spec_dir: &Path,
        opts: &SessionOptions,
    ) -> Result<Session, EngineError> {
        if let Some(m) = program.markets.iter().find(|m| m.format == Format::Table) {
            return Err(EngineError::needs_database(format!(
                "market `{}` reads the database table `{}`: run it inside that database with `seg run --on URL`",
                m.name, m.path
            )));
        }
        let threads = opts
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
            .max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .map_err(EngineError::internal)?;
        let mut config = SessionConfig::new().with_target_partitions(threads);
        // Every join seg plans has its small side (entity table, top-N ranking, label
        // grid) on the left: collecting it beats hashing and shuffling the market
        // rows, which is what DataFusion does when it cannot size the sides.
        config.options_mut().optimizer.repartition_joins = false;
        // A Hive partition root is read whole, nested partition folders included, as
        // `paths::expand` lists it for the policy.
        config.options_mut().execution.listing_table_ignore_subdirectory = false;
        if opts.ordered_scans {
            config.options_mut().optimizer.repartition_file_scans = false;
        }
        // The work of seg's plans is in their scans, which the file groups already
        // split across threads; what follows an aggregate is a few rows. Spreading
        // those round-robin, and sizing each file for statistics nothing reads (seg
        // puts every join's small side first itself), cost more planning than the
        // whole tail of a small segmentation (`cargo bench --bench passes`).
        config.options_mut().optimizer.enable_round_robin_repartition = false;
        config.options_mut().execution.collect_statistics = false;
        if let Some(b) = opts.batch_size {
            config = config.with_batch_size(b.max(1));
        }
        let mut rt = RuntimeEnvBuilder::new();
        let mut pool = None;
        if let Some(limit) = opts.memory_limit {
            // A sort reserves this much up front to merge its spill files; the 10 MB
            // default alone exceeds a small limit, so a sort that could have spilled
            // failed instead. Smaller batches make every buffered batch smaller too.
            let exec = &mut config.options_mut().execution;
            exec.sort_spill_reservation_bytes =
                (limit / 8).clamp(64 << 10, exec.sort_spill_reservation_bytes);
            exec.sort_in_place_threshold_bytes =
                (limit / 8).clamp(64 << 10, exec.sort_in_place_threshold_bytes);
            if opts.batch_size.is_none() && limit < (256 << 20) {
                config = config.with_batch_size(2048);
            }
            let p = Arc::new(super::memory::WatchedPool::new(limit));
            pool = Some(p.clone());
            rt = rt.with_memory_pool(p);
        }
        let rt = rt.build_arc().map_err(EngineError::internal)?;
        let ctx = SessionContext::new_with_config_rt(config, rt);
        let policy = opts.policy.clone().unwrap_or(PathPolicy { allow_outside: false });
        let mut scans = Vec::new();
        let mut inputs = Vec::new();
        let mut read_schemas = Vec::new();
        let mut scan_files = Vec::new();
        let mut shown_paths = Vec::new();
        let mut all_files = Vec::new();
        for m in &sources_of(&program) {
            // Messages name the file as the spec (or `--source`) wrote it.
            let unusable = |e: DataPathError, refused: String| match e {
                DataPathError::NoMatch(why) => {
                    EngineError::data(format!("{} `{}`: {why}", m.what, m.name))
                }
                DataPathError::Refused(why) => {
                    EngineError::path_refused(format!("{refused}: {why}"))
                }
            };
            let (data, shown) = match opts.sources.get(&m.name) {
                Some(p) => {
                    let data = source_data(spec_dir, p, &policy)
                        .map_err(|e| unusable(e, format!("--source for `{}`", m.name)))?;
                    (data, p.display().to_string())
                }
                None => {
                    let refused =
                        format!("data path `{}` of {} `{}` is refused", m.path, m.what, m.name);
                    let data = data_path(spec_dir, &m.path, m.format.extension(), &policy)
                        .map_err(|e| unusable(e, refused))?;
                    (data, m.path.clone())
                }
            };
            for f in &data.files {
                if let Err(e) = super::files::ensure_regular(f) {
                    return Err(EngineError::data(format!(
                        "{} `{}`: cannot open `{}`: {e}",
                        m.what,
                        m.name,
                        f.display()
                    )));
                }
            }
            // Errors are located in the first file; the others count as inputs.
            let path = data.files[0].clone();
            all_files.extend(data.files.iter().cloned());
            scan_files.push(data.files.clone());
            let (plan, read_schema) =
                match runtime.block_on(Self::scan_plan(&ctx, &data, &shown, m.format, m)) {
                    Ok(x) => x,
                    // A file that cannot even be opened as its format (a truncated Arrow
                    // file) is a data error in that file, never an internal one.
                    Err(e) if e.code() == Some(Code::E0902) => {
                        let why = locate(&path, m.format, None)
                            .map(|(at, e)| format!("{at}: {e}"))
                            .unwrap_or_else(|| e.to_string());
                        return Err(EngineError::data(format!(
                            "{} `{}`: {}: {why}",
                            m.what, m.name, shown
                        )));
                    }
                    Err(e) => return Err(e),
                };
            scans.push(plan);
            inputs.push(path);
            read_schemas.push(read_schema);
            shown_paths.push(shown);
        }
        let mut session = Session {
            program,
            ctx,
            runtime,
            scans,
            inputs,
            files: all_files,
            read_schemas,
            scan_files,
            preloaded: Vec::new(),
            shown: shown_paths,
            pool,
            lookups: Vec::new(),
            failed: std::sync::Mutex::new(None),
            dictionary_full: Arc::default(),
            no_dictionaries: Default::default(),
            dictionary_labels: DICTIONARY_LABELS,
            tallies: std::sync::Mutex::new(None),
            cancel: std::sync::Mutex::new(None),
            cluster: None,
            passes: std::sync::Mutex::new(Vec::new()),
            one_partition: std::sync::OnceLock::new(),
            reductions: None,
            reduce_at_most: 0.0,
        };
        session.lookups = session.index_tables()?;
        Ok(session)
    }

    /// Reads each market's rows (its declared columns, as cast) into memory once, so
    /// every later plan scans memory: `seg diff` runs two versions of a spec on the
    /// data read once. Markets whose files add up to more than `max_bytes` are left
    /// to be read per plan.
    pub fn preload(&mut self, max_bytes: u64) -> Result<(), EngineError> {
        for m in 0..self.program.markets.len() {
            let size: u64 = self.scan_files[m]
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|md| md.len())
                .sum();
            if size > max_bytes {
                continue;
            }
            let plan = self.scans[m].clone();
            let schema = Arc::new(plan.schema().as_arrow().clone());
            let batches = self.execute(plan)?;
            self.scans[m] = lower::scan::of_batches(schema, batches)
                .map_err(|e| EngineError::internal(e.to_string()))?;
            self.preloaded.resize(m + 1, false);
            self.preloaded[m] = true;
        }
        Ok(())
    }

    /// Plans one shared pass per market for the segmentations `segs` of this run
    /// (`lower::shared`): the first of them that runs scans the market once for
    /// all. `run: false` (`seg explain`) shows each segmentation over the plan of
    /// the cells instead of running it.
    pub fn share_scans(&self, segs: &[usize], run: bool) {
        if self.cluster.is_some() {
            return;
        }
        let mut slots = Vec::new();
        for m in 0..self.program.markets.len() {
            // A pass that cannot be planned is no pass: each segmentation then
            // plans (and reports) on its own.
            if let Ok(Some((pass, plan))) = lower::shared::plan_pass(&self.program, m, segs, self) {
                slots.push(PassSlot { pass: Arc::new(pass), plan, run, cells: None });
            }
        }
        *self.passes.lock().unwrap_or_else(|p| p.into_inner()) = slots;
    }

    /// How segmentation `s` reads its rows in this run, for `seg explain`.
    pub fn sharing(&self, s: usize) -> String {
        let passes = self.passes.lock().unwrap_or_else(|p| p.into_inner());
        let p = &self.program;
        if let Some(slot) = passes.iter().find(|x| x.pass.segs.contains(&s)) {
            let others: Vec<String> = slot
                .pass
                .segs
                .iter()
                .filter(|&&o| o != s)
                .map(|&o| format!("`{}`", p.segments[o].name))
                .collect();
            return format!(
                "one pass: rolled up from the cells of market `{}` (at most {} cells), scanned once with {}",
                p.markets[slot.pass.market].name,
                super::output::group_thousands(&slot.pass.cells.to_string()),
                others.join(", ")
            );
        }
        match lower::shared::unshareable(p, s, self) {
            Some(why) => format!("its own scan: {why}"),
            None => "its own scan: no other segmentation of this run shares its market, or the shared cells would pass the limit".to_string(),
        }
    }

    /// Runs `shape`'s reduction: its rows, if they are few enough (`hold_reductions`)
    /// and fit the memory pool, with their reservation. `None` when it failed.
    #[allow(clippy::type_complexity)]
    fn reduce(
        &self,
        shape: &lower::reduce::Shape,
    ) -> Option<(Option<LogicalPlan>, Option<datafusion::execution::memory_pool::MemoryReservation>)>
    {
        use arrow::array::AsArray;
        use datafusion::execution::memory_pool::MemoryConsumer;
        let plan = shape.plan(&self.program, self).ok()?;
        let schema = Arc::new(plan.schema().as_arrow().clone());
        let batches = self.execute_current(plan).ok()?;
        let reduced: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let mut market: i64 = 0;
        for b in &batches {
            let counts = b.column_by_name(lower::names::ROWS)?;
            let counts = counts.as_primitive_opt::<arrow::datatypes::Int64Type>()?;
            market = market.saturating_add(counts.values().iter().sum::<i64>());
        }
        if reduced as f64 > market as f64 * self.reduce_at_most {
            return Some((None, None));
        }
        let bytes: usize = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        let reservation =
            MemoryConsumer::new("seg reduced rows").register(&self.ctx.runtime_env().memory_pool);
        if reservation.try_grow(bytes).is_err() {
            return Some((None, None));
        }
        let rows = lower::scan::of_batches(schema, batches).ok()?;
        Some((Some(rows), Some(reservation)))
    }

    /// Groups each query that allows it (`lower::reduce::shape`) over its market's
    /// rows reduced once for its shape and held, when the reduction keeps at most
    /// `at_most` of the market's rows (fewer saved would not pay for holding them):
    /// the REPL's repeated queries over cut points and labels. Reductions are read
    /// again when the market's files change, and accounted in the memory pool.
    pub fn hold_reductions(&mut self, at_most: f64) {
        self.reductions = Some(std::sync::Mutex::new(Vec::new()));
        self.reduce_at_most = at_most;
    }

    /// Codes at most `most` labels from the data per dictionary (tests reach the
    /// limit with few rows).
    pub fn limit_dictionaries(&mut self, most: usize) {
        self.dictionary_labels = most;
    }

    /// Holds each market's columns in memory once a query has read them (up to
    /// `budget` bytes per market, accounted in the memory pool), so the REPL's
    /// repeated queries scan memory; a file changed on disk is read again.
    pub fn cache_columns(&mut self, budget: usize) -> Result<(), EngineError> {
        for m in 0..self.program.markets.len() {
            if self.preloaded.get(m) == Some(&true) {
                continue;
            }
            let cached = super::cache::CachedScan::new(
                self.scans[m].clone(),
                self.scan_files[m].clone(),
                budget,
            );
            self.scans[m] = lower::scan::of_provider(Arc::new(cached))
                .map_err(|e| EngineError::internal(e.to_string()))?;
        }
        Ok(())
    }

    /// Scans `other` preloaded, for the markets of this session that read the same
    /// files into the same columns: the rows are read once for both.
    pub fn share_scans_from(&mut self, other: &Session) {
        for m in 0..self.program.markets.len() {
            let found = (0..other.program.markets.len()).find(|&o| {
                other.preloaded.get(o) == Some(&true)
                    && other.scan_files[o] == self.scan_files[m]
                    && other.program.markets[o].format == self.program.markets[m].format
                    && other.scans[o].schema().as_arrow() == self.scans[m].schema().as_arrow()
            });
            if let Some(o) = found {
                self.scans[m] = other.scans[o].clone();
                self.preloaded.resize(m + 1, false);
                self.preloaded[m] = true;
            }
        }
    }

    /// Reads every table into memory and indexes it by its key. A table has one row
    /// per key: a key that appears twice is a data error naming the key and the
    /// file, before any join could count a market row twice.
    fn index_tables(&self) -> Result<Vec<Option<Arc<lower::lookup::TableIndex>>>, EngineError> {
        let m = self.program.markets.len();
        let mut out = Vec::new();
        for (t, table) in self.program.tables.iter().enumerate() {
            let scan = self.scans[m + t].clone();
            let schema = Arc::new(scan.schema().as_arrow().clone());
            let batches = self.execute(scan)?;
            let batch = arrow::compute::concat_batches(&schema, &batches)
                .map_err(|e| EngineError::internal(e.to_string()))?;
            let built = lower::lookup::TableIndex::build(&table.name, batch, &table.key.name)
                .map_err(classify)?;
            match built {
                Ok(Some(ix)) => out.push(Some(Arc::new(ix))),
                Ok(None) => {
                    self.check_table_keys(t)?;
                    out.push(None);
                }
                Err(d) => return Err(self.duplicate_key(t, &d.key, &d.times.to_string())),
            }
        }
        Ok(out)
    }

    fn duplicate_key(&self, t: usize, key: &str, times: &str) -> EngineError {
        let table = &self.program.tables[t];
        EngineError::duplicate_key(format!(
            "table `{}`: key {} = {key} appears {times} times in `{}`; a table has one row per key",
            table.name,
            table.key.name,
            self.shown[self.program.markets.len() + t]
        ))
    }

    /// The duplicate-key check for a table the index does not cover, as a query.
    fn check_table_keys(&self, t: usize) -> Result<(), EngineError> {
        let m = self.program.markets.len();
        let table = &self.program.tables[t];
        let plan = lower::scan::duplicate_key(self.scans[m + t].clone(), &table.key.name)
            .map_err(classify)?;
        let values = super::batches_to_values(&self.execute(plan)?);
        if let Some(row) = values.first() {
            let shown = |i: usize| row.get(i).map_or("null".to_string(), |v| v.to_string());
            return Err(self.duplicate_key(t, &shown(0), &shown(1)));
        }
        Ok(())
    }

    async fn scan_plan(
        ctx: &SessionContext,
        data: &DataPath,
        shown: &str,
        format: Format,
        m: &Source,
    ) -> Result<(LogicalPlan, Option<Arc<Schema>>), EngineError> {
        let path = data.files[0].as_path();
        let ext = extension(path);
        let mut read_schema = None;
        // Hive partition folders (`year=2024/`) are columns DataFusion adds from the
        // path, typed as declared (else text); the files' own schema lacks them.
        let parts: Vec<(String, DataType)> = match &data.hive_base {
            Some(base) => super::paths::hive_partitions(base, path)
                .into_iter()
                .map(|(k, _)| {
                    let ty = m.read_as(&k);
                    (k, ty)
                })
                .collect(),
            None => Vec::new(),
        };
        let in_file = |name: &str| !parts.iter().any(|(k, _)| k == name);
        // The files to read: with Hive partitions, the partition root (DataFusion
        // reads the partition values from the folders below it); otherwise exactly
        // the files the path stands for.
        let p: Vec<String> = match (&data.hive_base, parts.is_empty()) {
            (Some(base), false) => {
                vec![format!("{}/", base.to_string_lossy().trim_end_matches('/'))]
            }
            _ => data.files.iter().map(|f| f.to_string_lossy().to_string()).collect(),
        };
        let df = match format {
            Format::Csv => {
                // The reader maps fields by position: build the schema in the file's
                // header order, with seg's types (the checker's, inferred from every
                // record when not declared). Other columns are read as text, which
                // cannot fail: the spec makes no promise about them.
                let header = super::schema::read_csv_header(path).map_err(|e| {
                    EngineError::data(format!("{} `{}`: {shown}: {e}", m.what, m.name))
                })?;
                let fields: Vec<Field> =
                    header.iter().map(|name| Field::new(name, m.read_as(name), true)).collect();
                let schema = Schema::new(fields);
                read_schema = Some(Arc::new(schema.clone()));
                for c in m.columns.iter().filter(|c| in_file(&c.name)) {
                    if schema.field_with_name(&c.name).is_err() {
                        return Err(EngineError::data(format!(
                            "{} `{}`: column `{}` is declared but `{}` has no such column",
                            m.what, m.name, c.name, shown
                        )));
                    }
                }
                ctx.read_csv(
                    p,
                    CsvReadOptions::new()
                        .has_header(true)
                        .schema(&schema)
                        .file_extension(&ext)
                        .table_partition_cols(parts.clone()),
                )
                .await
            }
            Format::Json => {
                let fields: Vec<Field> = m
                    .columns
                    .iter()
                    .filter(|c| in_file(&c.name))
                    .map(|c| Field::new(&c.name, arrow_type(c.ty), true))
                    .collect();
                let schema = Schema::new(fields);
                read_schema = Some(Arc::new(schema.clone()));
                let opts = JsonReadOptions::default()
                    .schema(&schema)
                    .file_extension(&ext)
                    .table_partition_cols(parts.clone());
                ctx.read_json(p, opts).await
            }
            Format::Parquet => {
                let opts = ParquetReadOptions::default()
                    .file_extension(&ext)
                    .table_partition_cols(parts.clone());
                ctx.read_parquet(p, opts).await
            }
            Format::Table => {
                return Err(EngineError::data(format!("`{shown}` is a database table")))
            }
            Format::Arrow => {
                let opts = ArrowReadOptions {
                    file_extension: &ext,
                    table_partition_cols: parts.clone(),
                    ..Default::default()
                };
                ctx.read_arrow(p, opts).await
            }
        }
        .map_err(classify)?;
        let plan = df.into_unoptimized_plan();
        match lower::scan::canonical(plan, &m.columns) {
            Ok(plan) => Ok((plan, read_schema)),
            Err(ScanMismatch::Missing { column }) => Err(EngineError::data(format!(
                "{} `{}`: `{}` has no column `{}`",
                m.what, m.name, shown, column
            ))),
            Err(ScanMismatch::Type { column, declared, found }) => Err(EngineError::data(format!(
                "{} `{}`: column `{}` is declared {} but `{}` has {}",
                m.what, m.name, column, declared, shown, found
            ))),
            Err(ScanMismatch::Plan(e)) => Err(EngineError::internal(e)),
        }
    }

    /// After a data error, the first market whose file has a problem, and where:
    /// parallel scans only know offsets within their own ranges, so the files are
    /// read again in order (only on this error path).
    fn locate_data_error(&self) -> Option<String> {
        self.program.markets.iter().enumerate().find_map(|(m, mk)| {
            let path = &self.inputs[m];
            let (at, why) = locate(path, mk.format, self.read_schemas[m].clone())?;
            Some(format!("market `{}`: {}: {at}: {why}", mk.name, self.shown[m]))
        })
    }

    pub fn execute(&self, plan: LogicalPlan) -> Result<Vec<RecordBatch>, EngineError> {
        self.execute_cancellable(plan, std::future::pending())
    }

    /// Runs a plan that lowering needs (a materialized domain, a reduction) under the
    /// running query's cancel, so Ctrl-C stops it as it stops the query itself.
    fn execute_current(&self, plan: LogicalPlan) -> Result<Vec<RecordBatch>, EngineError> {
        let cancel = self.cancel.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match cancel {
            Some(c) => self.execute_cancellable(plan, c),
            None => self.execute(plan),
        }
    }

    /// Like `execute`, but stops (dropping the running streams) when `cancel` resolves.
    pub fn execute_cancellable(
        &self,
        plan: LogicalPlan,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        if small(&plan) {
            return self.execute_in(self.one_partition(), plan, cancel);
        }
        self.execute_in(&self.ctx, plan, cancel)
    }

    /// The session's context on one partition. A plan over a few thousand rows in
    /// memory (a roll-up from a shared pass's cells) has nothing to split: a second
    /// partition only adds repartitions and merges to plan and start around its
    /// joins, windows and sorts: the 7 roll-ups of `cargo bench --bench passes` took
    /// 46.5 ms against 57 ms on two partitions.
    pub fn one_partition(&self) -> &SessionContext {
        self.one_partition.get_or_init(|| {
            let state = self.ctx.state();
            let config = state.config().clone().with_target_partitions(1);
            SessionContext::new_with_state(
                datafusion::execution::session_state::SessionStateBuilder::new_from_existing(state)
                    .with_config(config)
                    .build(),
            )
        })
    }

    /// `execute_cancellable` in context `ctx` (this session's, or the cluster's).
    pub(super) fn execute_in(
        &self,
        ctx: &SessionContext,
        plan: LogicalPlan,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        self.guarded(
            async {
                let df = ctx.execute_logical_plan(plan).await.map_err(classify)?;
                if !super::progress::enabled() {
                    return df.collect().await.map_err(classify);
                }
                // A progress bar is drawn: the scans count what they read.
                let task = Arc::new(df.task_ctx());
                let physical = df.create_physical_plan().await.map_err(classify)?;
                let physical = super::progress::counted(physical).map_err(classify)?;
                datafusion::physical_plan::collect(physical, task).await.map_err(classify)
            },
            cancel,
        )
    }

    /// Runs `plan` and hands each batch to `each` as it arrives (nothing collected);
    /// returns the number of rows.
    pub fn execute_each(
        &self,
        plan: LogicalPlan,
        mut each: impl FnMut(&RecordBatch) -> Result<(), EngineError>,
    ) -> Result<usize, EngineError> {
        use futures::StreamExt;
        self.guarded(
            async {
                let df = self.ctx.execute_logical_plan(plan).await.map_err(classify)?;
                let mut stream = df.execute_stream().await.map_err(classify)?;
                let mut rows = 0;
                while let Some(b) = stream.next().await {
                    let b = b.map_err(classify)?;
                    rows += b.num_rows();
                    each(&b)?;
                }
                Ok(rows)
            },
            std::future::pending(),
        )
    }

    /// Runs a query to its end, unless `cancel` resolves first or the memory pool
    /// reports a stall (see `engine::memory`); either drops the running streams. A
    /// failure that may come from reading data is located in the files.
    fn guarded<T>(
        &self,
        query: impl std::future::Future<Output = Result<T, EngineError>>,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Result<T, EngineError> {
        let pool = self.pool.clone();
        let watchdog = async move {
            let Some(pool) = pool else { return std::future::pending().await };
            let mut watch = super::memory::StallWatch::default();
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if watch.sample(&pool) {
                    return pool.limit();
                }
            }
        };
        let result = self.runtime.block_on(async {
            tokio::select! {
                r = query => r,
                _ = cancel => Err(EngineError::Cancelled),
                limit = watchdog => Err(EngineError::memory(format!(
                    "the memory limit of {} is too small for this run: an operator could not get memory and the query stopped making progress",
                    human_size(limit)
                ))),
            }
        });
        match result {
            // An engine message alone names neither the file nor the row. Overflow
            // comes from computing, not reading: no file is read again for it.
            Err(e) if matches!(e.code(), Some(Code::E0601 | Code::E0902)) => {
                Err(self.locate_data_error().map(EngineError::data).unwrap_or(e))
            }
            other => other,
        }
    }

    /// Under `--memory-limit`, a grid whose output alone cannot fit stops before
    /// it runs (E0701, exit 4): the domains' cross product is built outside the
    /// memory pool's accounting, and a 200,000 x 1,000 grid grew past 19 GB
    /// under a 1 GiB limit before DataFusion refused it. The floor is 8 bytes per
    /// cell for each number column (`rows`, measures, shares), labels not counted.
    /// Small grids (under a million cells by their declared labels alone, and no
    /// data-dependent dimension) skip the extra scan that counts labels.
    fn grid_fits(&self, s: usize) -> Result<(), EngineError> {
        let Some(pool) = &self.pool else { return Ok(()) };
        let sd = &self.program.segments[s];
        let declared: u128 = sd
            .dims
            .iter()
            .map(|&d| &self.program.dims[d])
            .filter(|d| d.has_static_labels())
            .map(|d| d.labels.len() as u128)
            .product();
        let dynamic = sd.dims.iter().any(|&d| !self.program.dims[d].has_static_labels());
        if !dynamic && declared < 1_000_000 {
            return Ok(());
        }
        let Some((cells, _)) = self.grid_cells(s)? else { return Ok(()) };
        let numbers = 2 + self.program.seg_measures(s).len() as u128;
        let floor = cells.saturating_mul(8 * numbers);
        if floor <= pool.limit() as u128 {
            return Ok(());
        }
        Err(EngineError::memory(format!(
            "the memory limit is too small for this run: the grid of {} cells needs a limit of at least {} for its output alone (stopped before running)",
            super::output::group_thousands(&cells.to_string()),
            human_size(usize::try_from(floor).unwrap_or(usize::MAX)),
        )))
    }

    /// The number of cells of segmentation `s` when it is a grid (`x`): the
    /// product of its dimensions' label counts, data-dependent ones counted in the
    /// data (labels present; the grid lists every combination). `None` for one
    /// dimension or `then`, which lists only the combinations present.
    pub fn grid_cells(&self, s: usize) -> Result<Option<(u128, Vec<u128>)>, EngineError> {
        let sd = &self.program.segments[s];
        if sd.mode != SegMode::Cross || sd.dims.len() < 2 {
            return Ok(None);
        }
        let plan = lower::label_counts(&self.program, s, self).map_err(EngineError::internal)?;
        let counted = match plan {
            Some(plan) => self.execute(plan)?,
            None => Vec::new(),
        };
        let mut sizes = Vec::new();
        for &d in &sd.dims {
            let dim = &self.program.dims[d];
            let n = if dim.has_static_labels() {
                dim.labels.len() as u128
            } else {
                let column = counted.iter().find_map(|b| b.column_by_name(&lower::names::label(d)));
                let value = column.and_then(|c| {
                    c.as_any().downcast_ref::<arrow::array::Int64Array>().map(|a| a.value(0))
                });
                value.unwrap_or(0).max(0) as u128
            };
            sizes.push(n);
        }
        Ok(Some((sizes.iter().product(), sizes)))
    }

    pub fn segment_plan(&self, s: usize) -> Result<LogicalPlan, EngineError> {
        lower::segment_plan(&self.program, s, self).map_err(|d| {
            let ran = self.failed.lock().unwrap_or_else(|p| p.into_inner()).take();
            ran.unwrap_or_else(|| EngineError::lowering(d))
        })
    }

    /// Plans and runs segmentation `s` until `cancel` resolves: every part stops,
    /// including what runs while planning.
    pub fn run_segment_cancellable(
        &self,
        s: usize,
        cancel: CancelFuture,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        use futures::FutureExt;
        let cancel = cancel.shared();
        *self.cancel.lock().unwrap_or_else(|p| p.into_inner()) = Some(cancel.clone());
        let result = self.planned_run(s, |plan| self.execute_cancellable(plan, cancel.clone()));
        *self.cancel.lock().unwrap_or_else(|p| p.into_inner()) = None;
        result
    }

    /// `run_segment` for each of `segs`, the results in their order. The roll-ups
    /// of a shared pass that has run are small plans on one partition, mostly
    /// planning (about 5 ms each, against 1 ms of running): they run side by side,
    /// one per worker thread, rather than leaving the other cores idle.
    pub fn run_segments(&self, segs: &[usize]) -> Vec<Result<Vec<RecordBatch>, EngineError>> {
        let mut out: Vec<Option<Result<Vec<RecordBatch>, EngineError>>> =
            segs.iter().map(|_| None).collect();
        // Each pass first, on its own: then every one of its segmentations is a
        // roll-up, the first included.
        let firsts: Vec<usize> = {
            let passes = self.passes.lock().unwrap_or_else(|p| p.into_inner());
            passes
                .iter()
                .filter(|p| p.run && p.cells.is_none())
                .filter_map(|p| segs.iter().copied().find(|s| p.pass.segs.contains(s)))
                .collect()
        };
        for s in firsts {
            super::progress::set_current(&self.program.segments[s].name);
            self.shared_cells(s);
        }
        let mut rollups = Vec::new();
        for (i, &s) in segs.iter().enumerate() {
            if self.rolls_up(s) {
                rollups.push(i);
            } else {
                out[i] = Some(self.run_segment(s));
            }
        }
        let threads = self.ctx.state().config().target_partitions().min(rollups.len());
        if threads > 1 {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let done = std::sync::Mutex::new(Vec::new());
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = rollups.get(k) else { break };
                        let r = self.run_segment(segs[i]);
                        done.lock().unwrap_or_else(|p| p.into_inner()).push((i, r));
                    });
                }
            });
            for (i, r) in done.into_inner().unwrap_or_else(|p| p.into_inner()) {
                out[i] = Some(r);
            }
        }
        segs.iter().zip(out).map(|(&s, r)| r.unwrap_or_else(|| self.run_segment(s))).collect()
    }

    /// Whether segmentation `s` is rolled up from the cells of a pass that has run
    /// (and did not fail): its plan reads only those cells.
    fn rolls_up(&self, s: usize) -> bool {
        if self.tallies.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            return false;
        }
        let passes = self.passes.lock().unwrap_or_else(|p| p.into_inner());
        passes.iter().any(|p| p.pass.segs.contains(&s) && matches!(p.cells, Some(Some(_))))
    }

    pub fn run_segment(&self, s: usize) -> Result<Vec<RecordBatch>, EngineError> {
        let name = &self.program.segments[s].name;
        self.run_segment_unnamed(s).map_err(|e| e.in_segmentation(name))
    }

    fn run_segment_unnamed(&self, s: usize) -> Result<Vec<RecordBatch>, EngineError> {
        super::progress::set_current(&self.program.segments[s].name);
        self.grid_fits(s)?;
        if self.program.segments[s].migrate.is_some() {
            self.check_migrate_periods(s)?;
        }
        if let Some(cluster) = &self.cluster {
            return self.run_on_cluster(cluster, s);
        }
        self.planned_run(s, |plan| self.execute(plan))
    }

    /// Plans segmentation `s` and runs the plan with `run`. When a label dictionary
    /// passed its limit (`lower::dict`), plans it again grouping those labels as
    /// they are, and runs that.
    fn planned_run(
        &self,
        s: usize,
        run: impl Fn(LogicalPlan) -> Result<Vec<RecordBatch>, EngineError>,
    ) -> Result<Vec<RecordBatch>, EngineError> {
        use std::sync::atomic::Ordering;
        self.dictionary_full.store(false, Ordering::SeqCst);
        let first = self.segment_plan(s).and_then(&run);
        if first.is_ok() || !self.dictionary_full.swap(false, Ordering::SeqCst) {
            return first;
        }
        self.no_dictionaries.store(true, Ordering::SeqCst);
        let again = self.segment_plan(s).and_then(&run);
        self.no_dictionaries.store(false, Ordering::SeqCst);
        again
    }

    /// Segmentation `s` as a portable plan: standard expressions only
    /// (`lower::portable`), for SQL and for engines without seg's functions.
    pub fn portable_plan(&self, s: usize) -> Result<LogicalPlan, EngineError> {
        lower::portable::segment_plan(&self.program, s, self).map_err(EngineError::lowering)
    }

    /// `run_segment` through the portable plan: the same rows, to the last few
    /// bits of a float sum.
    pub fn run_segment_portable(&self, s: usize) -> Result<Vec<RecordBatch>, EngineError> {
        if self.program.segments[s].migrate.is_some() {
            self.check_migrate_periods(s)?;
        }
        let plan = self.portable_plan(s)?;
        self.execute(plan)
    }

    /// `run_segment`, also counting each mapping's unlisted values as its codes are
    /// computed, where the plan allows (`lower::codes::Tally`): the dimensions
    /// counted, with their most frequent unlisted values (at most ten).
    #[allow(clippy::type_complexity)]
    /// Only the dimensions in `wanted` are counted: counting costs a little per row.
    pub fn run_segment_tallied(
        &self,
        s: usize,
        wanted: &[usize],
    ) -> Result<(Vec<RecordBatch>, Vec<(usize, Vec<(String, i64)>)>), EngineError> {
        // A dimension not wanted is entered as already refused.
        let refused = self.program.segments[s].dims.iter().filter(|d| !wanted.contains(d));
        *self.tallies.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(refused.map(|&d| (d, None)).collect());
        let ran = self.run_segment(s);
        let tallies = self.tallies.lock().unwrap_or_else(|p| p.into_inner()).take();
        let batches = ran?;
        let counted = tallies
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(d, t)| Some((d, t?.unmapped(10)?)))
            .collect();
        Ok((batches, counted))
    }

    /// A migration between periods the data does not have would be all `new` or
    /// all `lost`: a data error that names the period and the data's range instead.
    fn check_migrate_periods(&self, s: usize) -> Result<(), EngineError> {
        use crate::check::program::{PeriodValue, Value};
        let sd = &self.program.segments[s];
        let Some(mg) = &sd.migrate else { return Ok(()) };
        let plan = lower::migrate::periods_found(&self.program, s, self)
            .map_err(|e| EngineError::lowering(lower::internal(sd.span, &sd.name, e)))?;
        let row =
            super::batches_to_values(&self.execute(plan)?).into_iter().next().unwrap_or_default();
        let get = |i: usize| row.get(i).cloned().unwrap_or(Value::Null);
        let shown = |v: &PeriodValue| match (v, mg.over.kind) {
            (PeriodValue::Num(n), crate::check::program::PeriodKind::Calendar(u)) => u.label(*n),
            (PeriodValue::Num(n), _) => n.to_string(),
            (PeriodValue::Text(t), _) => t.clone(),
        };
        for (v, rows) in [(&mg.from, get(0)), (&mg.to, get(1))] {
            if matches!(rows, Value::Int(0) | Value::Null) {
                let range = match (get(2).label(), get(3).label()) {
                    (Some(a), Some(b)) => format!("the data's periods run from {a} to {b}"),
                    _ => "the data has no periods".to_string(),
                };
                return Err(EngineError::missing_period(format!(
                    "segmentation `{}`: period {} has no rows in market `{}` ({range})",
                    sd.name,
                    shown(v),
                    self.program.markets[sd.market].name
                )));
            }
        }
        Ok(())
    }

    pub fn explain(&self, plan: LogicalPlan, physical: bool) -> Result<String, EngineError> {
        let optimized = self.ctx.state().optimize(&plan).map_err(classify)?;
        if !physical {
            return Ok(format!("{}", optimized.display_indent()));
        }
        let phys = self
            .runtime
            .block_on(self.ctx.state().create_physical_plan(&optimized))
            .map_err(classify)?;
        let text = datafusion::physical_plan::displayable(phys.as_ref()).indent(true).to_string();
        Ok(text)
    }
}

/// Where `path` fails to read as `format` with `schema` (CSV and NDJSON): the file
/// line, the Parquet row group or the Arrow record batch, and the reader's message.
fn locate(path: &Path, format: Format, schema: Option<Arc<Schema>>) -> Option<(String, String)> {
    let open = || super::files::open_regular(path).ok();
    match format {
        Format::Csv => locate_csv(open()?, schema?),
        Format::Json => locate_json(open()?, schema?),
        Format::Parquet => {
            use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
            let groups = match ParquetRecordBatchReaderBuilder::try_new(open()?) {
                Ok(b) => b.metadata().num_row_groups(),
                Err(e) => return Some(("footer".into(), e.to_string())),
            };
            for g in 0..groups {
                let reader = match ParquetRecordBatchReaderBuilder::try_new(open()?)
                    .and_then(|b| b.with_row_groups(vec![g]).build())
                {
                    Ok(r) => r,
                    Err(e) => return Some((format!("row group {g}"), e.to_string())),
                };
                for batch in reader {
                    if let Err(e) = batch {
                        return Some((format!("row group {g}"), e.to_string()));
                    }
                }
            }
            None
        }
        Format::Table => None,
        Format::Arrow => {
            type Batches = Box<dyn Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>>>;
            let batches: Batches = match arrow::ipc::reader::FileReader::try_new(open()?, None) {
                Ok(r) => Box::new(r),
                // Not the file format: perhaps the stream format, else say why.
                Err(file_err) => match arrow::ipc::reader::StreamReader::try_new(
                    std::io::BufReader::new(open()?),
                    None,
                ) {
                    Ok(r) => Box::new(r),
                    Err(_) => return Some(("header".into(), file_err.to_string())),
                },
            };
            batches
                .enumerate()
                .find_map(|(i, b)| b.err().map(|e| (format!("record batch {i}"), e.to_string())))
        }
    }
}

fn locate_csv(file: std::fs::File, schema: Arc<Schema>) -> Option<(String, String)> {
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .with_batch_size(8192)
        .build(file)
        .ok()?;
    for batch in reader {
        let Err(e) = batch else { continue };
        let msg = e.to_string();
        let number_after = |key: &str| -> Option<usize> {
            let at = msg.find(key)? + key.len();
            msg[at..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().ok()
        };
        // arrow counts data records from 1; the header is file line 1.
        let line = number_after("line ").map(|l| l + 1);
        let col =
            number_after("column ").or_else(|| number_after("field ").map(|f| f.saturating_sub(1)));
        let col_name = col
            .and_then(|c| schema.fields().get(c))
            .map(|f| format!(" (`{}`)", f.name()))
            .unwrap_or_default();
        let place = match (line, col) {
            (Some(l), Some(c)) => format!("line {l}, column {}{col_name}", c + 1),
            (Some(l), None) => format!("line {l}"),
            _ => "a row".to_string(),
        };
        // arrow's own record number would contradict the file line.
        let msg = match line {
            Some(l) => msg
                .replace(&format!(" at line {}", l - 1), "")
                .replace(&format!(" for line {}", l - 1), ""),
            None => msg,
        };
        return Some((place, msg));
    }
    None
}

/// NDJSON: decodes line by line, so the first bad line is named exactly.
fn locate_json(file: std::fs::File, schema: Arc<Schema>) -> Option<(String, String)> {
    use std::io::BufRead;
    let mut decoder =
        arrow::json::ReaderBuilder::new(schema).with_batch_size(1).build_decoder().ok()?;
    for (i, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => return Some((format!("line {}", i + 1), e.to_string())),
        };
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if let Err(e) = decoder.decode(&line).and_then(|_| decoder.flush()) {
            return Some((format!("line {}", i + 1), e.to_string()));
        }
    }
    None
}
