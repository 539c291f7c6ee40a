//! Target plugins in the page: the same `.wasm` modules the runner hosts with wasmtime, run
//! by the browser's `WebAssembly` with the same contract (`planton_plugin_sdk::abi`).
//!
//! A plugin is compiled asynchronously once ([`WasmPlugin::instantiate`], which is
//! `WebAssembly.instantiate(bytes, {})`: no imports) and then called synchronously. This
//! module implements only that raw call (core's [`Target`]); kind routing, the conversion
//! of plugin diagnostics and the render loop are core's [`Targets`], exactly as in the CLI.
//!
//! Each call copies a JSON request into a buffer from `planton_alloc`, calls the export,
//! unpacks the `i64` result (pointer, length), reads the JSON [`CallResult`] and frees the
//! result with `planton_dealloc`. A trap becomes an error, never a page crash. Answers are
//! kept by request, so a manifest an edit did not change is not sent again.

use js_sys::{BigInt, Function, Object, Reflect, Uint8Array, WebAssembly};
use planton_core::plugins::{CallError, Target, Targets};
use planton_core::service::PluginPin;
use planton_plugin_sdk::abi::{self, CallResult};
use planton_plugin_sdk::{
    CONTRACT_VERSION, Describe, RenderOutput, RenderRequest, ValidateRequest, ValidateResponse,
};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// One instantiated plugin.
pub struct WasmPlugin {
    describe: Describe,
    origin: String,
    /// Pinned by the open service's `planton.yaml` (dropped when another service opens).
    pinned: bool,
    memory: WebAssembly::Memory,
    alloc: Function,
    dealloc: Function,
    validate: Function,
    render: Function,
    /// Answers by request (its JSON and the export called): see [`WasmPlugin::call`].
    memo: RefCell<HashMap<Vec<u8>, Vec<u8>>>,
}

fn js_err(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{e:?}"))
}

fn export(exports: &Object, name: &str) -> Result<JsValue, String> {
    let v = Reflect::get(exports, &JsValue::from_str(name)).map_err(js_err)?;
    if v.is_undefined() {
        return Err(format!(
            "the module does not export `{name}`: it is not a planton plugin"
        ));
    }
    Ok(v)
}

fn function(exports: &Object, name: &str) -> Result<Function, String> {
    export(exports, name)?
        .dyn_into()
        .map_err(|_| format!("export `{name}` is not a function"))
}

impl WasmPlugin {
    /// Compiles and instantiates a plugin with no imports, checks its contract version and
    /// reads its description. `origin` says where it came from (shown in the page).
    pub async fn instantiate(bytes: &[u8], origin: &str) -> Result<WasmPlugin, String> {
        let promise = WebAssembly::instantiate_buffer(bytes, &Object::new());
        let result = JsFuture::from(promise)
            .await
            .map_err(|e| format!("cannot instantiate {origin}: {}", js_err(e)))?;
        let instance: WebAssembly::Instance = Reflect::get(&result, &JsValue::from_str("instance"))
            .map_err(js_err)?
            .dyn_into()
            .map_err(|_| format!("cannot instantiate {origin}"))?;
        let exports = instance.exports();
        let version = function(&exports, abi::EXPORT_CONTRACT_VERSION)?
            .call0(&JsValue::NULL)
            .map_err(js_err)?;
        let version = version.as_f64().unwrap_or(-1.0);
        if version != f64::from(CONTRACT_VERSION) {
            return Err(format!(
                "{origin} speaks plugin contract version {version}; this editor speaks {CONTRACT_VERSION}"
            ));
        }
        let memory: WebAssembly::Memory = export(&exports, abi::EXPORT_MEMORY)?
            .dyn_into()
            .map_err(|_| "export `memory` is not a memory".to_string())?;
        let describe_fn = function(&exports, abi::EXPORT_DESCRIBE)?;
        let mut plugin = WasmPlugin {
            describe: Describe {
                name: String::new(),
                version: String::new(),
                contract_version: CONTRACT_VERSION,
                kinds: vec![],
            },
            origin: origin.to_string(),
            pinned: false,
            memory,
            alloc: function(&exports, abi::EXPORT_ALLOC)?,
            dealloc: function(&exports, abi::EXPORT_DEALLOC)?,
            validate: function(&exports, abi::EXPORT_VALIDATE)?,
            render: function(&exports, abi::EXPORT_RENDER)?,
            memo: RefCell::default(),
        };
        let packed = describe_fn
            .call0(&JsValue::NULL)
            .map_err(|e| format!("describe trapped: {}", js_err(e)))?;
        plugin.describe = plugin
            .take_result::<Describe>(packed)
            .map_err(|e| format!("describe of {origin}: {e}"))?;
        if plugin.describe.contract_version != CONTRACT_VERSION {
            return Err(format!(
                "{origin} describes contract version {}; this editor speaks {CONTRACT_VERSION}",
                plugin.describe.contract_version
            ));
        }
        Ok(plugin)
    }

