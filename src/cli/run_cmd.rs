//! `seg run`, `seg assign` and `seg explain`: load a spec, open a session, execute.

use super::check_cmd::{exit_code, print_diagnostics};
use super::{exit, DataArgs, DiagFormat, EngineArgs};
use crate::check::program::Checked;
use crate::diagnostic::{ExitClass, Renderer};
use crate::driver::{Driver, LoadOptions, SpecFile};
use crate::engine::files;
use crate::engine::output::{self, OutFormat};
use crate::engine::paths::PathPolicy;
use crate::engine::session::{EngineError, Session, SessionOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The exit code an engine error calls for (cli.md), from its code's class.
pub fn engine_exit(e: &EngineError) -> u8 {
    match e.code().map(|c| c.exit()) {
        Some(ExitClass::Spec) => exit::INVALID,
        Some(ExitClass::Data) => exit::DATA,
        Some(ExitClass::Resource) | None => exit::RESOURCE,
        Some(ExitClass::Policy) => exit::POLICY,
        Some(ExitClass::Bug) => exit::BUG,
    }
}

/// Prints an engine error and returns its exit code.
pub fn report(e: &EngineError) -> u8 {
    report_in(e, None)
}

/// Prints an engine error, drawn on the spec when it points into it (a lowering
/// error), and returns its exit code.
pub fn report_in(e: &EngineError, spec: Option<&SpecFile>) -> u8 {
    match (e.diagnostic(), spec) {
        (Some(d), Some(spec)) if !d.labels.is_empty() => {
            let r = Renderer { color: super::color_enabled(), width: 100 };
            err!("{}", r.render(d, &spec.display, &spec.text));
        }
        _ => err!("{}", e.to_text()),
    }
    engine_exit(e)
}

/// Says which date `today()` stood for, when the spec used it: numbers that
/// depend on the date must say which date they are for.
pub fn say_as_of(file: &SpecFile, data: &DataArgs) {
    if let Some(d) = file.today {
        let why = if data.as_of.is_some() {
            "--as-of"
        } else {
            "the current date; pass --as-of DATE to fix it"
        };
        errln!("note: today() is {} ({why})", crate::calendar::format_date(d));
    }
}

/// Loads and checks a spec and opens a session on its data; on failure, prints why
/// and returns the exit code.
pub fn open(
    spec: &Path,
    data: &DataArgs,
    eng: &EngineArgs,
) -> Result<(Arc<SpecFile>, Session), u8> {
    open_with(spec, data, eng, false)
}

/// `open`; `ordered_scans` reads every file in order, as one stream (`assign`).
pub fn open_with(
    spec: &Path,
    data: &DataArgs,
    eng: &EngineArgs,
    ordered_scans: bool,
) -> Result<(Arc<SpecFile>, Session), u8> {
    open_from(spec, None, data, eng, ordered_scans)
}

/// A spec's text given rather than read (an older version from git): how to name
/// it, its bytes, and its lock file's text then (`None`: it had none).
pub struct SpecAt<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
    pub lock: Option<String>,
}

