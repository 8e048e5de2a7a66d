//! The command line: the only place that prints or picks an exit code.

mod check_cmd;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

pub mod exit {
    pub const OK: u8 = 0;
    pub const INVALID: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const DATA: u8 = 3;
    pub const RESOURCE: u8 = 4;
    pub const POLICY: u8 = 5;
    pub const BUG: u8 = 70;
}

#[derive(Parser, Debug)]
#[command(name = "seg", version, about = "Segmentation as code: MECE-checked market segmentations over Arrow data")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiagFormat {
    Human,
    Json,
    Github,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Read data paths outside the project root (absolute paths, `..`, links)
    #[arg(long)]
    pub allow_outside: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Parse and type-check specs, including the MECE rule analysis
    #[command(after_help = "Example:\n  seg check specs/\n  seg check --format github --deny-warnings specs/coffee.seg")]
    Check {
        /// Spec files or folders (searched recursively for *.seg); default `.`
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
        format: DiagFormat,
        /// Exit 1 on warnings too
        #[arg(long)]
        deny_warnings: bool,
        /// Never open a data file; markets must declare `columns`
        #[arg(long)]
        no_data: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Runs the CLI; a panic anywhere becomes exit 70 with "this is a bug".
pub fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error, this is a bug in seg: {info}");
        eprintln!("please report it with the spec and command that caused it");
    }));
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match std::panic::catch_unwind(|| dispatch(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(_) => ExitCode::from(exit::BUG),
    }
}

fn dispatch(cli: Cli) -> u8 {
    match cli.command {
        Command::Check { paths, format, deny_warnings, no_data, data } => {
            check_cmd::run(&paths, format, deny_warnings, no_data, &data)
        }
    }
}
