//! One loaded plugin: its checked module, its description, and the sandboxed calls.
//!
//! Invariants: a [`Plugin`] exists only for a module that imports nothing, exports the whole
//! contract with the right types, and reported a supported contract version (read before any
//! other call) and a matching `describe`.
//! Every call gets a fresh [`Store`] with a memory limit, a wall-clock deadline (reset before
//! each guest call) and a cap on the output size, so a call cannot see state left by an
//! earlier one and a misbehaving plugin fails only its own call with a typed [`Error`].
//! Once a plugin has broken one of those three limits it is not run again: its later calls
//! fail at once with the same error (a plugin that loops costs one deadline, not one per call).
//!
//! What it is not: it does not decide which plugin handles a manifest (see
//! [`Host::plugin_for_kind`](crate::Host::plugin_for_kind)) and it never acts on a result.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use planton_plugin_sdk::abi::{self, CallResult};
use planton_plugin_sdk::{
    Describe, RenderOutput, RenderRequest, ValidateRequest, ValidateResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasmtime::{
    ExternType, FuncType, InstancePre, Linker, Memory, Module, ResourceLimiter, Store, Trap,
    ValType,
};

use crate::SUPPORTED_CONTRACT_VERSIONS;
use crate::cache::CacheOutcome;
use crate::engine::{MAX_TABLE_ELEMENTS, Runtime, Slot};
use crate::error::{CallSite, Error, Op, Result, boxed};

/// The per-call limits of a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most linear memory an instance may have, in bytes.
    pub memory_bytes: usize,
    /// The wall-clock time one guest call may take.
    pub timeout: Duration,
    /// The largest result a call may return, in bytes.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory_bytes: 64 << 20,
            timeout: Duration::from_secs(1),
            max_output_bytes: 8 << 20,
        }
    }
}

/// A loaded, checked plugin, ready to be called from any thread.
pub struct Plugin {
    sandbox: Sandbox,
    /// The first limit error (deadline, memory, output), returned by every later call.
    tripped: OnceLock<Error>,
    describe: Describe,
    contract_version: u32,
    sha256: String,
    source: String,
    cache: CacheOutcome,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.describe.name)
            .field("version", &self.describe.version)
            .field("source", &self.source)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// The data of one call's store: only the limiter.
pub(crate) struct CallState {
    limiter: Limiter,
}

/// Enforces [`Limits::memory_bytes`] and remembers a refusal, so the trap that usually
/// follows (a Rust guest aborts when allocation fails) is reported as the memory limit.
struct Limiter {
    memory_bytes: usize,
    refused: Option<usize>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }

    fn memories(&self) -> usize {
        1
    }
}

/// The shape of each export of the contract.
fn contract_exports() -> [(&'static str, &'static [ValType], &'static [ValType]); 6] {
    [
        (abi::EXPORT_CONTRACT_VERSION, &[], &[ValType::I32]),
        (abi::EXPORT_ALLOC, &[ValType::I32], &[ValType::I32]),
        (abi::EXPORT_DEALLOC, &[ValType::I32, ValType::I32], &[]),
        (abi::EXPORT_DESCRIBE, &[], &[ValType::I64]),
        (
            abi::EXPORT_VALIDATE,
            &[ValType::I32, ValType::I32],
            &[ValType::I64],
        ),
        (
            abi::EXPORT_RENDER,
            &[ValType::I32, ValType::I32],
            &[ValType::I64],
        ),
    ]
}

fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |tys: &[ValType]| {
        tys.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("func ({}) -> ({})", list(params), list(results))
}

fn func_matches(ty: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let same = |a: &mut dyn ExactSizeIterator<Item = ValType>, b: &[ValType]| {
        a.len() == b.len() && a.zip(b).all(|(x, y)| ValType::eq(&x, y))
    };
    same(&mut ty.params(), params) && same(&mut ty.results(), results)
}

/// Refuses a module that imports anything or lacks an export; checks only what is needed to
/// read the contract version first, so an unsupported version is reported as such.
pub(crate) fn check_module(module: &Module, label: &str) -> Result<()> {
    let imports: Vec<String> = module
        .imports()
        .map(|i| format!("{}::{}", i.module(), i.name()))
        .collect();
    if !imports.is_empty() {
        return Err(Error::Imports {
            plugin: label.to_string(),
            imports,
        });
    }
    check_export(module, label, 0)
}

fn check_export(module: &Module, label: &str, index: usize) -> Result<()> {
    let (name, params, results) = contract_exports()[index];
    match module.get_export(name) {
        Some(ExternType::Func(ty)) if func_matches(&ty, params, results) => Ok(()),
        _ => Err(Error::MissingExport {
            plugin: label.to_string(),
            export: name.to_string(),
            expected: signature(params, results),
        }),
    }
}

fn check_rest(module: &Module, label: &str) -> Result<()> {
    if !matches!(
        module.get_export(abi::EXPORT_MEMORY),
        Some(ExternType::Memory(_))
    ) {
        return Err(Error::MissingExport {
            plugin: label.to_string(),
            export: abi::EXPORT_MEMORY.to_string(),
            expected: "memory".to_string(),
        });
    }
    (1..contract_exports().len()).try_for_each(|i| check_export(module, label, i))
}

/// The `kind` of a request's manifest, for error messages.
fn manifest_kind(manifest: &serde_json::Value) -> Option<String> {
    manifest
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_string)
}

