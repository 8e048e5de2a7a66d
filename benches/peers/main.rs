//! seg against hand-written DataFusion SQL, DuckDB and Polars: the same query, the
//! same files, the same threads. Checks every engine returns the same numbers, then
//! times them and writes the table into docs/performance.md.
//!
//! `cargo bench --bench peers` runs it all. `-- --smoke` is CI's mode: 1M rows, one
//! run, numbers checked, nothing timed or written. `-- --rows 1M,10M --runs 3
//! --cases segmentation,tiers` narrows it. The peers run as separate processes so
//! peak memory is each one's own (`wait4`'s maxrss).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const DUCKDB: &str = "2.0.0";
const POLARS: &str = "2.1.0";
const SEED: u64 = 42;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Engine {
    Seg,
    DfSql,
    DuckDb,
    Polars,
}
const ENGINES: [Engine; 4] = [Engine::Seg, Engine::DfSql, Engine::DuckDb, Engine::Polars];

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Seg => "seg",
            Engine::DfSql => "DataFusion SQL",
            Engine::DuckDb => "DuckDB",
            Engine::Polars => "Polars",
        }
    }
}

struct Case {
    name: String,
    segment: &'static str,
    spec: String,
    sql: String,
    cuts: Option<Vec<i64>>,
    what: String,
    /// Customer ids spread over this many keys (`remapped`): a large entity.
    keys: Option<u64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fmt {
    Parquet,
    Csv,
}
impl Fmt {
    fn ext(self) -> &'static str {
        match self {
            Fmt::Parquet => "parquet",
            Fmt::Csv => "csv",
        }
    }
}

struct Job {
    case: usize,
    rows: u64,
    fmt: Fmt,
}

struct Opts {
    smoke: bool,
    runs: usize,
    threads: usize,
    rows: Option<Vec<u64>>,
    cases: Option<Vec<String>>,
    write_doc: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if args.first().map(String::as_str) == Some("--df-sql") {
        return df_sql::main(&args[1..]);
    }
    if args.first().map(String::as_str) == Some("--remap") {
        let keys: u64 = args[3].parse().expect("--remap DATA OUT KEYS");
        return write_remapped(Path::new(&args[1]), Path::new(&args[2]), keys)
            .unwrap_or_else(|e| panic!("remap: {e}"));
    }
    let opts = parse_opts(&args);
    if let Err(e) = run(&opts) {
        eprintln!("peers: {e}");
        std::process::exit(1);
    }
}

fn parse_opts(args: &[String]) -> Opts {
    let mut o =
        Opts { smoke: false, runs: 5, threads: 2, rows: None, cases: None, write_doc: true };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--smoke" => o.smoke = true,
            "--runs" => o.runs = value().parse().expect("--runs N"),
            "--threads" => o.threads = value().parse().expect("--threads N"),
            "--rows" => o.rows = Some(value().split(',').map(parse_rows).collect()),
            "--cases" => o.cases = Some(value().split(',').map(str::to_string).collect()),
            "--no-doc" => o.write_doc = false,
            other => panic!("unknown option {other}; see the header of benches/peers/main.rs"),
        }
    }
    if o.smoke {
        o.runs = 0;
        o.write_doc = false;
    }
    o
}

fn parse_rows(s: &str) -> u64 {
    let s = s.trim();
    let (n, mult) = match s.chars().last() {
        Some('M' | 'm') => (&s[..s.len() - 1], 1_000_000),
        Some('K' | 'k') => (&s[..s.len() - 1], 1_000),
        _ => (s, 1),
    };
    n.parse::<u64>().expect("--rows like 1M,10M") * mult
}

