//! Opening the Stripe Customer Portal for a user.
