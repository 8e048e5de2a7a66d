//! The command line: the only place that prints or picks an exit code.

/// `println!` that ends the process quietly on a closed pipe (see `write_stream`).
macro_rules! outln {
    () => { $crate::cli::write_stream(false, format_args!("\n")) };
    ($($t:tt)*) => { $crate::cli::write_stream(false, format_args!("{}\n", format_args!($($t)*))) };
}
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::write_stream(false, format_args!($($t)*)) };
}
macro_rules! errln {
    () => { $crate::cli::write_stream(true, format_args!("\n")) };
    ($($t:tt)*) => { $crate::cli::write_stream(true, format_args!("{}\n", format_args!($($t)*))) };
}
macro_rules! err {
    ($($t:tt)*) => { $crate::cli::write_stream(true, format_args!($($t)*)) };
}

mod check_cmd;
mod diff_cmd;
mod fmt_cmd;
mod lock_cmd;
mod progress;
mod repl_cmd;
mod report_cmd;
mod run_cmd;
mod sql_cmd;
mod test_cmd;
mod why_cmd;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

pub mod exit {
    pub const OK: u8 = 0;
    pub const INVALID: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DATA: u8 = 3;
    pub const RESOURCE: u8 = 4;
    pub const POLICY: u8 = 5;
    pub const BUG: u8 = 70;
}

#[derive(Parser, Debug)]
#[command(
    name = "seg",
    version,
    about = "Segmentation as code: MECE-checked market segmentations over Arrow data"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum WhyFormat {
    Text,
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Table,
    Markdown,
    Json,
}

