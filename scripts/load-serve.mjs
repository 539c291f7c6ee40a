// Load test of `planton serve` on loopback, bounded in time and connections:
// VIEWERS clients follow one run's event stream while a real dry-run pipeline runs and is
// approved, and WORKERS clients read the run and its task as fast as the server answers for
// LOAD_SECONDS. Prints requests per second, latency percentiles, and how long the approval
// took to reach every viewer.
//
// It fails (exit 1) only on errors: a non-200 answer, a broken event stream, a viewer that
// never saw the approved task complete (a lost event), the runner failing, or the whole
// test exceeding its time bound (LOAD_TIMEOUT seconds, default 120: a hang, not slowness).
// Speed is reported, never judged; CI runs it small (cargo xtask ci).
//
// Usage: node scripts/load-serve.mjs   (PLANTON_BIN: the planton binary, default
// $CARGO_TARGET_DIR/debug/planton; VIEWERS, WORKERS, LOAD_SECONDS override 200, 32, 5)
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const TARGET = path.resolve(ROOT, process.env.CARGO_TARGET_DIR || 'target');
const BIN = process.env.PLANTON_BIN || path.join(TARGET, 'debug/planton');
const VIEWERS = Number(process.env.VIEWERS || 200);
const WORKERS = Number(process.env.WORKERS || 32);
const SECONDS = Number(process.env.LOAD_SECONDS || 5);
const TIMEOUT = Number(process.env.LOAD_TIMEOUT || 120);
const watchdog = setTimeout(() => {
  console.error(`load-serve: FAILED: not done within ${TIMEOUT} s (a hang: see LOAD_TIMEOUT)`);
  process.exit(1);
}, TIMEOUT * 1000);
const PW = 'correct horse battery staple';
const IMAGE = 'ghcr.io/acme-shop/order-api:load';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'planton-load-'));
const svc = path.join(tmp, 'order-api');
fs.cpSync(path.join(ROOT, 'examples/order-api'), svc, { recursive: true });
fs.rmSync(path.join(svc, '.planton'), { recursive: true, force: true });
const cfg = path.join(tmp, 'serve.yaml');
execFileSync(BIN, ['serve', 'user', 'add', 'alice', '--role', 'approver', '--env', 'prod', '--password-stdin', '--config', cfg], { input: PW + '\n', stdio: ['pipe', 'ignore', 'ignore'] });
const port = await new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const server = spawn(BIN, ['serve', '--service', svc, '--listen', `127.0.0.1:${port}`, '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
let serverLog = '';
server.stderr.on('data', (d) => { serverLog += d; });
server.on('exit', (code, signal) => { if (!stopping) { console.error(`load-serve: FAILED: the server exited (${code ?? signal}):\n${serverLog}`); process.exit(1); } });
let stopping = false;
const children = [server];
const cleanup = () => { stopping = true; for (const c of children) c.kill(); fs.rmSync(tmp, { recursive: true, force: true }); };
process.on('exit', cleanup);

const agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS + 8 });
function request(method, p, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body) req.end(body); else req.end();
  });
}
for (let i = 0; ; i++) {
  try { if ((await request('GET', '/api/health')).status === 200) break; } catch { /* not yet */ }
  if (i > 300) throw new Error('server did not start');
  await new Promise((r) => setTimeout(r, 100));
}
// Sign-ins, one at a time: each verifies an Argon2id hash and writes a session row.
const signIns = [];
let login;
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  login = await request('POST', '/api/login', { body: JSON.stringify({ user: 'alice', password: PW }), headers: { 'Content-Type': 'application/json' } });
  signIns.push(performance.now() - t);
  if (login.status !== 200) throw new Error(`sign-in failed: ${login.status} ${login.body}`);
}
const cookie = login.headers['set-cookie'][0].split(';')[0];
const csrf = JSON.parse(login.body).csrfToken;

// A real runner: dry run, waits at prod's gate.
const runner = spawn(BIN, ['pipeline', 'run', '--service', svc, '--image', IMAGE, '--dry-run', '--wait', '--as', 'ci'], { stdio: 'ignore' });
children.push(runner);
const runnerDone = new Promise((resolve) => runner.on('exit', (code, signal) => resolve(code ?? signal)));
let run;
for (let i = 0; i < 600 && !run; i++) {
  const r = JSON.parse((await request('GET', '/api/runs', { headers: { Cookie: cookie } })).body);
  run = r.find((x) => x.tasks.some((t) => t.name === 'prod' && t.state === 'awaiting_approval'));
  if (!run) await new Promise((r) => setTimeout(r, 100));
}
if (!run) throw new Error('the run did not reach its gate');

