// The six browser journeys of the web client, against the full local stack
// (`make up`: emulator, moto server, cargo lambda watch, Stripe CLI forwarding).
// Each starts from a fresh email in a fresh Chromium profile.

import assert from 'node:assert/strict';

import {
  cancelInPortal,
  freshEmail,
  journey,
  offerings,
  onApp,
  payInCheckout,
  reloadUntilText,
  signUp,
  stripe,
} from './support.js';

const CARD_OK = '4242 4242 4242 4242';
const CARD_FAILS_LATER = '4000 0000 0000 0341';
const TRIAL_DAYS = 3;
const MONTHLY_TEXT = 'You are subscribed to the monthly package';
const ONDEMAND_TEXT = 'You are subscribed to the on-demand package.';

/** Signs up, picks an offer on the dashboard, pays in Checkout, and is back on the dashboard. */
async function subscribe(page, step, kind, card) {
  const email = freshEmail(kind);
  await step('dashboard-without-subscription', async () => {
    await signUp(page, email);
    await page.locator(`#${kind}-subscription`).waitFor();
  });
  await step('checkout', async () => {
    await page.locator(`#${kind}-subscription`).click();
    await page.waitForURL((url) => !onApp(url));
    await page.locator('input[name="cardNumber"]').waitFor();
  });
  await step('back-on-dashboard', async () => {
    await payInCheckout(page, card);
    await page.waitForURL((url) => onApp(url) && url.pathname === '/dashboard' && url.searchParams.has('session_id'));
    await page.locator('#subscription-type').waitFor();
  });
  const panel = page.locator('[data-subscription-id]');
  return {
    email,
    subscriptionId: await panel.getAttribute('data-subscription-id'),
    customerId: await panel.getAttribute('data-customer-id'),
  };
}

/** The subscription as Stripe has it, checked against the dashboard. */
async function stripeSubscription(subscriptionId, customerId) {
  assert.match(subscriptionId, /^sub_/);
  const subscription = await stripe('GET', `/v1/subscriptions/${subscriptionId}`);
  assert.equal(subscription.customer, customerId, 'the dashboard shows the subscription of this customer');
  assert.ok(subscription.metadata?.challenge_id, 'the subscription carries metadata.challenge_id');
  if (process.env.CHALLENGE_ID) assert.equal(subscription.metadata.challenge_id, process.env.CHALLENGE_ID);
  return subscription;
}

/** Manage → portal → cancel → confirm → return: the dashboard says it has ended. */
async function cancelThroughPortal(page, step, subscriptionId) {
  await step('portal', async () => {
    await page.locator('#manage-subscription').click();
    await page.waitForURL((url) => !onApp(url));
    await page.locator('[data-test="cancel-subscription"]').waitFor();
  });
  await step('subscription-ended', async () => {
    await cancelInPortal(page);
    await page.waitForURL((url) => onApp(url) && url.pathname === '/dashboard');
    await reloadUntilText(page, '#subscription-ended', 'you have ended your /dev/chat subscription');
  });
  const pairCode = await offerings();
  assert.equal(await page.locator('#monthly-subscription').textContent(), '60 USD per month');
  assert.equal(await page.locator('#ondemand-subscription').textContent(), '80 USD per session');
  assert.equal(await page.locator('[data-monthly-price-id]').getAttribute('data-monthly-price-id'), pairCode.monthlyPrice.id);
  assert.equal(await page.locator('#manage-subscription').count(), 0);
  const subscription = await stripe('GET', `/v1/subscriptions/${subscriptionId}`);
  assert.equal(subscription.status, 'canceled');
}

journey('1 landing shows both prices with their price ids', async ({ page, step }) => {
  const pairCode = await offerings();
  await step('landing', async () => {
    await page.goto('/');
    await page.locator('#monthly-subscription').waitFor();
  });
  assert.equal(await page.locator('#monthly-subscription').textContent(), '60 USD per month');
  assert.equal(await page.locator('#ondemand-subscription').textContent(), '80 USD per session');
  assert.equal(await page.locator('[data-monthly-price-id]').getAttribute('data-monthly-price-id'), pairCode.monthlyPrice.id);
  assert.equal(await page.locator('[data-ondemand-price-id]').getAttribute('data-ondemand-price-id'), pairCode.onDemandPrice.id);
  assert.match(pairCode.monthlyPrice.id, /^price_/);
  assert.match(pairCode.onDemandPrice.id, /^price_/);

  await step('monthly-leads-to-login', async () => {
    await page.locator('#monthly-subscription').click();
    await page.waitForURL('**/login');
  });
  await page.goto('/');
  await step('ondemand-leads-to-login', async () => {
    await page.locator('#ondemand-subscription').click();
    await page.waitForURL('**/login');
  });
  await page.goto('/');
  await step('login-link', async () => {
    await page.getByText('Login', { exact: true }).click();
    await page.waitForURL('**/login');
  });
  await step('dashboard-needs-a-user', async () => {
    await page.goto('/dashboard');
    await page.waitForURL('**/login');
  });
  await step('sign-up-error-shown', async () => {
    await page.locator('input[name="email"]').fill('not an email');
    await page.locator('input[name="email"]').press('Enter');
    await page.locator('#error').waitFor({ state: 'visible' });
  });
  assert.ok((await page.locator('#error').textContent()).length > 0, 'the API error is shown on the page');
  assert.ok(page.url().endsWith('/login'));
});

