// Benchmark of the web editor (not a test): edit → updated diagnostics in the browser,
// measured with performance.now() in the page, for the bundled example and the `wide`
// kustomize workload; plus the gzipped size of everything the page loads.
// Run through scripts/bench-web.sh (which builds, serves and sets PLANTON_WEB_URL).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const URL_ = process.env.PLANTON_WEB_URL;
const DIST = path.join(ROOT, 'dist');
const WIDE = process.env.PLANTON_BENCH_WIDE || path.resolve(ROOT, '../shared/bench/kustomize/wide');
const N = Number(process.env.PLANTON_BENCH_N || 100);
// Edits run before measuring: V8 runs WebAssembly on its baseline compiler (Liftoff) until a
// function is hot, then tiers it up in the background (dynamic tiering); the first edits of a
// page measure that warm-up, not the editor. `PLANTON_BENCH_WARMUP=0` measures them too.
const WARMUP = Number(process.env.PLANTON_BENCH_WARMUP ?? 20);

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const p90 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length * 0.9)]; };

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'planton-bench-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, viewport: { width: 1440, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const loaded = [];
context.on('requestfinished', (r) => loaded.push(new URL(r.url()).pathname));
const page = context.pages()[0] || (await context.newPage());
await page.goto(URL_);
await page.waitForSelector('[data-testid=status][data-ready=true]', { timeout: 30000 });

// Size: every file the page loaded, gzipped (-9) as a static host would serve it.
let raw = 0, gz = 0;
const rows = [];
for (const p of [...new Set(loaded)]) {
  const file = path.join(DIST, decodeURIComponent(p === '/' ? '/index.html' : p));
  if (!fs.existsSync(file)) continue;
  const bytes = fs.readFileSync(file);
  const z = zlib.gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length; gz += z;
  rows.push(`  ${path.relative(DIST, file).padEnd(48)} ${String(bytes.length).padStart(9)} B  gzip ${String(z).padStart(8)} B`);
}

async function edits(rel, variants) {
  await page.click(`[data-testid=file-entry][data-path="${rel}"]`);
  await page.waitForSelector(`[data-testid=editor-pane][data-path="${rel}"]`);
  const out = { latency: [], validate: [], total: [] };
  for (let i = 0; i < N + WARMUP; i++) {
    const r = await page.evaluate(async (text) => {
      const ta = document.querySelector('[data-testid=editor]');
      const st = document.querySelector('[data-testid=status]');
      const prev = st.dataset.runs;
      const t0 = performance.now();
      ta.value = text;
      ta.dispatchEvent(new InputEvent('input', { bubbles: true }));
      await new Promise((res) => {
        const mo = new MutationObserver(() => { if (st.dataset.runs !== prev) { mo.disconnect(); res(); } });
        mo.observe(st, { attributes: true });
      });
      return { latency: performance.now() - t0, validate: Number(st.dataset.validateMs), total: Number(st.dataset.totalMs) };
    }, variants[i % variants.length]);
    if (i >= WARMUP) for (const k of Object.keys(out)) out[k].push(r[k]);
  }
  return out;
}

function report(name, r) {
  const f = (xs) => `median ${median(xs).toFixed(2)} ms, p90 ${p90(xs).toFixed(2)} ms`;
  console.log(`${name}:`);
  console.log(`  core work to diagnostics (build + validate): ${f(r.validate)}`);
  console.log(`  core work, all (+ plan, views):              ${f(r.total)}`);
  console.log(`  edit → diagnostics in the DOM (incl. the wait for the next animation frame): ${f(r.latency)}`);
}

// The bundled example: edit the prod overlay.
await page.click('[data-testid=open-example]');
await page.waitForFunction(() => Number(document.querySelector('[data-testid=status]').dataset.runs) > 0);
const prod = fs.readFileSync(path.join(ROOT, 'examples/order-api/_kustomize/overlays/prod/service.yaml'), 'utf8');
const example = await edits('_kustomize/overlays/prod/service.yaml', [prod.replace('minReplicas: 3', 'minReplicas: 4'), prod]);

// The wide workload, as a service: input/base → _kustomize/base, input/overlay → overlays/prod.
let wide = null;
if (fs.existsSync(WIDE)) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'planton-wide-'));
  const svc = path.join(dir, 'wide');
  fs.cpSync(path.join(WIDE, 'input/base'), path.join(svc, '_kustomize/base'), { recursive: true });
  fs.cpSync(path.join(WIDE, 'input/overlay'), path.join(svc, '_kustomize/overlays/prod'), { recursive: true });
  const k = path.join(svc, '_kustomize/overlays/prod/kustomization.yaml');
  fs.writeFileSync(k, fs.readFileSync(k, 'utf8').replace('- ../base', '- ../../base'));
  const prev = Number(await page.getAttribute('[data-testid=status]', 'data-runs'));
  await page.setInputFiles('[data-testid=folder-input]', svc);
  await page.waitForFunction((p) => Number(document.querySelector('[data-testid=status]').dataset.runs) > p, prev);
  // Sanity: the page builds exactly kustomize's output.
  await page.click('[data-testid=tab-manifest]');
  const built = await page.$$eval('[data-testid=manifest-yaml] .yl-t', (ls) => ls.map((l) => l.textContent).join('\n') + '\n');
  const same = built === fs.readFileSync(path.join(WIDE, 'expected.yaml'), 'utf8');
  await page.click('[data-testid=tab-diagnostics]');
  const patch = '_kustomize/overlays/prod/patches/deploy-000.yaml';
  const text = fs.readFileSync(path.join(svc, patch), 'utf8');
  const changed = text.includes('replicas:') ? text.replace(/replicas: (\d+)/, (_, n) => `replicas: ${Number(n) + 1}`) : `${text}# edited\n`;
  wide = { same, r: await edits(patch, [changed, text]) };
  fs.rmSync(dir, { recursive: true, force: true });
}

console.log(`planton web editor benchmark (${N} edits each after ${WARMUP} warm-up edits, headless Chromium)`);
report('example order-api (3 overlays)', example);
if (wide) {
  report('wide workload (1 overlay, 145 files)', wide.r);
  console.log(`  built manifest matches wide/expected.yaml: ${wide.same ? 'yes' : 'NO'}`);
} else {
  console.log(`wide workload: not found at ${WIDE}`);
}
console.log(`page load: ${rows.length} files, ${(raw / 1024).toFixed(0)} KiB raw, ${(gz / 1024).toFixed(0)} KiB gzipped (goal < 1536 KiB)`);
for (const r of rows) console.log(r);
await context.close();
fs.rmSync(profile, { recursive: true, force: true });
