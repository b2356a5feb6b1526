//! "Arrange session" as a session request the owner receives, against the real
//! emulator and moto server (DynamoDB and SES): each request stored once, emailed to
//! OWNER_EMAIL naming the customer; on demand one meter unit each; monthly one per
//! billing period and no meter event; nothing arranged while a payment has failed.

use devchat::{
    model::Subscription,
    store::Store,
    usage::{PAYMENT_FAILED, period_taken},
};
use devchat_kit::{OWNER_EMAIL, Options, Route, Stack, browser_request};
use serde_json::Value;

async fn click(stack: &Stack, user_id: &str, key: &str) -> (u16, Value) {
    let req = browser_request(
        "POST",
        "/offerings/paircode/schedule",
        &[("user_id", user_id)],
        &[("Idempotency-Key", key)],
        "",
    );
    let answer = Route::Schedule.call(stack.app, req).await;
    (answer.status, answer.body)
}

async fn billing(stack: &Stack, user_id: &str) -> Value {
    let req = browser_request("GET", "/users", &[("user_id", user_id)], &[], "");
    let answer = Route::GetUser.call(stack.app, req).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["user"]["billing"].clone()
}

async fn meter_events(stack: &Stack) -> usize {
    stack
        .emulator
        .requests()
        .await
        .expect("emulator")
        .iter()
        .filter(|r| r["path"] == "/v1/billing/meter_events" && r["status"] == 200)
        .count()
}

