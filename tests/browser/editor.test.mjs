// Browser tests of the planton web editor: headless Debian Chromium driven by playwright-core,
// against a production build served on loopback (scripts/test-web.sh builds and serves it and
// sets PLANTON_WEB_URL). Run: `node --test tests/browser/`.
//
// The page's diagnostics are compared with `planton validate <dir> --output json` on the same
// files (PLANTON_BIN), field by field: the editor must report exactly what the CLI reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const URL_ = process.env.PLANTON_WEB_URL || 'http://127.0.0.1:8765/';
const BIN = process.env.PLANTON_BIN || path.join(ROOT, 'target/debug/planton');
const ARTIFACTS = process.env.PLANTON_WEB_ARTIFACTS || path.join(ROOT, 'target/web-artifacts');
const CONFIGMAP_PLUGIN = process.env.PLANTON_CONFIGMAP_WASM;
const EXAMPLE = path.join(ROOT, 'examples/order-api');
const PROD = '_kustomize/overlays/prod/service.yaml';
const BASE = '_kustomize/base/service.yaml';

let context, page, profile;
const requests = [];
let watching = false;
const pageErrors = [];

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'planton-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1440, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context.on('request', (r) => {
    const u = r.url();
    if (watching && !u.startsWith('blob:') && !u.startsWith('data:')) requests.push(u);
  });
  page = context.pages()[0] || (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await page.goto(URL_);
  await page.waitForSelector('[data-testid=status][data-ready=true]', { timeout: 30000 });
  // First load done (page, wasm, css, built-in plugins): from here on, no request at all.
  watching = true;
});

