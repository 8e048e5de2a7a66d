//! A Ballista run on loopback against a local run (feature `cluster`): 10M rows of
//! a Parquet market, three segmentations, `seg run` in process against the same
//! session with `--cluster` (portable plans on the cluster): a real
//! `ballista-scheduler` and two `ballista-executor`s started on 127.0.0.1 from
//! `SEG_BALLISTA_BIN` (the folder `.ci/run` builds the servers into). Results are
//! checked equal first.
//!
//! `cargo bench --features cluster --bench cluster` (`-- --rows 1M --runs 1`).

use seg::engine::session::Session;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::median;

#[allow(dead_code)]
mod support;

use support::SALES_SPEC as SPEC;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A scheduler and two executors from `bin`, each executor with one core; returns
/// the scheduler's address once both executors answer `/readyz`.
fn start(bin: &Path, work: &Path) -> (Servers, String) {
    let port = free_port();
    let quiet = || Stdio::null();
    let mut servers = Servers(vec![Command::new(bin.join("ballista-scheduler"))
        .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
        .args(["--bind-port", &port.to_string()])
        .stdout(quiet())
        .stderr(quiet())
        .spawn()
        .expect("ballista-scheduler")]);
    let mut probes = Vec::new();
    for i in 0..2 {
        let (flight, grpc, probe) = (free_port(), free_port(), free_port());
        let dir = work.join(format!("executor{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        servers.0.push(
            Command::new(bin.join("ballista-executor"))
                .args(["--scheduler-host", "127.0.0.1", "--scheduler-port", &port.to_string()])
                .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
                .args(["--bind-port", &flight.to_string(), "--bind-grpc-port", &grpc.to_string()])
                .args(["--bind-health-port", &probe.to_string()])
                .args(["--scheduler-connect-timeout-seconds", "60", "--vcores", "1"])
                .arg("--work-dir")
                .arg(&dir)
                .stdout(quiet())
                .stderr(quiet())
                .spawn()
                .expect("ballista-executor"),
        );
        probes.push(probe);
    }
    let started = Instant::now();
    for p in probes {
        while !ready(p) {
            assert!(started.elapsed() < Duration::from_secs(60), "executors did not register");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    (servers, format!("df://127.0.0.1:{port}"))
}

fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.write_all(b"GET /readyz HTTP/1.0\r\n\r\n");
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.contains(" 200")
}

fn run_all(s: &Session) -> Vec<Vec<Vec<seg::check::program::Value>>> {
    (0..s.program.segments.len())
        .map(|k| seg::engine::batches_to_values(&s.run_segment(k).expect("run")))
        .collect()
}

fn same(
    a: &[Vec<Vec<seg::check::program::Value>>],
    b: &[Vec<Vec<seg::check::program::Value>>],
) -> bool {
    use seg::check::program::Value;
    a.iter().flatten().zip(b.iter().flatten()).all(|(x, y)| {
        x.iter().zip(y).all(|(u, v)| match (u, v) {
            (Value::Float(p), Value::Float(q)) => (p - q).abs() <= 1e-9 * p.abs().max(q.abs()),
            _ => u == v,
        })
    }) && a.iter().map(Vec::len).eq(b.iter().map(Vec::len))
}

fn main() {
    let (rows, runs, dir) = support::rows_runs_dir("cluster");
    if !dir.join("sales.parquet").exists() {
        eprintln!("cluster: generating {rows} rows in {}", dir.display());
        support::sales_parquet(&dir.join("sales.parquet"), rows);
    }
    let work = tempfile::tempdir().unwrap();
    let bin = std::env::var_os("SEG_BALLISTA_BIN")
        .map(PathBuf::from)
        .expect("SEG_BALLISTA_BIN: the folder with ballista-scheduler and ballista-executor");
    let (_servers, url) = start(&bin, work.path());
    let (mut local, mut remote) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let started = Instant::now();
        let (_, s) = support::open(&dir, SPEC);
        let mine = run_all(&s);
        local.push(started.elapsed().as_secs_f64());

        let started = Instant::now();
        let (_, mut s) = support::open(&dir, SPEC);
        s.connect_cluster(&url).expect("connect");
        let theirs = run_all(&s);
        remote.push(started.elapsed().as_secs_f64());
        assert!(same(&mine, &theirs), "the cluster's rows differ:\n{mine:?}\n{theirs:?}");
        eprintln!("cluster: run {}: local {:.2} s, cluster {:.2} s", i + 1, local[i], remote[i]);
    }
    let (l, r) = (median(local), median(remote));
    println!(
        "cluster: {rows} rows, 3 segmentations, medians of {runs}: local {l:.2} s, Ballista on loopback (a scheduler, two executors) {r:.2} s, {:.2}x",
        r / l
    );
}
