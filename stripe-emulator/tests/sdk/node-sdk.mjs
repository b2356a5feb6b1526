// Stripe's official Node SDK against the emulator, unchanged: only host, port and
// protocol point elsewhere. Usage: node node-sdk.mjs <port>. Exits non-zero on failure.
import assert from 'node:assert/strict';
import Stripe from 'stripe';

const port = Number(process.argv[2]);
const stripe = new Stripe('sk_test_node_sdk', {
  host: '127.0.0.1',
  port,
  protocol: 'http',
  maxNetworkRetries: 0,
});

const product = await stripe.products.create({ name: 'Paircode', metadata: { challenge_id: 'sdk' } });
assert.match(product.id, /^prod_/);

const price = await stripe.prices.create({
  product: product.id,
  currency: 'usd',
  unit_amount: 6000,
  recurring: { interval: 'month' },
  lookup_key: 'sdk_monthly',
  metadata: { challenge_id: 'sdk' },
});
assert.equal(price.unit_amount, 6000);
assert.equal(price.recurring.interval, 'month');

const meter = await stripe.billing.meters.create({
  display_name: 'Minutes',
  event_name: 'sdk_minutes',
  default_aggregation: { formula: 'sum' },
});
const metered = await stripe.prices.create({
  product: product.id,
  currency: 'usd',
  unit_amount: 10,
  recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
});
assert.equal(metered.recurring.meter, meter.id);

const customer = await stripe.customers.create({
  email: 'sdk+1@example.com',
  name: 'SDK',
  metadata: { challenge_id: 'sdk' },
});
assert.equal(customer.email, 'sdk+1@example.com');
await stripe.billing.meterEvents.create({
  event_name: 'sdk_minutes',
  payload: { stripe_customer_id: customer.id, value: '7' },
});

const prices = await stripe.prices.list({ lookup_keys: ['sdk_monthly'], expand: ['data.product'] });
assert.deepEqual(prices.data.map((p) => p.id), [price.id]);
assert.equal(prices.data[0].product.name, 'Paircode');

const customers = await stripe.customers.list({ email: 'sdk+1@example.com' });
assert.deepEqual(customers.data.map((c) => c.id), [customer.id]);

const products = await stripe.products.list({ limit: 1 });
assert.equal(products.data[0].id, product.id);

// Auto-pagination walks starting_after.
const all = [];
for await (const p of stripe.prices.list({ limit: 1 })) all.push(p.id);
assert.deepEqual(all.sort(), [price.id, metered.id].sort());

const config = await stripe.billingPortal.configurations.create({
  business_profile: { headline: 'SDK' },
  features: { invoice_history: { enabled: true }, subscription_cancel: { enabled: true, mode: 'immediately' } },
});
assert.equal(config.features.subscription_cancel.mode, 'immediately');

// Errors come back as the SDK's typed errors.
await assert.rejects(
  stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1, lookup_key: 'sdk_monthly' }),
  (e) => e.type === 'StripeInvalidRequestError' && e.statusCode === 400 && /already uses that lookup key/.test(e.message),
);
await assert.rejects(stripe.customers.retrieve('cus_missing'), (e) => e.statusCode === 404 && e.code === 'resource_missing');

const deleted = await stripe.customers.del(customer.id);
assert.equal(deleted.deleted, true);

console.log(JSON.stringify({ ok: true, product: product.id, price: price.id, customer: customer.id }));
