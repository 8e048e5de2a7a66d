//! seg-fuzz: a structure-aware, in-process mutation fuzzer over parse, check (MECE
//! analysis included) and every diagnostic rendering. It mutates real specs by
//! tokens of the language as well as by bytes, keeps inputs that reach a new set of
//! diagnostics as new seeds, and reports any panic and any input slower than the
//! limit. Crashes and slow inputs are saved to `--out` (by default `fuzz/found/`);
//! once fixed, they belong in `fuzz/corpus/`, which the test suite replays.
//!
//! `cargo run --release --bin seg-fuzz -- --runs 10000000 --threads 2`

mod target;

use seg::engine::gen::Rng;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use target::target;

/// Fragments a mutation splices in: the language's keywords and punctuation, and
/// the values that stress its edges (big numbers, odd text, hostile bytes).
const TOKENS: &[&str] = &[
    "market ",
    "dimension ",
    "segment ",
    "entity ",
    "expect ",
    "example ",
    " by ",
    " then ",
    " x ",
    " on ",
    " from ",
    " as ",
    " where ",
    " and ",
    " or ",
    " not ",
    " in ",
    " between ",
    " is ",
    " null",
    " partition",
    " rules ",
    " bins ",
    " top ",
    " quantiles ",
    " labels ",
    " else ",
    " columns ",
    " measure ",
    " measures ",
    " share of ",
    " closed left",
    " closed right",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=>",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "!=",
    "+",
    "-",
    "*",
    "/",
    "\"",
    "\"b2b\"",
    "\"\"",
    "#",
    "\n",
    ";",
    "_",
    "int",
    "float",
    "text",
    "bool",
    "date",
    "timestamp",
    "sum(",
    "count(",
    "avg(",
    "min(",
    "max(",
    "median(",
    "distinct ",
    "abs(",
    "lower(",
    "coalesce(",
    "year(",
    "rows",
    "share",
    "level",
    "share_of_parent",
    "0",
    "1",
    "-1",
    "2.5",
    "3.5",
    "1e308",
    "9223372036854775807",
    "9223372036854775808",
    "20%",
    "2024-01-01",
    "2024-02-30",
    "`a b`",
    "é",
    "\u{202E}",
    "\u{FEFF}",
    "\t",
    "\\",
    "\\q",
    "x.csv",
    "\"x.parquet\"",
    "age",
    "kg",
];

/// One to eight mutations of `seed`, sometimes spliced with `other`.
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(10) {
            0..=2 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            3 | 4 => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                if at < end {
                    v.drain(at..end);
                }
            }
            5 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let end = (at + 1 + rng.below(8)).min(v.len());
                v.splice(at..end.max(at), t.iter().copied());
            }
            6 if at < v.len() => v[at] ^= 1 << rng.below(8),
            6 => v.push(rng.next_u64() as u8),
            7 if !other.is_empty() => {
                // Splice a piece of another seed in: whole statements move about.
                let from = rng.below(other.len());
                let to = (from + 1 + rng.below(200)).min(other.len());
                v.splice(at..at, other[from..to].iter().copied());
            }
            8 if !v.is_empty() => {
                // Repeat a piece: deep nesting, long lists, many rules.
                let end = (at + 1 + rng.below(40)).min(v.len());
                let piece = v[at.min(end)..end].to_vec();
                for _ in 0..1 + rng.below(20) {
                    v.splice(at..at, piece.iter().copied());
                }
            }
            _ => {
                let end = (at + rng.below(8)).min(v.len());
                let b = rng.next_u64() as u8;
                v.splice(at..end, std::iter::once(b));
            }
        }
        if v.len() > 16 * 1024 {
            v.truncate(16 * 1024);
        }
    }
    v
}

fn seeds(dirs: &[PathBuf]) -> Vec<Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "seg") {
                if let Ok(b) = std::fs::read(&p) {
                    out.push(b);
                }
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(d, &mut out);
    }
    if out.is_empty() {
        out.push(b"market m from \"x.csv\" { columns { a int } }\n".to_vec());
    }
    out
}

fn name_of(bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{:016x}", h.finish())
}

