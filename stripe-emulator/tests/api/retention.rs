//! What Stripe remembers for 24 hours: an `Idempotency-Key`'s answer, and a meter
//! event's `identifier`. The emulator's clock moves the day along.

use serde_json::Value;

use crate::support::{Emu, Res, id};

const DAY: i64 = 24 * 3600;
const ADA: &str = "email=a@example.com&name=Ada";
const TOO_LONG: &str = "name=Pairing&unit_label=far-too-long-label";
const PAIRING: &str = "name=Pairing&unit_label=minute";

/// A POST under an idempotency key.
async fn keyed(emu: &Emu, path: &str, body: &str, key: &str) -> Res {
    emu.post_idempotent(path, body, key).await
}

fn customers(list: &Value) -> usize {
    list["data"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn an_idempotency_key_replays_for_24_hours_then_is_forgotten() {
    let emu = Emu::start().await;
    let first = keyed(&emu, "/v1/customers", ADA, "day-key").await.ok();
    emu.advance(DAY - 60).await;
    // The same parameters in another order are the same request.
    let replay = keyed(
        &emu,
        "/v1/customers",
        "name=Ada&email=a@example.com",
        "day-key",
    )
    .await;
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(replay.ok(), first);
    emu.advance(120).await;
    let later = keyed(&emu, "/v1/customers", ADA, "day-key").await;
    assert!(later.headers.get("idempotent-replayed").is_none());
    assert_ne!(
        id(&later.ok()),
        id(&first),
        "a day later the key is new again"
    );
    assert_eq!(customers(&emu.get("/v1/customers").await.ok()), 2);
}

#[tokio::test]
async fn a_request_refused_by_validation_saves_no_result() {
    let emu = Emu::start().await;
    let refused = keyed(&emu, "/v1/products", TOO_LONG, "fix-me")
        .await
        .err(400);
    assert_eq!(refused["param"], "unit_label");
    // The corrected retry under the same key goes through, and is then replayed.
    let product = keyed(&emu, "/v1/products", PAIRING, "fix-me").await.ok();
    assert_eq!(product["unit_label"], "minute");
    let again = keyed(&emu, "/v1/products", PAIRING, "fix-me").await;
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    // A key reused with other parameters is refused as Stripe refuses it.
    let other = keyed(&emu, "/v1/products", "name=Other", "fix-me")
        .await
        .err(400);
    assert_eq!(other["type"], "idempotency_error");
    assert_eq!(
        other["message"],
        "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'fix-me' if you meant to execute a different request."
    );
}

#[tokio::test]
async fn a_meter_event_identifier_is_unique_for_a_rolling_24_hours() {
    let emu = Emu::start().await;
    let customer = emu.customer("meter@example.com").await;
    emu.meter("pairing_sessions").await;
    let body = format!(
        "event_name=pairing_sessions&identifier=click-1&payload[stripe_customer_id]={customer}"
    );
    emu.post("/v1/billing/meter_events", &body).await.ok();
    emu.advance(DAY - 60).await;
    // Another request (no idempotency key, another payload) with the identifier: a repeat.
    let repeat = format!("{body}&payload[value]=2");
    let err = emu.post("/v1/billing/meter_events", &repeat).await.err(400);
    assert_eq!(err["type"], "invalid_request_error");
    assert_eq!(err["param"], "identifier");
    assert_eq!(
        err["message"],
        "An event already exists with identifier click-1."
    );
    assert!(err.get("code").is_none(), "v1 documents no code: {err}");
    emu.advance(120).await;
    // A day after the first, the identifier is free again: the window rolls, it is not forever.
    let event = emu.post("/v1/billing/meter_events", &body).await.ok();
    assert_eq!(event["identifier"], "click-1");
    let state = emu.get("/_emulator/state").await.body;
    assert_eq!(state["meter_events"].as_array().unwrap().len(), 2);
}
