// Browser file access for the planton editor: folder pickers, drag and drop, the File System
// Access API and downloads. Called only from services/fs.rs. Only `planton.yaml` and the files
// under `_kustomize/` are read; everything else in the folder is ignored (and never read).

const keep = (rel) => rel === 'planton.yaml' || rel === '_kustomize' || rel.startsWith('_kustomize/');

export function hasDirectoryPicker() {
  return typeof window.showDirectoryPicker === 'function';
}

async function walkHandle(dir, prefix, out) {
  for await (const [name, h] of dir.entries()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (!keep(rel)) continue;
    if (h.kind === 'directory') {
      await walkHandle(h, rel, out);
    } else if (rel !== '_kustomize') {
      out.push([rel, await (await h.getFile()).text()]);
    }
  }
}

async function readHandle(handle) {
  const files = [];
  const strip = handle.name === '_kustomize' ? '_kustomize' : '';
  await walkHandle(handle, strip, files);
  const name = strip ? 'service' : handle.name;
  return { name, files, handle, strip };
}

export async function pickDirectory() {
  let handle;
  try {
    handle = await window.showDirectoryPicker({ id: 'planton-service', mode: 'readwrite' });
  } catch (e) {
    if (e && e.name === 'AbortError') return null;
    throw e;
  }
  return readHandle(handle);
}

function readAllEntries(reader) {
  return new Promise((resolve, reject) => {
    const all = [];
    const next = () => reader.readEntries((batch) => {
      if (batch.length === 0) resolve(all);
      else { all.push(...batch); next(); }
    }, reject);
    next();
  });
}

async function walkEntry(dir, prefix, out) {
  for (const e of await readAllEntries(dir.createReader())) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (!keep(rel)) continue;
    if (e.isDirectory) {
      await walkEntry(e, rel, out);
    } else if (rel !== '_kustomize') {
      const file = await new Promise((res, rej) => e.file(res, rej));
      out.push([rel, await file.text()]);
    }
  }
}

async function readEntry(entry) {
  const files = [];
  const strip = entry.name === '_kustomize' ? '_kustomize' : '';
  await walkEntry(entry, strip, files);
  return { name: strip ? 'service' : entry.name, files, handle: null, strip };
}

// A drop: `.wasm` files (external plugins) and at most one folder (a service).
export async function readDrop(dt) {
  const items = [...dt.items].filter((i) => i.kind === 'file');
  // Everything must be taken from the DataTransfer before the first await.
  const handles = items.map((i) => (i.getAsFileSystemHandle ? i.getAsFileSystemHandle().catch(() => null) : null));
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  const files = items.map((i) => i.getAsFile());
  const wasm = [];
  let folder = null;
  for (let k = 0; k < items.length; k++) {
    if (entries[k] && entries[k].isDirectory) {
      if (folder) continue;
      const handle = handles[k] ? await handles[k] : null;
      folder = handle && handle.kind === 'directory' ? await readHandle(handle) : await readEntry(entries[k]);
    } else if (files[k] && files[k].name.endsWith('.wasm')) {
      wasm.push([files[k].name, new Uint8Array(await files[k].arrayBuffer())]);
    }
  }
  return { wasm, folder };
}

// The files of an <input type=file webkitdirectory>: paths are `<folder>/<rel>`.
export async function readInputFolder(fileList) {
  const files = [];
  let name = 'service';
  let strip = '';
  for (const f of fileList) {
    const path = f.webkitRelativePath || f.name;
    const slash = path.indexOf('/');
    if (slash < 0) continue;
    name = path.slice(0, slash);
    strip = name === '_kustomize' ? '_kustomize' : '';
    const rel = strip ? `_kustomize/${path.slice(slash + 1)}` : path.slice(slash + 1);
    if (keep(rel) && rel !== '_kustomize') files.push([rel, await f.text()]);
  }
  return { name: strip ? 'service' : name, files, handle: null, strip };
}

export async function readWasmFiles(fileList) {
  const out = [];
  for (const f of fileList) out.push([f.name, new Uint8Array(await f.arrayBuffer())]);
  return out;
}

// Writes `files` ([rel, text] pairs) and removes `deleted` (rel paths) under `handle`.
export async function saveToHandle(handle, strip, files, deleted) {
  if (handle.queryPermission && (await handle.queryPermission({ mode: 'readwrite' })) !== 'granted') {
    if ((await handle.requestPermission({ mode: 'readwrite' })) !== 'granted') {
      throw new Error('permission to write the folder was refused');
    }
  }
  const local = (rel) => {
    if (!strip) return rel;
    return rel.startsWith(`${strip}/`) ? rel.slice(strip.length + 1) : null;
  };
  const dirOf = async (parts, create) => {
    let d = handle;
    for (const p of parts) d = await d.getDirectoryHandle(p, { create });
    return d;
  };
  for (const rel of deleted) {
    const l = local(rel);
    if (!l) continue;
    const parts = l.split('/');
    try { await (await dirOf(parts.slice(0, -1), false)).removeEntry(parts[parts.length - 1]); } catch (_) { /* already gone */ }
  }
  let written = 0;
  for (const [rel, text] of files) {
    const l = local(rel);
    if (!l) continue;
    const parts = l.split('/');
    const dir = await dirOf(parts.slice(0, -1), true);
    const fh = await dir.getFileHandle(parts[parts.length - 1], { create: true });
    const w = await fh.createWritable();
    await w.write(text);
    await w.close();
    written++;
  }
  return written;
}

export function download(name, bytes, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
