//! What a long run has done so far, for the CLI's progress bar: rows read from
//! the data and the segmentation being computed. Counting is off unless the CLI
//! turns it on (a bar is only drawn on a terminal), so plans are untouched in
//! pipes, CI, tests and benchmarks.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

static ENABLED: AtomicBool = AtomicBool::new(false);
static ROWS: AtomicU64 = AtomicU64::new(0);
static BATCHES: AtomicU64 = AtomicU64::new(0);
static CURRENT: Mutex<String> = Mutex::new(String::new());

/// Turns counting on (the CLI does, when it will draw a bar).
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Rows and batches read from the data so far.
pub fn read() -> (u64, u64) {
    (ROWS.load(Ordering::Relaxed), BATCHES.load(Ordering::Relaxed))
}

/// The segmentation being computed.
pub fn current() -> String {
    CURRENT.lock().map(|c| c.clone()).unwrap_or_default()
}

pub fn set_current(name: &str) {
    if enabled() {
        if let Ok(mut c) = CURRENT.lock() {
            *c = name.to_string();
        }
    }
}

/// `plan` with every leaf (a file scan, a table in memory) counting what it reads.
pub fn counted(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|p| {
        if p.children().is_empty() {
            Ok(Transformed::yes(Arc::new(Counting { input: p }) as Arc<dyn ExecutionPlan>))
        } else {
            Ok(Transformed::no(p))
        }
    })
    .map(|t| t.data)
}

/// Passes its input's batches through, counting them.
#[derive(Debug)]
struct Counting {
    input: Arc<dyn ExecutionPlan>,
}

impl DisplayAs for Counting {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("SegProgressExec")
    }
}

impl ExecutionPlan for Counting {
    fn name(&self) -> &str {
        "SegProgressExec"
    }
    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }
    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }
    fn apply_expressions(
        &self,
        _: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }
    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(Counting { input: children.swap_remove(0) }))
    }
    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let stream = self.input.execute(partition, context)?;
        let schema = stream.schema();
        let counted = stream.inspect(|b| {
            if let Ok(b) = b {
                ROWS.fetch_add(b.num_rows() as u64, Ordering::Relaxed);
                BATCHES.fetch_add(1, Ordering::Relaxed);
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, counted)))
    }
}
