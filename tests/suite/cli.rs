//! The `seg` binary as users and CI drive it: exit codes, formats, safe outputs.

use super::support::*;

use std::process::Command;

pub const SPEC: &str = r#"market m from "data/mini.csv" {
  columns { id int, customer_type text, age int, region text, revenue float, kg float, day date }
  measure value = sum(revenue)
}
dimension band on m = bins age [30, 50]
dimension r on m = region
segment by_band = m by band
segment nested = m by band then r
expect rows(by_band, "< 30") >= 1
"#;

#[test]
fn check_specs_folder_passes() {
    let o = seg(&["check", "specs/"], &root());
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn check_reports_unknown_column_with_suggestion() {
    let p = project();
    write(p.path(), "bad.seg", &SPEC.replace("bins age", "bins agee"));
    let o = seg(&["check", "bad.seg"], p.path());
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(t.contains("E0201") && t.contains("did you mean `age`?"), "{t}");
}

#[test]
fn check_json_and_github_print_one_line_per_diagnostic() {
    let p = project();
    write(
        p.path(),
        "bad.seg",
        &SPEC.replace("bins age", "bins agee").replace("= region", "= regoin"),
    );
    let o = seg(&["check", "--format", "json", "bad.seg"], p.path());
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        for k in [
            "file",
            "code",
            "severity",
            "message",
            "line",
            "column",
            "end_line",
            "end_column",
            "help",
        ] {
            assert!(v.get(k).is_some(), "{k} missing in {l}");
        }
    }
    let o = seg(&["check", "--format", "github", "bad.seg"], p.path());
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines().all(|l| l.starts_with("::error file=bad.seg,line=")
            && l.contains(",col=")
            && l.contains("title=E0201")),
        "{out}"
    );
}

