//! Property test: random specs (every dimension kind, nulls, empty strings, boundary
//! values, unicode) over random data give the same results on DataFusion as on the
//! row-by-row reference evaluator. `SEG_PROPTEST_CASES` sets the number of cases.

use proptest::prelude::*;
use seg::check::program::Value;
use seg::engine::paths::PathPolicy;
use seg::engine::session::{Session, SessionOptions};
use seg::engine::{load_bytes, LoadOptions};
use seg::reference::segment::{diff, rows_from_values, run_segment, Table};
use std::sync::Arc;

const TEXTS: [&str; 9] = ["", "a", "b", "B", "é", "日本", "x y", "cafe", "cafe "];
const CUTS: [i64; 6] = [0, 10, 25, 26, 50, 75];

#[derive(Clone, Debug)]
struct Data {
    rows: Vec<(Option<i64>, Option<f64>, Option<String>, Option<i64>, Option<bool>)>,
}

fn data() -> impl Strategy<Value = Data> {
    let a = prop_oneof![1 => Just(None), 3 => prop::sample::select(CUTS.to_vec()).prop_map(Some), 4 => (-5i64..100).prop_map(Some)];
    let b = prop_oneof![1 => Just(None), 6 => (-40i64..2000).prop_map(|q| Some(q as f64 * 0.25))];
    let t = prop_oneof![1 => Just(None), 6 => prop::sample::select(TEXTS.to_vec()).prop_map(|s| Some(s.to_string()))];
    let k = prop_oneof![1 => Just(None), 6 => (1i64..9).prop_map(Some)];
    let f = prop_oneof![1 => Just(None), 3 => any::<bool>().prop_map(Some)];
    prop::collection::vec((a, b, t, k, f), 0..50).prop_map(|rows| Data { rows })
}

fn row_cond() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a < 10", "a <= 25", "a >= 25", "a > 50", "a = 26", "a != 0", "b between 0 and 50", "b < 0", "b >= 100",
        "t in (\"a\", \"b\")", "t not in (\"a\", \"é\")", "t = \"\"", "a is null", "t is not null", "flag", "not flag",
        "b > 100 and a < 50", "a < 5 or t = \"B\"", "length(t) > 1", "lower(t) = \"b\"", "a + 1 > 20", "b / 2 < 10",
        "coalesce(a, 0) = 0", "upper(trim(t)) = \"CAFE\"", "abs(b) > 3", "round(b) = 10",
    ])
    .prop_map(str::to_string)
}

fn entity_cond() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["cnt >= 3", "cnt = 1", "spend > 100", "spend / cnt < 20", "spend is null", "cnt > 1 and spend < 50"])
        .prop_map(str::to_string)
}

fn label() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["L1", "L2", "L3", "ünï", "", "x y"]).prop_map(str::to_string)
}

fn rules(cond: BoxedStrategy<String>, kw: &'static str) -> BoxedStrategy<String> {
    (prop::collection::vec((cond, label()), 1..4), prop::option::of(label()))
        .prop_map(move |(arms, els)| {
            let mut s = format!("{kw} {{\n");
            for (c, l) in arms {
                s.push_str(&format!("  {c} => {l:?}\n"));
            }
            if let Some(e) = els {
                s.push_str(&format!("  else => {e:?}\n"));
            }
            s.push('}');
            s
        })
        .boxed()
}

/// A dimension body on market `m` (`entity` false) or on entity `e`.
fn dim_body() -> impl Strategy<Value = (bool, String)> {
    let mapping = (prop::collection::vec((prop::sample::subsequence(TEXTS.to_vec(), 1..3), label()), 1..3), prop::option::of(label())).prop_map(|(arms, els)| {
        let mut seen: Vec<&str> = Vec::new();
        let mut s = String::from("t {\n");
        for (vals, l) in arms {
            let fresh: Vec<&str> = vals.into_iter().filter(|v| !seen.contains(v)).collect();
            if fresh.is_empty() {
                continue;
            }
            seen.extend(fresh.iter());
            let vs: Vec<String> = fresh.iter().map(|v| format!("{v:?}")).collect();
            s.push_str(&format!("  {} => {l:?}\n", vs.join(", ")));
        }
        if let Some(e) = els {
            s.push_str(&format!("  else => {e:?}\n"));
        }
        s.push('}');
        s
    });
    let bins = (prop::sample::subsequence(CUTS.to_vec(), 1..4), any::<bool>(), any::<bool>()).prop_map(|(cuts, right, on_b)| {
        let cs: Vec<String> = cuts.iter().map(|c| c.to_string()).collect();
        format!("bins {} [{}]{}", if on_b { "b" } else { "a" }, cs.join(", "), if right { " closed right" } else { "" })
    });
    prop_oneof![
        Just((false, "t".to_string())),
        Just((false, "a".to_string())),
        (1u64..4).prop_map(|n| (false, format!("top {n} t else \"other\""))),
        (1u64..3).prop_map(|n| (false, format!("top {n} a"))),
        mapping.prop_map(|s| (false, s)),
        rules(row_cond().boxed(), "rules").prop_map(|s| (false, s)),
        rules(row_cond().boxed(), "partition").prop_map(|s| (false, s)),
        bins.prop_map(|s| (false, s)),
        (2u64..5).prop_map(|n| (false, format!("quantiles b {n}"))),
        rules(entity_cond().boxed(), "rules").prop_map(|s| (true, s)),
        (2u64..4).prop_map(|n| (true, format!("quantiles spend {n}"))),
        (1u64..3).prop_map(|n| (true, format!("top {n} cnt"))),
    ]
}

