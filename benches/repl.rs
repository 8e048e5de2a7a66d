//! How long a segmentation typed at the REPL prompt takes over 1M and 10M rows: the
//! first query of a session and repeated ones (those scan the columns the session
//! holds in memory). `cargo bench --bench repl` (SEG_BENCH_ROWS picks one size,
//! SEG_BENCH_REPEATS the number of repeated queries).

use std::time::Instant;

fn main() {
    let sizes: Vec<u64> = match std::env::var("SEG_BENCH_ROWS").ok().and_then(|s| s.parse().ok()) {
        Some(n) => vec![n],
        None => vec![1_000_000, 10_000_000],
    };
    for rows in sizes {
        bench(rows);
    }
}

fn bench(rows: u64) {
    // Kept between runs under the target folder, like the other benches' data, so a
    // profiler can be pointed at the same file.
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let dir = std::path::PathBuf::from(target).join(format!("seg-bench/repl-{rows}"));
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    let data = dir.join("coffee.parquet");
    if !data.exists() {
        seg::engine::gen::write_coffee(&data, rows, 42).expect("generate data");
    }
    let spec = dir.join("coffee.seg");
    std::fs::write(
        &spec,
        r#"market coffee from "coffee.parquet" {
  measure volume = sum(kg)
  measure value  = sum(revenue)
  measure buyers = count(distinct customer_id)
}
dimension buyer on coffee = rules {
  customer_type in ("office", "restaurant", "cafe", "hotel") => "b2b"
  else => "b2c"
}
dimension venue on coffee = customer_type
"#,
    )
    .unwrap();
    let started = Instant::now();
    let (mut repl, _) =
        seg::repl::Repl::new(Some(&spec), false, Some(2), false, None, false).expect("load spec");
    let load = started.elapsed().as_secs_f64();
    let query = "coffee by buyer then venue";
    let never = || -> seg::repl::Cancel { Box::pin(std::future::pending::<()>()) };
    let t = Instant::now();
    let first = repl.eval(query, never);
    assert!(!first.failed, "{}", first.err);
    let first_s = t.elapsed().as_secs_f64();
    let mut times = Vec::new();
    // SEG_BENCH_REPEATS raises the count for profiling; the median stays the figure.
    let repeats: usize =
        std::env::var("SEG_BENCH_REPEATS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    for _ in 0..repeats.max(10) {
        let t = Instant::now();
        let r = repl.eval(query, never);
        assert!(!r.failed);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!("seg repl over {rows} rows (Parquet, 2 threads), `{query}`:");
    println!("  load spec and register data: {load:.3} s");
    println!("  first query:                 {first_s:.3} s");
    println!(
        "  repeated (median of 10):     {:.3} s (min {:.3}, max {:.3})",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}
