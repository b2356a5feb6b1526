// Shared by every page: the API client, the stored user, price formatting and
// the few DOM helpers the pages use. No framework, no build step.

const USER_KEY = 'user';

/** An API answer other than 2xx, carrying the server's `{"error":{"message"}}` text. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/**
 * Calls the /dev/chat API on this origin. `query` entries that are null or
 * undefined are left out; `body` is sent as JSON. Resolves to the parsed JSON
 * answer, or rejects with an ApiError whose message is meant for people.
 */
export async function api(path, { method = 'GET', query = {}, body, headers = {} } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== '') url.searchParams.set(name, value);
  }
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json', ...headers },
  };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError('Cannot reach /dev/chat right now. Check your connection and try again.', 0);
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = data?.error?.message || `The request failed (HTTP ${response.status}).`;
    throw new ApiError(message, response.status);
  }
  return data;
}

/** Calls a user-scoped route: adds `user_id` of the stored user to the query. */
export function userApi(path, options = {}) {
  const user = loadUser();
  return api(path, { ...options, query: { ...options.query, user_id: user?.id } });
}

/** The user kept after sign-up (`{id, email, subscription?}`), or null. */
export function loadUser() {
  try {
    const user = JSON.parse(window.localStorage.getItem(USER_KEY));
    return user && typeof user.id === 'string' && user.id ? user : null;
  } catch {
    return null;
  }
}

export function saveUser(user) {
  window.localStorage.setItem(USER_KEY, JSON.stringify(user));
}

export function forgetUser() {
  window.localStorage.removeItem(USER_KEY);
}

/** `{unit_amount: 6000, currency: "usd"}` → `60 USD`. */
export function formatPrice(price) {
  return `${price.unit_amount / 100} ${String(price.currency).toUpperCase()}`;
}

/** An amount in the currency's minor unit, in the viewer's locale: 24000 usd → `$240.00`. */
export function formatMoney(amount, currency) {
  const code = String(currency).toUpperCase();
  const digits = new Intl.NumberFormat(undefined, { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits;
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: code }).format(amount / 10 ** digits);
}

/** Unix seconds as a date in the viewer's locale: `Dec 3, 2026`. */
export function formatDate(seconds) {
  return new Date(seconds * 1000).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** A fresh key per click, so a retried request is recorded once and a new click anew. */
export function idempotencyKey() {
  if (window.crypto.randomUUID) return window.crypto.randomUUID();
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Creates an element: `h('p', {id: 'x', dataset: {a: '1'}}, 'text', child)`.
 * Text is always set as text, never parsed as markup.
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'onclick') element.addEventListener('click', value);
    else if (name in element) element[name] = value;
    else element.setAttribute(name, value === true ? '' : value);
  }
  element.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** Shows `message` in the page's `#error` box; `null` hides it. */
export function showError(message) {
  const box = document.getElementById('error');
  box.textContent = message ?? '';
  box.hidden = !message;
}

/**
 * Runs `action` for a button click: disables the button meanwhile (no double
 * submits), clears the previous error, and shows a failure on the page.
 */
export async function busy(button, action) {
  if (button.disabled) return;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  showError(null);
  try {
    await action();
  } catch (error) {
    showError(error.message);
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/**
 * The two offers (monthly and on demand) as cards. `onChoose(price)` runs when a
 * button is pressed; their words are the offer's one definition, from GET /offerings. Each card carries its price id as `data-monthly-price-id`
 * or `data-ondemand-price-id`; each button reads e.g. `60 USD per month`.
 */
export function offerCards(pairCode, onChoose) {
  const offers = [
    {
      kind: 'monthly',
      price: pairCode.monthlyPrice,
      title: 'Monthly',
      pitch: pairCode.monthlyText,
      per: 'per month',
    },
    {
      kind: 'ondemand',
      price: pairCode.onDemandPrice,
      title: 'On demand',
      pitch: pairCode.onDemandText,
      per: 'per session',
    },
  ];
  return offers
    .filter((offer) => offer.price)
    .map((offer) => {
      const button = h(
        'button',
        { type: 'button', className: 'btn', id: `${offer.kind}-subscription` },
        `${formatPrice(offer.price)} ${offer.per}`,
      );
      button.addEventListener('click', () => busy(button, () => onChoose(offer.price)));
      return h(
        'article',
        { className: 'card offer', dataset: { [`${offer.kind}PriceId`]: offer.price.id } },
        h('h2', {}, offer.title),
        h('p', {}, offer.pitch),
        h('div', { className: 'actions' }, button),
      );
    });
}

/** Replaces the children of `#id` and marks it loaded. */
export function render(id, ...children) {
  const target = document.getElementById(id);
  target.replaceChildren(...children);
  target.classList.remove('loading');
  target.removeAttribute('aria-busy');
}