#[tokio::test]
async fn three_on_demand_requests_are_three_units_and_three_emails_to_the_owner() {
    let stack = Stack::start(Options::provisioned()).await;
    let email = "ada-sessions@example.com";
    let user = stack.ondemand_subscriber(email).await;
    for n in 0..3 {
        let (status, body) = click(&stack, &user.id, &format!("od-{n}")).await;
        assert_eq!(
            (status, body["usageRecord"].as_str()),
            (200, Some(format!("od-{n}").as_str())),
            "{body}"
        );
    }
    // A retried click: stored, billed and emailed once.
    assert_eq!(click(&stack, &user.id, "od-2").await.0, 200);
    assert_eq!(stack.meter_total(&user.id).await, 3);

    let mail = stack.mail_to(OWNER_EMAIL).await;
    assert_eq!(mail.len(), 3, "{mail:#?}");
    for (n, message) in mail.iter().enumerate() {
        assert!(message.subject.contains(email), "{message:?}");
        for expected in [
            format!("Customer: {email}"),
            "Plan: on demand, $80.00 per session".to_owned(),
            format!("Sessions arranged this period: {}", n + 1),
            "Asked at: 20".to_owned(),
        ] {
            assert!(
                message.body.contains(&expected),
                "{expected}: {}",
                message.body
            );
        }
    }

    let billing = billing(&stack, &user.id).await;
    let period_end = billing["periodEnd"].as_i64().expect("a period");
    assert!(
        billing["periodStart"].as_i64().unwrap() < period_end,
        "{billing}"
    );
    assert_eq!(billing["trialEnd"], Value::Null);
    assert_eq!(billing["nextCharge"]["amount"], 24_000, "{billing}");
    assert_eq!(billing["nextCharge"]["currency"], "usd");
    assert_eq!(billing["nextCharge"]["at"], period_end);
    let ids: Vec<&str> = billing["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{billing}");
    assert!(
        billing["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["status"] == "recorded")
    );
    let stored = stack.user(&user.id).await;
    assert!(
        stored.sessions.values().all(|s| s.metered && s.notified),
        "{stored:?}"
    );
    assert!(
        stack.app.store.get_user(&user.id).await.unwrap().is_some(),
        "the user is still there"
    );
}

#[tokio::test]
async fn a_monthly_subscriber_has_one_session_a_period_and_no_meter_event() {
    let stack = Stack::start(Options::provisioned()).await;
    let email = "monthly-sessions@example.com";
    let user = stack.monthly_subscriber(email).await;
    let (status, body) = click(&stack, &user.id, "monthly-1").await;
    assert_eq!(status, 200, "{body}");
    // The same click retried: the same request, 200.
    assert_eq!(click(&stack, &user.id, "monthly-1").await.0, 200);
    // A second request in the period: refused, with the reason.
    let (status, body) = click(&stack, &user.id, "monthly-2").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["message"], period_taken().as_str());
    assert_eq!(meter_events(&stack).await, 0, "no meter event for monthly");

    let mail = stack.mail_to(OWNER_EMAIL).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert!(mail[0].body.contains("Plan: monthly"), "{}", mail[0].body);
    assert!(mail[0].body.contains(email), "{}", mail[0].body);

    let billing = billing(&stack, &user.id).await;
    let trial_end = billing["trialEnd"].as_i64().expect("a trial");
    assert_eq!(billing["nextCharge"]["amount"], 6_000, "{billing}");
    assert_eq!(
        billing["nextCharge"]["at"], trial_end,
        "charged when the trial ends"
    );
    assert_eq!(billing["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(billing["sessions"][0]["id"], "monthly-1");
    assert_eq!(billing["sessions"][0]["status"], "included");
}

#[tokio::test]
async fn nothing_is_arranged_while_a_payment_has_failed() {
    let stack = Stack::start(Options::provisioned()).await;
    let user = stack.ondemand_subscriber("late-payer@example.com").await;
    let subscription = user.subscription.clone().unwrap();
    for (n, status) in ["past_due", "unpaid", "incomplete"].into_iter().enumerate() {
        let state = Subscription {
            status: status.into(),
            as_of: subscription.as_of.map(|t| t + 10 * (n as i64 + 1)),
            ..subscription.clone()
        };
        assert!(
            stack
                .app
                .store
                .save_subscription(&user.id, &state)
                .await
                .unwrap()
        );
        let (code, body) = click(&stack, &user.id, &format!("late-{n}")).await;
        assert_eq!(code, 409, "{status}: {body}");
        assert_eq!(body["error"]["message"], PAYMENT_FAILED, "{status}");
    }
    assert_eq!(meter_events(&stack).await, 0);
    assert!(stack.mail_to(OWNER_EMAIL).await.is_empty());
    assert!(
        stack.user(&user.id).await.sessions.is_empty(),
        "nothing stored"
    );
}

/// The user's record keeps what the dashboard and the rules need: a click drops, in its
/// own write, the settled requests of earlier periods asked more than two days ago
/// (`billing::SESSION_KEPT_SECONDS`); this period's, recent ones (a retried click may
/// still come) and ones with something left to send stay.
#[tokio::test]
async fn a_click_prunes_the_requests_nothing_needs_any_more() {
    use devchat::{
        billing::SESSION_KEPT_SECONDS,
        model::{SessionRequest, SubscriptionType},
        store::BillingStore,
    };
    let stack = Stack::start(Options::provisioned()).await;
    let user = stack.ondemand_subscriber("prune@example.com").await;
    let period = stack
        .user(&user.id)
        .await
        .subscription
        .unwrap()
        .period
        .unwrap();
    let now = devchat_kit::now();
    let request = |id: &str, period_start: i64, requested_at: i64, settled: bool| SessionRequest {
        id: id.into(),
        requested_at,
        kind: SubscriptionType::Ondemand,
        period_start: Some(period_start),
        metered: settled,
        notified: settled,
        mail_claim: None,
        mail_claim_by: None,
    };
    let long_ago = now - SESSION_KEPT_SECONDS - 60;
    let month = 30 * 86_400;
    let earlier = [
        request(
            "old-1",
            period.start - 3 * month,
            long_ago - 2 * month,
            true,
        ),
        request("old-2", period.start - 2 * month, long_ago - month, true),
        request("old-3", period.start - month, long_ago, true),
        request("recent", period.start - month, now - 3_600, true),
        request("this-period", period.start, long_ago, true),
    ];
    for stored in &earlier {
        let added = stack
            .app
            .store
            .add_session(&user.id, stored, false, &[])
            .await;
        assert_eq!(added.expect("stored"), devchat::store::SessionAdded::New);
    }
    let (status, body) = click(&stack, &user.id, "now-1").await;
    assert_eq!(status, 200, "{body}");
    let kept: Vec<String> = stack.user(&user.id).await.sessions.into_keys().collect();
    assert_eq!(kept, ["now-1", "recent", "this-period"]);
    let shown = billing(&stack, &user.id).await["sessions"].clone();
    let shown: Vec<&str> = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        shown,
        ["now-1", "this-period"],
        "the dashboard shows this period's"
    );
}
