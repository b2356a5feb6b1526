//! The emulator's whole state: every object by id, creation order per object type,
//! the clock, idempotency records and the outbox of events not yet dispatched.
//! Handlers mutate it under one lock (never held across an await) through [`crate::app::App::write`].

use std::collections::{BTreeMap, HashMap};

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

/// The API version whose shapes the emulator answers with: the one async-stripe 1.0 pins.
pub const API_VERSION: &str = "2026-09-30.endive";

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Db {
    /// Every object by id.
    pub objects: HashMap<String, Value>,
    /// Ids per `object` type, oldest first.
    pub order: BTreeMap<String, Vec<String>>,
    /// Seconds added to the wall clock (advanced through `/_emulator/clock/advance`).
    pub clock_offset: i64,
    /// Idempotency-Key → the first response for it.
    pub idempotency: HashMap<String, IdempotencyRecord>,
    /// Secrets of webhook endpoints (`we_…` → `whsec_…`); never returned after creation.
    pub endpoint_secrets: HashMap<String, String>,
    /// Billing meter event identifier → when it was used (unique for 24 hours,
    /// [`crate::retention::claim_identifier`]).
    #[serde(default)]
    pub meter_identifiers: HashMap<String, i64>,
    /// Meter events as recorded: (event_name, customer, value, timestamp, identifier).
    pub meter_events: Vec<MeterEvent>,
    /// Events emitted since the last dispatch (sent to webhooks and `stripe listen`).
    #[serde(skip)]
    pub outbox: Vec<Value>,
    /// This server's base URL as browsers reach it (`Config::public_url`), for the links
    /// objects carry to hosted pages (an invoice's `hosted_invoice_url`). Not saved.
    #[serde(skip)]
    pub public_url: String,
    /// While the clock runs what came due, the moment being run: [`Db::now`] is
    /// exactly that moment (see `billing::run_due`).
    #[serde(skip)]
    pub running_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub status: u16,
    pub body: Value,
    /// When it was saved (the emulator's clock): replayed for 24 hours.
    #[serde(default)]
    pub created: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeterEvent {
    pub identifier: String,
    pub event_name: String,
    pub customer: String,
    pub value: i64,
    pub timestamp: i64,
    pub created: i64,
}

/// `prefix_` followed by 24 random alphanumerics, as Stripe's ids look.
pub fn new_id(prefix: &str) -> String {
    random_id(&format!("{prefix}_"), 24)
}

/// `prefix` followed by `len` random alphanumerics (Checkout Session and hosted
/// invoice ids have longer tails than most).
pub fn random_id(prefix: &str, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..len)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// The text of a JSON string, or `""` for anything else.
pub fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Wall-clock seconds since the Unix epoch.
pub fn wall_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Db {
    /// The emulator's clock: the wall clock plus whatever was advanced (or the
    /// moment the clock is running things at).
    pub fn now(&self) -> i64 {
        self.running_at
            .unwrap_or_else(|| wall_clock() + self.clock_offset)
    }

    /// Stores a new object (it must carry `id` and `object`) and returns it.
    pub fn insert(&mut self, obj: Value) -> Value {
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        let kind = obj["object"].as_str().unwrap_or_default().to_string();
        self.order.entry(kind).or_default().push(id.clone());
        self.objects.insert(id, obj.clone());
        obj
    }

    /// Replaces a stored object.
    pub fn put(&mut self, obj: Value) -> Value {
        if let Some(id) = obj["id"].as_str() {
            self.objects.insert(id.to_string(), obj.clone());
        }
        obj
    }

    pub fn get(&self, id: &str) -> Option<&Value> {
        self.objects.get(id)
    }

    /// An object of the given `object` type, or Stripe's 404 (`No such customer: 'cus_x'`).
    pub fn fetch(&self, kind: &str, id: &str, what: &str, param: &str) -> ApiResult<Value> {
        match self.objects.get(id) {
            Some(obj) if obj["object"] == kind && obj["deleted"] != json!(true) => Ok(obj.clone()),
            _ => Err(ApiError::no_such(what, id, param)),
        }
    }

    /// An object named by a request parameter (`product=prod_x`): when it does not
    /// exist Stripe answers 400 `resource_missing` (404 is for the path's own object).
    pub fn fetch_param(&self, kind: &str, id: &str, what: &str, param: &str) -> ApiResult<Value> {
        self.fetch(kind, id, what, param).map_err(|mut e| {
            e.status = axum::http::StatusCode::BAD_REQUEST;
            e
        })
    }

    /// All objects of a type, newest first.
    pub fn all(&self, kind: &str) -> Vec<Value> {
        self.order
            .get(kind)
            .map(|ids| {
                ids.iter()
                    .rev()
                    .filter_map(|id| self.objects.get(id))
                    .filter(|o| o["deleted"] != json!(true))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Changes a stored object in place: fetches it (Stripe's 404 when missing), lets
    /// `f` edit a copy (validate in `f` before editing: an error leaves it as it was),
    /// stores it and, when anything changed, emits `event` with `previous_attributes`.
    pub fn change(
        &mut self,
        (kind, id, what): (&str, &str, &str),
        event: &str,
        f: impl FnOnce(&mut Db, &mut Value) -> ApiResult<()>,
    ) -> ApiResult<Value> {
        let before = self.fetch(kind, id, what, "id")?;
        let mut obj = before.clone();
        f(self, &mut obj)?;
        let obj = self.put(obj);
        if let Some(prev) = previous_attributes(&before, &obj) {
            self.emit(event, &obj, Some(prev));
        }
        Ok(obj)
    }

    /// Records an event for `obj` as it is now, and queues it for dispatch.
    pub fn emit(&mut self, kind: &str, obj: &Value, previous_attributes: Option<Value>) -> Value {
        let mut data = json!({ "object": obj });
        if let Some(prev) = previous_attributes {
            data["previous_attributes"] = prev;
        }
        let event = json!({
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": false,
            "pending_webhooks": 0,
            "request": { "id": null, "idempotency_key": null },
            "type": kind,
        });
        self.insert(event.clone());
        self.outbox.push(event.clone());
        event
    }
}

/// Builds the fields every Stripe object starts with.
pub fn base_object(db: &Db, prefix: &str, object: &str) -> Value {
    json!({
        "id": new_id(prefix),
        "object": object,
        "created": db.now(),
        "livemode": false,
        "metadata": {},
    })
}

/// `previous_attributes` for an `*.updated` event: the old values of the top-level
/// fields that changed.
pub fn previous_attributes(before: &Value, after: &Value) -> Option<Value> {
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        return None;
    };
    let changed: serde_json::Map<String, Value> = b
        .iter()
        .filter(|(k, v)| a.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!changed.is_empty()).then_some(Value::Object(changed))
}
