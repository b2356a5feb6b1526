// Sign-in that proves the email: the code step of the login page with the code read from
// moto's SES, "Sign out everywhere", and the takeover attempt of issue 14 as a second
// browser. Against the full local stack, like journeys.test.js.

import assert from 'node:assert/strict';
import path from 'node:path';

import {
  APP_URL,
  emulator,
  freshBrowser,
  freshEmail,
  journey,
  onApp,
  payInCheckout,
  sentMail,
  signUp,
} from './support.js';

const CARD_OK = '4242 4242 4242 4242';
const SUBJECT = 'Your /dev/chat sign-in code';

/** Another browser: a fresh Chromium profile of its own (no cookies, no storage). */
const secondBrowser = freshBrowser;

/** The code in the latest sign-in email to `email` (moto's record of what SES sent). */
async function latestCode(email) {
  const mail = (await sentMail(email)).filter((m) => m.subject === SUBJECT);
  assert.ok(mail.length > 0, `a sign-in code was emailed to ${email}`);
  const found = mail.at(-1).body.match(/\b(\d{6})\b/);
  assert.ok(found, `a 6-digit code in ${mail.at(-1).body}`);
  return { code: found[1], count: mail.length };
}

/** Every item of the app's table mentioning `needle` (moto's DynamoDB, read consistently). */
async function tableItems(needle) {
  const response = await fetch(process.env.AWS_ENDPOINT_URL_DYNAMODB ?? 'http://127.0.0.1:8000', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': 'DynamoDB_20120810.Scan',
      Authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: JSON.stringify({ TableName: process.env.TABLE_NAME ?? 'devchat-local', ConsistentRead: true }),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(`scanning the table: ${response.status} ${JSON.stringify(data)}`);
  return data.Items.map((item) => JSON.stringify(item)).filter((item) => item.includes(needle)).sort();
}

/** The session cookie(s) the browser holds for the app. */
async function sessionCookies(context) {
  return (await context.cookies(APP_URL)).filter((c) => c.name.endsWith('devchat_session'));
}

/** /login → email → the code step (no session yet). */
async function askForCode(page, email) {
  await page.goto('/login');
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="email"]').press('Enter');
  await page.locator('#code-form').waitFor({ state: 'visible' });
}

/** Subscribes on demand through Checkout from the dashboard. */
async function subscribeOnDemand(page) {
  await page.locator('#ondemand-subscription').click();
  await page.waitForURL((url) => !onApp(url));
  await payInCheckout(page, CARD_OK);
  await page.waitForURL((url) => onApp(url) && url.pathname === '/dashboard' && url.searchParams.has('session_id'));
  await page.locator('#subscription-status').waitFor();
}

