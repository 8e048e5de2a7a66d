//! The one integration-test binary (each binary links DataFusion, so there is one):
//! golden cases, the command line, hostile input, and property tests against the
//! reference evaluator.

mod cli;
#[cfg(feature = "cluster")]
mod cluster;
mod driver;
mod fmt;
mod golden;
mod hostile;
mod lsp;
mod props;
mod reliability;
mod repl;
mod report;
mod sql;
mod support;
mod textmate;
mod tidy;