/// `open_with`, on spec text given here instead of read from `spec`, which still
/// places it.
pub fn open_from(
    spec: &Path,
    text: Option<&SpecAt>,
    data: &DataArgs,
    eng: &EngineArgs,
    ordered_scans: bool,
) -> Result<(Arc<SpecFile>, Session), u8> {
    let policy = PathPolicy { allow_outside: data.allow_outside };
    let shown = match text {
        Some(at) => at.name.to_string(),
        None => spec.display().to_string(),
    };
    // Replaced data is also where the checker reads the market's schema from.
    let mut sources = std::collections::HashMap::new();
    let spec_dir = files::folder_of(spec);
    for s in &eng.source {
        let Some((m, p)) = s.split_once('=') else {
            errln!("error: --source takes MARKET=PATH, found `{s}`");
            return Err(exit::USAGE);
        };
        match crate::engine::paths::resolve_source(&spec_dir, p, &policy) {
            Ok(path) => sources.insert(m.to_string(), path),
            Err(why) => {
                errln!("error: --source path `{p}` is refused: {why}");
                errln!("help: keep data inside the project (the folder with seg.toml or .git), or pass --allow-outside");
                return Err(exit::POLICY);
            }
        };
    }
    let (driver, file, program) = checked(spec, text, data, sources.clone(), None)?;
    say_as_of(&file, data);
    for m in sources.keys() {
        let known =
            program.markets.iter().map(|x| &x.name).chain(program.tables.iter().map(|t| &t.name));
        if !known.into_iter().any(|x| x == m) {
            errln!("error: --source names `{m}`, which {shown} defines as no market or table");
            return Err(exit::USAGE);
        }
    }
    let memory_limit = match &eng.memory_limit {
        Some(s) => match crate::engine::session::parse_size(s) {
            Some(n) => Some(n),
            None => {
                errln!("error: --memory-limit takes a size such as 2GiB or 512MB, found `{s}`");
                return Err(exit::USAGE);
            }
        },
        None => None,
    };
    let sopts = SessionOptions {
        threads: eng.threads,
        memory_limit,
        batch_size: None,
        policy: Some(policy),
        sources,
        ordered_scans,
    };
    match driver.session(program, &file.dir(), &sopts) {
        Ok(s) => Ok((file, s)),
        Err(e) => Err(report(&e)),
    }
}

/// The spec loaded and checked as `seg run` reads it (`text` in place of the file
/// when given), its diagnostics printed: the driver that makes its sessions, the
/// file and the checked program, or the exit code.
fn checked(
    spec: &Path,
    text: Option<&SpecAt>,
    data: &DataArgs,
    sources: std::collections::HashMap<String, PathBuf>,
    database: Option<&str>,
) -> Result<(Driver, Arc<SpecFile>, Checked), u8> {
    let shown = match text {
        Some(at) => at.name.to_string(),
        None => spec.display().to_string(),
    };
    let driver = Driver::new(LoadOptions {
        no_data: false,
        policy: PathPolicy { allow_outside: data.allow_outside },
        sources,
        as_of: data.as_of,
        no_lock: data.no_lock,
        database: database.map(str::to_string),
    });
    let loaded = match text {
        Some(at) => Ok(driver.analyse_with_lock(spec, &shown, at.bytes, at.lock.clone())),
        None => driver.load(spec, &shown),
    };
    let file = match loaded {
        Ok(f) => f,
        Err(e) => {
            errln!("error: cannot read {shown}: {e}");
            return Err(exit::USAGE);
        }
    };
    print_diagnostics(&file, DiagFormat::Human);
    let Some(program) = file.program.clone() else {
        return Err(exit_code(&file.diagnostics, false).max(exit::INVALID));
    };
    Ok((driver, file, program))
}

pub fn select_segments(session: &Session, names: &[String]) -> Result<Vec<usize>, u8> {
    select_in(&session.program, names)
}

/// `select_segments` in a checked program.
pub fn select_in(program: &Checked, names: &[String]) -> Result<Vec<usize>, u8> {
    let segs = &program.segments;
    if names.is_empty() {
        return Ok((0..segs.len()).collect());
    }
    let mut out = Vec::new();
    for n in names {
        match segs.iter().position(|s| &s.name == n) {
            Some(i) => out.push(i),
            None => {
                let cands: Vec<&str> = segs.iter().map(|s| s.name.as_str()).collect();
                let hint = crate::check::errors::suggest(n, cands.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                errln!(
                    "error: no segmentation named `{n}`{hint} (there are: {})",
                    cands.join(", ")
                );
                return Err(exit::USAGE);
            }
        }
    }
    Ok(out)
}

pub struct RunArgs<'a> {
    pub spec: &'a Path,
    pub segments: &'a [String],
    pub format: Option<OutFormat>,
    pub output: Option<&'a Path>,
    pub force: bool,
    pub audit: bool,
    /// `--pivot DIM`: that dimension's labels become columns.
    pub pivot: Option<&'a str>,
    /// `--on URL`: run inside that database instead.
    pub on: Option<&'a str>,
    /// `--cluster df://HOST:PORT`: run the portable plans on a Ballista cluster.
    pub cluster: Option<&'a str>,
}

