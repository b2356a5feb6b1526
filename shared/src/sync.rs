//! Webhooks: verify Stripe-Signature, then sync the user's subscription from the event, never letting an older state overwrite a newer one.
