//! The memory pool behind `--memory-limit`: DataFusion's fair spilling pool, watched.
//! Under a very small limit DataFusion can refuse an allocation in one operator and
//! leave the operators waiting on it parked forever (seen at 1 MiB with 4 threads:
//! every worker idle, the query never ending). seg cannot fix that inside
//! DataFusion, so it notices it: once an allocation has been refused, a query that
//! neither touches the pool nor uses the CPU for `STALL` is ended with a resource
//! error (exit 4). Both, because a long phase that needs no new memory (a join
//! probing a built table) is silent in the pool but busy on the CPU.

use datafusion::common::Result;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};
use std::collections::VecDeque;
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
        WatchedPool {
            inner: FairSpillPool::new(limit),
            limit,
            started: Instant::now(),
            last: AtomicU64::new(0),
            refused: AtomicBool::new(false),
        }
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

/// CPU time used by this process so far (all threads).
fn process_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Samples the pool and the CPU clock; says when a query has stalled.
#[derive(Default)]
pub struct StallWatch {
    samples: VecDeque<(Instant, Duration)>,
}

/// CPU time under which a `STALL`-long window counts as idle (the watchdog's own
/// sampling and a parked runtime use far less).
const IDLE_CPU: Duration = Duration::from_millis(100);

impl StallWatch {
    /// Call every few hundred milliseconds; true once the pool has refused, and the
    /// pool and the CPU have both been idle for `STALL`.
    pub fn sample(&mut self, pool: &WatchedPool) -> bool {
        let now = (Instant::now(), process_cpu());
        self.samples.push_back(now);
        while self.samples.len() > 2 && now.0.duration_since(self.samples[1].0) >= STALL {
            self.samples.pop_front();
        }
        let (t0, c0) = self.samples[0];
        now.0.duration_since(t0) >= STALL
            && now.1.saturating_sub(c0) < IDLE_CPU
            && pool.stalled(STALL)
    }
}
