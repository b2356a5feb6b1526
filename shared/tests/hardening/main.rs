//! Hardening: bad input refused and nothing lost, faults of Stripe and DynamoDB
//! survived, and concurrent calls that bill and record exactly once. Every route is
//! called in process through its handler, against the real emulator and moto server.

mod concurrency;
mod faults;
mod inputs;
mod session_faults;