journey('7 sign out, then sign in again with the code from the email', async ({ page, step }) => {
  const email = freshEmail('code');
  await step('signed-up-and-subscribed', async () => {
    await signUp(page, email);
    await subscribeOnDemand(page);
  });
  const status = await page.locator('#subscription-status').textContent();
  assert.equal(status, 'active');
  assert.equal((await sentMail(email)).length, 0, 'a new email signs up without a code');

  await step('signed-out', async () => {
    await page.locator('#logout').click();
    await page.waitForURL((url) => onApp(url) && url.pathname === '/');
  });
  assert.deepEqual(await sessionCookies(page.context()), [], 'sign-out deletes the session cookie');

  await step('code-step', () => askForCode(page, email));
  assert.match(await page.locator('#code-sent').textContent(), /We've emailed you a code/);
  const input = page.locator('input[name="code"]');
  assert.equal(await input.getAttribute('autocomplete'), 'one-time-code');
  assert.equal(await input.getAttribute('inputmode'), 'numeric');
  assert.deepEqual(await sessionCookies(page.context()), [], 'no session before the code');
  const { code, count } = await latestCode(email);
  assert.equal(count, 1);

  await step('wrong-code-shown-inline', async () => {
    await input.fill(code === '000000' ? '111111' : '000000');
    await input.press('Enter');
    await page.locator('#error').waitFor({ state: 'visible' });
  });
  assert.match(await page.locator('#error').textContent(), /wrong code/);
  assert.ok(page.url().endsWith('/login'));

  await step('resend-within-the-minute-sends-nothing-new', async () => {
    await page.locator('#resend-code').click();
    await page.locator('#code-form').waitFor({ state: 'visible' });
  });
  assert.equal((await latestCode(email)).count, 1, 'a repeat within the minute sends no second email');

  await step('signed-in-with-the-code', async () => {
    await input.fill(code);
    await input.press('Enter');
    await page.waitForURL('**/dashboard');
    await page.locator('#subscription-status').waitFor();
  });
  assert.equal(await page.locator('#subscription-status').textContent(), 'active');
  assert.equal((await sessionCookies(page.context())).length, 1);
});

journey('8 sign out everywhere ends the session of another browser', async ({ page, step }) => {
  const email = freshEmail('everywhere');
  await step('first-browser-signed-up', () => signUp(page, email));
  const other = await secondBrowser();
  try {
    await askForCode(other.page, email);
    const { code } = await latestCode(email);
    await other.page.locator('input[name="code"]').fill(code);
    await other.page.locator('input[name="code"]').press('Enter');
    await other.page.waitForURL('**/dashboard');
    await other.page.locator('#dashboard:not([aria-busy])').waitFor();

    await step('sign-out-everywhere', async () => {
      await page.locator('#logout-everywhere').click();
      await page.waitForURL('**/login');
    });
    // The other browser still holds its cookie and its stored user, but they count no more.
    assert.equal((await sessionCookies(other.context)).length, 1);
    await other.page.reload();
    await other.page.waitForURL('**/login');
    const user = await other.page.evaluate(() => window.localStorage.getItem('user'));
    assert.equal(user, null, 'the ended session sent the other browser back to sign in');
  } finally {
    await other.close();
  }
});

journey('9 typing someone else\'s email gets a code step, not their account', async ({ page, step }) => {
  const victim = freshEmail('victim');
  await step('victim-subscribed', async () => {
    await signUp(page, victim);
    await subscribeOnDemand(page);
  });
  const victimId = await page.locator('[data-subscription-id]').getAttribute('data-customer-id');
  assert.match(victimId, /^cus_/);

  const attacker = await secondBrowser();
  try {
    await askForCode(attacker.page, victim);
    await attacker.page.screenshot({ path: path.join('e2e', 'artifacts', 'attacker-code-step.png') });
    assert.deepEqual(await sessionCookies(attacker.context), [], 'no session for the attacker');

    const writesFor = async (id) =>
      (await emulator('GET', 'requests')).data.filter((r) => r.method !== 'GET' && JSON.stringify(r).includes(id)).length;
    const before = await writesFor(victimId);
    const itemsBefore = [...(await tableItems(victimId)), ...(await tableItems(victim))];
    assert.ok(itemsBefore.length >= 2, 'the victim\'s user and email claim are in the table');

    // Even knowing the customer id, every user-scoped call is refused.
    const answers = await attacker.page.evaluate(async (id) => {
      const call = async (method, url, body, headers = {}) => {
        const init = { method, headers: { ...headers } };
        if (body !== undefined) {
          init.headers['Content-Type'] = 'application/json';
          init.body = JSON.stringify(body);
        }
        const response = await fetch(url, init);
        return { url, status: response.status, body: await response.json() };
      };
      return [
        await call('GET', `/users?user_id=${id}`),
        await call('POST', `/users/portal?user_id=${id}`, { priceType: 'ondemand' }),
        await call('POST', `/offerings/paircode?user_id=${id}`, { price: 'price_any' }),
        await call('POST', `/offerings/paircode/schedule?user_id=${id}`, undefined, { 'Idempotency-Key': 'attack-1' }),
        await call('POST', '/users/sign-in', { email: '', code: '' }),
        await call('POST', '/users/sign-out', { everywhere: true }),
      ];
    }, victimId);
    for (const answer of answers.slice(0, 4)) {
      assert.ok([401, 403].includes(answer.status), `${answer.url}: ${answer.status} ${JSON.stringify(answer.body)}`);
      assert.ok(answer.body.error.message, answer.url);
    }
    assert.equal(answers[5].status, 401, 'the attacker cannot end the victim\'s sessions');

    // With the victim's id planted in its storage, the dashboard sends it back to sign in.
    await attacker.page.evaluate((id) => window.localStorage.setItem('user', JSON.stringify({ id, email: 'x@example.com' })), victimId);
    await attacker.page.goto('/dashboard');
    await attacker.page.waitForURL('**/login');
    await attacker.page.screenshot({ path: path.join('e2e', 'artifacts', 'attacker-sent-back.png') });
    assert.equal(await writesFor(victimId), before, 'nothing written to Stripe for the victim');
    const itemsAfter = [...(await tableItems(victimId)), ...(await tableItems(victim))];
    assert.deepEqual(itemsAfter, itemsBefore, 'nothing written to the table for the victim');

    // The victim still has their subscription and their session.
    await page.reload();
    await page.locator('#subscription-status').waitFor();
    assert.equal(await page.locator('#subscription-status').textContent(), 'active');
  } finally {
    await attacker.close();
  }
});
