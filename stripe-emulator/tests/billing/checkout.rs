//! `/v1/checkout/sessions`: validation, shapes, completion by a card, expiry.

use serde_json::json;

use crate::support::{Emu, id, parses_as};

#[tokio::test]
async fn session_create_validates_as_stripe_does() {
    let emu = Emu::start().await;
    let (monthly, metered, _) = emu.catalog().await;
    let ok = "mode=subscription&success_url=https://app.test/ok";
    let cases = [
        (
            format!("{ok}&line_items[0][price]={metered}&line_items[0][quantity]=1"),
            "Quantity should not be specified where usage_type is `metered`",
            "line_items[0][quantity]",
        ),
        (
            format!("{ok}&line_items[0][price]={monthly}"),
            "Quantity is required",
            "line_items[0][quantity]",
        ),
        (
            format!("mode=subscription&line_items[0][price]={monthly}&line_items[0][quantity]=1"),
            "Missing required param: success_url",
            "success_url",
        ),
        (
            format!("{ok}&line_items[0][price]=price_nope&line_items[0][quantity]=1"),
            "No such price: 'price_nope'",
            "line_items[0][price]",
        ),
        (
            format!("{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1&bogus=1"),
            "Received unknown parameter: bogus",
            "bogus",
        ),
        (
            format!(
                "{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1&line_items[0][colour]=red"
            ),
            "Received unknown parameter: line_items[0][colour]",
            "line_items[0][colour]",
        ),
        (
            format!(
                "{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1&customer=cus_x&customer_email=a@b.c"
            ),
            "You may only specify one of these parameters: customer, customer_email",
            "customer_email",
        ),
        (
            format!(
                "{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1&customer=cus_missing"
            ),
            "No such customer: 'cus_missing'",
            "customer",
        ),
        (
            format!(
                "{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1&subscription_data[trial_period_days]=0"
            ),
            "trial period",
            "subscription_data[trial_period_days]",
        ),
        (
            format!(
                "mode=payment&success_url=https://app.test/ok&line_items[0][price]={monthly}&line_items[0][quantity]=1"
            ),
            "not supported by the emulator",
            "mode",
        ),
        (
            ok.to_string(),
            "Missing required param: line_items",
            "line_items",
        ),
    ];
    for (body, message, param) in cases {
        let err = emu.refused("/v1/checkout/sessions", &body).await;
        assert!(
            err["message"].as_str().unwrap().contains(message),
            "{body}: {err}"
        );
        assert_eq!(err["param"], json!(param), "{body}: {err}");
        assert_eq!(err["type"], "invalid_request_error");
    }

    // An inactive price and a one-time price are refused too.
    emu.posted(&format!("/v1/prices/{monthly}"), "active=false")
        .await;
    emu.refuses(&format!(
        "
        /v1/checkout/sessions {ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1 => message ~ inactive
        "
    ))
    .await;
    let product = emu.posted("/v1/products", "name=Once").await;
    let once = emu
        .posted(
            "/v1/prices",
            &format!("product={}&currency=usd&unit_amount=100", id(&product)),
        )
        .await;
    let err = emu
        .refused(
            "/v1/checkout/sessions",
            &format!(
                "{ok}&line_items[0][price]={}&line_items[0][quantity]=1",
                id(&once)
            ),
        )
        .await;
    assert!(
        err["message"].as_str().unwrap().contains("recurring price"),
        "{err}"
    );
    // Nothing was created by the failures.
    let list = emu.get("/v1/checkout/sessions").await.ok();
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn an_open_session_looks_like_stripes() {
    let emu = Emu::start().await;
    let (monthly, metered, _) = emu.catalog().await;
    let s = emu
        .session(
            &monthly,
            Some(1),
            "&customer_email=ada@example.com&client_reference_id=u1&metadata[challenge_id]=c1&subscription_data[trial_period_days]=3&subscription_data[metadata][challenge_id]=c1&payment_method_collection=always&line_items[0][adjustable_quantity][enabled]=false",
        )
        .await;
    parses_as::<stripe_shared::CheckoutSession>(&s);
    let sid = id(&s);
    assert!(sid.starts_with("cs_test_a1") && sid.len() == 66, "{sid}");
    assert_eq!(s["object"], "checkout.session");
    assert_eq!(s["url"], json!(format!("{}/c/pay/{sid}", emu.base)));
    assert_eq!(s["status"], "open");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["mode"], "subscription");
    assert_eq!(s["subscription"], json!(null));
    assert_eq!(s["customer"], json!(null));
    assert_eq!(s["customer_email"], "ada@example.com");
    assert_eq!(s["customer_details"]["email"], "ada@example.com");
    assert_eq!(s["client_reference_id"], "u1");
    assert_eq!(s["metadata"]["challenge_id"], "c1");
    assert_eq!(s["currency"], "usd");
    assert_eq!(s["amount_total"], 0, "nothing is due today during a trial");
    assert_eq!(
        s["expires_at"].as_i64().unwrap() - s["created"].as_i64().unwrap(),
        86_400
    );
    assert!(
        s.get("line_items").is_none(),
        "line items only come when expanded"
    );

    let expanded = emu
        .get(&format!("/v1/checkout/sessions/{sid}?expand[]=line_items"))
        .await
        .ok();
    parses_as::<stripe_shared::CheckoutSession>(&expanded);
    let item = &expanded["line_items"]["data"][0];
    assert_eq!(item["price"]["id"], json!(monthly));
    assert_eq!(item["quantity"], 1);
    assert_eq!(item["amount_total"], 6000);
    assert_eq!(item["description"], "Pair Coding");
    let items = emu
        .get(&format!("/v1/checkout/sessions/{sid}/line_items"))
        .await
        .ok();
    assert_eq!(items["data"], expanded["line_items"]["data"]);

    // Without a trial, the amount due today is the licensed amount; metered bills 0 up front.
    let paid_now = emu.session(&monthly, Some(2), "").await;
    assert_eq!(paid_now["amount_total"], 12000);
    let on_demand = emu.session(&metered, None, "").await;
    assert_eq!(on_demand["amount_total"], 0);

    // Retrieve and list.
    let got = emu.get(&format!("/v1/checkout/sessions/{sid}")).await.ok();
    assert_eq!(got, s);
    let open = emu
        .get("/v1/checkout/sessions?status=open&limit=2")
        .await
        .ok();
    assert_eq!(open["data"].as_array().unwrap().len(), 2);
    assert_eq!(open["has_more"], true);
    let missing = emu.get("/v1/checkout/sessions/cs_test_nope").await.err(404);
    assert_eq!(missing["code"], "resource_missing");
}

#[tokio::test]
async fn expiring_only_works_on_open_sessions() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let s = emu.session(&monthly, Some(1), "").await;
    let sid = id(&s);
    let expired = emu
        .posted(&format!("/v1/checkout/sessions/{sid}/expire"), "")
        .await;
    assert_eq!(expired["status"], "expired");
    emu.refuses(&format!(
        "
        /v1/checkout/sessions/{sid}/expire => message ~ status in [\"open\"]
        "
    ))
    .await;
    assert_eq!(emu.events("checkout.session.expired").await.len(), 1);
    // An expired session cannot be paid.
    let err = emu.pay(&sid, "4242424242424242").await.unwrap_err();
    assert_eq!(err.status.as_u16(), 400);
}

#[tokio::test]
async fn paying_with_4242_completes_the_session_and_creates_everything_in_order() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let s = emu
        .session(&monthly, Some(1), "&customer_email=ada@example.com&subscription_data[trial_period_days]=3&subscription_data[metadata][challenge_id]=c1")
        .await;
    let sid = id(&s);
    let before = emu.event_types().await.len();
    let redirect = emu.pay(&sid, "4242424242424242").await.unwrap();
    assert_eq!(redirect, format!("https://app.test/done?session={sid}"));

    let types = emu.event_types().await[before..].to_vec();
    assert_eq!(
        types,
        [
            "customer.created",
            "payment_method.attached",
            "customer.updated",
            "customer.subscription.created",
            "invoice.created",
            "invoice.finalized",
            "invoice.paid",
            "invoice.payment_succeeded",
            "checkout.session.completed",
        ]
    );

    let done = emu
        .get(&format!("/v1/checkout/sessions/{sid}?expand[]=subscription&expand[]=subscription.items.data.price"))
        .await
        .ok();
    parses_as::<stripe_shared::CheckoutSession>(&done);
    assert_eq!(done["status"], "complete");
    assert_eq!(done["payment_status"], "no_payment_required");
    let customer = done["customer"].as_str().unwrap().to_string();
    assert!(customer.starts_with("cus_"));
    assert_eq!(done["customer_details"]["email"], "ada@example.com");
    let sub = &done["subscription"];
    assert_eq!(sub["object"], "subscription");
    assert_eq!(sub["status"], "trialing");
    assert_eq!(sub["customer"], json!(customer));
    assert_eq!(sub["metadata"]["challenge_id"], "c1");
    assert_eq!(sub["items"]["data"][0]["price"]["id"], json!(monthly));

    // The payment method is attached and the default of customer and subscription.
    let pm = sub["default_payment_method"].as_str().unwrap();
    let pm = emu.get(&format!("/v1/payment_methods/{pm}")).await.ok();
    parses_as::<stripe_shared::PaymentMethod>(&pm);
    assert_eq!(pm["type"], "card");
    assert_eq!(pm["customer"], json!(customer));
    assert_eq!(pm["card"]["last4"], "4242");
    assert_eq!(pm["card"]["brand"], "visa");
    let cus = emu.get(&format!("/v1/customers/{customer}")).await.ok();
    assert_eq!(cus["email"], "ada@example.com");
    assert_eq!(cus["invoice_settings"]["default_payment_method"], pm["id"]);
    let listed = emu
        .get(&format!(
            "/v1/payment_methods?customer={customer}&type=card"
        ))
        .await
        .ok();
    assert_eq!(listed["data"][0]["id"], pm["id"]);
    let listed = emu
        .get(&format!("/v1/customers/{customer}/payment_methods"))
        .await
        .ok();
    assert_eq!(listed["data"][0]["id"], pm["id"]);

    // The completed session's event carries the session as completed.
    let completed = emu.events("checkout.session.completed").await;
    assert_eq!(completed[0]["data"]["object"]["subscription"], sub["id"]);
    assert_eq!(completed[0]["data"]["object"]["status"], "complete");

    // A session is paid once.
    let again = emu.pay(&sid, "4242424242424242").await.unwrap_err();
    assert_eq!(again.status.as_u16(), 400);
    let list = emu
        .get(&format!(
            "/v1/checkout/sessions?customer={customer}&status=complete"
        ))
        .await
        .ok();
    assert_eq!(list["data"][0]["id"], json!(sid));
}