fn human_rows(n: u64) -> String {
    if n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n.is_multiple_of(1_000) {
        format!("{}K", n / 1_000)
    } else {
        n.to_string()
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bench's working folder: data, specs and the Python environment live beside
/// the build, so `cargo clean` removes them and a clone never carries them.
fn work_dir() -> PathBuf {
    if let Ok(d) = std::env::var("SEG_BENCH_DIR") {
        return PathBuf::from(d);
    }
    // target/<profile>/deps/peers-<hash>
    let exe = std::env::current_exe().expect("own path");
    exe.ancestors()
        .nth(3)
        .map(|t| t.join("seg-bench"))
        .unwrap_or_else(|| repo().join("target/seg-bench"))
}

fn cases() -> Vec<Case> {
    let dir = repo().join("benches/peers/cases");
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let common = read("common.seg");
    let fixed = [
        ("segmentation", "sizing", "3-dimension segmentation (rules x bins x mapping)"),
        ("hierarchy", "tree", "`then` hierarchy, 3 levels, subtotals and shares"),
        ("grid", "grid", "`x` grid, data-dependent regions x age bins"),
        ("tiers", "tiers", "entity spend quintiles (per customer)"),
        ("column7", "venues", "`x` grid, a column as it is (7 values) x age bins"),
        ("column10k", "shops", "a column as it is, 10,000 values"),
        ("monthly", "monthly", "`over order_date by month`: shares and changes per month"),
    ];
    let mut out: Vec<Case> = fixed
        .iter()
        .map(|(name, segment, what)| Case {
            name: name.to_string(),
            segment,
            spec: format!("{common}\n{}", read(&format!("{name}.seg"))),
            sql: read(&format!("{name}.sql")),
            cuts: None,
            what: what.to_string(),
            keys: None,
        })
        .collect();
    // The generator's 50,000 customers, spread over 2M: the entity's keys are what
    // costs (issue 17's "entity quintiles over 2 million customers").
    let tiers = out.iter().find(|c| c.name == "tiers").expect("tiers");
    out.push(Case {
        name: "tiers2m".into(),
        segment: "tiers",
        spec: tiers.spec.clone(),
        sql: tiers.sql.clone(),
        cuts: None,
        what: "entity spend quintiles, 2M customers".into(),
        keys: Some(2_000_000),
    });
    for n in [5usize, 50, 500] {
        out.push(bins_case(&common, n));
    }
    out
}

/// Bins on revenue with `n` cut points, denser where the orders are (quadratic
/// spacing). Revenue is whole units from 1 up to about 1,470, so starting at 2 and
/// stopping near 1,000 leaves no bin empty: seg lists empty bins, and a CASE
/// chain grouped in SQL would not.
fn bins_case(common: &str, n: usize) -> Case {
    let mut cuts: Vec<i64> = Vec::new();
    for i in 1..=n {
        let x = (1000.0 * (i as f64 / (n + 1) as f64).powi(2)).round() as i64;
        let next = cuts.last().map_or(x.max(2), |&p| x.max(p + 1));
        cuts.push(next);
    }
    let list = cuts.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ");
    let spec = format!("{common}\ndimension rev_band on coffee = bins revenue [{list}]\nsegment bands = coffee by rev_band\n");
    let mut case = String::from("CASE WHEN revenue IS NULL THEN NULL");
    case.push_str(&format!(" WHEN revenue < {} THEN '< {}'", cuts[0], cuts[0]));
    for w in cuts.windows(2) {
        case.push_str(&format!("\n  WHEN revenue < {} THEN '{}-{}'", w[1], w[0], w[1]));
    }
    case.push_str(&format!("\n  ELSE '{}+' END", cuts[n - 1]));
    let sql = format!(
        "-- Bins as an analyst writes them in SQL: a CASE chain.\n\
         SELECT rev_band, rows, volume, value, CAST(rows AS DOUBLE) / SUM(rows) OVER () AS share\n\
         FROM (SELECT {case} AS rev_band, COUNT(*) AS rows, SUM(kg) AS volume, SUM(revenue) AS value\n\
         FROM coffee GROUP BY 1) t\n"
    );
    Case {
        name: format!("bins{n}"),
        segment: "bands",
        spec,
        sql,
        cuts: Some(cuts),
        keys: None,
        what: format!("bins on revenue, {n} cut points"),
    }
}

fn jobs(opts: &Opts, cases: &[Case]) -> Vec<Job> {
    let idx = |n: &str| cases.iter().position(|c| c.name == n).expect("case");
    let mut jobs = Vec::new();
    let wanted = |c: &Case| opts.cases.as_ref().is_none_or(|w| w.contains(&c.name));
    if let Some(rows) = &opts.rows {
        for &r in rows {
            for (i, c) in cases.iter().enumerate().filter(|(_, c)| wanted(c)) {
                jobs.push(Job { case: i, rows: r, fmt: Fmt::Parquet });
                if c.name == "segmentation" {
                    jobs.push(Job { case: i, rows: r, fmt: Fmt::Csv });
                }
            }
        }
        return jobs;
    }
    let main_rows = if opts.smoke { 1_000_000 } else { 10_000_000 };
    for (i, _) in cases.iter().enumerate().filter(|(_, c)| wanted(c)) {
        jobs.push(Job { case: i, rows: main_rows, fmt: Fmt::Parquet });
    }
    let seg = idx("segmentation");
    if wanted(&cases[seg]) {
        jobs.push(Job { case: seg, rows: main_rows, fmt: Fmt::Csv });
        if !opts.smoke {
            jobs.push(Job { case: seg, rows: 1_000_000, fmt: Fmt::Parquet });
            jobs.push(Job { case: seg, rows: 1_000_000, fmt: Fmt::Csv });
            jobs.push(Job { case: seg, rows: 100_000_000, fmt: Fmt::Parquet });
        }
    }
    jobs
}

/// A Python virtual environment with the pinned DuckDB and Polars.
fn python_env(work: &Path) -> Result<PathBuf, String> {
    let venv = work.join("venv");
    let py = venv.join("bin/python");
    let probe = format!("import duckdb, polars; assert duckdb.__version__ == '{DUCKDB}' and polars.__version__ == '{POLARS}'");
    if py.exists()
        && Command::new(&py)
            .args(["-c", &probe])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    {
        return Ok(py);
    }
    eprintln!("peers: installing duckdb {DUCKDB} and polars {POLARS} into {}", venv.display());
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = |c: &mut Command| {
        c.status().map_err(|e| format!("{c:?}: {e}")).and_then(|s| {
            if s.success() {
                Ok(())
            } else {
                Err(format!("{c:?} failed"))
            }
        })
    };
    ok(Command::new(&python).args(["-m", "venv"]).arg(&venv))?;
    ok(Command::new(&py).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("duckdb=={DUCKDB}"),
        &format!("polars=={POLARS}"),
    ]))?;
    Ok(py)
}

