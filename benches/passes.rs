//! One pass per market, and the scan floor, over 10M rows of the coffee Parquet
//! market (issue 17):
//! - a spec with 8 segmentations run together (one shared pass) against the most
//!   expensive of them run alone, and against the 8 run one scan each; the target
//!   is at most 1.5× the most expensive one;
//! - a trivial segmentation (one label for every row, one sum; a spec of its own)
//!   against a bare DataFusion scan summing the same column; the target is at
//!   most 1.3×.
//!
//! In process, from one run, so the ratios share the machine's noise.
//! `cargo bench --bench passes` (`-- --rows 1M --runs 1` to narrow it;
//! `-- --only-trivial N [--rule-times]` splits the trivial segmentation's time into
//! check, planning, optimizing and running, N times, and the time of each planner rule;
//! `-- --only-shared N [--rule-times]` and `-- --only-alone K N` run the shared pass
//! (then the rule times of two roll-ups), or segmentation K alone, N times and
//! nothing else, for `perf record`).

use std::path::Path;
use std::time::Instant;
use support::median;

#[allow(dead_code)]
mod support;

const SPEC: &str = r#"market coffee from "coffee.parquet" {
  measure volume  = sum(kg)
  measure value   = sum(revenue)
  measure orders  = count()
  measure price   = value / volume
  measure biggest = max(revenue)
}
dimension product_line on coffee = product {
  "ground", "beans" => "roast & ground"
  "capsules"        => "capsules"
  "cold_brew"       => "cold brew"
  else              => "other"
}
dimension buyer on coffee = rules {
  customer_type in ("office", "restaurant", "cafe", "hotel") => "b2b"
  else                                                       => "b2c"
}
dimension venue_group on coffee = customer_type {
  "office", "restaurant", "cafe", "hotel" => "business"
  "household", "student"                  => "consumer"
  else                                    => "other"
}
dimension age_band on coffee = bins age [18, 25, 35, 50, 65]
dimension online on coffee = channel {
  "online" => "online"
  else     => "offline"
}
dimension size on coffee = rules {
  kg >= 5 => "big"
  else    => "small"
}
segment lines     = coffee by product_line
segment customers = coffee by buyer then venue_group
segment age_grid  = coffee by product_line x age_band
segment mix       = coffee by buyer measures (value, volume) share of value
segment venues    = coffee by venue_group with total
segment channels  = coffee by online x buyer measures (value, biggest)
segment sizes     = coffee by size then product_line where revenue > 10
segment ages      = coffee by age_band where channel = "online" measures (orders, price)
"#;

/// The trivial segmentation as a spec of its own: what an analyst's first spec is,
/// and all that its check and session have to read.
const TRIVIAL_SPEC: &str = r#"market coffee from "coffee.parquet" {
  measure value = sum(revenue)
}
dimension everyone on coffee = rules {
  else => "all"
}
segment trivial = coffee by everyone measures (value)
"#;

const EIGHT: usize = 8;

/// Seconds to open the spec and run `segs`, sharing scans when `share`.
fn run(dir: &Path, spec: &str, segs: &[usize], share: bool) -> (f64, Vec<String>) {
    let (total, out, _) = run_split(dir, spec, segs, share, false);
    (total, out)
}

/// `run`; with `split`, one segmentation after the other, with the seconds of each
/// step: opening the spec, then each segmentation (the first of a shared run also
/// runs the pass).
fn run_split(
    dir: &Path,
    spec: &str,
    segs: &[usize],
    share: bool,
    split: bool,
) -> (f64, Vec<String>, Vec<f64>) {
    let started = Instant::now();
    let (_, s) = support::open(dir, spec);
    if share {
        s.share_scans(segs, true);
    }
    let mut steps = vec![started.elapsed().as_secs_f64()];
    let mut out = Vec::new();
    if split {
        for &k in segs {
            let t = Instant::now();
            let b = s.run_segment(k).expect("run");
            steps.push(t.elapsed().as_secs_f64());
            out.push(seg::engine::output::to_table(&b, s.program.segments[k].label_columns()));
        }
    } else {
        // As `seg run` runs them: a shared pass's roll-ups side by side.
        for (&k, b) in segs.iter().zip(s.run_segments(segs)) {
            let b = b.expect("run");
            out.push(seg::engine::output::to_table(&b, s.program.segments[k].label_columns()));
        }
    }
    (started.elapsed().as_secs_f64(), out, steps)
}