struct Args {
    runs: u64,
    seconds: u64,
    threads: usize,
    limit: Duration,
    out: PathBuf,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args {
        runs: u64::MAX,
        seconds: u64::MAX,
        threads: 2,
        limit: Duration::from_secs(1),
        out: PathBuf::from("fuzz/found"),
        seed: 1,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let val = v.get(i + 1).cloned().unwrap_or_default();
        let num = || val.parse::<u64>().unwrap_or_else(|_| panic!("{} takes a number", v[i]));
        match v[i].as_str() {
            "--runs" => a.runs = num(),
            "--seconds" => a.seconds = num(),
            "--threads" => a.threads = num().max(1) as usize,
            "--limit-ms" => a.limit = Duration::from_millis(num()),
            "--seed" => a.seed = num().max(1),
            "--out" => a.out = PathBuf::from(&val),
            other => {
                eprintln!("seg-fuzz: unknown argument {other}\nusage: seg-fuzz [--runs N] [--seconds S] [--threads T] [--limit-ms MS] [--seed N] [--out DIR]");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    a
}

fn main() {
    let a = args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = Arc::new(Mutex::new(seeds(&[
        root.join("specs"),
        root.join("tests/cases"),
        root.join("fuzz/corpus"),
        root.join("benches"),
    ])));
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let runs = Arc::new(AtomicU64::new(0));
    let crashes = Arc::new(AtomicU64::new(0));
    let slow = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let slowest = Arc::new(Mutex::new((Duration::ZERO, Vec::new())));
    // A panic is a finding, not a reason to print a backtrace per input.
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(a.seconds.min(u64::MAX / 4));
    std::fs::create_dir_all(&a.out).ok();
    let workers: Vec<_> = (0..a.threads)
        .map(|t| {
            let (corpus, seen, runs, crashes, slow, stop, slowest) = (
                corpus.clone(),
                seen.clone(),
                runs.clone(),
                crashes.clone(),
                slow.clone(),
                stop.clone(),
                slowest.clone(),
            );
            let (limit, out, total, seed) = (a.limit, a.out.clone(), a.runs, a.seed);
            std::thread::Builder::new()
                .stack_size(seg::syntax::PARSE_STACK)
                .spawn(move || {
                    let mut rng = Rng(seed
                        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        .wrapping_add(t as u64 + 1)
                        | 1);
                    while !stop.load(Ordering::Relaxed) {
                        let n = runs.fetch_add(1, Ordering::Relaxed);
                        if n >= total || (n % 256 == 0 && Instant::now() > deadline) {
                            stop.store(true, Ordering::Relaxed);
                            break;
                        }
                        let input = {
                            let c = corpus.lock().unwrap();
                            let s = &c[rng.below(c.len())];
                            let o = &c[rng.below(c.len())];
                            mutate(&mut rng, s, o)
                        };
                        let t0 = Instant::now();
                        let result = std::panic::catch_unwind(|| target(&input));
                        let took = t0.elapsed();
                        {
                            let mut s = slowest.lock().unwrap();
                            if took > s.0 {
                                *s = (took, input.clone());
                            }
                        }
                        match result {
                            Err(_) => {
                                crashes.fetch_add(1, Ordering::Relaxed);
                                let _ = std::fs::write(
                                    out.join(format!("crash-{}.seg", name_of(&input))),
                                    &input,
                                );
                            }
                            Ok(_) if took > limit => {
                                slow.fetch_add(1, Ordering::Relaxed);
                                let _ = std::fs::write(
                                    out.join(format!("slow-{}.seg", name_of(&input))),
                                    &input,
                                );
                            }
                            Ok(sig) => {
                                if seen.lock().unwrap().insert(sig) {
                                    let mut c = corpus.lock().unwrap();
                                    if c.len() < 20_000 {
                                        c.push(input);
                                    }
                                }
                            }
                        }
                    }
                })
                .expect("spawn a fuzz worker")
        })
        .collect();
    // Progress every half minute, on standard error, for runs of hours.
    let (r, c, sl, st) = (runs.clone(), crashes.clone(), slow.clone(), stop.clone());
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(30));
        if st.load(Ordering::Relaxed) {
            break;
        }
        eprintln!(
            "seg-fuzz: {} executions, {} crashes, {} slow",
            r.load(Ordering::Relaxed),
            c.load(Ordering::Relaxed),
            sl.load(Ordering::Relaxed)
        );
    });
    for w in workers {
        let _ = w.join();
    }
    let n = runs.load(Ordering::Relaxed).min(a.runs);
    let secs = started.elapsed().as_secs_f64();
    let (worst, worst_input) = slowest.lock().unwrap().clone();
    let _ = std::fs::write(a.out.join("slowest.seg"), &worst_input);
    let (c, s) = (crashes.load(Ordering::Relaxed), slow.load(Ordering::Relaxed));
    println!(
        "seg-fuzz: {n} executions in {secs:.1} s ({:.0}/s), {} seeds, {c} crashes, {s} over {} ms, slowest {:.1} ms",
        n as f64 / secs.max(1e-9),
        corpus.lock().unwrap().len(),
        a.limit.as_millis(),
        worst.as_secs_f64() * 1000.0
    );
    if c + s > 0 {
        println!("seg-fuzz: inputs saved in {}", a.out.display());
        std::process::exit(1);
    }
}