/// The coffee data at `rows`, generated once and kept (written then renamed, so an
/// interrupted run never leaves half a file behind).
fn data_file(work: &Path, rows: u64, fmt: Fmt) -> Result<PathBuf, String> {
    let path = work.join(format!("coffee_{}.{}", human_rows(rows), fmt.ext()));
    if path.exists() {
        return Ok(path);
    }
    eprintln!("peers: generating {}", path.display());
    let tmp = work.join(format!(".coffee_{}.tmp.{}", human_rows(rows), fmt.ext()));
    seg::engine::gen::write_coffee(&tmp, rows, SEED)?;
    std::fs::rename(&tmp, &path).map_err(|e| e.to_string())?;
    Ok(path)
}

/// `data` with `customer_id` replaced by `order_id * 7919 mod keys + 1`, so the
/// customers are spread over up to `keys` ids; written once beside it.
fn remapped(work: &Path, data: &Path, rows: u64, keys: u64) -> Result<PathBuf, String> {
    let path = work.join(format!("coffee_{}_{}keys.parquet", human_rows(rows), human_rows(keys)));
    if path.exists() {
        return Ok(path);
    }
    eprintln!("peers: writing {}", path.display());
    let tmp =
        work.join(format!(".coffee_{}_{}keys.tmp.parquet", human_rows(rows), human_rows(keys)));
    // In a process of its own: a child's peak memory starts from its parent's at
    // the fork, so DataFusion's memory here would count against every later engine.
    let status = Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .arg("--remap")
        .arg(data)
        .arg(&tmp)
        .arg(keys.to_string())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("writing {} failed", tmp.display()));
    }
    std::fs::rename(&tmp, &path).map_err(|e| e.to_string())?;
    Ok(path)
}

/// `--remap DATA OUT KEYS`: `remapped`'s file, written by a child process.
fn write_remapped(data: &Path, tmp: &Path, keys: u64) -> Result<(), String> {
    use datafusion::prelude::{col, lit, ParquetReadOptions, SessionContext};
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ctx = SessionContext::new();
        let df = ctx
            .read_parquet(data.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let cols: Vec<_> = df
            .schema()
            .fields()
            .iter()
            .map(|f| match f.name().as_str() {
                "customer_id" => ((col("order_id") * lit(7919i64)) % lit(keys as i64) + lit(1i64))
                    .alias("customer_id"),
                n => col(n),
            })
            .collect();
        let opts =
            datafusion::dataframe::DataFrameWriteOptions::new().with_single_file_output(true);
        df.select(cols)
            .map_err(|e| e.to_string())?
            .write_parquet(tmp.to_str().unwrap(), opts, None)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    })
}