/// Seconds for DataFusion alone to scan `revenue` and sum it.
fn bare_scan(dir: &Path) -> f64 {
    use datafusion::functions_aggregate::expr_fn::sum;
    use datafusion::prelude::{col, ParquetReadOptions, SessionConfig, SessionContext};
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(std::thread::available_parallelism().map_or(2, |n| n.get())),
    );
    let path = dir.join("coffee.parquet");
    let got = rt.block_on(async {
        let df = ctx
            .read_parquet(path.to_str().unwrap(), ParquetReadOptions::default())
            .await
            .unwrap()
            .aggregate(vec![], vec![sum(col("revenue"))])
            .unwrap();
        df.collect().await.unwrap()
    });
    assert_eq!(got.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    started.elapsed().as_secs_f64()
}

/// What each of DataFusion's analyzer, optimizer and physical optimizer rules takes
/// on `plan` (the largest 25): where the planning of a small segmentation goes.
fn rule_times(
    state: &datafusion::execution::session_state::SessionState,
    plan: &datafusion::logical_expr::LogicalPlan,
) {
    use datafusion::physical_planner::DefaultPhysicalPlanner;
    let mut times: std::collections::BTreeMap<String, f64> = Default::default();
    let mut t = Instant::now();
    let analyzed = state
        .analyzer()
        .execute_and_check(plan.clone(), state.config_options(), |_, r| {
            *times.entry(format!("analyzer {}", r.name())).or_default() +=
                t.elapsed().as_secs_f64();
            t = Instant::now();
        })
        .unwrap();
    t = Instant::now();
    let optimized = state
        .optimizer()
        .optimize(analyzed, state, |_, r| {
            *times.entry(format!("optimizer {}", r.name())).or_default() +=
                t.elapsed().as_secs_f64();
            t = Instant::now();
        })
        .unwrap();
    let bare =
        datafusion::execution::session_state::SessionStateBuilder::new_from_existing(state.clone())
            .with_physical_optimizer_rules(vec![])
            .build();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let t0 = Instant::now();
    let initial = rt.block_on(bare.create_physical_plan(&optimized)).unwrap();
    times.insert("physical initial".into(), t0.elapsed().as_secs_f64());
    let planner = DefaultPhysicalPlanner::default();
    t = Instant::now();
    planner
        .optimize_physical_plan(initial, state, |_, r| {
            *times.entry(format!("physical {}", r.name())).or_default() +=
                t.elapsed().as_secs_f64();
            t = Instant::now();
        })
        .unwrap();
    let mut v: Vec<_> = times.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (k, x) in v.iter().take(25) {
        println!("  {:>7.1} us  {k}", x * 1e6);
    }
}