/// `--dialect`: one of `sql::Dialect::ALL`, by name (clap lists them in help and errors).
fn dialect_parser() -> impl clap::builder::TypedValueParser<Value = crate::sql::Dialect> {
    use clap::builder::TypedValueParser;
    let names = crate::sql::Dialect::ALL.map(|d| d.name());
    clap::builder::PossibleValuesParser::new(names)
        .map(|n| crate::sql::Dialect::parse(&n).expect("a listed dialect"))
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiagFormat {
    Human,
    Json,
    Github,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Read data paths outside the project root (absolute paths, `..`, links)
    #[arg(long)]
    pub allow_outside: bool,
    /// The date `today()` stands for (YYYY-MM-DD; default: the current date, UTC)
    #[arg(long, value_name = "DATE", value_parser = parse_as_of)]
    pub as_of: Option<i32>,
    /// Ignore the spec's lock file (SPEC.lock): recompute cut points and top lists
    #[arg(long)]
    pub no_lock: bool,
}

fn parse_as_of(s: &str) -> Result<i32, String> {
    crate::calendar::parse_date(s.trim())
        .ok_or_else(|| format!("`{s}` is not a date; write it as YYYY-MM-DD"))
}

/// How the engine runs: threads, memory, data overrides.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct EngineArgs {
    /// Worker threads (default: the number of cores)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Memory limit, e.g. 2GiB; operators spill to disk beyond it
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Replace a market's data for this run (repeatable)
    #[arg(long, value_name = "MARKET=PATH")]
    pub source: Vec<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

impl From<RunFormat> for crate::engine::output::OutFormat {
    fn from(f: RunFormat) -> Self {
        use crate::engine::output::OutFormat as O;
        match f {
            RunFormat::Table => O::Table,
            RunFormat::Csv => O::Csv,
            RunFormat::Json => O::Json,
            RunFormat::Parquet => O::Parquet,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and type-check specs, including the MECE rule analysis
    #[command(
        after_help = "Example:\n  seg check specs/\n  seg check --format github --deny-warnings specs/coffee.seg"
    )]
    Check {
        /// Spec files or folders (searched recursively for *.seg); default `.`
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
        format: DiagFormat,
        /// Exit 1 on warnings too
        #[arg(long)]
        deny_warnings: bool,
        /// Never open a data file; markets must declare `columns`
        #[arg(long)]
        no_data: bool,
        /// Read `from table` markets' columns from this database (postgres://..., duckdb:FILE, sqlite:FILE)
        #[arg(long, value_name = "URL")]
        on: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Execute segmentations and print their tables
    #[command(
        after_help = "Example:\n  seg run specs/coffee.seg\n  seg run specs/coffee.seg --segment customers --format csv -o customers.csv"
    )]
    Run {
        spec: PathBuf,
        /// Run only this segmentation (repeatable)
        #[arg(long = "segment", value_name = "NAME")]
        segments: Vec<String>,
        /// table (default on a terminal), csv, json or parquet (needs -o)
        #[arg(long, value_enum)]
        format: Option<RunFormat>,
        /// Write to FILE, or one file per segmentation into DIR/
        #[arg(short = 'o', long = "output", value_name = "FILE|DIR/")]
        output: Option<PathBuf>,
        /// Replace an existing output file
        #[arg(long)]
        force: bool,
        /// Also report unassigned rows, unmapped values, empty segments and totals
        #[arg(long)]
        audit: bool,
        /// Make this dimension's labels columns (segmentations without `then` or a total)
        #[arg(long, value_name = "DIM")]
        pivot: Option<String>,
        /// Run inside a database: postgres://USER@HOST/DB, duckdb:FILE or sqlite:FILE (docs/databases.md)
        #[arg(long, value_name = "URL", conflicts_with = "cluster")]
        on: Option<String>,
        /// Run on an Apache DataFusion Ballista cluster: df://HOST:PORT of its scheduler (docs/cluster.md)
        #[arg(long, value_name = "URL", value_parser = cluster_url)]
        cluster: Option<String>,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Write every row of a market with one label column per dimension
    #[command(
        after_help = "Examples:\n  seg assign specs/coffee.seg --market coffee -o coffee_labels.parquet\n  seg assign specs/shoppers.seg --entity customer -o shoppers.csv",
        group(clap::ArgGroup::new("target").required(true).args(["market", "entity"]))
    )]
    Assign {
        spec: PathBuf,
        /// Every row of this market, with its labels
        #[arg(long)]
        market: Option<String>,
        /// One row per key of this entity, with its features and labels
        #[arg(long)]
        entity: Option<String>,
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        /// csv, json or parquet (default: from the extension, else parquet)
        #[arg(long, value_enum)]
        format: Option<RunFormat>,
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Rewrite specs in canonical layout, every comment kept
    #[command(
        after_help = "Examples:\n  seg fmt specs/\n  seg fmt --check specs/\n  seg fmt - < specs/coffee.seg"
    )]
    Fmt {
        /// Spec files or folders (searched recursively for *.seg); `-` reads standard
        /// input and writes standard output; default `.`
        paths: Vec<PathBuf>,
        /// Write nothing; print a unified diff and exit 1 when a spec is not formatted
        #[arg(long)]
        check: bool,
    },
    /// A self-contained HTML report: a chart per segmentation, the numbers, the audit, the MECE findings and the checks
    #[command(
        after_help = "Example:\n  seg report specs/coffee.seg -o coffee.html\n  seg report specs/cars.seg --segment suv_trend -o suv.html"
    )]
    Report {
        spec: PathBuf,
        /// Report only this segmentation (repeatable)
        #[arg(long = "segment", value_name = "NAME")]
        segments: Vec<String>,
        #[arg(short = 'o', long = "output", value_name = "FILE.html")]
        output: PathBuf,
        /// Replace an existing output file
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Each segmentation as SQL for another database
    #[command(
        after_help = "Example:\n  seg sql specs/coffee.seg --dialect duckdb\n  seg sql specs/coffee.seg --segment age_grid --dialect postgres\n\nDuckDB reads the spec's files (read_parquet, read_csv); the other dialects read a\ntable named after each market. See docs/databases.md."
    )]
    Sql {
        spec: PathBuf,
        /// Only this segmentation (repeatable)
        #[arg(long = "segment", value_name = "NAME")]
        segments: Vec<String>,
        /// The database to write SQL for
        #[arg(long, value_parser = dialect_parser())]
        dialect: crate::sql::Dialect,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// A language server (LSP 3.17) on standard input and output, for editors
    #[command(after_help = "Editors start it; see docs/editors.md.")]
    Lsp,
    /// Print the DataFusion plan of segmentations
    #[command(
        after_help = "Example:\n  seg explain specs/coffee.seg --segment customers --physical"
    )]
    Explain {
        spec: PathBuf,
        #[arg(long = "segment", value_name = "NAME")]
        segments: Vec<String>,
        /// The physical plan instead of the logical one
        #[arg(long)]
        physical: bool,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Try segmentations interactively against real data
    #[command(
        after_help = "Example:\n  seg repl specs/coffee.seg\n  seg (coffee.seg)> coffee by buyer then venue\n  echo 'coffee by buyer' | seg repl specs/coffee.seg"
    )]
    Repl {
        spec: Option<PathBuf>,
        #[arg(long)]
        threads: Option<usize>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Generate the synthetic coffee-sales data set (for benchmarks)
    #[command(
        hide = true,
        after_help = "Example:\n  seg gen --rows 1000000 -o /tmp/coffee_1m.parquet"
    )]
    Gen {
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// .parquet or .csv
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Replace an existing output file
        #[arg(long)]
        force: bool,
    },
    /// Freeze data-dependent definitions (quantile and pareto cut points, top lists) into SPEC.lock
    #[command(
        after_help = "Examples:\n  seg lock specs/shoppers.seg\n  seg lock specs/shoppers.seg --period 2024 --segment tier_moves"
    )]
    Lock {
        spec: PathBuf,
        /// Compute on this period of an `over` segmentation (as its `period` column shows it)
        #[arg(long, value_name = "P")]
        period: Option<String>,
        /// The `over` segmentation whose periods `--period` names (default: the only one)
        #[arg(long, value_name = "S", requires = "period")]
        segment: Option<String>,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// What a spec change does to the numbers: segments before and after, rows that move
    #[command(
        after_help = "Examples:\n  seg diff old.seg specs/coffee.seg\n  seg diff --rev HEAD~1 specs/coffee.seg --format markdown\n  seg diff --rev main specs/coffee.seg --fail-on-change"
    )]
    Diff {
        /// OLD and NEW spec files; with --rev, the one spec to compare with its past
        #[arg(required = true, num_args = 1..=2)]
        specs: Vec<PathBuf>,
        /// Compare SPEC with its version at this git revision (HEAD~1, main, a hash)
        #[arg(long, value_name = "REV")]
        rev: Option<String>,
        #[arg(long = "segment", value_name = "NAME")]
        segments: Vec<String>,
        /// table (default), markdown (a pull-request comment) or json
        #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
        format: DiffFormat,
        /// Exit 1 when any number changes (for CI gates)
        #[arg(long)]
        fail_on_change: bool,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Why chosen rows got their labels: the rule, arm, bin or ranking, and the values read
    #[command(
        after_help = "Examples:\n  seg why specs/coffee.seg --market coffee --row 1\n  seg why specs/coffee.seg --market coffee --where 'revenue > 100' --limit 5"
    )]
    Why {
        spec: PathBuf,
        #[arg(long)]
        market: String,
        /// Rows where this condition holds (seg's expression syntax)
        #[arg(long = "where", value_name = "COND", conflicts_with = "row")]
        cond: Option<String>,
        /// The row with this number, counted from 1 in the order the data is read
        #[arg(long, value_name = "N")]
        row: Option<u64>,
        /// At most this many rows
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// text (default) or json
        #[arg(long, value_enum, default_value_t = WhyFormat::Text)]
        format: WhyFormat,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Run `expect` and `example` statements
    #[command(after_help = "Example:\n  seg test specs/")]
    Test {
        paths: Vec<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        engine: EngineArgs,
    },
}