/// What `-o FILE`'s extension asks for (cli-v2: the extension decides unless
/// `--format` does; a conflict is a usage error).
enum ByExtension {
    Format(OutFormat),
    Svg,
    Html,
    Unknown,
}

fn by_extension(output: Option<&Path>) -> ByExtension {
    match output.and_then(|o| o.extension()).and_then(|e| e.to_str()) {
        Some("csv") => ByExtension::Format(OutFormat::Csv),
        Some("json") | Some("ndjson") => ByExtension::Format(OutFormat::Json),
        Some("parquet") => ByExtension::Format(OutFormat::Parquet),
        Some("svg") => ByExtension::Svg,
        Some("html") | Some("htm") => ByExtension::Html,
        _ => ByExtension::Unknown,
    }
}

pub fn run(a: RunArgs, data: &DataArgs, eng: &EngineArgs) -> u8 {
    let implied = by_extension(a.output);
    match (&implied, a.format) {
        (ByExtension::Format(f), Some(g)) if *f != g => {
            errln!(
                "error: -o {} says {} but --format says {}; drop one",
                a.output.map(|o| o.display().to_string()).unwrap_or_default(),
                f.extension(),
                g.extension()
            );
            return exit::USAGE;
        }
        (ByExtension::Svg, Some(g)) => {
            errln!(
                "error: -o FILE.svg draws a chart; --format {} conflicts with it",
                g.extension()
            );
            return exit::USAGE;
        }
        (ByExtension::Svg, None) => return svg(&a, data, eng),
        (ByExtension::Html, _) => {
            errln!("error: an HTML report comes from `seg report SPEC -o FILE.html`");
            return exit::USAGE;
        }
        _ => {}
    }
    let format = a.format.unwrap_or(match implied {
        ByExtension::Format(f) => f,
        _ if a.output.is_none() && std::io::stdout().is_terminal() => OutFormat::Table,
        _ => OutFormat::Csv,
    });
    if format == OutFormat::Parquet && a.output.is_none() {
        errln!("error: --format parquet needs -o FILE (or -o DIR/)");
        return exit::USAGE;
    }
    if let Some(url) = a.on {
        return run_on(&a, url, format, data);
    }
    if a.cluster.is_some() && a.audit {
        errln!("error: --audit runs its checks on this machine: drop --cluster or --audit");
        return exit::USAGE;
    }
    let (file, mut session) = match open(a.spec, data, eng) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let segs = match select_segments(&session, a.segments) {
        Ok(s) => s,
        Err(c) => return c,
    };
    if let Some(url) = a.cluster {
        if let Err(e) = session.connect_cluster(url) {
            return report(&e);
        }
    }
    let bar = super::progress::start(session.files.len());
    // `--pivot DIM`: every selected segmentation must have it, and no level column.
    let pivots: Vec<Option<usize>> = match a.pivot {
        None => vec![None; segs.len()],
        Some(name) => {
            let p = &session.program;
            let mut out = Vec::new();
            for &s in &segs {
                let sd = &p.segments[s];
                // `--pivot period`: periods as columns, levels kept as a key.
                if name == "period" && sd.over.is_some() {
                    out.push(Some(0));
                    continue;
                }
                // A migration matrix pivots on `to` (or `from`).
                if sd.migrate.is_some() && (name == "from" || name == "to") {
                    out.push(Some(usize::from(name == "to")));
                    continue;
                }
                let lead = usize::from(sd.over.is_some());
                let Some(pos) =
                    sd.dims.iter().position(|&d| p.dims[d].name == name).map(|i| i + lead)
                else {
                    errln!(
                        "error: --pivot {name}: segmentation `{}` has no dimension `{name}`",
                        sd.name
                    );
                    return exit::USAGE;
                };
                if sd.has_levels() {
                    errln!("error: --pivot {name}: segmentation `{}` has levels (`then` or a total), which a pivot would fold together; pivot a segmentation crossed with `x`", sd.name);
                    return exit::USAGE;
                }
                out.push(Some(pos));
            }
            out
        }
    };
    session.share_scans(&segs, true);
    let mut results = Vec::new();
    let ran = session.run_segments(&segs);
    for ((&s, pivot), batches) in segs.iter().zip(&pivots).zip(ran) {
        let batches = batches.and_then(|b| match pivot {
            Some(pos) => {
                let sd = &session.program.segments[s];
                output::pivot(&b, sd.label_columns() + usize::from(sd.has_levels()), *pos)
            }
            None => Ok(b),
        });
        match batches {
            Ok(b) => results.push((s, b)),
            Err(e) => return report_in(&e, Some(&file)),
        }
    }
    let audits = if a.audit {
        match crate::engine::audit::audit_all(&session, &segs) {
            Ok(r) => Some(r),
            Err(e) => return report_in(&e, Some(&file)),
        }
    } else {
        None
    };
    // Cleared before anything is printed.
    drop(bar);
    let many = results.len() > 1;
    let to_dir = a.output.is_some_and(|o| o.is_dir() || o.to_string_lossy().ends_with('/'));
    if to_dir && a.output.is_some_and(|o| !o.is_dir()) {
        errln!(
            "error: output folder `{}` does not exist",
            a.output.map(|o| o.display().to_string()).unwrap_or_default()
        );
        return exit::USAGE;
    }
    if format == OutFormat::Parquet && many && !to_dir {
        errln!("error: parquet output of several segmentations needs -o DIR/ (one file each) or --segment NAME");
        return exit::USAGE;
    }
    let render =
        |s: usize, batches: &[arrow::record_batch::RecordBatch]| -> Result<Vec<u8>, EngineError> {
            let sd = &session.program.segments[s];
            match format {
                OutFormat::Table => {
                    // A pivoted dimension's labels are columns now, not a label column.
                    let labels = sd.label_columns() - usize::from(a.pivot.is_some());
                    let bars = a.output.is_none() && std::io::stdout().is_terminal();
                    Ok(output::to_table_with(batches, labels, bars).into_bytes())
                }
                OutFormat::Csv => output::to_csv(batches),
                OutFormat::Json => output::to_json(batches),
                OutFormat::Parquet => {
                    let schema = match batches.first() {
                        Some(b) => b.schema(),
                        None => std::sync::Arc::new(
                            session.segment_plan(s)?.schema().as_arrow().clone(),
                        ),
                    };
                    output::to_parquet(batches, schema)
                }
            }
        };
    // Everything is computed before anything is written, so a failure leaves no
    // partial output behind.
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut combined: Vec<u8> = Vec::new();
    for (i, (s, batches)) in results.iter().enumerate() {
        let name = &session.program.segments[*s].name;
        let body = match render(*s, batches) {
            Ok(b) => b,
            Err(e) => return report(&e),
        };
        if to_dir {
            let dir = a.output.unwrap_or(Path::new("."));
            files.push((dir.join(format!("{name}.{}", format.extension())), body));
            continue;
        }
        append(&mut combined, format, name, body, i == 0, many);
        if let (Some(report), OutFormat::Table) = (&audits, format) {
            if let Some(r) = report.iter().find(|r| r.segment == *s) {
                combined.extend(r.render(&session.program).bytes());
            }
        }
    }
    if let (Some(report), false) = (&audits, format == OutFormat::Table) {
        for r in report {
            err!("{}", r.render(&session.program));
        }
    }
    match a.output {
        None => super::write_bytes(false, &combined),
        Some(dest) if !to_dir => files.push((dest.to_path_buf(), combined)),
        Some(_) => {}
    }
    let inputs = files::run_inputs(a.spec, &session.files);
    for (dest, _) in &files {
        if let Err(e) = files::check_output(dest, a.force, &inputs) {
            return report(&e);
        }
    }
    for (dest, body) in &files {
        if let Err(e) = files::write_atomic(dest, body, a.force, &inputs) {
            return report(&e);
        }
    }
    if audits.as_ref().is_some_and(|r| r.iter().any(|x| !x.clean()))
        && std::env::var_os("SEG_AUDIT_STRICT").is_some()
    {
        return exit::INVALID;
    }
    exit::OK
}

