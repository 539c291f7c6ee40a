//! The one place that configures wasmtime: the [`wasmtime::Engine`] and its epoch ticker.
//!
//! Invariants: nothing else in planton touches [`wasmtime::Config`]; the engine is built once
//! per [`Host`](crate::Host) and shared by every plugin and every call; epoch interruption is
//! always on, and a ticker thread advances the epoch every `tick` for as long as any plugin
//! of the engine is alive.
//!
//! Instances come from wasmtime's pooling allocator: a fixed number of slots reserved once
//! per engine, so a call does not map and unmap its linear memory (the slot is reset to the
//! module's copy-on-write image when the call's store is dropped; nothing of a call survives
//! into the next). Where Linux offers `PAGEMAP_SCAN` (6.7 and later) the reset copies back
//! only the pages the call wrote and keeps them mapped (up to [`KEEP_RESIDENT_BYTES`] per
//! slot), so a warm call takes no page faults; elsewhere wasmtime resets as before. A call waits for a free slot ([`Runtime::slot`]) rather than failing when
//! more calls run at once than there are slots. Where the pool's address space cannot be
//! reserved (a strict overcommit policy, a small `ulimit -v`), the engine falls back to
//! allocating each instance on demand.
//!
//! What it is not: it knows nothing about plugins, limits or the contract.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

use crate::error::{Error, Result, boxed};

/// The engine and the ticker that drives its epoch deadlines.
///
/// Shared (behind an `Arc`) by the host and every plugin it loaded, so the ticker keeps
/// running while any of them can still make a call.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) tick: Duration,
    slots: Slots,
    _ticker: EpochTicker,
}

/// The most instances that exist at once: pool slots (address space is reserved for each,
/// 4 GiB plus guard pages, committed only as a call touches it).
fn pool_slots() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * 4).clamp(8, 128)
}

/// How much of a slot's linear memory stays resident between calls (see [`Runtime::new`]):
/// more than a built-in plugin's call writes (its stack, data and heap).
const KEEP_RESIDENT_BYTES: usize = 4 << 20;

/// The same for a slot's tables.
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// The most table elements an instance may have (the limiter's bound too).
pub(crate) const MAX_TABLE_ELEMENTS: usize = 100_000;

impl Runtime {
    /// Builds the engine (pooling instances whose memory is at most `memory_bytes`) and starts
    /// the ticker.
    pub(crate) fn new(tick: Duration, memory_bytes: usize) -> Result<Arc<Runtime>> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.cranelift_opt_level(OptLevel::Speed);
        // `PLANTON_WASM_PERFMAP=1` writes `/tmp/perf-<pid>.map`, so `perf report` names the
        // plugins' functions (for profiling a call; off by default).
        if std::env::var_os("PLANTON_WASM_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let slots = pool_slots();
        let pool = |keep_resident: bool| {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_core_instances(slots as u32)
                .total_memories(slots as u32)
                .total_tables(slots as u32)
                .max_memories_per_module(1)
                .max_tables_per_module(4)
                .table_elements(MAX_TABLE_ELEMENTS)
                .max_memory_size(memory_bytes);
            if keep_resident {
                // Reset a slot by copying back the pages a call wrote (found with Linux's
                // PAGEMAP_SCAN) instead of unmapping them, so the next call takes no page
                // faults on them. Without PAGEMAP_SCAN wasmtime would instead rewrite the
                // whole kept region on every reset, so the engine is then built without it.
                pool.linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
                    .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES)
                    .pagemap_scan(Enabled::Yes);
            }
            InstanceAllocationStrategy::Pooling(pool)
        };
        // Where the pool's address space cannot be reserved, instances are allocated on demand.
        let mut built = Err(None);
        for strategy in [
            pool(true),
            pool(false),
            InstanceAllocationStrategy::OnDemand,
        ] {
            config.allocation_strategy(strategy);
            built = Engine::new(&config).map_err(Some);
            if built.is_ok() {
                break;
            }
        }
        let engine = built.map_err(|e| Error::Engine {
            source: match e {
                Some(e) => boxed(e),
                None => "no allocation strategy".into(),
            },
        })?;
        let tick = tick.max(Duration::from_millis(1));
        let ticker = EpochTicker::start(engine.clone(), tick).map_err(|e| Error::Engine {
            source: Box::new(e),
        })?;
        Ok(Arc::new(Runtime {
            engine,
            tick,
            slots: Slots {
                free: Mutex::new(slots),
                freed: Condvar::new(),
            },
            _ticker: ticker,
        }))
    }

    /// Waits for a free instance slot; the slot is free again when the guard is dropped
    /// (drop it after the store that holds the instance).
    pub(crate) fn slot(&self) -> Slot<'_> {
        let mut free = self
            .slots
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .slots
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Slot(&self.slots)
    }

    /// The number of ticks that covers `timeout`, rounded up, plus one for the partial tick
    /// the deadline starts in (a deadline of one tick means "at the next tick", which can be
    /// almost immediately).
    pub(crate) fn deadline_ticks(&self, timeout: Duration) -> u64 {
        let tick = self.tick.as_nanos().max(1);
        let ticks = timeout.as_nanos().div_ceil(tick);
        u64::try_from(ticks)
            .unwrap_or(u64::MAX / 2)
            .saturating_add(1)
    }
}

/// A counting semaphore over the pool's instance slots.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// One instance slot, held for the lifetime of a store.
pub(crate) struct Slot<'a>(&'a Slots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

/// A thread that increments the engine's epoch every `tick`; stopped on drop.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, tick: Duration) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("planton-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::park_timeout(tick);
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_covers_the_timeout_plus_the_partial_first_tick() {
        let runtime = Runtime::new(Duration::from_millis(10), 1 << 20).unwrap();
        assert_eq!(runtime.deadline_ticks(Duration::from_secs(1)), 101);
        assert_eq!(runtime.deadline_ticks(Duration::from_millis(15)), 3);
        assert_eq!(runtime.deadline_ticks(Duration::ZERO), 1);
        assert!(runtime.deadline_ticks(Duration::MAX) > 1 << 60);
    }

    #[test]
    fn slots_are_handed_out_and_returned() {
        let runtime = Runtime::new(Duration::from_millis(10), 1 << 20).unwrap();
        let all: Vec<Slot<'_>> = (0..pool_slots()).map(|_| runtime.slot()).collect();
        assert_eq!(*runtime.slots.free.lock().unwrap(), 0);
        drop(all);
        assert_eq!(*runtime.slots.free.lock().unwrap(), pool_slots());
    }
}
