//! Hostile input gets a diagnostic, never a panic or a hang; spans stay sane.

use super::support::*;
use seg::syntax::ast::*;
use seg::syntax::parse_bytes;

fn codes(bytes: &[u8]) -> Vec<&'static str> {
    parse_bytes(bytes).diagnostics.iter().map(|d| d.code.as_str()).collect()
}

#[test]
fn oversized_spec() {
    let big = "# filler\n".repeat(2 * 1024 * 1024 / 9);
    assert_eq!(codes(big.as_bytes()), vec!["E0001"]);
}

#[test]
fn deep_nesting() {
    let src =
        format!("market m from \"x.csv\" {{ where {}a{} }}\n", "(".repeat(65), ")".repeat(65));
    assert_eq!(codes(src.as_bytes()), vec!["E0004"]);
    let ok = format!("market m from \"x.csv\" {{ where {}a{} }}\n", "(".repeat(60), ")".repeat(60));
    assert!(codes(ok.as_bytes()).is_empty());
}

#[test]
fn long_line() {
    let src = format!("market m from \"{}.csv\"\n", "x".repeat(20_000));
    assert_eq!(codes(src.as_bytes()), vec!["E0003"]);
}

#[test]
fn invalid_utf8() {
    let mut src = b"market m from \"x.csv\"\n# \xff\xfe\n".to_vec();
    src.extend_from_slice(b"segment m by d\n");
    let parsed = parse_bytes(&src);
    assert_eq!(parsed.diagnostics[0].code, seg::diagnostic::Code::E0002);
    let span = parsed.diagnostics[0].labels[0].span;
    assert!(span.end as usize <= parsed.text.len());
}

#[test]
fn bidi_outside_comments_only() {
    let bad = "dimension d on m = rules { region = \"eu\u{202E}\" => \"x\" }\n";
    assert_eq!(codes(bad.as_bytes()), vec!["E0005"]);
    let fine = "# a comment may hold \u{202E} text\nmarket m from \"x.csv\"\n";
    assert!(codes(fine.as_bytes()).is_empty());
}

#[test]
fn nested_calls_do_not_backtrack_exponentially() {
    // Unclosed nested calls used to cost 2^depth; now they fail fast.
    let src = format!("market m from \"x.csv\" {{ where {}x }}\n", "f(".repeat(60));
    let started = std::time::Instant::now();
    let c = codes(src.as_bytes());
    assert!(c == vec!["E0101"] || c == vec!["E0006"], "{c:?}");
    // A generous bound that only a hang would break.
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn random_bytes_never_panic() {
    use proptest::prelude::*;
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 300,
        ..Default::default()
    });
    let keywords = prop::sample::select(vec![
        "market ",
        "dimension ",
        "segment ",
        "entity ",
        "expect ",
        "example ",
        "by ",
        "then ",
        " x ",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "\"",
        "=>",
        "=",
        "rules",
        "partition",
        "bins",
        "top 3",
        "quantiles",
        "where",
        "and",
        "or",
        "not",
        "in",
        "between",
        "null",
        "1",
        "2.5",
        "20%",
        "2024-01-01",
        "a",
        "b",
        "\n",
        ";",
        ",",
        "#",
        "`x y`",
        "é",
        "\u{202E}",
    ]);
    runner
        .run(&prop::collection::vec(keywords, 0..60), |parts| {
            let src = parts.concat();
            let parsed = parse_bytes(src.as_bytes());
            for d in &parsed.diagnostics {
                for l in &d.labels {
                    prop_assert!(l.span.start <= l.span.end);
                }
            }
            let _ = seg::check::check(&parsed.program, &seg::check::NoData);
            Ok(())
        })
        .unwrap();
}

struct Spans<'a> {
    len: u32,
    errors: Vec<String>,
    _src: &'a str,
}

