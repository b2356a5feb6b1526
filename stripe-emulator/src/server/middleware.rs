//! The middleware that makes `/v1` behave like api.stripe.com: fault injection,
//! authentication, the check against Stripe's spec, idempotency and the request
//! log; and, after every request, event dispatch and persistence ([`super::flush`]).

use std::time::{Duration, Instant};

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::{
    auth::valid_key,
    faults::{fault_response, take_fault},
    flush,
};
use crate::{
    app::{App, LogEntry, lock},
    error::ApiError,
    form, retention, spec,
    state::new_id,
};

/// Middleware for every request.
pub async fn middleware(State(app): State<App>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let api = path.starts_with("/v1/");

    if !api {
        let response = next.run(req).await;
        flush(&app).await;
        tracing::info!(%method, %path, status = response.status().as_u16(), ms = started.elapsed().as_secs_f64() * 1000.0, "request");
        return response;
    }

    let idempotency_key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let authorized = valid_key(req.headers().get("authorization"));
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, 1 << 20).await.unwrap_or_default();
    // A body or query string that is not a form is answered as such (after faults and
    // authentication, as Stripe does), not as a request with no parameters.
    let parsed = form::parse(query.as_bytes()).and_then(|mut params| {
        params.extend(form::parse(&body)?);
        Ok(params)
    });
    let (params, unreadable) = match parsed {
        Ok(params) => (Value::Object(params), None),
        Err(err) => (Value::Object(Default::default()), Some(err)),
    };

    let (response, status) = 'answer: {
        if let Some(fault) = take_fault(&app, &method, &path) {
            if fault.delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
            }
            let response = fault_response(&fault);
            let status = response.status().as_u16();
            break 'answer (response, status);
        }
        if !authorized {
            let err = ApiError::unauthorized(
                "You did not provide an API key, or it is not a valid test key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer sk_test_…').",
            );
            break 'answer (err.into_response(), 401);
        }
        if let Some(err) = unreadable {
            let status = err.status.as_u16();
            break 'answer (err.into_response(), status);
        }
        // Stripe's spec first: a refused request reaches no handler and saves no
        // idempotent result, so a corrected retry under the same key goes through.
        if let Err(err) = spec::validate(method.as_str(), &path, &params) {
            let status = err.status.as_u16();
            break 'answer (err.into_response(), status);
        }
        let key = idempotency_key
            .as_ref()
            .filter(|_| method == Method::POST)
            .cloned();
        let fingerprint = retention::fingerprint(method.as_str(), &path, &params);
        if let Some(key) = &key {
            let record = app.read(|db| retention::replay(db, key));
            if let Some(record) = record {
                if record.fingerprint != fingerprint {
                    let err = ApiError::invalid(format!(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
                    ))
                    .code("idempotency_key_in_use");
                    let mut err = err;
                    err.kind = "idempotency_error";
                    break 'answer (err.into_response(), 400);
                }
                let mut response = (
                    StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK),
                    axum::Json(record.body),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                break 'answer (response, record.status);
            }
            if !lock(&app.inflight).insert(key.clone()) {
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_error",
                    "There is currently another in-progress request using this idempotent key. Please try again later.",
                );
                err.code = Some("idempotency_key_in_use");
                break 'answer (err.into_response(), 409);
            }
        }
        let req = Request::from_parts(parts, Body::from(body));
        let response = next.run(req).await;
        let status = response.status();
        let (mut parts, body) = response.into_parts();
        let bytes = to_bytes(body, 16 << 20).await.unwrap_or_default();
        if let Some(key) = &key {
            if !status.is_server_error() && status != StatusCode::TOO_MANY_REQUESTS {
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let key = key.clone();
                let _ = app.write(|db| {
                    retention::save(db, key, fingerprint, status.as_u16(), body);
                    Ok(())
                });
            }
            lock(&app.inflight).remove(key);
        }
        parts.headers.insert(
            "request-id",
            HeaderValue::from_str(&new_id("req")).unwrap_or(HeaderValue::from_static("req")),
        );
        (
            Response::from_parts(parts, Body::from(bytes)),
            status.as_u16(),
        )
    };

    flush(&app).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%method, %path, status, ms = duration_ms, "request");
    {
        let mut log = lock(&app.log);
        let seq = log.len() as u64 + 1;
        log.push(LogEntry {
            seq,
            method: method.to_string(),
            path,
            params,
            status,
            duration_ms,
            idempotency_key,
        });
    }
    response
}
