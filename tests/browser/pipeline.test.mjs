// Browser tests of the pipelines views: `planton serve` (PLANTON_BIN) over a copy of the
// example service's embedded state store, serving the production build in dist/, driven in
// headless Chromium by playwright-core. Runs are made by the real runner:
// `planton pipeline run --dry-run --wait`, which walks every task and waits at prod's gate
// until a decision arrives in the store. A dry run stops before the stack jobs (no cluster
// here), so "the deploy continues" means the waiting runner takes the approval, finishes
// prod (skipped, as dry runs do) and exits 0; the page sees each step live.
//
// Screenshots: target/web-artifacts/pipelines.png and approval-dialog.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const BIN = process.env.PLANTON_BIN || path.join(ROOT, 'target/debug/planton');
const ARTIFACTS = process.env.PLANTON_WEB_ARTIFACTS || path.join(ROOT, 'target/web-artifacts');
const DIST = process.env.PLANTON_DIST || path.join(ROOT, 'dist');
const PW = 'correct horse battery staple';
const IMAGE = 'ghcr.io/acme-shop/order-api:5e1f00d';

let tmp, svc, cfg, server, base, browser, evil;
const children = [];

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function addUser(name, role, env) {
  const args = ['serve', 'user', 'add', name, '--role', role, '--password-stdin', '--config', cfg];
  if (env) args.push('--env', env);
  execFileSync(BIN, args, { input: PW + '\n' });
}

async function waitHealthy(url) {
  for (let i = 0; i < 100; i++) {
    try { const r = await fetch(url + 'api/health'); if (r.ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('planton serve did not come up');
}

/** Starts `planton pipeline run --dry-run --wait` on the service; resolves its exit code. */
function startRun() {
  const p = spawn(BIN, ['pipeline', 'run', '--service', svc, '--image', IMAGE, '--dry-run', '--wait', '--as', 'ci'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const done = new Promise((resolve) => p.on('exit', (code) => resolve({ code, out })));
  return { process: p, done };
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), `no web build in ${DIST}: run trunk build --release`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'planton-serve-'));
  svc = path.join(tmp, 'order-api');
  fs.cpSync(path.join(ROOT, 'examples/order-api'), svc, { recursive: true });
  fs.rmSync(path.join(svc, '.planton'), { recursive: true, force: true });
  cfg = path.join(tmp, 'planton-serve.yaml');
  addUser('admin', 'admin');
  addUser('alice', 'approver', 'prod'); // planton.yaml names alice as a prod approver
  addUser('vera', 'viewer');
  assert.ok(!fs.readFileSync(cfg, 'utf8').includes(PW), 'the config holds hashes only');
  const port = await freePort();
  base = `http://127.0.0.1:${port}/`;
  // No cluster here (a kubeconfig that does not exist): the task view's live health must
  // say so clearly (the health endpoint against a real cluster is tested in tests/serve.rs).
  server = spawn(BIN, ['serve', '--service', svc, '--listen', `127.0.0.1:${port}`, '--config', cfg, '--web-dir', DIST],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, KUBECONFIG: path.join(tmp, 'no-such-kubeconfig') } });
  await waitHealthy(base);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  for (const c of children) c.kill();
  if (server) server.kill();
  if (evil) evil.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function newPage() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.errors = errors;
  return page;
}

async function signIn(page, user, password = PW) {
  await page.goto(base + '#/pipelines');
  await page.waitForSelector('[data-testid=login-form]');
  await page.fill('[data-testid=login-user]', user);
  await page.fill('[data-testid=login-password]', password);
  await page.click('[data-testid=login-submit]');
}

const taskRow = (run, task) => `[data-testid=run][data-run="${run}"] [data-testid=task-row][data-task="${task}"]`;

async function api(page, method, url, body, csrf) {
  return page.evaluate(async ({ method, url, body, csrf }) => {
    const headers = { 'Content-Type': 'application/json' };
    if (csrf) headers['X-CSRF-Token'] = csrf;
    const r = await fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, json: await r.json().catch(() => null) };
  }, { method, url, body, csrf });
}

