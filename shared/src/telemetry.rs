//! Logging with tracing: JSON lines in Lambda, readable text locally.
