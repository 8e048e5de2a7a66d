//! `seg fmt`: the comment-positions golden, every spec in the repo, and the three
//! properties on generated programs (the AST is kept, formatting is idempotent,
//! comments survive in order).

use super::support::*;
use proptest::prelude::*;
use seg::syntax::layout::comments;

/// The AST's Debug text without spans: equal programs modulo where they were written.
fn shape(text: &str) -> Result<String, String> {
    let parsed = seg::syntax::parse_str(text);
    if let Some(d) = parsed.diagnostics.iter().find(|d| d.is_error()) {
        return Err(format!("{d:?}"));
    }
    let debug = format!("{:?}", parsed.program);
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(i) = rest.find("Span { start: ") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('}').map_or(rest.len(), |j| i + j + 1);
        out.push_str("Span");
        rest = &rest[end..];
    }
    out.push_str(rest);
    Ok(out)
}

fn comment_texts(text: &str) -> Vec<String> {
    comments(text).into_iter().map(|(s, e)| text[s..e].trim_end().to_string()).collect()
}

/// The three properties for one program; `Err` says which failed.
fn properties(x: &str) -> Result<String, String> {
    let once = seg::fmt::format_bytes(x.as_bytes()).map_err(|(_, d)| format!("refused: {d:?}"))?;
    let before = shape(x)?;
    let after = shape(&once).map_err(|e| format!("fmt(x) does not parse: {e}\n{once}"))?;
    if before != after {
        return Err(format!("parse(fmt(x)) != parse(x)\n--- x\n{x}\n--- fmt(x)\n{once}"));
    }
    let twice = seg::fmt::format_bytes(once.as_bytes()).map_err(|(_, d)| format!("{d:?}"))?;
    if twice != once {
        return Err(format!(
            "fmt(fmt(x)) != fmt(x)\n--- x\n{x}\n{}",
            seg::fmt::unified_diff("fmt(x)", &once, &twice)
        ));
    }
    if comment_texts(x) != comment_texts(&once) {
        return Err(format!("comments changed\n--- x\n{x}\n--- fmt(x)\n{once}"));
    }
    Ok(once)
}

#[test]
fn every_comment_position_is_kept() {
    let mut failures = Vec::new();
    for case in files_with_ext(&root().join("tests/cases/fmt"), "seg") {
        let text = std::fs::read_to_string(&case).unwrap();
        match properties(&text) {
            Ok(out) => golden(&case.with_extension("out"), &out, &mut failures),
            Err(e) => failures.push(format!("{}: {e}", case.display())),
        }
    }
    finish(failures);
}

