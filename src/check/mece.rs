//! Rule analysis (MECE): overlaps, gaps and shadowed rules. Filled in by the MECE work;
//! the checker already calls it once a file has no errors.

use super::program::Checked;
use crate::diagnostic::Diagnostic;

pub fn analyse(_program: &Checked) -> Vec<Diagnostic> {
    Vec::new()
}

/// What `seg check` says about each `expect ... is partition`: proven, or left to run time.
pub fn partition_notes(program: &Checked) -> Vec<String> {
    program
        .expects
        .iter()
        .filter_map(|e| match e {
            super::program::ExpectDef::Partition { segment, proven, .. } => {
                let name = &program.segments[*segment].name;
                Some(match proven {
                    Some(true) => format!("expect {name} is partition: proven statically"),
                    _ => format!("expect {name} is partition: verified on data by `seg test`"),
                })
            }
            _ => None,
        })
        .collect()
}
