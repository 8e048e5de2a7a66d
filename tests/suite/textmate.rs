//! The TextMate grammar as VS Code runs it: `tests/textmate/test.mjs` tokenizes every
//! spec with vscode-textmate and vscode-oniguruma (npm, installed under the target
//! folder from `tests/textmate/package-lock.json`) and checks the scopes.

use super::support::*;
use std::path::PathBuf;
use std::process::Command;

fn modules_dir() -> PathBuf {
    in_target("textmate")
}

#[test]
fn textmate_grammar_scopes_every_spec() {
    let dir = modules_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let lock = root().join("tests/textmate/package-lock.json");
    let stamp = dir.join("package-lock.json");
    if !dir.join("node_modules/vscode-textmate").exists()
        || std::fs::read(&stamp).ok() != std::fs::read(&lock).ok()
    {
        std::fs::copy(root().join("tests/textmate/package.json"), dir.join("package.json"))
            .unwrap();
        std::fs::copy(&lock, &stamp).unwrap();
        let ok = Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "npm ci failed: CI installs node and npm");
    }
    let out = Command::new("node")
        .arg(root().join("tests/textmate/test.mjs"))
        .env("TEXTMATE_MODULES", dir.join("node_modules"))
        .output()
        .expect("run node");
    let log =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{log}");
    assert!(out.status.success(), "TextMate scopes are wrong:\n{log}");
}
