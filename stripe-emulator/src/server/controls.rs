//! `/_emulator/*`: controls Stripe does not have — reset, state dump, request log,
//! fault injection and the clock.

use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    app::{App, Fault},
    billing,
    error::{ApiError, ApiResult},
    state::Db,
};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/_emulator/health",
            get(|| async { Json(json!({ "ok": true })) }),
        )
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/state", get(state))
        .route("/_emulator/requests", get(requests).delete(clear_requests))
        .route(
            "/_emulator/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/_emulator/clock", get(clock))
        .route("/_emulator/clock/advance", post(advance))
}

async fn reset(State(app): State<App>) -> Json<Value> {
    app.replace(Db::default());
    app.log.lock().map(|mut l| l.clear()).ok();
    app.faults.lock().map(|mut f| f.clear()).ok();
    Json(json!({ "reset": true }))
}

async fn state(State(app): State<App>) -> Json<Value> {
    Json(app.read(|db| serde_json::to_value(db).unwrap_or(Value::Null)))
}

async fn requests(State(app): State<App>) -> Json<Value> {
    let log = app.log.lock().map(|l| l.clone()).unwrap_or_default();
    Json(json!({ "data": log }))
}

async fn clear_requests(State(app): State<App>) -> Json<Value> {
    app.log.lock().map(|mut l| l.clear()).ok();
    Json(json!({ "cleared": true }))
}

async fn faults(State(app): State<App>) -> Json<Value> {
    let faults = app.faults.lock().map(|f| f.clone()).unwrap_or_default();
    Json(json!({ "data": faults }))
}

async fn add_fault(State(app): State<App>, Json(fault): Json<Fault>) -> Json<Value> {
    let body = json!(fault);
    app.faults.lock().map(|mut f| f.push(fault)).ok();
    Json(body)
}

async fn clear_faults(State(app): State<App>) -> Json<Value> {
    app.faults.lock().map(|mut f| f.clear()).ok();
    Json(json!({ "cleared": true }))
}

async fn clock(State(app): State<App>) -> Json<Value> {
    Json(app.read(|db| json!({ "now": db.now(), "offset": db.clock_offset })))
}

#[derive(Debug, Deserialize)]
struct Advance {
    /// Seconds to move the clock forward.
    #[serde(default)]
    seconds: Option<i64>,
    /// Or an absolute time to move it to.
    #[serde(default)]
    to: Option<i64>,
}

/// Moves the clock forward and runs whatever came due (trial ends, renewals).
async fn advance(State(app): State<App>, Json(body): Json<Advance>) -> ApiResult<Json<Value>> {
    let now = app.write(|db| {
        let target = match (body.seconds, body.to) {
            (Some(s), _) if s >= 0 => db.now() + s,
            (None, Some(t)) if t >= db.now() => t,
            _ => {
                return Err(ApiError::invalid(
                    "give `seconds` (>= 0) or `to` (not in the past)",
                ));
            }
        };
        db.clock_offset += target - db.now();
        billing::run_due(db);
        Ok(db.now())
    })?;
    Ok(Json(json!({ "now": now })))
}
