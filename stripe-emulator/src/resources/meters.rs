//! Usage-based billing: `/v1/billing/meters` (with deactivate/reactivate and
//! event summaries) and `/v1/billing/meter_events`, recorded in [`Db::meter_events`]
//! for the billing engine to sum at renewal.

use serde_json::Map;
use sha2::{Digest, Sha256};

use super::rest::{self, prelude::*};
use crate::state::MeterEvent;

const KIND: &str = "billing.meter";
const WHAT: &str = "billing meter";
const FORMULAS: &[&str] = &["sum", "count", "last"];

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/billing/meters",
            rest::list(KIND, filter).merge(rest::create(create)),
        )
        .route(
            "/v1/billing/meters/{id}",
            rest::retrieve(KIND, WHAT, "id").merge(rest::act(update)),
        )
        .route("/v1/billing/meters/{id}/deactivate", rest::call(deactivate))
        .route("/v1/billing/meters/{id}/reactivate", rest::call(reactivate))
        .route(
            "/v1/billing/meters/{id}/event_summaries",
            rest::sublist(event_summaries),
        )
        .route("/v1/billing/meter_events", rest::create(create_event))
}

/// The active meter listening to `event_name`, if any.
fn active_meter(db: &Db, event_name: &str) -> Option<Value> {
    db.all(KIND)
        .into_iter()
        .find(|m| m["event_name"] == event_name && m["status"] == "active")
}

fn ensure_event_name_free(db: &Db, event_name: &str) -> ApiResult<()> {
    match active_meter(db, event_name) {
        Some(m) => Err(ApiError::invalid_param(
            "event_name",
            format!(
                "An active meter (`{}`) already exists with the event name `{event_name}`.",
                m["id"].as_str().unwrap_or_default()
            ),
        )),
        None => Ok(()),
    }
}

/// Reads a one-key settings hash such as `value_settings[event_payload_key]`.
fn payload_key(p: &mut Params, key: &str, default: &str) -> ApiResult<String> {
    let Some(mut s) = p.obj(key)? else {
        return Ok(default.to_string());
    };
    let v = s.req_str("event_payload_key")?;
    if key == "customer_mapping" {
        s.str("type")?;
    }
    s.finish()?;
    Ok(v)
}

fn create(p: &mut Params) -> ApiResult<impl Build + use<>> {
    let display_name = p.req_str("display_name")?;
    let event_name = p.req_str("event_name")?;
    let mut aggregation = p.obj("default_aggregation")?.unwrap_or_default();
    // The spec bypasses this enum (Stripe may add formulas); the emulator sums only these.
    let formula = aggregation
        .enum_str("formula", FORMULAS)?
        .unwrap_or_default();
    aggregation.finish()?;
    let customer_key = payload_key(p, "customer_mapping", "stripe_customer_id")?;
    let value_key = payload_key(p, "value_settings", "value")?;
    let window = p.str("event_time_window")?;
    Ok(move |db: &mut Db| {
        ensure_event_name_free(db, &event_name)?;
        let mut obj = base_object(db, "mtr", KIND);
        if let Value::Object(map) = &mut obj {
            map.remove("metadata");
        }
        obj["customer_mapping"] = json!({ "event_payload_key": customer_key, "type": "by_id" });
        obj["default_aggregation"] = json!({ "formula": formula });
        obj["display_name"] = json!(display_name);
        obj["event_name"] = json!(event_name);
        obj["event_time_window"] = json!(window);
        obj["status"] = json!("active");
        obj["status_transitions"] = json!({ "deactivated_at": null });
        obj["updated"] = obj["created"].clone();
        obj["value_settings"] = json!({ "event_payload_key": value_key });
        let obj = db.insert(obj);
        db.emit("billing.meter.created", &obj, None);
        Ok(obj)
    })
}

/// Applies `change` to a meter, stamps `updated` and emits `event` with what changed.
fn modify(
    db: &mut Db,
    id: &str,
    event: &str,
    change: impl FnOnce(&Db, &mut Value) -> ApiResult<()>,
) -> ApiResult<Value> {
    db.change((KIND, id, WHAT), event, |db, m| {
        change(db, m)?;
        m["updated"] = json!(db.now());
        Ok(())
    })
}

fn update(p: &mut Params) -> ApiResult<impl Act + use<>> {
    let display_name = p.str("display_name")?;
    Ok(move |db: &mut Db, id: &str| {
        modify(db, id, "billing.meter.updated", |_, m| {
            if let Some(name) = display_name {
                m["display_name"] = json!(name);
            }
            Ok(())
        })
    })
}

fn deactivate(db: &mut Db, id: &str) -> ApiResult<Value> {
    modify(db, id, "billing.meter.deactivated", |db, m| {
        if m["status"] != "active" {
            return Err(ApiError::invalid(format!(
                "The meter `{id}` is already inactive."
            )));
        }
        m["status"] = json!("inactive");
        m["status_transitions"]["deactivated_at"] = json!(db.now());
        Ok(())
    })
}

fn reactivate(db: &mut Db, id: &str) -> ApiResult<Value> {
    modify(db, id, "billing.meter.reactivated", |db, m| {
        if m["status"] == "active" {
            return Err(ApiError::invalid(format!(
                "The meter `{id}` is already active."
            )));
        }
        ensure_event_name_free(db, m["event_name"].as_str().unwrap_or_default())?;
        m["status"] = json!("active");
        m["status_transitions"]["deactivated_at"] = Value::Null;
        Ok(())
    })
}

fn filter(p: &mut Params) -> ApiResult<impl Keep + use<>> {
    let status = p.str("status")?;
    Ok(move |m: &Value| list::is(m, "status", &status))
}

