// The hosted pages' script (Checkout and the Customer Portal), loaded by both pages.
// Like Stripe's, the pages act without a page load: a form is sent with fetch to its
// own action, asking for JSON; the answer is either where to go next or what to show
// inline. Checkout keeps its button processing for a moment (data-confirm-delay-ms)
// and then loads success_url; the portal shows its next step in place. Without this
// script the same forms post as plain HTML forms.
(() => {
  'use strict';

  const PROCESSING = 'Processing…';

  /** Shows the ZIP field only for the United States. */
  function syncZip() {
    const country = document.getElementById('billingCountry');
    const zipRow = document.getElementById('zipRow');
    if (country && zipRow) zipRow.hidden = country.value !== 'US';
  }

  /** Removes the messages of the last attempt. */
  function clearErrors(form) {
    form.querySelectorAll('.field-error').forEach((p) => p.remove());
    form.querySelectorAll('.invalid').forEach((input) => input.classList.remove('invalid'));
    document.getElementById('form-error')?.remove();
  }

  /** The banner above the form (the same markup the server draws). */
  function showBanner(form, message) {
    const banner = document.createElement('div');
    banner.className = 'alert';
    banner.id = 'form-error';
    banner.setAttribute('role', 'alert');
    banner.textContent = message;
    const heading = form.querySelector('h2');
    if (heading) heading.after(banner);
    else form.prepend(banner);
  }

  /** Each field's message under it, or the error above the form. */
  function showErrors(form, answer) {
    let first = null;
    for (const { name, message } of answer.fields ?? []) {
      const input = form.elements.namedItem(name);
      if (!(input instanceof HTMLElement)) continue;
      input.classList.add('invalid');
      const p = document.createElement('p');
      p.className = 'field-error';
      p.setAttribute('role', 'alert');
      p.textContent = message;
      (input.closest('.field') ?? form).append(p);
      first ??= input;
    }
    if (first) first.focus();
    else showBanner(form, answer.error?.message ?? 'Something went wrong. Please try again.');
  }

  /** The button's processing state: disabled, a spinner and "Processing…". */
  function processing(button, on) {
    if (!button) return;
    if (on) {
      button.dataset.label ??= button.innerHTML;
      button.innerHTML = `<span class="spinner" aria-hidden="true"></span><span>${PROCESSING}</span>`;
    } else if (button.dataset.label !== undefined) {
      button.innerHTML = button.dataset.label;
      delete button.dataset.label;
    }
    button.disabled = on;
    button.classList.toggle('processing', on);
    button.classList.toggle('SubmitButton--processing', on);
    button.setAttribute('aria-busy', String(on));
  }

  /** While a form is out, the way back is closed (a click would abandon the action). */
  function busy(on) {
    document.body.classList.toggle('busy', on);
    for (const link of document.querySelectorAll('.return-link, #cancel-link')) {
      if (on) link.setAttribute('aria-disabled', 'true');
      else link.removeAttribute('aria-disabled');
    }
  }

  /** Sends `form` to its action and returns the JSON answer (`ok` tells which kind). */
  async function send(form) {
    const body = new URLSearchParams(new FormData(form));
    try {
      const response = await fetch(form.action, {
        method: 'POST',
        headers: { Accept: 'application/json' },
        body,
      });
      const answer = await response.json();
      return { ok: response.ok, answer };
    } catch {
      return { ok: false, answer: { error: { message: 'We could not reach the server. Check your connection and try again.' } } };
    }
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function submit(form) {
    const button = form.querySelector('button[type=submit]');
    if (button?.disabled) return;
    const sending = send(form);
    processing(button, true);
    busy(true);
    clearErrors(form);
    const { ok, answer } = await sending;
    if (ok && answer.redirect_url) {
      if (form.dataset.confirmDelayMs !== undefined) {
        // Checkout: the payment went through; keep showing it being processed for a
        // moment, as Stripe's page does, then load success_url.
        await sleep(Number(form.dataset.confirmDelayMs) || 0);
        window.location.assign(answer.redirect_url);
        return;
      }
      await visit(answer.redirect_url, true);
      busy(false);
      return;
    }
    processing(button, false);
    busy(false);
    showErrors(form, answer);
  }

  /**
   * Shows a portal page in place: fetches it and swaps the main column (the way
   * Stripe's portal moves between its steps), keeping the address bar in step.
   */
  async function visit(url, push) {
    const current = document.querySelector('.portal-main');
    try {
      const response = await fetch(url, { headers: { Accept: 'text/html' } });
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      const next = doc.querySelector('.portal-main');
      if (!current || !next) throw new Error('not a portal page');
      current.replaceWith(document.adoptNode(next));
      document.title = doc.title;
      if (push) window.history.pushState({ portal: true }, '', url);
      syncZip();
    } catch {
      window.location.assign(url);
    }
  }

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== 'post') return;
    event.preventDefault();
    submit(form);
  });

  // Links between the portal's own steps (cancel, add a payment method, go back) stay
  // in the page; "Return to …" is a plain link.
  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
    if (!link || !link.closest('.portal-main')) return;
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || !url.pathname.startsWith('/p/session/')) return;
    event.preventDefault();
    visit(url.href, true);
  });

  // Clicks on a link closed while a form is out do nothing.
  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[aria-disabled="true"]') : null;
    if (link) event.preventDefault();
  }, true);

  window.addEventListener('popstate', () => {
    if (document.querySelector('.portal-main')) visit(window.location.href, false);
  });

  document.addEventListener('change', (event) => {
    if (event.target instanceof Element && event.target.id === 'billingCountry') syncZip();
  });
  document.addEventListener('DOMContentLoaded', syncZip);
})();
