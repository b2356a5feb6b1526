// Hosted Checkout: show the ZIP field only for the United States, and keep the
// pay button from being pressed twice. The page works without this script.
document.addEventListener("DOMContentLoaded", () => {
  const country = document.getElementById("billingCountry");
  const zipRow = document.getElementById("zipRow");
  if (country && zipRow) {
    const sync = () => { zipRow.hidden = country.value !== "US"; };
    country.addEventListener("change", sync);
    sync();
  }
  const form = document.querySelector("form.payment-form");
  if (form) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) {
        setTimeout(() => { button.disabled = true; button.classList.add("processing"); }, 0);
      }
    });
  }
});