#[tokio::test]
async fn a_declined_card_creates_nothing() {
    let emu = Emu::start().await;
    let (monthly, _, _) = emu.catalog().await;
    let s = emu
        .session(&monthly, Some(1), "&customer_email=bob@example.com")
        .await;
    let before = emu.event_types().await;
    let err = emu.pay(&id(&s), "4000000000000002").await.unwrap_err();
    assert_eq!(err.status.as_u16(), 402);
    assert_eq!(err.kind, "card_error");
    assert_eq!(err.code, Some("card_declined"));
    assert_eq!(err.body()["error"]["decline_code"], "generic_decline");
    // Same for a card whose charges fail when something is due now.
    let err = emu.pay(&id(&s), "4000000000000341").await.unwrap_err();
    assert_eq!(err.status.as_u16(), 402);
    assert_eq!(emu.event_types().await, before);
    for path in [
        "/v1/customers",
        "/v1/subscriptions?status=all",
        "/v1/invoices",
    ] {
        assert_eq!(emu.get(path).await.ok()["data"], json!([]), "{path}");
    }
    let s = emu
        .get(&format!("/v1/checkout/sessions/{}", id(&s)))
        .await
        .ok();
    assert_eq!(s["status"], "open");
    // The session can still be paid with a good card.
    emu.pay(&id(&s), "4242424242424242").await.unwrap();
}

