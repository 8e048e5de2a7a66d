//! The memory pool behind `--memory-limit`: DataFusion's fair spilling pool, watched.
//! Under a very small limit DataFusion can refuse an allocation in one operator and
//! leave the operators waiting on it parked forever (seen at 1 MiB with 4 threads:
//! every worker idle, the query never ending). seg cannot fix that inside
//! DataFusion, so it notices it: once an allocation has been refused, a query that
//! touches the pool no more for `STALL` is ended with a resource error (exit 4).

use datafusion::common::Result;
use datafusion::execution::memory_pool::{FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a query may go without any memory activity after a refusal.
pub const STALL: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub struct WatchedPool {
    inner: FairSpillPool,
    limit: usize,
    started: Instant,
    /// Milliseconds after `started` of the last call into the pool.
    last: AtomicU64,
    refused: AtomicBool,
}

impl WatchedPool {
    pub fn new(limit: usize) -> WatchedPool {
        WatchedPool { inner: FairSpillPool::new(limit), limit, started: Instant::now(), last: AtomicU64::new(0), refused: AtomicBool::new(false) }
    }

    fn touch(&self) {
        self.last.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// An allocation was refused and nothing has used the pool for `quiet` since.
    pub fn stalled(&self, quiet: Duration) -> bool {
        let idle = self.started.elapsed().as_millis() as u64 - self.last.load(Ordering::Relaxed);
        self.refused.load(Ordering::Relaxed) && idle >= quiet.as_millis() as u64
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl std::fmt::Display for WatchedPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seg's watched {}", self.inner)
    }
}

impl MemoryPool for WatchedPool {
    fn name(&self) -> &str {
        "seg_watched_fair_spill"
    }
    fn register(&self, consumer: &MemoryConsumer) {
        self.touch();
        self.inner.register(consumer)
    }
    fn unregister(&self, consumer: &MemoryConsumer) {
        self.touch();
        self.inner.unregister(consumer)
    }
    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.touch();
        self.inner.grow(reservation, additional)
    }
    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.touch();
        self.inner.shrink(reservation, shrink)
    }
    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        self.touch();
        let r = self.inner.try_grow(reservation, additional);
        if r.is_err() {
            self.refused.store(true, Ordering::Relaxed);
        }
        r
    }
    fn reserved(&self) -> usize {
        self.inner.reserved()
    }
    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}
