//! The shared application handle, the request extractor every API handler uses, and
//! the middleware that makes `/v1` behave like api.stripe.com: fault injection,
//! authentication, idempotency, the request log, event dispatch and persistence.

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::{Body, Bytes, to_bytes},
    extract::{FromRequest, Request, State},
    http::{HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::{
    error::{ApiError, ApiResult},
    form::{self, Params},
    state::Db,
};

/// How the emulator was started.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL of this server as browsers and clients reach it (hosted page links).
    pub public_url: String,
    /// Signing secret of every `stripe listen` session.
    pub webhook_secret: String,
    /// Where state is kept across restarts (`--data`), if anywhere.
    pub data: Option<PathBuf>,
    /// How long hosted Checkout keeps showing "Processing" after a payment is
    /// confirmed, before it loads `success_url` (`--checkout-confirm-delay-ms`).
    pub checkout_confirm_delay_ms: u64,
}

/// One line of the request log (`GET /_emulator/requests`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub params: Value,
    pub status: u16,
    pub duration_ms: f64,
    pub idempotency_key: Option<String>,
}

/// A fault to inject: the next `count` requests matching `method` and `path_prefix`
/// wait `delay_ms`, then answer `status` (Stripe-shaped error body) or drop the connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    #[serde(default)]
    pub method: Option<String>,
    pub path_prefix: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub drop: bool,
}

fn one() -> u32 {
    1
}

pub struct Inner {
    pub config: Config,
    db: Mutex<Db>,
    pub events: broadcast::Sender<Value>,
    pub log: Mutex<Vec<LogEntry>>,
    pub faults: Mutex<Vec<Fault>>,
    inflight: Mutex<HashSet<String>>,
    persist_lock: tokio::sync::Mutex<()>,
    pub http: reqwest::Client,
}

#[derive(Clone)]
pub struct App(pub Arc<Inner>);

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock must not take the whole emulator down.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl App {
    pub fn new(config: Config, db: Db) -> Self {
        let (events, _) = broadcast::channel(4096);
        Self(Arc::new(Inner {
            config,
            db: Mutex::new(db),
            events,
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            inflight: Mutex::new(HashSet::new()),
            persist_lock: tokio::sync::Mutex::new(()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }))
    }

    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&Db) -> T) -> T {
        f(&lock(&self.db))
    }

    /// Changes the state. Validate before mutating: an error does not roll back.
    pub fn write<T>(&self, f: impl FnOnce(&mut Db) -> ApiResult<T>) -> ApiResult<T> {
        f(&mut lock(&self.db))
    }

    /// Replaces the whole state (reset).
    pub fn replace(&self, db: Db) {
        *lock(&self.db) = db;
    }

    pub fn public_url(&self) -> &str {
        &self.config.public_url
    }

    /// Sends queued events to webhook endpoints and `stripe listen` sessions, then
    /// saves the state when `--data` is set. Called after every request.
    pub async fn flush(&self) {
        let events = std::mem::take(&mut lock(&self.db).outbox);
        for event in events {
            crate::webhooks::dispatch(self, event);
        }
        self.persist().await;
    }

    /// Atomic save: write a temporary file, fsync, rename over the old one.
    pub async fn persist(&self) {
        let Some(path) = self.config.data.clone() else {
            return;
        };
        let _guard = self.persist_lock.lock().await;
        let snapshot = match serde_json::to_vec(&*lock(&self.db)) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize state");
                return;
            }
        };
        let tmp = path.with_extension("tmp");
        let result = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&snapshot)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot save state"),
            Err(e) => tracing::error!(error = %e, "cannot save state"),
        }
    }
}

/// Loads `--data` if it exists.
pub fn load(path: &std::path::Path) -> std::io::Result<Db> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Db::default()),
        Err(e) => Err(e),
    }
}

/// The parameters of an API request (query string for GET/DELETE, form body
/// otherwise) with `expand[]` taken out, ready for strict reading.
pub struct StripeRequest {
    pub params: Params,
    pub expand: Vec<String>,
}

