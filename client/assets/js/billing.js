// Where the customer stands, from GET /users' `billing` object: trial and next
// charge, this period's sessions, past invoices, and what to do after a failed payment.
import { formatDate, formatMoney, h } from './app.js';

/** Statuses in which a failed payment stops new sessions (the API refuses them too). */
export const PAYMENT_FAILED = new Set(['past_due', 'unpaid', 'incomplete']);

/** The API's refusal while a payment has failed, shown under the disabled button. */
export const PAYMENT_FAILED_TEXT = 'Your last payment failed. Update your card to keep arranging sessions';

/** One line saying what comes next: the trial, or the sessions and their charge. */
export function nextChargeLine(subscription, billing) {
  const charge = billing.nextCharge;
  if (!charge) return null;
  const amount = formatMoney(charge.amount, charge.currency);
  const at = formatDate(charge.at);
  if (subscription.type === 'monthly') {
    if (subscription.status === 'trialing' && billing.trialEnd) {
      return h('p', { id: 'next-charge' }, `Free trial until ${formatDate(billing.trialEnd)} — then ${amount} on ${at}`);
    }
    return h('p', { id: 'next-charge' }, `Next charge: ${amount} on ${at}`);
  }
  const count = billing.sessions.length;
  return h('p', { id: 'next-charge' }, `${count} session${count === 1 ? '' : 's'} this period — ${amount} on ${at}`);
}

/** This period's sessions, newest first. */
export function sessionList(billing) {
  if (!billing.sessions.length) return h('p', { id: 'sessions', className: 'muted' }, 'No sessions arranged this period yet.');
  return h(
    'ul',
    { id: 'sessions', className: 'sessions' },
    ...billing.sessions.map((s) =>
      h('li', { dataset: { sessionId: s.id } }, `${formatDate(s.requestedAt)} ${new Date(s.requestedAt * 1000).toLocaleTimeString()} · ${s.status}`),
    ),
  );
}

/** The last invoices, each linking to Stripe's hosted invoice page. */
export function invoiceTable(billing) {
  if (!billing.invoices.length) return null;
  const rows = billing.invoices.map((invoice) =>
    h(
      'tr',
      { dataset: { invoiceId: invoice.id } },
      h('td', {}, formatDate(invoice.createdAt)),
      h('td', {}, invoice.number ?? invoice.id),
      h('td', { className: 'amount' }, formatMoney(invoice.amountDue, invoice.currency)),
      h('td', {}, invoice.status),
      h('td', {}, invoice.url ? h('a', { href: invoice.url, target: '_blank', rel: 'noopener' }, 'View') : ''),
    ),
  );
  return h(
    'section',
    { className: 'invoices' },
    h('h3', {}, 'Invoices'),
    h(
      'table',
      { id: 'invoices' },
      h('thead', {}, h('tr', {}, ...['Date', 'Number', 'Amount', 'Status', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, ...rows),
    ),
  );
}

/** The banner of a failed payment, with a button that opens the portal. */
export function paymentFailedBanner(onUpdateCard) {
  const button = h('button', { type: 'button', className: 'btn', id: 'update-card' }, 'Update card');
  button.addEventListener('click', onUpdateCard);
  return h('div', { id: 'payment-failed', className: 'notice ended', role: 'alert' }, h('p', {}, PAYMENT_FAILED_TEXT), button);
}

/** When a cancelled subscription ended. */
export function endedLine(billing) {
  return billing?.endedAt ? h('p', { id: 'ended-at' }, `Your subscription ended on ${formatDate(billing.endedAt)}.`) : null;
}
