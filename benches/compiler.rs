//! Compiler speed: parse + check of a large spec, checking 1,000 specs in one
//! process, and the MECE analysis of 1,000-rule dimensions. `cargo bench --bench compiler`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

const MARKET: &str = "market m from \"x.csv\" {\n  columns { a int, b float, t text, flag bool }\n  where a is not null\n  measure s = sum(b)\n}\n";

/// A spec of about `bytes` bytes with many realistic dimensions.
fn large_spec(bytes: usize) -> String {
    let mut s = String::from(MARKET);
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            "dimension d{i} on m = rules {{\n  a > {i} and (b < {i}.5 or t in (\"x\", \"y\")) => \"L{i}\"\n  flag => \"F\"\n  else => \"o\"\n}}\nsegment s{i} = m by d{i}\n"
        ));
        i += 1;
    }
    s
}

/// One dimension with `n` rules: adjacent integer ranges (`first` matching).
fn ranges(n: usize, kind: &str) -> String {
    let mut s = String::from(MARKET);
    s.push_str(&format!("dimension d on m = {kind} {{\n"));
    s.push_str("  a < 0 => \"neg\"\n");
    for i in 0..n - 2 {
        s.push_str(&format!("  a >= {} and a < {} => \"r{i}\"\n", i * 10, i * 10 + 10));
    }
    s.push_str(&format!("  a >= {} => \"top\"\n}}\n", (n - 2) * 10));
    s
}

fn check(src: &str) -> usize {
    let parsed = seg::syntax::parse_str(src);
    let checked = seg::check::check(&parsed.program, &seg::check::NoData);
    parsed.diagnostics.len() + checked.diagnostics.len()
}

fn benches(c: &mut Criterion) {
    let big = large_spec(200_000);
    c.bench_function("parse+check 200 KB spec", |b| b.iter(|| black_box(check(&big))));

    let specs: Vec<String> = (0..1000).map(|i| large_spec(600 + (i % 7) * 150)).collect();
    c.bench_function("check 1,000 specs", |b| {
        b.iter(|| black_box(specs.iter().map(|s| check(s)).sum::<usize>()))
    });

    let rules = ranges(1000, "rules");
    let partition = ranges(1000, "partition");
    // Only the analysis, on an already checked program.
    for (name, src) in
        [("MECE: 1,000-rule rules", &rules), ("MECE: 1,000-rule partition", &partition)]
    {
        let parsed = seg::syntax::parse_str(src);
        let program = seg::check::check(&parsed.program, &seg::check::NoData)
            .program
            .expect("the generated spec checks");
        assert!(seg::check::mece::findings(&program, 0).expect("rules").proven);
        c.bench_function(name, |b| {
            b.iter(|| black_box(seg::check::mece::findings(&program, 0).map(|c| c.proven)))
        });
    }
}

criterion_group! {
    name = compiler;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(5));
    targets = benches
}
criterion_main!(compiler);