/// A module ready to be instantiated under limits: what runs each call in a fresh store.
pub(crate) struct Sandbox {
    runtime: Arc<Runtime>,
    pre: InstancePre<CallState>,
    limits: Limits,
    deadline_ticks: u64,
}

/// A fresh instance with its store, and the pool slot it occupies (freed after the store).
pub(crate) struct Call<'a> {
    pub(crate) store: Store<CallState>,
    pub(crate) instance: wasmtime::Instance,
    _slot: Slot<'a>,
}

impl Sandbox {
    /// Prepares `module` (already checked for imports) for instantiation.
    pub(crate) fn new(
        runtime: Arc<Runtime>,
        module: &Module,
        limits: Limits,
        label: &str,
    ) -> Result<Sandbox> {
        let linker = Linker::<CallState>::new(&runtime.engine);
        let pre = linker.instantiate_pre(module).map_err(|e| Error::Compile {
            plugin: label.to_string(),
            source: boxed(e),
        })?;
        let deadline_ticks = runtime.deadline_ticks(limits.timeout);
        Ok(Sandbox {
            runtime,
            pre,
            limits,
            deadline_ticks,
        })
    }

    /// A fresh store and instance, with the limiter installed and the deadline armed.
    pub(crate) fn instantiate(&self, site: &CallSite) -> Result<Call<'_>> {
        let slot = self.runtime.slot();
        let state = CallState {
            limiter: Limiter {
                memory_bytes: self.limits.memory_bytes,
                refused: None,
            },
        };
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(self.deadline_ticks);
        let site = CallSite {
            op: Op::Instantiate,
            ..site.clone()
        };
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| self.failure(&store, &site, e))?;
        Ok(Call {
            store,
            instance,
            _slot: slot,
        })
    }

    /// Re-arms the deadline before a guest call.
    pub(crate) fn arm(&self, store: &mut Store<CallState>) {
        store.set_epoch_deadline(self.deadline_ticks);
    }

    /// Calls the contract-version export in a fresh instance.
    pub(crate) fn contract_version(&self, site: &CallSite) -> Result<u32> {
        let mut call = self.instantiate(site)?;
        let instance = call.instance;
        let store = &mut call.store;
        let func = instance
            .get_typed_func::<(), u32>(&mut *store, abi::EXPORT_CONTRACT_VERSION)
            .map_err(|e| self.failure(store, site, e))?;
        self.arm(&mut *store);
        func.call(&mut *store, ())
            .map_err(|e| self.failure(store, site, e))
    }

    /// Classifies a wasmtime error from instantiation or a guest call.
    pub(crate) fn failure(
        &self,
        store: &Store<CallState>,
        site: &CallSite,
        error: wasmtime::Error,
    ) -> Error {
        let site = site.clone();
        if let Some(requested) = store.data().limiter.refused {
            return Error::MemoryLimit {
                site,
                limit: self.limits.memory_bytes,
                requested,
            };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => Error::Deadline {
                site,
                timeout: self.limits.timeout,
            },
            Some(trap) => Error::Trap {
                message: trap.to_string(),
                site,
                source: boxed(error),
            },
            None => Error::Trap {
                message: error.to_string(),
                site,
                source: boxed(error),
            },
        }
    }
}