/// `seg run -o FILE.svg`: one segmentation's chart alone, as in `seg report`.
fn svg(a: &RunArgs, data: &DataArgs, eng: &EngineArgs) -> u8 {
    let dest = a.output.unwrap_or(Path::new("chart.svg"));
    if let Err(e) = files::check_output(dest, a.force, &files::run_inputs(a.spec, &[])) {
        return report(&e);
    }
    let (file, mut session) = match open(a.spec, data, eng) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let segs = match select_segments(&session, a.segments) {
        Ok(s) => s,
        Err(c) => return c,
    };
    if let Some(url) = a.cluster {
        if let Err(e) = session.connect_cluster(url) {
            return report(&e);
        }
    }
    let [s] = segs[..] else {
        let names: Vec<&str> =
            segs.iter().map(|&s| session.program.segments[s].name.as_str()).collect();
        errln!(
            "error: -o FILE.svg draws one segmentation; pick one with --segment ({})",
            names.join(", ")
        );
        return exit::USAGE;
    };
    let batches = match session.run_segment(s) {
        Ok(b) => b,
        Err(e) => return report_in(&e, Some(&file)),
    };
    let (names, rows) = crate::report::data::rows(&session.program, s, &batches);
    let Some(svg) = crate::report::chart::chart(&session.program, s, &names, &rows) else {
        errln!("error: segmentation `{}` has no rows to draw", session.program.segments[s].name);
        return exit::DATA;
    };
    let inputs = files::run_inputs(a.spec, &session.files);
    if let Err(e) = files::write_atomic(dest, svg.as_bytes(), a.force, &inputs) {
        return report(&e);
    }
    exit::OK
}

