//! The one place that configures wasmtime: the [`wasmtime::Engine`] and its epoch ticker.
//!
//! Invariants: nothing else in planton touches [`wasmtime::Config`]; the engine is built once
//! per [`Host`](crate::Host) and shared by every plugin and every call; epoch interruption is
//! always on, and a ticker thread advances the epoch every `tick` for as long as any plugin
//! of the engine is alive.
//!
//! What it is not: it knows nothing about plugins, limits or the contract.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, OptLevel};

use crate::error::{Error, Result, boxed};

/// The engine and the ticker that drives its epoch deadlines.
///
/// Shared (behind an `Arc`) by the host and every plugin it loaded, so the ticker keeps
/// running while any of them can still make a call.
pub(crate) struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) tick: Duration,
    _ticker: EpochTicker,
}

impl Runtime {
    /// Builds the engine and starts the ticker.
    pub(crate) fn new(tick: Duration) -> Result<Arc<Runtime>> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.cranelift_opt_level(OptLevel::Speed);
        let engine = Engine::new(&config).map_err(|e| Error::Engine { source: boxed(e) })?;
        let tick = tick.max(Duration::from_millis(1));
        let ticker = EpochTicker::start(engine.clone(), tick).map_err(|e| Error::Engine {
            source: Box::new(e),
        })?;
        Ok(Arc::new(Runtime {
            engine,
            tick,
            _ticker: ticker,
        }))
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
        let runtime = Runtime::new(Duration::from_millis(10)).unwrap();
        assert_eq!(runtime.deadline_ticks(Duration::from_secs(1)), 101);
        assert_eq!(runtime.deadline_ticks(Duration::from_millis(15)), 3);
        assert_eq!(runtime.deadline_ticks(Duration::ZERO), 1);
        assert!(runtime.deadline_ticks(Duration::MAX) > 1 << 60);
    }
}
