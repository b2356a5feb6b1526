//! Stripe's published OpenAPI spec, as the emulator holds requests and answers to it.
//!
//! `spec/stripe-subset.json` (vendored by `spec/extract.py` from Stripe's spec, with the
//! endive overlay applied) is embedded at build time and parsed once. Every `/v1`
//! request an operation of it describes is checked before any handler runs
//! ([`validate`]); the tests check every answer ([`check_response`]).
//!
//! Other test suites can hold requests to the same contract: read the emulator's request
//! log (`GET /_emulator/requests`) and pass each entry to [`check_request`]:
//!
//! ```
//! use serde_json::json;
//! use stripe_emulator::spec::check_request;
//!
//! let entry = json!({"method": "POST", "path": "/v1/prices",
//!                    "params": {"currency": "usd",
//!                               "recurring": {"interval": "month", "trial_period_days": "7"}}});
//! let refused = check_request(
//!     entry["method"].as_str().unwrap(),
//!     entry["path"].as_str().unwrap(),
//!     &entry["params"],
//! );
//! assert_eq!(refused.unwrap_err(), "Received unknown parameter: recurring[trial_period_days]");
//! ```

mod request;
mod response;

use std::{collections::HashMap, sync::LazyLock};

use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiResult;

/// The vendored spec: the served operations and the schemas their answers reach.
#[derive(Debug, Default, Deserialize)]
struct Spec {
    version: String,
    operations: HashMap<String, Operation>,
    schemas: HashMap<String, Value>,
}

/// One operation: its parameters (form body, or query string for GET) as one object
/// schema, and the schema of its 200 answer.
#[derive(Debug, Deserialize)]
struct Operation {
    params: Value,
    response: Value,
}

/// The operations by method, with their paths split into segments (`{…}` matches any).
struct Routes(HashMap<String, Vec<(Vec<String>, String)>>);

static SPEC: LazyLock<Spec> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../spec/stripe-subset.json")).unwrap_or_else(|e| {
        // Cannot happen with the embedded file (a unit test parses it); never panic serving.
        tracing::error!(error = %e, "the vendored Stripe spec does not parse");
        Spec::default()
    })
});

static ROUTES: LazyLock<Routes> = LazyLock::new(|| {
    let mut by_method: HashMap<String, Vec<(Vec<String>, String)>> = HashMap::new();
    for key in SPEC.operations.keys() {
        if let Some((method, path)) = key.split_once(' ') {
            let segments = path.split('/').map(str::to_string).collect();
            by_method
                .entry(method.to_string())
                .or_default()
                .push((segments, key.clone()));
        }
    }
    Routes(by_method)
});

/// The spec's version (`2026-01-28.clover`): what the emulator is checked against.
pub fn version() -> &'static str {
    &SPEC.version
}

/// The operation serving `method path`, e.g. `GET /v1/prices/price_123`.
fn operation(method: &str, path: &str) -> Option<&'static Operation> {
    let candidates = ROUTES.0.get(&method.to_ascii_uppercase())?;
    let segments: Vec<&str> = path.split('/').collect();
    let (_, key) = candidates.iter().find(|(pattern, _)| {
        pattern.len() == segments.len()
            && pattern
                .iter()
                .zip(&segments)
                .all(|(p, s)| p == s || (p.starts_with('{') && !s.is_empty()))
    })?;
    SPEC.operations.get(key)
}

/// A schema with its `$ref` followed.
fn resolve(schema: &Value) -> &Value {
    let mut schema = schema;
    // A reference names a component schema; they do not chain far.
    for _ in 0..8 {
        let Some(name) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let name = name.rsplit('/').next().unwrap_or(name);
        match SPEC.schemas.get(name) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// Checks a request's parameters (the parsed form body or query string) against the
/// spec, with Stripe's error wording, code and `param`. Requests the spec does not
/// describe (the Stripe CLI's own endpoints) pass.
pub(crate) fn validate(method: &str, path: &str, params: &Value) -> ApiResult<()> {
    match operation(method, path) {
        Some(op) => request::check(&op.params, params, ""),
        None => Ok(()),
    }
}

/// Checks a request as the emulator's request log records it (`method`, `path`,
/// `params`): `Err` carries the message Stripe would answer with. For test suites that
/// hold the requests their code sends to the spec, whatever the emulator answered.
pub fn check_request(method: &str, path: &str, params: &Value) -> Result<(), String> {
    validate(method, path, params).map_err(|e| e.message)
}

/// Checks a successful answer's body against the spec's schema for the operation:
/// required fields present, types, enums (unless Stripe bypasses them) and no field
/// the spec does not know. `Err` lists the differences, one per line.
pub fn check_response(method: &str, path: &str, body: &Value) -> Result<(), String> {
    let Some(op) = operation(method, path) else {
        return Ok(());
    };
    let mut problems = Vec::new();
    response::check(&op.response, body, "", &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_spec_parses_and_serves_every_operation() {
        assert!(SPEC.version.ends_with(".clover"), "{}", SPEC.version);
        assert!(SPEC.operations.len() >= 50);
        assert!(operation("POST", "/v1/checkout/sessions").is_some());
        assert!(operation("GET", "/v1/prices/price_1").is_some());
        assert!(operation("get", "/v1/billing/meters/mtr_1/event_summaries").is_some());
        assert!(operation("POST", "/v1/stripecli/sessions").is_none());
        assert!(operation("GET", "/v1/prices//").is_none());
    }
}
