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
