//! When a run may start: each tenant has its own run slots and queue (so one tenant's flood
//! waits in its own line, not in everyone's), and all runs together may reserve no more guest
//! memory than the host's budget (a run reserves its whole `memory_mb` cap before it starts).

use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::limits::Limits;

/// One tenant's run slots and the runs waiting for one.
pub struct TenantTurns {
    running: Semaphore,
    max_running: u32,
    waiting: AtomicU32,
    max_waiting: u32,
}

/// Why a tenant's run was not even queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull {
    /// The tenant's runs at once.
    pub running: u32,
    /// The runs that may wait.
    pub waiting: u32,
}

impl TenantTurns {
    /// Slots and a queue as the tenant's `limits` say.
    pub fn new(limits: &Limits) -> TenantTurns {
        TenantTurns {
            running: Semaphore::new(limits.max_concurrent_runs as usize),
            max_running: limits.max_concurrent_runs,
            waiting: AtomicU32::new(0),
            max_waiting: limits.max_queued_runs,
        }
    }

    /// One of the tenant's run slots, after waiting in its queue if they are all taken; an
    /// error at once when the queue is full too.
    pub async fn take(&self) -> Result<SemaphorePermit<'_>, QueueFull> {
        if let Ok(slot) = self.running.try_acquire() {
            return Ok(slot);
        }
        let full = QueueFull {
            running: self.max_running,
            waiting: self.max_waiting,
        };
        let _in_line = InLine::join(&self.waiting, self.max_waiting).ok_or(full)?;
        Ok(self
            .running
            .acquire()
            .await
            .expect("the semaphore is never closed"))
    }
}

/// A place in a tenant's queue, given up when dropped (also when the waiting caller goes away).
struct InLine<'a>(&'a AtomicU32);

impl<'a> InLine<'a> {
    fn join(waiting: &'a AtomicU32, max: u32) -> Option<InLine<'a>> {
        waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| InLine(waiting))
    }
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The guest memory all runs may reserve at once, counted in MiB.
pub struct MemoryBudget {
    mebibytes: Semaphore,
}

impl MemoryBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> MemoryBudget {
        let mebibytes = usize::try_from(bytes >> 20)
            .unwrap_or(usize::MAX)
            .min(Semaphore::MAX_PERMITS);
        MemoryBudget {
            mebibytes: Semaphore::new(mebibytes),
        }
    }

    /// Reserves `bytes` (rounded up to whole MiB), waiting until they fit in what is left.
    pub async fn reserve(&self, bytes: u64) -> SemaphorePermit<'_> {
        let mebibytes = u32::try_from(bytes.div_ceil(1 << 20)).unwrap_or(u32::MAX);
        self.mebibytes
            .acquire_many(mebibytes)
            .await
            .expect("the semaphore is never closed")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(running: u32, waiting: u32) -> Limits {
        Limits {
            max_concurrent_runs: running,
            max_queued_runs: waiting,
            ..Limits::default()
        }
    }

    #[tokio::test]
    async fn beyond_its_slots_a_tenant_queues_and_beyond_its_queue_it_is_refused() {
        let turns = TenantTurns::new(&limits(1, 1));
        let first = turns.take().await.unwrap();
        let queued = turns.take();
        tokio::pin!(queued);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), &mut queued)
                .await
                .is_err(),
            "waits"
        );
        assert_eq!(
            turns.take().await.unwrap_err(),
            QueueFull {
                running: 1,
                waiting: 1
            }
        );
        drop(first);
        let second = queued.await.unwrap();
        drop(second);
        assert!(turns.take().await.is_ok());
    }

    #[tokio::test]
    async fn a_caller_that_stops_waiting_gives_its_place_back() {
        let turns = TenantTurns::new(&limits(1, 1));
        let _first = turns.take().await.unwrap();
        let gave_up = tokio::time::timeout(Duration::from_millis(10), turns.take()).await;
        assert!(gave_up.is_err());
        let again = tokio::time::timeout(Duration::from_millis(10), turns.take()).await;
        assert!(
            again.is_err(),
            "queued again (not refused): the place was given back"
        );
    }

    #[tokio::test]
    async fn runs_start_only_while_their_memory_fits_the_budget() {
        let budget = MemoryBudget::new(256 << 20);
        let a = budget.reserve(128 << 20).await;
        let _b = budget.reserve(100 << 20).await;
        let c = budget.reserve(64 << 20);
        tokio::pin!(c);
        assert!(
            tokio::time::timeout(Duration::from_millis(20), &mut c)
                .await
                .is_err()
        );
        drop(a);
        let _c = c.await;
    }
}
