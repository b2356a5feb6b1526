// Login page: sign up with an email (a new account lands on the dashboard at once), or,
// for an email we know, the code step: "We've emailed you a code", then the code.
import { api, busy, loadUser, saveUser } from './app.js';

function enter(user) {
  saveUser(user);
  window.location.assign('/dashboard');
}

if (loadUser()) {
  window.location.replace('/dashboard');
} else {
  const form = document.getElementById('login-form');
  const submit = form.querySelector('button[type="submit"]');
  const codeForm = document.getElementById('code-form');
  const codeSubmit = codeForm.querySelector('button[type="submit"]');
  const resend = document.getElementById('resend-code');
  let email = '';

  /** POST /users: the user (new account, or this browser's own), or the code step. */
  async function start(address) {
    const answer = await api('/users', { method: 'POST', body: { email: address } });
    if (answer.signIn !== 'code_sent') {
      enter(answer);
      return;
    }
    email = answer.email;
    document.getElementById('code-email').textContent = email;
    form.hidden = true;
    codeForm.hidden = false;
    codeForm.elements.code.value = '';
    codeForm.elements.code.focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, () => start(form.elements.email.value.trim()));
  });
  codeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(codeSubmit, async () => {
      const code = codeForm.elements.code.value.trim();
      enter(await api('/users/sign-in', { method: 'POST', body: { email, code } }));
    });
  });
  // A new code, within the limits: the server answers 429 with when to try again, shown inline.
  resend.addEventListener('click', () => busy(resend, () => start(email)));
  form.elements.email.focus();
}
