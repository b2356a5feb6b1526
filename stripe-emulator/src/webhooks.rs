//! Event dispatch: `stripe listen` sessions (through the broadcast channel) and
//! webhook endpoints (signed POSTs, retried with backoff).

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::{app::App, state::wall_clock};

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
        let now = wall_clock();
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
