// The page survives a trap of its WebAssembly instance (web/src/services/recovery.*): it
// re-creates the instance by reloading, reopens the files of the last check, says what
// happened, and checks again only at the next edit. Its own browser, so the reload does not
// touch editor.test.mjs's "no request after the first load" check.
//
// No input makes core trap any more (tests/robustness.rs runs the shapes that did in V8), so
// the trap is raised the way V8 reports one to the page, an uncaught WebAssembly.RuntimeError;
// the page's recovery path is the same as for a real trap.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const URL_ = process.env.PLANTON_WEB_URL || 'http://127.0.0.1:8765/';
const PROD = '_kustomize/overlays/prod/service.yaml';
let context, page, profile;

before(async () => {
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'planton-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
  });
  page = context.pages()[0] || (await context.newPage());
  await page.goto(URL_);
  await page.waitForSelector('[data-testid=status][data-ready=true]', { timeout: 30000 });
});

after(async () => {
  if (context) await context.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const runs = async () => Number(await page.getAttribute('[data-testid=status]', 'data-runs'));

test('a trap restarts the page with the files and a message; checks resume at the next edit', async () => {
  await page.click('[data-testid=open-example]');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=status]').dataset.runs) > 0);
  await page.click(`[data-testid=file-entry][data-path="${PROD}"]`);
  const edited = `${await page.inputValue('[data-testid=editor]')}# edited before the trap\n`;
  const before = await runs();
  await page.fill('[data-testid=editor]', edited);
  await page.waitForFunction((p) => Number(document.querySelector('[data-testid=status]').dataset.runs) > p, before);

  await Promise.all([
    page.waitForEvent('load'),
    page.evaluate(() => setTimeout(() => { throw new WebAssembly.RuntimeError('unreachable'); })),
  ]);
  await page.waitForSelector('[data-testid=notice]:has-text("the checks crashed")', { timeout: 30000 });
  assert.match(await page.textContent('[data-testid=notice]'), /RuntimeError: unreachable/);
  assert.equal(await runs(), 0, 'no check runs on the restored files before an edit');
  await page.click(`[data-testid=file-entry][data-path="${PROD}"]`);
  assert.equal(await page.inputValue('[data-testid=editor]'), edited, 'the edited file came back');

  await page.fill('[data-testid=editor]', `${edited}# and again\n`);
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=status]').dataset.runs) > 0);
});
