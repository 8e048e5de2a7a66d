//! `seg report`: one self-contained HTML file per spec. Per segmentation a chart
//! (inline SVG), the table and the shares; then the audit, the MECE findings, the
//! `example` and `expect` verdicts, and the spec's source with line numbers. It
//! loads nothing: no scripts, fonts or styles from the network.

pub mod chart;
pub mod data;

use crate::check::program::Checked;
use crate::driver::SpecFile;
use crate::engine::audit::AuditReport;
use crate::engine::expect;
use crate::engine::session::Session;
use crate::reference::segment::OutRow;
use arrow::array::{Array, AsArray};
use arrow::record_batch::RecordBatch;
use std::collections::HashMap;
use std::fmt::Write as _;

/// One `example` or `expect` and how it went.
pub struct Verdict {
    pub ok: bool,
    pub line: usize,
    pub statement: String,
    pub detail: String,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Every `example` and `expect` of the spec, evaluated; `done` are results already
/// computed, which the expectations read instead of running them again.
pub fn verdicts(
    file: &SpecFile,
    session: &Session,
    done: &[(usize, Vec<RecordBatch>)],
) -> Vec<Verdict> {
    let p = &session.program;
    let idx = crate::span::LineIndex::new(&file.text);
    let place = |span: crate::span::Span| {
        let s = span.clamp_to(&file.text);
        let text = file.text[s.start as usize..s.end as usize]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        (idx.line_col(s.start).0, text)
    };
    let mut out = Vec::new();
    for v in expect::examples(p) {
        let (line, statement) = place(v.span);
        let got = v.got.map(|g| format!("{g:?}")).unwrap_or_else(|| "unassigned".into());
        out.push(Verdict {
            ok: v.ok,
            line,
            statement,
            detail: format!("{} gives {got}", p.dims[v.dim].name),
        });
    }
    let mut cache: HashMap<usize, Vec<OutRow>> =
        done.iter().map(|(s, b)| (*s, expect::out_rows(p, *s, b))).collect();
    for v in expect::expect_verdicts(session, &mut cache) {
        let (line, statement) = place(v.span);
        out.push(Verdict { ok: v.ok, line, statement, detail: v.detail });
    }
    out
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.8rem 0; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.level-1 td { font-weight: 600; }
td.unassigned { color: #666; font-style: italic; }
.chart svg { max-width: 100%; height: auto; }
.ok { color: #006b3c; } .fail { color: #b00020; font-weight: 600; }
pre.source { font-size: 0.85rem; background: #fafafa; border: 1px solid #eee; padding: 0.6rem; overflow-x: auto; }
pre.source span.ln { color: #999; user-select: none; display: inline-block; width: 3.5em; }
.note { color: #555; font-size: 0.9rem; }
@media print { body { margin: 0; max-width: none; } section { break-inside: avoid; } }
"#;

/// The whole report.
pub fn html(
    file: &SpecFile,
    program: &Checked,
    results: &[(usize, Vec<RecordBatch>)],
    audits: &[AuditReport],
    verdicts: &[Verdict],
) -> String {
    let mut h = String::new();
    let title = format!("seg report: {}", file.display);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    for (s, batches) in results {
        let sd = &program.segments[*s];
        let (names, rows) = data::rows(program, *s, batches);
        let _ = write!(
            h,
            "<section class=\"segmentation\" id=\"seg-{}\">\n<h2>{}</h2>\n",
            esc(&sd.name),
            esc(&sd.name)
        );
        match chart::chart(program, *s, &names, &rows) {
            Some(svg) => {
                let _ = writeln!(h, "<div class=\"chart\">{svg}</div>");
            }
            None => h.push_str("<p class=\"note\">No rows: nothing to draw.</p>\n"),
        }
        h.push_str(&table(batches, sd.label_columns()));
        h.push_str("</section>\n");
    }
    h.push_str("<h2>Audit</h2>\n");
    if audits.is_empty() {
        h.push_str("<p class=\"note\">Nothing to audit.</p>\n");
    }
    for a in audits {
        let _ = write!(
            h,
            "<h3>{}</h3>\n<pre>{}</pre>\n",
            esc(&program.segments[a.segment].name),
            esc(&a.render(program))
        );
    }
    h.push_str("<h2>MECE findings</h2>\n");
    let idx = crate::span::LineIndex::new(&file.text);
    let findings: Vec<String> = file
        .diagnostics
        .iter()
        .map(|d| {
            let line = d.labels.first().map(|l| idx.line_col(l.span.start).0).unwrap_or(0);
            format!(
                "<li>line {line}: <b>{}</b> {}{}</li>",
                d.code,
                esc(&d.message),
                d.help
                    .as_ref()
                    .map(|x| format!(" <span class=\"note\">help: {}</span>", esc(x)))
                    .unwrap_or_default()
            )
        })
        .collect();
    let notes = crate::check::mece::partition_notes(program);
    if findings.is_empty() && notes.is_empty() {
        h.push_str("<p>No warnings: every rule can fire and no rows fall between rules.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<ul>{}{}</ul>",
            findings.join(""),
            notes.iter().map(|n| format!("<li>{}</li>", esc(n))).collect::<String>()
        );
    }
    h.push_str("<h2>Examples and expectations</h2>\n");
    if verdicts.is_empty() {
        h.push_str(
            "<p class=\"note\">The spec has no <code>example</code> or <code>expect</code>.</p>\n",
        );
    } else {
        let passed = verdicts.iter().filter(|v| v.ok).count();
        let _ = write!(h, "<p>{passed} passed, {} failed</p>\n<table><tr><th></th><th>line</th><th>statement</th><th>result</th></tr>\n", verdicts.len() - passed);
        for v in verdicts {
            let _ = writeln!(
                h,
                "<tr><td class=\"{}\">{}</td><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td></tr>",
                if v.ok { "ok" } else { "fail" },
                if v.ok { "ok" } else { "FAILED" },
                v.line,
                esc(&v.statement),
                esc(&v.detail)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>Spec</h2>\n<pre class=\"source\">");
    for (i, line) in file.text.lines().enumerate() {
        let _ = writeln!(h, "<span class=\"ln\">{}</span>{}", i + 1, esc(line));
    }
    h.push_str("</pre>\n</body></html>\n");
    h
}

/// The result as an HTML table: labels, then numbers, shares as percentages.
fn table(batches: &[RecordBatch], label_cols: usize) -> String {
    let Some(first) = batches.first() else { return "<p class=\"note\">(no rows)</p>\n".into() };
    let schema = first.schema();
    let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
    let mut h = String::from("<table><thead><tr>");
    for n in &names {
        let _ = write!(h, "<th>{}</th>", esc(n));
    }
    h.push_str("</tr></thead><tbody>\n");
    let level = names.iter().position(|n| *n == "level");
    for b in batches {
        let cols: Vec<arrow::array::ArrayRef> = (0..b.num_columns())
            .map(|c| {
                arrow::compute::kernels::cast::cast_with_options(
                    b.column(c),
                    &arrow::datatypes::DataType::Utf8,
                    &Default::default(),
                )
                .unwrap_or_else(|_| b.column(c).clone())
            })
            .collect();
        for i in 0..b.num_rows() {
            let lv = level.and_then(|c| {
                let a = cols[c].as_string_opt::<i32>()?;
                a.is_valid(i).then(|| a.value(i).to_string())
            });
            let _ = write!(h, "<tr class=\"level-{}\">", lv.clone().unwrap_or_default());
            for (c, n) in names.iter().enumerate() {
                let v = cols[c]
                    .as_string_opt::<i32>()
                    .and_then(|a| a.is_valid(i).then(|| a.value(i).to_string()));
                let is_label = c < label_cols;
                // A subtotal row leaves the deeper labels blank; a null label
                // elsewhere is the unassigned segment.
                let depth: Option<usize> = lv.as_deref().and_then(|l| l.parse().ok());
                let blank =
                    depth.is_some_and(|d| c >= d + label_cols - depth_labels(label_cols, &names));
                let cell = match (v, is_label) {
                    (None, true) if blank => "<td></td>".to_string(),
                    (None, true) => "<td class=\"unassigned\">(unassigned)</td>".to_string(),
                    (None, false) => "<td class=\"num\">–</td>".to_string(),
                    (Some(v), true) => format!("<td>{}</td>", esc(&v)),
                    (Some(v), false) => {
                        let shown = if n.contains("share") || n == &"growth" {
                            v.parse::<f64>().map(|x| format!("{:.1}%", x * 100.0)).unwrap_or(v)
                        } else if let Ok(x) = v.parse::<f64>() {
                            if x.fract() == 0.0 {
                                format!("{x:.0}")
                            } else {
                                format!("{x:.2}")
                            }
                        } else {
                            v
                        };
                        format!("<td class=\"num\">{}</td>", esc(&shown))
                    }
                };
                h.push_str(&cell);
            }
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</tbody></table>\n");
    h
}

/// How many of the label columns are dimensions' (the rest lead: `period`).
fn depth_labels(label_cols: usize, names: &[&String]) -> usize {
    label_cols - usize::from(names.first().is_some_and(|n| *n == "period"))
}