/// `POST /v1/billing/meter_events`.
fn create_event(p: &mut Params) -> ApiResult<impl Build + use<>> {
    let event_name = p.req_str("event_name")?;
    let identifier = p.str("identifier")?.filter(|i| !i.is_empty());
    let timestamp = p.i64("timestamp")?;
    let payload = p.obj("payload")?.unwrap_or_default();
    Ok(move |db: &mut Db| {
        let payload: Map<String, Value> = payload_strings(payload)?;
        let now = db.now();
        let meter = active_meter(db, &event_name).ok_or_else(|| {
            ApiError::invalid_param(
                "event_name",
                format!("No active meter was found for event_name `{event_name}`."),
            )
        })?;
        let customer_key = meter["customer_mapping"]["event_payload_key"]
            .as_str()
            .unwrap_or("stripe_customer_id");
        let value_key = meter["value_settings"]["event_payload_key"]
            .as_str()
            .unwrap_or("value");
        let customer_param = format!("payload[{customer_key}]");
        let customer = payload
            .get(customer_key)
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::missing_param(&customer_param))?
            .to_string();
        if db.fetch("customer", &customer, "customer", "").is_err() {
            return Err(ApiError::invalid_param(
                &customer_param,
                format!("No such customer: '{customer}'"),
            )
            .code("resource_missing"));
        }
        let value = match payload.get(value_key).and_then(Value::as_str) {
            None => 1,
            Some(v) => v.trim().parse::<i64>().map_err(|_| {
                ApiError::invalid_param(
                    &format!("payload[{value_key}]"),
                    format!("Invalid payload[{value_key}]: `{v}` is not a whole number."),
                )
            })?,
        };
        let timestamp = timestamp.unwrap_or(now);
        if timestamp < now - 35 * 86_400 || timestamp > now + 300 {
            return Err(ApiError::invalid_param(
                "timestamp",
                "Invalid timestamp: must be within the past 35 calendar days or up to 5 minutes in the future.",
            ));
        }
        let identifier = identifier.unwrap_or_else(|| new_id("mevt"));
        crate::retention::claim_identifier(db, &identifier)?;
        db.meter_events.push(MeterEvent {
            identifier: identifier.clone(),
            event_name: event_name.clone(),
            customer,
            value,
            timestamp,
            created: now,
        });
        Ok(json!({
            "object": "billing.meter_event",
            "created": now,
            "event_name": event_name,
            "identifier": identifier,
            "livemode": false,
            "payload": payload,
            "timestamp": timestamp,
        }))
    })
}

fn payload_strings(mut payload: Params) -> ApiResult<Map<String, Value>> {
    // `payload` is free-form: every key is known, every value must be a string.
    let keys: Vec<String> = payload.keys();
    let mut out = Map::new();
    for key in keys {
        out.insert(key.clone(), json!(payload.req_str(&key)?));
    }
    payload.finish()?;
    Ok(out)
}

/// The value of a window under the meter's formula.
fn aggregate(formula: &str, events: &[&MeterEvent]) -> f64 {
    match formula {
        "count" => events.len() as f64,
        "last" => events
            .iter()
            .max_by_key(|e| (e.timestamp, e.created))
            .map_or(0.0, |e| e.value as f64),
        _ => events.iter().map(|e| e.value as f64).sum(),
    }
}

/// `GET /v1/billing/meters/{id}/event_summaries`.
fn event_summaries(p: &mut Params) -> ApiResult<impl Items + use<>> {
    let customer = p.req_str("customer")?;
    let start = p.i64("start_time")?.unwrap_or_default();
    let end = p.i64("end_time")?.unwrap_or_default();
    let window = p.str("value_grouping_window")?;
    if start >= end {
        return Err(ApiError::invalid_param(
            "end_time",
            "Invalid end_time: must be after start_time.",
        ));
    }
    let step = match window.as_deref() {
        Some("day") => 86_400,
        Some(_) => 3_600,
        None => end - start,
    };
    if (start % 60 != 0 || end % 60 != 0)
        || (window.is_some() && (start % step != 0 || end % step != 0))
    {
        return Err(ApiError::invalid_param(
            "start_time",
            "start_time and end_time must be aligned to minute boundaries, and to the value_grouping_window when one is given.",
        ));
    }
    Ok(move |db: &Db, id: &str| {
        let meter = db.fetch(KIND, id, WHAT, "id")?;
        db.fetch_param("customer", &customer, "customer", "customer")?;
        let event_name = meter["event_name"].as_str().unwrap_or_default();
        let formula = meter["default_aggregation"]["formula"]
            .as_str()
            .unwrap_or("sum");
        let events: Vec<&MeterEvent> = db
            .meter_events
            .iter()
            .filter(|e| e.event_name == event_name && e.customer == customer)
            .collect();
        let mut out = Vec::new();
        let mut from = start;
        while from < end {
            let to = (from + step).min(end);
            let inside: Vec<&MeterEvent> = events
                .iter()
                .copied()
                .filter(|e| (from..to).contains(&e.timestamp))
                .collect();
            let digest = Sha256::digest(format!("{id}/{customer}/{from}/{to}"));
            out.push(json!({
                "id": format!("mtrusg_{}", &hex::encode(digest)[..24]),
                "object": "billing.meter_event_summary",
                "aggregated_value": aggregate(formula, &inside),
                "end_time": to,
                "livemode": false,
                "meter": id,
                "start_time": from,
            }));
            from = to;
        }
        // Newest window first, as Stripe lists.
        out.reverse();
        Ok(out)
    })
}