impl<S: Send + Sync> FromRequest<S> for StripeRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().unwrap_or("").to_string();
        let method = req.method().clone();
        let body = to_bytes(req.into_body(), 1 << 20)
            .await
            .map_err(|_| ApiError::invalid("Request body too large or unreadable"))?;
        let mut map = form::parse(query.as_bytes())?;
        if method != Method::GET && method != Method::DELETE {
            map.extend(form::parse(&body)?);
        }
        let mut params = Params::new(map);
        let expand = params.str_list("expand")?.unwrap_or_default();
        Ok(Self { params, expand })
    }
}

/// Turns an object into the JSON response, expanding what was asked.
pub fn respond(app: &App, obj: Value, expand: &[String]) -> ApiResult<axum::Json<Value>> {
    Ok(axum::Json(if expand.is_empty() {
        obj
    } else {
        app.read(|db| crate::list::expand(db, obj, expand))
    }))
}

fn valid_key(auth: Option<&HeaderValue>) -> bool {
    let Some(value) = auth.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let key = if let Some(bearer) = value.strip_prefix("Bearer ") {
        bearer.to_string()
    } else if let Some(basic) = value.strip_prefix("Basic ") {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(|s| s.trim_end_matches(':').to_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    (key.starts_with("sk_test_") || key.starts_with("rk_test_"))
        && key.len() > "sk_test_".len()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn take_fault(app: &App, method: &Method, path: &str) -> Option<Fault> {
    let mut faults = lock(&app.faults);
    let idx = faults.iter().position(|f| {
        path.starts_with(&f.path_prefix)
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
    })?;
    let fault = faults[idx].clone();
    if faults[idx].count <= 1 {
        faults.remove(idx);
    } else {
        faults[idx].count -= 1;
    }
    Some(fault)
}

fn fault_response(fault: &Fault) -> Response {
    if fault.drop {
        // Headers go out, then the body fails: the client sees the connection cut.
        let stream = futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected fault: connection dropped",
            ))
        });
        return Response::new(Body::from_stream(stream));
    }
    let status = StatusCode::from_u16(fault.status.unwrap_or(500))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (kind, message) = match status.as_u16() {
        429 => (
            "rate_limit_error",
            "Too many requests hit the API too quickly.",
        ),
        409 => (
            "idempotency_error",
            "There is currently another in-progress request using this Stripe API key.",
        ),
        s if s >= 500 => ("api_error", "An unknown error occurred (injected fault)."),
        _ => ("invalid_request_error", "Injected fault."),
    };
    ApiError::new(status, kind, message).into_response()
}

/// Middleware for every request.
pub async fn middleware(State(app): State<App>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let api = path.starts_with("/v1/");

    if !api {
        let response = next.run(req).await;
        app.flush().await;
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
    let mut params = form::parse(query.as_bytes()).unwrap_or_default();
    params.extend(form::parse(&body).unwrap_or_default());
    let params = Value::Object(params);

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
        let key = idempotency_key
            .as_ref()
            .filter(|_| method == Method::POST)
            .cloned();
        let fingerprint = format!("{method} {path} {params}");
        if let Some(key) = &key {
            let record = app.read(|db| db.idempotency.get(key).cloned());
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
                let record = crate::state::IdempotencyRecord {
                    fingerprint,
                    status: status.as_u16(),
                    body,
                };
                let key = key.clone();
                let _ = app.write(|db| {
                    db.idempotency.insert(key, record);
                    Ok(())
                });
            }
            lock(&app.inflight).remove(key);
        }
        parts.headers.insert(
            "request-id",
            HeaderValue::from_str(&crate::state::new_id("req"))
                .unwrap_or(HeaderValue::from_static("req")),
        );
        (
            Response::from_parts(parts, Body::from(bytes)),
            status.as_u16(),
        )
    };

    app.flush().await;
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

/// The whole server: API resources, hosted pages, the CLI protocol and the controls.
pub fn router(app: App) -> Router {
    Router::new()
        .merge(crate::resources::routes())
        .merge(crate::webhooks::routes())
        .merge(crate::controls::routes())
        .merge(crate::pages::routes())
        .merge(crate::cli::routes())
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "Unrecognized request URL. Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
            )
        })
        .layer(axum::middleware::from_fn_with_state(app.clone(), middleware))
        .with_state(app)
}
