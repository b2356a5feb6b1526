// The emulator's hosted pages in Chromium, driven the way a suite written for
// Stripe's real pages drives them: click the submit button, then, separately, wait
// for the next page load. Starts only the emulator binary (target/debug, built by
// `make build`) on a free port with its default confirm delay, and a tiny merchant
// site for success_url / cancel_url / return_url. `make test-pages` runs it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS, stripeAt } from '../../e2e/support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BINARY = process.env.STRIPE_EMULATOR_BIN ?? path.join(ROOT, 'target', 'debug', 'stripe-emulator');
const KEY = 'sk_test_hosted_pages_browser';
/** The emulator's default (`--checkout-confirm-delay-ms`), which this suite keeps. */
const CONFIRM_DELAY_MS = 1000;

const SUBMIT = '[data-testid="hosted-payment-submit-button"]';

let emulator;
let emulatorLog = '';
let site;
let STRIPE;
let SITE;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function answers(url) {
  try {
    await fetch(url);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  const port = await freePort();
  STRIPE = `http://127.0.0.1:${port}`;
  // Only what this suite sets: no data file, the default confirm delay.
  const env = { ...process.env, RUST_LOG: 'warn' };
  for (const name of Object.keys(env)) if (name.startsWith('STRIPE_EMULATOR_')) delete env[name];
  emulator = spawn(BINARY, ['--host', '127.0.0.1', '--port', String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  emulator.stdout.on('data', (chunk) => { emulatorLog += chunk; });
  emulator.stderr.on('data', (chunk) => { emulatorLog += chunk; });
  const deadline = Date.now() + 20_000;
  while (!(await answers(`${STRIPE}/assets/hosted.js`))) {
    if (emulator.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the emulator (${BINARY}) did not start:\n${emulatorLog}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  // The merchant's site: each page says where it is.
  site = http.createServer((request, response) => {
    const { pathname } = new URL(request.url, 'http://site');
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><title>Merchant ${pathname}</title><h1 id="merchant">${pathname}</h1>`);
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  SITE = `http://127.0.0.1:${site.address().port}`;
});

after(async () => {
  emulator?.kill('SIGTERM');
  await new Promise((resolve) => site?.close(resolve) ?? resolve());
});

/** A Stripe API call to this suite's emulator; rejects on non-2xx. */
function stripe(method, resource, params = {}) {
  return stripeAt(STRIPE, KEY, method, resource, params);
}

/** A monthly $60 price and a new customer. */
async function priceAndCustomer(tag) {
  const product = await stripe('POST', '/v1/products', { name: 'Pair Coding' });
  const price = await stripe('POST', '/v1/prices', {
    product: product.id,
    unit_amount: '6000',
    currency: 'usd',
    'recurring[interval]': 'month',
    nickname: 'Monthly',
  });
  const customer = await stripe('POST', '/v1/customers', { email: `${tag}@example.com` });
  return { price: price.id, customer: customer.id };
}

/** A subscription Checkout Session; `trialDays` adds a trial. */
async function checkoutSession(tag, trialDays) {
  const { price, customer } = await priceAndCustomer(tag);
  const params = {
    mode: 'subscription',
    customer,
    'line_items[0][price]': price,
    'line_items[0][quantity]': '1',
    success_url: `${SITE}/done?session_id={CHECKOUT_SESSION_ID}`,
    cancel_url: `${SITE}/pricing`,
  };
  if (trialDays) params['subscription_data[trial_period_days]'] = String(trialDays);
  const session = await stripe('POST', '/v1/checkout/sessions', params);
  return { session, customer };
}

async function subscriptionsOf(customer) {
  return (await stripe('GET', '/v1/subscriptions', { customer, status: 'all' })).data;
}

/** Runs `fn(page)` in a fresh Chromium; prints the page's console and the emulator's log on failure. */
async function inBrowser(fn) {
  const profile = await mkdtemp(path.join(tmpdir(), 'emulator-pages-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLog = [];
  page.on('console', (message) => consoleLog.push(`[${message.type()}] ${message.text()}`));
  page.on('pageerror', (error) => consoleLog.push(`[pageerror] ${error.stack ?? error}`));
  try {
    await fn(page);
    // The pages' script throws nothing (answers like 402 are logged by Chromium, not errors).
    assert.deepEqual(consoleLog.filter((line) => line.startsWith('[pageerror]')), []);
  } catch (error) {
    console.error(`--- failed at ${page.url()}\n--- console:\n${consoleLog.join('\n')}\n--- emulator:\n${emulatorLog}`);
    throw error;
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** Marks the loaded document: the mark survives anything but a page load. */
async function markDocument(page) {
  await page.evaluate(() => { window.__sameDocument = true; });
}

async function sameDocument(page) {
  return page.evaluate(() => window.__sameDocument === true);
}

async function fillCard(page, number, { cvc = '123' } = {}) {
  await page.locator('select#billingCountry').selectOption('US');
  await page.locator('input[name="cardNumber"]').fill(number);
  await page.getByPlaceholder('MM / YY').fill('12 / 34');
  await page.getByPlaceholder('CVC').fill(cvc);
  await page.locator('input[name="billingName"]').fill('Ada Lovelace');
  await page.getByPlaceholder('ZIP').fill('10001');
}

/**
 * Clicks Pay, checks the button is processing (disabled, "Processing…") while the
 * page is still Checkout, then — separately — waits for success_url to load.
 */
async function payAndWaitForSuccess(page, session) {
  const button = page.locator(SUBMIT);
  const clicked = Date.now();
  await button.click();
  assert.equal(await button.isDisabled(), true, 'the button is disabled while processing');
  assert.match(await button.getAttribute('class'), /\bprocessing\b/);
  // Stripe's own hooks for the same state, which suites for real Stripe check.
  assert.match(await page.locator('.SubmitButton').textContent(), /Processing/);
  assert.match(await button.getAttribute('class'), /\bSubmitButton--processing\b/);
  assert.match(await button.textContent(), /Processing…/);
  assert.equal(new URL(page.url()).pathname, `/c/pay/${session.id}`, 'still on Checkout while processing');
  await page.waitForURL(`${SITE}/done?session_id=${session.id}`);
  const waited = Date.now() - clicked;
  assert.ok(waited >= CONFIRM_DELAY_MS * 0.8, `success_url loaded ${waited} ms after the click, before the confirm delay`);
  assert.equal(await page.locator('#merchant').textContent(), '/done');
}

for (const flow of [
  { name: 'trial: Start trial, then success_url loads', trialDays: 7, button: 'Start trial', status: 'trialing' },
  { name: 'no trial: Subscribe, then success_url loads', trialDays: 0, button: 'Subscribe', status: 'active' },
]) {
  test(flow.name, { timeout: 60_000 }, async () => {
    const { session, customer } = await checkoutSession(flow.status, flow.trialDays);
    await inBrowser(async (page) => {
      await page.goto(session.url);
      assert.equal(await page.locator(SUBMIT).textContent(), flow.button);
      await fillCard(page, '4242 4242 4242 4242');
      await payAndWaitForSuccess(page, session);
    });
    assert.equal((await stripe('GET', `/v1/checkout/sessions/${session.id}`)).status, 'complete');
    const subscriptions = await subscriptionsOf(customer);
    assert.equal(subscriptions.length, 1);
    assert.equal(subscriptions[0].status, flow.status);
  });
}

test('failing card: the decline and a missing CVC show inline without a page load, then a good card pays', { timeout: 60_000 }, async () => {
  const { session, customer } = await checkoutSession('declined');
  await inBrowser(async (page) => {
    await page.goto(session.url);
    await markDocument(page);
    const button = page.locator(SUBMIT);

    await fillCard(page, '4000 0000 0000 0002');
    await button.click();
    await page.locator('#form-error[role="alert"]').getByText('Your card was declined.').waitFor();
    assert.equal(await sameDocument(page), true, 'the decline loaded no page');
    assert.equal(await button.isDisabled(), false, 'the customer can try again');
    assert.equal(await button.textContent(), 'Subscribe');
    assert.equal(await page.locator('input[name="billingName"]').inputValue(), 'Ada Lovelace', 'what was typed stays');
    assert.equal(await stripe('GET', `/v1/checkout/sessions/${session.id}`).then((s) => s.status), 'open');

    await fillCard(page, '4242 4242 4242 4242', { cvc: '' });
    await button.click();
    await page.locator('.field-error[role="alert"]').getByText("Your card's security code is incomplete.").waitFor();
    assert.equal(await page.locator('#form-error').count(), 0, 'the decline is gone');
    assert.match(await page.getByPlaceholder('CVC').getAttribute('class'), /\binvalid\b/);
    assert.equal(await sameDocument(page), true, 'the form error loaded no page');
    assert.equal((await subscriptionsOf(customer)).length, 0);

    await page.getByPlaceholder('CVC').fill('123');
    await payAndWaitForSuccess(page, session);
  });
  const subscriptions = await subscriptionsOf(customer);
  assert.equal(subscriptions.length, 1);
  assert.equal(subscriptions[0].status, 'active');
});

/** A customer subscribed through Checkout's form post (the no-script path) and a portal session. */
async function portalSession() {
  const { session, customer } = await checkoutSession('portal');
  const paid = await fetch(session.url, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({
      cardNumber: '4242424242424242', cardExpiry: '12 / 34', cardCvc: '123',
      billingName: 'Ada Lovelace', billingCountry: 'US', billingPostalCode: '10001',
    }),
  });
  assert.equal(paid.status, 303);
  const configuration = await stripe('POST', '/v1/billing_portal/configurations', {
    'business_profile[headline]': 'Merchant',
    'features[payment_method_update][enabled]': 'true',
    'features[invoice_history][enabled]': 'true',
    'features[subscription_cancel][enabled]': 'true',
    'features[subscription_cancel][mode]': 'immediately',
  });
  const portal = await stripe('POST', '/v1/billing_portal/sessions', {
    customer,
    configuration: configuration.id,
    return_url: `${SITE}/account`,
  });
  return { portal, customer };
}

test('portal: update the card and cancel → confirm in the page, then Return loads return_url', { timeout: 60_000 }, async () => {
  const { portal, customer } = await portalSession();
  const [subscription] = await subscriptionsOf(customer);
  await inBrowser(async (page) => {
    await page.goto(portal.url);
    await markDocument(page);

    await page.locator('[data-testid="update-payment-method"]').click();
    await page.locator('input[name="cardNumber"]').waitFor();
    assert.equal(new URL(page.url()).pathname, `${new URL(portal.url).pathname}/payment-method`);
    await fillCard(page, '4000 0000 0000 0002');
    await page.locator('[data-testid="payment-method-submit"]').click();
    await page.locator('#form-error').getByText('Your card was declined.').waitFor();
    await fillCard(page, '5555 5555 5555 4444');
    await page.locator('[data-testid="payment-method-submit"]').click();
    await page.getByText('Your payment method has been updated.').waitFor();
    assert.match(await page.locator('#payment-method').textContent(), /Mastercard •••• 4444/);
    assert.equal(await sameDocument(page), true, 'updating the card loaded no page');

    await page.locator('[data-test="cancel-subscription"]').click();
    await page.locator('[data-testid="confirm"]').click();
    await page.getByText('Your subscription has been canceled.').waitFor();
    assert.equal(await page.locator('[data-test="cancel-subscription"]').count(), 0);
    assert.equal(await sameDocument(page), true, 'cancelling loaded no page');

    await page.locator('[data-testid="return-to-business-link"]').click();
    await page.waitForURL(`${SITE}/account`);
  });
  assert.equal((await stripe('GET', `/v1/subscriptions/${subscription.id}`)).status, 'canceled');
  const { invoice_settings: settings } = await stripe('GET', `/v1/customers/${customer}`);
  const pm = await stripe('GET', `/v1/payment_methods/${settings.default_payment_method}`);
  assert.equal(pm.card.last4, '4444');
});

test('portal: Return is a plain link, and clicked straight after confirm on a slow network it waits for the cancel', { timeout: 60_000 }, async () => {
  const { portal, customer } = await portalSession();
  const [subscription] = await subscriptionsOf(customer);
  await inBrowser(async (page) => {
    // A slow network: the confirm takes half a second to leave the browser. Leaving
    // the page before it has gone would abandon it.
    await page.route('**/subscriptions/*/cancel', async (route) => {
      if (route.request().method() === 'POST') await new Promise((resolve) => setTimeout(resolve, 500));
      await route.continue().catch(() => {});
    });
    await page.goto(portal.url);
    const back = page.locator('[data-testid="return-to-business-link"]');
    assert.equal(await back.evaluate((a) => a.tagName), 'A');
    assert.equal(await back.getAttribute('href'), `${SITE}/account`);
    // As the app's e2e suite does: no wait between confirm and Return.
    await page.locator('[data-test="cancel-subscription"]').click();
    await page.locator('[data-testid="confirm"]').click();
    await back.click();
    await page.waitForURL(`${SITE}/account`);
  });
  assert.equal((await stripe('GET', `/v1/subscriptions/${subscription.id}`)).status, 'canceled');
});

test('portal: an invoice in the history opens its hosted invoice page', { timeout: 60_000 }, async () => {
  const { portal, customer } = await portalSession();
  const [invoice] = (await stripe('GET', '/v1/invoices', { customer })).data;
  assert.equal(invoice.status, 'paid');
  await inBrowser(async (page) => {
    await page.goto(portal.url);
    await page.locator('#invoice-history a').first().click();
    await page.waitForURL(invoice.hosted_invoice_url);
    assert.equal(await page.locator('#invoice-amount').textContent(), '$60.00');
    assert.equal(await page.locator('#invoice-status').textContent(), 'Paid');
    assert.equal(await page.locator('#invoice-number').textContent(), invoice.number);
    assert.match(await page.locator('.invoice-lines').textContent(), /1 × Pair Coding \(at \$60\.00 \/ month\)/);
  });
});