/// Writes to standard output or error. A reader that went away (`seg check | head`)
/// ends the process the way a broken pipe ends any Unix tool, by SIGPIPE, after
/// removing temporary outputs; a stream closed outright (`2>&-`) is skipped, since
/// nobody is there to read it. Never a panic: `println!` would be one.
pub fn write_stream(to_err: bool, args: std::fmt::Arguments) {
    write_bytes(to_err, args.to_string().as_bytes());
}

pub fn write_bytes(to_err: bool, bytes: &[u8]) {
    use std::io::Write;
    let r = if to_err {
        let mut e = std::io::stderr().lock();
        e.write_all(bytes).and_then(|_| e.flush())
    } else {
        let mut o = std::io::stdout().lock();
        o.write_all(bytes).and_then(|_| o.flush())
    };
    if let Err(e) = r {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            broken_pipe();
        }
    }
}

fn broken_pipe() -> ! {
    crate::engine::files::remove_live_temps();
    // Rust ignores SIGPIPE so that writes fail instead; restore the default and
    // raise it, so the shell sees the usual status of a broken pipe (141).
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(128 + libc::SIGPIPE)
}

pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Opens `/dev/null` on any of the standard descriptors that is closed (`2>&-`).
/// Otherwise the next file seg opens would get that number, and a message meant
/// for standard error could land in an output file.
fn fill_closed_std_fds() {
    for fd in 0..=2 {
        // SAFETY: F_GETFD only reads descriptor flags; open() is given a valid C string.
        unsafe {
            if libc::fcntl(fd, libc::F_GETFD) == -1 {
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
    }
}

/// Runs the CLI; a panic anywhere becomes exit 70 with "this is a bug".
pub fn main() -> ExitCode {
    fill_closed_std_fds();
    std::panic::set_hook(Box::new(|info| {
        // Not `eprintln!`: a panic inside the hook (stderr closed) would abort.
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "error: internal error, this is a bug in seg: {info}\nplease report it with the spec and command that caused it");
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // Checking and lowering recurse over expressions; give them a known stack.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || std::panic::catch_unwind(|| dispatch(cli)));
    match worker.map(|h| h.join()) {
        Ok(Ok(Ok(code))) => ExitCode::from(code),
        _ => ExitCode::from(exit::BUG),
    }
}

/// More worker threads than this only cost memory (each has its own stack and
/// buffers); far more exhausts the machine.
pub fn max_threads() -> usize {
    4 * std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

fn check_threads(threads: Option<usize>) -> Result<(), u8> {
    match threads {
        Some(n) if n == 0 || n > max_threads() => {
            errln!(
                "error: --threads takes a number from 1 to {} (4 per core), found {n}",
                max_threads()
            );
            Err(exit::USAGE)
        }
        _ => Ok(()),
    }
}

fn dispatch(cli: Cli) -> u8 {
    // Lets the test suite prove that a panic anywhere becomes exit 70.
    if std::env::var_os("SEG_INTERNAL_PANIC").is_some() {
        panic!("SEG_INTERNAL_PANIC is set");
    }
    let threads = match &cli.command {
        Command::Run { engine, .. }
        | Command::Assign { engine, .. }
        | Command::Explain { engine, .. }
        | Command::Test { engine, .. }
        | Command::Diff { engine, .. }
        | Command::Why { engine, .. }
        | Command::Lock { engine, .. }
        | Command::Report { engine, .. }
        | Command::Sql { engine, .. } => engine.threads,
        Command::Repl { threads, .. } => *threads,
        _ => None,
    };
    if let Err(code) = check_threads(threads) {
        return code;
    }
    // Commands that write files clean up their temporary outputs on a signal; the
    // REPL keeps Ctrl-C for cancelling a query.
    if matches!(cli.command, Command::Run { .. } | Command::Assign { .. } | Command::Gen { .. }) {
        install_signal_cleanup();
    }
    match cli.command {
        Command::Fmt { paths, check } => fmt_cmd::run(&paths, check),
        Command::Report { spec, segments, output, force, data, engine } => {
            report_cmd::run(&spec, &segments, &output, force, &data, &engine)
        }
        Command::Sql { spec, segments, dialect, data, engine } => {
            sql_cmd::run(&spec, &segments, dialect, &data, &engine)
        }
        Command::Lsp => match crate::lsp::run() {
            Ok(()) => exit::OK,
            Err(e) => {
                errln!("error: seg lsp: {e}");
                exit::INVALID
            }
        },
        Command::Check { paths, format, deny_warnings, no_data, on, data } => {
            check_cmd::run(&paths, format, deny_warnings, no_data, on, &data)
        }
        Command::Run {
            spec,
            segments,
            format,
            output,
            force,
            audit,
            pivot,
            on,
            cluster,
            data,
            engine,
        } => run_cmd::run(
            run_cmd::RunArgs {
                spec: &spec,
                segments: &segments,
                format: format.map(Into::into),
                output: output.as_deref(),
                force,
                audit,
                pivot: pivot.as_deref(),
                on: on.as_deref(),
                cluster: cluster.as_deref(),
            },
            &data,
            &engine,
        ),
        Command::Assign { spec, market, entity, output, format, force, data, engine } => {
            let target = match (market, entity) {
                (_, Some(e)) => run_cmd::AssignTarget::Entity(e),
                (Some(m), None) => run_cmd::AssignTarget::Market(m),
                (None, None) => return exit::USAGE,
            };
            run_cmd::assign(&spec, &target, &output, format.map(Into::into), force, &data, &engine)
        }
        Command::Explain { spec, segments, physical, data, engine } => {
            run_cmd::explain(&spec, &segments, physical, &data, &engine)
        }
        Command::Test { paths, data, engine } => test_cmd::run(&paths, &data, &engine),
        Command::Lock { spec, period, segment, data, engine } => {
            lock_cmd::run(&spec, period.as_deref(), segment.as_deref(), &data, &engine)
        }
        Command::Why { spec, market, cond, row, limit, format, data, engine } => {
            why_cmd::run(&spec, &market, cond.as_deref(), row, limit, format, &data, &engine)
        }
        Command::Diff { specs, rev, segments, format, fail_on_change, data, engine } => {
            diff_cmd::run(diff_cmd::DiffArgs {
                specs: &specs,
                rev: rev.as_deref(),
                segments: &segments,
                format,
                fail_on_change,
                data: &data,
                engine: &engine,
            })
        }
        Command::Gen { rows, seed, output, force } => {
            match crate::engine::gen::write_coffee_checked(&output, rows, seed, force) {
                Ok(()) => exit::OK,
                Err(e) => {
                    errln!("error: {e}");
                    exit::DATA
                }
            }
        }
        Command::Repl { spec, threads, data } => repl_cmd::run(spec.as_deref(), &data, threads),
    }
}

/// On SIGINT, SIGTERM or SIGHUP: remove temporary outputs, then end as that signal
/// would have. A thread, not a handler, does the work, so it may take locks and
/// allocate. Front ends that handle Ctrl-C themselves (the REPL) do not call this.
pub fn install_signal_cleanup() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    let _ = std::thread::Builder::new().name("seg-signals".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            crate::engine::files::remove_live_temps();
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            std::process::exit(128 + sig);
        }
    });
}

/// `--cluster`: a `df://HOST:PORT` address, checked before anything is read.
fn cluster_url(s: &str) -> Result<String, String> {
    crate::engine::cluster::parse_url(s).map(|_| s.to_string())
}
