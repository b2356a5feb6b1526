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
mod schema;

use serde_json::Value;

use schema::operation;
pub use schema::version;

use crate::error::ApiResult;

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
