//! Pre-initialisation: run a plugin's optional `planton_init` once and snapshot the instance.
//!
//! A call runs in a fresh instance, so without this every call would redo the set-up work a
//! plugin does lazily (parse its schemas, compile its patterns), which costs more than the
//! call itself. A module that exports `planton_init: () -> ()` is instead instrumented by
//! `wasmtime-wizer` (which exports its globals and memory), instantiated under the plugin's
//! limits, asked for its contract version (refused if unsupported, before anything else runs),
//! initialised, and rewritten into a module whose data segments and globals are the state
//! `planton_init` left. Calls instantiate that module, so each still starts from a fresh
//! store, with the work already done.
//!
//! Invariants: the snapshot is a function of the module's bytes alone (a plugin imports
//! nothing, so `planton_init` sees no clock, randomness or input), which is why the host
//! caches it under the module's digest; an error in `planton_init` (a trap, a limit) refuses
//! the plugin with an [`Op::Init`] error.
//!
//! What it is not: it does not change what a call computes; the contract
//! (`docs/plugin-contract.md`) requires `planton_init` to fill only caches the calls would
//! fill themselves.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use planton_plugin_sdk::abi;
use wasmtime::{Module, Store, Val};
use wasmtime_wizer::{InstanceState, SnapshotVal, ValType, Wizer};

use crate::SUPPORTED_CONTRACT_VERSIONS;
use crate::cache::compile;
use crate::engine::Runtime;
use crate::error::{CallSite, Error, Op, Result, boxed};
use crate::plugin::{CallState, Limits, Sandbox, check_module};

/// True when the module exports a function named `planton_init` (its type is checked when
/// it is called). Anything unparsable is left for the compiler to report.
pub(crate) fn exports_init(bytes: &[u8]) -> bool {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(wasmparser::Payload::ExportSection(exports)) => {
                return exports.into_iter().any(|export| {
                    export.is_ok_and(|e| {
                        e.name == abi::EXPORT_INIT && e.kind == wasmparser::ExternalKind::Func
                    })
                });
            }
            // The export section comes before the code; stop at the first sign of it.
            Ok(wasmparser::Payload::CodeSectionStart { .. }) | Err(_) => return false,
            Ok(_) => {}
        }
    }
    false
}

/// Compiles the snapshot of `bytes` after `planton_init`.
pub(crate) fn preinitialize(
    runtime: &Arc<Runtime>,
    limits: Limits,
    label: &str,
    bytes: &[u8],
) -> Result<Module> {
    let compile_error = |e: wasmtime::Error| Error::Compile {
        plugin: label.to_string(),
        source: boxed(e),
    };
    let mut wizer = Wizer::new();
    wizer.init_func(abi::EXPORT_INIT);
    let (cx, instrumented) = wizer.instrument(bytes).map_err(compile_error)?;
    let module = compile(&runtime.engine, label, &instrumented)?;
    check_module(&module, label)?;
    let sandbox = Sandbox::new(Arc::clone(runtime), &module, limits, label)?;
    let site = |op| CallSite {
        plugin: label.to_string(),
        op,
        kind: None,
    };

    let version = sandbox.contract_version(&site(Op::ContractVersion))?;
    if !SUPPORTED_CONTRACT_VERSIONS.contains(&version) {
        return Err(Error::UnsupportedContract {
            plugin: label.to_string(),
            found: version,
            supported: SUPPORTED_CONTRACT_VERSIONS.to_vec(),
        });
    }

    let site = site(Op::Init);
    let mut call = sandbox.instantiate(&site)?;
    let instance = call.instance;
    let store = &mut call.store;
    let init = instance
        .get_typed_func::<(), ()>(&mut *store, abi::EXPORT_INIT)
        .map_err(|_| Error::MissingExport {
            plugin: label.to_string(),
            export: abi::EXPORT_INIT.to_string(),
            expected: "func () -> ()".to_string(),
        })?;
    sandbox.arm(&mut *store);
    init.call(&mut *store, ())
        .map_err(|e| sandbox.failure(store, &site, e))?;

    let mut state = Live {
        store,
        instance,
        missing: None,
    };
    let snapshot = ready(wizer.snapshot(&cx, &mut state))
        .unwrap_or_else(|| Err(wasmtime::Error::msg("the snapshot did not complete")))
        .map_err(compile_error)?;
    if let Some(name) = state.missing {
        return Err(compile_error(wasmtime::Error::msg(format!(
            "the instrumented module lacks its export `{name}`"
        ))));
    }
    compile(&runtime.engine, label, &snapshot)
}

/// The initialised instance, as `wasmtime-wizer` reads it.
///
/// Every export it asks for was added by its own instrumentation; one that is missing all
/// the same is recorded in `missing` (the trait cannot fail) and refuses the snapshot.
struct Live<'a> {
    store: &'a mut Store<CallState>,
    instance: wasmtime::Instance,
    missing: Option<String>,
}

impl InstanceState for Live<'_> {
    fn global_get(
        &mut self,
        name: &str,
        _type_hint: ValType,
    ) -> impl Future<Output = SnapshotVal> + Send {
        let value = self
            .instance
            .get_global(&mut *self.store, name)
            .map(|global| global.get(&mut *self.store));
        let value = match value {
            Some(Val::I32(x)) => SnapshotVal::I32(x),
            Some(Val::I64(x)) => SnapshotVal::I64(x),
            Some(Val::F32(x)) => SnapshotVal::F32(x),
            Some(Val::F64(x)) => SnapshotVal::F64(x),
            Some(Val::V128(x)) => SnapshotVal::V128(x.as_u128()),
            _ => {
                self.missing.get_or_insert_with(|| name.to_string());
                SnapshotVal::I32(0)
            }
        };
        std::future::ready(value)
    }

    fn memory_contents(
        &mut self,
        name: &str,
        contents: impl FnOnce(&[u8]) + Send,
    ) -> impl Future<Output = ()> + Send {
        match self.instance.get_memory(&mut *self.store, name) {
            Some(memory) => contents(memory.data(&*self.store)),
            None => {
                self.missing.get_or_insert_with(|| name.to_string());
                contents(&[]);
            }
        }
        std::future::ready(())
    }
}

/// Polls a future that never waits (every [`Live`] future is ready at once) to its end.
fn ready<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_export_is_found_only_when_it_is_a_function() {
        let with = wat(r#"(module (func (export "planton_init")))"#);
        let global = wat(r#"(module (global (export "planton_init") i32 (i32.const 0)))"#);
        let without = wat(r#"(module (func (export "planton_render")))"#);
        assert!(exports_init(&with));
        assert!(!exports_init(&global));
        assert!(!exports_init(&without));
        assert!(!exports_init(b"not wasm"));
    }

    fn wat(text: &str) -> Vec<u8> {
        wat::parse_str(text).unwrap()
    }
}
