//! Run-time failures as diagnostics: every error the engine returns carries a code
//! (whose exit class picks the exit code) and, when it comes from lowering, a span
//! in the spec.

use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;

/// Why a run did not finish.
#[derive(Debug)]
pub enum EngineError {
    Failed(Box<Diagnostic>),
    /// The user cancelled the query (Ctrl-C in the REPL).
    Cancelled,
}

impl EngineError {
    fn new(code: Code, message: impl Into<String>) -> EngineError {
        EngineError::Failed(Box::new(Diagnostic::new(code, message)))
    }

    fn help(self, help: &str) -> EngineError {
        match self {
            EngineError::Failed(d) => EngineError::Failed(Box::new(d.with_help(help))),
            other => other,
        }
    }

    /// E0601: a data file failed to read at run time (a bad value, a truncated
    /// file, a file that changed since `check`).
    pub fn data(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0601, message)
            .help("fix the value in the file, or declare the column with a type that reads it")
    }

    /// E0601: a market reads a database table, and the run has no database.
    pub fn needs_database(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0601, message)
            .help("run it with `seg run SPEC --on URL` (docs/databases.md)")
    }

    /// E0601: the database refused the connection or a query.
    pub fn database(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0601, message).help(
            "check the URL, the credentials (PGPASSWORD) and that each market's table exists with the declared columns",
        )
    }

    /// E0601: the Ballista cluster could not be reached, or failed the query.
    pub fn cluster(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0601, message).help(
            "check that a Ballista scheduler listens at that address with executors registered, and that the executors can read the data files at the paths seg resolves (docs/cluster.md)",
        )
    }

    /// E0602: an integer result past 64 bits.
    pub fn overflow(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0602, message)
            .help("declare the column `float` to compute with it approximately")
    }

    /// E0601: a lookup table whose key repeats (a join would count market rows twice).
    pub fn duplicate_key(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0601, message).help(
            "keep one row per key in the table (remove or merge the repeats), or declare as `key` a column that is unique",
        )
    }

    /// E0601: a `migrate` between periods the data does not have.
    pub fn missing_period(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0601, message).help(
            "migrate between periods the data has (the range is above), or point the market at data that covers them",
        )
    }

    /// E0603: the output could not be written (disk full, permissions).
    pub fn write(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0603, message).help(
            "check that the folder exists, that you may write in it and that the disk has room",
        )
    }

    /// E0701: the memory limit is too small for the query.
    pub fn memory(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0701, message).help(
            "raise --memory-limit, or lower --threads (each thread gets an equal share of the limit)",
        )
    }

    /// A memory error (E0701) names the segmentation that ran out, so that a run
    /// of many says which one needs the larger limit.
    pub fn in_segmentation(self, name: &str) -> EngineError {
        match self {
            EngineError::Failed(mut d) if d.code == Code::E0701 => {
                d.message = format!("segmentation `{name}`: {}", d.message);
                EngineError::Failed(d)
            }
            other => other,
        }
    }

    /// E0504: a data path (or `--source`) the path policy refuses.
    pub fn path_refused(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0504, message)
            .help("keep data inside the project (the folder with seg.toml or .git), or pass --allow-outside")
    }

    /// E0507: an output that would replace an input, or an existing file without
    /// `--force`.
    pub fn output_refused(message: impl Into<String>) -> EngineError {
        EngineError::new(Code::E0507, message)
            .help("write to another path; --force replaces an existing output, never an input")
    }

    /// E0902: the engine failed where no input explains it.
    pub fn internal(message: impl std::fmt::Display) -> EngineError {
        EngineError::new(Code::E0902, format!("internal error, this is a bug in seg: {message}"))
            .help("please report it with the spec and the command")
    }

    /// A diagnostic raised while planning (E0901, with the span being lowered).
    pub fn lowering(d: Diagnostic) -> EngineError {
        EngineError::Failed(Box::new(d))
    }

    pub fn code(&self) -> Option<Code> {
        match self {
            EngineError::Failed(d) => Some(d.code),
            EngineError::Cancelled => None,
        }
    }

    /// The error as plain lines, for a terminal or the REPL: `error[E0601]: ...`
    /// and its help. (A lowering error is drawn on the spec instead, where the spec
    /// is at hand.)
    pub fn to_text(&self) -> String {
        match self {
            EngineError::Failed(d) => {
                let mut out = format!("{}[{}]: {}\n", d.severity.as_str(), d.code, d.message);
                if let Some(h) = &d.help {
                    out.push_str(&format!("help: {h}\n"));
                }
                out
            }
            EngineError::Cancelled => "cancelled\n".to_string(),
        }
    }

    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            EngineError::Failed(d) => Some(d),
            EngineError::Cancelled => None,
        }
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Failed(d) => f.write_str(&d.message),
            EngineError::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// `seg check` with data: a `top` list ranks other members than its lock froze.
pub fn top_drifted(span: Span, dim: &str, was: &[&str], is: &[&str]) -> Diagnostic {
    Diagnostic::new(Code::W0432, format!("the top of `{dim}` has changed since it was locked"))
        .with_label(span, "frozen by the lock file")
        .with_note(format!("locked: {}", was.join(", ")))
        .with_note(format!("today: {}", is.join(", ")))
        .with_help("`seg lock` again to adopt today's list, or keep the frozen one on purpose")
}

/// `seg check` with data: a grid whose cells pass `limit`, with each dimension's
/// label count.
pub fn grid_too_large(span: Span, name: &str, cells: u128, sizes: &[(String, u128)]) -> Diagnostic {
    let group = |n: u128| super::output::group_thousands(&n.to_string());
    let factors: Vec<String> = sizes.iter().map(|(d, n)| format!("`{d}` {}", group(*n))).collect();
    Diagnostic::new(
        Code::W0433,
        format!("segmentation `{name}` is a grid of {} cells", group(cells)),
    )
    .with_label(span, "this grid")
    .with_note(format!("label counts: {}", factors.join(" × ")))
    .with_help(
        "a grid lists every combination, present or not: coarsen a dimension (a mapping, `bins`, `top N`), or use `then`, which lists only the combinations present",
    )
}

/// `seg check` with data: frozen groups whose share of the rows (or entities)
/// moved more than 20% away from their share when locked, one note per group.
pub fn groups_drifted(span: Span, dim: &str, of: &str, moved: &[String]) -> Diagnostic {
    let mut d = Diagnostic::new(
        Code::W0432,
        format!("the groups of `{dim}` have drifted from their sizes when locked (shares of {of})"),
    )
    .with_label(span, "cut points frozen by the lock file")
    .with_help(
        "`seg lock` again to cut today's data afresh, or keep the frozen cut points on purpose",
    );
    for m in moved {
        d = d.with_note(m.clone());
    }
    d
}

/// E0801: segmentation `s` uses `what`, which the cluster's stock executors have no
/// function for.
pub fn not_on_cluster(p: &crate::check::program::Checked, s: usize, what: &str) -> Diagnostic {
    let sd = &p.segments[s];
    Diagnostic::new(
        Code::E0801,
        format!("segmentation `{}` uses {what}, which a Ballista cluster cannot run", sd.name),
    )
    .with_label(sd.span, "this segmentation")
    .with_help("run it without `--cluster`, or leave this segmentation out (`--segment`)")
}