impl Spans<'_> {
    fn within(&mut self, parent: seg::span::Span, child: seg::span::Span, what: &str) {
        if !parent.contains(child) || child.end > self.len {
            self.errors.push(format!("{what}: {child:?} outside {parent:?}"));
        }
    }

    fn expr(&mut self, parent: seg::span::Span, e: &Expr) {
        self.within(parent, e.span, "expression");
        let s = e.span;
        match &e.kind {
            ExprKind::Lit(_) => {}
            ExprKind::Name(id) => self.within(s, id.span, "name"),
            ExprKind::Neg(x) | ExprKind::Not(x) | ExprKind::IsNull { expr: x, .. } => {
                self.expr(s, x)
            }
            ExprKind::Binary { lhs, rhs, op_span, .. } => {
                self.expr(s, lhs);
                self.expr(s, rhs);
                self.within(s, *op_span, "operator");
            }
            ExprKind::Between { expr, low, high, .. } => {
                self.expr(s, expr);
                self.expr(s, low);
                self.expr(s, high);
            }
            ExprKind::Like { expr, pattern, .. } => {
                self.expr(s, expr);
                self.expr(s, pattern);
            }
            ExprKind::InList { expr, list, .. } => {
                self.expr(s, expr);
                list.iter().for_each(|x| self.expr(s, x));
            }
            ExprKind::Call { func, args, filter, .. } => {
                self.within(s, func.span, "function");
                args.iter().chain(filter.as_deref()).for_each(|x| self.expr(s, x));
            }
        }
    }
}

/// Parents enclose children, and everything lies within the source.
#[test]
fn spans_are_sane() {
    let mut files = files_with_ext(&root().join("specs"), "seg");
    files.extend(files_with_ext(&root().join("tests/cases/check"), "seg"));
    files.extend(files_with_ext(&root().join("tests/cases/run"), "seg"));
    let mut all_errors = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let parsed = parse_bytes(&bytes);
        let mut v = Spans { len: parsed.text.len() as u32, errors: Vec::new(), _src: &parsed.text };
        for d in &parsed.diagnostics {
            for l in &d.labels {
                if l.span.end > v.len {
                    v.errors.push(format!("diagnostic label {:?} past the end", l.span));
                }
            }
        }
        for item in &parsed.program.items {
            let s = item.span;
            v.within(seg::span::Span::new(0, v.len as usize), s, "statement");
            match &item.kind {
                ItemKind::Table(t) => {
                    v.within(s, t.name.span, "table name");
                    v.within(s, t.source.span, "table source");
                    t.key.iter().for_each(|k| v.within(s, k.span, "table key"));
                }
                ItemKind::Market(m) => {
                    v.within(s, m.name.span, "market name");
                    v.within(s, m.source.span, "market source");
                    for j in &m.joins {
                        v.within(s, j.span, "join");
                        v.within(j.span, j.table.span, "joined table");
                        v.within(j.span, j.column.span, "join column");
                    }
                    m.filters.iter().for_each(|e| v.expr(s, e));
                    for md in &m.measures {
                        v.within(s, md.span, "measure");
                        v.expr(md.span, &md.expr);
                    }
                }
                ItemKind::Entity(e) => {
                    v.within(s, e.key.span, "entity key");
                    for f in &e.features {
                        v.within(s, f.span, "feature");
                        v.expr(f.span, &f.expr);
                    }
                }
                ItemKind::Dimension(d) => {
                    v.within(s, d.name.span, "dimension name");
                    match &d.body {
                        DimBody::Column(e, _) => v.expr(s, e),
                        DimBody::Top { expr, span, .. } | DimBody::Quantiles { expr, span, .. } => {
                            v.within(s, *span, "dimension body");
                            v.expr(*span, expr);
                        }
                        DimBody::Mapping { expr, arms, span, .. } => {
                            v.within(s, *span, "dimension body");
                            v.expr(*span, expr);
                            for a in arms {
                                v.within(*span, a.span, "mapping arm");
                                a.values
                                    .iter()
                                    .for_each(|c| v.within(a.span, c.span, "mapped value"));
                                v.within(a.span, a.label.span, "label");
                            }
                        }
                        DimBody::Rules { arms, span, .. } => {
                            v.within(s, *span, "dimension body");
                            for a in arms {
                                v.within(*span, a.span, "rule");
                                v.expr(a.span, &a.cond);
                            }
                        }
                        DimBody::Pareto { expr, cuts, cuts_span, span, .. } => {
                            v.within(s, *span, "dimension body");
                            v.expr(*span, expr);
                            cuts.iter().for_each(|c| v.within(*cuts_span, c.span, "cut point"));
                        }
                        DimBody::Bins { expr, cuts, cuts_span, span, .. } => {
                            v.within(s, *span, "dimension body");
                            v.expr(*span, expr);
                            cuts.iter().for_each(|c| v.within(*cuts_span, c.span, "cut point"));
                        }
                    }
                }
                ItemKind::Segment(seg) => {
                    v.within(s, seg.span, "segmentation");
                    seg.dims.iter().for_each(|d| v.within(seg.span, d.span, "dimension reference"));
                    seg.filters.iter().for_each(|e| v.expr(seg.span, e));
                }
                ItemKind::Expect(Expect::Assert(e)) => v.expr(s, e),
                ItemKind::Expect(Expect::Partition { segment }) => {
                    v.within(s, segment.span, "segment")
                }
                ItemKind::Example(ex) => ex.fields.iter().for_each(|(n, c)| {
                    v.within(s, n.span, "field");
                    v.within(s, c.span, "value");
                }),
            }
        }
        all_errors.extend(v.errors.into_iter().map(|e| format!("{}: {e}", f.display())));
    }
    finish(all_errors);
}

