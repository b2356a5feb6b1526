// Login page: sign up (or in) with an email, keep the user, go to the dashboard.
import { api, busy, loadUser, saveUser } from './app.js';

if (loadUser()) {
  window.location.replace('/dashboard');
} else {
  const form = document.getElementById('login-form');
  const submit = form.querySelector('button[type="submit"]');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(submit, async () => {
      const email = form.elements.email.value.trim();
      const user = await api('/users', { method: 'POST', body: { email } });
      saveUser(user);
      window.location.assign('/dashboard');
    });
  });
  form.elements.email.focus();
}
