//! Starting a subscription through Stripe Checkout, and recording its result when the customer comes back (GET /users?session_id=).
