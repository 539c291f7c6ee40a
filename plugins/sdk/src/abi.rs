//! The WebAssembly ABI of a plugin: how the contract crosses the module boundary.
//!
//! A plugin is a plain core WebAssembly module with **no imports**, so the same `.wasm` runs
//! under wasmtime in the runner and under `WebAssembly.instantiate(bytes, {})` in a browser.
//! Data crosses the boundary as UTF-8 JSON in the module's linear memory.
//! The normative description is `docs/plugin-contract.md`; in short, a plugin exports:
//!
//! | export | signature | meaning |
//! |---|---|---|
//! | `memory` | memory | the linear memory all pointers refer to |
//! | [`EXPORT_CONTRACT_VERSION`] | `() -> i32` | the contract version; the host calls it first |
//! | [`EXPORT_ALLOC`] | `(len: i32) -> i32` | a buffer of `len` bytes for the host to write into |
//! | [`EXPORT_DEALLOC`] | `(ptr: i32, len: i32)` | frees a buffer from `alloc` or a result |
//! | [`EXPORT_DESCRIBE`] | `() -> i64` | the [`Describe`](crate::Describe) result |
//! | [`EXPORT_VALIDATE`] | `(ptr: i32, len: i32) -> i64` | a [`ValidateRequest`](crate::ValidateRequest) in, a result out |
//! | [`EXPORT_RENDER`] | `(ptr: i32, len: i32) -> i64` | a [`RenderRequest`](crate::RenderRequest) in, a result out |
//! | [`EXPORT_INIT`] (optional) | `() -> ()` | does once the work every call would repeat ([`init`]) |
//!
//! A result is a packed `i64` ([`pack`]/[`unpack`]: pointer in the high 32 bits, length in the
//! low 32 bits) naming a JSON document [`CallResult`]: `{"ok": …}` or `{"error": {"message": …}}`.
//! The call takes ownership of its input buffer (the plugin frees it); the host owns the
//! result buffer and may free it with `dealloc` (a host that drops the instance need not).
//!
//! Plugin authors never see any of this: they implement [`Plugin`] and write
//! `planton_plugin_sdk::export_plugin!(MyPlugin);`.
//!
//! # Where the `unsafe` is
//! The workspace forbids `unsafe_code`, and a `forbid` cannot be relaxed by an `allow`.
//! The JSON handling here is safe code, testable natively ([`describe_json`],
//! [`validate_json`], [`render_json`]).
//! The few operations that must be unsafe (exporting unmangled symbols and taking back a
//! buffer from a raw pointer) live in the body of [`export_plugin!`](crate::export_plugin), each with a `SAFETY:`
//! comment.
//! That body expands inside the plugin crate, where rustc does not report the `unsafe_code`
//! lint for tokens written in another crate's macro, so plugin crates keep their `forbid`.
//! This file is the only place in the plugins where `unsafe` is written.
//!
//! What this module is not: it does not run on the host side.
//! The runner only uses the export names, [`unpack`] and [`CallResult`] from here.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Plugin, PluginError};

/// Export name of the contract version function, `() -> i32`.
pub const EXPORT_CONTRACT_VERSION: &str = "planton_contract_version";
/// Export name of the allocator, `(len: i32) -> i32`.
pub const EXPORT_ALLOC: &str = "planton_alloc";
/// Export name of the deallocator, `(ptr: i32, len: i32)`.
pub const EXPORT_DEALLOC: &str = "planton_dealloc";
/// Export name of describe, `() -> i64` (a packed result).
pub const EXPORT_DESCRIBE: &str = "planton_describe";
/// Export name of validate, `(ptr: i32, len: i32) -> i64` (a packed result).
pub const EXPORT_VALIDATE: &str = "planton_validate";
/// Export name of render, `(ptr: i32, len: i32) -> i64` (a packed result).
pub const EXPORT_RENDER: &str = "planton_render";
/// Export name of the optional initializer, `() -> ()`: the host may call it once, right
/// after reading the contract version, and start every later call from a snapshot of the
/// instance it leaves (see [`init`]).
pub const EXPORT_INIT: &str = "planton_init";
/// Export name of the linear memory.
pub const EXPORT_MEMORY: &str = "memory";

/// The JSON envelope of every result: `{"ok": T}` or `{"error": {"message": "…"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallResult<T> {
    /// The call succeeded with this value.
    Ok(T),
    /// The plugin refused the call (for example, a render of an invalid manifest).
    Error(PluginError),
}

impl<T> From<Result<T, PluginError>> for CallResult<T> {
    fn from(result: Result<T, PluginError>) -> CallResult<T> {
        match result {
            Ok(value) => CallResult::Ok(value),
            Err(error) => CallResult::Error(error),
        }
    }
}

impl<T> From<CallResult<T>> for Result<T, PluginError> {
    fn from(result: CallResult<T>) -> Result<T, PluginError> {
        match result {
            CallResult::Ok(value) => Ok(value),
            CallResult::Error(error) => Err(error),
        }
    }
}

/// Packs a result buffer's pointer and length into the `i64` an export returns.
pub fn pack(ptr: u32, len: u32) -> u64 {
    (u64::from(ptr) << 32) | u64::from(len)
}

