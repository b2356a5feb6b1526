//! The Stripe CLI's `listen` protocol: `POST /v1/stripecli/sessions` and the websocket.
//!
//! `stripe listen` first creates a session (answered with the websocket URL, its id
//! and the signing secret it prints), then opens `/stripecli/ws` with the
//! `stripecli-devproxy-v1` subprotocol and a `Websocket-Id` header. Every event the
//! emulator emits from then on is sent as a `webhook_event` message whose
//! `http_headers` carry a `Stripe-Signature` over the exact `event_payload`; the CLI
//! forwards it, acknowledges it (`event_ack`) and reports the answer of the
//! forward URL (`webhook_response`).
//!
//! A session outlives its connections: the CLI resets its websocket every minute
//! and reconnects with the same id, so each session subscribes to the event stream
//! when it is created, keeps what arrives while no socket is open, and resends on
//! reconnect only what was sent but never acknowledged.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Extension, Json, Router,
    extract::{
        State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use futures::SinkExt;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::{
    app::{App, lock},
    error::ApiResult,
    respond::StripeRequest,
    state::{API_VERSION, new_id, wall_clock},
    webhooks::signature_header,
};

/// The websocket subprotocol the CLI asks for.
pub const SUBPROTOCOL: &str = "stripecli-devproxy-v1";
/// Where the CLI opens its websocket (outside `/v1`, whose middleware buffers bodies).
pub const WS_PATH: &str = "/stripecli/ws";
/// The CLI pings every two seconds; a socket silent for this long is dead.
const SILENCE_LIMIT: Duration = Duration::from_secs(30);
/// A session with no socket for this long is forgotten.
const IDLE_LIMIT: Duration = Duration::from_secs(30 * 60);
/// Unacknowledged events kept per session for resending.
const MAX_UNACKED: usize = 1000;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/stripecli/sessions", post(create_session))
        .route(WS_PATH, get(connect))
        .layer(Extension(Sessions::default()))
}

/// The open `listen` sessions by websocket id (one registry per router).
#[derive(Clone, Default)]
struct Sessions(Arc<Mutex<HashMap<String, Arc<Session>>>>);

struct Session {
    /// Held by the socket currently serving the session.
    stream: tokio::sync::Mutex<Stream>,
    /// When the last socket closed (or the session was created).
    idle_since: Mutex<Instant>,
}

struct Stream {
    events: broadcast::Receiver<Value>,
    /// Sent but not acknowledged yet, oldest first.
    unacked: VecDeque<Delivery>,
}

/// One event on its way to the CLI.
#[derive(Clone)]
struct Delivery {
    webhook_id: String,
    conversation_id: String,
    event_id: String,
    payload: String,
}

impl Sessions {
    fn get(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.0).get(id).cloned()
    }

    /// Registers a new session (subscribed to events from now on) and forgets the
    /// ones that have had no socket for a long time.
    fn open(&self, app: &App) -> String {
        let id = new_id("cliws");
        let session = Arc::new(Session {
            stream: tokio::sync::Mutex::new(Stream {
                events: app.events.subscribe(),
                unacked: VecDeque::new(),
            }),
            idle_since: Mutex::new(Instant::now()),
        });
        let mut sessions = lock(&self.0);
        sessions.retain(|_, s| {
            let connected = s.stream.try_lock().is_err();
            connected || lock(&s.idle_since).elapsed() < IDLE_LIMIT
        });
        sessions.insert(id.clone(), session);
        id
    }
}

/// `POST /v1/stripecli/sessions` (authenticated by the `/v1` middleware).
async fn create_session(
    State(app): State<App>,
    Extension(sessions): Extension<Sessions>,
    req: StripeRequest,
) -> ApiResult<Json<Value>> {
    let mut p = req.params;
    // Read what the CLI sends; newer CLIs may send more, which is ignored rather than
    // rejected so that any version can connect.
    let device_name = p.str("device_name")?;
    let features = p.str_list("websocket_features")?.unwrap_or_default();
    let forward_to = p.str("forward_to_url")?;
    let id = sessions.open(&app);
    tracing::info!(websocket_id = %id, device = ?device_name, ?features, forward_to = ?forward_to, "stripe listen session created");
    Ok(Json(json!({
        "websocket_url": websocket_url(app.public_url()),
        "websocket_id": id,
        "websocket_authorized_feature": "webhook-payloads",
        "secret": app.config.webhook_secret,
        "reconnect_delay": 5,
        "display_connect_filter_warning": false,
        "default_version": API_VERSION,
        "latest_version": API_VERSION,
    })))
}

/// `http://host:port` → `ws://host:port/stripecli/ws` (`https` → `wss`).
pub fn websocket_url(public_url: &str) -> String {
    let base = public_url.trim_end_matches('/');
    let base = match base.strip_prefix("http") {
        Some(rest) => format!("ws{rest}"),
        None => base.to_string(),
    };
    format!("{base}{WS_PATH}")
}

/// `GET /stripecli/ws`: the websocket of a session named by the `Websocket-Id` header.
async fn connect(
    State(app): State<App>,
    Extension(sessions): Extension<Sessions>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let id = headers
        .get("websocket-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Some(session) = sessions.get(&id) else {
        // The CLI recognises this message and starts a new session.
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": { "message": "Unknown WebSocket ID." } })),
        )
            .into_response();
    };
    upgrade
        .protocols([SUBPROTOCOL])
        .on_upgrade(move |socket| serve(app, id, session, socket))
}

impl Delivery {
    fn new(event: &Value) -> Self {
        Self {
            webhook_id: new_id("we"),
            conversation_id: new_id("wc"),
            event_id: event["id"].as_str().unwrap_or_default().to_string(),
            payload: serde_json::to_string_pretty(event).unwrap_or_default(),
        }
    }