fn main() {
    let (rows, runs, dir) = support::rows_runs_dir("passes");
    if !dir.join("coffee.parquet").exists() {
        eprintln!("passes: generating {rows} rows in {}", dir.display());
        seg::engine::gen::write_coffee(&dir.join("coffee.parquet"), rows, 42).unwrap();
    }
    let eight: Vec<usize> = (0..EIGHT).collect();
    // `-- --only-shared N`: the shared run N times and nothing else, for `perf record`.
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--only-shared") {
        let n: usize = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(10);
        let mut steps = vec![Vec::new(); EIGHT + 1];
        let (mut times, mut wholes) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let (total, _, split) = run_split(&dir, SPEC, &eight, true, true);
            let (whole, _, _) = run_split(&dir, SPEC, &eight, true, false);
            wholes.push(whole);
            times.push(total);
            split.into_iter().zip(steps.iter_mut()).for_each(|(x, v)| v.push(x));
        }
        println!(
            "all 8, one pass: median {:.3} s of {n} one after the other, {:.3} s as `seg run` runs them",
            median(times),
            median(wholes)
        );
        if args.iter().any(|a| a == "--rule-times") {
            let (_, s) = support::open(&dir, SPEC);
            s.share_scans(&eight, true);
            s.run_segment(0).unwrap();
            // The context roll-ups run on, as the engine builds it.
            let st = s.one_partition().state();
            for k in [1usize, 2] {
                let plan = s.segment_plan(k).unwrap();
                println!("roll-up {k}:");
                rule_times(&st, &plan);
            }
        }
        // Where a shared run's time goes beyond the pass: the roll-ups' planning.
        let steps: Vec<String> =
            steps.into_iter().map(|v| format!("{:.1}", median(v) * 1e3)).collect();
        println!(
            "  ms: open {}, first (with the pass) {}, then {}",
            steps[0],
            steps[1],
            steps[2..].join(", ")
        );
        return;
    }
    // `-- --only-alone K N`: segmentation K run alone N times, for `perf record`
    // beside the shared run.
    if let Some(i) = args.iter().position(|a| a == "--only-alone") {
        let k: usize = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let n: usize = args.get(i + 2).and_then(|s| s.parse().ok()).unwrap_or(10);
        let times: Vec<f64> = (0..n).map(|_| run(&dir, SPEC, &[k], false).0).collect();
        println!("segmentation {k} alone: median {:.3} s of {n}", median(times));
        return;
    }
    // `-- --only-trivial N`: the trivial segmentation's steps, N times, beside the
    // bare scan (where its fixed costs go).
    if let Some(i) = args.iter().position(|a| a == "--only-trivial") {
        let n: usize = args.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(10);
        for _ in 0..n {
            let t = Instant::now();
            let (_, s) = support::open(&dir, TRIVIAL_SPEC);
            let opened = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let plan = s.segment_plan(0).expect("plan");
            let lowered = t.elapsed().as_secs_f64();
            // The run plans again: optimizing and physical planning are timed apart.
            let state = s.ctx.state();
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let t = Instant::now();
            let optimized = state.optimize(&plan).expect("optimize");
            let logical = t.elapsed().as_secs_f64();
            let t = Instant::now();
            rt.block_on(state.query_planner().create_physical_plan(&optimized, &state))
                .expect("physical plan");
            let physical = t.elapsed().as_secs_f64();
            let t = Instant::now();
            s.execute(plan.clone()).expect("run");
            let ran = t.elapsed().as_secs_f64();
            println!(
                "check and open {opened:.4} s, lowering {lowered:.4} s, run {ran:.4} s (of which optimizing {logical:.4} s, physical planning {physical:.4} s); bare scan {:.4} s",
                bare_scan(&dir)
            );
            if args.iter().any(|a| a == "--rule-times") {
                rule_times(&state, &plan);
            }
        }
        return;
    }
    // The numbers first: shared and separate runs print the same tables.
    let (_, shared_out) = run(&dir, SPEC, &eight, true);
    let (_, separate_out) = run(&dir, SPEC, &eight, false);
    assert_eq!(shared_out, separate_out, "a shared pass changed a number");
    let (mut shared, mut separate, mut alone) = (Vec::new(), Vec::new(), vec![Vec::new(); EIGHT]);
    let (mut trivial, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        shared.push(run(&dir, SPEC, &eight, true).0);
        separate.push(run(&dir, SPEC, &eight, false).0);
        for (k, times) in alone.iter_mut().enumerate() {
            times.push(run(&dir, SPEC, &[k], false).0);
        }
        trivial.push(run(&dir, TRIVIAL_SPEC, &[0], false).0);
        bare.push(bare_scan(&dir));
    }
    let alone: Vec<f64> = alone.into_iter().map(median).collect();
    let (worst, worst_s) =
        alone.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(k, s)| (k, *s)).unwrap();
    let (shared, separate) = (median(shared), median(separate));
    let (trivial, bare) = (median(trivial), median(bare));
    let names = ["lines", "customers", "age_grid", "mix", "venues", "channels", "sizes", "ages"];
    println!("one pass per market, {rows} rows of Parquet, medians of {runs}:");
    for (k, s) in alone.iter().enumerate() {
        println!("  {:<10} alone       {s:.3} s", names[k]);
    }
    println!("  all 8, one pass      {shared:.3} s");
    println!("  all 8, 8 scans       {separate:.3} s");
    println!(
        "  one pass / most expensive alone ({}): {:.2}×   (target ≤ 1.5×)",
        names[worst],
        shared / worst_s
    );
    println!("  8 scans / one pass: {:.2}×", separate / shared);
    println!("the scan floor:");
    println!("  trivial segmentation (seg, spec checked and session opened) {trivial:.3} s");
    println!("  DataFusion scan of `revenue`, summed                         {bare:.3} s");
    println!("  trivial / bare scan: {:.2}×   (target ≤ 1.3×)", trivial / bare);
}