/// Splits a packed result into `(ptr, len)`.
pub fn unpack(packed: u64) -> (u32, u32) {
    ((packed >> 32) as u32, packed as u32)
}

/// The JSON result of [`Plugin::describe`].
pub fn describe_json<P: Plugin>() -> Vec<u8> {
    encode(&CallResult::Ok(P::describe()))
}

/// The JSON result of [`Plugin::validate`] for a JSON request.
pub fn validate_json<P: Plugin>(input: &[u8]) -> Vec<u8> {
    match decode(input, "validate") {
        Ok(req) => encode(&CallResult::Ok(P::validate(req))),
        Err(error) => encode(&CallResult::<()>::Error(error)),
    }
}

/// The JSON result of [`Plugin::render`] for a JSON request.
pub fn render_json<P: Plugin>(input: &[u8]) -> Vec<u8> {
    match decode(input, "render") {
        Ok(req) => encode(&CallResult::from(P::render(req))),
        Err(error) => encode(&CallResult::<()>::Error(error)),
    }
}

/// What `planton_init` does: the work every call would otherwise repeat in a fresh instance.
///
/// It runs [`Plugin::describe`] (which parses the kinds' schemas into their statics),
/// compiles every schema `pattern` ([`precompile_patterns`](crate::schema::precompile_patterns))
/// and validates a bare `{apiVersion, kind}` manifest of each kind, whose result it drops:
/// that compiles the schema a plugin checks with ([`schema::compiled`](crate::schema::compiled)).
/// It only fills caches that the calls fill lazily anyway, so a call gives the same result
/// whether or not it ran first.
pub fn init<P: Plugin>() {
    for kind in P::describe().kinds {
        crate::schema::precompile_patterns(&kind.schema);
        let manifest = serde_json::json!({ "apiVersion": kind.api_version, "kind": kind.kind });
        P::validate(crate::ValidateRequest {
            manifest,
            overlay: String::new(),
            local: false,
        });
    }
}

fn decode<T: DeserializeOwned>(input: &[u8], op: &str) -> Result<T, PluginError> {
    serde_json::from_slice(input)
        .map_err(|e| PluginError::new(format!("cannot parse the {op} request: {e}")))
}

fn encode<T: Serialize>(result: &CallResult<T>) -> Vec<u8> {
    // A render's result is a few KiB: start there rather than growing (and copying) from 0.
    let mut out = Vec::with_capacity(8 << 10);
    serde_json::to_writer(&mut out, result)
        .map(|()| out)
        .unwrap_or_else(|e| {
            let error = CallResult::<()>::Error(PluginError::new(format!(
                "cannot serialise the result: {e}"
            )));
            serde_json::to_vec(&error).unwrap_or_default()
        })
}

/// Support for [`export_plugin!`](crate::export_plugin); not part of the API.
#[doc(hidden)]
pub mod __private {
    /// Hands a buffer of `len` zeroed bytes to the host; returns its address.
    pub fn alloc(len: u32) -> u32 {
        leak(vec![0; len as usize])
    }

    /// Leaks a result buffer and returns its packed address and length.
    pub fn leak_result(bytes: Vec<u8>) -> u64 {
        let len = bytes.len() as u32;
        super::pack(leak(bytes), len)
    }

    /// Leaks `bytes` as a boxed slice of exactly its length; [`export_plugin!`](crate::export_plugin) takes it back.
    fn leak(bytes: Vec<u8>) -> u32 {
        let boxed: Box<[u8]> = bytes.into_boxed_slice();
        Box::into_raw(boxed).cast::<u8>().expose_provenance() as u32
    }
}

