//! The Customer Portal without scripts: its steps as pages, its forms as posts.

use super::*;

#[tokio::test]
async fn portal_cancel_immediately_cancels_the_subscription() {
    let emu = Emu::start().await;
    let (url, cus, sub) = portal(&emu, ALL_FEATURES).await;
    let home = open(&url).await;
    assert_eq!(home.status, StatusCode::OK);
    home.assert_has(&[
        "/dev/chat",
        "Monthly",
        "$60.00 per month",
        "Active",
        "Renews on",
        "Invoice history",
        "$60.00",
        "Paid",
        "Visa",
        "4242",
        "portal@example.com",
        r#"data-testid="return-to-business-link" href="https://app.test/dashboard""#,
        r#"data-test="cancel-subscription""#,
    ]);

    let base = emu.base.clone();
    let step = open(&format!(
        "{base}{}",
        home.attr_after(r#"data-test="cancel-subscription""#, "href")
    ))
    .await;
    step.assert_has(&[
        r#"data-testid="confirm""#,
        "canceled immediately",
        r#"data-testid="return-to-business-link""#,
    ]);
    assert_eq!(
        subscriptions_of(&emu, &cus).await[0]["status"],
        "active",
        "opening the step changes nothing"
    );

    let action = step.attr_after(r#"<form method="post""#, "action");
    let done = submit(&format!("{base}{action}"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let sub = emu.get(&format!("/v1/subscriptions/{sub}")).await.ok();
    assert_eq!(sub["status"], "canceled");
    assert!(
        emu.event_types()
            .await
            .contains(&"customer.subscription.deleted".to_string())
    );

    let after = open(&format!("{base}{}", done.location.unwrap())).await;
    after.assert_has(&[
        "Your subscription has been canceled.",
        "You have no current subscriptions.",
        r#"data-testid="return-to-business-link" href="https://app.test/dashboard""#,
    ]);
    assert!(!after.has("cancel-subscription"));
}

#[tokio::test]
async fn portal_cancel_at_period_end_keeps_the_subscription_until_then() {
    let emu = Emu::start().await;
    let features = ALL_FEATURES.replace("mode]=immediately", "mode]=at_period_end");
    let (url, _, sub) = portal(&emu, &features).await;
    let home = open(&url).await;
    let base = emu.base.clone();
    let step = open(&format!(
        "{base}{}",
        home.attr_after(r#"data-test="cancel-subscription""#, "href")
    ))
    .await;
    step.assert_has(&["still available until the end of your billing period"]);
    let action = step.attr_after(r#"<form method="post""#, "action");
    let done = submit(&format!("{base}{action}"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let sub = emu.get(&format!("/v1/subscriptions/{sub}")).await.ok();
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["cancel_at_period_end"], true);
    let after = open(&format!("{base}{}", done.location.unwrap())).await;
    after.assert_has(&[
        "will be canceled at the end of the billing period",
        "Cancels ",
    ]);
    assert!(!after.has(r#"data-test="cancel-subscription""#));
}

#[tokio::test]
async fn portal_shows_only_the_enabled_features() {
    let emu = Emu::start().await;
    let (url, cus, sub) = portal(&emu, NO_FEATURES).await;
    let home = open(&url).await;
    home.assert_has(&["Monthly", r#"data-testid="return-to-business-link""#]);
    for absent in ["cancel-subscription", "Invoice history", "Payment method"] {
        assert!(!home.has(absent), "{absent} shown while disabled");
    }
    let refused = submit(&format!("{url}/subscriptions/{sub}/cancel"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = submit(
        &format!("{url}/payment-method"),
        &card_form("5555555555554444"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(subscriptions_of(&emu, &cus).await[0]["status"], "active");
}

#[tokio::test]
async fn portal_replaces_the_payment_method() {
    let emu = Emu::start().await;
    let (url, cus, sub) = portal(&emu, ALL_FEATURES).await;
    let base = emu.base.clone();
    let home = open(&url).await;
    let form_page = open(&format!(
        "{base}{}",
        home.attr_after(r#"data-testid="update-payment-method""#, "href")
    ))
    .await;
    form_page.assert_has(&[r#"name="cardNumber""#, r#"placeholder="MM / YY""#]);

    let declined = submit(
        &format!("{url}/payment-method"),
        &card_form("4000000000000002"),
    )
    .await;
    assert_eq!(declined.status, StatusCode::PAYMENT_REQUIRED);
    declined.assert_has(&["Your card was declined."]);

    let done = submit(
        &format!("{url}/payment-method"),
        &card_form("5555 5555 5555 4444"),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let customer = emu.get(&format!("/v1/customers/{cus}")).await.ok();
    let pm = customer["invoice_settings"]["default_payment_method"]
        .as_str()
        .unwrap();
    let sub = emu.get(&format!("/v1/subscriptions/{sub}")).await.ok();
    assert_eq!(sub["default_payment_method"], pm);
    let pm = emu.get(&format!("/v1/payment_methods/{pm}")).await.ok();
    assert_eq!(pm["card"]["last4"], "4444");
    open(&format!("{base}{}", done.location.unwrap()))
        .await
        .assert_has(&[
            "Your payment method has been updated.",
            "Mastercard",
            "4444",
        ]);
}

#[tokio::test]
async fn unknown_portal_sessions_and_foreign_subscriptions_are_not_found() {
    let emu = Emu::start().await;
    let (url, _, _) = portal(&emu, ALL_FEATURES).await;
    assert_eq!(
        open(&format!("{}/p/session/bps_nope", emu.base))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let (monthly, _, _) = emu.catalog().await;
    let other = emu
        .subscribe(
            &monthly,
            Some(1),
            "&customer_email=other%40example.com",
            "4242424242424242",
        )
        .await;
    let refused = submit(&format!("{url}/subscriptions/{}/cancel", id(&other)), &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let other = emu
        .get(&format!("/v1/subscriptions/{}", id(&other)))
        .await
        .ok();
    assert_eq!(other["status"], "active");
}
