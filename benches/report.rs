//! The cost of `seg report` against `seg run` of the same segmentations: 10M rows of
//! a Parquet market, three segmentations (bars, a Marimekko, nested bars) and an
//! `expect`. The report also audits every segmentation, checks the expectations and
//! draws the charts; the target (issue 15) is at most 1.2× the run.
//!
//! `cargo bench --bench report` (`-- --rows 1M --runs 1` to narrow it).

use seg::engine::session::Session;
use std::path::Path;
use std::time::Instant;
use support::median;

#[allow(dead_code)]
mod support;

fn session(dir: &Path) -> (std::sync::Arc<seg::driver::SpecFile>, Session) {
    support::open(dir, &format!("{}expect share(by_zone, \"other\") > 10%\n", support::SALES_SPEC))
}

/// `seg run`: every segmentation, as tables.
fn run(dir: &Path) -> f64 {
    let started = Instant::now();
    let (_, s) = session(dir);
    let mut out = 0;
    for k in 0..s.program.segments.len() {
        let b = s.run_segment(k).expect("run");
        out += seg::engine::output::to_table(&b, s.program.segments[k].label_columns()).len();
    }
    assert!(out > 0);
    started.elapsed().as_secs_f64()
}

/// `seg report`: the same, plus the audit, the expectations and the HTML.
fn report(dir: &Path) -> (f64, usize) {
    let started = Instant::now();
    let (file, s) = session(dir);
    let segs: Vec<usize> = (0..s.program.segments.len()).collect();
    let (results, audits) = seg::engine::audit::run_audited(&s, &segs).expect("run, audit");
    let t2 = started.elapsed().as_secs_f64();
    let verdicts = seg::report::verdicts(&file, &s, &results);
    let t3 = started.elapsed().as_secs_f64();
    let html = seg::report::html(&file, &s.program, &results, &audits, &verdicts);
    eprintln!(
        "report: segments and audit {t2:.2} s, checks {:.2} s, html {:.3} s",
        t3 - t2,
        started.elapsed().as_secs_f64() - t3
    );
    (started.elapsed().as_secs_f64(), html.len())
}

fn main() {
    let (rows, runs, dir) = support::rows_runs_dir("report");
    if !dir.join("sales.parquet").exists() {
        eprintln!("report: generating {rows} rows in {}", dir.display());
        support::sales_parquet(&dir.join("sales.parquet"), rows);
    }
    let (mut r, mut p) = (Vec::new(), Vec::new());
    let mut size = 0;
    for i in 0..runs {
        r.push(run(&dir));
        let (t, n) = report(&dir);
        p.push(t);
        size = n;
        eprintln!("report: run {}: run {:.2} s, report {:.2} s", i + 1, r[i], p[i]);
    }
    let (r, p) = (median(r), median(p));
    println!(
        "report: {rows} rows, 3 segmentations: seg run {r:.2} s, seg report {p:.2} s ({size} bytes of HTML), medians of {runs}; ratio {:.2}",
        p / r
    );
}
