// The dashboard tells customers where they stand: sessions and their cost, the
// trial and first charge, invoices with their hosted pages, and what to do after a
// failed payment. Against the full local stack; the emulator's clock is advanced to
// bill a month.

import assert from 'node:assert/strict';

import { emulator, freshEmail, journey, onApp, payInCheckout, reloadUntilText, signUp, stripe } from './support.js';

const CARD_OK = '4242 4242 4242 4242';
const CARD_FAILS_LATER = '4000 0000 0000 0341';
const PAYMENT_FAILED_TEXT = 'Your last payment failed. Update your card to keep arranging sessions';

async function subscribe(page, step, kind, card) {
  await step('signed-up', () => signUp(page, freshEmail(`dash-${kind}`)));
  await page.locator(`#${kind}-subscription`).click();
  await page.waitForURL((url) => !onApp(url));
  await step('paid', async () => {
    await payInCheckout(page, card);
    await page.waitForURL((url) => onApp(url) && url.pathname === '/dashboard');
    await page.locator('#subscription-type').waitFor();
  });
  return page.locator('[data-subscription-id]').getAttribute('data-subscription-id');
}

async function arrange(page) {
  await page.locator('#arrange-session').click();
  await page.locator('#session-registered').waitFor();
  await page.locator('#arrange-session:not([disabled])').waitFor();
}

/** Reloads until `selector` contains `text`. */
async function reloadUntilContains(page, selector, text, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.locator('#dashboard:not([aria-busy])').waitFor();
    const found = page.locator(selector);
    const current = (await found.count()) > 0 ? await found.first().textContent() : '';
    if (current.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`${selector} reads ${JSON.stringify(current)}, without ${JSON.stringify(text)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.reload();
  }
}

journey('dashboard 1 on demand: three sessions cost $240.00, billed at the period end', async ({ page, step }) => {
  const subscriptionId = await subscribe(page, step, 'ondemand', CARD_OK);
  await reloadUntilContains(page, '#next-charge', '0 sessions this period — $0.00 on');
  for (let n = 0; n < 3; n += 1) await arrange(page);
  await step('three-sessions', () => reloadUntilContains(page, '#next-charge', '3 sessions this period — $240.00 on'));
  assert.equal(await page.locator('#sessions li').count(), 3);

  const subscription = await stripe('GET', `/v1/subscriptions/${subscriptionId}`);
  const periodEnd = subscription.items.data[0].current_period_end;
  const shown = new Date(periodEnd * 1000).toLocaleDateString('en-US', { year: 'numeric', month: 'short', day: 'numeric' });
  assert.ok((await page.locator('#next-charge').textContent()).endsWith(shown), 'due at the period end');

  // Past the period's end, and the hour after which Stripe finalizes and charges.
  await emulator('POST', 'clock/advance', { to: periodEnd + 2 * 3600 });
  await step('invoiced', () => reloadUntilContains(page, '#invoices tbody', '$240.00'));
  const row = page.locator('#invoices tbody tr', { hasText: '$240.00' });
  const link = await row.locator('a').getAttribute('href');
  assert.match(link, /\/i\//, 'the row links to the hosted invoice page');
  const invoicePage = await fetch(link);
  assert.ok(invoicePage.ok, `${link}: ${invoicePage.status}`);
  await reloadUntilContains(page, '#next-charge', '0 sessions this period — $0.00 on');
  assert.equal(await page.locator('#sessions li').count(), 0, 'the count starts again');
});

journey('dashboard 2 monthly: the trial, its first charge, and one session a month', async ({ page, step }) => {
  await subscribe(page, step, 'monthly', CARD_OK);
  await step('trial-shown', () => reloadUntilContains(page, '#next-charge', 'Free trial until'));
  assert.match(await page.locator('#next-charge').textContent(), /^Free trial until .+ — then \$60\.00 on .+$/);
  assert.equal(
    await page.locator('#offer-text').textContent(),
    'One pair-coding session a month for $60.00, with a 3-day free trial.',
  );
  await step('one-session', () => arrange(page));
  await page.locator('#arrange-session').click();
  await step('second-refused', () => page.locator('#error', { hasText: 'already arranged' }).waitFor());
  await page.reload();
  await page.locator('#sessions li').first().waitFor();
  assert.equal(await page.locator('#sessions li').count(), 1);
});

journey('dashboard 3 past due: a banner, no sessions, until the card is updated', async ({ page, step }) => {
  const subscriptionId = await subscribe(page, step, 'monthly', CARD_FAILS_LATER);
  await stripe('POST', `/v1/subscriptions/${subscriptionId}`, { trial_end: 'now' });
  await step('past-due', () => reloadUntilText(page, '#subscription-status', 'past_due'));
  assert.equal(await page.locator('#payment-failed p').textContent(), PAYMENT_FAILED_TEXT);
  assert.equal(await page.locator('#arrange-session').isDisabled(), true);
  assert.equal(await page.locator('#arrange-disabled').textContent(), PAYMENT_FAILED_TEXT);

  await page.locator('#update-card').click();
  await page.waitForURL((url) => !onApp(url));
  await step('portal-new-card', async () => {
    await page.locator('[data-testid="update-payment-method"]').click();
    await page.locator('input[name="cardNumber"]').waitFor();
    await page.locator('select#billingCountry').selectOption('US');
    await page.locator('input[name="cardNumber"]').fill(CARD_OK);
    await page.getByPlaceholder('MM / YY').fill('12 / 34');
    await page.getByPlaceholder('CVC').fill('123');
    await page.locator('input[name="billingName"]').fill('Ada Lovelace');
    await page.getByPlaceholder('ZIP').fill('10001');
    await page.locator('[data-testid="payment-method-submit"]').click();
    await page.getByText('Your payment method has been updated.').waitFor();
  });
  await page.locator('[data-testid="return-to-business-link"]').click();
  await page.waitForURL((url) => onApp(url) && url.pathname === '/dashboard');
  await step('active-again', () => reloadUntilText(page, '#subscription-status', 'active'));
  assert.equal(await page.locator('#payment-failed').count(), 0);
  await step('session-after-new-card', () => arrange(page));
});
