//! On-demand pair coding end to end against the real emulator and moto server:
//! subscribing through the hosted Checkout page, "Arrange session" clicks becoming
//! meter events (once per Idempotency-Key), the 409 for non-subscribers, and the
//! renewal invoice billing the usage when the emulator's clock passes the period end.

use devchat_kit::{Options, Route, Stack, browser_request, sign_up};
use serde_json::Value;

async fn click(stack: &Stack, user_id: &str, key: Option<&str>) -> (u16, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    let req = browser_request(
        "POST",
        "/offerings/paircode/schedule",
        &[("user_id", user_id)],
        &headers,
        "",
    );
    let answer = Route::Schedule.call(stack.app, req).await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn on_demand_checkout_has_no_trial_and_one_metered_item() {
    let stack = Stack::start(Options::provisioned()).await;
    let user = stack.ondemand_subscriber("od-checkout@example.com").await;
    let sub = user.subscription.unwrap();
    assert_eq!(serde_json::to_value(sub.kind).unwrap(), "ondemand");
    assert_eq!(sub.status, "active");

    let stripe_sub = stack
        .stripe_get(&format!("/subscriptions/{}", sub.id))
        .await;
    assert!(stripe_sub["trial_end"].is_null(), "{stripe_sub}");
    assert_eq!(
        stripe_sub["metadata"]["challenge_id"],
        stack.app.config.challenge_id.as_str()
    );
    let items = stripe_sub["items"]["data"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["price"]["id"],
        stack.catalog().ondemand_price.id.as_str()
    );
    assert_eq!(items[0]["price"]["recurring"]["usage_type"], "metered");
    assert!(
        items[0].get("quantity").is_none_or(Value::is_null),
        "a metered item has no quantity: {}",
        items[0]
    );
}

#[tokio::test]
async fn each_click_is_one_unit_and_a_retried_click_counts_once() {
    let stack = Stack::start(Options::provisioned()).await;
    let user = stack.ondemand_subscriber("od-clicks@example.com").await;

    let mut records = Vec::new();
    for _ in 0..3 {
        let (status, answer) = click(&stack, &user.id, None).await;
        assert_eq!(status, 200, "{answer}");
        records.push(answer["usageRecord"].as_str().unwrap().to_string());
    }
    records.dedup();
    assert_eq!(records.len(), 3, "each click gets its own identifier");
    assert_eq!(stack.meter_total(&user.id).await, 3);

    // One click retried three times with its Idempotency-Key: one unit, one identifier.
    for _ in 0..3 {
        let (status, answer) = click(&stack, &user.id, Some("click-7f3a9c")).await;
        assert_eq!(
            (status, answer["usageRecord"].as_str()),
            (200, Some("click-7f3a9c")),
            "{answer}"
        );
    }
    assert_eq!(stack.meter_total(&user.id).await, 4);

    // A malformed key is refused before anything is recorded.
    let (status, answer) = click(&stack, &user.id, Some("no spaces allowed")).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(stack.meter_total(&user.id).await, 4);
}

#[tokio::test]
async fn non_subscribers_get_409_and_nothing_is_recorded() {
    let stack = Stack::start(Options::provisioned()).await;
    let nobody = sign_up(stack.app, "od-none@example.com").await;
    let (status, answer) = click(&stack, &nobody.id, None).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no subscription"),
        "{answer}"
    );

    let (status, _) = click(&stack, "cus_unknown", None).await;
    assert_eq!(status, 404);

    let events: Vec<_> = stack
        .emulator
        .requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r["path"] == "/v1/billing/meter_events")
        .collect();
    assert!(events.is_empty(), "meter events were sent: {events:?}");
    assert!(stack.user(&nobody.id).await.sessions.is_empty());
}

#[tokio::test]
async fn the_renewal_invoice_bills_the_sessions() {
    let stack = Stack::start(Options::provisioned()).await;
    let ondemand = stack.ondemand_subscriber("od-renew@example.com").await;
    let monthly = stack.monthly_subscriber("m-renew@example.com").await;
    for n in 0..3 {
        assert_eq!(
            click(&stack, &ondemand.id, Some(&format!("renew-{n}")))
                .await
                .0,
            200
        );
    }

    // Past the end of the first month (and of the monthly plan's 3-day trial).
    stack
        .emulator
        .advance(32 * 86_400)
        .await
        .expect("the clock");

    // The amounts billed after the first invoice (the renewal), per customer.
    for (customer, amount) in [(&ondemand.id, 24_000), (&monthly.id, 6_000)] {
        let invoices = stack
            .stripe_get(&format!("/invoices?customer={customer}"))
            .await;
        let billed: Vec<i64> = invoices["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["billing_reason"] != "subscription_create")
            .map(|i| i["amount_due"].as_i64().unwrap())
            .collect();
        assert!(billed.contains(&amount), "{invoices}");
    }
}
