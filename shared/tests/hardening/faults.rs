//! Faults survived, against the real emulator and moto server.
//!
//! Stripe: at each call site (customer create, Checkout Session create, portal
//! session create, meter event create, Checkout Session retrieve) the emulator's fault
//! injection answers one request with a 500, a 429, a dropped connection, or a slow
//! answer past the client's per-attempt timeout. Each is retried with backoff under
//! the same `Idempotency-Key` (read back from the emulator's request log) and exactly
//! one object appears. A failure that persists answers 502 with a message and leaves
//! nothing half done.
//!
//! DynamoDB: cut off, in [`database`].

use devchat::store::Store;
use devchat_kit::{Answer, Options, Route, Stack, call_as, request, sign_up};
use serde_json::{Value, json};

mod database;

const SLOW: &str = "a slow answer";

/// The faults each call site must survive, and what the emulator logs for them.
fn transient_faults(method: &str, path_prefix: &str) -> Vec<(&'static str, Value)> {
    let fault = |extra: Value| {
        let mut fault = json!({ "method": method, "path_prefix": path_prefix, "count": 1 });
        fault
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        fault
    };
    vec![
        ("a 500", fault(json!({ "status": 500 }))),
        ("a 429", fault(json!({ "status": 429 }))),
        ("a dropped connection", fault(json!({ "drop": true }))),
        // Longer than the Stripe client's 8-second per-attempt timeout.
        (SLOW, fault(json!({ "status": 500, "delay_ms": 9_000 }))),
    ]
}

/// The emulator's log entries for `method` on paths under `prefix`.
async fn attempts(stack: &Stack, method: &str, prefix: &str) -> Vec<Value> {
    stack
        .emulator
        .requests()
        .await
        .expect("emulator")
        .into_iter()
        .filter(|r| {
            r["method"] == method && r["path"].as_str().is_some_and(|p| p.starts_with(prefix))
        })
        .collect()
}

/// Runs `call` once per transient fault at the call site `method prefix` and checks it
/// was retried under one idempotency key into exactly one new `kind` object; then
/// makes the fault persist and checks the 502 left nothing behind. `call(n)` makes the
/// n-th logical call (fresh parameters each time). Returns the number of faults injected.
async fn survives_faults(
    stack: &Stack,
    method: &str,
    prefix: &str,
    kind: Option<&str>,
    mut call: impl AsyncFnMut(usize) -> Answer,
) -> usize {
    let mut injected = 0;
    for (n, (what, fault)) in transient_faults(method, prefix).into_iter().enumerate() {
        let objects = match kind {
            Some(kind) => stack.emulator.count(kind).await.expect("emulator"),
            None => 0,
        };
        stack.emulator.clear_requests().await.expect("emulator");
        stack
            .emulator
            .inject(&fault)
            .await
            .expect("injecting a fault");
        injected += 1;
        let started = std::time::Instant::now();
        let answer = call(n).await;
        assert_eq!(
            answer.status, 200,
            "{method} {prefix} after {what}: {}",
            answer.body
        );
        let log = attempts(stack, method, prefix).await;
        let pending = stack.emulator.faults().await.expect("emulator");
        assert_eq!(pending, Vec::<Value>::new(), "{what}: the fault was hit");
        if what == SLOW {
            // The emulator logs a request when it answers; the client gave up on this one
            // after its 8-second timeout and closed the connection, so the log holds only
            // the retry. That it was a retry shows in the time taken and the spent fault.
            assert!(
                started.elapsed() >= std::time::Duration::from_secs(8),
                "{what}: answered before the client's timeout"
            );
            assert_eq!(log.len(), 1, "{what}: {log:#?}");
        } else {
            assert!(
                log.len() >= 2,
                "{method} {prefix} after {what}: retried, but the log shows {log:#?}"
            );
        }
        assert_eq!(
            log.last().unwrap()["status"],
            200,
            "{what}: the last attempt succeeded"
        );
        let keys: Vec<&Value> = log.iter().map(|r| &r["idempotency_key"]).collect();
        assert!(
            keys.iter().all(|k| *k == keys[0]),
            "{what}: one Idempotency-Key across the retries: {keys:?}"
        );
        if method == "POST" {
            assert!(
                keys[0].is_string(),
                "{what}: a write carries an Idempotency-Key"
            );
        }
        if let Some(kind) = kind {
            assert_eq!(
                stack.emulator.count(kind).await.expect("emulator"),
                objects + 1,
                "{what}: exactly one new {kind}"
            );
        }
    }

    // A failure that persists: every attempt fails.
    let objects = match kind {
        Some(kind) => stack.emulator.count(kind).await.expect("emulator"),
        None => 0,
    };
    let table = stack.items().await;
    stack.emulator.clear_requests().await.expect("emulator");
    stack
        .emulator
        .inject(&json!({ "method": method, "path_prefix": prefix, "count": 100, "status": 503 }))
        .await
        .expect("injecting a fault");
    injected += 1;
    let answer = call(99).await;
    stack.emulator.clear_faults().await.expect("emulator");
    answer.assert_error(
        502,
        "payment provider",
        format!("{method} {prefix}, persistent failure"),
    );
    let log = attempts(stack, method, prefix).await;
    assert_eq!(
        log.len(),
        4,
        "{method} {prefix}: four attempts, then it gives up: {log:#?}"
    );
    if let Some(kind) = kind {
        assert_eq!(
            stack.emulator.count(kind).await.expect("emulator"),
            objects,
            "no {kind} after a persistent failure"
        );
    }
    if prefix == "/v1/billing/meter_events" {
        // "Arrange session" stores the request before its meter event, so the
        // request is there, its event unsent (`metered` false): the retried click or
        // the next drain sends it under the same identifier.
        let pending: Vec<bool> = stack
            .items()
            .await
            .iter()
            .filter_map(|item| {
                item.get("sessions")?
                    .as_m()
                    .ok()?
                    .get("click-99")?
                    .as_m()
                    .ok()
            })
            .map(|request| request.get("metered").and_then(|m| m.as_bool().ok()) == Some(&false))
            .collect();
        assert_eq!(
            pending,
            [true],
            "the request is stored, its meter event unsent"
        );
    } else {
        assert_eq!(
            stack.items().await,
            table,
            "{method} {prefix}: nothing written after a persistent failure"
        );
    }
    injected
}