let approvedRun;

test('no session: the API answers 401 JSON and the page asks to sign in', async () => {
  const r = await fetch(base + 'api/runs');
  assert.equal(r.status, 401);
  const j = await r.json();
  assert.equal(j.error.code, 'unauthenticated');
  const page = await newPage();
  await page.goto(base + '#/pipelines');
  await page.waitForSelector('[data-testid=login-form]');
  await page.context().close();
});

test('sign in, watch a run progress live, read its log, approve the gate and see the deploy continue', async () => {
  const page = await newPage();
  await signIn(page, 'alice');
  await page.waitForSelector('[data-testid=pipelines] [data-testid=live].on');
  // The page is open before the run exists: everything below arrives by the event stream.
  await page.evaluate(() => { window.__sameDocument = true; });
  const run = startRun();
  const row = await page.waitForSelector('[data-testid=run]', { timeout: 10000 });
  const id = await row.getAttribute('data-run');
  await page.waitForSelector(`${taskRow(id, 'staging')}[data-state=completed][data-result=skipped]`, { timeout: 10000 });
  await page.waitForSelector(`${taskRow(id, 'prod')}[data-state=awaiting_approval]`, { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  await page.screenshot({ path: path.join(ARTIFACTS, 'pipelines.png') });

  // The task view: what it deploys, its gate, and the log as it comes.
  await page.click(`${taskRow(id, 'prod')} [data-testid=task-link]`);
  await page.waitForSelector('[data-testid=task-page][data-task=prod][data-state=awaiting_approval]');
  await page.waitForSelector('[data-testid=gate-status][data-status=pending]');
  assert.equal(await page.textContent('[data-testid=image]'), IMAGE);
  // Live health asks the cluster; without one, the card says why (503 no_cluster), and the
  // rest of the page works.
  await page.waitForSelector('[data-testid=live-health-error][data-code=no_cluster]', { timeout: 10000 });
  assert.match(await page.textContent('[data-testid=live-health-error]'), /no cluster configured/);
  const detail = await api(page, 'GET', `api/runs/${id}/tasks/prod`);
  const digest = detail.json.task.manifestDigest;
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  // The runner logs what it waits for; the log is streaming ("live"), not complete.
  await page.waitForFunction((d) => document.querySelector('[data-testid=log]').textContent.includes(`waiting for approval of ${d}`), digest);
  assert.match(await page.textContent('[data-testid=log-state]'), /live/);

  // The dialog shows exactly what is approved.
  await page.click('[data-testid=review]');
  await page.waitForSelector('[data-testid=approve-dialog]');
  assert.equal(await page.textContent('[data-testid=dialog-digest]'), digest);
  assert.equal(await page.textContent('[data-testid=dialog-image]'), IMAGE);
  assert.match(await page.textContent('[data-testid=approve-dialog] [data-testid=diff]'), /\+\s*kind: MicroserviceKubernetes/);
  await page.fill('[data-testid=dialog-comment]', 'release 5e1f00d reviewed');
  await page.screenshot({ path: path.join(ARTIFACTS, 'approval-dialog.png') });
  await page.click('[data-testid=approve]');
  await page.waitForSelector('[data-testid=approve-dialog]', { state: 'detached' });

  // The waiting runner takes the approval: prod finishes, live, and its log streams in.
  await page.waitForSelector('[data-testid=task-page][data-task=prod][data-state=completed][data-result=skipped]', { timeout: 15000 });
  await page.waitForFunction(() => document.querySelector('[data-testid=log]').textContent.includes('dry run: would deploy'), null, { timeout: 10000 });
  await page.waitForSelector('[data-testid=log-state]:has-text("complete")', { timeout: 10000 });
  const decision = await page.textContent('[data-testid=decision]');
  assert.match(decision, /approved by alice/);
  assert.match(decision, /release 5e1f00d reviewed/);
  const { code, out } = await run.done;
  assert.equal(code, 0, out);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  assert.deepEqual(page.errors, []);
  approvedRun = id;
  await page.context().close();
});

test('a viewer sees no Approve button and the API refuses them (403); a stale digest is 409', async () => {
  const run = startRun();
  const page = await newPage();
  await signIn(page, 'vera');
  const row = await page.waitForSelector(`[data-testid=run]:not([data-run="${approvedRun}"])`, { timeout: 10000 });
  const id = await row.getAttribute('data-run');
  await page.waitForSelector(`${taskRow(id, 'prod')}[data-state=awaiting_approval]`, { timeout: 10000 });
  await page.click(`${taskRow(id, 'prod')} [data-testid=task-link]`);
  await page.waitForSelector('[data-testid=task-page][data-task=prod]');
  await page.waitForSelector('[data-testid=no-permission]');
  assert.equal(await page.$('[data-testid=review]'), null);
  const session = await api(page, 'GET', 'api/session');
  assert.equal(session.json.role, 'viewer');
  const detail = await api(page, 'GET', `api/runs/${id}/tasks/prod`);
  const digest = detail.json.task.manifestDigest;
  const r = await api(page, 'POST', `api/runs/${id}/tasks/prod/approve`, { digest, image: IMAGE }, session.json.csrfToken);
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 'forbidden');
  await page.context().close();

  // The approver with a digest that is not the pending one: 409.
  const a = await newPage();
  await signIn(a, 'alice');
  await a.waitForSelector('[data-testid=pipelines]');
  const s = await api(a, 'GET', 'api/session');
  const stale = await api(a, 'POST', `api/runs/${id}/tasks/prod/approve`, { digest: 'sha256:' + '0'.repeat(64), image: IMAGE }, s.json.csrfToken);
  assert.equal(stale.status, 409);
  assert.equal(stale.json.error.code, 'stale_digest');
  assert.match(stale.json.error.message, /changed since you reviewed it/);

  // A forged cross-site POST (another origin's page, the session cookie sent along) is refused.
  const evilPort = await freePort();
  evil = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<script>
      fetch(${JSON.stringify(base)} + 'api/runs/${id}/tasks/prod/reject', { method: 'POST', mode: 'no-cors',
        credentials: 'include', headers: { 'Content-Type': 'text/plain' },
        body: JSON.stringify({ digest: ${JSON.stringify(digest)}, image: ${JSON.stringify(IMAGE)} }) })
        .finally(() => { document.title = 'sent'; });
    </script>`);
  }).listen(evilPort, '127.0.0.1');
  const forged = await a.context().newPage();
  await forged.goto(`http://127.0.0.1:${evilPort}/`);
  await forged.waitForFunction(() => document.title === 'sent');
  const after = await api(a, 'GET', `api/runs/${id}/tasks/prod`);
  assert.deepEqual(after.json.decisions, [], 'the forged reject was not recorded');
  assert.equal(after.json.task.state, 'awaiting_approval');

  // Reject it properly, so the runner ends (the run fails).
  const rej = await api(a, 'POST', `api/runs/${id}/tasks/prod/reject`, { digest, image: IMAGE, comment: 'not today' }, s.json.csrfToken);
  assert.equal(rej.status, 200, JSON.stringify(rej.json));
  const { code } = await run.done;
  assert.notEqual(code, 0, 'a rejected gate fails the run');
  await a.context().close();
});

test('wrong passwords are rate-limited', async () => {
  const page = await newPage();
  for (let i = 0; i < 5; i++) {
    await signIn(page, 'admin', 'not the password');
    await page.waitForSelector('[data-testid=login-error]');
    assert.match(await page.textContent('[data-testid=login-error]'), /wrong user name or password/);
  }
  await signIn(page, 'admin'); // the right password, but too late
  await page.waitForSelector('[data-testid=login-error]:has-text("too many failed sign-in attempts")');
  await page.context().close();
});

test('the editor still works at / of the same build', async () => {
  const page = await newPage();
  await page.goto(base);
  await page.waitForSelector('[data-testid=status][data-ready=true]', { timeout: 30000 });
  assert.equal(await page.$('[data-testid=login-form]'), null);
  await page.context().close();
});