    /// Where the plugin came from (`built-in`, a file name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the open service's `planton.yaml` pinned it.
    pub fn is_pinned(&self) -> bool {
        self.pinned
    }

    /// Calls export `f` with `req`. A plugin is a pure function of its request (it imports
    /// nothing), so a request seen before is answered from [`WasmPlugin::memo`] without
    /// entering the module: after an edit, only the manifests that changed cross into it.
    fn call<Req: serde::Serialize, Resp: DeserializeOwned>(
        &self,
        f: &Function,
        export: u8,
        req: &Req,
    ) -> Result<Resp, CallError> {
        let mut key = serde_json::to_vec(req)
            .map_err(|e| CallError::Host(format!("cannot encode the request: {e}")))?;
        key.push(export);
        if let Some(out) = self.memo.borrow().get(&key) {
            return decode(out);
        }
        let input = &key[..key.len() - 1];
        let len =
            u32::try_from(input.len()).map_err(|_| CallError::Host("request too large".into()))?;
        let ptr = self
            .alloc
            .call1(&JsValue::NULL, &JsValue::from(len))
            .map_err(|e| CallError::Trap(format!("in alloc: {}", js_err(e))))?;
        let ptr = ptr.as_f64().unwrap_or(0.0) as i32 as u32;
        // Read the buffer after `alloc`: the memory may have grown (and detached the old one).
        let mem = Uint8Array::new(&self.memory.buffer());
        mem.subarray(ptr, ptr + len).copy_from(input);
        let packed = f
            .call2(
                &JsValue::NULL,
                &JsValue::from(ptr as i32),
                &JsValue::from(len as i32),
            )
            .map_err(|e| CallError::Trap(js_err(e)))?;
        let out = self.take_bytes(packed)?;
        let result = decode(&out);
        let mut memo = self.memo.borrow_mut();
        if memo.len() >= MEMO_CAPACITY {
            memo.clear();
        }
        memo.insert(key, out);
        result
    }

    /// Reads, decodes and frees a packed result.
    fn take_result<T: DeserializeOwned>(&self, packed: JsValue) -> Result<T, CallError> {
        decode(&self.take_bytes(packed)?)
    }

    /// Copies a packed result out of the plugin's memory and frees it there.
    fn take_bytes(&self, packed: JsValue) -> Result<Vec<u8>, CallError> {
        let bad = |m: &str| CallError::BadOutput(m.to_string());
        let packed: BigInt = packed
            .dyn_into()
            .map_err(|_| bad("a result is not an i64"))?;
        let packed = BigInt::as_uint_n(64.0, &packed);
        let packed: u64 = String::from(packed.to_string(10).map_err(|_| bad("not an i64"))?)
            .parse()
            .map_err(|_| bad("not an i64"))?;
        let (ptr, len) = abi::unpack(packed);
        let mem = Uint8Array::new(&self.memory.buffer());
        if u64::from(ptr) + u64::from(len) > u64::from(mem.length()) {
            return Err(bad("the result lies outside the plugin's memory"));
        }
        let bytes = mem.subarray(ptr, ptr + len).to_vec();
        let _ = self.dealloc.call2(
            &JsValue::NULL,
            &JsValue::from(ptr as i32),
            &JsValue::from(len as i32),
        );
        Ok(bytes)
    }
}

