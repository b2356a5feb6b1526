// Shared by the browser journeys: the stack's addresses, a Stripe API client, a
// fresh Chromium per journey, steps that screenshot, and the pages' Stripe hooks.

import { mkdtemp, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

/** The mail the stack has sent (moto server's SES), optionally only to one address. */
export { sentMail } from '../scripts/mail.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The app (site + API, one origin), Stripe (the emulator unless told otherwise) and its key. */
export const APP_URL = process.env.E2E_APP_URL ?? 'http://127.0.0.1:9000';
export const STRIPE_API = process.env.STRIPE_API_BASE ?? 'http://127.0.0.1:12111';
const STRIPE_KEY = process.env.STRIPE_SECRET_KEY ?? 'sk_test_devchat_local';
/** Debian's Chromium (never a downloaded browser) and how every suite launches it. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const ARTIFACTS = path.join(ROOT, 'e2e', 'artifacts');
const STACK_LOGS = path.join(ROOT, '.stack');

/** A Stripe API call (form-encoded, as Stripe takes it); rejects on non-2xx. */
export function stripe(method, resource, params = {}) {
  return stripeAt(STRIPE_API, STRIPE_KEY, method, resource, params);
}

/** The same call against the Stripe API at `base` with `key` (another emulator, say). */
export async function stripeAt(base, key, method, resource, params = {}) {
  const url = new URL(resource, base);
  const body = new URLSearchParams(params).toString();
  const init = { method, headers: { Authorization: `Bearer ${key}` } };
  if (method === 'GET') url.search = body;
  else {
    init.body = body;
    init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const response = await fetch(url, init);
  const data = await response.json();
  if (!response.ok) throw new Error(`Stripe ${method} ${resource}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

/**
 * The emulator's own controls (Stripe has none of these), the same routes the Rust
 * kit drives through `stripe_emulator::control_client`: `emulator('POST',
 * 'clock/advance', { seconds })`, `emulator('GET', 'requests')`, `emulator('POST',
 * 'faults', fault)`, `emulator('GET', 'state')`, `emulator('POST', 'reset')`. JSON in
 * and out; rejects on non-2xx.
 */
export async function emulator(method, route, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(new URL(`/_emulator/${route}`, STRIPE_API), init);
  const data = await response.json();
  if (!response.ok) throw new Error(`emulator ${method} ${route}: ${response.status} ${JSON.stringify(data)}`);
  return data;
}

/** GET /offerings from the app, as the pages see it. */
export async function offerings() {
  const response = await fetch(new URL('/offerings', APP_URL));
  if (!response.ok) throw new Error(`GET /offerings: ${response.status} ${await response.text()}`);
  return (await response.json()).pairCode;
}

/** A never-used email, so every journey starts as a new customer. */
export function freshEmail(tag) {
  const nonce = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  return `e2e+${tag}-${nonce}@example.com`;
}

/**
 * Registers a browser journey as a test. `run({ page, step })` gets a page of a
 * brand-new Chromium profile; `step(name, fn)` runs fn and saves a screenshot.
 * On failure the page's console log and the stack's logs are printed.
 */
export function journey(name, run) {
  test(name, { timeout: 120_000 }, async () => {
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    const shots = path.join(ARTIFACTS, slug);
    await rm(shots, { recursive: true, force: true });
    await mkdir(shots, { recursive: true });
    const { page, close } = await freshBrowser();
    const consoleLog = [];
    page.on('console', (message) => consoleLog.push(`[${message.type()}] ${message.text()}  (${page.url()})`));
    page.on('pageerror', (error) => consoleLog.push(`[pageerror] ${error.stack ?? error}`));
    page.on('requestfailed', (request) => consoleLog.push(`[requestfailed] ${request.method()} ${request.url()} ${request.failure()?.errorText}`));

    let count = 0;
    const step = async (label, fn) => {
      const result = await fn();
      count += 1;
      const file = `${String(count).padStart(2, '0')}-${label.replace(/[^a-zA-Z0-9]+/g, '-')}.png`;
      await page.screenshot({ path: path.join(shots, file), fullPage: true });
      return result;
    };

    try {
      await run({ page, step });
    } catch (error) {
      await page.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => {});
      console.error(`\n--- ${name}: failed at ${page.url()}`);
      console.error(`--- page console log:\n${consoleLog.join('\n') || '(empty)'}`);
      console.error(await stackLogs());
      throw error;
    } finally {
      await close();
    }
  });
}

/** A fresh Chromium profile of its own (no cookies, no storage) on the app, and `close`,
 * which also deletes the profile. */
export async function freshBrowser() {
  const profile = await mkdtemp(path.join(tmpdir(), 'devchat-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    baseURL: APP_URL,
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(30_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** The tail of every log of the stack (.stack/*.log). */
async function stackLogs(lines = 80) {
  const files = (await readdir(STACK_LOGS).catch(() => [])).filter((file) => file.endsWith('.log')).sort();
  const parts = [];
  for (const file of files) {
    const text = await readFile(path.join(STACK_LOGS, file), 'utf8').catch((error) => String(error));
    parts.push(`--- .stack/${file} (last ${lines} lines):\n${text.split('\n').slice(-lines).join('\n')}`);
  }
  return parts.join('\n') || `--- no stack logs in ${STACK_LOGS}`;
}

/** Signs up on /login with `email` and lands on the dashboard. */
export async function signUp(page, email) {
  await page.goto('/login');
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="email"]').press('Enter');
  await page.waitForURL('**/dashboard');
}

/** Fills Stripe's hosted Checkout through its test hooks and pays. */
export async function payInCheckout(page, cardNumber) {
  await page.locator('input[name="cardNumber"]').waitFor();
  await page.locator('select#billingCountry').selectOption('US');
  await page.locator('input[name="cardNumber"]').fill(cardNumber);
  await page.getByPlaceholder('MM / YY').fill('12 / 34');
  await page.getByPlaceholder('CVC').fill('123');
  await page.locator('input[name="billingName"]').fill('Ada Lovelace');
  await page.getByPlaceholder('ZIP').fill('10001');
  const pass = page.locator('[name="enableStripePass"]');
  if ((await pass.count()) > 0 && (await pass.isChecked())) await pass.uncheck();
  await page.locator('[data-testid="hosted-payment-submit-button"]').click();
}

/** Cancels the subscription in Stripe's Customer Portal and returns to the app. */
export async function cancelInPortal(page) {
  await page.locator('[data-test="cancel-subscription"]').click();
  await page.locator('[data-testid="confirm"]').click();
  await page.locator('[data-testid="return-to-business-link"]').click();
}

/**
 * Reloads the dashboard until `selector` reads `text`: webhooks reach our records
 * a moment after Stripe acts, and the dashboard shows what our records say.
 */
export async function reloadUntilText(page, selector, text, timeout = 20_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.locator('#dashboard:not([aria-busy])').waitFor();
    const found = page.locator(selector);
    const current = (await found.count()) > 0 ? await found.textContent() : null;
    if (current === text) return;
    if (Date.now() > deadline) {
      throw new Error(`after ${timeout} ms ${selector} reads ${JSON.stringify(current)}, not ${JSON.stringify(text)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.reload();
  }
}

/** True when `url` is on the app's origin. */
export function onApp(url) {
  return new URL(url).origin === new URL(APP_URL).origin;
}
