//! `POST /webhook` called in-process with lambda_http requests, against the real
//! emulator and moto server: signature checks (nothing written on failure),
//! duplicates, out-of-order and same-second deliveries, unknown events and
//! customers, base64 bodies, and a storage failure answered 5xx.

use devchat::store::Store;
use devchat_kit::{Answer, Options, Route, Stack, WEBHOOK_SECRET, browser_request, sign_up};
use lambda_http::Body;
use serde_json::Value;
use stripe_webhook::Webhook;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A `customer.subscription.*` event as Stripe sends it.
fn subscription_event(
    kind: &str,
    created: i64,
    customer: &str,
    sub: &str,
    status: &str,
    price: &str,
    usage: &str,
) -> String {
    let object = devchat_kit::subscription(sub, customer, status, price, usage);
    devchat_kit::event(kind, created, object)
}

async fn deliver(stack: &Stack, payload: &str, signature: Option<&str>) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = signature
        .map(|s| ("Stripe-Signature", s))
        .into_iter()
        .collect();
    let req = browser_request("POST", "/webhook", &[], &headers, payload);
    let answer = Route::Webhook.call(stack.app, req).await;
    (answer.status, answer.body)
}

async fn deliver_signed(stack: &Stack, payload: &str) -> (u16, Value) {
    let answer = devchat_kit::deliver(stack.app, payload).await;
    (answer.status, answer.body)
}

/// The `outcome` of a signed delivery of `payload`, which must be accepted.
async fn outcome(stack: &Stack, payload: &str) -> String {
    let (status, answer) = deliver_signed(stack, payload).await;
    assert_eq!(status, 200, "{answer}");
    answer["outcome"].as_str().unwrap_or_default().to_owned()
}

async fn status_of(stack: &Stack, user: &str) -> Option<String> {
    stack.user(user).await.subscription.map(|s| s.status)
}

#[tokio::test]
async fn only_authentic_events_change_anything() {
    let stack = Stack::start(Options::provisioned()).await;
    let user = sign_up(stack.app, "sig@example.com").await;
    let monthly = stack.catalog().monthly_price.id.clone();
    let payload = subscription_event(
        "customer.subscription.created",
        now(),
        &user.id,
        "sub_sig",
        "trialing",
        &monthly,
        "licensed",
    );
    let good = Webhook::generate_test_header(&payload, WEBHOOK_SECRET, None);
    let (t, good_v1) = good.split_once(',').unwrap();
    let other_v1 = Webhook::generate_test_header(&payload, "whsec_not_ours", None)
        .split_once(',')
        .unwrap()
        .1
        .to_string();

    let altered = payload.replacen("trialing", "trialinf", 1);
    let wrong_secret = Webhook::generate_test_header(&payload, "whsec_not_ours", None);
    let stale = Webhook::generate_test_header(&payload, WEBHOOK_SECRET, Some(now() - 301));
    let bad: [(&str, &str, Option<&str>, &str); 5] = [
        (
            "body altered by one byte",
            &altered,
            Some(&good),
            "No signatures found matching the expected signature for payload",
        ),
        (
            "wrong secret",
            &payload,
            Some(&wrong_secret),
            "No signatures found matching the expected signature for payload",
        ),
        (
            "timestamp older than the tolerance",
            &payload,
            Some(&stale),
            "Timestamp outside the tolerance zone",
        ),
        (
            "malformed header",
            &payload,
            Some("this is not a signature"),
            "Unable to extract timestamp and signatures from header",
        ),
        (
            "header missing",
            &payload,
            None,
            "No Stripe-Signature header value was provided.",
        ),
    ];
    for (case, body, signature, message) in bad {
        let (status, answer) = deliver(&stack, body, signature).await;
        assert_eq!(status, 400, "{case}: {answer}");
        assert_eq!(answer["error"]["message"], message, "{case}");
        assert_eq!(
            status_of(&stack, &user.id).await,
            None,
            "{case} wrote something"
        );
    }

    // Several v1 entries, one of them valid (key rotation): accepted.
    let rotated = format!("{t},{other_v1},{good_v1}");
    let (status, answer) = deliver(&stack, &payload, Some(&rotated)).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("updated")),
        "{answer}"
    );
    let sub = stack.user(&user.id).await.subscription.unwrap();
    assert_eq!(
        (sub.id.as_str(), sub.status.as_str()),
        ("sub_sig", "trialing")
    );
    assert_eq!(serde_json::to_value(sub.kind).unwrap(), "monthly");
}

