//! The progress bar of long runs (cli-v2): on standard error, only when it is a
//! terminal, and only once a run has taken about a second. It names the
//! segmentation being computed and counts the files, the batches and the rows read.

use crate::engine::progress;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Draws the bar until dropped.
pub struct Bar {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts counting and, after a second, drawing; `None` when standard error is not
/// a terminal (pipes, CI: nothing changes there).
pub fn start(files: usize) -> Option<Bar> {
    if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return None;
    }
    progress::enable();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // How long a run goes before the bar shows: about a second (a test sets less).
    let after = std::env::var("SEG_PROGRESS_AFTER_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(1), Duration::from_millis);
    let thread = std::thread::spawn(move || {
        let started = Instant::now();
        while started.elapsed() < after {
            if flag.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let bar = indicatif::ProgressBar::new_spinner().with_elapsed(started.elapsed());
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        // Drawn at least once: a run that ends right after the delay still shows it.
        loop {
            let (rows, batches) = progress::read();
            bar.set_message(format!(
                "segment {} · {files} file{} · {batches} batches · {} rows read",
                progress::current(),
                if files == 1 { "" } else { "s" },
                crate::engine::output::group_thousands(&rows.to_string())
            ));
            bar.tick();
            if flag.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    });
    Some(Bar { stop, thread: Some(thread) })
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