#[tokio::test]
async fn without_a_trial_the_first_invoice_charges_the_licensed_amount() {
    let emu = Emu::start().await;
    let (monthly, metered, _) = emu.catalog().await;
    let sub = emu.monthly_subscriber(&monthly, "c@example.com").await;
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["trial_end"], json!(null));
    let inv = emu
        .get(&format!(
            "/v1/invoices/{}",
            sub["latest_invoice"].as_str().unwrap()
        ))
        .await
        .ok();
    parses_as::<stripe_shared::Invoice>(&inv);
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["billing_reason"], "subscription_create");
    assert_eq!(inv["amount_due"], 6000);
    assert_eq!(inv["amount_paid"], 6000);
    assert_eq!(inv["amount_remaining"], 0);
    assert_eq!(inv["total"], 6000);
    assert_eq!(
        inv["parent"]["subscription_details"]["subscription"],
        sub["id"]
    );
    assert_eq!(
        inv["lines"]["data"][0]["pricing"]["price_details"]["price"],
        json!(monthly)
    );

    // On demand: one metered item, no quantity, nothing charged up front; 0341 is fine then.
    let od = emu
        .subscribe(
            &metered,
            None,
            "&customer_email=d@example.com",
            "4000000000000341",
        )
        .await;
    assert_eq!(od["status"], "active");
    let item = &od["items"]["data"][0];
    assert!(item.get("quantity").is_none(), "{item}");
    assert_eq!(item["price"]["recurring"]["usage_type"], "metered");
    let inv = emu
        .get(&format!(
            "/v1/invoices/{}",
            od["latest_invoice"].as_str().unwrap()
        ))
        .await
        .ok();
    assert_eq!(inv["total"], 0);
    assert_eq!(inv["status"], "paid");
}
