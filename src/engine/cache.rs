//! A market's columns held in memory as Arrow once a query has read them, so a
//! session that asks again and again (the REPL trying cut points) scans memory, not
//! the file. Columns are read as queries first touch them; a file that changes on
//! disk is read again; what does not fit the budget is read from the file as usual.

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::Session as DfSession;
use datafusion::catalog::TableProvider;
use datafusion::common::Result;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::TableType;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::physical_plan::ExecutionPlan;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::Mutex;

/// Each file's length and modification time: a file whose stamp changed is read again.
pub fn stamp(files: &[PathBuf]) -> Vec<Option<(u64, SystemTime)>> {
    files
        .iter()
        .map(|f| std::fs::metadata(f).ok().and_then(|m| Some((m.len(), m.modified().ok()?))))
        .collect()
}

/// The scan of one market, answered from memory for the columns already held.
#[derive(Debug)]
pub struct CachedScan {
    /// The file scan (the declared columns, cast), read when a column is missing.
    inner: LogicalPlan,
    schema: SchemaRef,
    files: Vec<PathBuf>,
    /// At most this many bytes are held; a read that comes out larger is used
    /// once and dropped.
    budget: usize,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    /// Each file's length and modification time when the columns were read.
    stamp: Vec<Option<(u64, SystemTime)>>,
    /// The held columns, as indices into the scan's schema, in `batches`' order.
    columns: Vec<usize>,
    /// One list of batches per partition, as the file scan produced them, so a
    /// query keeps the parallelism it had on the file.
    partitions: Vec<Vec<RecordBatch>>,
    /// The held bytes, accounted in the session's memory pool.
    reservation: Option<MemoryReservation>,
    /// The columns whose read came out larger than the budget: asking for them (or
    /// more) goes to the file without trying again.
    too_big: Option<Vec<usize>>,
}

impl CachedScan {
    pub fn new(inner: LogicalPlan, files: Vec<PathBuf>, budget: usize) -> CachedScan {
        let schema = Arc::new(inner.schema().as_arrow().clone());
        CachedScan { inner, schema, files, budget, held: Mutex::new(Held::default()) }
    }

    /// The file scan of `columns` only.
    fn file_plan(&self, columns: &[usize]) -> Result<LogicalPlan> {
        let names: Vec<&str> =
            columns.iter().map(|&i| self.schema.field(i).name().as_str()).collect();
        crate::lower::scan::columns(self.inner.clone(), &names)
    }
}

#[async_trait::async_trait]
impl TableProvider for CachedScan {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let wanted: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let stamp = stamp(&self.files);
        // Held across the read: two scans of one query must not both read the file.
        let mut held = self.held.lock().await;
        if held.stamp != stamp {
            *held = Held::default();
        }
        let serve = |held: &Held| -> Result<Arc<dyn ExecutionPlan>> {
            let at: Vec<usize> = wanted
                .iter()
                .map(|w| held.columns.iter().position(|c| c == w).expect("held"))
                .collect();
            let schema = Arc::new(self.schema.project(&held.columns)?);
            let exec = MemorySourceConfig::try_new_exec(&held.partitions, schema, Some(at))?;
            Ok(exec as Arc<dyn ExecutionPlan>)
        };
        if wanted.iter().all(|w| held.columns.contains(w)) {
            return serve(&held);
        }
        // Read what was held and what is wanted together: columns read in two
        // scans need not come in the same row order.
        let mut columns = held.columns.clone();
        columns.extend(wanted.iter().filter(|w| !held.columns.contains(w)));
        columns.sort_unstable();
        if held.too_big.as_ref().is_some_and(|t| columns.iter().all(|c| t.contains(c))) {
            let plan = self.file_plan(&wanted)?;
            return state.create_physical_plan(&plan).await;
        }
        let plan = state.create_physical_plan(&self.file_plan(&columns)?).await?;
        let partitions =
            datafusion::physical_plan::collect_partitioned(plan, state.task_ctx()).await?;
        let bytes: usize =
            partitions.iter().flatten().map(RecordBatch::get_array_memory_size).sum();
        // The old columns are dropped before the new ones are accounted.
        held.reservation = None;
        held.partitions = Vec::new();
        held.columns = Vec::new();
        let reservation =
            MemoryConsumer::new("seg column cache").register(&state.runtime_env().memory_pool);
        let fits = bytes <= self.budget && reservation.try_grow(bytes).is_ok();
        let fresh = Held {
            stamp,
            columns,
            partitions,
            reservation: fits.then_some(reservation),
            too_big: None,
        };
        if fits {
            *held = fresh;
            return serve(&held);
        }
        held.too_big = Some(fresh.columns.clone());
        held.stamp = fresh.stamp.clone();
        serve(&fresh)
    }
}