/// What `seg assign` lists: a market's rows, or an entity's.
pub enum AssignTarget {
    Market(String),
    Entity(String),
}

pub fn assign(
    spec: &Path,
    target: &AssignTarget,
    dest: &Path,
    format: Option<OutFormat>,
    force: bool,
    data: &DataArgs,
    eng: &EngineArgs,
) -> u8 {
    let format = format.unwrap_or_else(|| match dest.extension().and_then(|e| e.to_str()) {
        Some("csv") => OutFormat::Csv,
        Some("json") | Some("ndjson") => OutFormat::Json,
        _ => OutFormat::Parquet,
    });
    if format == OutFormat::Table {
        errln!("error: seg assign writes csv, json or parquet");
        return exit::USAGE;
    }
    // Refused before any work, and again once the data files are known.
    if let Err(e) = files::check_output(dest, force, &files::run_inputs(spec, &[])) {
        return report(&e);
    }
    let (file, session) = match open_with(spec, data, eng, true) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let inputs = files::run_inputs(spec, &session.files);
    if let Err(e) = files::check_output(dest, force, &inputs) {
        return report(&e);
    }
    let p = &session.program;
    let (plan, what) = match target {
        AssignTarget::Market(market) => {
            let Some(m) = p.markets.iter().position(|x| &x.name == market) else {
                let names: Vec<&str> = p.markets.iter().map(|m| m.name.as_str()).collect();
                errln!("error: no market named `{market}` (there are: {})", names.join(", "));
                return exit::USAGE;
            };
            (crate::lower::assign_plan(p, m, &session), format!("rows of market `{market}`"))
        }
        AssignTarget::Entity(entity) => {
            let Some(e) = p.entities.iter().position(|x| &x.name == entity) else {
                let names: Vec<&str> = p.entities.iter().map(|e| e.name.as_str()).collect();
                errln!("error: no entity named `{entity}` (there are: {})", names.join(", "));
                return exit::USAGE;
            };
            (
                crate::lower::assign::entity_plan(p, e, &session),
                format!("rows of entity `{entity}`"),
            )
        }
    };
    let plan = match plan {
        Ok(p) => p,
        Err(d) => return report_in(&EngineError::lowering(d), Some(&file)),
    };
    let schema = std::sync::Arc::new(plan.schema().as_arrow().clone());
    // Streamed into the temporary file: every row of a market need not fit in memory.
    let mut rows = 0;
    let written = files::write_atomic_with(dest, force, &inputs, |file| {
        let mut w = output::BatchWriter::new(format, file, schema)?;
        rows = session.execute_each(plan, |b| w.write(b))?;
        w.finish()
    });
    if let Err(e) = written {
        return report(&e);
    }
    errln!("wrote {rows} {what} to {}", dest.display());
    exit::OK
}

