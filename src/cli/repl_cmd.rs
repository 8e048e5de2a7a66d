//! `seg repl`: the interactive loop on a terminal, or line by line from a pipe.

use super::{exit, DataArgs};
use crate::repl::{editor, open_brackets, Repl, Reply};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn show(r: &Reply) {
    if !r.out.is_empty() {
        out!("{}", r.out);
        let _ = std::io::stdout().flush();
    }
    if !r.err.is_empty() {
        err!("{}", r.err);
    }
}

/// Stops the key watcher, and waits for it so the terminal mode is restored before
/// the line editor takes the terminal back.
struct KeyWatch {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Drop for KeyWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Resolves on Ctrl-C while a query runs: a SIGINT, or the key itself read in raw
/// mode (some terminals and pseudo-terminals deliver only the key).
fn ctrl_c() -> crate::repl::Cancel {
    Box::pin(async move {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            use crossterm::event::{self, Event, KeyCode, KeyModifiers};
            if crossterm::terminal::enable_raw_mode().is_err() {
                return;
            }
            while !flag.load(Ordering::Relaxed) {
                if event::poll(Duration::from_millis(50)).unwrap_or(false) {
                    if let Ok(Event::Key(k)) = event::read() {
                        if k.code == KeyCode::Char('c')
                            && k.modifiers.contains(KeyModifiers::CONTROL)
                        {
                            let _ = tx.send(());
                            break;
                        }
                    }
                }
            }
            let _ = crossterm::terminal::disable_raw_mode();
        });
        let _watch = KeyWatch { stop, handle: Some(handle) };
        let key = async {
            if rx.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let signal = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            _ = key => {}
            _ = signal => {}
        }
    })
}

/// Piped input has no keys to watch; only SIGINT cancels.
fn ctrl_c_signal() -> crate::repl::Cancel {
    Box::pin(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}

pub fn run(spec: Option<&Path>, data: &DataArgs, threads: Option<usize>) -> u8 {
    let interactive = std::io::stdin().is_terminal();
    let color =
        interactive && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    let (mut repl, first) =
        match Repl::new(spec, data.allow_outside, threads, color, data.as_of, data.no_lock) {
            Ok(x) => x,
            Err(e) => {
                err!("{e}");
                return exit::INVALID;
            }
        };
    repl.bars = interactive && std::io::stdout().is_terminal();
    show(&first);
    if !interactive {
        return piped(&mut repl);
    }
    outln!("seg repl: :help for commands, Ctrl-D to quit");
    let names = Arc::new(Mutex::new(repl.names()));
    let mut ed = editor::editor(names.clone(), color);
    loop {
        if let Ok(mut n) = names.lock() {
            *n = repl.names();
        }
        let prompt = editor::SegPrompt { spec: repl.spec_name() };
        match ed.read_line(&prompt) {
            Ok(reedline::Signal::Success(line)) => {
                let r = repl.eval(&line, ctrl_c);
                show(&r);
                if r.quit {
                    break;
                }
            }
            Ok(reedline::Signal::CtrlC) => continue,
            Ok(reedline::Signal::CtrlD) => break,
            Ok(_) => continue,
            Err(e) => {
                errln!("error: {e}");
                return exit::DATA;
            }
        }
    }
    exit::OK
}

/// Piped input: one input per line, continued while brackets are open. Exits 1 if
/// any input failed, so scripts notice.
fn piped(repl: &mut Repl) -> u8 {
    let mut failed = false;
    let mut buf = String::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        buf.push_str(&line);
        buf.push('\n');
        if open_brackets(&buf) > 0 {
            continue;
        }
        let r = repl.eval(&buf, ctrl_c_signal);
        buf.clear();
        show(&r);
        failed |= r.failed;
        if r.quit {
            break;
        }
    }
    if !buf.trim().is_empty() {
        let r = repl.eval(&buf, ctrl_c_signal);
        show(&r);
        failed |= r.failed;
    }
    if failed {
        exit::INVALID
    } else {
        exit::OK
    }
}
