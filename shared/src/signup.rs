//! Sign-up: one user (and one Stripe Customer) per normalised email.