journey('2 monthly subscription through Checkout starts a 3-day trial', async ({ page, step }) => {
  const { subscriptionId, customerId } = await subscribe(page, step, 'monthly', CARD_OK);
  assert.equal(await page.locator('#subscription-type').textContent(), MONTHLY_TEXT);
  assert.equal(await page.locator('#subscription-status').textContent(), 'trialing');
  const pairCode = await offerings();
  const panel = page.locator('[data-subscription-id]');
  assert.equal(await panel.getAttribute('data-monthly-price-id'), pairCode.monthlyPrice.id);

  const stored = JSON.parse(await page.evaluate(() => window.localStorage.getItem('user')));
  assert.equal(stored.id, customerId);
  assert.equal(stored.subscription.id, subscriptionId);

  const subscription = await stripeSubscription(subscriptionId, customerId);
  assert.equal(subscription.status, 'trialing');
  assert.equal(subscription.trial_end - subscription.trial_start, TRIAL_DAYS * 86_400);
  assert.equal(subscription.items.data[0].price.id, pairCode.monthlyPrice.id);

  await step('logged-in-visitor-skips-login', async () => {
    await page.goto('/login');
    await page.waitForURL('**/dashboard');
    await page.locator('#subscription-status').waitFor();
  });
  assert.equal(await page.locator('#subscription-status').textContent(), 'trialing');
});

journey('3 a failed payment after the trial shows past_due', async ({ page, step }) => {
  const { subscriptionId, customerId } = await subscribe(page, step, 'monthly', CARD_FAILS_LATER);
  assert.equal(await page.locator('#subscription-status').textContent(), 'trialing');
  await stripeSubscription(subscriptionId, customerId);

  await stripe('POST', `/v1/subscriptions/${subscriptionId}`, { trial_end: 'now' });
  await step('past-due', () => reloadUntilText(page, '#subscription-status', 'past_due'));
  assert.equal(await page.locator('#subscription-type').textContent(), MONTHLY_TEXT);
});

journey('4 cancelling a monthly subscription in the portal ends it', async ({ page, step }) => {
  const { subscriptionId } = await subscribe(page, step, 'monthly', CARD_OK);
  assert.equal(await page.locator('#subscription-type').textContent(), MONTHLY_TEXT);
  await cancelThroughPortal(page, step, subscriptionId);
});

journey('5 on demand: Arrange session records one unit, once even when retried', async ({ page, step }) => {
  const { subscriptionId, customerId } = await subscribe(page, step, 'ondemand', CARD_OK);
  assert.equal(await page.locator('#subscription-type').textContent(), ONDEMAND_TEXT);
  const pairCode = await offerings();
  const panel = page.locator('[data-subscription-id]');
  assert.equal(await panel.getAttribute('data-ondemand-price-id'), pairCode.onDemandPrice.id);

  const subscription = await stripeSubscription(subscriptionId, customerId);
  assert.equal(subscription.trial_end, null, 'no trial on demand');
  assert.equal(subscription.items.data.length, 1);
  assert.equal(subscription.items.data[0].price.id, pairCode.onDemandPrice.id);

  // The first answer is lost on its way back (the server did record the unit): the
  // page retries the click with the same Idempotency-Key, and it counts once.
  const keys = [];
  let dropped = false;
  await page.route('**/offerings/paircode/schedule*', async (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    if (dropped) return route.continue();
    dropped = true;
    await route.fetch();
    return route.abort('connectionreset');
  });
  await step('session-registered', async () => {
    await page.locator('#arrange-session').click();
    await page.locator('#session-registered').waitFor();
  });
  assert.equal(await page.locator('#session-registered').textContent(), 'Session registered');
  assert.equal(keys.length, 2, 'one retry after the lost answer');
  assert.ok(keys[0], 'the click sends an Idempotency-Key');
  assert.equal(keys[1], keys[0], 'the retry reuses the key of the click');

  const price = await stripe('GET', `/v1/prices/${pairCode.onDemandPrice.id}`);
  const meter = price.recurring.meter;
  assert.match(meter, /^mtr_/);
  const now = Math.floor(Date.now() / 1000);
  const summaries = await stripe('GET', `/v1/billing/meters/${meter}/event_summaries`, {
    customer: customerId,
    start_time: String(Math.floor(now / 60) * 60 - 86_400),
    end_time: String(Math.floor(now / 60) * 60 + 400 * 86_400),
  });
  const total = summaries.data.reduce((sum, summary) => sum + summary.aggregated_value, 0);
  assert.equal(total, 1, 'one click, one unit on the meter for this customer, despite the retry');
});

journey('6 cancelling an on-demand subscription in the portal ends it', async ({ page, step }) => {
  const { subscriptionId } = await subscribe(page, step, 'ondemand', CARD_OK);
  assert.equal(await page.locator('#subscription-type').textContent(), ONDEMAND_TEXT);
  await cancelThroughPortal(page, step, subscriptionId);
});
