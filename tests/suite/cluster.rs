//! `seg run --cluster` on Apache DataFusion Ballista (feature `cluster`).
//!
//! - Real processes: a `ballista-scheduler` and two `ballista-executor`s, started
//!   here on 127.0.0.1 with free ports (from `SEG_BALLISTA_BIN`, which `.ci/run`
//!   builds; without it the test says so and passes, except under CI). Every
//!   segmentation of every spec in `specs/` gives `seg run`'s numbers there or is
//!   refused with E0801; `seg run specs/coffee.seg --cluster` prints exactly what
//!   `seg run` prints.
//! - An address where no scheduler listens is a prompt E0601 (exit 3), not a hang.

use super::support::*;
use seg::engine::session::{Session, SessionOptions};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Each segmentation of `spec` locally and on the cluster `connect` gives: the
/// failures, and how many segmentations ran equal and were refused.
fn compare_spec(
    spec: &Path,
    connect: &dyn Fn(&mut Session) -> Result<(), seg::engine::session::EngineError>,
    failures: &mut Vec<String>,
) -> (usize, usize) {
    let file = super::golden::load(spec);
    let program = file.program.clone().expect("specs check");
    let dir = spec.parent().unwrap();
    let local = Session::new(program.clone(), dir, &SessionOptions::default()).expect("session");
    let mut remote =
        Session::new(program.clone(), dir, &SessionOptions::default()).expect("session");
    if let Err(e) = connect(&mut remote) {
        failures.push(format!("{}: cannot connect: {}", file.display, e.to_text()));
        return (0, 0);
    }
    let (mut equal, mut refused) = (0, 0);
    for (s, sd) in program.segments.iter().enumerate() {
        let what = format!("{} {}", file.display, sd.name);
        let want = seg::engine::batches_to_values(&local.run_segment(s).expect("seg run"));
        match remote.run_segment(s) {
            Ok(b) => {
                let got = seg::engine::batches_to_values(&b);
                if same_rows(&want, &got) {
                    equal += 1;
                } else {
                    failures
                        .push(format!("{what}: different rows\nlocal: {want:?}\ncluster: {got:?}"));
                }
            }
            Err(e) if e.code() == Some(seg::diagnostic::Code::E0801) => refused += 1,
            Err(e) => failures.push(format!("{what}: {}", e.to_text())),
        }
    }
    (equal, refused)
}

/// A port nobody listens on now (the OS's pick, released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Child processes killed when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn wait_for(what: &str, deadline: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < deadline, "{what} did not come up within {deadline:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET /readyz` on an executor's health port answers 200 once it has registered.
fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
}

/// The folder with `ballista-scheduler` and `ballista-executor`, if built.
fn ballista_bin() -> Option<PathBuf> {
    let dir = std::env::var_os("SEG_BALLISTA_BIN").map(PathBuf::from)?;
    dir.join("ballista-scheduler").exists().then_some(dir)
}

#[test]
fn a_scheduler_and_two_executors_give_seg_runs_numbers() {
    ensure_fixtures();
    let Some(bin) = ballista_bin() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "SEG_BALLISTA_BIN names no folder with ballista-scheduler; .ci/run builds it"
        );
        eprintln!("skipped: SEG_BALLISTA_BIN is not set (.ci/run builds the Ballista servers)");
        return;
    };
    // The servers run elsewhere than the specs: the plans must carry whole paths.
    let work = tempfile::tempdir().unwrap();
    let log = |name: &str| Stdio::from(std::fs::File::create(work.path().join(name)).unwrap());
    let scheduler = free_port();
    let mut procs = Processes(Vec::new());
    procs.0.push(
        Command::new(bin.join("ballista-scheduler"))
            .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
            .args(["--bind-port", &scheduler.to_string()])
            .current_dir(work.path())
            .stdout(log("scheduler.out"))
            .stderr(log("scheduler.err"))
            .spawn()
            .expect("start ballista-scheduler"),
    );
    wait_for("the scheduler", Duration::from_secs(60), || {
        TcpStream::connect(("127.0.0.1", scheduler)).is_ok()
    });
    let mut health = Vec::new();
    for i in 0..2 {
        let (flight, grpc, probe) = (free_port(), free_port(), free_port());
        let dir = work.path().join(format!("executor{i}"));
        std::fs::create_dir(&dir).unwrap();
        procs.0.push(
            Command::new(bin.join("ballista-executor"))
                .args(["--scheduler-host", "127.0.0.1"])
                .args(["--scheduler-port", &scheduler.to_string()])
                .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
                .args(["--bind-port", &flight.to_string()])
                .args(["--bind-grpc-port", &grpc.to_string()])
                .args(["--bind-health-port", &probe.to_string()])
                .args(["--scheduler-connect-timeout-seconds", "60", "--vcores", "1"])
                .arg("--work-dir")
                .arg(&dir)
                .current_dir(&dir)
                .stdout(log(&format!("executor{i}.out")))
                .stderr(log(&format!("executor{i}.err")))
                .spawn()
                .expect("start ballista-executor"),
        );
        health.push(probe);
    }
    for &p in &health {
        wait_for("an executor", Duration::from_secs(60), || ready(p));
    }
    let url = format!("df://127.0.0.1:{scheduler}");

    let mut failures = Vec::new();
    let (mut equal, mut refused) = (0, 0);
    for spec in files_with_ext(&root().join("specs"), "seg") {
        let (e, r) = compare_spec(&spec, &|s| s.connect_cluster(&url), &mut failures);
        equal += e;
        refused += r;
    }
    eprintln!("two executors: {equal} segmentations equal, {refused} refused with E0801");

    // The table a terminal shows (floats rounded as `seg run` rounds them: sums
    // added in another order differ in the last bits).
    let local = seg(&["run", "specs/coffee.seg", "--format", "table"], &root());
    let remote = seg(&["run", "specs/coffee.seg", "--format", "table", "--cluster", &url], &root());
    if !remote.status.success() || remote.stdout != local.stdout {
        failures.push(format!(
            "seg run --cluster printed another table than seg run:\n{}\nseg run:\n{}",
            text(&remote),
            text(&local)
        ));
    }
    if !failures.is_empty() {
        for name in ["scheduler.err", "executor0.err"] {
            let log = std::fs::read_to_string(work.path().join(name)).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            eprintln!("{name} (last lines, newest first):\n{}", tail.join("\n"));
        }
    }
    finish(failures);
}

#[test]
fn no_scheduler_at_the_address_is_a_prompt_data_error() {
    ensure_fixtures();
    let url = format!("df://127.0.0.1:{}", free_port());
    let start = Instant::now();
    let o = seg(&["run", "specs/coffee.seg", "--cluster", &url], &root());
    let shown = text(&o);
    assert_eq!(o.status.code(), Some(3), "{shown}");
    assert!(shown.contains("E0601") && shown.contains(&url), "{shown}");
    assert!(start.elapsed() < Duration::from_secs(60), "took {:?}", start.elapsed());
    let o = seg(&["run", "specs/coffee.seg", "--cluster", "http://x:1"], &root());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
