// Landing page: the two offers with their prices from GET /offerings.
import { api, offerCards, render, showError } from './app.js';

async function main() {
  try {
    const { pairCode } = await api('/offerings');
    render('offers', ...offerCards(pairCode, async () => window.location.assign('/login')));
  } catch (error) {
    render('offers');
    showError(error.message);
  }
}

main();