after(async () => {
  if (context) await context.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const runs = async () => Number(await page.getAttribute('[data-testid=status]', 'data-runs'));

async function waitRun(prev) {
  await page.waitForFunction((p) => Number(document.querySelector('[data-testid=status]').dataset.runs) > p, prev, { timeout: 10000 });
}

async function openFile(rel) {
  await page.click(`[data-testid=file-entry][data-path="${rel}"]`);
  await page.waitForSelector(`[data-testid=editor-pane][data-path="${rel}"]`);
}

async function editFile(rel, text) {
  await openFile(rel);
  const prev = await runs();
  await page.fill('[data-testid=editor]', text);
  await waitRun(prev);
}

async function tab(name) {
  await page.click(`[data-testid=tab-${name}]`);
}

async function pageDiagnostics() {
  await tab('diagnostics');
  return page.$$eval('[data-testid=diagnostics] > [data-testid=diagnostic]', (els) => els.map((e) => ({
    severity: e.dataset.severity, code: e.dataset.code,
    message: e.querySelector('[data-testid=diagnostic-message]').textContent,
    file: e.dataset.file, line: Number(e.dataset.line), column: Number(e.dataset.column),
    overlay: e.dataset.overlay, path: e.dataset.path,
  })));
}

function cliDiagnostics(dir) {
  let out;
  try {
    out = execFileSync(BIN, ['validate', dir, '--output', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (e.status !== 1) throw e;
    out = e.stdout;
  }
  // Both name files relative to the service folder (core shows the paths of build errors
  // that way for the CLI and the page alike), so the messages compare as they are.
  return JSON.parse(out).diagnostics.map((d) => ({
    severity: d.severity, code: d.code, message: d.message, file: d.file, line: d.line, column: d.column,
    overlay: d.overlay, path: d.path,
  }));
}

/** A copy of the example with some files replaced; returns its directory. */
function variant(files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'planton-variant-'));
  fs.cpSync(EXAMPLE, dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

async function assertSameAsCli(files) {
  const dir = variant(files);
  try {
    const cli = cliDiagnostics(dir);
    const web = await pageDiagnostics();
    assert.deepEqual(web, cli, 'the page and `planton validate --output json` disagree');
    return web;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const original = (rel) => fs.readFileSync(path.join(EXAMPLE, rel), 'utf8');

// The prod overlay with its own ports list; `name` is the first port's name.
const prodWithPorts = (name) => original(PROD).replace('  availability:\n',
  `      ports:\n        - name: ${name}\n          appProtocol: http\n          networkProtocol: TCP\n          containerPort: 8080\n          servicePort: 80\n          isIngressPort: true\n  availability:\n`);

test('opens the bundled example with no errors, same diagnostics as the CLI', async () => {
  const prev = await runs();
  await page.click('[data-testid=open-example]');
  await waitRun(prev);
  const web = await assertSameAsCli({});
  assert.equal(web.filter((d) => d.severity === 'error').length, 0, JSON.stringify(web));
  const entries = await page.$$eval('[data-testid=file-entry]', (els) => els.map((e) => e.dataset.path));
  assert.ok(entries.includes(BASE) && entries.includes(PROD), entries.join(','));
  assert.deepEqual(pageErrors, []);
});

test('a broken port name in the prod overlay is marked at its file, line and column, then fixed', async () => {
  const broken = prodWithPorts('Bad_Port');
  await editFile(PROD, broken);
  const web = await assertSameAsCli({ [PROD]: broken });
  const line = broken.split('\n').findIndex((l) => l.includes('Bad_Port')) + 1;
  const column = broken.split('\n')[line - 1].indexOf('Bad_Port') + 1;
  const hit = web.find((d) => d.severity === 'error' && d.file === PROD);
  assert.ok(hit, JSON.stringify(web));
  assert.equal(hit.line, line);
  assert.equal(hit.column, column);
  assert.equal(hit.overlay, 'prod');
  // The editor marks the place.
  await page.waitForSelector(`[data-testid=editor-mark][data-line="${line}"][data-column="${column}"]`);
  await page.waitForSelector(`[data-testid=gutter-line][data-line="${line}"].error`);
  await page.waitForSelector(`[data-testid=file-entry][data-path="${PROD}"][data-errors="1"]`);
  // Jump: from another file, clicking the diagnostic opens the file at the place.
  await openFile(BASE);
  await tab('diagnostics');
  await page.click(`[data-testid=diagnostic][data-file="${PROD}"]`);
  await page.waitForSelector(`[data-testid=editor-pane][data-path="${PROD}"]`);
  const caret = await page.$eval('[data-testid=editor]', (t) => {
    const before = t.value.slice(0, t.selectionStart).split('\n');
    return [before.length, before[before.length - 1].length + 1];
  });
  assert.deepEqual(caret, [line, column]);
  // Nothing is hidden under the gutter after the jump, and the editor stays in its column:
  // the first character of the marked line starts right of the gutter, the editor's box
  // ends left of the right-hand panel.
  const layout = await page.evaluate((n) => {
    const gutter = document.querySelector('[data-testid=gutter-line]').getBoundingClientRect();
    const row = document.querySelector(`[data-testid=editor-line][data-line="${n}"]`).getBoundingClientRect();
    const scroll = document.querySelector('.editor-scroll').getBoundingClientRect();
    const right = document.querySelector('.right').getBoundingClientRect();
    const center = document.querySelector('.center');
    return { gutterRight: gutter.right, rowLeft: row.left, scrollRight: scroll.right, rightLeft: right.left, centerScroll: center.scrollLeft };
  }, line);
  assert.equal(layout.centerScroll, 0, JSON.stringify(layout));
  assert.ok(layout.rowLeft >= layout.gutterRight - 1, JSON.stringify(layout));
  assert.ok(layout.scrollRight <= layout.rightLeft + 1, JSON.stringify(layout));
  await page.screenshot({ path: path.join(ARTIFACTS, 'broken-port.png') });

  // Fix it: the diagnostic goes.
  const fixed = prodWithPorts('https');
  await editFile(PROD, fixed);
  const after = await assertSameAsCli({ [PROD]: fixed });
  assert.equal(after.filter((d) => d.severity === 'error').length, 0, JSON.stringify(after));
  assert.equal(await page.locator('[data-testid=editor-mark]').count(), 0);
  await editFile(PROD, original(PROD));
});

test('a broken value in the base points at the base', async () => {
  const broken = original(BASE).replace('- name: metrics', '- name: METRICS!');
  await editFile(BASE, broken);
  const web = await assertSameAsCli({ [BASE]: broken });
  const line = broken.split('\n').findIndex((l) => l.includes('METRICS!')) + 1;
  const hits = web.filter((d) => d.severity === 'error');
  assert.ok(hits.length >= 1, JSON.stringify(web));
  for (const d of hits) {
    assert.equal(d.file, BASE);
    assert.equal(d.line, line);
    assert.equal(d.column, broken.split('\n')[line - 1].indexOf('METRICS!') + 1);
  }
  // Every overlay inherits it.
  assert.deepEqual([...new Set(hits.map((d) => d.overlay))].sort(), ['local', 'prod', 'staging']);
  await editFile(BASE, original(BASE));
  assert.equal((await pageDiagnostics()).filter((d) => d.severity === 'error').length, 0);
});

test('broken variants: same diagnostics as the CLI', async () => {
  const cases = [
    // YAML syntax error in a patch (a build error with a position).
    { [PROD]: original(PROD).replace('    minReplicas: 3', '    minReplicas: [3') },
    // A malformed reference.
    { [PROD]: original(PROD).replace('$secrets-group/stripe/live-key', '$secret-group/stripe/live-key') },
    // An unknown field (schema, with a suggestion).
    { [BASE]: original(BASE).replace('    minReplicas: 1', '    minReplica: 1') },
    // A kustomization naming a missing file.
    { '_kustomize/overlays/staging/kustomization.yaml': original('_kustomize/overlays/staging/kustomization.yaml').replace('path: service.yaml', 'path: missing.yaml') },
  ];
  for (const files of cases) {
    for (const [rel, text] of Object.entries(files)) await editFile(rel, text);
    const web = await assertSameAsCli(files);
    assert.ok(web.some((d) => d.severity === 'error'), JSON.stringify(files));
    for (const rel of Object.keys(files)) await editFile(rel, original(rel));
  }
  assert.equal((await pageDiagnostics()).filter((d) => d.severity === 'error').length, 0);
});

test('planton.yaml: created in the page, checked like the CLI, plan shows gates and skips', async () => {
  const cfg = 'apiVersion: planton.dev/v1\nkind: ServiceConfig\ndeploymentEnvironments: [staging, prod]\npromotionOrder: [staging, prod]\nmanualGates: [prod]\nmanualGate: [prod]\n';
  page.once('dialog', (d) => d.accept('planton.yaml'));
  await page.click('[data-testid=new-file]');
  await page.waitForSelector('[data-testid=file-entry][data-path="planton.yaml"]');
  await editFile('planton.yaml', cfg);
  const web = await assertSameAsCli({ 'planton.yaml': cfg });
  assert.ok(web.some((d) => d.code === 'config-unknown-field' && d.file === 'planton.yaml'), JSON.stringify(web));
  await tab('plan');
  const tasks = await page.$$eval('[data-testid=plan-task]', (els) => els.map((e) => [e.dataset.name, e.dataset.gate]));
  assert.deepEqual(tasks, [['staging', 'false'], ['prod', 'true']]);
  const skipped = await page.$$eval('[data-testid=plan-skipped]', (els) => els.map((e) => e.textContent));
  assert.ok(skipped.some((s) => s.startsWith('local') && s.includes('never deployed')), skipped.join('|'));
  page.once('dialog', (d) => d.accept());
  await page.click('[data-testid=delete-file][data-path="planton.yaml"]', { force: true });
  await page.waitForSelector('[data-testid=file-entry][data-path="planton.yaml"]', { state: 'detached' });
});

test('views: built manifest, rendered objects, diff between two overlays', async () => {
  await tab('manifest');
  await page.selectOption('[data-testid=overlay-select]', 'prod');
  const yaml = await page.textContent('[data-testid=manifest-yaml]');
  assert.ok(yaml.includes('env: app-prod') && yaml.includes('kind: MicroserviceKubernetes'), yaml);
  await tab('rendered');
  // The example leaves the image tag to the build: give the render one, as a deploy would.
  await page.waitForSelector('[data-testid=rendered-error]');
  await page.fill('[data-testid=render-image]', 'ghcr.io/acme-shop/order-api:1.4.2');
  await page.press('[data-testid=render-image]', 'Enter');
  await page.waitForSelector('[data-testid=rendered-object]');
  const kinds = await page.$$eval('[data-testid=rendered-object]', (els) => els.map((e) => e.dataset.kind));
  assert.ok(kinds.includes('Deployment'), kinds.join(','));
  await tab('diff');
  await page.selectOption('[data-testid=diff-left-select]', 'staging');
  await page.selectOption('[data-testid=diff-right-select]', 'prod');
  const changed = await page.$$eval('[data-testid=diff-row][data-kind=changed]', (rows) => rows.map((r) => r.textContent));
  assert.ok(changed.some((r) => r.includes('env: app-staging') && r.includes('env: app-prod')), changed.join('\n'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'diff.png') });
});

test('create, rename and delete an overlay', async () => {
  page.once('dialog', (d) => d.accept('qa'));
  await page.click('[data-testid=new-overlay]');
  await page.waitForSelector('[data-testid=file-entry][data-path="_kustomize/overlays/qa/kustomization.yaml"]');
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=overlay-select] option, [data-testid=diff-left-select] option')].some((o) => o.value === 'qa'));
  page.once('dialog', (d) => d.accept('_kustomize/overlays/qa2'));
  await page.click('[data-testid=rename-dir][data-path="_kustomize/overlays/qa"]', { force: true });
  await page.waitForSelector('[data-testid=file-entry][data-path="_kustomize/overlays/qa2/kustomization.yaml"]');
  page.once('dialog', (d) => d.accept());
  await page.click('[data-testid=delete-dir][data-path="_kustomize/overlays/qa2"]', { force: true });
  await page.waitForSelector('[data-testid=dir-entry][data-path="_kustomize/overlays/qa2"]', { state: 'detached' });
  assert.deepEqual(await assertSameAsCli({}).then((w) => w.filter((d) => d.severity === 'error')), []);
});

test('save without the File System Access API downloads a zip', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=save]')]);
  assert.equal(download.suggestedFilename(), 'order-api.zip');
  const bytes = fs.readFileSync(await download.path());
  assert.equal(bytes.subarray(0, 2).toString(), 'PK');
  assert.ok(bytes.includes(Buffer.from('order-api/_kustomize/base/service.yaml')));
});

test('a folder opened through the directory input, and an external plugin', async (t) => {
  if (!CONFIGMAP_PLUGIN || !fs.existsSync(CONFIGMAP_PLUGIN)) return t.skip('PLANTON_CONFIGMAP_WASM not built');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'planton-cm-'));
  const svc = path.join(dir, 'greeter');
  const write = (rel, text) => { fs.mkdirSync(path.dirname(path.join(svc, rel)), { recursive: true }); fs.writeFileSync(path.join(svc, rel), text); };
  write('_kustomize/base/kustomization.yaml', 'resources:\n  - cm.yaml\n');
  write('_kustomize/base/cm.yaml', 'apiVersion: example.planton.dev/v1\nkind: ConfigMapKubernetes\nmetadata:\n  name: greeting\n  env: prod\nspec:\n  data:\n    GREETING: hello\n    "bad key!": x\n');
  write('_kustomize/overlays/prod/kustomization.yaml', 'resources:\n  - ../../base\n');
  write('README.md', 'ignored: outside _kustomize/\n');
  try {
    let prev = await runs();
    await page.setInputFiles('[data-testid=folder-input]', svc);
    await waitRun(prev);
    const names = await page.$$eval('[data-testid=file-entry]', (els) => els.map((e) => e.dataset.path));
    assert.deepEqual(names, ['_kustomize/base/cm.yaml', '_kustomize/base/kustomization.yaml', '_kustomize/overlays/prod/kustomization.yaml']);
    // No plugin serves the kind yet: the CLI (built-ins only) agrees.
    assert.deepEqual(await pageDiagnostics(), cliDiagnostics(svc));
    prev = await runs();
    await page.setInputFiles('[data-testid=plugin-input]', CONFIGMAP_PLUGIN);
    await waitRun(prev);
    await page.waitForFunction(() => document.querySelector('[data-testid=plugins]').textContent.includes('configmap-example'));
    const web = await pageDiagnostics();
    assert.ok(web.some((d) => d.severity === 'error' && d.file === '_kustomize/base/cm.yaml'), JSON.stringify(web));
    write('_kustomize/base/cm.yaml', fs.readFileSync(path.join(svc, '_kustomize/base/cm.yaml'), 'utf8').replace('    "bad key!": x\n', ''));
    await editFile('_kustomize/base/cm.yaml', fs.readFileSync(path.join(svc, '_kustomize/base/cm.yaml'), 'utf8'));
    await tab('rendered');
    await page.waitForSelector('[data-testid=rendered-object][data-kind=ConfigMap]');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Opens `dir` through the directory input and waits for its first check. */
async function openFolder(dir) {
  const prev = await runs();
  await page.setInputFiles('[data-testid=folder-input]', dir);
  await waitRun(prev);
}

test('planton.yaml names a groups directory: the page loads it and reports what the CLI reports', async () => {
  const group = (kind, name, entries) => `apiVersion: service-hub.planton.ai/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n  entries:\n${entries.map((e) => `    - name: ${e}\n      value: x-${e}\n`).join('')}`;
  const dir = variant({
    'planton.yaml': 'apiVersion: planton.dev/v1\nkind: ServiceConfig\ngroups:\n  dir: config/groups\n',
    'config/groups/postgres.yaml': `${group('VariablesGroup', 'postgres', ['host'])}---\n${group('SecretsGroup', 'postgres', ['order-api-password'])}`,
    // The one real missing entry: the prod overlay references stripe/live-key.
    'config/groups/stripe.yaml': group('SecretsGroup', 'stripe', ['test-key']),
    'README.md': 'not read\n',
  });
  try {
    await openFolder(dir);
    const cli = cliDiagnostics(dir);
    const web = await pageDiagnostics();
    assert.deepEqual(web, cli, 'the page and `planton validate --output json` disagree');
    const errors = web.filter((d) => d.severity === 'error');
    assert.equal(errors.length, 1, JSON.stringify(web));
    assert.equal(errors[0].code, 'ref-missing-entry');
    assert.equal(errors[0].file, PROD);
    assert.ok(!web.some((d) => d.code === 'group-invalid' || d.code === 'ref-missing-group'), JSON.stringify(web));
    // The group files are part of the service (editable, checked like the CLI checks them).
    const names = await page.$$eval('[data-testid=file-entry]', (els) => els.map((e) => e.dataset.path));
    assert.ok(names.includes('config/groups/stripe.yaml') && !names.includes('README.md'), names.join(','));
    const fixed = group('SecretsGroup', 'stripe', ['test-key', 'live-key']);
    await editFile('config/groups/stripe.yaml', fixed);
    fs.writeFileSync(path.join(dir, 'config/groups/stripe.yaml'), fixed);
    const after = await pageDiagnostics();
    assert.deepEqual(after, cliDiagnostics(dir));
    assert.equal(after.filter((d) => d.severity === 'error').length, 0, JSON.stringify(after));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('planton.yaml pins a plugin: the page loads it on open and reports what the CLI reports', async (t) => {
  if (!CONFIGMAP_PLUGIN || !fs.existsSync(CONFIGMAP_PLUGIN)) return t.skip('PLANTON_CONFIGMAP_WASM not built');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'planton-pin-'));
  const svc = path.join(dir, 'pinned');
  const write = (rel, text) => { fs.mkdirSync(path.dirname(path.join(svc, rel)), { recursive: true }); fs.writeFileSync(path.join(svc, rel), text); };
  const wasm = fs.readFileSync(CONFIGMAP_PLUGIN);
  const sha = crypto.createHash('sha256').update(wasm).digest('hex');
  write('plugins/configmap.wasm', wasm);
  write('planton.yaml', `apiVersion: planton.dev/v1\nkind: ServiceConfig\nplugins:\n  - path: plugins/configmap.wasm\n    sha256: ${sha}\n`);
  write('_kustomize/base/kustomization.yaml', 'resources:\n  - cm.yaml\n');
  write('_kustomize/base/cm.yaml', 'apiVersion: example.planton.dev/v1\nkind: ConfigMapKubernetes\nmetadata:\n  name: pinned\n  env: prod\nspec:\n  data:\n    GREETING: hello\n    "bad key!": x\n');
  write('_kustomize/overlays/prod/kustomization.yaml', 'resources:\n  - ../../base\n');
  try {
    await openFolder(svc);
    const cli = cliDiagnostics(svc);
    const web = await pageDiagnostics();
    assert.deepEqual(web, cli, 'the page and `planton validate --output json` disagree');
    // The pinned plugin checked the kind (a kind no plugin serves would be `unknown-kind`).
    assert.ok(web.some((d) => d.severity === 'error' && d.file === '_kustomize/base/cm.yaml' && d.code !== 'unknown-kind'), JSON.stringify(web));
    await page.waitForFunction(() => document.querySelector('[data-testid=plugins]').textContent.includes('configmap-example'));

    // A pin that does not match the file: neither loads it, both say so at planton.yaml.
    write('planton.yaml', `apiVersion: planton.dev/v1\nkind: ServiceConfig\nplugins:\n  - path: plugins/configmap.wasm\n    sha256: ${'0'.repeat(64)}\n`);
    await openFolder(svc);
    const strip = (ds) => ds.map((d) => ({ ...d, message: d.code === 'plugin-load-failed' ? '' : d.message }));
    const web2 = await pageDiagnostics();
    const cli2 = cliDiagnostics(svc);
    assert.deepEqual(strip(web2), strip(cli2));
    const failed = web2.find((d) => d.code === 'plugin-load-failed');
    assert.ok(failed && failed.file === 'planton.yaml' && failed.message.includes('does not match its pinned digest'), JSON.stringify(web2));
    assert.ok(cli2.find((d) => d.code === 'plugin-load-failed').message.includes('does not match its pinned digest'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('main screen screenshot, no page errors, and no network request after the first load', async () => {
  const prev = await runs();
  await page.click('[data-testid=open-example]');
  await waitRun(prev);
  await editFile(PROD, prodWithPorts('Bad_Port'));
  await tab('diagnostics');
  await page.screenshot({ path: path.join(ARTIFACTS, 'main.png') });
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(requests, [], `requests after the first load: ${requests.join(', ')}`);
});
