//! Opening and saving a service folder: the File System Access API where the browser has it
//! (`showDirectoryPicker`, dropped folder handles), else `<input webkitdirectory>` and
//! `webkitGetAsEntry` for reading and a zip download for saving.
//!
//! The walking itself is in `fs.js` (async iterators and callback APIs are much shorter
//! there); this module turns its results into Rust values. A folder is read in two steps:
//! `planton.yaml` and the files under `_kustomize/`, then only what the config points at
//! ([`read_more`]: the groups directory, pinned plugins).

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/src/services/fs.js")]
extern "C" {
    #[wasm_bindgen(js_name = hasDirectoryPicker)]
    fn has_directory_picker_js() -> bool;
    #[wasm_bindgen(js_name = pickDirectory)]
    fn pick_directory_js() -> js_sys::Promise;
    #[wasm_bindgen(js_name = readDrop)]
    fn read_drop_js(dt: &web_sys::DataTransfer) -> js_sys::Promise;
    #[wasm_bindgen(js_name = readInputFolder)]
    fn read_input_folder_js(files: &web_sys::FileList) -> js_sys::Promise;
    #[wasm_bindgen(js_name = readWasmFiles)]
    fn read_wasm_files_js(files: &web_sys::FileList) -> js_sys::Promise;
    #[wasm_bindgen(js_name = saveToHandle)]
    fn save_to_handle_js(
        handle: &JsValue,
        strip: &str,
        files: &Array,
        deleted: &Array,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = readMore)]
    fn read_more_js(source: &JsValue, dirs: Vec<String>, files: Vec<String>) -> js_sys::Promise;
    #[wasm_bindgen(js_name = download)]
    fn download_js(name: &str, bytes: &Uint8Array, mime: &str);
}

/// A writable folder the service came from (a File System Access API directory handle).
#[derive(Clone, Debug)]
pub struct FolderHandle {
    handle: JsValue,
    /// The prefix to drop before writing (`_kustomize` when the picked folder was `_kustomize`).
    strip: String,
}

impl PartialEq for FolderHandle {
    fn eq(&self, other: &Self) -> bool {
        self.handle == other.handle && self.strip == other.strip
    }
}

/// A folder as read.
#[derive(Clone, Debug, PartialEq)]
pub struct Folder {
    /// The folder's name.
    pub name: String,
    /// `(service-relative path, text)` of `planton.yaml` and every file under `_kustomize/`.
    pub files: Vec<(String, String)>,
    /// Where to save back, when the browser gave a writable handle.
    pub handle: Option<FolderHandle>,
    /// Where more files of the folder can be read from ([`read_more`]); `undefined` when the
    /// folder opened was `_kustomize` itself (its service root is out of reach).
    pub source: JsValue,
}

/// Files read through [`read_more`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct More {
    /// `(service-relative path, text)` of every file under the directories asked for.
    pub texts: Vec<(String, String)>,
    /// `(service-relative path, bytes)` of the files asked for that exist.
    pub bytes: Vec<(String, Vec<u8>)>,
}

/// Reads, from the folder `folder` was read from, every file under the service-relative
/// directories `dirs` (as text) and the files `files` (as bytes); what is not there is left
/// out.
pub async fn read_more(folder: &Folder, dirs: &[String], files: &[String]) -> Result<More, String> {
    if folder.source.is_null() || folder.source.is_undefined() {
        return Ok(More::default());
    }
    let v = JsFuture::from(read_more_js(&folder.source, dirs.to_vec(), files.to_vec()))
        .await
        .map_err(err)?;
    Ok(More {
        texts: pairs_text(&get(&v, "texts")),
        bytes: pairs_bytes(&get(&v, "bytes")),
    })
}

/// What a drop carried.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dropped {
    /// `.wasm` files: (name, bytes).
    pub wasm: Vec<(String, Vec<u8>)>,
    /// A folder, if one was dropped.
    pub folder: Option<Folder>,
}

