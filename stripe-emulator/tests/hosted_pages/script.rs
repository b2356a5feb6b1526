//! The forms as the pages' script sends them (`Accept: application/json`): the JSON
//! answers — where to go, or Stripe's error with each field's message — and that a
//! refused attempt changes nothing while a corrected one, or a double submit, pays once.

use serde_json::json;

use super::*;

/// Sends a form the way `hosted.js` does; the answer is always JSON.
async fn send(url: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = browser()
        .post(url)
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    (status, res.json().await.unwrap())
}

/// The names of the fields an answer marks, in order.
fn field_names(answer: &Value) -> Vec<&str> {
    answer["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("no fields in {answer}"))
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

async fn session_status(emu: &Emu, s: &Value) -> Value {
    emu.get(&format!("/v1/checkout/sessions/{}", id(s)))
        .await
        .ok()["status"]
        .clone()
}

#[tokio::test]
async fn checkout_loads_its_script_and_carries_the_confirm_delay() {
    let emu = Emu::start().await;
    let (_, s) = trial_checkout(&emu, "script%40example.com").await;
    let page = open(s["url"].as_str().unwrap()).await;
    page.assert_has(&[
        r#"<script src="/assets/hosted.js" defer></script>"#,
        r#"data-confirm-delay-ms="0""#,
    ]);
    assert!(!page.has("<script>"), "no inline script");
    let res = browser()
        .get(format!("{}/assets/hosted.js", emu.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/javascript"), "content type {ct}");
    let script = res.text().await.unwrap();
    for part in [
        "fetch(",
        "application/json",
        "location.assign",
        "confirmDelayMs",
    ] {
        assert!(script.contains(part), "the script lacks {part}");
    }
}

#[tokio::test]
async fn mistakes_and_a_decline_come_back_inline_then_a_corrected_card_pays() {
    let emu = Emu::start().await;
    let (cus, s) = trial_checkout(&emu, "inline%40example.com").await;
    let url = s["url"].as_str().unwrap();

    let (status, answer) = send(
        url,
        &[
            ("cardNumber", "4242 4242 4242 4242"),
            ("cardExpiry", "13 / 34"),
            ("cardCvc", ""),
            ("billingName", "Ada Lovelace"),
            ("billingCountry", "US"),
            ("billingPostalCode", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        field_names(&answer),
        ["cardExpiry", "cardCvc", "billingPostalCode"]
    );
    assert_eq!(
        answer["fields"][1]["message"],
        "Your card's security code is incomplete."
    );
    assert_eq!(answer["error"]["type"], "validation_error");
    assert_eq!(
        answer["error"]["message"],
        "Your card's expiration date is invalid."
    );
    assert_eq!(answer["error"]["param"], "cardExpiry");
    assert_eq!(answer.get("redirect_url"), None);

    // A number that fails the checksum is the card number's own error.
    let (status, answer) = send(url, &card_form("4242 4242 4242 4241")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{answer}");
    assert_eq!(field_names(&answer), ["cardNumber"]);
    assert_eq!(
        answer["fields"][0]["message"],
        "Your card number is incorrect."
    );

    let events_before = emu.event_types().await.len();
    let (status, answer) = send(url, &card_form("4000 0000 0000 0002")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(field_names(&answer), Vec::<&str>::new());
    assert_eq!(answer["error"]["type"], "card_error");
    assert_eq!(answer["error"]["code"], "card_declined");
    assert_eq!(answer["error"]["message"], "Your card was declined.");
    assert_eq!(session_status(&emu, &s).await, "open");
    assert!(subscriptions_of(&emu, &cus).await.is_empty());
    assert_eq!(emu.event_types().await.len(), events_before, "no events");

    let (status, answer) = send(url, &card_form("4242 4242 4242 4242")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({ "redirect_url": format!("https://app.test/done?session={}", id(&s)) })
    );
    assert_eq!(session_status(&emu, &s).await, "complete");
    let subs = subscriptions_of(&emu, &cus).await;
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["status"], "trialing");
}

#[tokio::test]
async fn a_double_submit_starts_one_subscription_and_both_go_to_success_url() {
    let emu = Emu::start().await;
    let (cus, s) = monthly_checkout(&emu, "twice%40example.com").await;
    let url = s["url"].as_str().unwrap();
    let form = card_form("4242 4242 4242 4242");
    let (first, second) = tokio::join!(send(url, &form), send(url, &form));
    let success = json!({ "redirect_url": format!("https://app.test/done?session={}", id(&s)) });
    for (status, answer) in [first, second] {
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer, success);
    }
    // A retry after the answer was lost goes to the same place, and pays nothing more.
    let (status, answer) = send(url, &form).await;
    assert_eq!((status, answer), (StatusCode::OK, success));
    let subs = subscriptions_of(&emu, &cus).await;
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert_eq!(subs[0]["status"], "active");
    let invoices = emu.get(&format!("/v1/invoices?customer={cus}")).await.ok();
    assert_eq!(invoices["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn expired_and_unknown_sessions_answer_stripe_errors() {
    let emu = Emu::start().await;
    let s = expired_session(&emu, "gone%40example.com").await;
    let form = card_form("4242424242424242");
    let (status, answer) = send(s["url"].as_str().unwrap(), &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "checkout_session_inactive");
    assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    assert_eq!(session_status(&emu, &s).await, "expired");

    let (status, answer) = send(&format!("{}/c/pay/cs_test_nope", emu.base), &form).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn portal_actions_answer_where_the_page_goes_next() {
    let emu = Emu::start().await;
    let (url, cus, sub) = portal(&emu, ALL_FEATURES).await;
    let home = url.strip_prefix(&emu.base).unwrap().to_string();

    let pm_url = format!("{url}/payment-method");
    let (status, answer) = send(&pm_url, &card_form("4242")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(field_names(&answer), ["cardNumber"]);
    let (status, answer) = send(&pm_url, &card_form("4000000000000002")).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(answer["error"]["message"], "Your card was declined.");
    let (status, answer) = send(&pm_url, &card_form("5555 5555 5555 4444")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({ "redirect_url": format!("{home}?notice=payment_method_updated") })
    );
    let customer = emu.get(&format!("/v1/customers/{cus}")).await.ok();
    let pm = customer["invoice_settings"]["default_payment_method"]
        .as_str()
        .unwrap();
    let pm = emu.get(&format!("/v1/payment_methods/{pm}")).await.ok();
    assert_eq!(pm["card"]["last4"], "4444");

    let (status, answer) = send(&format!("{url}/subscriptions/{sub}/cancel"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({ "redirect_url": format!("{home}?notice=canceled") })
    );
    let sub_now = emu.get(&format!("/v1/subscriptions/{sub}")).await.ok();
    assert_eq!(sub_now["status"], "canceled");

    // Gone now: the same cancel is not found, in Stripe's shape.
    let (status, answer) = send(&format!("{url}/subscriptions/{sub}/cancel"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn portal_features_that_are_off_are_refused_as_json() {
    let emu = Emu::start().await;
    let (url, cus, sub) = portal(&emu, NO_FEATURES).await;
    let (status, answer) = send(&format!("{url}/subscriptions/{sub}/cancel"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not enabled")
    );
    let (status, _) = send(
        &format!("{url}/payment-method"),
        &card_form("5555555555554444"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(subscriptions_of(&emu, &cus).await[0]["status"], "active");
}
