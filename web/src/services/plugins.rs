//! Target plugins in the page: the same `.wasm` modules the runner hosts with wasmtime, run
//! by the browser's `WebAssembly` with the same contract (`planton_plugin_sdk::abi`).
//!
//! A plugin is compiled asynchronously once ([`WasmPlugin::instantiate`], which is
//! `WebAssembly.instantiate(bytes, {})`: no imports) and then called synchronously, so
//! [`PluginSet`] can implement core's [`KindChecker`] and validation stays a plain function.
//!
//! Each call copies a JSON request into a buffer from `planton_alloc`, calls the export,
//! unpacks the `i64` result (pointer, length), reads the JSON [`CallResult`] and frees the
//! result with `planton_dealloc`. A trap becomes an error, never a page crash.

use crate::analysis::Plugins;
use js_sys::{BigInt, Function, Object, Reflect, Uint8Array, WebAssembly};
use planton_core::diag::Severity;
use planton_core::validate::{KindChecker, KindProblem};
use planton_plugin_sdk::abi::{self, CallResult};
use planton_plugin_sdk::{
    CONTRACT_VERSION, DeployContext, Describe, RenderRequest, RenderResponse, ValidateRequest,
    ValidateResponse,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// One instantiated plugin.
pub struct WasmPlugin {
    describe: Describe,
    origin: String,
    memory: WebAssembly::Memory,
    alloc: Function,
    dealloc: Function,
    validate: Function,
    render: Function,
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
            memory,
            alloc: function(&exports, abi::EXPORT_ALLOC)?,
            dealloc: function(&exports, abi::EXPORT_DEALLOC)?,
            validate: function(&exports, abi::EXPORT_VALIDATE)?,
            render: function(&exports, abi::EXPORT_RENDER)?,
        };
        let packed = describe_fn
            .call0(&JsValue::NULL)
            .map_err(|e| format!("describe trapped: {}", js_err(e)))?;
        plugin.describe = plugin.take_result::<Describe>(packed)?;
        if plugin.describe.contract_version != CONTRACT_VERSION {
            return Err(format!(
                "{origin} describes contract version {}; this editor speaks {CONTRACT_VERSION}",
                plugin.describe.contract_version
            ));
        }
        Ok(plugin)
    }

    /// The plugin's description.
    pub fn describe(&self) -> &Describe {
        &self.describe
    }

    /// Where the plugin came from (`built-in`, a file name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the plugin serves `apiVersion`/`kind`.
    pub fn serves(&self, api_version: &str, kind: &str) -> bool {
        self.describe
            .kinds
            .iter()
            .any(|k| k.api_version == api_version && k.kind == kind)
    }

    /// Validates a manifest.
    pub fn validate(&self, req: &ValidateRequest) -> Result<ValidateResponse, String> {
        self.call(&self.validate, req)
    }

    /// Renders a manifest.
    pub fn render(&self, req: &RenderRequest) -> Result<RenderResponse, String> {
        self.call(&self.render, req)
    }

    fn call<Req: serde::Serialize, Resp: DeserializeOwned>(
        &self,
        f: &Function,
        req: &Req,
    ) -> Result<Resp, String> {
        let input =
            serde_json::to_vec(req).map_err(|e| format!("cannot encode the request: {e}"))?;
        let len = u32::try_from(input.len()).map_err(|_| "request too large".to_string())?;
        let ptr = self
            .alloc
            .call1(&JsValue::NULL, &JsValue::from(len))
            .map_err(|e| format!("alloc trapped: {}", js_err(e)))?;
        let ptr = ptr.as_f64().unwrap_or(0.0) as i32 as u32;
        // Read the buffer after `alloc`: the memory may have grown (and detached the old one).
        let mem = Uint8Array::new(&self.memory.buffer());
        mem.subarray(ptr, ptr + len).copy_from(&input);
        let packed = f
            .call2(
                &JsValue::NULL,
                &JsValue::from(ptr as i32),
                &JsValue::from(len as i32),
            )
            .map_err(|e| format!("trapped: {}", js_err(e)))?;
        self.take_result(packed)
    }

    /// Reads, decodes and frees a packed result.
    fn take_result<T: DeserializeOwned>(&self, packed: JsValue) -> Result<T, String> {
        let packed: BigInt = packed
            .dyn_into()
            .map_err(|_| "a result is not an i64".to_string())?;
        let packed = BigInt::as_uint_n(64.0, &packed);
        let packed: u64 = String::from(packed.to_string(10).map_err(|e| js_err(e.into()))?)
            .parse()
            .map_err(|_| "bad result".to_string())?;
        let (ptr, len) = abi::unpack(packed);
        let mem = Uint8Array::new(&self.memory.buffer());
        if u64::from(ptr) + u64::from(len) > u64::from(mem.length()) {
            return Err("the result lies outside the plugin's memory".into());
        }
        let bytes = mem.subarray(ptr, ptr + len).to_vec();
        let _ = self.dealloc.call2(
            &JsValue::NULL,
            &JsValue::from(ptr as i32),
            &JsValue::from(len as i32),
        );
        let result: CallResult<T> =
            serde_json::from_slice(&bytes).map_err(|e| format!("bad output: {e}"))?;
        Result::from(result).map_err(|e| e.message)
    }
}

