//! Every diagnostic code seg can raise, as data: its severity, the exit code class it
//! calls for and its one-line title (the heading of its entry in
//! `docs/diagnostics.md`).
//!
//! Codes are an enum so that nothing compares them as strings: a typo is a compile
//! error, and the tidy test walks `Code::ALL` to demand a golden case and a docs entry
//! for each.

use super::Severity;
use serde::{Serialize, Serializer};
use std::fmt;

/// What a code makes the process exit with (cli.md), when it is the deciding error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitClass {
    /// The spec is invalid (exit 1).
    Spec,
    /// A data file is unreadable or disagrees with the spec (exit 3).
    Data,
    /// A memory or time limit was reached (exit 4).
    Resource,
    /// Refused by the path or output policy (exit 5).
    Policy,
    /// A bug in seg (exit 70).
    Bug,
}

pub struct Info {
    pub code: Code,
    pub severity: Severity,
    pub exit: ExitClass,
    pub title: &'static str,
}

macro_rules! codes {
    ($($code:ident: $sev:ident, $exit:ident, $title:literal;)*) => {
        /// A diagnostic code. The letter is its severity (E error, W warning, N note);
        /// the first two digits its stage: 00 limits, 01 syntax, 02 names, 03 types,
        /// 04 definitions and MECE, 05 files and policy, 06 run-time data, 07
        /// resources, 08 other engines, 09 internal.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($code),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$code),*];

            pub fn info(self) -> &'static Info {
                const TABLE: &[Info] = &[$(Info {
                    code: Code::$code,
                    severity: Severity::$sev,
                    exit: ExitClass::$exit,
                    title: $title,
                }),*];
                // The table is in declaration order, which is the enum's order.
                &TABLE[self as usize]
            }

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$code => stringify!($code)),* }
            }
        }
    };
}

codes! {
    E0001: Error, Spec, "spec larger than 1 MiB";
    E0002: Error, Spec, "spec is not valid UTF-8";
    E0003: Error, Spec, "line longer than 10,000 bytes";
    E0004: Error, Spec, "nesting deeper than 64 levels";
    E0005: Error, Spec, "bidirectional control character outside a comment";
    E0006: Error, Spec, "spec too complex to parse";
    E0007: Error, Spec, "expression with more than 1,000 operands";
    E0101: Error, Spec, "syntax error";
    E0102: Error, Spec, "unknown escape in text";
    E0103: Error, Spec, "number out of range";
    E0104: Error, Spec, "invalid date";
    E0105: Error, Spec, "unknown data format";
    E0201: Error, Spec, "unknown column";
    E0202: Error, Spec, "unknown market";
    E0203: Error, Spec, "unknown dimension";
    E0204: Error, Spec, "unknown measure";
    E0205: Error, Spec, "unknown segmentation";
    E0206: Error, Spec, "duplicate definition";
    E0207: Error, Spec, "cycle";
    E0208: Error, Spec, "unknown function";
    E0209: Error, Spec, "unknown market or entity";
    E0210: Error, Spec, "unknown label";
    E0211: Error, Spec, "a name that collides with an output column";
    E0212: Error, Spec, "unknown table";
    E0213: Error, Spec, "ambiguous column";
    E0301: Error, Spec, "type mismatch";
    E0302: Error, Spec, "cutting a value that has no order";
    E0303: Error, Spec, "aggregate where a row value is expected";
    E0304: Error, Spec, "column outside an aggregate in a measure";
    E0305: Error, Spec, "wrong number of arguments";
    E0306: Error, Spec, "aggregate inside an aggregate";
    E0307: Error, Spec, "`distinct` outside `count`";
    E0308: Error, Spec, "measure that is not a number from aggregates";
    E0309: Error, Spec, "bare name in an expect";
    E0310: Error, Spec, "`where` on a function that is not an aggregate";
    W0311: Warning, Spec, "`count` of a condition";
    E0401: Error, Spec, "bin cut points not strictly ascending";
    E0402: Error, Spec, "mapping value under two labels";
    E0403: Error, Spec, "wrong number of bin labels";
    E0404: Error, Spec, "dimension of another market";
    E0405: Error, Spec, "dimensions from unrelated markets";
    E0406: Error, Spec, "`then` and `x` mixed";
    E0407: Error, Spec, "dimension repeated in a segmentation";
    E0408: Error, Spec, "count out of range";
    E0409: Error, Spec, "too many labels in an expect";
    E0410: Error, Spec, "entity dimension in a market example";
    E0411: Error, Spec, "data-dependent dimension in an example";
    E0412: Error, Spec, "quantile cuts not ascending fractions between 0 and 1";
    E0413: Error, Spec, "dimension not on the segmented entity";
    E0414: Error, Spec, "example contradicts a derived feature";
    E0415: Error, Spec, "`pareto` outside an entity";
    E0416: Error, Spec, "`order` lists a value twice";
    E0417: Error, Spec, "join on columns of different types, or not on the key";
    E0418: Error, Spec, "table without a key";
    W0420: Warning, Spec, "a `rules` rule that can never match";
    E0421: Error, Spec, "`partition` rules that overlap";
    E0422: Error, Spec, "a `partition` that leaves rows without a label (a gap), nulls included";
    W0423: Warning, Spec, "a `rules` dimension without `else` that leaves rows unassigned";
    W0424: Warning, Spec, "adjacent ranges that count a boundary twice or leave a hole";
    E0425: Error, Spec, "`over` on a value that has no periods";
    E0426: Error, Spec, "a period `over` cannot name";
    E0427: Error, Spec, "`migrate` not on one entity dimension";
    N0429: Note, Spec, "rules too complex to analyse (a note)";
    E0430: Error, Spec, "the lock file does not match the spec";
    E0431: Error, Spec, "the lock file cannot be read";
    W0432: Warning, Spec, "the data has drifted from the lock file";
    W0433: Warning, Spec, "a grid with more than 10 million cells";
    E0501: Error, Spec, "no schema and data may not be read";
    E0502: Error, Data, "data file unreadable";
    E0503: Error, Data, "declared schema disagrees with the file";
    E0504: Error, Policy, "data path refused";
    E0505: Error, Spec, "cannot tell the data format";
    E0507: Error, Policy, "output refused";
    E0601: Error, Data, "data error while running";
    E0602: Error, Data, "integer overflow";
    E0603: Error, Data, "output cannot be written";
    E0701: Error, Resource, "memory limit too small";
    E0801: Error, Spec, "a construct the SQL dialect or the cluster cannot express";
    E0900: Error, Bug, "internal error while parsing";
    E0901: Error, Bug, "internal error while lowering";
    E0902: Error, Bug, "internal error while running";
}

impl Code {
    pub fn severity(self) -> Severity {
        self.info().severity
    }

    pub fn exit(self) -> ExitClass {
        self.info().exit
    }

    pub fn title(self) -> &'static str {
        self.info().title
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