#[tokio::test]
async fn customer_create_survives_stripe_faults() {
    let stack = Stack::start(Options::provisioned()).await;
    let app = stack.app;
    let email = |n: usize| format!("fault{n}@example.com");
    let injected = survives_faults(
        &stack,
        "POST",
        "/v1/customers",
        Some("customer"),
        async |n| {
            let body = json!({ "email": email(n) }).to_string();
            Route::SignUp
                .call(app, request("POST", "/users", &[], &[], body.into()))
                .await
        },
    )
    .await;
    // The one that failed for good: signing up again works, with one Customer.
    let user = sign_up(app, &email(99)).await;
    let listed = stack
        .stripe_get(&format!("/customers?email={}", email(99)))
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed["data"][0]["id"], user.id.as_str());
    for n in 0..4 {
        let listed = stack
            .stripe_get(&format!("/customers?email={}", email(n)))
            .await;
        assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{}", email(n));
    }
    eprintln!("customer create: {injected} faults survived");
}

#[tokio::test]
async fn checkout_session_create_survives_stripe_faults() {
    let stack = Stack::start(Options::provisioned()).await;
    let (app, catalog) = (stack.app, stack.catalog().clone());
    let user = sign_up(app, "checkout-faults@example.com").await;
    let body = json!({ "price": catalog.monthly_price.id }).to_string();
    survives_faults(
        &stack,
        "POST",
        "/v1/checkout/sessions",
        Some("checkout.session"),
        async |_| call_as(app, Route::Checkout, &user, &[], &[], &body).await,
    )
    .await;
    let sessions = stack
        .stripe_get(&format!(
            "/checkout/sessions?customer={}&limit=100",
            user.id
        ))
        .await;
    assert_eq!(
        sessions["data"].as_array().unwrap().len(),
        4,
        "one session per successful click"
    );
}

#[tokio::test]
async fn portal_session_create_survives_stripe_faults() {
    let stack = Stack::start(Options::provisioned()).await;
    let app = stack.app;
    let user = sign_up(app, "portal-faults@example.com").await;
    survives_faults(
        &stack,
        "POST",
        "/v1/billing_portal/sessions",
        Some("billing_portal.session"),
        async |_| call_as(app, Route::Portal, &user, &[], &[], "").await,
    )
    .await;
}

#[tokio::test]
async fn meter_event_create_survives_stripe_faults() {
    let stack = Stack::start(Options::provisioned()).await;
    let (app, catalog) = (stack.app, stack.catalog().clone());
    let (user, _) = stack
        .signed_subscriber("meter-faults@example.com", &catalog.ondemand_price.id)
        .await;
    let key = |n: usize| format!("click-{n}");
    survives_faults(
        &stack,
        "POST",
        "/v1/billing/meter_events",
        None,
        async |n| devchat_kit::arrange(app, &user, &key(n)).await,
    )
    .await;
    assert_eq!(
        stack.meter_total(&user.id).await,
        4,
        "one unit per click that went through"
    );
    // The click that failed for good, clicked again: counted once, however often.
    for _ in 0..3 {
        let answer = devchat_kit::arrange(app, &user, &key(99)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.body["usageRecord"], key(99));
    }
    assert_eq!(stack.meter_total(&user.id).await, 5);
}

#[tokio::test]
async fn checkout_session_retrieve_survives_stripe_faults() {
    let stack = Stack::start(Options::provisioned()).await;
    let (app, catalog) = (stack.app, stack.catalog().clone());
    let (user, session_id) = stack
        .signed_subscriber("retrieve-faults@example.com", &catalog.monthly_price.id)
        .await;
    let before = app.store.get_user(&user.id).await.unwrap();
    survives_faults(&stack, "GET", "/v1/checkout/sessions/", None, async |_| {
        call_as(
            app,
            Route::GetUser,
            &user,
            &[("session_id", &session_id)],
            &[],
            "",
        )
        .await
    })
    .await;
    // The same subscription, recorded again (only its read time moves on).
    let key = |user: Option<devchat::model::User>| {
        user.and_then(|u| u.subscription)
            .map(|s| (s.id, s.status, s.kind))
    };
    assert_eq!(
        key(app.store.get_user(&user.id).await.unwrap()),
        key(before),
        "the user's record is intact"
    );
}