struct Outcome {
    csv: String,
    seconds: f64,
    max_rss_kb: i64,
}

/// Runs a child to the end, collecting its output and its own peak memory.
fn measure(cmd: &mut Command, timed_inside: bool) -> Result<Outcome, String> {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).map(|_| s)
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).map(|_| s)
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data and the pid is our own unreaped child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64();
    let stdout = t_out.join().expect("reader").map_err(|e| e.to_string())?;
    let stderr = t_err.join().expect("reader").map_err(|e| e.to_string())?;
    if rc != pid as i32 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{cmd:?} failed (status {status}):\n{stderr}"));
    }
    let seconds = if timed_inside {
        stderr
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("SECONDS ").and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| format!("{cmd:?} printed no SECONDS line:\n{stderr}"))?
    } else {
        wall
    };
    Ok(Outcome { csv: stdout, seconds, max_rss_kb: usage.ru_maxrss })
}

struct Prepared {
    spec: PathBuf,
    sql: PathBuf,
    data: PathBuf,
}

fn command(
    engine: Engine,
    case: &Case,
    p: &Prepared,
    threads: usize,
    py: &Path,
) -> (Command, bool) {
    match engine {
        Engine::Seg => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_seg"));
            c.arg("run").arg(&p.spec).args([
                "--segment",
                case.segment,
                "--format",
                "csv",
                "--threads",
                &threads.to_string(),
            ]);
            // The generated data lives under the target folder, outside the project.
            c.arg("--allow-outside").arg("--source").arg(format!("coffee={}", p.data.display()));
            // The whole process counts for seg: start-up, parse, check, plan, run, print.
            (c, false)
        }
        Engine::DfSql => {
            let mut c = Command::new(std::env::current_exe().expect("own path"));
            c.arg("--df-sql").arg(&p.sql).arg(&p.data).arg(threads.to_string());
            (c, true)
        }
        Engine::DuckDb | Engine::Polars => {
            let mut c = Command::new(py);
            c.arg(repo().join("benches/peers/peer.py"));
            c.arg(if engine == Engine::DuckDb { "duckdb" } else { "polars" })
                .arg(&case.name)
                .arg(&p.data)
                .arg(threads.to_string())
                .arg(&p.sql);
            if let Some(cuts) = &case.cuts {
                c.arg(format!(
                    "[{}]",
                    cuts.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
                ));
            }
            (c, true)
        }
    }
}

type Table = (Vec<String>, Vec<Vec<String>>);

fn parse_csv(text: &str) -> Table {
    let mut lines = text.lines().filter(|l| !l.is_empty()).map(split_csv);
    let header = lines.next().unwrap_or_default();
    let mut rows: Vec<Vec<String>> = lines.collect();
    rows.sort();
    (header, rows)
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The same table up to row order and float rounding (engines sum in different orders).
fn same_numbers(a: &Table, b: &Table) -> Result<(), String> {
    if a.0 != b.0 {
        return Err(format!("columns differ: {:?} vs {:?}", a.0, b.0));
    }
    if a.1.len() != b.1.len() {
        return Err(format!("{} rows vs {} rows", a.1.len(), b.1.len()));
    }
    for (ra, rb) in a.1.iter().zip(&b.1) {
        for ((x, y), name) in ra.iter().zip(rb).zip(&a.0) {
            let equal = match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0),
                _ => x == y,
            };
            if !equal {
                return Err(format!("column `{name}`: {x} vs {y}\n  row {ra:?}\n  vs  {rb:?}"));
            }
        }
    }
    Ok(())
}

#[derive(Default)]
struct Stats {
    times: Vec<f64>,
    rss_kb: i64,
}

impl Stats {
    /// Every run counts for peak memory; only timed runs count for time.
    fn add(&mut self, o: &Outcome, timed: bool) {
        self.rss_kb = self.rss_kb.max(o.max_rss_kb);
        if timed {
            self.times.push(o.seconds);
        }
    }
    fn median(&self) -> f64 {
        let mut t = self.times.clone();
        t.sort_by(f64::total_cmp);
        let n = t.len();
        if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            t[n / 2]
        } else {
            (t[n / 2 - 1] + t[n / 2]) / 2.0
        }
    }
    fn min(&self) -> f64 {
        self.times.iter().copied().fold(f64::INFINITY, f64::min)
    }
    fn max(&self) -> f64 {
        self.times.iter().copied().fold(0.0, f64::max)
    }
}