/// Every spec in the repo that parses keeps its meaning and comments; the ones in
/// `specs/` are formatted already (`seg fmt --check specs/` in CI says the same).
#[test]
fn repo_specs_hold_the_properties() {
    let mut failures = Vec::new();
    let mut specs = files_with_ext(&root().join("specs"), "seg");
    for dir in ["check", "run", "errors", "hostile"] {
        specs.extend(files_with_ext(&root().join("tests/cases").join(dir), "seg"));
    }
    let mut tried = 0;
    for path in &specs {
        let bytes = std::fs::read(path).unwrap();
        let Ok(text) = String::from_utf8(bytes) else { continue };
        if shape(&text).is_err() {
            // Cases of syntax errors: fmt must refuse them, tested in the CLI tests.
            continue;
        }
        tried += 1;
        match properties(&text) {
            Ok(out) if path.starts_with(root().join("specs")) && out != text => {
                failures.push(format!("{} is not formatted", path.display()))
            }
            Ok(_) => {}
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(tried > 20, "only {tried} specs parsed");
    finish(failures);
}

/// Expressions of every operator, printed with parentheses where needed and at
/// random where not.
fn expr(depth: u32) -> BoxedStrategy<(String, u8)> {
    let leaf = prop_oneof![
        prop::sample::select(vec!["a", "b", "t", "flag", "`odd name`", "m.a"])
            .prop_map(String::from),
        (0i64..100).prop_map(|n| n.to_string()),
        Just("2.5".to_string()),
        Just("\"x # not a comment\"".to_string()),
        Just("2024-01-05".to_string()),
        Just("null".to_string()),
    ]
    .prop_map(|s| (s, 8u8));
    leaf.prop_recursive(depth, 24, 3, |inner| {
        let wrap = |(s, lv): (String, u8), need: u8, paren: bool| {
            if lv <= need || paren {
                format!("({s})")
            } else {
                s
            }
        };
        prop_oneof![
            (
                inner.clone(),
                inner.clone(),
                prop::sample::select(vec![
                    ("or", 1u8),
                    ("and", 2),
                    ("+", 5),
                    ("-", 5),
                    ("*", 6),
                    ("/", 6)
                ]),
                any::<bool>(),
                any::<bool>()
            )
                .prop_map(move |(l, r, (op, lv), pl, pr)| {
                    // Left-associative: the left operand may sit at the same level.
                    let ls = wrap(l, lv - 1, pl);
                    let rs = wrap(r, lv, pr);
                    (format!("{ls} {op} {rs}"), lv)
                }),
            (
                inner.clone(),
                inner.clone(),
                prop::sample::select(vec!["=", "!=", "<", ">=", "like"]),
                any::<bool>()
            )
                .prop_map(move |(l, r, op, p)| (
                    format!("{} {op} {}", wrap(l, 4, p), wrap(r, 4, p)),
                    4
                )),
            (inner.clone(), any::<bool>())
                .prop_map(move |(e, p)| (format!("not {}", wrap(e, 3, p)), 3)),
            (inner.clone(), any::<bool>())
                .prop_map(move |(e, p)| (format!("-{}", wrap(e, 7, p)), 7)),
            (inner.clone(), any::<bool>())
                .prop_map(move |(e, p)| (format!("{} is not null", wrap(e, 4, p)), 4)),
            (inner.clone(), inner.clone(), inner.clone(), any::<bool>()).prop_map(
                move |(e, lo, hi, p)| {
                    (
                        format!(
                            "{} between {} and {}",
                            wrap(e, 4, p),
                            wrap(lo, 4, p),
                            wrap(hi, 4, p)
                        ),
                        4,
                    )
                }
            ),
            (inner.clone(), prop::collection::vec(inner.clone(), 1..3), any::<bool>()).prop_map(
                move |(e, l, p)| {
                    let items: Vec<String> = l.into_iter().map(|x| wrap(x, 0, p)).collect();
                    (format!("{} not in ({})", wrap(e, 4, p), items.join(", ")), 4)
                }
            ),
            (inner.clone(), prop::option::of(inner.clone()), any::<bool>()).prop_map(
                move |(e, w, p)| {
                    let filter = w.map(|w| format!(" where {}", wrap(w, 0, p))).unwrap_or_default();
                    (format!("sum({}{filter})", wrap(e, 0, p)), 8)
                }
            ),
        ]
    })
    .boxed()
}

/// A program: the engine property test's specs, and statements around generated
/// expressions.
fn program() -> impl Strategy<Value = String> {
    let from_props = super::props::case().prop_map(|c| c.spec);
    let exprs = prop::collection::vec(expr(4), 1..4).prop_map(|es| {
        let mut s = String::from(
            "market m from \"m.csv\" {\n  columns { a int, b float, t text, flag bool }\n",
        );
        for (i, (e, _)) in es.iter().enumerate() {
            s.push_str(&format!("  measure x{i} = {e}\n"));
        }
        s.push_str(&format!("  where {}\n}}\n", es[0].0));
        s.push_str(&format!(
            "dimension d on m = rules {{\n  {} => \"one\"\n  else => \"two\"\n}}\n",
            es[0].0
        ));
        s.push_str(&format!(
            "segment s = m by d where {}\nexpect ({}) > 0\n",
            es[es.len() - 1].0,
            es[0].0
        ));
        s
    });
    prop_oneof![from_props, exprs]
}

/// `x` with comments, blank lines, spaces and `;` put where whitespace may stand.
fn perturbed() -> impl Strategy<Value = String> {
    (program(), prop::collection::vec((any::<prop::sample::Index>(), 0u8..5), 0..12)).prop_map(
        |(x, edits)| {
            // Whitespace outside strings, backquoted names and comments.
            let mut spots = Vec::new();
            let (mut in_str, mut in_q) = (false, false);
            for (i, c) in x.char_indices() {
                match c {
                    '"' if !in_q => in_str = !in_str,
                    '`' if !in_str => in_q = !in_q,
                    ' ' | '\n' if !in_str && !in_q => spots.push(i),
                    _ => {}
                }
            }
            let mut inserts: Vec<(usize, String)> = edits
                .iter()
                .enumerate()
                .filter(|_| !spots.is_empty())
                .map(|(k, (ix, kind))| {
                    let at = spots[ix.index(spots.len())];
                    let text = match kind {
                        0 => format!(" # c{k}\n"),
                        1 => format!("\n\n# c{k}\n\n"),
                        2 => "   ".to_string(),
                        3 => "\n\n\n".to_string(),
                        _ => format!("  # c{k} with `ticks` and \"quotes\"\n"),
                    };
                    (at, text)
                })
                .collect();
            inserts.sort_by_key(|x| std::cmp::Reverse(x.0));
            let mut s = x;
            for (at, text) in inserts {
                s.insert_str(at, &text);
            }
            // Two statements on one line.
            s.replacen("\nsegment", "; segment", 1)
        },
    )
}

#[test]
fn fmt_properties_on_generated_programs() {
    let cases = std::env::var("SEG_FMT_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(500);
    let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let formatted = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&perturbed(), |x| {
            // Generated text the grammar rejects (rare) is skipped, not counted.
            if let Err(e) = shape(&x) {
                if std::env::var_os("SEG_FMT_DEBUG").is_some() {
                    eprintln!("skipped:\n{x}\n{e}\n");
                }
                return Ok(());
            }
            formatted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            properties(&x).map(|_| ()).map_err(TestCaseError::fail)
        })
        .unwrap();
    eprintln!("fmt properties held on {} generated programs", formatted.into_inner());
}

/// The command: folders, `--check` with a diff, `-`, refusal of a file that does
/// not parse (exit 1, nothing written), and atomic rewrites.
#[test]
fn fmt_command_follows_the_contract() {
    let dir = project();
    let p = dir.path();
    let ugly = "market m from \"m.csv\" { measure   v=sum(a) } # kept\nsegment s=m by d\n";
    let pretty = "market m from \"m.csv\" {\n  measure v = sum(a)\n}  # kept\nsegment s = m by d\n";
    std::fs::create_dir_all(p.join("specs/sub")).unwrap();
    std::fs::write(p.join("specs/a.seg"), ugly).unwrap();
    std::fs::write(p.join("specs/sub/b.seg"), pretty).unwrap();
    let broken = "market m from \"m.csv\" { measure v = sum(a) \nsegment = oops\n";
    std::fs::write(p.join("specs/sub/broken.seg"), broken).unwrap();

    // --check: a diff, exit 1, nothing written.
    let o = seg(&["fmt", "--check", "specs"], p);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("--- specs/a.seg") && out.contains("+  measure v = sum(a)"), "{out}");
    assert!(!out.contains("sub/b.seg"), "formatted files show no diff: {out}");
    assert_eq!(std::fs::read_to_string(p.join("specs/a.seg")).unwrap(), ugly);

    // Formatting a folder: the broken spec is refused and left as it was.
    let o = seg(&["fmt", "specs"], p);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("E01"), "the refusal shows the syntax error: {}", text(&o));
    assert_eq!(std::fs::read_to_string(p.join("specs/a.seg")).unwrap(), pretty);
    assert_eq!(std::fs::read_to_string(p.join("specs/sub/broken.seg")).unwrap(), broken);
    let leftovers: Vec<_> = std::fs::read_dir(p.join("specs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");
    let o = seg(&["fmt", "--check", "specs/a.seg", "specs/sub/b.seg"], p);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // `-`: standard input to standard output.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_seg"))
        .args(["fmt", "-"])
        .current_dir(p)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(ugly.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout), pretty);
}
