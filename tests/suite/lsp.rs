//! The language server end to end: `tests/lsp/` drives `seg lsp` with pytest-lsp,
//! an independent LSP client, in a virtual environment under the target folder
//! (created on first use from `tests/lsp/requirements.txt`).

use super::support::*;
use std::path::PathBuf;
use std::process::Command;

fn ensure_venv() -> PathBuf {
    python_venv("lsp-venv", "tests/lsp/requirements.txt")
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
