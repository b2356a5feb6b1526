//! The Customer Portal and webhooks end to end: the real emulator (hosted Checkout
//! and Portal pages), moto server, and the official Stripe CLI (`stripe listen`)
//! forwarding the emulator's events to the webhook function over HTTP.

use std::time::{Duration, Instant};

use devchat::model::{Subscription, User};
use devchat_kit::{
    Answer, CARD_CHARGE_FAILS, CARD_OK, Listen, Options, Route, Stack, browser_request, sign_up,
};

/// A monthly subscriber in trial who paid with `card`, on a stack whose events reach
/// the app through `stripe listen`.
async fn trialing_subscriber(email: &str, card: &str) -> (Stack, Listen, User, Subscription) {
    let stack = Stack::start(Options::provisioned()).await;
    let listen = stack.listen().await;
    let monthly = stack.catalog().monthly_price.id.clone();
    let user = stack.subscriber(email, &monthly, card).await;
    let sub = user.subscription.clone().expect("a subscription");
    assert_eq!(sub.status, "trialing");
    (stack, listen, user, sub)
}

/// `POST /users/portal` from a browser signed in as `user_id` (none: no `user_id`).
async fn portal(stack: &Stack, user_id: Option<&str>, body: &str) -> Answer {
    let query: Vec<(&str, &str)> = user_id.map(|id| ("user_id", id)).into_iter().collect();
    let req = browser_request("POST", "/users/portal", &query, &[], body);
    Route::Portal.call(stack.app, req).await
}

#[tokio::test]
async fn portal_session_for_the_user_with_our_configuration() {
    let stack = Stack::start(Options::provisioned()).await;
    let user = sign_up(stack.app, "portal@example.com").await;
    let body = r#"{"priceType":"monthly"}"#;
    let Answer {
        status,
        body: answer,
        ..
    } = portal(&stack, Some(&user.id), body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["configuration"],
        stack.catalog().portal_configuration_id.as_str()
    );
    let url = answer["url"].as_str().unwrap();
    assert!(url.starts_with(stack.emulator.url()), "{url}");

    // What the emulator received: our customer, configuration and return URL.
    let sessions: Vec<_> = stack
        .emulator
        .requests()
        .await
        .expect("emulator")
        .into_iter()
        .filter(|r| r["path"] == "/v1/billing_portal/sessions")
        .collect();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let params = sessions[0]["params"].to_string();
    for expected in [
        user.id.as_str(),
        stack.catalog().portal_configuration_id.as_str(),
        "http://127.0.0.1:9000/dashboard",
    ] {
        assert!(params.contains(expected), "{expected} not in {params}");
    }

    // Unknown user → 404; a body that isn't JSON → 400; no user_id → 400.
    let Answer { status, .. } = portal(&stack, Some("cus_nobody"), "").await;
    assert_eq!(status, 404);
    let Answer {
        status,
        body: answer,
        ..
    } = portal(&stack, Some(&user.id), "{oops").await;
    assert_eq!(status, 400, "{answer}");
    let Answer { status, .. } = portal(&stack, None, "").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn portal_cancel_reaches_our_record_through_the_stripe_cli() {
    let (stack, listen, user, sub) = trialing_subscriber("cancel@example.com", CARD_OK).await;

    let Answer {
        status,
        body: portal,
        ..
    } = portal(&stack, Some(&user.id), "").await;
    assert_eq!(status, 200, "{portal}");
    let url = portal["url"].as_str().unwrap();
    // The hosted portal: its cancel step, then confirm.
    let page = stack
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("cancel-subscription"),
        "no cancel link on the portal page"
    );
    let cancel = format!("{url}/subscriptions/{}/cancel", sub.id);
    let confirmed = stack
        .http
        .post(&cancel)
        .form(&[("confirm", "1")])
        .send()
        .await
        .unwrap();
    assert!(
        confirmed.status().is_success() || confirmed.status().is_redirection(),
        "{}",
        confirmed.status()
    );
    let clicked = Instant::now();

    stack
        .wait_for_status(&user.id, "canceled", Duration::from_secs(3))
        .await;
    eprintln!("canceled recorded {:?} after the click", clicked.elapsed());
    listen
        .wait_for("customer.subscription.deleted", Duration::from_secs(1))
        .await;
    listen.assert_all_acknowledged();
}

#[tokio::test]
async fn a_failed_payment_after_an_early_trial_end_is_recorded_past_due() {
    let (stack, listen, user, sub) =
        trialing_subscriber("declined@example.com", CARD_CHARGE_FAILS).await;

    stack
        .stripe_post(
            &format!("/subscriptions/{}", sub.id),
            &[("trial_end", "now")],
        )
        .await;

    stack
        .wait_for_status(&user.id, "past_due", Duration::from_secs(3))
        .await;
    listen
        .wait_for("invoice.payment_failed", Duration::from_secs(2))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    listen.assert_all_acknowledged();
}
