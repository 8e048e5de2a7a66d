//! `seg repl` driven as a person would: through a pseudo-terminal, and through a pipe.

use super::support::*;
use expectrl::{ControlCode, Eof, Expect, Session};
use std::process::{Command, Stdio};
use std::time::Duration;

fn repl(
    args: &[&str],
    cwd: &std::path::Path,
    history: &std::path::Path,
) -> expectrl::session::OsSession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seg"));
    cmd.arg("repl")
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("SEG_HISTORY", history)
        .env("TERM", "xterm");
    let mut s = Session::spawn(cmd).expect("spawn seg repl in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(120)));
    s
}

/// Waits for the prompt. reedline asks the terminal where the cursor is (`ESC[6n`)
/// before drawing it; a real terminal answers, so the test does too, or keys typed
/// meanwhile would be read as part of the awaited answer.
fn ready(s: &mut expectrl::session::OsSession, prompt: &str) {
    s.expect("\x1b[6n").unwrap();
    s.send("\x1b[1;1R").unwrap();
    s.expect(prompt).unwrap();
}

/// Types a line, waits for each of `replies` in order, then for the next prompt.
fn say(s: &mut expectrl::session::OsSession, line: &str, replies: &[&str], prompt: &str) {
    s.send_line(line).unwrap();
    for r in replies {
        s.expect(*r).unwrap();
    }
    ready(s, prompt);
}

#[test]
fn repl_in_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let history = tmp.path().join("history.txt");
    let mut s = repl(&["specs/coffee.seg"], &root(), &history);
    let p = "seg (coffee.seg)> ";
    ready(&mut s, p);
    say(
        &mut s,
        "dimension bulk on coffee = rules { kg >= 10 => \"bulk\"; else => \"small\" }",
        &["defined dimension bulk"],
        p,
    );
    say(&mut s, "coffee by bulk then buyer", &["share_of_parent", "small"], p);
    say(
        &mut s,
        "dimension bulk on coffee = rules { kg >= 20 => \"bulk\"; else => \"small\" }",
        &["redefined dimension bulk"],
        p,
    );
    // An unknown column: the diagnostic points into the typed line, with help.
    say(&mut s, "coffee by buyer where revenu > 0", &["E0201", "did you mean `revenue`?"], p);
    // Tab completes a dimension name, and a column name.
    s.send("coffee by venue_gr").unwrap();
    s.send("\t").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.send("where reven").unwrap();
    s.send("\t").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.send("> 100\r").unwrap();
    s.expect("consumer").unwrap();
    ready(&mut s, p);
    // Multi-line input while braces are open.
    s.send_line("dimension tier on coffee = rules {").unwrap();
    s.send_line("  revenue >= 100 => \"big\"").unwrap();
    say(&mut s, "  else => \"small\" }", &["defined dimension tier"], p);
    say(&mut s, ":dims", &["tier on coffee: rules: big, small"], p);
    s.send(ControlCode::EndOfTransmission).unwrap();
    s.expect(Eof).unwrap();
    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("coffee by bulk then buyer"), "history: {saved}");
}

#[test]
fn ctrl_c_cancels_a_long_query_and_the_session_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_seg"))
        .args(["gen", "--rows", "3000000", "-o", "big.csv"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        dir.path().join("big.seg"),
        "market coffee from \"big.csv\" {\n  columns { order_id int, customer_id int, customer_type text, age int, region text, product text, channel text, kg float, revenue float, order_date date }\n  measure orders = count(distinct order_id)\n  measure mid = median(revenue)\n}\nentity customer of coffee by customer_id { spend = sum(revenue) }\ndimension venue on coffee = customer_type\ndimension tier on coffee = quantiles revenue 10\ndimension value on customer = quantiles spend 5\n",
    )
    .unwrap();
    let mut s = repl(&["big.seg"], dir.path(), &dir.path().join("h.txt"));
    let p = "seg (big.seg)> ";
    ready(&mut s, p);
    say(&mut s, ":time on", &["timing on"], p);
    // Seconds of work in a debug build: a sort for the quantiles, an entity join.
    s.send_line("coffee by tier then venue then value").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    s.send(ControlCode::EndOfText).unwrap();
    s.expect("cancelled").unwrap();
    ready(&mut s, p);
    say(&mut s, ":schema coffee", &["customer_type"], p);
    // A grid with data-dependent labels groups its segments while planning (they are
    // computed once, for the label domains): Ctrl-C stops that part too.
    s.send_line("coffee by tier x venue x value").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    s.send(ControlCode::EndOfText).unwrap();
    s.expect("cancelled").unwrap();
    ready(&mut s, p);
    s.send("this line is abandoned").unwrap();
    s.send(ControlCode::EndOfText).unwrap(); // at the prompt: clears the line, keeps the session
    ready(&mut s, p);
    say(&mut s, ":help", &[":sample MARKET"], p);
    say(&mut s, "coffee by tier", &["Q10"], p);
    s.send_line(":quit").unwrap();
    s.expect(Eof).unwrap();
}

