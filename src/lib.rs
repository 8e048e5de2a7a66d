//! seg: segmentation as code. Specs are parsed (`syntax`), checked (`check`), lowered
//! to DataFusion plans (`lower`) and executed (`engine`); `cli` is the only front end
//! that prints. See docs/architecture.md.

pub mod calendar;
pub mod check;
pub mod cli;
pub mod diagnostic;
pub mod driver;
pub mod engine;
pub mod fmt;
pub mod lower;
pub mod lsp;
pub mod reference;
pub mod repl;
pub mod report;
pub mod span;
pub mod sql;
pub mod syntax;
