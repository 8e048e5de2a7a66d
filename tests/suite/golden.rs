//! Golden cases: `tests/cases/check/*.seg` (diagnostics), `tests/cases/run/*.seg`
//! (result tables) and every spec in `specs/`, each with its expected output beside it.

use super::support::*;
use seg::check::program::Checked;
use seg::diagnostic::Renderer;
use seg::driver::{LoadOptions, SpecFile};
use seg::engine::paths::PathPolicy;
use seg::engine::session::{Session, SessionOptions};
use std::path::Path;
use std::sync::Arc;

pub fn load(path: &Path) -> Arc<SpecFile> {
    let bytes = std::fs::read(path).expect("read case");
    let no_data = String::from_utf8_lossy(&bytes).contains("# seg-test: no-data");
    let shown = path.strip_prefix(root()).unwrap_or(path).display().to_string();
    // As `seg check` runs it: with data, drift from a lock file beside the case.
    let driver = seg::driver::Driver::new(LoadOptions {
        no_data,
        policy: PathPolicy { allow_outside: false },
        sources: Default::default(),
        // Specs that read `today()` (RFM recency) are recorded as of one date.
        as_of: seg::calendar::parse_date("2025-01-01"),
        no_lock: false,
        database: None,
    });
    driver.with_data_checks(driver.analyse(path, &shown, &bytes))
}

pub fn render_diagnostics(spec: &SpecFile) -> String {
    let r = Renderer { color: false, width: 100 };
    let mut out = String::new();
    for d in &spec.diagnostics {
        out.push_str(&r.render(d, &spec.display, &spec.text));
    }
    out.push_str("--- json\n");
    for d in &spec.diagnostics {
        out.push_str(&d.to_json(&spec.display, &spec.text).to_string());
        out.push('\n');
    }
    out
}

#[test]
fn check_cases() {
    ensure_fixtures();
    let mut failures = Vec::new();
    let dir = root().join("tests/cases/check");
    for case in files_with_ext(&dir, "seg") {
        let spec = load(&case);
        golden(&case.with_extension("out"), &render_diagnostics(&spec), &mut failures);
    }
    finish(failures);
}

/// Runs every segmentation of a checked spec, as `seg run --format csv` prints it.
pub fn run_all(program: Checked, dir: &Path) -> String {
    let session =
        Session::new(program, dir, &SessionOptions { threads: Some(2), ..Default::default() })
            .expect("session");
    let mut out = String::new();
    for (i, s) in session.program.segments.iter().enumerate() {
        let batches = session.run_segment(i).unwrap_or_else(|e| panic!("segment {}: {e}", s.name));
        out.push_str(&format!("# segment {}\n", s.name));
        out.push_str(&String::from_utf8(seg::engine::output::to_csv(&batches).unwrap()).unwrap());
    }
    out
}

#[test]
fn run_cases() {
    ensure_fixtures();
    let mut failures = Vec::new();
    for case in files_with_ext(&root().join("tests/cases/run"), "seg") {
        let spec = load(&case);
        let out = match spec.program.clone() {
            Some(p) => run_all(p, &spec.dir()),
            None => render_diagnostics(&spec),
        };
        golden(&case.with_extension("out"), &out, &mut failures);
    }
    finish(failures);
}

#[test]
fn specs_check_clean_and_run_as_recorded() {
    let mut failures = Vec::new();
    let specs = files_with_ext(&root().join("specs"), "seg");
    assert!(specs.len() >= 6, "specs/ holds the six example specs");
    for spec_path in specs {
        let spec = load(&spec_path);
        if !spec.diagnostics.is_empty() {
            failures.push(format!(
                "{} has diagnostics:\n{}",
                spec.display,
                render_diagnostics(&spec)
            ));
            continue;
        }
        let out = run_all(spec.program.clone().expect("checked"), &spec.dir());
        let name = spec_path.file_stem().unwrap().to_string_lossy().to_string();
        golden(&root().join("tests/cases/specs").join(format!("{name}.out")), &out, &mut failures);
    }
    finish(failures);
}

/// Hostile inputs are made here (a 2 MiB spec is not worth committing) and their
/// rendered diagnostics compared with `tests/cases/hostile/*.out`.
#[test]
fn hostile_cases() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("E0001_too_large", "# filler line\n".repeat(150_000).into_bytes()),
        ("E0002_invalid_utf8", b"market m from \"caf\xe9.csv\"\n".to_vec()),
        ("E0003_long_line", format!("market m from \"x.csv\" {{ where a in ({}) }}\n", vec!["1"; 6000].join(", ")).into_bytes()),
        ("E0004_too_deep", format!("market m from \"x.csv\" {{ where {}a > 1{} }}\n", "(".repeat(65), ")".repeat(65)).into_bytes()),
        ("E0007_too_many_operands", format!("market m from \"x.csv\" {{ columns {{ a int }}\n where {}\n}}\n", (0..1200).map(|i| format!("a = {i}")).collect::<Vec<_>>().join("\n or ")).into_bytes()),
        ("E0005_bidi", "market m from \"x.csv\" { columns { a text } }\ndimension d on m = rules { a = \"admin\u{202E} \u{2066}\" => \"x\" }\n".as_bytes().to_vec()),
    ];
    let mut failures = Vec::new();
    let dir = root().join("tests/cases/hostile");
    for (name, bytes) in cases {
        let path = dir.join(format!("{name}.seg"));
        let spec = analyse_once(
            &path,
            &format!("tests/cases/hostile/{name}.seg"),
            &bytes,
            &LoadOptions {
                no_data: true,
                policy: PathPolicy { allow_outside: false },
                sources: Default::default(),
                as_of: None,
                no_lock: false,
                database: None,
            },
        );
        golden(&dir.join(format!("{name}.out")), &render_diagnostics(&spec), &mut failures);
    }
    finish(failures);
}

