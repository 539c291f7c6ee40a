// Surviving a trap of the app's WebAssembly instance (a stack overflow is a RangeError in V8,
// other traps a WebAssembly.RuntimeError). After a trap the instance is unusable: its shadow
// stack and borrowed state are left where the trap hit. So the page re-creates it by
// reloading, carrying the files of the last analysis and the message in sessionStorage.
// Nothing here calls into the (broken) instance.
const KEY = "planton-recovery";
let last = null;

export function install() {
  const onTrap = (err) => {
    if (!(err instanceof WebAssembly.RuntimeError || err instanceof RangeError)) return;
    const message = `${err.name}: ${err.message}`;
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ message, snapshot: last }));
    } catch (_) {
      sessionStorage.setItem(KEY, JSON.stringify({ message, snapshot: null }));
    }
    location.reload();
  };
  window.addEventListener("error", (e) => onTrap(e.error));
  window.addEventListener("unhandledrejection", (e) => onTrap(e.reason));
}

export function snapshot(name, paths, texts) {
  last = { name, paths, texts };
}

export function snapshotFile(path, text) {
  if (!last) return;
  const i = last.paths.indexOf(path);
  if (i < 0) {
    last.paths.push(path);
    last.texts.push(text);
  } else {
    last.texts[i] = text;
  }
}

export function takeRecovered() {
  const value = sessionStorage.getItem(KEY);
  sessionStorage.removeItem(KEY);
  return value;
}
