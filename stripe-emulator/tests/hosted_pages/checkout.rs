//! Hosted Checkout without scripts: the form posts and its 303.

use super::*;

#[tokio::test]
async fn checkout_page_shows_the_offer_the_customer_and_every_test_hook() {
    let emu = Emu::start().await;
    let (monthly, metered, _) = emu.catalog().await;
    let cus = emu.customer("ada%40example.com").await;
    let s = trial_session(&emu, &monthly, &cus).await;
    let page = open(s["url"].as_str().unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_has(CHECKOUT_HOOKS);
    page.assert_has(&[
        "3 days free, then $60.00 per month",
        "Pair Coding",
        "ada@example.com",
        r#"href="https://app.test/back""#,
        "Start trial",
        "$0.00",
        "<style>",
    ]);
    assert!(
        !page.has("<link") && !page.has(r#"src="http"#),
        "nothing loaded from elsewhere"
    );

    // A metered price reads per unit of its product, billed by usage.
    let price = emu.get(&format!("/v1/prices/{metered}")).await.ok();
    emu.post(
        &format!("/v1/products/{}", price["product"].as_str().unwrap()),
        "unit_label=session",
    )
    .await
    .ok();
    let s = emu
        .session(&metered, None, &format!("&customer={cus}"))
        .await;
    let page = open(s["url"].as_str().unwrap()).await;
    page.assert_has(CHECKOUT_HOOKS);
    page.assert_has(&["$80.00 per session, billed monthly by usage", "Subscribe"]);
    assert!(!page.has("days free"));
}

#[tokio::test]
async fn paying_with_4242_completes_the_session_and_redirects_to_success_url() {
    let emu = Emu::start().await;
    let (cus, s) = trial_checkout(&emu, "pay%40example.com").await;
    let url = s["url"].as_str().unwrap();
    let paid = submit(url, &card_form("4242 4242 4242 4242")).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    assert_eq!(
        paid.location.as_deref(),
        Some(format!("https://app.test/done?session={}", id(&s)).as_str())
    );

    let s = emu
        .get(&format!("/v1/checkout/sessions/{}", id(&s)))
        .await
        .ok();
    assert_eq!(s["status"], "complete");
    let sub = emu
        .get(&format!(
            "/v1/subscriptions/{}",
            s["subscription"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(sub["status"], "trialing");
    assert_eq!(sub["customer"], cus.as_str());
    let pm = emu
        .get(&format!(
            "/v1/payment_methods/{}",
            sub["default_payment_method"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(pm["card"]["last4"], "4242");
    assert_eq!(pm["billing_details"]["name"], "Ada Lovelace");
    assert_eq!(pm["billing_details"]["address"]["postal_code"], "10001");

    // The link is spent: the page says so, and paying again changes nothing.
    let again = open(url).await;
    again.assert_has(&["This checkout is complete"]);
    assert!(!again.has("hosted-payment-submit-button"));
    let twice = submit(url, &card_form("4242424242424242")).await;
    assert_eq!(twice.location, None);
    assert_eq!(subscriptions_of(&emu, &cus).await.len(), 1);
}

#[tokio::test]
async fn a_card_whose_charges_fail_still_starts_a_trial_and_metered_plans_owe_nothing_now() {
    let emu = Emu::start().await;
    let (cus, s) = trial_checkout(&emu, "later%40example.com").await;
    let paid = submit(
        s["url"].as_str().unwrap(),
        &card_form("4000 0000 0000 0341"),
    )
    .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    assert_eq!(subscriptions_of(&emu, &cus).await[0]["status"], "trialing");

    let (_, metered, _) = emu.catalog().await;
    let cus = emu.customer("metered%40example.com").await;
    let s = emu
        .session(&metered, None, &format!("&customer={cus}"))
        .await;
    let page = open(s["url"].as_str().unwrap()).await;
    page.assert_has(&[r#"<span id="total-due-today">$0.00</span>"#]);
    let paid = submit(
        s["url"].as_str().unwrap(),
        &card_form("4242 4242 4242 4242"),
    )
    .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    let sub = &subscriptions_of(&emu, &cus).await[0];
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["items"]["data"][0]["price"]["id"], metered.as_str());
}

#[tokio::test]
async fn a_declined_card_is_shown_on_the_page_and_creates_nothing() {
    let emu = Emu::start().await;
    let (cus, s) = trial_checkout(&emu, "declined%40example.com").await;
    let events_before = emu.event_types().await.len();
    let page = submit(
        s["url"].as_str().unwrap(),
        &card_form("4000 0000 0000 0002"),
    )
    .await;
    assert_eq!(page.status, StatusCode::PAYMENT_REQUIRED);
    page.assert_has(&["Your card was declined.", r#"role="alert""#]);
    page.assert_has(CHECKOUT_HOOKS);
    page.assert_has(&[r#"value="Ada Lovelace""#, r#"value="4000 0000 0000 0002""#]);
    assert!(!page.has(r#"value="123""#), "the CVC is never echoed");

    let s = emu
        .get(&format!("/v1/checkout/sessions/{}", id(&s)))
        .await
        .ok();
    assert_eq!(s["status"], "open");
    assert_eq!(s["subscription"], Value::Null);
    assert!(subscriptions_of(&emu, &cus).await.is_empty());
    let pms = emu
        .get(&format!("/v1/payment_methods?customer={cus}&type=card"))
        .await
        .ok();
    assert_eq!(pms["data"], serde_json::json!([]));
    assert_eq!(emu.event_types().await.len(), events_before, "no events");
}

#[tokio::test]
async fn form_mistakes_are_shown_next_to_their_fields() {
    let emu = Emu::start().await;
    let (cus, s) = monthly_checkout(&emu, "typo%40example.com").await;
    let url = s["url"].as_str().unwrap();
    let page = submit(
        url,
        &[
            ("cardNumber", "4242 4242 4242 4242"),
            ("cardExpiry", "13 / 34"),
            ("cardCvc", ""),
            ("billingName", "Ada"),
            ("billingCountry", "US"),
            ("billingPostalCode", ""),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    page.assert_has(&[
        "Your card&#39;s expiration date is invalid.",
        "Your card&#39;s security code is incomplete.",
        "Your ZIP is incomplete.",
    ]);
    page.assert_has(CHECKOUT_HOOKS);

    // An expiry in the past (by the emulator's clock) and a wrong number.
    let mut form = card_form("4242 4242 4242 4241");
    let page = submit(url, &form).await;
    page.assert_has(&["Your card number is incorrect."]);
    form[0].1 = "4242 4242 4242 4242";
    form[1].1 = "01 / 20";
    let page = submit(url, &form).await;
    page.assert_has(&["Your card has expired."]);
    assert!(subscriptions_of(&emu, &cus).await.is_empty());

    // Outside the US there is no ZIP to give.
    form[1].1 = "12 / 34";
    form[4].1 = "FR";
    form[5].1 = "";
    let page = submit(url, &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.html);
}

#[tokio::test]
async fn without_a_customer_the_page_asks_for_the_email_and_creates_the_customer() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let s = emu.session(&monthly, Some(1), "").await;
    let url = s["url"].as_str().unwrap();
    let page = open(url).await;
    page.assert_has(&[r#"name="email" type="email" autocomplete="email""#]);
    assert!(!page.has("readonly class"));

    let missing = submit(url, &card_form("4242424242424242")).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    missing.assert_has(&["Your email is incomplete."]);

    let mut form = card_form("4242424242424242");
    form.push(("email", "new@example.com"));
    let paid = submit(url, &form).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    let s = emu
        .get(&format!("/v1/checkout/sessions/{}", id(&s)))
        .await
        .ok();
    let customer = emu
        .get(&format!(
            "/v1/customers/{}",
            s["customer"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(customer["email"], "new@example.com");
    assert_eq!(
        subscriptions_of(&emu, &id(&customer)).await[0]["status"],
        "active"
    );

    // A `customer_email` session shows the email, read-only.
    let s = emu
        .session(&monthly, Some(1), "&customer_email=known%40example.com")
        .await;
    open(s["url"].as_str().unwrap())
        .await
        .assert_has(&[r#"value="known@example.com" readonly"#]);
}

#[tokio::test]
async fn expired_and_unknown_sessions_say_so() {
    let emu = Emu::start().await;
    let s = expired_session(&emu, "x%40example.com").await;
    let page = open(s["url"].as_str().unwrap()).await;
    page.assert_has(&[
        "This checkout session has expired",
        r#"href="https://app.test/back""#,
    ]);
    assert!(!page.has("hosted-payment-submit-button"));
    let post = submit(s["url"].as_str().unwrap(), &card_form("4242424242424242")).await;
    assert_eq!(post.location, None);
    assert!(
        emu.get("/v1/subscriptions").await.ok()["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let unknown = open(&format!("{}/c/pay/cs_test_nope", emu.base)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}