#[test]
fn float_sums_are_exact_in_any_order() {
    use seg::lower::exact::sum_chunks;
    let xs = [0.1, 1e16, 0.2, -1e16, 0.3, 1e-300, 17.25, 3.0e10, -0.7, 16.82, 4.4];
    let want = sum_chunks(&[&xs]);
    let mut r = xs.to_vec();
    for k in 0..200 {
        let n = r.len();
        r.rotate_left(k % n);
        r.swap(0, (k * 7) % n);
        let cut = k % n;
        let (a, b) = r.split_at(cut);
        assert_eq!(sum_chunks(&[a, b]).to_bits(), want.to_bits(), "order {r:?} cut at {cut}");
    }
    assert_eq!(sum_chunks(&[&[0.1; 10]]), 1.0);
    assert_eq!(sum_chunks(&[&[1e100, 1.0, -1e100]]), 1.0);
    assert_eq!(sum_chunks(&[&[f64::MAX], &[f64::MAX]]), f64::INFINITY);
    assert!(sum_chunks(&[&[f64::INFINITY, f64::NEG_INFINITY]]).is_nan());
}

#[path = "../../fuzz/target.rs"]
mod fuzz_target;

/// Every input the fuzzer (or the hostile-input campaign) found that once crashed or
/// hung seg, replayed through the fuzz target itself.
#[test]
fn fuzz_corpus_replays_cleanly() {
    let corpus = files_with_ext(&root().join("fuzz/corpus"), "seg");
    assert!(corpus.len() >= 5, "the committed corpus is missing");
    let worker =
        std::thread::Builder::new().stack_size(seg::syntax::PARSE_STACK).spawn(move || {
            for path in corpus {
                let bytes = std::fs::read(&path).unwrap();
                let started = std::time::Instant::now();
                let outcome = std::panic::catch_unwind(|| fuzz_target::target(&bytes));
                assert!(outcome.is_ok(), "{} panics", path.display());
                // Generous for a debug build: only a hang or an exponential blow-up fails.
                assert!(
                    started.elapsed().as_secs() < 30,
                    "{} took {:?}",
                    path.display(),
                    started.elapsed()
                );
            }
        });
    worker.unwrap().join().unwrap();
}

/// The exact float sum of one group (no GROUP BY), which adds in four interleaved
/// sums, gives the bits of `sum_chunks` for every length and order.
#[test]
fn ungrouped_float_sums_are_exact_in_any_order() {
    use arrow::array::Float64Array;
    use arrow::record_batch::RecordBatch;
    use datafusion::prelude::{col, SessionContext};
    use seg::lower::exact::{float_sum, sum_chunks};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let xs = [0.1, 1e16, 0.2, -1e16, 0.3, 1e-300, 17.25, 3.0e10, -0.7, 16.82, 4.4, 1e100, -1e100];
    for n in 1..=xs.len() {
        for k in 0..n {
            let mut r = xs[..n].to_vec();
            r.rotate_left(k);
            let want = sum_chunks(&[&r]);
            let batch = RecordBatch::try_from_iter([(
                "x",
                std::sync::Arc::new(Float64Array::from(r.clone())) as arrow::array::ArrayRef,
            )])
            .unwrap();
            let got = rt.block_on(async {
                let ctx = SessionContext::new();
                let df = ctx.read_batch(batch).unwrap();
                let out = df
                    .aggregate(vec![], vec![float_sum(col("x"))])
                    .unwrap()
                    .collect()
                    .await
                    .unwrap();
                let a = out[0].column(0).as_any().downcast_ref::<Float64Array>().unwrap().value(0);
                a
            });
            assert_eq!(got.to_bits(), want.to_bits(), "{r:?}");
        }
    }
}

