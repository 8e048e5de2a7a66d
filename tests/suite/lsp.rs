//! The language server end to end: `tests/lsp/` drives `seg lsp` with pytest-lsp,
//! an independent LSP client, in a virtual environment under the target folder
//! (created on first use from `tests/lsp/requirements.txt`).

use super::support::*;
use std::path::PathBuf;
use std::process::Command;

fn venv() -> PathBuf {
    in_target("lsp-venv")
}

fn ensure_venv() -> PathBuf {
    let dir = venv();
    let python = dir.join("bin/python");
    let reqs = root().join("tests/lsp/requirements.txt");
    let stamp = dir.join("requirements.txt");
    let current = std::fs::read(&stamp).ok() == std::fs::read(&reqs).ok();
    if python.exists() && current {
        return python;
    }
    let ok = Command::new("python3").args(["-m", "venv"]).arg(&dir).status();
    assert!(ok.is_ok_and(|s| s.success()), "python3 -m venv failed: CI installs python3");
    let pip = Command::new(&python)
        .args(["-m", "pip", "install", "-q", "-r"])
        .arg(&reqs)
        .status()
        .expect("run pip");
    assert!(pip.success(), "pip install -r tests/lsp/requirements.txt failed");
    std::fs::copy(&reqs, &stamp).unwrap();
    python
}

#[test]
fn lsp_end_to_end_with_pytest_lsp() {
    let python = ensure_venv();
    let out = Command::new(python)
        .args(["-m", "pytest", "-v", "-p", "no:cacheprovider", "-o", "log_cli=true"])
        .current_dir(root().join("tests/lsp"))
        .env("SEG_BIN", env!("CARGO_BIN_EXE_seg"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run pytest");
    let log =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    // The log is the record of every feature working; CI keeps it.
    eprintln!("{log}");
    assert!(out.status.success(), "the LSP suite failed:\n{log}");
}