impl Plugin {
    /// Checks a compiled module against the contract and reads its description.
    pub(crate) fn load(
        runtime: Arc<Runtime>,
        module: Module,
        limits: Limits,
        source: String,
        sha256: String,
        cache: CacheOutcome,
    ) -> Result<Plugin> {
        check_module(&module, &source)?;
        let sandbox = Sandbox::new(runtime, &module, limits, &source)?;
        let mut plugin = Plugin {
            sandbox,
            tripped: OnceLock::new(),
            describe: Describe {
                name: source.clone(),
                version: String::new(),
                contract_version: 0,
                kinds: Vec::new(),
            },
            contract_version: 0,
            sha256,
            source,
            cache,
        };
        let version = plugin
            .sandbox
            .contract_version(&plugin.site(Op::ContractVersion, None))?;
        if !SUPPORTED_CONTRACT_VERSIONS.contains(&version) {
            return Err(Error::UnsupportedContract {
                plugin: plugin.source.clone(),
                found: version,
                supported: SUPPORTED_CONTRACT_VERSIONS.to_vec(),
            });
        }
        check_rest(&module, &plugin.source)?;
        plugin.contract_version = version;
        let describe: Describe = plugin.call_json(Op::Describe, None, None::<&()>)?;
        if describe.contract_version != version {
            return Err(Error::ContractMismatch {
                plugin: plugin.source.clone(),
                exported: version,
                described: describe.contract_version,
            });
        }
        plugin.describe = describe;
        Ok(plugin)
    }

    /// The plugin's name, version, contract version and kinds, as read at load time.
    pub fn describe(&self) -> &Describe {
        &self.describe
    }

    /// The plugin's name (from `describe`).
    pub fn name(&self) -> &str {
        &self.describe.name
    }

    /// Where the plugin came from: `builtin:<name>`, a file path, or a label.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The sha256 of the plugin's `.wasm`, lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The contract version the plugin implements.
    pub fn contract_version(&self) -> u32 {
        self.contract_version
    }

    /// How the plugin's code was obtained (compiled, or from the precompiled cache).
    pub fn cache_outcome(&self) -> &CacheOutcome {
        &self.cache
    }

    /// The limits every call of this plugin runs under.
    pub fn limits(&self) -> Limits {
        self.sandbox.limits
    }

    /// The limit error that stopped this plugin, if it broke its deadline, memory limit or
    /// output cap in an earlier call; every call after that fails at once with this error.
    pub fn tripped(&self) -> Option<&Error> {
        self.tripped.get()
    }

    /// True when this plugin handles manifests of `api_version`/`kind`.
    pub fn handles(&self, api_version: &str, kind: &str) -> bool {
        self.describe
            .kinds
            .iter()
            .any(|k| k.api_version == api_version && k.kind == kind)
    }

    /// Validates a built manifest in a fresh sandbox.
    pub fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse> {
        self.call_json(Op::Validate, manifest_kind(&req.manifest), Some(req))
    }

    /// Renders a manifest in a fresh sandbox; a refusal by the plugin is [`Error::Plugin`].
    pub fn render(&self, req: &RenderRequest) -> Result<RenderOutput> {
        self.call_json(Op::Render, manifest_kind(&req.manifest), Some(req))
    }

    /// Calls `planton_contract_version` in a fresh sandbox: a call with none of the plugin's
    /// work (a fresh store, instantiation from the snapshot, one export call, the reset), so
    /// it measures what the sandbox alone costs per call.
    pub fn probe(&self) -> Result<u32> {
        if let Some(first) = self.tripped.get().and_then(Error::limit_copy) {
            return Err(first);
        }
        self.sandbox
            .contract_version(&self.site(Op::ContractVersion, None))
    }

    fn site(&self, op: Op, kind: Option<String>) -> CallSite {
        // Until `describe` has run, the name is the plugin's source.
        CallSite {
            plugin: self.describe.name.clone(),
            op,
            kind,
        }
    }

