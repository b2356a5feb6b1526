//! The vendored spec as data: the served operations, found by method and path, and
//! the component schemas their `$ref`s name.

use std::{collections::HashMap, sync::LazyLock};

use serde::Deserialize;
use serde_json::Value;

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
pub(super) struct Operation {
    pub(super) params: Value,
    pub(super) response: Value,
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
pub(super) fn operation(method: &str, path: &str) -> Option<&'static Operation> {
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
pub(super) fn resolve(schema: &Value) -> &Value {
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
