//! Provisioning: converge Stripe to what we sell (product, prices, meter, portal configuration) and store the result; and reading the catalog (provisioning it if missing).
