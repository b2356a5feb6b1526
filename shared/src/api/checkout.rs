//! Route handler (owned by the foundation work).