    /// The `webhook_event` message, signed now with `secret`.
    fn message(&self, secret: &str) -> String {
        json!({
            "type": "webhook_event",
            "webhook_id": self.webhook_id,
            "webhook_conversation_id": self.conversation_id,
            "event_payload": self.payload,
            "http_headers": {
                "Stripe-Signature": signature_header(secret, wall_clock(), &self.payload),
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
            // `null` = the account's default version; anything else is dropped by a
            // CLI not started with `--latest`.
            "endpoint": { "api_version": null },
        })
        .to_string()
    }
}

async fn serve(app: App, id: String, session: Arc<Session>, mut socket: WebSocket) {
    // A reconnect waits here until the previous socket of this session has closed.
    let mut stream = session.stream.lock().await;
    // The CLI reconnects every few seconds: routine, so debug-level.
    tracing::debug!(websocket_id = %id, resending = stream.unacked.len(), "stripe listen connected");
    let secret = app.config.webhook_secret.clone();
    let mut alive = true;
    for delivery in stream.unacked.clone() {
        if socket
            .send(Message::Text(delivery.message(&secret).into()))
            .await
            .is_err()
        {
            alive = false;
            break;
        }
    }
    let mut last_heard = Instant::now();
    while alive {
        let silence = tokio::time::sleep_until((last_heard + SILENCE_LIMIT).into());
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    last_heard = Instant::now();
                    on_message(&id, &mut stream, &text);
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => alive = false,
                // Pings are answered by the websocket layer itself.
                Some(Ok(_)) => last_heard = Instant::now(),
            },
            event = stream.events.recv() => match event {
                Ok(event) => {
                    let delivery = Delivery::new(&event);
                    let message = delivery.message(&secret);
                    if stream.unacked.len() >= MAX_UNACKED {
                        stream.unacked.pop_front();
                    }
                    stream.unacked.push_back(delivery);
                    alive = socket.send(Message::Text(message.into())).await.is_ok();
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(websocket_id = %id, missed, "stripe listen fell behind; events lost");
                }
                Err(broadcast::error::RecvError::Closed) => alive = false,
            },
            () = silence => {
                tracing::warn!(websocket_id = %id, "stripe listen socket silent; closing");
                alive = false;
            }
        }
    }
    // Completes the closing handshake when the CLI started it (it resets every few seconds).
    let _ = socket.close().await;
    *lock(&session.idle_since) = Instant::now();
    tracing::debug!(websocket_id = %id, unacked = stream.unacked.len(), "stripe listen disconnected");
}

/// Handles what the CLI sends: acknowledgements and the forward URL's answers.
fn on_message(id: &str, stream: &mut Stream, text: &str) {
    let msg: Value = match serde_json::from_str(text) {
        Ok(msg) => msg,
        Err(e) => {
            tracing::warn!(websocket_id = %id, error = %e, "malformed message from stripe listen");
            return;
        }
    };
    match msg["type"].as_str() {
        Some("event_ack") => {
            let webhook_id = msg["webhook_id"].as_str().unwrap_or_default();
            let event_id = msg["event_id"].as_str().unwrap_or_default();
            stream
                .unacked
                .retain(|d| d.webhook_id != webhook_id && d.event_id != event_id);
            tracing::debug!(websocket_id = %id, %event_id, "stripe listen acknowledged event");
        }
        Some("webhook_response") => {
            tracing::info!(
                websocket_id = %id,
                webhook_id = msg["webhook_id"].as_str().unwrap_or_default(),
                forward_url = msg["forward_url"].as_str().unwrap_or_default(),
                status = msg["status"].as_i64().unwrap_or_default(),
                "stripe listen forwarded event"
            );
        }
        other => {
            tracing::debug!(websocket_id = %id, kind = ?other, "message from stripe listen");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_url_follows_the_public_url() {
        assert_eq!(
            websocket_url("http://127.0.0.1:12111"),
            "ws://127.0.0.1:12111/stripecli/ws"
        );
        assert_eq!(
            websocket_url("https://stripe.example/"),
            "wss://stripe.example/stripecli/ws"
        );
    }

    #[test]
    fn the_event_message_is_signed_over_the_exact_payload() {
        let event = json!({"id": "evt_1", "object": "event", "type": "customer.created"});
        let delivery = Delivery::new(&event);
        let msg: Value = serde_json::from_str(&delivery.message("whsec_x")).unwrap();
        assert_eq!(msg["type"], "webhook_event");
        assert_eq!(msg["endpoint"]["api_version"], Value::Null);
        let payload = msg["event_payload"].as_str().unwrap();
        let header = msg["http_headers"]["Stripe-Signature"].as_str().unwrap();
        let t: i64 = header
            .strip_prefix("t=")
            .and_then(|s| s.split(',').next())
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(header, signature_header("whsec_x", t, payload));
        assert_eq!(serde_json::from_str::<Value>(payload).unwrap(), event);
    }

    #[test]
    fn acknowledged_events_leave_the_resend_queue() {
        let (_tx, events) = broadcast::channel(4);
        let a = Delivery::new(&json!({"id": "evt_a"}));
        let b = Delivery::new(&json!({"id": "evt_b"}));
        let mut stream = Stream {
            events,
            unacked: VecDeque::from([a.clone(), b]),
        };
        let ack = json!({"type": "event_ack", "event_id": "evt_a", "webhook_id": a.webhook_id});
        on_message("ws", &mut stream, &ack.to_string());
        on_message("ws", &mut stream, "not json");
        on_message(
            "ws",
            &mut stream,
            r#"{"type":"webhook_response","status":200}"#,
        );
        let left: Vec<&str> = stream.unacked.iter().map(|d| d.event_id.as_str()).collect();
        assert_eq!(left, ["evt_b"]);
    }
}
