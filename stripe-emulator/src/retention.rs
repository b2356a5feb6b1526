//! What Stripe remembers for 24 hours: the answer to an `Idempotency-Key`, and the
//! `identifier` of a billing meter event.
//!
//! The two cover different cases. An `Idempotency-Key` replays the first answer to
//! the *same request* (a client retrying after a lost response gets the same object,
//! marked `Idempotent-Replayed`). A meter event `identifier` makes *any request*
//! carrying it count once: a second event with an identifier seen in the last 24 hours
//! is refused (400, `param: identifier`), whatever its key or payload.

use serde_json::Value;

use crate::{
    error::{ApiError, ApiResult},
    state::{Db, IdempotencyRecord},
};

/// Stripe keeps idempotency results, and meter event identifiers unique, this long
/// (seconds): "keys are eligible to be removed after they are at least 24 hours old";
/// identifiers are unique "within a rolling 24 hour period".
pub const WINDOW: i64 = 24 * 3600;

/// What two requests under one key must share: method, path and parameters, the
/// parameters compared as a tree (the order they were sent in does not matter).
pub fn fingerprint(method: &str, path: &str, params: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    format!("{method} {path} {}", sorted(params))
}

/// The saved answer for `key`, unless it is older than the window (then forgotten).
pub fn replay(db: &Db, key: &str) -> Option<IdempotencyRecord> {
    db.idempotency
        .get(key)
        .filter(|r| db.now() - r.created < WINDOW)
        .cloned()
}

/// Saves the answer for `key`, stamped with the emulator's clock, and forgets
/// the ones that are out of the window. Only requests that reached a handler are
/// saved: the middleware refuses invalid ones before (Stripe: "no idempotent result is
/// saved" when "incoming parameters failed validation").
pub fn save(db: &mut Db, key: String, fingerprint: String, status: u16, body: Value) {
    let now = db.now();
    if sweep_due(db.idempotency.len()) {
        db.idempotency.retain(|_, r| now - r.created < WINDOW);
    }
    let record = IdempotencyRecord {
        fingerprint,
        status,
        body,
        created: now,
    };
    db.idempotency.insert(key, record);
}

/// Claims a meter event identifier for the window. Refused as Stripe's v1
/// `POST /v1/billing/meter_events` refuses a repeat: 400 `invalid_request_error`,
/// `param: identifier`, no `code` (v1 documents none; `duplicate_meter_event` is v2's).
pub fn claim_identifier(db: &mut Db, identifier: &str) -> ApiResult<()> {
    let now = db.now();
    if db
        .meter_identifiers
        .get(identifier)
        .is_some_and(|at| now - at < WINDOW)
    {
        return Err(ApiError::invalid(format!(
            "An event already exists with identifier {identifier}."
        ))
        .param("identifier"));
    }
    if sweep_due(db.meter_identifiers.len()) {
        db.meter_identifiers.retain(|_, at| now - *at < WINDOW);
    }
    db.meter_identifiers.insert(identifier.to_string(), now);
    Ok(())
}

/// Whether to forget what is out of the window now: at each power of two from 1,024
/// entries, so a busy emulator sweeps rarely (amortised constant time per request).
fn sweep_due(len: usize) -> bool {
    len >= 1024 && len.is_power_of_two()
}