/// Bins count the cuts below a value (few cuts on SIMD lanes, many by binary search)
/// in IEEE total order, as the CASE form compares: NaN above every cut, -NaN below,
/// -0 below 0, values on a cut in the bin the closing side says.
#[test]
fn float_bins_count_cuts_in_total_order() {
    use seg::lower::codes::{bin_positions, total_key};
    let values = [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1.5,
        -1.5,
        f64::MIN_POSITIVE,
        f64::MAX,
        2.0,
        1e-310,
    ];
    let few = [-1.5, 0.0, 1.5, 2.0];
    let many: Vec<f64> = (-20..20).map(|i| f64::from(i) * 0.25).collect();
    for cuts in [&few[..], &many[..]] {
        for closed_right in [false, true] {
            let keys: Vec<i64> = values.iter().map(|x| total_key(*x)).collect();
            let cut_keys: Vec<i64> = cuts.iter().map(|x| total_key(*x)).collect();
            let got = bin_positions(&keys, &cut_keys, closed_right);
            for (x, g) in values.iter().zip(&got) {
                let want = cuts
                    .iter()
                    .filter(|c| match c.total_cmp(x) {
                        std::cmp::Ordering::Less => true,
                        std::cmp::Ordering::Equal => !closed_right,
                        std::cmp::Ordering::Greater => false,
                    })
                    .count() as i64;
                assert_eq!(*g, want, "{x:?} in {cuts:?}, closed right {closed_right}");
            }
        }
    }
}

/// Rows passed through a grouping unaggregated (millions of groups) become one exact
/// sum state each, built directly; merged, they give the bits and the count of the
/// value-by-value sum, with zeros of both signs, NaN, infinities, subnormals, values
/// whose sum overflows, nulls and rows a `where` leaves out.
#[test]
fn float_states_of_single_rows_merge_exactly() {
    use seg::lower::exact::{sum_chunks, sum_passed_through};
    let specials = [
        0.0,
        -0.0,
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 4.0,
        -5e-324,
        f64::MAX,
        1e16,
        1.0,
        -1.0,
        0.1,
    ];
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for case in 0..200usize {
        let len = case % 37;
        let mut xs = Vec::new();
        let mut keep = Vec::new();
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = specials[(state % specials.len() as u64) as usize];
            xs.push((!(state >> 20).is_multiple_of(5)).then_some(x));
            keep.push(!(state >> 30).is_multiple_of(4));
        }
        let kept: Vec<f64> = xs.iter().zip(&keep).filter_map(|(x, k)| x.filter(|_| *k)).collect();
        let (sum, count) = sum_passed_through(&xs, &keep);
        let want = sum_chunks(&[&kept]);
        assert_eq!(sum.to_bits(), want.to_bits(), "case {case}: {xs:?} {keep:?}");
        assert_eq!(count, kept.len() as u64, "case {case}");
    }
    // Finite values that overflow beside an infinity of the same sign: a plain sum's
    // +inf, however the values are split into states (the overflow once left a NaN
    // in the words handed on, and the merged sum was NaN).
    let xs = [0.1, 1.0, 1e16, f64::MAX, f64::INFINITY, f64::MAX];
    assert_eq!(sum_chunks(&[&xs]), f64::INFINITY);
    assert_eq!(sum_chunks(&[&xs[..4], &xs[4..]]), f64::INFINITY);
    let rows: Vec<Option<f64>> = xs.iter().copied().map(Some).collect();
    assert_eq!(sum_passed_through(&rows, &[true; 6]).0, f64::INFINITY);
}