fn table_body(text: &str, header_word: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| l.starts_with(header_word)).expect("a table header");
    lines[start..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// `seg repl specs/coffee.seg` fed `script` on a pipe, to its end.
fn piped_repl(script: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_seg"))
        .args(["repl", "specs/coffee.seg"])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn piped_repl_prints_what_seg_run_prints() {
    let scratch = tempfile::tempdir_in(root()).unwrap();
    let saved = scratch.path().join("saved.seg");
    let out = piped_repl(&format!("coffee by buyer then venue\n:save {}\n", saved.display()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let repl_out = String::from_utf8_lossy(&out.stdout).to_string();
    let run = Command::new(env!("CARGO_BIN_EXE_seg"))
        .args(["run", "specs/coffee.seg", "--segment", "customers", "--format", "table"])
        .current_dir(root())
        .output()
        .unwrap();
    let run_out = String::from_utf8_lossy(&run.stdout).to_string();
    assert_eq!(table_body(&repl_out, "buyer"), table_body(&run_out, "buyer"));
    // `:save` writes a spec that `seg check` accepts.
    let check = Command::new(env!("CARGO_BIN_EXE_seg"))
        .arg("check")
        .arg(&saved)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    // A bad line makes a script fail.
    let out = piped_repl("coffee by nothing\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("E0203"));
}

/// A run shows a progress bar on a terminal (here after 0 ms, not the usual second)
/// naming the segmentation and counting rows read, and share bars beside its
/// table; in a pipe it shows neither.
#[test]
fn progress_and_share_bars_on_a_terminal_only() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seg"));
    cmd.args(["run", "specs/coffee.seg", "--segment", "customers"])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("SEG_PROGRESS_AFTER_MS", "0")
        .env_remove("CI")
        .env("TERM", "xterm");
    let mut s = Session::spawn(cmd).expect("spawn seg run in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(120)));
    s.expect("rows read").expect("a progress bar");
    s.expect("█").expect("share bars beside the table");
    s.expect(Eof).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_seg"))
        .args(["run", "specs/coffee.seg", "--segment", "customers", "--format", "table"])
        .current_dir(root())
        .env("SEG_PROGRESS_AFTER_MS", "0")
        .env_remove("CI")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let all = text(&o);
    assert!(!all.contains("rows read") && !all.contains('█'), "{all}");
}

/// A project folder holding `sales.seg` with `spec`; the test writes `sales.csv`.
fn sales_project(spec: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let (data, path) = (dir.path().join("sales.csv"), dir.path().join("sales.seg"));
    std::fs::write(&path, spec).unwrap();
    (dir, data, path)
}

fn never() -> seg::repl::Cancel {
    Box::pin(std::future::pending::<()>())
}

/// A REPL session on `spec` with 2 threads, as the file-following tests use it.
fn session(spec: &std::path::Path) -> seg::repl::Repl {
    seg::repl::Repl::new(Some(spec), false, Some(2), false, None, false).expect("load spec").0
}

/// `repl`'s answer to `line`, which must not fail.
fn answer(repl: &mut seg::repl::Repl, line: &str) -> String {
    let out = repl.eval(line, never);
    assert!(!out.failed, "{}", out.err);
    out.out
}

/// The last answer of a fresh REPL session (nothing held) on `spec` to `lines`.
fn fresh_answer(spec: &std::path::Path, lines: &[&str]) -> String {
    let mut r = session(spec);
    lines.iter().fold(String::new(), |_, line| answer(&mut r, line))
}

/// The REPL holds the columns a query read in memory: a query on a column not yet
/// held reads the file again, and so does any query after the file changed. Each
/// answer is what a fresh session (nothing held) gives.
#[test]
fn held_columns_follow_the_file() {
    let (_dir, data, spec) = sales_project(
        "market sales from \"sales.csv\" {\n  measure kg = sum(kg)\n  measure value = sum(revenue)\n}\n\
         dimension size on sales = rules {\n  kg >= 10 => \"big\"\n  else => \"small\"\n}\n\
         dimension kind on sales = kind\n",
    );
    let fresh = |query: &str| fresh_answer(&spec, &[query]);
    std::fs::write(&data, "kind,kg,revenue\na,1,10\nb,20,5\na,30,7\nc,4,1\n").unwrap();
    let mut repl = session(&spec);
    let mut ask = |query: &str| answer(&mut repl, query);
    let before = ask("sales by size");
    assert_eq!(before, fresh("sales by size"));
    assert!(before.contains("big"), "{before}");
    // `kind` was not read by the first query.
    assert_eq!(ask("sales by size x kind"), fresh("sales by size x kind"));
    assert_eq!(ask("sales by kind"), fresh("sales by kind"));
    // Another length and other values: the held columns are stale.
    std::fs::write(&data, "kind,kg,revenue\nz,50,1\nz,60,2\ny,1,3\n").unwrap();
    let after = ask("sales by size x kind");
    assert_ne!(after, before);
    assert!(after.contains('z'), "{after}");
    assert_eq!(after, fresh("sales by size x kind"));
}

/// Rows that repeat their labels' and distinct counts' columns are reduced once per
/// query shape and held (`lower::reduce`): later queries of that shape group the
/// reduced rows, until the file changes. Each answer is what a fresh session gives.
#[test]
fn reduced_rows_follow_the_file() {
    let (_dir, data, spec) = sales_project(
        "market sales from \"sales.csv\" {\n  measure kg = sum(kg)\n  measure value = sum(revenue)\n  measure kinds = count(distinct kind)\n  measure top = max(revenue where kind != \"b\")\n}\n\
         dimension size on sales = rules {\n  kg >= 10 => \"big\"\n  else => \"small\"\n}\n",
    );
    let fresh = |lines: &[&str]| fresh_answer(&spec, lines);
    // 40 rows, 4 distinct (kg, kind): reduced to a tenth.
    let rows = |r: &[(&str, f64, f64)], n: usize| {
        let mut t = String::from("kind,kg,revenue\n");
        for i in 0..n {
            let (k, kg, v) = r[i % r.len()];
            t.push_str(&format!("{k},{kg},{}\n", v + (i % 7) as f64 * 0.1));
        }
        t
    };
    std::fs::write(
        &data,
        rows(&[("a", 1.0, 10.0), ("b", 20.0, 5.0), ("c", 1.0, 3.0), ("a", 30.0, 1.0)], 40),
    )
    .unwrap();
    let mut repl = session(&spec);
    let mut ask = |query: &str| answer(&mut repl, query);
    let query = "sales by size with total";
    let before = ask(query);
    assert_eq!(before, fresh(&[query]));
    assert_eq!(ask(query), before);
    // The plan groups the held reduced rows: the combinable parts, not `kg` itself.
    let plan = ask(&format!(":explain {query}"));
    assert!(plan.contains("__r0"), "{plan}");
    // Moving the cut point keeps the shape: the same reduced rows, relabelled.
    let cut = "dimension cut on sales = rules { kg >= 25 => \"big\"; else => \"small\" }";
    ask(cut);
    let moved = ask("sales by cut with total");
    assert_ne!(moved, before);
    assert_eq!(moved, fresh(&[cut, "sales by cut with total"]));
    std::fs::write(&data, rows(&[("z", 50.0, 1.0), ("y", 2.0, 2.0)], 30)).unwrap();
    let after = ask(query);
    assert_ne!(after, before);
    assert_eq!(after, fresh(&[query]));
}
