//! `seg report` as a person sees it: every spec's report rendered by headless
//! Chromium (Debian's `chromium`, installed by `.ci/run`), a screenshot kept under
//! the target folder, no console errors, every segmentation with a non-empty SVG
//! holding one mark per segment, and every label of the table in the chart. The
//! Marimekko geometry is pinned by a golden SVG and checked against the shares.

use super::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn shots_dir() -> PathBuf {
    in_target("report-shots")
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn headless(chrome: &Path, args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

/// The texts of the label cells of a section's table (`<td>` without `num`).
fn label_cells(section: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = section;
    while let Some(i) = rest.find("<td") {
        rest = &rest[i..];
        let open_end = rest.find('>').unwrap_or(0);
        let tag = &rest[..open_end];
        let close = rest.find("</td>").unwrap_or(open_end);
        let text = unescape(&rest[open_end + 1..close]);
        if !tag.contains("num") && !text.is_empty() {
            out.push(text);
        }
        rest = &rest[close..];
    }
    out
}

#[test]
fn reports_render_in_chromium() {
    let Some(chrome) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "CI installs chromium (.ci/run)");
        eprintln!("skipped: no chromium here");
        return;
    };
    let shots = shots_dir();
    std::fs::create_dir_all(&shots).unwrap();
    let mut failures = Vec::new();
    for spec in files_with_ext(&root().join("specs"), "seg") {
        let name = spec.file_stem().unwrap().to_string_lossy().to_string();
        let html = shots.join(format!("{name}.html"));
        let o = seg(
            &[
                "report",
                spec.to_str().unwrap(),
                "-o",
                html.to_str().unwrap(),
                "--force",
                "--as-of",
                "2025-01-01",
            ],
            &root(),
        );
        assert!(o.status.success(), "{}", text(&o));
        let size = std::fs::metadata(&html).unwrap().len();
        assert!(size < 2 << 20, "{name}: {size} bytes");
        let png = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let shot = headless(
            &chrome,
            &[
                "--enable-logging=stderr",
                "--v=0",
                "--window-size=1200,7000",
                &format!("--screenshot={}", png.display()),
            ],
            &html,
        );
        let log = String::from_utf8_lossy(&shot.stderr);
        let console: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Failed to load resource"))
            .collect();
        if !console.is_empty() {
            failures.push(format!("{name}: console messages: {console:?}"));
        }
        if std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0) < 10_000 {
            failures.push(format!("{name}: no screenshot ({log})"));
        }
        // The DOM as Chromium parsed it.
        let dom =
            String::from_utf8_lossy(&headless(&chrome, &["--dump-dom"], &html).stdout).to_string();
        let sections: Vec<&str> = dom.split("<section class=\"segmentation\"").skip(1).collect();
        if sections.is_empty() {
            failures.push(format!("{name}: no segmentation in the DOM"));
        }
        for section in sections {
            let section = section.split("</section>").next().unwrap_or_default();
            let id = section.split('"').nth(1).unwrap_or("?").to_string();
            let Some(svg_start) = section.find("<svg") else {
                failures.push(format!("{name} {id}: no chart"));
                continue;
            };
            let svg_end = section.find("</svg>").unwrap_or(section.len());
            let svg = unescape(&section[svg_start..svg_end]);
            let marks = svg.matches("class=\"mark").count();
            let table = &section[svg_end..];
            let rows = table.matches("<tr class=\"level-").count()
                - table.matches("<tr class=\"level-0\"").count();
            if marks == 0 || marks != rows {
                failures.push(format!("{name} {id}: {marks} marks for {rows} segments"));
            }
            for label in label_cells(table) {
                if !svg.contains(&label) {
                    failures.push(format!(
                        "{name} {id}: label {label:?} is in the table, not in the chart"
                    ));
                }
            }
        }
        eprintln!("{name}: {} bytes, screenshot {}", size, png.display());
    }
    finish(failures);
}

/// A small Marimekko, pinned: widths are the first dimension's shares of 720 px and
/// heights the second's shares within it of 360 px, to 0.1 px.
#[test]
fn mekko_geometry_matches_the_shares() {
    let dir = root().join("tests/cases/report");
    let out = shots_dir().join("mekko.svg");
    std::fs::create_dir_all(shots_dir()).unwrap();
    let o = seg(
        &["run", "mekko.seg", "--segment", "grid", "-o", out.to_str().unwrap(), "--force"],
        &dir,
    );
    assert!(o.status.success(), "{}", text(&o));
    let svg = std::fs::read_to_string(&out).unwrap();
    let mut failures = Vec::new();
    golden(&dir.join("mekko.svg"), &svg, &mut failures);
    // 10 rows: a has 6 (4 x, 2 y), b has 4 (1 x, 3 y).
    let expected = [
        ("a · x", 0.6, 4.0 / 6.0),
        ("a · y", 0.6, 2.0 / 6.0),
        ("b · x", 0.4, 0.25),
        ("b · y", 0.4, 0.75),
    ];
    for (label, w, h) in expected {
        let at = svg.find(&format!("data-label=\"{label}\"")).expect(label);
        let rect = &svg[at..];
        let num = |attr: &str| -> f64 {
            let i = rect.find(&format!(" {attr}=\"")).unwrap() + attr.len() + 3;
            rect[i..].split('"').next().unwrap().parse().unwrap()
        };
        if (num("width") - 720.0 * w).abs() > 0.1 || (num("height") - 360.0 * h).abs() > 0.1 {
            failures.push(format!(
                "{label}: {} x {} for {} x {}",
                num("width"),
                num("height"),
                720.0 * w,
                360.0 * h
            ));
        }
    }
    finish(failures);
}

/// `-o`'s extension picks the format; a conflict with `--format` is a usage error;
/// `.svg` draws one segmentation; `seg report` refuses to write over an input.
#[test]
fn outputs_follow_the_extension_and_never_overwrite_inputs() {
    let p = project();
    write(p.path(), "s.seg", super::cli::SPEC);
    let o = seg(&["run", "s.seg", "--segment", "by_band", "-o", "out.parquet"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(&std::fs::read(p.path().join("out.parquet")).unwrap()[..4], b"PAR1");
    let o =
        seg(&["run", "s.seg", "--segment", "by_band", "--format", "csv", "-o", "x.json"], p.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!p.path().join("x.json").exists());
    let o = seg(&["run", "s.seg", "-o", "all.svg"], p.path());
    assert_eq!(o.status.code(), Some(2), "one segmentation per chart: {}", text(&o));
    let o = seg(&["run", "s.seg", "--segment", "by_band", "-o", "band.svg"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    let svg = std::fs::read_to_string(p.path().join("band.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("class=\"mark\""), "{svg}");
    let o = seg(&["run", "s.seg", "-o", "r.html"], p.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("seg report"));
    let o = seg(&["report", "s.seg", "-o", "r.html"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(p.path().join("r.html")).unwrap();
    assert!(!html.contains("http://") || !html.contains("src=\"http"), "loads nothing");
    assert!(!html.contains("<script") && !html.contains("<link"), "self-contained");
    let spec = std::fs::read(p.path().join("s.seg")).unwrap();
    let o = seg(&["report", "s.seg", "-o", "s.seg", "--force"], p.path());
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    let o = seg(&["report", "s.seg", "-o", "data/mini.html", "--force"], p.path());
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read(p.path().join("s.seg")).unwrap(), spec, "the spec is untouched");
}