pub fn explain(
    spec: &Path,
    segments: &[String],
    physical: bool,
    data: &DataArgs,
    eng: &EngineArgs,
) -> u8 {
    let (_file, session) = match open(spec, data, eng) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let segs = match select_segments(&session, segments) {
        Ok(s) => s,
        Err(c) => return c,
    };
    session.share_scans(&segs, false);
    for (i, s) in segs.into_iter().enumerate() {
        let plan = match session.segment_plan(s) {
            Ok(p) => p,
            Err(e) => return report(&e),
        };
        let text = match session.explain(plan, physical) {
            Ok(t) => t,
            Err(e) => return report(&e),
        };
        if i > 0 {
            outln!();
        }
        outln!(
            "-- segment {} ({} plan)",
            session.program.segments[s].name,
            if physical { "physical" } else { "logical" }
        );
        outln!("-- {}", session.sharing(s));
        outln!("{}", text.trim_end());
    }
    exit::OK
}

/// One segmentation's rendered `body` added to the standard output of a run: under
/// a `segment NAME` heading (tables), a `# segment NAME` line when CSV holds several,
/// one JSON document per line.
fn append(
    out: &mut Vec<u8>,
    format: OutFormat,
    name: &str,
    body: Vec<u8>,
    first: bool,
    many: bool,
) {
    match format {
        OutFormat::Table => {
            if !first {
                out.push(b'\n');
            }
            out.extend(format!("segment {name}\n").bytes());
            out.extend(body);
        }
        OutFormat::Csv => {
            if many {
                out.extend(format!("# segment {name}\n").bytes());
            }
            out.extend(body);
        }
        OutFormat::Json => {
            out.extend(body);
            out.push(b'\n');
        }
        OutFormat::Parquet => out.extend(body),
    }
}

/// `seg run --on URL`: each segmentation's SQL run inside the database, printed as
/// `seg run` prints it.
fn run_on(a: &RunArgs, url: &str, format: OutFormat, data: &DataArgs) -> u8 {
    use crate::engine::remote::{Remote, Target};
    if a.audit || a.pivot.is_some() || format == OutFormat::Parquet || a.output.is_some() {
        errln!("error: --on prints the segmentations' tables: drop --audit, --pivot and -o");
        return exit::USAGE;
    }
    let target = match Target::parse(url) {
        Ok(t) => t,
        Err(why) => {
            errln!("error: --on {why}");
            return exit::USAGE;
        }
    };
    let (_, file, program) = match checked(a.spec, None, data, Default::default(), Some(url)) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let segs = match select_in(&program, a.segments) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let mut remote = match Remote::connect(&target) {
        Ok(r) => r,
        Err(e) => return report(&e),
    };
    let mut out: Vec<u8> = Vec::new();
    let many = segs.len() > 1;
    for (i, &s) in segs.iter().enumerate() {
        let batches = match remote.run(&program, s, target.dialect(), &file.dir()) {
            Ok(b) => b,
            Err(e) => return report_in(&e, Some(&file)),
        };
        let sd = &program.segments[s];
        let body = match format {
            OutFormat::Table => {
                let bars = std::io::stdout().is_terminal();
                Ok(output::to_table_with(&batches, sd.label_columns(), bars).into_bytes())
            }
            OutFormat::Csv => output::to_csv(&batches),
            _ => output::to_json(&batches),
        };
        match body {
            Ok(b) => append(&mut out, format, &sd.name, b, i == 0, many),
            Err(e) => return report(&e),
        }
    }
    super::write_bytes(false, &out);
    exit::OK
}