#[tokio::test]
async fn base64_bodies_are_verified_after_decoding() {
    let stack = Stack::start(Options::provisioned()).await;
    let user = sign_up(stack.app, "b64@example.com").await;
    let payload = subscription_event(
        "customer.subscription.created",
        now(),
        &user.id,
        "sub_b64",
        "active",
        &stack.catalog().ondemand_price.id,
        "metered",
    );
    let signature = Webhook::generate_test_header(&payload, WEBHOOK_SECRET, None);
    // lambda_http hands a body API Gateway marked isBase64Encoded over as Body::Binary, decoded.
    let mut req = browser_request(
        "POST",
        "/webhook",
        &[],
        &[("Stripe-Signature", &signature)],
        "",
    );
    *req.body_mut() = Body::Binary(payload.clone().into_bytes());
    let Answer {
        status,
        body: answer,
        ..
    } = Route::Webhook.call(stack.app, req).await;
    assert_eq!(status, 200, "{answer}");
    let sub = stack.user(&user.id).await.subscription.unwrap();
    assert_eq!(serde_json::to_value(sub.kind).unwrap(), "ondemand");
}

#[tokio::test]
async fn duplicates_and_late_deliveries_never_overwrite_newer_state() {
    let stack = Stack::start(Options::provisioned()).await;
    let user = sign_up(stack.app, "order@example.com").await;
    let price = stack.catalog().monthly_price.id.clone();
    let t = now();
    let event = |kind: &str, created: i64, status: &str| {
        subscription_event(
            kind,
            created,
            &user.id,
            "sub_order",
            status,
            &price,
            "licensed",
        )
    };
    let created = event("customer.subscription.created", t - 10, "trialing");
    let updated = event("customer.subscription.updated", t - 5, "active");
    let deleted = event("customer.subscription.deleted", t, "canceled");
    let late_update = event("customer.subscription.updated", t - 2, "past_due");

    // `updated` before `created`: the older `created` changes nothing.
    assert_eq!(outcome(&stack, &updated).await, "updated");
    assert_eq!(outcome(&stack, &created).await, "unchanged");
    assert_eq!(status_of(&stack, &user.id).await.as_deref(), Some("active"));

    // The same event twice: the second changes nothing.
    assert_eq!(outcome(&stack, &updated).await, "unchanged");

    // `deleted`, then a late `updated`: the newest state stays.
    assert_eq!(outcome(&stack, &deleted).await, "updated");
    assert_eq!(outcome(&stack, &late_update).await, "unchanged");
    assert_eq!(
        status_of(&stack, &user.id).await.as_deref(),
        Some("canceled")
    );
    assert_eq!(
        stack.user(&user.id).await.subscription.unwrap().as_of,
        Some(t)
    );
}

#[tokio::test]
async fn events_of_the_same_second_converge_in_either_order() {
    let stack = Stack::start(Options::provisioned()).await;
    let price = stack.catalog().monthly_price.id.clone();
    let t = now();
    for (n, order) in [[0, 1, 2], [2, 1, 0], [1, 2, 0]].into_iter().enumerate() {
        let user = sign_up(stack.app, &format!("same-second-{n}@example.com")).await;
        let events = [
            ("customer.subscription.created", "incomplete"),
            ("customer.subscription.updated", "active"),
            ("customer.subscription.updated", "past_due"),
        ]
        .map(|(kind, status)| {
            subscription_event(kind, t, &user.id, "sub_same", status, &price, "licensed")
        });
        for i in order {
            assert_eq!(deliver_signed(&stack, &events[i]).await.0, 200);
        }
        assert_eq!(
            status_of(&stack, &user.id).await.as_deref(),
            Some("past_due"),
            "order {order:?}"
        );
    }
}

#[tokio::test]
async fn unknown_events_and_customers_are_acknowledged() {
    let stack = Stack::start(Options::provisioned()).await;
    let other_type = devchat_kit::event(
        "product.updated",
        now(),
        devchat_kit::stripe_object("product"),
    );
    let (status, answer) = deliver_signed(&stack, &other_type).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("ignored")),
        "{answer}"
    );

    let stranger = subscription_event(
        "customer.subscription.updated",
        now(),
        "cus_stranger",
        "sub_x",
        "active",
        "price_x",
        "licensed",
    );
    let (status, answer) = deliver_signed(&stack, &stranger).await;
    assert_eq!(
        (status, answer["outcome"].as_str()),
        (200, Some("unknown_customer")),
        "{answer}"
    );
    assert!(
        stack
            .app
            .store
            .get_user("cus_stranger")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_storage_failure_answers_5xx_so_stripe_retries() {
    let mut stack = Stack::start(Options::provisioned()).await;
    let user = sign_up(stack.app, "down@example.com").await;
    let payload = subscription_event(
        "customer.subscription.updated",
        now(),
        &user.id,
        "sub_down",
        "active",
        "price_x",
        "licensed",
    );
    stack.stop_database();
    let (status, answer) = deliver_signed(&stack, &payload).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "Our database is not answering; please try again."
    );
}