/// How many answers a plugin keeps (then it forgets them all and starts again).
const MEMO_CAPACITY: usize = 2048;

/// Decodes a plugin's JSON result.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CallError> {
    let result: CallResult<T> =
        serde_json::from_slice(bytes).map_err(|e| CallError::BadOutput(e.to_string()))?;
    Result::from(result).map_err(|e| CallError::Refused(e.message))
}

impl Target for WasmPlugin {
    fn describe(&self) -> &Describe {
        &self.describe
    }
    fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, CallError> {
        self.call(&self.validate, 0, req)
    }
    fn render(&self, req: &RenderRequest) -> Result<RenderOutput, CallError> {
        self.call(&self.render, 1, req)
    }
}

/// Loads the plugins `pins` names (service-relative paths) from `bytes` (what the folder had
/// at those paths), as `planton validate` loads them: each file must have its pinned sha256.
/// Returns the plugins and, for each that could not be loaded, why (`plugin <path>: ...`).
pub async fn load_pinned(
    pins: &[PluginPin],
    bytes: &[(String, Vec<u8>)],
) -> (Vec<WasmPlugin>, Vec<String>) {
    let (mut plugins, mut errors) = (Vec::new(), Vec::new());
    for pin in pins {
        let Some((_, b)) = bytes.iter().find(|(p, _)| *p == pin.path) else {
            errors.push(format!(
                "plugin {0}: cannot read plugin {0}: not in the opened folder",
                pin.path
            ));
            continue;
        };
        let actual = format!("{:x}", Sha256::digest(b));
        if actual != pin.sha256 {
            errors.push(format!(
                "plugin {0}: plugin {0} does not match its pinned digest: expected sha256 {1}, found {actual}",
                pin.path, pin.sha256
            ));
            continue;
        }
        match WasmPlugin::instantiate(b, &format!("pinned {}", pin.path)).await {
            Ok(mut p) => {
                p.pinned = true;
                plugins.push(p);
            }
            Err(e) => errors.push(format!("plugin {}: {e}", pin.path)),
        }
    }
    (plugins, errors)
}

/// The plugins the page knows: the built-in ones, then any the user dropped, as core's
/// [`Targets`] (shared by the views; replaced, never mutated, when a plugin is added).
#[derive(Clone, Default)]
pub struct PluginSet {
    plugins: Rc<Targets<Rc<WasmPlugin>>>,
}

impl PartialEq for PluginSet {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.plugins, &other.plugins)
    }
}

impl PluginSet {
    /// A set with one more plugin; a plugin with the same name is replaced.
    pub fn with(&self, p: WasmPlugin) -> PluginSet {
        let mut v: Vec<Rc<WasmPlugin>> = self
            .plugins
            .all()
            .iter()
            .filter(|o| o.describe.name != p.describe.name)
            .cloned()
            .collect();
        v.push(Rc::new(p));
        PluginSet {
            plugins: Rc::new(Targets::new(v)),
        }
    }

    /// The set without the plugins pinned by a service, plus `pinned` (the open service's).
    pub fn with_pinned(&self, pinned: Vec<WasmPlugin>) -> PluginSet {
        let mut v: Vec<Rc<WasmPlugin>> = self
            .plugins
            .all()
            .iter()
            .filter(|o| !o.pinned && !pinned.iter().any(|p| p.describe.name == o.describe.name))
            .cloned()
            .collect();
        v.extend(pinned.into_iter().map(Rc::new));
        PluginSet {
            plugins: Rc::new(Targets::new(v)),
        }
    }

    /// Every plugin.
    pub fn all(&self) -> &[Rc<WasmPlugin>] {
        self.plugins.all()
    }

    /// Kind routing, diagnostics and the render loop: core's composition.
    pub fn targets(&self) -> &Targets<Rc<WasmPlugin>> {
        &self.plugins
    }
}
