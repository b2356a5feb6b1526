//! Arrange session: one unit of usage (a Billing Meter event) for an on-demand subscriber, recorded once per Idempotency-Key.
