//! `planton_core::kustomize::build` as a plain WebAssembly module with no imports, so that a
//! test can run it where the web editor runs it: on a JavaScript engine's stack (V8, through
//! node), which is far smaller than a native thread's.
//!
//! It is a test tool, not a contract: the input is the build directory on the first line, then
//! `path NUL content NUL` records; the output is `ok <bytes of YAML>` or `err <message>`.
//! A stack overflow is a trap, which the JavaScript side sees as an exception.
//!
//! No unsafe code beyond the export names: the caller writes its input into a buffer owned by
//! the module (whose address `input` returns) and reads the answer from another (`output`).

use planton_core::kustomize::{FileTree, build};
use std::sync::Mutex;

static INPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static OUTPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Runs one build over the encoded tree and describes the outcome in one line.
pub fn run_encoded(input: &[u8]) -> String {
    let text = String::from_utf8_lossy(input);
    let (dir, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let mut tree = FileTree::new();
    let mut fields = rest.split('\0');
    while let (Some(path), Some(content)) = (fields.next(), fields.next()) {
        tree.insert(path, content);
    }
    match build(&tree, dir).and_then(|b| b.to_yaml()) {
        Ok(yaml) => format!("ok {}", yaml.len()),
        Err(e) => format!("err {e}"),
    }
}

/// Makes the input buffer `len` bytes long and returns its address.
#[allow(unsafe_code)]
// SAFETY: a name no other symbol of this module has.
#[unsafe(no_mangle)]
pub extern "C" fn input(len: u32) -> u32 {
    let mut buf = INPUT.lock().unwrap_or_else(|e| e.into_inner());
    *buf = vec![0; len as usize];
    buf.as_mut_ptr() as usize as u32
}

/// Builds the tree in the input buffer; returns the length of the answer.
#[allow(unsafe_code)]
// SAFETY: a name no other symbol of this module has.
#[unsafe(no_mangle)]
pub extern "C" fn run() -> u32 {
    let input = std::mem::take(&mut *INPUT.lock().unwrap_or_else(|e| e.into_inner()));
    let answer = run_encoded(&input).into_bytes();
    let len = answer.len() as u32;
    *OUTPUT.lock().unwrap_or_else(|e| e.into_inner()) = answer;
    len
}

/// The address of the answer of the last `run`.
#[allow(unsafe_code)]
// SAFETY: a name no other symbol of this module has.
#[unsafe(no_mangle)]
pub extern "C" fn output() -> u32 {
    OUTPUT.lock().unwrap_or_else(|e| e.into_inner()).as_ptr() as usize as u32
}