fn run(opts: &Opts) -> Result<(), String> {
    let work = work_dir();
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let py = python_env(&work)?;
    let cases = cases();
    let jobs = jobs(opts, &cases);
    let mut results: Vec<(usize, BTreeMap<&'static str, Stats>)> = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        let case = &cases[job.case];
        let data = data_file(&work, job.rows, job.fmt)?;
        let data = match case.keys {
            Some(keys) => remapped(&work, &data, job.rows, keys)?,
            None => data,
        };
        let dir = work.join("cases");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let spec = dir.join(format!("{}.{}.seg", case.name, job.fmt.ext()));
        std::fs::write(
            &spec,
            case.spec.replace("\"coffee.parquet\"", &format!("\"coffee.{}\"", job.fmt.ext())),
        )
        .map_err(|e| e.to_string())?;
        let sql = dir.join(format!("{}.sql", case.name));
        std::fs::write(&sql, &case.sql).map_err(|e| e.to_string())?;
        let p = Prepared { spec, sql, data };
        let label = format!("{} {} {}", case.name, human_rows(job.rows), job.fmt.ext());
        eprintln!("peers: [{}/{}] {label}", j + 1, jobs.len());

        let run_engine = |e: Engine| {
            let (mut cmd, inside) = command(e, case, &p, opts.threads, &py);
            measure(&mut cmd, inside).map_err(|err| format!("{label}, {}: {err}", e.name()))
        };
        // A first run of each engine checks the numbers (and warms the page cache).
        let mut stats: BTreeMap<&'static str, Stats> = BTreeMap::new();
        let mut reference: Option<Table> = None;
        for e in ENGINES {
            let o = run_engine(e)?;
            let t = parse_csv(&o.csv);
            if t.1.is_empty() {
                return Err(format!("{label}, {}: no rows", e.name()));
            }
            match &reference {
                None => reference = Some(t),
                Some(r) => same_numbers(r, &t)
                    .map_err(|err| format!("{label}: {} and seg disagree: {err}", e.name()))?,
            }
            stats.entry(e.name()).or_default().add(&o, false);
        }
        eprintln!(
            "peers:   same numbers from all {} engines ({} rows of output)",
            ENGINES.len(),
            reference.map_or(0, |r| r.1.len())
        );
        // Rounds interleave the engines, so a noisy moment hits all of them.
        for _ in 0..opts.runs {
            for e in ENGINES {
                let o = run_engine(e)?;
                stats.entry(e.name()).or_default().add(&o, true);
            }
        }
        if opts.smoke {
            // One run, usually of a debug build: not a measurement, so no figures.
            results.push((j, stats));
            continue;
        }
        let seg = stats["seg"].median();
        let line: Vec<String> = ENGINES
            .iter()
            .map(|e| format!("{} {:.3}s", e.name(), stats[e.name()].median()))
            .collect();
        eprintln!(
            "peers:   {} | seg/DataFusion {:.2} seg/DuckDB {:.2}",
            line.join(", "),
            seg / stats["DataFusion SQL"].median(),
            seg / stats["DuckDB"].median()
        );
        results.push((j, stats));
    }
    if opts.smoke {
        eprintln!(
            "peers: smoke run passed: {} cases, every engine returned the same numbers",
            results.len()
        );
        return Ok(());
    }
    let report = report(opts, &cases, &jobs, &results, &py);
    println!("{report}");
    if opts.write_doc {
        write_doc(&report)?;
        eprintln!("peers: wrote docs/performance.md");
    }
    Ok(())
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn report(
    opts: &Opts,
    cases: &[Case],
    jobs: &[Job],
    results: &[(usize, BTreeMap<&'static str, Stats>)],
    py: &Path,
) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let py_version =
        sh(&py.to_string_lossy(), &["-c", "import sys; print(sys.version.split()[0])"]);
    let mut s = String::new();
    s.push_str(&format!(
        "Produced by `cargo bench --bench peers` on {} ({cores} cores, {mem_gib:.0} GiB), {}.\n\
         Engines: seg {} (release, DataFusion 55.2), DataFusion 55.2 SQL through the crate, DuckDB {DUCKDB} and Polars {POLARS} (Python {py_version}).\n\
         Every engine gets {} threads and the same file; each case's numbers are checked equal across engines before timing.\n\n",
        cpu,
        sh("date", &["-u", "+%Y-%m-%d"]),
        env!("CARGO_PKG_VERSION"),
        opts.threads
    ));
    s.push_str(&format!(
        "Seconds, median of {} runs (min-max). A ratio below 1 means seg is faster; ratios compare medians from the same run.\n\
         seg is timed as a whole process (start-up, parse, check, plan, run, print CSV); the peers time their query alone, \
         from opening the file to the result in memory, without interpreter or library start-up.\n\n",
        opts.runs
    ));
    // One row per job: its case, size and file, then one cell per engine.
    let table = |s: &mut String,
                 header: &str,
                 cell: &dyn Fn(&BTreeMap<&'static str, Stats>, Engine) -> String,
                 extra: &dyn Fn(&BTreeMap<&'static str, Stats>) -> String| {
        s.push_str(header);
        for (j, stats) in results {
            let job = &jobs[*j];
            let cells: Vec<String> = ENGINES.iter().map(|&e| cell(stats, e)).collect();
            s.push_str(&format!(
                "| {} | {} | {} | {} |{}\n",
                cases[job.case].what,
                human_rows(job.rows),
                job.fmt.ext(),
                cells.join(" | "),
                extra(stats)
            ));
        }
    };
    table(
        &mut s,
        "| case | rows | file | seg | DataFusion SQL | DuckDB | Polars | seg/DF SQL | seg/DuckDB | seg/Polars |\n|---|---|---|---|---|---|---|---|---|---|\n",
        &|stats, e| {
            let st = &stats[e.name()];
            format!("{:.3} ({:.3}-{:.3})", st.median(), st.min(), st.max())
        },
        &|stats| {
            let seg = stats["seg"].median();
            let ratios: Vec<String> = ENGINES[1..].iter().map(|e| format!(" {:.2} |", seg / stats[e.name()].median())).collect();
            ratios.concat()
        },
    );
    s.push_str(
        "\nPeak memory (maxrss of the process, MiB; the Python peers include the interpreter):\n\n",
    );
    table(
        &mut s,
        "| case | rows | file | seg | DataFusion SQL | DuckDB | Polars |\n|---|---|---|---|---|---|---|\n",
        &|stats, e| format!("{:.0}", stats[e.name()].rss_kb as f64 / 1024.0),
        &|_| String::new(),
    );
    s
}

const BEGIN: &str = "<!-- peers:begin (written by `cargo bench --bench peers`) -->";
const END: &str = "<!-- peers:end -->";

/// Replaces the generated section of docs/performance.md, keeping the prose around it.
fn write_doc(report: &str) -> Result<(), String> {
    let path = repo().join("docs/performance.md");
    let old = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let section = format!("{BEGIN}\n{report}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(a), Some(b)) if a < b => format!("{}{section}{}", &old[..a], &old[b + END.len()..]),
        _ => format!("{old}\n## Against DuckDB, Polars and DataFusion SQL\n\n{section}\n"),
    };
    let tmp = path.with_extension("md.tmp");
    std::fs::write(&tmp, new).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &path).map_err(|e| e.to_string())
}

/// The hand-written SQL peer: the query text through DataFusion's own SQL front end.
mod df_sql {
    use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionConfig, SessionContext};
    use std::time::Instant;

    pub fn main(args: &[String]) {
        let [sql, data, threads] = args else { panic!("--df-sql SQL_FILE DATA THREADS") };
        let threads: usize = threads.parse().expect("threads");
        let sql = std::fs::read_to_string(sql).expect("sql file");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .expect("runtime");
        let (batches, seconds) = rt.block_on(async {
            let started = Instant::now();
            let ctx = SessionContext::new_with_config(
                SessionConfig::new().with_target_partitions(threads),
            );
            if data.ends_with(".csv") {
                ctx.register_csv("coffee", data, CsvReadOptions::new())
                    .await
                    .expect("register csv");
            } else {
                ctx.register_parquet("coffee", data, ParquetReadOptions::default())
                    .await
                    .expect("register parquet");
            }
            let df = ctx.sql(&sql).await.expect("plan");
            let batches = df.collect().await.expect("run");
            (batches, started.elapsed().as_secs_f64())
        });
        let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(std::io::stdout());
        for b in &batches {
            w.write(b).expect("write csv");
        }
        drop(w);
        eprintln!("SECONDS {seconds:.6}");
    }
}