/// Generates the WebAssembly exports of a plugin from its [`Plugin`] impl.
///
/// Use it once, at the crate root of a `cdylib` plugin crate.
/// The exports exist only when compiling for `wasm32`; on other targets the macro only checks
/// that the type implements [`Plugin`], so the crate still links natively
/// (several plugins can share one test binary) and its logic is tested with `cargo test`.
///
/// ```
/// use planton_plugin_sdk::*;
/// struct Nothing;
/// impl Plugin for Nothing {
///     fn describe() -> Describe {
///         Describe { name: "nothing".into(), version: "0.1.0".into(), contract_version: CONTRACT_VERSION, kinds: vec![] }
///     }
///     fn validate(_: ValidateRequest) -> ValidateResponse { ValidateResponse::default() }
///     fn render(_: RenderRequest) -> Result<RenderOutput, PluginError> { Ok(RenderResponse::default().into()) }
/// }
/// planton_plugin_sdk::export_plugin!(Nothing);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: fn() = || {
            fn assert_plugin<P: $crate::Plugin>() {}
            assert_plugin::<$plugin>();
        };

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            /// Takes back a buffer made by `planton_alloc` or `leak_result`.
            ///
            /// # Safety
            /// `ptr` and `len` must come from one `planton_alloc(len)` (or one result) of this
            /// instance, and the buffer must not have been taken back before.
            unsafe fn take(ptr: u32, len: u32) -> ::std::boxed::Box<[u8]> {
                let data = ::core::ptr::with_exposed_provenance_mut::<u8>(ptr as usize);
                // SAFETY: by this function's contract the pointer came from `Box::into_raw` of
                // a `Box<[u8]>` of exactly `len` bytes that nobody else owns any more.
                unsafe {
                    ::std::boxed::Box::from_raw(::core::ptr::slice_from_raw_parts_mut(
                        data,
                        len as usize,
                    ))
                }
            }

            // SAFETY (all `no_mangle` below): the names are the contract's export names, all
            // prefixed `planton_`, and the macro is used once per crate, so no other symbol
            // of the module has them.
            #[unsafe(no_mangle)]
            extern "C" fn planton_contract_version() -> u32 {
                $crate::CONTRACT_VERSION
            }

            #[unsafe(no_mangle)]
            extern "C" fn planton_init() {
                $crate::abi::init::<$plugin>()
            }

            #[unsafe(no_mangle)]
            extern "C" fn planton_alloc(len: u32) -> u32 {
                $crate::abi::__private::alloc(len)
            }

            #[unsafe(no_mangle)]
            extern "C" fn planton_dealloc(ptr: u32, len: u32) {
                // SAFETY: the contract lets the host pass only a buffer it got from
                // `planton_alloc` or a result, once; a host that breaks it only corrupts
                // this sandboxed instance.
                drop(unsafe { take(ptr, len) });
            }

            #[unsafe(no_mangle)]
            extern "C" fn planton_describe() -> u64 {
                $crate::abi::__private::leak_result($crate::abi::describe_json::<$plugin>())
            }

            #[unsafe(no_mangle)]
            extern "C" fn planton_validate(ptr: u32, len: u32) -> u64 {
                // SAFETY: the input is a buffer from `planton_alloc(len)` that the call owns.
                let input = unsafe { take(ptr, len) };
                $crate::abi::__private::leak_result($crate::abi::validate_json::<$plugin>(&input))
            }

            #[unsafe(no_mangle)]
            extern "C" fn planton_render(ptr: u32, len: u32) -> u64 {
                // SAFETY: the input is a buffer from `planton_alloc(len)` that the call owns.
                let input = unsafe { take(ptr, len) };
                $crate::abi::__private::leak_result($crate::abi::render_json::<$plugin>(&input))
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Describe, RenderOutput, RenderRequest, ValidateRequest, ValidateResponse};
    use serde_json::{Value, json};

    struct Echo;

    impl Plugin for Echo {
        fn describe() -> Describe {
            Describe {
                name: "echo".into(),
                version: "0.0.0".into(),
                contract_version: crate::CONTRACT_VERSION,
                kinds: vec![],
            }
        }
        fn validate(_: ValidateRequest) -> ValidateResponse {
            ValidateResponse::default()
        }
        fn render(req: RenderRequest) -> Result<RenderOutput, PluginError> {
            match req.manifest.get("fail") {
                Some(_) => Err(PluginError::new("asked to fail")),
                None => Ok(RenderOutput::Kubernetes {
                    objects: vec![req.manifest],
                }),
            }
        }
    }

    crate::export_plugin!(Echo);

    fn json_of(bytes: Vec<u8>) -> Value {
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn pack_round_trips() {
        assert_eq!(unpack(pack(0xdead_beef, 7)), (0xdead_beef, 7));
        assert_eq!(unpack(pack(0, u32::MAX)), (0, u32::MAX));
    }

    #[test]
    fn describe_is_wrapped_in_ok() {
        let out = json_of(describe_json::<Echo>());
        assert_eq!(out["ok"]["name"], "echo");
        assert_eq!(out["ok"]["contractVersion"], 2);
    }

    #[test]
    fn render_ok_and_error_envelopes() {
        let ok = json_of(render_json::<Echo>(br#"{"manifest":{"a":1},"context":{}}"#));
        assert_eq!(
            ok,
            json!({"ok": {"target": "kubernetes", "objects": [{"a": 1}]}})
        );
        let err = json_of(render_json::<Echo>(
            br#"{"manifest":{"fail":true},"context":{}}"#,
        ));
        assert_eq!(err, json!({"error": {"message": "asked to fail"}}));
    }

    #[test]
    fn malformed_requests_are_errors_not_panics() {
        let out = json_of(validate_json::<Echo>(b"{not json"));
        let message = out["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("cannot parse the validate request"),
            "{message}"
        );
        let out = json_of(render_json::<Echo>(b"{}"));
        assert!(
            out["error"]["message"]
                .as_str()
                .unwrap()
                .contains("render request")
        );
    }

    #[test]
    fn call_result_converts_to_result() {
        let r: CallResult<ValidateResponse> =
            serde_json::from_value(json!({"ok": {"diagnostics": []}})).unwrap();
        assert_eq!(Result::from(r), Ok(ValidateResponse::default()));
        let r: CallResult<ValidateResponse> =
            serde_json::from_value(json!({"error": {"message": "no"}})).unwrap();
        assert_eq!(
            Result::<ValidateResponse, _>::from(r),
            Err(PluginError::new("no"))
        );
    }
}
