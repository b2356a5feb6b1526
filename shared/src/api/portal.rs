//! Route handler (owned by the Milestone 2/3 work).