/// Run-time errors are made here (their data is generated, their paths temporary)
/// and rendered as `seg run` prints them, with the JSON form, into
/// `tests/cases/errors/*.out`.
#[test]
fn run_error_cases() {
    use seg::engine::files;
    use seg::engine::session::EngineError;
    let dir = project();
    let d = dir.path();
    let mut many = String::from("id,amount\n");
    for i in 0..1500 {
        many.push_str(&format!("{i},{}\n", i % 7));
    }
    many.push_str("1500,seven\n");
    write(d, "late_bad_value.csv", &many);
    write(d, "huge.csv", "id,amount\n1,9000000000000000000\n2,9000000000000000000\n");
    let spec = |data: &str| {
        format!(
            "market m from \"{data}\" {{ columns {{ id int, amount int }}; measure total = sum(amount) }}\n\
             dimension all on m = rules {{ else => \"all\" }}\nsegment m by all\n"
        )
    };
    let run_spec = |name: &str, text: &str| -> (String, String, EngineError) {
        let path = write(d, &format!("{name}.seg"), text);
        let file = analyse_once(
            &path,
            &format!("{name}.seg"),
            text.as_bytes(),
            &LoadOptions {
                no_data: false,
                policy: PathPolicy { allow_outside: false },
                sources: Default::default(),
                as_of: None,
                no_lock: false,
                database: None,
            },
        );
        assert!(file.diagnostics.is_empty(), "{name}: {:?}", file.diagnostics);
        let program = file.program.clone().unwrap();
        let opts = SessionOptions { threads: Some(1), ..Default::default() };
        let e = match Session::new(program, d, &opts) {
            Ok(session) => session.run_segment(0).expect_err(name),
            Err(e) => e,
        };
        (file.display.clone(), file.text.clone(), e)
    };
    let run = |name: &str, data: &str| run_spec(name, &spec(data));
    // A table whose key repeats, for each kind of key the lookup index covers and
    // one it does not (float keys keep the hash join and its own check).
    write(d, "sales.csv", "id,k\n1,a\n");
    let dup = |name: &str, ty: &str, rows: &str| {
        write(d, &format!("{name}.csv"), &format!("k,zone\n{rows}"));
        let text = format!(
            "table t from \"{name}.csv\" {{ columns {{ k {ty}, zone text }} key k }}\n\
             market m from \"sales.csv\" {{ columns {{ id int, k {ty} }} join t on k }}\n\
             dimension z on m = zone\nsegment m by z\n"
        );
        run_spec(name, &text)
    };
    let mut cases = vec![
        ("E0601_late_bad_value", run("late_bad_value", "late_bad_value.csv")),
        ("E0602_overflow", run("overflow", "huge.csv")),
        ("E0601_duplicate_int_key", dup("dup_int", "int", "1,a\n2,b\n2,c\n3,d\n2,e\n")),
        ("E0601_duplicate_text_key", dup("dup_text", "text", "x,a\ny,b\n,c\n,d\ny,e\n")),
        ("E0601_duplicate_date_key", dup("dup_date", "date", "2024-01-31,a\n2024-01-31,b\n")),
        ("E0601_duplicate_float_key", dup("dup_float", "float", "1.5,a\n2.5,b\n1.5,c\n")),
    ];
    let spec_path = d.join("overflow.seg");
    let inputs = files::run_inputs(&spec_path, &[]);
    let refused = files::check_output(&spec_path, true, &inputs).expect_err("the spec itself");
    let (display, text) = (cases[1].1 .0.clone(), cases[1].1 .1.clone());
    cases.push(("E0507_output_is_the_spec", (display.clone(), text.clone(), refused)));
    let missing = d.join("no/such/folder/out.csv");
    let unwritable = files::write_atomic(&missing, b"x", false, &inputs).expect_err("no folder");
    cases.push(("E0603_no_folder", (display, text, unwritable)));
    let mut failures = Vec::new();
    let out_dir = root().join("tests/cases/errors");
    let tmp = d.display().to_string();
    for (name, (display, text, e)) in cases {
        let diag = e.diagnostic().expect("a diagnostic");
        let shown = format!("{}--- json\n{}\n", e.to_text(), diag.to_json(&display, &text))
            .replace(&tmp, "$DIR");
        golden(&out_dir.join(format!("{name}.out")), &shown, &mut failures);
    }
    finish(failures);
}
