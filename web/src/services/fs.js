// Browser file access for the planton editor: folder pickers, drag and drop, the File System
// Access API and downloads. Called only from services/fs.rs. A folder is read in two steps:
// `planton.yaml` and the files under `_kustomize/` first; then, through the folder's `source`,
// only what the config points at (the groups directory, pinned plugins: `readMore`).
// Everything else in the folder is never read.

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
  return { name, files, handle, strip, source: strip ? null : { handle } };
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
  return { name: strip ? 'service' : entry.name, files, handle: null, strip, source: strip ? null : { entry } };
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
  const all = new Map();
  let name = 'service';
  let strip = '';
  for (const f of fileList) {
    const path = f.webkitRelativePath || f.name;
    const slash = path.indexOf('/');
    if (slash < 0) continue;
    name = path.slice(0, slash);
    strip = name === '_kustomize' ? '_kustomize' : '';
    const rel = strip ? `_kustomize/${path.slice(slash + 1)}` : path.slice(slash + 1);
    all.set(rel, f);
    if (keep(rel) && rel !== '_kustomize') files.push([rel, await f.text()]);
  }
  return { name: strip ? 'service' : name, files, handle: null, strip, source: strip ? null : { list: all } };
}

// The File (or null) at service-relative `rel` of a folder's source.
async function fileAt(source, rel) {
  const parts = rel.split('/');
  try {
    if (source.list) return source.list.get(rel) || null;
    if (source.handle) {
      let d = source.handle;
      for (const p of parts.slice(0, -1)) d = await d.getDirectoryHandle(p);
      return await (await d.getFileHandle(parts[parts.length - 1])).getFile();
    }
    if (source.entry) {
      const e = await new Promise((res, rej) => source.entry.getFile(rel, {}, res, rej));
      return await new Promise((res, rej) => e.file(res, rej));
    }
  } catch (_) { /* not there */ }
  return null;
}

// Every file under service-relative directory `dir` of a folder's source: [rel, File] pairs.
async function filesUnder(source, dir) {
  const out = [];
  if (source.list) {
    for (const [rel, f] of source.list) if (rel.startsWith(`${dir}/`)) out.push([rel, f]);
    return out;
  }
  const walk = async (rel, kids) => {
    for (const [name, child] of kids) {
      const r = `${rel}/${name}`;
      if (child.dir) await walk(r, await child.children());
      else out.push([r, await child.file()]);
    }
  };
  try {
    if (source.handle) {
      let d = source.handle;
      for (const p of dir.split('/')) d = await d.getDirectoryHandle(p);
      const kids = async (h) => {
        const list = [];
        for await (const [name, c] of h.entries()) {
          list.push([name, c.kind === 'directory'
            ? { dir: true, children: () => kids(c) }
            : { dir: false, file: () => c.getFile() }]);
        }
        return list;
      };
      await walk(dir, await kids(d));
    } else if (source.entry) {
      const d = await new Promise((res, rej) => source.entry.getDirectory(dir, {}, res, rej));
      const kids = async (e) => (await readAllEntries(e.createReader())).map((c) => [c.name, c.isDirectory
        ? { dir: true, children: () => kids(c) }
        : { dir: false, file: () => new Promise((res, rej) => c.file(res, rej)) }]);
      await walk(dir, await kids(d));
    }
  } catch (_) { /* not there */ }
  return out;
}

// What the config points at: the text of every file under each of `dirs` and the bytes of
// each of `files` (service-relative paths). Paths that are not there are left out.
export async function readMore(source, dirs, files) {
  const texts = [];
  const bytes = [];
  if (!source) return { texts, bytes };
  for (const dir of dirs) {
    for (const [rel, f] of await filesUnder(source, dir)) texts.push([rel, await f.text()]);
  }
  for (const rel of files) {
    const f = await fileAt(source, rel);
    if (f) bytes.push([rel, new Uint8Array(await f.arrayBuffer())]);
  }
  return { texts, bytes };
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
