//! The portable lowering (`lower::portable`: no label codes, dictionaries or
//! lookups, seg's functions replaced by standard ones) against the fast lowering,
//! both run by DataFusion in process, on the peer bench's cases and data (issue 16).
//! The same numbers are asserted first.
//!
//! `cargo bench --bench portable` (`-- --rows 1M --runs 1` to narrow it).

use seg::check::program::Value;
use std::path::PathBuf;
use std::time::Instant;
use support::median;

#[allow(dead_code)]
mod support;

/// The peer cases with a fixed spec (`benches/peers/cases`), and bins with 50 cuts.
fn cases() -> Vec<(String, String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/peers/cases");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect("peer case");
    let common = read("common.seg");
    let mut out: Vec<(String, String, String)> =
        [("segmentation", "sizing"), ("hierarchy", "tree"), ("grid", "grid"), ("tiers", "tiers")]
            .iter()
            .map(|(n, s)| {
                (n.to_string(), s.to_string(), format!("{common}\n{}", read(&format!("{n}.seg"))))
            })
            .collect();
    let cuts: Vec<String> = (1..=50).map(|i| (2 + i * 19).to_string()).collect();
    out.push((
        "bins50".into(),
        "bands".into(),
        format!(
            "{common}\ndimension rev_band on coffee = bins revenue [{}]\nsegment bands = coffee by rev_band\n",
            cuts.join(", ")
        ),
    ));
    out
}

fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        }
        _ => a == b,
    }
}

fn main() {
    let (rows, runs, dir) = support::rows_runs_dir("portable");
    let data = dir.join("coffee.parquet");
    if !data.exists() {
        eprintln!("portable: generating {rows} rows in {}", data.display());
        seg::engine::gen::write_coffee(&data, rows, 42).expect("generate");
    }
    println!("| case | fast | portable | portable / fast |");
    println!("|---|---|---|---|");
    for (name, segment, spec) in cases() {
        let (_, session) = support::open(&dir, &spec);
        let s = session
            .program
            .segments
            .iter()
            .position(|sd| sd.name == segment)
            .unwrap_or_else(|| panic!("{name}: no segmentation {segment}"));
        let fast = session.run_segment(s).expect("fast");
        let portable = session.run_segment_portable(s).expect("portable");
        let (f, p) =
            (seg::engine::batches_to_values(&fast), seg::engine::batches_to_values(&portable));
        assert!(
            f.len() == p.len()
                && f.iter().zip(&p).all(|(a, b)| a.iter().zip(b).all(|(x, y)| close(x, y))),
            "{name}: the portable plan's numbers differ"
        );
        let time = |portable: bool| {
            let t: Vec<f64> = (0..runs)
                .map(|_| {
                    let started = Instant::now();
                    let r = if portable {
                        session.run_segment_portable(s)
                    } else {
                        session.run_segment(s)
                    };
                    r.expect("run");
                    started.elapsed().as_secs_f64()
                })
                .collect();
            median(t)
        };
        let (tf, tp) = (time(false), time(true));
        println!("| {name} | {tf:.3} s | {tp:.3} s | {:.2}× |", tp / tf);
    }
    println!("({rows} rows of Parquet, in process, medians of {runs})");
}