// Viewers: each follows the run's events on its own connection.
let approvedAt = 0;
const arrivals = [];
const streams = [];
let streamErrors = 0;
let closing = false;
await Promise.all(Array.from({ length: VIEWERS }, () => new Promise((resolve, reject) => {
  const req = http.get({ host: '127.0.0.1', port, path: `/api/events?run=${run.id}`, headers: { Cookie: cookie, Host: `127.0.0.1:${port}` } }, (res) => {
    if (res.statusCode !== 200) { streamErrors++; console.error(`events: ${res.statusCode}`); }
    res.on('end', () => { if (!closing) streamErrors++; });
    res.on('error', () => { if (!closing) streamErrors++; });
    let buf = '';
    let seen = false;
    res.setEncoding('utf8');
    res.on('data', (d) => {
      buf += d;
      if (!seen && approvedAt && buf.includes('"name":"prod"') && /"name":"prod"[^}]*"state":"completed"/.test(buf)) {
        seen = true;
        arrivals.push(performance.now() - approvedAt);
      }
      if (buf.length > 1e6) buf = buf.slice(-1e5);
    });
    resolve();
  });
  req.on('error', reject);
  streams.push(req);
})));

// Readers, for SECONDS.
const latencies = [];
let errors = 0;
const end = performance.now() + SECONDS * 1000;
const paths = [`/api/runs/${run.id}`, `/api/runs/${run.id}/tasks/prod`, '/api/runs?limit=20'];
const workers = Array.from({ length: WORKERS }, async (_, w) => {
  for (let i = 0; performance.now() < end; i++) {
    const t = performance.now();
    const r = await request('GET', paths[(w + i) % paths.length], { headers: { Cookie: cookie } });
    latencies.push(performance.now() - t);
    if (r.status !== 200) errors++;
  }
});
// Halfway, approve: the runner finishes prod and every viewer must see it.
setTimeout(async () => {
  const prod = run.tasks.find((t) => t.name === 'prod');
  approvedAt = performance.now();
  const r = await request('POST', `/api/runs/${run.id}/tasks/prod/approve`, {
    body: JSON.stringify({ digest: prod.manifestDigest, image: IMAGE }),
    headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
  });
  if (r.status !== 200) { console.error('approve failed', r.status, r.body); errors++; }
}, (SECONDS * 1000) / 2);
const t0 = performance.now();
await Promise.all(workers);
const elapsed = (performance.now() - t0) / 1000;
for (let i = 0; i < 300 && arrivals.length < VIEWERS; i++) await new Promise((r) => setTimeout(r, 100));
closing = true;
for (const s of streams) s.destroy();
const runnerExit = await Promise.race([runnerDone, new Promise((r) => setTimeout(() => r('still running'), 30000))]);

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN; };
const f = (x) => x.toFixed(1);
console.log(`load-serve: ${VIEWERS} viewers on one run's events, ${WORKERS} readers for ${f(elapsed)} s, ${BIN}`);
console.log(`  reads: ${latencies.length} requests, ${f(latencies.length / elapsed)} req/s, p50 ${f(pct(latencies, 50))} ms, p99 ${f(pct(latencies, 99))} ms, max ${f(Math.max(...latencies))} ms, ${errors} errors`);
console.log(`  sign-in (Argon2id verify + session write): p50 ${f(pct(signIns, 50))} ms of ${signIns.length}`);
console.log(`  approval → viewers: ${arrivals.length}/${VIEWERS} saw prod complete (${VIEWERS - arrivals.length} lost); p50 ${f(pct(arrivals, 50))} ms, p99 ${f(pct(arrivals, 99))} ms, max ${f(Math.max(...arrivals))} ms; ${streamErrors} broken streams; runner exit ${runnerExit}`);
const ok = errors === 0 && streamErrors === 0 && arrivals.length === VIEWERS && runnerExit === 0;
if (!ok) console.error('load-serve: FAILED (errors, broken streams, lost events or a failed runner; speed is not judged)');
clearTimeout(watchdog);
process.exitCode = ok ? 0 : 1;
cleanup();
process.exit();