    /// Serializes the request, calls `op`, and decodes the `{"ok"|"error"}` envelope; fails
    /// at once, without running the guest, once a call has broken a limit.
    fn call_json<I: Serialize, O: DeserializeOwned>(
        &self,
        op: Op,
        kind: Option<String>,
        input: Option<&I>,
    ) -> Result<O> {
        if let Some(first) = self.tripped.get().and_then(Error::limit_copy) {
            return Err(first);
        }
        let site = self.site(op, kind);
        let input = match input {
            Some(value) => Some(serde_json::to_vec(value).map_err(|e| Error::BadOutput {
                site: site.clone(),
                reason: format!("cannot serialize the request: {e}"),
            })?),
            None => None,
        };
        // The result is decoded straight from the guest's memory, before the store is
        // dropped (no copy of the bytes). UTF-8 is checked once for the whole document,
        // which is faster than serde_json checking string by string.
        let decoded = self.call_raw(site, input.as_deref(), |bytes| {
            std::str::from_utf8(bytes)
                .map_err(|e| format!("not UTF-8: {e}"))
                .and_then(|text| {
                    serde_json::from_str::<CallResult<O>>(text).map_err(|e| e.to_string())
                })
        });
        let (decoded, site) = match decoded {
            Ok(done) => done,
            Err(error) => {
                if let Some(copy) = error.limit_copy() {
                    let _ = self.tripped.set(copy);
                }
                return Err(error);
            }
        };
        match decoded {
            Ok(CallResult::Ok(value)) => Ok(value),
            Ok(CallResult::Error(error)) => Err(Error::Plugin {
                site,
                message: error.message,
            }),
            Err(e) => Err(Error::BadOutput {
                site,
                reason: format!("not a valid {op} result: {e}"),
            }),
        }
    }

    /// Runs one guest call in a fresh store: allocate and write the input, call, and hand the
    /// result bytes (in the guest's memory) to `decode`. Returns what `decode` made and the
    /// site (for decoding errors).
    fn call_raw<T>(
        &self,
        site: CallSite,
        input: Option<&[u8]>,
        decode: impl FnOnce(&[u8]) -> T,
    ) -> Result<(T, CallSite)> {
        let sandbox = &self.sandbox;
        // The store is a field of `call`, so the pool slot is released after it.
        let mut call = sandbox.instantiate(&site)?;
        let instance = call.instance;
        let store = &mut call.store;
        let bad = |reason: String| Error::BadOutput {
            site: site.clone(),
            reason,
        };
        let memory: Memory = instance
            .get_memory(&mut *store, abi::EXPORT_MEMORY)
            .ok_or_else(|| bad("no exported memory".into()))?;
        let packed = match (site.op, input) {
            (Op::Describe, _) => {
                let func = instance
                    .get_typed_func::<(), u64>(&mut *store, abi::EXPORT_DESCRIBE)
                    .map_err(|e| sandbox.failure(store, &site, e))?;
                sandbox.arm(&mut *store);
                func.call(&mut *store, ())
                    .map_err(|e| sandbox.failure(store, &site, e))?
            }
            (op, Some(input)) => {
                let name = if op == Op::Render {
                    abi::EXPORT_RENDER
                } else {
                    abi::EXPORT_VALIDATE
                };
                let len = u32::try_from(input.len())
                    .map_err(|_| bad("the request is larger than 4 GiB".into()))?;
                let alloc = instance
                    .get_typed_func::<u32, u32>(&mut *store, abi::EXPORT_ALLOC)
                    .map_err(|e| sandbox.failure(store, &site, e))?;
                let func = instance
                    .get_typed_func::<(u32, u32), u64>(&mut *store, name)
                    .map_err(|e| sandbox.failure(store, &site, e))?;
                sandbox.arm(&mut *store);
                let ptr = alloc
                    .call(&mut *store, len)
                    .map_err(|e| sandbox.failure(store, &site, e))?;
                memory
                    .write(&mut *store, ptr as usize, input)
                    .map_err(|_| {
                        bad(format!(
                            "alloc returned {ptr:#x}, outside memory for {len} bytes"
                        ))
                    })?;
                sandbox.arm(&mut *store);
                func.call(&mut *store, (ptr, len))
                    .map_err(|e| sandbox.failure(store, &site, e))?
            }
            (op, None) => return Err(bad(format!("{op} needs a request"))),
        };
        let (ptr, len) = abi::unpack(packed);
        let len = len as usize;
        let limit = sandbox.limits.max_output_bytes;
        if len > limit {
            return Err(Error::OutputTooLarge {
                site,
                size: len,
                limit,
            });
        }
        let data = memory.data(&*store);
        let start = ptr as usize;
        let bytes = start
            .checked_add(len)
            .and_then(|end| data.get(start..end))
            .ok_or_else(|| {
                bad(format!(
                    "result at {start:#x}+{len} lies outside the {} bytes of memory",
                    data.len()
                ))
            })?;
        Ok((decode(bytes), site))
    }
}