/// Blocks summed by extraction give the bits of the value-by-value exact sum on values built
/// to sit on their edges: spans of binary orders either side of the 63 a block
/// allows, subnormals, signed zeros, orders near overflow, and blocks cut anywhere.
#[test]
fn float_blocks_by_extraction_are_exact() {
    use seg::lower::exact::{sum_chunks, sum_groups, sum_slice};
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let cases: usize =
        std::env::var("SEG_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    for case in 0..cases {
        let center = match case % 5 {
            0 => 1023 + (next() % 40) as i64,
            1 => 1 + (next() % 70) as i64,
            2 => 1850 + (next() % 190) as i64,
            _ => (next() % 2046) as i64 + 1,
        };
        // Some blocks are one sign and one binary order: their parts add up to the
        // most a level's grid must hold.
        let narrow = case % 4 == 3 || case % 7 == 6;
        let span = if narrow { 0 } else { 58 + (next() % 10) as i64 };
        let one_sign = next() & (1 << 63);
        let len = [1, 2, 1023, 1024, 1025, 2500, 8193][case % 7];
        let xs: Vec<f64> = (0..len)
            .map(|_| match next() % if narrow { 1000 } else { 50 } {
                0 => 0.0,
                1 => -0.0,
                2 => f64::from_bits(next() & ((1 << 52) - 1)),
                _ => {
                    let e =
                        (center + (next() % (span as u64 + 1)) as i64 - span / 2).clamp(0, 2046);
                    let sign = if narrow { one_sign } else { next() & (1 << 63) };
                    f64::from_bits(sign | (e as u64) << 52 | (next() & ((1 << 52) - 1)))
                }
            })
            .collect();
        let want = sum_chunks(&[&xs]);
        assert_eq!(sum_slice(&xs).to_bits(), want.to_bits(), "case {case}: {xs:?}");
        // The same values over a few groups, in runs and scattered.
        let total = 1 + (next() % if narrow { 2 } else { 7 }) as usize;
        let groups: Vec<usize> = (0..len)
            .map(|i| if case % 2 == 0 { i * total / len } else { (next() % total as u64) as usize })
            .collect();
        let got = sum_groups(&groups, &xs, total);
        for (g, got) in got.iter().enumerate() {
            let mine: Vec<f64> =
                xs.iter().zip(&groups).filter(|(_, h)| **h == g).map(|(x, _)| *x).collect();
            let want = sum_chunks(&[&mine]);
            assert_eq!(got.to_bits(), want.to_bits(), "case {case} group {g}: {mine:?}");
        }
    }
    // A full block near the top of each span, with one value at its bottom: two
    // and three levels of extraction.
    for span in 60..=68u64 {
        let top = f64::from_bits(((1023 + span) << 52) | ((1 << 52) - 1));
        let mut xs = vec![top; 1024];
        xs[0] = 1.0;
        assert_eq!(sum_slice(&xs).to_bits(), sum_chunks(&[&xs]).to_bits(), "span {span}");
    }
    let exact = |xs: &[f64]| sum_slice(xs).to_bits();
    assert_eq!(exact(&[0.1; 10]), 1.0f64.to_bits());
    assert_eq!(exact(&[1.0, 2f64.powi(-63), -1.0]), 2f64.powi(-63).to_bits());
    assert_eq!(exact(&[1.0, 2f64.powi(-64), -1.0]), 2f64.powi(-64).to_bits());
    assert_eq!(
        exact(&[f64::MIN_POSITIVE / 4.0, 3e-308, -3e-308]),
        (f64::MIN_POSITIVE / 4.0).to_bits()
    );
    assert_eq!(exact(&[f64::MAX, f64::MAX]), f64::INFINITY.to_bits());
    assert!(sum_slice(&[1.0, f64::NAN]).is_nan());
    let g = sum_groups(&[0, 0, 1, 1], &[1.0, f64::NAN, 0.1, 0.2], 2);
    assert!(g[0].is_nan());
    assert_eq!(g[1].to_bits(), sum_chunks(&[&[0.1, 0.2]]).to_bits());
    let g = sum_groups(&[0, 1, 1, 0], &[f64::INFINITY, 0.5, 0.25, 1.0], 2);
    assert_eq!(g, vec![f64::INFINITY, 0.75]);
}
