//! The reference evaluator: plain row-by-row semantics of a checked program.
