//! The authoring tools' speed: `seg fmt` over 1,000 specs, and the language server's
//! diagnostics after an edit to a 500-line spec in a 100-spec workspace, and its
//! completion, through an in-memory connection (the server as `seg lsp` runs it,
//! minus the pipe). Targets (issue 14): fmt under 1 s, diagnostics under 50 ms,
//! completion under 20 ms.
//!
//! `cargo bench --bench authoring` (`-- --runs N` for more samples).

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// A 500-line spec: a market over `data.csv`, rules, bins and mappings, segments.
fn big_spec(k: usize) -> String {
    let mut s = String::from(
        "# A generated spec for the authoring benchmark.\nmarket sales from \"data.csv\" {\n  columns {\n    id int, region text, channel text, age int, revenue float, day date\n  }\n  measure value = sum(revenue)\n  measure n     = count()\n}\n\n",
    );
    let mut i = 0;
    while s.lines().count() < 470 {
        s.push_str(&format!(
            "dimension d{k}_{i} on sales = rules {{\n  revenue >= {} and age < {} => \"high\"\n  revenue >= {}                => \"mid\"\n  else                          => \"low\"\n}}\n\n",
            100 + i,
            30 + i % 40,
            10 + i
        ));
        i += 1;
    }
    for j in 0..i.min(25) {
        s.push_str(&format!("segment s{j} = sales by d{k}_{j} x d{k}_{}\n", (j + 1) % i));
    }
    s
}

fn data_csv() -> String {
    let mut s = String::from("id,region,channel,age,revenue,day\n");
    for i in 0..1000 {
        s.push_str(&format!(
            "{i},r{},c{},{},{}.5,2024-01-{:02}\n",
            i % 7,
            i % 3,
            18 + i % 60,
            i % 500,
            1 + i % 28
        ));
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn send_request(
    conn: &Connection,
    id: i32,
    method: &str,
    params: impl serde::Serialize,
) -> serde_json::Value {
    conn.sender
        .send(Message::Request(Request::new(RequestId::from(id), method.to_string(), params)))
        .unwrap();
    loop {
        match conn.receiver.recv().unwrap() {
            Message::Response(r) if r.id == RequestId::from(id) => {
                return r.result.unwrap_or_default()
            }
            _ => {}
        }
    }
}

fn notify(conn: &Connection, method: &str, params: impl serde::Serialize) {
    conn.sender.send(Message::Notification(Notification::new(method.to_string(), params))).unwrap();
}

fn wait_diagnostics(conn: &Connection) -> usize {
    loop {
        if let Message::Notification(n) = conn.receiver.recv().unwrap() {
            if n.method == notification::PublishDiagnostics::METHOD {
                let p: PublishDiagnosticsParams = serde_json::from_value(n.params).unwrap();
                return p.diagnostics.len();
            }
        }
    }
}

fn fmt_bench(dir: &Path) -> Duration {
    // 1,000 specs: the repo's specs and generated ones, each written unformatted.
    let mut specs: Vec<String> = Vec::new();
    for e in
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("specs")).unwrap().flatten()
    {
        if e.path().extension().is_some_and(|x| x == "seg") {
            specs.push(std::fs::read_to_string(e.path()).unwrap());
        }
    }
    let mut all = Vec::new();
    for i in 0..1000 {
        let base = if i % 10 == 0 { big_spec(i) } else { specs[i % specs.len()].clone() };
        all.push(base.replace(" = ", "=").replace("  ", " "));
    }
    let _ = dir;
    let started = Instant::now();
    let mut lines = 0;
    for s in &all {
        let out = seg::fmt::format_bytes(s.as_bytes()).expect("formats");
        lines += out.lines().count();
    }
    let t = started.elapsed();
    eprintln!("fmt: 1000 specs, {lines} lines out, {:.0} ms", t.as_secs_f64() * 1e3);
    t
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .map_or(21, |s| s.parse().expect("--runs N"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join(".git"), "").unwrap();
    std::fs::write(root.join("data.csv"), data_csv()).unwrap();
    for k in 0..100 {
        std::fs::write(root.join(format!("spec{k:03}.seg")), big_spec(k)).unwrap();
    }
    let fmt = median((0..3).map(|_| fmt_bench(root)).collect());

    let (server, client) = Connection::memory();
    let thread = std::thread::spawn(move || seg::lsp::serve(&server).unwrap());
    #[allow(deprecated)]
    let init = InitializeParams {
        root_uri: Some(Url::from_directory_path(root).unwrap()),
        workspace_folders: Some(vec![WorkspaceFolder {
            uri: Url::from_directory_path(root).unwrap(),
            name: "bench".into(),
        }]),
        ..Default::default()
    };
    send_request(&client, 1, request::Initialize::METHOD, init);
    notify(&client, notification::Initialized::METHOD, InitializedParams {});
    let path = root.join("spec000.seg");
    let uri = Url::from_file_path(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    eprintln!("lsp: a {}-line spec in a workspace of 100", text.lines().count());
    notify(
        &client,
        notification::DidOpenTextDocument::METHOD,
        DidOpenTextDocumentParams {
            text_document: TextDocumentItem::new(uri.clone(), "seg".into(), 1, text.clone()),
        },
    );
    wait_diagnostics(&client);
    let mut diag_times = Vec::new();
    let mut diags = 0;
    for v in 0..runs {
        // An edit in the middle: a cut point changes, as when tuning a rule.
        let edited = text.replacen("revenue >= 100", &format!("revenue >= {}", 100 + v), 1);
        let started = Instant::now();
        notify(
            &client,
            notification::DidChangeTextDocument::METHOD,
            DidChangeTextDocumentParams {
                text_document: VersionedTextDocumentIdentifier::new(uri.clone(), v as i32 + 2),
                content_changes: vec![TextDocumentContentChangeEvent {
                    range: None,
                    range_length: None,
                    text: edited,
                }],
            },
        );
        diags = wait_diagnostics(&client);
        diag_times.push(started.elapsed());
    }
    let line = text.lines().position(|l| l.starts_with("segment s1 ")).unwrap() as u32;
    let mut completion_times = Vec::new();
    let mut items = 0;
    for i in 0..runs {
        let started = Instant::now();
        let r = send_request(
            &client,
            100 + i as i32,
            request::Completion::METHOD,
            CompletionParams {
                text_document_position: TextDocumentPositionParams::new(
                    TextDocumentIdentifier::new(uri.clone()),
                    Position::new(line, "segment s1 = sales by ".len() as u32),
                ),
                work_done_progress_params: Default::default(),
                partial_result_params: Default::default(),
                context: None,
            },
        );
        completion_times.push(started.elapsed());
        items = r.as_array().map_or(0, Vec::len);
    }
    send_request(&client, 999, request::Shutdown::METHOD, ());
    notify(&client, notification::Exit::METHOD, ());
    thread.join().unwrap();
    let (d, c) = (median(diag_times), median(completion_times));
    println!(
        "authoring: fmt of 1000 specs {:.0} ms (target < 1000); diagnostics after an edit {:.1} ms ({diags} diagnostics; target < 50); completion {:.2} ms ({items} items; target < 20); medians",
        fmt.as_secs_f64() * 1e3,
        d.as_secs_f64() * 1e3,
        c.as_secs_f64() * 1e3
    );
}
