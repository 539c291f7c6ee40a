// Runs planton-wasm-harness in node (V8, the browser's engine, with its default stack):
// `node run.mjs harness.wasm case-file...`; prints one line per case: `ok <n>`, `err <msg>`,
// or `trap <message>` when the module trapped (a stack overflow is a RangeError in V8).
// After a trap the instance is re-created, as the web editor does.
import { readFileSync } from "node:fs";

const bytes = readFileSync(process.argv[2]);
const module = new WebAssembly.Module(bytes);
let instance = new WebAssembly.Instance(module, {});
for (const file of process.argv.slice(3)) {
  const input = readFileSync(file);
  try {
    const ptr = instance.exports.input(input.length);
    new Uint8Array(instance.exports.memory.buffer, ptr, input.length).set(input);
    const len = instance.exports.run();
    const out = instance.exports.output();
    const text = Buffer.from(new Uint8Array(instance.exports.memory.buffer, out, len)).toString();
    console.log(text.split("\n")[0]);
  } catch (e) {
    console.log(`trap ${e && e.message ? e.message : e}`);
    instance = new WebAssembly.Instance(module, {});
  }
}
