//! `seg run --on duckdb:` against `seg run` and against DuckDB's own SQL written by
//! hand (feature `duckdb`): 10M rows of a Parquet market, three segmentations (a
//! mapping, a mapping crossed with bins, a mapping then a column with subtotals).
//!
//! `--on duckdb:` plans each segmentation, writes its SQL and runs it in DuckDB
//! (through the `duckdb` crate, in memory, reading the Parquet file itself); the
//! hand-written SQL is what an analyst would type for the same cells. The numbers
//! of each route are checked against `seg run` first.
//!
//! `cargo bench --features duckdb --bench databases` (`-- --rows 1M --runs 1`).

use seg::engine::remote::{Remote, Target};
use seg::sql::Dialect;
use std::path::Path;
use std::time::Instant;
use support::median;

#[allow(dead_code)]
mod support;

use support::SALES_SPEC as SPEC;

/// The same cells by hand: labels, rows, value (shares are left to the reader).
fn by_hand(parquet: &Path) -> [String; 3] {
    let zone = "CASE WHEN region IN ('north', 'south') THEN 'north-south' \
                WHEN region IN ('east', 'west') THEN 'east-west' ELSE 'other' END";
    let ticket = "CASE WHEN revenue < 20 THEN '< 20' WHEN revenue < 50 THEN '20-50' \
                  WHEN revenue < 100 THEN '50-100' ELSE '>= 100' END";
    let src = format!("read_parquet('{}')", parquet.display());
    [
        format!("SELECT {zone} AS zone, count(*) AS rows, sum(revenue) AS value FROM {src} GROUP BY 1 ORDER BY 1"),
        format!("SELECT {zone} AS zone, {ticket} AS ticket, count(*) AS rows, sum(revenue) AS value FROM {src} GROUP BY 1, 2 ORDER BY 1, 2"),
        format!("SELECT {zone} AS zone, channel AS via, count(*) AS rows, sum(revenue) AS value FROM {src} GROUP BY GROUPING SETS ((1), (1, 2)) ORDER BY 1, 2 NULLS FIRST"),
    ]
}

/// Total rows and value over the leaf cells of a result whose label columns are
/// the first `labels` (then a level column, when `levels`).
fn totals(values: &[Vec<seg::check::program::Value>], labels: usize, levels: bool) -> (i64, f64) {
    use seg::check::program::Value;
    let rows_col = labels + usize::from(levels);
    values.iter().filter(|r| !levels || r[labels] == Value::Int(labels as i64)).fold(
        (0, 0.0),
        |(n, v), r| match (&r[rows_col], &r[rows_col + 1]) {
            (Value::Int(a), Value::Float(b)) => (n + a, v + b),
            _ => (n, v),
        },
    )
}

fn main() {
    let (rows, runs, dir) = support::rows_runs_dir("databases");
    let parquet = dir.join("sales.parquet");
    if !parquet.exists() {
        eprintln!("databases: generating {rows} rows in {}", dir.display());
        support::sales_parquet(&parquet, rows);
    }
    let (mut local, mut on, mut hand) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..runs {
        // seg run: open, check, run every segmentation.
        let started = Instant::now();
        let (_, s) = support::open(&dir, SPEC);
        let mine: Vec<_> = (0..s.program.segments.len())
            .map(|k| seg::engine::batches_to_values(&s.run_segment(k).expect("run")))
            .collect();
        local.push(started.elapsed().as_secs_f64());

        // seg run --on duckdb::memory: (planning and SQL writing included).
        let started = Instant::now();
        let (_, s) = support::open(&dir, SPEC);
        let mut db = Remote::connect(&Target::Duckdb(None)).expect("duckdb");
        let theirs: Vec<_> = (0..s.program.segments.len())
            .map(|k| {
                let b = db.run(&s.program, k, Dialect::Duckdb, &dir).expect("--on duckdb");
                seg::engine::batches_to_values(&b)
            })
            .collect();
        on.push(started.elapsed().as_secs_f64());

        // DuckDB's own SQL, by hand.
        let started = Instant::now();
        let conn = duckdb::Connection::open_in_memory().expect("duckdb");
        let mut counted = Vec::new();
        for (sql, labels) in by_hand(&parquet).iter().zip([1usize, 2, 2]) {
            let mut stmt = conn.prepare(sql).expect("prepare");
            let mut q = stmt.query([]).expect("query");
            let (mut n, mut v) = (0i64, 0f64);
            while let Some(r) = q.next().expect("row") {
                // Leaves only: the subtotal rows of the third have a null `via`.
                let leaf = !sql.contains("GROUPING SETS")
                    || r.get::<_, Option<String>>(1).expect("via").is_some();
                if leaf {
                    n += r.get::<_, i64>(labels).expect("rows");
                    v += r.get::<_, f64>(labels + 1).expect("value");
                }
            }
            counted.push((n, v));
        }
        hand.push(started.elapsed().as_secs_f64());

        // The checks: every route counts every row, and the values agree.
        for (k, (labels, levels)) in [(1, false), (2, false), (2, true)].into_iter().enumerate() {
            let (n, v) = totals(&mine[k], labels, levels);
            let (m, w) = totals(&theirs[k], labels, levels);
            assert_eq!(n, rows as i64, "seg run counted {n} rows in segmentation {k}");
            assert_eq!((n, mine[k].len()), (m, theirs[k].len()), "--on duckdb, segmentation {k}");
            assert!((v - w).abs() <= 1e-9 * v.abs(), "--on duckdb value {w} against {v}");
            assert_eq!(counted[k].0, n, "DuckDB by hand, segmentation {k}");
            assert!(
                (counted[k].1 - v).abs() <= 1e-9 * v.abs(),
                "by hand {} against {v}",
                counted[k].1
            );
        }
        eprintln!(
            "databases: run {}: seg run {:.2} s, --on duckdb {:.2} s, DuckDB by hand {:.2} s",
            i + 1,
            local[i],
            on[i],
            hand[i]
        );
    }
    let (l, o, h) = (median(local), median(on), median(hand));
    println!(
        "databases: {rows} rows, 3 segmentations, medians of {runs}: seg run {l:.2} s, --on duckdb {o:.2} s ({:.2}x seg run, {:.2}x DuckDB by hand), DuckDB by hand {h:.2} s",
        o / l,
        o / h
    );
}
