//! The driver every front end shares: an edited spec is analysed again without
//! reading unchanged data files, and an unchanged one is not analysed again.

use super::support::*;
use seg::driver::{Driver, LoadOptions};
use seg::engine::paths::PathPolicy;

/// A driver that reads data inside the project, with today's date and lock files.
fn driver() -> Driver {
    Driver::new(LoadOptions {
        no_data: false,
        policy: PathPolicy { allow_outside: false },
        sources: Default::default(),
        as_of: None,
        no_lock: false,
        database: None,
    })
}

#[test]
fn editing_a_spec_reads_no_unchanged_data_file() {
    let p = project();
    let driver = driver();
    let spec = p.path().join("s.seg");
    let v1 = "market m from \"data/mini.csv\"\ndimension r on m = region\nsegment m by r\n";
    let first = driver.analyse(&spec, "s.seg", v1.as_bytes());
    assert!(first.program.is_some(), "{:?}", first.diagnostics);
    assert_eq!(driver.schema_reads(), 1);

    // The same text over the same data: the same analysis, nothing read.
    let again = driver.analyse(&spec, "s.seg", v1.as_bytes());
    assert!(std::sync::Arc::ptr_eq(&first, &again));

    // An edit (a typo, then its fix) is checked again; the CSV is not read again.
    let typo = v1.replace("= region", "= regoin");
    let broken = driver.analyse(&spec, "s.seg", typo.as_bytes());
    assert!(broken.diagnostics.iter().any(|d| d.code == seg::diagnostic::Code::E0201));
    let fixed = driver.analyse(&spec, "s.seg", format!("{v1}# a comment\n").as_bytes());
    assert!(fixed.program.is_some());
    assert_eq!(driver.schema_reads(), 1, "an edit re-read the data");

    // A changed data file is read again, and the checker sees its new columns.
    let with_zone = "market m from \"data/mini.csv\"\ndimension z on m = zone\nsegment m by z\n";
    assert!(driver.analyse(&spec, "s.seg", with_zone.as_bytes()).program.is_none());
    let csv = std::fs::read_to_string(p.path().join("data/mini.csv")).unwrap();
    let mut lines = csv.lines();
    let mut zoned = format!("{},zone\n", lines.next().unwrap());
    for l in lines {
        zoned.push_str(&format!("{l},north\n"));
    }
    write(p.path(), "data/mini.csv", &zoned);
    let now = driver.analyse(&spec, "s.seg", with_zone.as_bytes());
    assert!(now.program.is_some(), "{:?}", now.diagnostics);
    assert_eq!(driver.schema_reads(), 2);
}

/// `seg diff` reads the data once: after the old version's session holds the rows,
/// the new version's runs from them, even with the file gone.
#[test]
fn two_versions_share_one_read_of_the_data() {
    use seg::engine::session::SessionOptions;
    let p = project();
    let driver = driver();
    let spec = p.path().join("s.seg");
    let old = "market m from \"data/mini.csv\"\ndimension r on m = region\nsegment s = m by r\n";
    let new = old.replace("= region", "= customer_type");
    let open = |text: &str| {
        let f = driver.analyse(&spec, "s.seg", text.as_bytes());
        let opts = SessionOptions { ordered_scans: true, ..Default::default() };
        driver.session(f.program.clone().expect("checks"), p.path(), &opts).expect("session")
    };
    let mut a = open(old);
    let mut b = open(&new);
    let before = seg::engine::batches_to_values(&b.run_segment(0).unwrap());
    a.preload(u64::MAX).unwrap();
    b.share_scans_from(&a);
    std::fs::remove_file(p.path().join("data/mini.csv")).unwrap();
    assert_eq!(seg::engine::batches_to_values(&b.run_segment(0).unwrap()), before);
    assert_eq!(a.run_segment(0).unwrap().iter().map(|x| x.num_rows()).sum::<usize>(), 4);
}

/// A large CSV's types are inferred in parts on every core; the merged schema is
/// the one a single pass over every record infers, whatever part a value that
/// changes a column's type falls in.
#[test]
fn csv_types_inferred_in_parts_are_those_of_one_pass() {
    use arrow::datatypes::DataType;
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "i,f,late,when,t,flag,empty").unwrap();
    let rows = 1_300_000;
    for r in 0..rows {
        // `f`: integers, one float in the middle; `late`: empty in the first half,
        // then integers; `when`: dates, one timestamp near the end; `t`: integers,
        // one word on the last row; `empty`: never a value.
        let f = if r == rows / 2 { "2.5".to_string() } else { (r % 100).to_string() };
        let late = if r < rows / 2 { String::new() } else { (r % 7).to_string() };
        let when = if r == rows - 10 { "2024-01-02T03:04:05" } else { "2024-01-02" };
        let t = if r == rows - 1 { "word".to_string() } else { (r % 3).to_string() };
        writeln!(w, "{r},{f},{late},{when},{t},{},", r % 2 == 0).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    assert!(std::fs::metadata(&path).unwrap().len() > 32 << 20, "large enough to be split");
    let schema = seg::engine::schema::read_schema(&path, seg::check::program::Format::Csv, false)
        .expect("schema");
    let types: Vec<(String, DataType)> =
        schema.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
    let want = |n: &str| types.iter().find(|(x, _)| x == n).map(|(_, t)| t.clone()).unwrap();
    assert_eq!(want("i"), DataType::Int64);
    assert_eq!(want("f"), DataType::Float64);
    assert_eq!(want("late"), DataType::Int64);
    assert!(matches!(want("when"), DataType::Timestamp(..)), "{types:?}");
    assert_eq!(want("t"), DataType::Utf8);
    assert_eq!(want("flag"), DataType::Boolean);
    // A column with no value reads as text, as one pass has it.
    let one_pass = seg::engine::schema::read_schema(&path, seg::check::program::Format::Csv, true)
        .expect("sampled schema");
    let empty = one_pass.field_with_name("empty").unwrap().data_type().clone();
    assert_eq!(want("empty"), empty);
}