#[derive(Clone, Debug)]
struct Case {
    spec: String,
    data: Data,
    threads: usize,
    batch: usize,
    ipc: bool,
}

fn case() -> impl Strategy<Value = Case> {
    let seg_where = prop::option::of(prop::sample::select(vec!["a > 5", "t != \"a\"", "b < 300 or flag"]));
    let market_where = prop::option::of(prop::sample::select(vec!["a > -3 or a is null", "b is not null"]));
    (
        prop::collection::vec(dim_body(), 1..4),
        any::<bool>(),
        seg_where,
        market_where,
        prop::option::of(prop::sample::select(vec!["s", "n", "u", "r", "md"])),
        data(),
        1usize..5,
        1usize..64,
        any::<bool>(),
    )
        .prop_map(|(dims, then, sw, mw, share, data, threads, batch, ipc)| {
            let mut spec = format!(
                "market m from \"data.{}\" {{\n  columns {{ a int, b float, t text, k int, flag bool }}\n",
                if ipc { "arrow" } else { "parquet" }
            );
            if let Some(w) = mw {
                spec.push_str(&format!("  where {w}\n"));
            }
            spec.push_str("  measure s = sum(b)\n  measure n = count(a)\n  measure u = count(distinct t)\n  measure av = avg(b)\n  measure md = median(b)\n  measure lo = min(a)\n  measure hi = max(b)\n  measure r = s / n\n  measure sa = sum(a) + n\n}\n");
            spec.push_str("entity e of m by k {\n  cnt = count()\n  spend = sum(b)\n}\n");
            let mut names = Vec::new();
            for (i, (on_entity, body)) in dims.iter().enumerate() {
                spec.push_str(&format!("dimension d{i} on {} = {body}\n", if *on_entity { "e" } else { "m" }));
                names.push(format!("d{i}"));
            }
            let op = if then { " then " } else { " x " };
            spec.push_str(&format!("segment s0 = m by {}", names.join(op)));
            if let Some(w) = sw {
                spec.push_str(&format!(" where {w}"));
            }
            if let Some(m) = share {
                spec.push_str(&format!(" share of {m}"));
            }
            spec.push('\n');
            Case { spec, data, threads, batch, ipc }
        })
}

fn write_data(dir: &std::path::Path, d: &Data, ipc: bool) {
    use arrow::array::*;
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Float64, true),
        Field::new("t", DataType::Utf8, true),
        Field::new("k", DataType::Int64, true),
        Field::new("flag", DataType::Boolean, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(d.rows.iter().map(|r| r.0).collect::<Vec<_>>())),
        Arc::new(Float64Array::from(d.rows.iter().map(|r| r.1).collect::<Vec<_>>())),
        Arc::new(StringArray::from(d.rows.iter().map(|r| r.2.clone()).collect::<Vec<_>>())),
        Arc::new(Int64Array::from(d.rows.iter().map(|r| r.3).collect::<Vec<_>>())),
        Arc::new(BooleanArray::from(d.rows.iter().map(|r| r.4).collect::<Vec<_>>())),
    ];
    let batch = arrow::record_batch::RecordBatch::try_new(schema.clone(), cols).unwrap();
    if ipc {
        let f = std::fs::File::create(dir.join("data.arrow")).unwrap();
        let mut w = arrow::ipc::writer::FileWriter::try_new(f, &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
    } else {
        let f = std::fs::File::create(dir.join("data.parquet")).unwrap();
        let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(f, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
}

fn reference_table(d: &Data) -> Table {
    let opt = |v: Option<Value>| v.unwrap_or(Value::Null);
    Table {
        columns: ["a", "b", "t", "k", "flag"].iter().map(|s| s.to_string()).collect(),
        rows: d
            .rows
            .iter()
            .map(|r| {
                vec![
                    opt(r.0.map(Value::Int)),
                    opt(r.1.map(Value::Float)),
                    opt(r.2.clone().map(Value::Text)),
                    opt(r.3.map(Value::Int)),
                    opt(r.4.map(Value::Bool)),
                ]
            })
            .collect(),
    }
}

fn check_case(c: &Case) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write_data(dir.path(), &c.data, c.ipc);
    let spec_path = dir.path().join("p.seg");
    let spec = load_bytes(&spec_path, "p.seg", c.spec.as_bytes(), &LoadOptions { no_data: false, policy: PathPolicy { allow_outside: false } });
    let errors: Vec<String> = spec.diagnostics.iter().filter(|d| d.is_error()).map(|d| format!("{}: {}", d.code, d.message)).collect();
    prop_assert!(errors.is_empty(), "generated spec does not check: {errors:?}\n{}", c.spec);
    let program = spec.program.clone().unwrap();
    let expected = run_segment(&program, 0, &[reference_table(&c.data)]);
    let session = Session::new(program, dir.path(), &SessionOptions { threads: Some(c.threads), batch_size: Some(c.batch), ..Default::default() })
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let batches = session.run_segment(0).map_err(|e| TestCaseError::fail(format!("{e}\n{}", c.spec)))?;
    let sd = &session.program.segments[0];
    let actual = rows_from_values(sd.dims.len(), sd.mode == seg::check::program::SegMode::Then, &seg::engine::batches_to_values(&batches));
    if let Some(d) = diff(&expected, &actual) {
        return Err(TestCaseError::fail(format!("{d}\nspec:\n{}\ndata: {:?}", c.spec, c.data)));
    }
    Ok(())
}

#[test]
fn engine_matches_reference_evaluator() {
    let cases = std::env::var("SEG_PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(256);
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    runner.run(&case(), |c| check_case(&c)).unwrap();
}