/// The plugins the page knows: the built-in ones, then any the user dropped.
#[derive(Clone, Default)]
pub struct PluginSet {
    plugins: Rc<Vec<Rc<WasmPlugin>>>,
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
            .iter()
            .filter(|o| o.describe.name != p.describe.name)
            .cloned()
            .collect();
        v.push(Rc::new(p));
        PluginSet {
            plugins: Rc::new(v),
        }
    }

    /// Every plugin.
    pub fn all(&self) -> &[Rc<WasmPlugin>] {
        &self.plugins
    }

    /// The plugin serving `apiVersion`/`kind` (the first one, as in the runner).
    pub fn for_kind(&self, api_version: &str, kind: &str) -> Option<&WasmPlugin> {
        self.plugins
            .iter()
            .find(|p| p.serves(api_version, kind))
            .map(|p| p.as_ref())
    }

    /// The plugin that checks `apiVersion`/`kind`, routed as the runner routes it
    /// (`runner/src/plugins.rs`): an exact match, else the plugin serving this kind name
    /// (wrong apiVersion), else the one serving this apiVersion (wrong kind), so the plugin
    /// itself explains what is wrong.
    fn checker_for(&self, api_version: &str, kind: &str) -> Option<&WasmPlugin> {
        let by = |f: &dyn Fn(&planton_plugin_sdk::KindInfo) -> bool| {
            self.plugins
                .iter()
                .find(|p| p.describe.kinds.iter().any(f))
                .map(|p| p.as_ref())
        };
        self.for_kind(api_version, kind)
            .or_else(|| by(&|k| k.kind == kind))
            .or_else(|| by(&|k| k.api_version == api_version))
    }
}

impl KindChecker for PluginSet {
    fn known_kinds(&self) -> Vec<String> {
        self.plugins
            .iter()
            .flat_map(|p| {
                p.describe
                    .kinds
                    .iter()
                    .map(|k| format!("{}/{}", k.api_version, k.kind))
            })
            .collect()
    }

    fn check(
        &self,
        api_version: &str,
        kind: &str,
        manifest: &Value,
        overlay: &str,
        local: bool,
    ) -> Option<Result<Vec<KindProblem>, String>> {
        let p = self.checker_for(api_version, kind)?;
        let req = ValidateRequest {
            manifest: manifest.clone(),
            overlay: overlay.to_string(),
            local,
        };
        Some(
            p.validate(&req)
                .map(|resp| {
                    resp.diagnostics
                        .into_iter()
                        .map(|d| KindProblem {
                            severity: if d.is_error() {
                                Severity::Error
                            } else {
                                Severity::Warning
                            },
                            code: d.code,
                            message: d.message,
                            path: d.path,
                        })
                        .collect()
                })
                .map_err(|e| format!("plugin `{}` failed on {kind}: {e}", p.describe.name)),
        )
    }
}

impl Plugins for PluginSet {
    fn render(
        &self,
        api_version: &str,
        kind: &str,
        manifest: &Value,
        image: Option<&str>,
    ) -> Option<Result<Vec<Value>, String>> {
        let p = self.for_kind(api_version, kind)?;
        let context = DeployContext {
            image: image.map(str::to_string),
            ..DeployContext::default()
        };
        let req = RenderRequest {
            manifest: manifest.clone(),
            context,
        };
        Some(
            p.render(&req)
                .map(|r| r.objects)
                .map_err(|e| format!("plugin `{}` cannot render {kind}: {e}", p.describe.name)),
        )
    }
}
