//! Event dispatch: `stripe listen` sessions (through the broadcast channel) and
//! webhook endpoints (signed POSTs, retried with backoff), plus `/v1/webhook_endpoints`.

use std::time::Duration;

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::get,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::{
    App,
    app::{StripeRequest, respond},
    error::{ApiError, ApiResult},
    form::{Params, merge_metadata},
    list,
    state::{base_object, new_id},
};

/// `Stripe-Signature` as Stripe computes it: HMAC-SHA256 of `"{t}.{payload}"`.
pub fn signature_header(secret: &str, timestamp: i64, payload: &str) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, payload))
}

pub fn sign(secret: &str, timestamp: i64, payload: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Sends one event to every listener and every enabled endpoint that wants it.
pub fn dispatch(app: &App, event: Value) {
    let _ = app.events.send(event.clone());
    let kind = event["type"].as_str().unwrap_or_default().to_string();
    let targets: Vec<(String, String)> = app.read(|db| {
        db.all("webhook_endpoint")
            .into_iter()
            .filter(|e| e["status"] == "enabled")
            .filter(|e| {
                e["enabled_events"]
                    .as_array()
                    .is_some_and(|evs| evs.iter().any(|x| x == "*" || x == kind.as_str()))
            })
            .filter_map(|e| {
                let id = e["id"].as_str()?;
                let url = e["url"].as_str()?.to_string();
                let secret = db.endpoint_secrets.get(id)?.clone();
                Some((url, secret))
            })
            .collect()
    });
    if targets.is_empty() {
        return;
    }
    let payload = serde_json::to_string_pretty(&event).unwrap_or_default();
    for (url, secret) in targets {
        let app = app.clone();
        let payload = payload.clone();
        tokio::spawn(async move { deliver(&app, &url, &secret, &payload).await });
    }
}

/// POSTs until the endpoint answers 2xx, backing off 1 s, 2 s, 4 s … (8 tries).
async fn deliver(app: &App, url: &str, secret: &str, payload: &str) {
    let mut backoff = Duration::from_secs(1);
    for attempt in 1..=8 {
        // Signed with the wall clock, as receivers check it (the emulator's clock may be advanced).
        let now = crate::state::wall_clock();
        let result = app
            .http
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .header(
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            )
            .header("stripe-signature", signature_header(secret, now, payload))
            .body(payload.to_string())
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                tracing::warn!(%url, attempt, status = r.status().as_u16(), "webhook delivery failed")
            }
            Err(e) => tracing::warn!(%url, attempt, error = %e, "webhook delivery failed"),
        }
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
}

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/v1/webhook_endpoints",
            get(list_endpoints).post(create_endpoint),
        )
        .route(
            "/v1/webhook_endpoints/{id}",
            crate::resources::retrieve(ENDPOINT, "webhook endpoint", "id")
                .post(update_endpoint)
                .delete(delete_endpoint),
        )
}

const ENDPOINT: &str = "webhook_endpoint";

fn endpoint_url(v: String) -> ApiResult<String> {
    let ok = (v.starts_with("http://") || v.starts_with("https://"))
        && v.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if ok {
        Ok(v)
    } else {
        Err(ApiError::invalid_param("url", format!("Invalid URL: {v}")).code("url_invalid"))
    }
}

/// `enabled_events[]`: `*` or event types (`a.b`, lowercase).
fn enabled_events(p: &mut Params) -> ApiResult<Option<Vec<String>>> {
    let Some(events) = p.str_list("enabled_events")? else {
        return Ok(None);
    };
    let events: Vec<String> = events.into_iter().filter(|e| !e.is_empty()).collect();
    if events.is_empty() {
        return Err(ApiError::missing_param("enabled_events"));
    }
    let valid = |e: &str| {
        e == "*"
            || (e.contains('.')
                && e.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'))
    };
    if let Some(bad) = events.iter().find(|e| !valid(e)) {
        return Err(ApiError::invalid_param(
            "enabled_events",
            format!("Invalid enabled_events[]: `{bad}` is not a valid event type."),
        ));
    }
    Ok(Some(events))
}

async fn create_endpoint(State(app): State<App>, req: StripeRequest) -> ApiResult<Json<Value>> {
    let mut p = req.params;
    let url = endpoint_url(p.req_str("url")?)?;
    let events =
        enabled_events(&mut p)?.ok_or_else(|| ApiError::missing_param("enabled_events"))?;
    let description = p.str("description")?.filter(|d| !d.is_empty());
    let api_version = p.str("api_version")?;
    p.bool("connect")?;
    let metadata = p.metadata()?;
    p.finish()?;
    let endpoint = app.write(|db| {
        let mut obj = base_object(db, "we", ENDPOINT);
        obj["api_version"] = json!(api_version);
        obj["application"] = Value::Null;
        obj["description"] = json!(description);
        obj["enabled_events"] = json!(events);
        obj["status"] = json!("enabled");
        obj["url"] = json!(url);
        merge_metadata(&mut obj, metadata);
        let obj = db.insert(obj);
        let secret = new_id("whsec");
        let id = obj["id"].as_str().unwrap_or_default().to_string();
        db.endpoint_secrets.insert(id, secret.clone());
        let mut shown = obj;
        // The secret is shown once, at creation; it is kept apart from the object.
        shown["secret"] = json!(secret);
        Ok(shown)
    })?;
    respond(&app, endpoint, &req.expand)
}

async fn update_endpoint(
    State(app): State<App>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> ApiResult<Json<Value>> {
    let mut p = req.params;
    let url = p.str("url")?.map(endpoint_url).transpose()?;
    let events = enabled_events(&mut p)?;
    let description = p.str("description")?;
    let disabled = p.bool("disabled")?;
    let metadata = p.metadata()?;
    p.finish()?;
    let endpoint = app.write(|db| {
        let mut obj = db.fetch(ENDPOINT, &id, "webhook endpoint", "id")?;
        if let Some(v) = url {
            obj["url"] = json!(v);
        }
        if let Some(v) = events {
            obj["enabled_events"] = json!(v);
        }
        if let Some(v) = description {
            obj["description"] = json!((!v.is_empty()).then_some(v));
        }
        if let Some(d) = disabled {
            obj["status"] = json!(if d { "disabled" } else { "enabled" });
        }
        merge_metadata(&mut obj, metadata);
        Ok(db.put(obj))
    })?;
    respond(&app, endpoint, &req.expand)
}

async fn delete_endpoint(
    State(app): State<App>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> ApiResult<Json<Value>> {
    req.params.finish()?;
    let stub = app.write(|db| {
        db.fetch(ENDPOINT, &id, "webhook endpoint", "id")?;
        db.endpoint_secrets.remove(&id);
        let stub = json!({ "id": id, "object": ENDPOINT, "deleted": true });
        db.put(stub.clone());
        Ok(stub)
    })?;
    Ok(Json(stub))
}

async fn list_endpoints(State(app): State<App>, req: StripeRequest) -> ApiResult<Json<Value>> {
    let url = "/v1/webhook_endpoints";
    list::filtered(&app, req.params, &req.expand, (ENDPOINT, url), |_| true)
}