fn err(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{e:?}"))
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn pairs_text(v: &JsValue) -> Vec<(String, String)> {
    Array::from(v)
        .iter()
        .map(|p| {
            let p = Array::from(&p);
            (
                p.get(0).as_string().unwrap_or_default(),
                p.get(1).as_string().unwrap_or_default(),
            )
        })
        .collect()
}

fn pairs_bytes(v: &JsValue) -> Vec<(String, Vec<u8>)> {
    Array::from(v)
        .iter()
        .map(|p| {
            let p = Array::from(&p);
            (
                p.get(0).as_string().unwrap_or_default(),
                Uint8Array::new(&p.get(1)).to_vec(),
            )
        })
        .collect()
}

fn folder(v: &JsValue) -> Option<Folder> {
    if v.is_null() || v.is_undefined() {
        return None;
    }
    let handle = get(v, "handle");
    Some(Folder {
        name: get(v, "name")
            .as_string()
            .unwrap_or_else(|| "service".into()),
        files: pairs_text(&get(v, "files")),
        handle: (!handle.is_null() && !handle.is_undefined()).then(|| FolderHandle {
            handle,
            strip: get(v, "strip").as_string().unwrap_or_default(),
        }),
        source: get(v, "source"),
    })
}

/// Whether the browser has `showDirectoryPicker` (Chromium-based browsers).
pub fn has_directory_picker() -> bool {
    has_directory_picker_js()
}

/// Lets the user pick a folder with `showDirectoryPicker`; `Ok(None)` when they cancel.
pub async fn pick_directory() -> Result<Option<Folder>, String> {
    let v = JsFuture::from(pick_directory_js()).await.map_err(err)?;
    Ok(folder(&v))
}

/// Reads what was dropped on the page. Call it inside the drop handler: the drop's items
/// are taken at once (they are gone when the handler returns); only the reading is awaited.
pub fn read_drop(
    dt: &web_sys::DataTransfer,
) -> impl std::future::Future<Output = Result<Dropped, String>> + use<> {
    let promise = read_drop_js(dt);
    async move {
        let v = JsFuture::from(promise).await.map_err(err)?;
        Ok(Dropped {
            wasm: pairs_bytes(&get(&v, "wasm")),
            folder: folder(&get(&v, "folder")),
        })
    }
}

/// Reads the files of an `<input type=file webkitdirectory>`.
pub async fn read_input_folder(files: &web_sys::FileList) -> Result<Option<Folder>, String> {
    let v = JsFuture::from(read_input_folder_js(files))
        .await
        .map_err(err)?;
    Ok(folder(&v))
}

/// Reads `.wasm` files picked in an `<input type=file>`.
pub async fn read_wasm_files(files: &web_sys::FileList) -> Result<Vec<(String, Vec<u8>)>, String> {
    let v = JsFuture::from(read_wasm_files_js(files))
        .await
        .map_err(err)?;
    Ok(pairs_bytes(&v))
}

/// Writes `files` and removes `deleted` (service-relative paths) in the folder. Returns the
/// number of files written.
pub async fn save_to_folder(
    h: &FolderHandle,
    files: &[(String, String)],
    deleted: &[String],
) -> Result<u32, String> {
    let f: Array = files
        .iter()
        .map(|(p, t)| -> JsValue {
            Array::of2(&JsValue::from_str(p), &JsValue::from_str(t)).into()
        })
        .collect();
    let d: Array = deleted.iter().map(|p| JsValue::from_str(p)).collect();
    let n = JsFuture::from(save_to_handle_js(&h.handle, &h.strip, &f, &d))
        .await
        .map_err(err)?;
    Ok(n.as_f64().unwrap_or(0.0) as u32)
}

/// Offers `bytes` as a download named `name`.
pub fn download(name: &str, bytes: &[u8], mime: &str) {
    download_js(name, &Uint8Array::from(bytes), mime);
}
