// Dashboard: the user's subscription (monthly or on demand) with its actions, or
// the offers when there is no live subscription.
import { ApiError, busy, forgetUser, h, idempotencyKey, loadUser, offerCards, render, saveUser, showError, api, userApi } from './app.js';
import { PAYMENT_FAILED, PAYMENT_FAILED_TEXT, endedLine, invoiceTable, nextChargeLine, paymentFailedBanner, sessionList } from './billing.js';

/** Statuses after which a subscription is over and the offers show again. */
const ENDED = new Set(['canceled', 'incomplete_expired']);

const TYPE_TEXT = {
  monthly: 'You are subscribed to the monthly package',
  ondemand: 'You are subscribed to the on-demand package.',
};

/** The package's words, from the offer's one definition (GET /offerings). */
const OFFER_TEXT = { monthly: (p) => p.monthlyText, ondemand: (p) => p.onDemandText };

async function subscribe(price) {
  const { url } = await userApi('/offerings/paircode', { method: 'POST', body: { price: price.id } });
  window.location.assign(url);
}

async function manage(subscription) {
  const { url } = await userApi('/users/portal', { method: 'POST', body: { priceType: subscription.type } });
  window.location.assign(url);
}

/**
 * One click, one session: the click's key goes with every retry of it (after a
 * network error or a server failure), so the session is recorded exactly once.
 */
async function arrangeSession(panel) {
  panel.querySelector('#session-registered')?.remove();
  const headers = { 'Idempotency-Key': idempotencyKey() };
  for (let attempt = 1; ; attempt += 1) {
    try {
      await userApi('/offerings/paircode/schedule', { method: 'POST', headers });
      break;
    } catch (error) {
      const transient = error instanceof ApiError && (error.status === 0 || error.status >= 500);
      if (!transient || attempt === 3) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
  panel.append(h('p', { id: 'session-registered', className: 'notice ok', role: 'status' }, 'Session registered'));
  // The period's sessions and next charge, as the API now counts them.
  const { user } = await userApi('/users');
  saveUser(user);
  panel.querySelector('#next-charge')?.replaceWith(nextChargeLine(user.subscription, user.billing) ?? '');
  panel.querySelector('#sessions')?.replaceWith(sessionList(user.billing));
}

function subscriptionPanel(user, subscription, pairCode) {
  const { type } = subscription;
  const billing = user.billing;
  const price = type === 'ondemand' ? pairCode.onDemandPrice : pairCode.monthlyPrice;
  const manageButton = h('button', { type: 'button', className: 'btn', id: 'manage-subscription' }, 'Manage subscription');
  const arrange = h('button', { type: 'button', className: 'btn btn-go', id: 'arrange-session' }, 'Arrange session');
  const actions = h('div', { className: 'actions' }, arrange, manageButton);
  const failed = PAYMENT_FAILED.has(subscription.status);
  const panel = h(
    'section',
    {
      className: 'card subscription',
      id: 'subscription',
      dataset: {
        subscriptionId: subscription.id,
        [`${type === 'ondemand' ? 'ondemand' : 'monthly'}PriceId`]: price?.id ?? '',
        customerId: user.id,
      },
    },
    h('h2', { id: 'subscription-type' }, TYPE_TEXT[type] ?? 'You are subscribed to /dev/chat'),
    h('p', { id: 'offer-text' }, OFFER_TEXT[type]?.(pairCode) ?? ''),
    h('p', {}, 'Status: ', h('span', { id: 'subscription-status', className: 'status', dataset: { status: subscription.status } }, subscription.status)),
    failed && paymentFailedBanner(() => busy(manageButton, () => manage(subscription))),
    nextChargeLine(subscription, billing),
    h('h3', {}, 'Sessions this period'),
    sessionList(billing),
    actions,
    failed && h('p', { id: 'arrange-disabled', className: 'muted' }, PAYMENT_FAILED_TEXT),
    invoiceTable(billing),
  );
  manageButton.addEventListener('click', () => busy(manageButton, () => manage(subscription)));
  arrange.addEventListener('click', () => busy(arrange, () => arrangeSession(panel)));
  if (failed) {
    // Off until the card is fixed (the API refuses with the same sentence meanwhile).
    arrange.disabled = true;
    arrange.title = PAYMENT_FAILED_TEXT;
  }
  return panel;
}

function offers(pairCode, ended, billing) {
  return [
    ended && h('p', { id: 'subscription-ended', className: 'notice ended' }, 'you have ended your /dev/chat subscription'),
    ended && endedLine(billing),
    h('p', { className: 'lead' }, 'Pick a package to start pair coding:'),
    h('div', { className: 'offers' }, ...offerCards(pairCode, subscribe)),
    billing && invoiceTable(billing),
  ].filter(Boolean);
}

/**
 * Sign out: this browser's session cookie goes (POST /users/sign-out). Everywhere: every
 * session of this user, in every browser, ends at once. Plain sign-out forgets the user
 * here whatever the server says; everywhere must reach the server (a 401 means the
 * session had ended already), else the error is shown.
 */
async function signOut(everywhere) {
  try {
    await api('/users/sign-out', { method: 'POST', body: { everywhere } });
  } catch (error) {
    const ended = error instanceof ApiError && error.status === 401;
    if (everywhere && !ended) throw error;
  }
  forgetUser();
  window.location.assign(everywhere ? '/login' : '/');
}

async function main() {
  const stored = loadUser();
  if (!stored) {
    window.location.replace('/login');
    return;
  }
  document.getElementById('who').textContent = stored.email;
  document.getElementById('logout').addEventListener('click', () => signOut(false));
  const everywhere = document.getElementById('logout-everywhere');
  everywhere.addEventListener('click', () => busy(everywhere, () => signOut(true)));

  const sessionId = new URLSearchParams(window.location.search).get('session_id');
  try {
    const [{ pairCode }, { user }] = await Promise.all([
      api('/offerings'),
      userApi('/users', { query: { session_id: sessionId } }),
    ]);
    saveUser(user);
    const subscription = user.subscription;
    if (subscription && !ENDED.has(subscription.status)) {
      render('dashboard', subscriptionPanel(user, subscription, pairCode));
    } else {
      render('dashboard', ...offers(pairCode, Boolean(subscription), user.billing));
    }
  } catch (error) {
    const unknownUser = error.status === 404 && !sessionId;
    if (error instanceof ApiError && (error.status === 401 || unknownUser)) {
      // The stored user is unknown here (or the session has expired): sign in again.
      forgetUser();
      window.location.replace('/login');
      return;
    }
    render('dashboard');
    showError(error.message);
  }
}

main();