#[test]
fn check_no_data_needs_columns_and_deny_warnings_fails_on_warnings() {
    let p = project();
    write(p.path(), "a.seg", "market m from \"data/mini.csv\"\n");
    let o = seg(&["check", "--no-data", "a.seg"], p.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("E0501"));
    let o = seg(&["check", "a.seg"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    // A data file `check` must read is a data error (exit 3), declared columns or not.
    write(p.path(), "w.seg", "market m from \"data/nothere.csv\" { columns { a int } }\n");
    let o = seg(&["check", "w.seg"], p.path());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("E0502"), "{}", text(&o));
    assert!(seg(&["check", "--no-data", "w.seg"], p.path()).status.success());
    write(
        p.path(),
        "warn.seg",
        "market m from \"data/mini.csv\"\ndimension d on m = rules { age < 30 => \"young\" }\n",
    );
    let o = seg(&["check", "warn.seg"], p.path());
    assert!(o.status.success() && text(&o).contains("warning"), "{}", text(&o));
    assert_eq!(seg(&["check", "--deny-warnings", "warn.seg"], p.path()).status.code(), Some(1));
}

#[test]
fn run_formats_follow_the_contract() {
    let p = project();
    write(p.path(), "s.seg", SPEC);
    let o = seg(&["run", "s.seg", "--format", "csv"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.starts_with("# segment by_band\nband,rows,value,share\n< 30,"), "{out}");
    assert!(
        out.contains("# segment nested\nband,r,level,rows,value,share,share_of_parent\n"),
        "{out}"
    );
    let o = seg(&["run", "s.seg", "--format", "json", "--segment", "nested"], p.path());
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let first = &v.as_array().unwrap()[0];
    assert_eq!(first["level"], 1);
    assert!(first["r"].is_null(), "a subtotal row has null deeper dimensions: {first}");
    let o = seg(&["run", "s.seg", "--format", "table", "--segment", "by_band"], p.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("30-50"));
}

#[test]
fn run_writes_parquet_atomically_and_refuses_overwrites() {
    let p = project();
    write(p.path(), "s.seg", SPEC);
    let o = seg(
        &["run", "s.seg", "--segment", "by_band", "--format", "parquet", "-o", "out.parquet"],
        p.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let before = std::fs::read(p.path().join("out.parquet")).unwrap();
    assert_eq!(&before[..4], b"PAR1");
    let o = seg(
        &["run", "s.seg", "--segment", "by_band", "--format", "parquet", "-o", "out.parquet"],
        p.path(),
    );
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert_eq!(std::fs::read(p.path().join("out.parquet")).unwrap(), before);
    let o = seg(&["run", "s.seg", "--format", "csv", "-o", "data/mini.csv", "--force"], p.path());
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert_eq!(
        std::fs::read(p.path().join("data/mini.csv")).unwrap(),
        std::fs::read(root().join("tests/cases/data/mini.csv")).unwrap()
    );
    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(p.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".seg-"))
        .collect();
    assert!(leftovers.is_empty());
    std::fs::create_dir(p.path().join("outdir")).unwrap();
    let o = seg(&["run", "s.seg", "--format", "csv", "-o", "outdir/"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        p.path().join("outdir/by_band.csv").exists() && p.path().join("outdir/nested.csv").exists()
    );
}

#[test]
fn data_paths_are_confined_to_the_project() {
    let p = project();
    write(p.path(), "abs.seg", "market m from \"/etc/hostname\" as csv { columns { a text } }\ndimension d on m = a\nsegment m by d\n");
    let o = seg(&["run", "abs.seg"], p.path());
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    write(p.path(), "up.seg", "market m from \"../../x.csv\" { columns { a text } }\ndimension d on m = a\nsegment m by d\n");
    assert_eq!(seg(&["run", "up.seg"], p.path()).status.code(), Some(5));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/hostname", p.path().join("data/link.csv")).unwrap();
        write(p.path(), "link.seg", "market m from \"data/link.csv\" { columns { a text } }\ndimension d on m = a\nsegment m by d\n");
        let o = seg(&["run", "link.seg"], p.path());
        assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    }
}

#[test]
fn malformed_csv_is_a_data_error_with_its_line() {
    let p = project();
    let mut csv = String::from("id,age\n");
    for i in 1..6000 {
        if i == 4999 {
            csv.push_str("4999,forty\n");
        } else {
            csv.push_str(&format!("{i},{}\n", 20 + i % 50));
        }
    }
    write(p.path(), "data/big.csv", &csv);
    write(p.path(), "b.seg", "market m from \"data/big.csv\" { columns { id int, age int } }\ndimension a on m = bins age [30]\nsegment m by a\n");
    std::fs::create_dir(p.path().join("o")).unwrap();
    let o = seg(&["run", "b.seg", "-o", "o/x.csv"], p.path());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("line 5000") || t.contains("line: 5000") || t.contains("5000"), "{t}");
    assert!(!p.path().join("o/x.csv").exists());
}

#[test]
fn test_command_runs_examples_and_expects() {
    let o = seg(&["test", "specs/"], &root());
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{}", text(&o));
    let last = t.lines().last().unwrap();
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
    let p = project();
    write(p.path(), "f.seg", &SPEC.replace(">= 1", ">= 100000"));
    let o = seg(&["test", "f.seg"], p.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 passed, 1 failed"));
}

#[test]
fn assign_writes_one_label_column_per_dimension() {
    let p = project();
    write(p.path(), "s.seg", SPEC);
    let o = seg(&["assign", "s.seg", "--market", "m", "-o", "labels.parquet"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    let f = std::fs::File::open(p.path().join("labels.parquet")).unwrap();
    let r = datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap();
    let names: Vec<String> = r.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert!(names.ends_with(&["band".to_string(), "r".to_string()]), "{names:?}");
    let rows: usize = r.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 8);
}

#[test]
fn explain_prints_logical_and_physical_plans() {
    let p = project();
    write(p.path(), "s.seg", SPEC);
    let o = seg(&["explain", "s.seg", "--segment", "nested"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Aggregate"));
    let o = seg(&["explain", "s.seg", "--segment", "nested", "--physical"], p.path());
    assert!(String::from_utf8_lossy(&o.stdout).contains("Exec"));
}

#[test]
fn usage_errors_exit_2_and_panics_exit_70() {
    assert_eq!(seg(&["run"], &root()).status.code(), Some(2));
    assert_eq!(seg(&["frobnicate"], &root()).status.code(), Some(2));
    let o = Command::new(env!("CARGO_BIN_EXE_seg"))
        .args(["check", "specs/"])
        .current_dir(root())
        .env("SEG_INTERNAL_PANIC", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(70));
    assert!(String::from_utf8_lossy(&o.stderr).contains("this is a bug"));
}

/// `--source` replaces a market's data for the whole run, the checker's schema
/// reading included: the spec's own path need not exist.
#[test]
fn source_replaces_the_data_for_check_and_run() {
    let p = project();
    std::fs::rename(p.path().join("data/mini.csv"), p.path().join("elsewhere.csv")).unwrap();
    write(p.path(), "s.seg", &SPEC.replace("  columns { id int, customer_type text, age int, region text, revenue float, kg float, day date }\n", ""));
    let o = seg(&["run", "s.seg", "--segment", "by_band", "--format", "csv"], p.path());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let o = seg(
        &["run", "s.seg", "--segment", "by_band", "--format", "csv", "--source", "m=elsewhere.csv"],
        p.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).starts_with("band,rows,value,share\n< 30,"),
        "{}",
        text(&o)
    );
    std::fs::copy(p.path().join("elsewhere.csv"), p.path().join("data/mini.csv")).unwrap();
    let o = seg(&["run", "s.seg", "--source", "nope=elsewhere.csv"], p.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// RFM segments as of a fixed date, and an audience list with one row per customer.
#[test]
fn shoppers_rfm_and_entity_assign() {
    let o = seg(
        &["run", "specs/shoppers.seg", "--as-of", "2025-01-01", "--segment", "rfm_segments"],
        &root(),
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("champions") && t.contains("lapsed"), "{t}");
    assert!(t.contains("today() is 2025-01-01 (--as-of)"), "{t}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shoppers.csv");
    let o = seg(
        &["assign", "specs/shoppers.seg", "--entity", "customer", "-o", out.to_str().unwrap()],
        &root(),
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("shopper_id,orders,spend,")
            && header.ends_with(",behaviour,value_tier,spend_tier,rfm"),
        "{header}"
    );
    let keys: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    let mut unique = keys.clone();
    unique.dedup();
    assert_eq!(keys.len(), unique.len(), "one row per shopper");
    let shoppers = std::fs::read_to_string(root().join("specs/data/transactions.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(keys.len(), shoppers);
}

/// Several files per market: a pattern that matches nothing is a data error, one
/// that climbs out of the project is refused.
#[test]
fn multi_file_paths_follow_the_policy() {
    let p = project();
    write(p.path(), "none.seg", "market m from \"data/*.parquet\"\n");
    let o = seg(&["check", "none.seg"], p.path());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("no `parquet` file matches"), "{}", text(&o));
    write(p.path(), "out.seg", "market m from \"../*.csv\"\n");
    let o = seg(&["check", "out.seg"], p.path());
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    write(
        p.path(),
        "glob.seg",
        "market m from \"data/*.csv\"\ndimension r on m = region\nsegment m by r\n",
    );
    let o = seg(&["run", "glob.seg", "--format", "csv"], p.path());
    assert!(o.status.success() && text(&o).contains("EU,"), "{}", text(&o));
    // `--source` takes a pattern too.
    std::fs::copy(p.path().join("data/mini.csv"), p.path().join("data/more.csv")).unwrap();
    let o = seg(&["run", "glob.seg", "--format", "csv", "--source", "m=data/m*.csv"], p.path());
    assert!(o.status.success() && text(&o).contains("EU,6,"), "{}", text(&o));
}

/// `--pivot DIM`: a dimension's labels become columns, one per label and value.
#[test]
fn pivot_makes_labels_columns() {
    let p = project();
    write(
        p.path(),
        "s.seg",
        "market m from \"data/mini.csv\" { measure value = sum(revenue) }\n\
         dimension r on m = region\ndimension big on m = rules { revenue >= 100 => \"big\"; else => \"small\" }\n\
         segment grid = m by big x r measures (value)\nsegment nested = m by big then r\n",
    );
    let o =
        seg(&["run", "s.seg", "--segment", "grid", "--pivot", "r", "--format", "csv"], p.path());
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{}", text(&o));
    let header = t.lines().next().unwrap();
    assert!(header.starts_with("big,APAC rows,APAC value,APAC share,EU rows"), "{header}");
    assert_eq!(t.lines().count(), 3, "one row per `big` label: {t}");
    let o = seg(&["run", "s.seg", "--segment", "nested", "--pivot", "r"], p.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// `explain` shows the v2 plans: the table joined as a lookup (each market row's
/// table row found by key, the table's columns gathered by it; no hash join of the
/// market rows; a dimension on a table column coded straight from the key),
/// filtered aggregates, windows.
#[test]
fn explain_shows_joins_and_v2_aggregates() {
    let p = project();
    write(p.path(), "data/regions.csv", "region,zone\nEU,europe\nNA,americas\n");
    write(
        p.path(),
        "j.seg",
        "table regions from \"data/regions.csv\" { key region }\n\
         market m from \"data/mini.csv\" { join regions on region; measure big = count(where revenue > 100); measure fav = mode(customer_type); measure zones = count(distinct zone) }\n\
         dimension z on m = zone\nsegment by_zone = m by z measures (zones, fav) with total\n",
    );
    let o = seg(&["explain", "j.seg", "--physical"], p.path());
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{}", text(&o));
    assert!(t.contains("seg_regions_zone(seg_row_regions(region"), "{t}");
    assert!(t.contains("seg_code_regions_zone(region"), "{t}");
    assert!(!t.contains("HashJoinExec"), "{t}");
    assert!(t.contains("seg_mode") && t.contains("UnionExec"), "{t}");
}

/// `over` and `migrate` through the CLI: `expect` reads a period's growth and
/// shares, a wrong expectation fails `seg test` (exit 1), and `--pivot period`
/// lays periods out as columns.
#[test]
fn over_and_migrate_through_the_cli() {
    let p = project();
    let spec = "market m from \"data/mini.csv\" { measure value = sum(revenue) }\n\
         entity c of m by region { spend = sum(revenue) }\n\
         dimension r on m = region\n\
         dimension tier on c = bins spend [100] labels [\"low\", \"high\"]\n\
         segment q = m by r over day by quarter\n\
         segment moves = c by tier migrate over day by quarter from \"2024-Q1\" to \"2024-Q2\"\n\
         expect growth(q, \"EU\", period \"2024-Q2\") = -0.5\n\
         expect rows(q, \"NA\", period \"2024-Q3\") = 1\n\
         expect rows(q, period \"2024-Q1\") = 3\n\
         expect share_change(q, \"APAC\", period \"2024-Q2\") > 0.33\n\
         expect rows(moves, \"high\", \"high\") = 1\n";
    write(p.path(), "t.seg", spec);
    let o = seg(&["test", "t.seg"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    write(p.path(), "bad.seg", &spec.replace("= -0.5", "= 0.5"));
    let o = seg(&["test", "bad.seg"], p.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    write(p.path(), "noperiod.seg", &spec.replace(", period \"2024-Q2\") = -0.5", ") = -0.5"));
    let o = seg(&["check", "noperiod.seg"], p.path());
    assert!(text(&o).contains("E0426"), "{}", text(&o));
    write(p.path(), "gap.seg", &spec.replace("to \"2024-Q2\"", "to \"2026-Q2\""));
    let o = seg(&["run", "gap.seg", "--segment", "moves"], p.path());
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let said =
        "period 2026-Q2 has no rows in market `m` (the data's periods run from 2024-Q1 to 2024-Q3)";
    assert!(text(&o).contains(said), "{}", text(&o));
    let o =
        seg(&["run", "t.seg", "--segment", "q", "--pivot", "period", "--format", "csv"], p.path());
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{}", text(&o));
    assert!(t.starts_with("r,2024-Q1 rows,2024-Q1 value,2024-Q1 share,2024-Q1 growth"), "{t}");
}

/// `seg diff`: two files, or a file against its git past; numbers before and after,
/// rows that moved between labels, markdown and JSON, and the CI gate.
#[test]
fn diff_shows_what_a_change_does_to_the_numbers() {
    let p = project();
    let old = "market m from \"data/mini.csv\" { measure value = sum(revenue) }\n\
        dimension big on m = rules { revenue >= 100 => \"big\"; else => \"small\" }\n\
        dimension r on m = region\nsegment by_big = m by big\nsegment by_r = m by r\n";
    let new = old.replace("revenue >= 100", "revenue >= 50") + "segment extra = m by r x big\n";
    write(p.path(), "old.seg", old);
    write(p.path(), "new.seg", &new);
    let o = seg(&["diff", "old.seg", "new.seg"], p.path());
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(t.contains("+ segmentation `extra` (new)"), "{t}");
    assert!(t.contains("3 → 5 (+2)") && t.contains("small  big  2"), "{t}");
    let o = seg(&["diff", "old.seg", "new.seg", "--format", "json", "--fail-on-change"], p.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["added"][0], "extra");
    assert_eq!(v["moves"][0]["moved"], 2);
    let by_big = &v["segmentations"][0];
    assert_eq!(by_big["segments"][0]["values"][0]["diff"], 2.0, "{by_big}");
    let o = seg(&["diff", "old.seg", "old.seg", "--fail-on-change"], p.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Against git: the committed version is the old one.
    let git = |args: &[&str]| git(p.path(), args);
    git(&["init", "-q", "."]);
    write(p.path(), "s.seg", old);
    git(&["add", "s.seg"]);
    git(&["commit", "-qm", "one"]);
    write(p.path(), "s.seg", &new);
    let o = seg(&["diff", "--rev", "HEAD", "s.seg", "--format", "markdown"], p.path());
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(t.starts_with("### seg diff: `s.seg@HEAD` → `s.seg`"), "{t}");
    assert!(t.contains("| big | 3 → 5 (+2) |") && t.contains("- unchanged: `by_r`"), "{t}");
    let o = seg(&["diff", "--rev", "nosuchrev", "s.seg"], p.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

/// `seg why`: the rule, bin or arm that decided each label, its line, the values it
/// read; a bad `--where` is a diagnostic on the condition.
#[test]
fn why_explains_labels() {
    let p = project();
    write(p.path(), "w.seg", &format!("{SPEC}dimension big on m = rules {{\n  revenue >= 100 => \"big\"\n  else => \"small\"\n}}\n"));
    let o = seg(&["why", "w.seg", "--market", "m", "--row", "2"], p.path());
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{}", text(&o));
    assert!(t.starts_with("row 2\n"), "{t}");
    assert!(t.contains("band = \"< 30\"") && t.contains("age = 25 is in the bin (-∞, 30)"), "{t}");
    assert!(
        t.contains("big = \"small\"") && t.contains("`else` gives \"small\" (w.seg:10)"),
        "{t}"
    );
    let o = seg(
        &["why", "w.seg", "--market", "m", "--where", "revenue > 100", "--format", "json"],
        p.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().map(|a| a.len()), Some(3), "{v}");
    assert_eq!(v[0]["dims"][2]["because"], "rule 1 matched: revenue >= 100");
    assert_eq!(v[0]["dims"][2]["line"], 11);
    let o = seg(&["why", "w.seg", "--market", "m", "--where", "revnue > 1"], p.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("did you mean `revenue`?"), "{}", text(&o));
}

/// `seg diff` of a spec against itself reports no change; moving one cut point
/// moves exactly the rows between the old and the new cut, counted here from the
/// data by hand.
#[test]
fn diff_moved_rows_match_a_count_by_hand() {
    let p = project();
    let mut csv = String::from("id,age,amount\n");
    let ages: Vec<i64> = (0..500).map(|i| (i * 37 + 11) % 90).collect();
    for (i, a) in ages.iter().enumerate() {
        csv.push_str(&format!("{i},{a},{}\n", i % 13));
    }
    write(p.path(), "data/people.csv", &csv);
    let spec = |cut: i64| {
        format!(
            "market m from \"data/people.csv\" {{ columns {{ id int, age int, amount float }} }}\n\
             dimension band on m = bins age [{cut}, 60] labels [\"young\", \"mid\", \"old\"]\n\
             segment by_band = m by band\n"
        )
    };
    write(p.path(), "a.seg", &spec(30));
    write(p.path(), "b.seg", &spec(40));
    let o = seg(&["diff", "a.seg", "a.seg", "--format", "json", "--fail-on-change"], p.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["moves"][0]["moved"], 0, "{v}");
    let o = seg(&["diff", "a.seg", "b.seg", "--format", "json"], p.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let by_hand = ages.iter().filter(|&&a| (30..40).contains(&a)).count();
    assert!(by_hand > 0);
    let m = &v["moves"][0];
    assert_eq!(m["moved"], by_hand as u64, "{m}");
    assert_eq!(m["matrix"][0], serde_json::json!(["mid", "young", by_hand]), "{m}");
    let young = &v["segmentations"][0]["segments"][0];
    assert_eq!(young["labels"][0], "young");
    let before = ages.iter().filter(|&&a| a < 30).count() as f64;
    assert_eq!(young["values"][0]["old"], before);
    assert_eq!(young["values"][0]["diff"], by_hand as f64);
}

/// `seg why` gives every row of every shipped spec the label `seg assign` gives it.
#[test]
fn why_agrees_with_assign_on_every_spec() {
    let specs = root().join("specs");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&specs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "seg") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let rel = format!("specs/{name}");
        let source = std::fs::read_to_string(&path).unwrap();
        let markets: Vec<String> = source
            .lines()
            .filter_map(|l| l.strip_prefix("market "))
            .map(|l| l.split_whitespace().next().unwrap().to_string())
            .collect();
        for m in markets {
            let out = dir.path().join(format!("{name}-{m}.json"));
            let o = seg(
                &[
                    "assign",
                    &rel,
                    "--market",
                    &m,
                    "--as-of",
                    "2025-01-01",
                    "-o",
                    out.to_str().unwrap(),
                ],
                &root(),
            );
            assert!(o.status.success(), "{rel} {m}: {}", text(&o));
            let written = std::fs::read_to_string(&out).unwrap();
            let assigned: Vec<serde_json::Value> = match serde_json::from_str(&written) {
                Ok(serde_json::Value::Array(rows)) => rows,
                _ => written.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
            };
            let o = seg(
                &[
                    "why",
                    &rel,
                    "--market",
                    &m,
                    "--where",
                    "true",
                    "--limit",
                    "100000",
                    "--format",
                    "json",
                    "--as-of",
                    "2025-01-01",
                ],
                &root(),
            );
            assert!(o.status.success(), "{rel} {m}: {}", text(&o));
            let why: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(why.len(), assigned.len(), "{rel} {m}: one explanation per row");
            for (w, a) in why.iter().zip(&assigned) {
                for d in w["dims"].as_array().unwrap() {
                    let dim = d["dimension"].as_str().unwrap();
                    let label = a.get(format!("{dim}_label")).or_else(|| a.get(dim)).unwrap();
                    assert_eq!(&d["label"], label, "{rel} {m} row {}: {dim}", w["row"]);
                }
            }
        }
    }
}

/// `seg lock` freezes cut points and top lists: written deterministically, used by
/// `run` (and ignored with `--no-lock`), the same numbers as unfrozen on the data it
/// was computed on, other numbers on new data; `check` warns on drift and fails on a
/// stale lock; `--period` computes on one period.
#[test]
fn lock_freezes_definitions() {
    let p = project();
    let spec = "market m from \"data/mini.csv\" { measure value = sum(revenue) }\n\
                dimension q on m = quantiles revenue 4\n\
                dimension r on m = top 2 region\n\
                segment by_q = m by q\n\
                segment by_r = m by r\n\
                segment trend = m by q over day by quarter\n";
    write(p.path(), "s.seg", spec);
    let o = seg(&["lock", "s.seg"], p.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lock = std::fs::read_to_string(p.path().join("s.seg.lock")).unwrap();
    assert!(
        lock.contains("spec = \"s.seg\"") && lock.contains("path = \"data/mini.csv\""),
        "{lock}"
    );
    assert!(lock.contains("rows = 8") && lock.contains("from = 44.0"), "{lock}");
    seg(&["lock", "s.seg"], p.path());
    assert_eq!(
        std::fs::read_to_string(p.path().join("s.seg.lock")).unwrap(),
        lock,
        "not deterministic"
    );
    let run = |args: &[&str]| {
        let mut a =
            vec!["run", "s.seg", "--segment", "by_q", "--segment", "by_r", "--format", "csv"];
        a.extend(args);
        let o = seg(&a, p.path());
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    assert_eq!(run(&[]), run(&["--no-lock"]), "frozen on the same data, the numbers moved");
    // New data: six small sales from Asia. Unfrozen, the quartiles are cut again and
    // APAC enters the top 2; frozen, the old cut points and list hold.
    let mut data = std::fs::read_to_string(p.path().join("data/mini.csv")).unwrap();
    for i in 0..6 {
        data.push_str(&format!("{},office,30,APAC,{}.0,1.0,2024-09-0{}\n", 9 + i, i + 1, i + 1));
    }
    write(p.path(), "data/mini.csv", &data);
    let frozen = run(&[]);
    let fresh = run(&["--no-lock"]);
    assert_ne!(frozen, fresh);
    // 120.5 was in Q4 (from 120.5 at lock time); six values below 10 all fall in Q1.
    assert!(frozen.contains("Q1,8,"), "{frozen}");
    assert!(
        frozen.contains("EU,") && frozen.contains("NA,") && !frozen.contains("\nAPAC,"),
        "{frozen}"
    );
    assert!(fresh.contains("\nAPAC,"), "{fresh}");
    let o = seg(&["check", "s.seg"], p.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("W0432") && text(&o).contains("`Q1`"), "{}", text(&o));
    assert!(text(&o).contains("the top of `r` has changed"), "{}", text(&o));
    let o = seg(&["check", "s.seg", "--deny-warnings"], p.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // A changed definition makes the lock stale: an error, not a half-applied lock.
    write(p.path(), "s.seg", &spec.replace("quantiles revenue 4", "quantiles revenue 3"));
    let o = seg(&["run", "s.seg"], p.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("E0430"), "{}", text(&o));
    assert_eq!(seg(&["run", "s.seg", "--no-lock"], p.path()).status.code(), Some(0));
    // One period of an `over` segmentation.
    let o = seg(&["lock", "s.seg", "--period", "2024-Q1"], p.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let lock = std::fs::read_to_string(p.path().join("s.seg.lock")).unwrap();
    assert!(lock.contains("[period]\nsegment = \"trend\"\nperiod = \"2024-Q1\""), "{lock}");
    assert!(lock.contains("count = 3"), "three sales in 2024-Q1: {lock}");
    let o = seg(&["lock", "s.seg", "--period", "2024-13"], p.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // `diff --rev` runs the old version with its lock of then: committed with
    // quartiles and their lock, the working tree has terciles and a new lock.
    let git = |args: &[&str]| git(p.path(), args);
    git(&["init", "-q", "."]);
    write(p.path(), "s.seg", spec);
    assert_eq!(seg(&["lock", "s.seg"], p.path()).status.code(), Some(0));
    git(&["add", "s.seg", "s.seg.lock"]);
    git(&["commit", "-qm", "quartiles"]);
    write(p.path(), "s.seg", &spec.replace("quantiles revenue 4", "quantiles revenue 3"));
    assert_eq!(seg(&["lock", "s.seg"], p.path()).status.code(), Some(0));
    let o = seg(&["diff", "--rev", "HEAD", "s.seg", "--segment", "by_q"], p.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Q4"), "{}", text(&o));
}
