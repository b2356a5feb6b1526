//! DynamoDB cut off (see [`devchat_kit::Proxy`] for why a proxy rather than stopping
//! moto): every route answers 503 with a message and the webhook 5xx; Stripe's
//! redelivery applies once the database is back; nothing is lost. A Customer created
//! in Stripe while our record could not be written is reused by the next sign-up.

use std::time::Duration;

use devchat::store::Store;
use devchat_kit::{
    Answer, CARD_OK, Options, Proxy, Route, Signed, Stack, WebhookServer, call_as, deliver,
    eventually, request, sign_up, subscribe,
};
use serde_json::json;

#[tokio::test]
async fn a_database_outage_answers_503_and_loses_nothing() {
    let stack = Stack::start(Options::default()).await;
    let proxy = Proxy::start(&stack.dynamo).await;
    // Stripe delivers events to our webhook, served over HTTP, and redelivers on 5xx.
    let webhook = WebhookServer::start().await;
    let endpoint = stack
        .stripe_post(
            "/webhook_endpoints",
            &[("url", &webhook.url), ("enabled_events[]", "*")],
        )
        .await;
    let app = stack.app_on(&proxy.url, endpoint["secret"].as_str());
    webhook.serve(app);
    let catalog = devchat::catalog::provision(&app.stripe, &app.store, &app.config)
        .await
        .unwrap();
    let subscriber = sign_up(app, "outage@example.com").await;
    subscribe(&stack, app, &subscriber, &catalog.monthly_price.id, CARD_OK).await;
    let ondemand = sign_up(app, "outage-ondemand@example.com").await;
    subscribe(&stack, app, &ondemand, &catalog.ondemand_price.id, CARD_OK).await;
    let bystander = sign_up(app, "bystander@example.com").await;
    let subscription = app
        .store
        .get_user(&subscriber.id)
        .await
        .unwrap()
        .unwrap()
        .subscription
        .unwrap();
    // Let the subscription events of the sign-ups land before the outage.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let table = stack.items().await;

    proxy.cut();
    let monthly = json!({ "price": catalog.monthly_price.id }).to_string();
    let event = devchat_kit::event(
        "customer.subscription.updated",
        devchat_kit::now(),
        devchat_kit::subscription(
            &subscription.id,
            &subscriber.id,
            "past_due",
            &catalog.monthly_price.id,
            "licensed",
        ),
    );
    // The catalog this instance read less than a minute ago is answered from memory
    // (store::CATALOG_LIFETIME); every route that needs the database answers 503.
    let offerings = Route::Offerings
        .call(
            app,
            request("GET", "/offerings", &[], &[], lambda_http::Body::Empty),
        )
        .await;
    assert_eq!(offerings.status, 200, "{}", offerings.body);
    assert_eq!(
        offerings.body["pairCode"]["monthlyPrice"]["id"],
        catalog.monthly_price.id.as_str()
    );
    let outage: Vec<(&str, Answer)> = vec![
        (
            "POST /users",
            Route::SignUp
                .call(
                    app,
                    request(
                        "POST",
                        "/users",
                        &[],
                        &[],
                        r#"{"email":"new@example.com"}"#.into(),
                    ),
                )
                .await,
        ),
        (
            "GET /users",
            call_as(app, Route::GetUser, &bystander, &[], &[], "").await,
        ),
        (
            "POST /offerings/paircode",
            call_as(app, Route::Checkout, &bystander, &[], &[], &monthly).await,
        ),
        (
            "POST /offerings/paircode/schedule",
            devchat_kit::arrange(app, &ondemand, "outage-click").await,
        ),
        (
            "POST /users/portal",
            call_as(app, Route::Portal, &subscriber, &[], &[], "").await,
        ),
    ];
    for (route, answer) in &outage {
        answer.assert_error(
            503,
            "database is not answering",
            format!("{route} with the database down"),
        );
    }
    let answer = deliver(app, &event).await;
    assert!(
        answer.status >= 500,
        "the webhook must ask Stripe to redeliver: {} {}",
        answer.status,
        answer.body
    );

    // Stripe cancels the subscription meanwhile; its deliveries fail until the database is back.
    let failed_before = webhook.failed();
    stack
        .stripe_delete(&format!("/subscriptions/{}", subscription.id))
        .await;
    eventually(
        "a failed delivery of the cancellation",
        Duration::from_secs(15),
        async || webhook.failed() > failed_before,
    )
    .await;
    proxy.restore();
    // Stripe's redelivery (the emulator backs off 1 s, 2 s, 4 s …) applies now.
    eventually(
        "the redelivered cancellation applied",
        Duration::from_secs(20),
        async || {
            app.store
                .get_user(&subscriber.id)
                .await
                .ok()
                .flatten()
                .and_then(|u| u.subscription)
                .is_some_and(|s| s.status == "canceled")
        },
    )
    .await;
    // So does our own redelivery of the event refused during the outage; it is older than
    // the cancellation, so it changes nothing.
    assert_eq!(deliver(app, &event).await.status, 200);
    assert_eq!(
        app.store
            .get_user(&subscriber.id)
            .await
            .unwrap()
            .unwrap()
            .subscription
            .unwrap()
            .status,
        "canceled"
    );

    // Nothing lost: every item from before the outage is there; only the subscriber's changed.
    let after = stack.items().await;
    assert_eq!(after.len(), table.len(), "no item lost or added");
    let subscriber_key = format!("USER#{}", subscriber.id);
    for item in &table {
        let pk = item["pk"].as_s().unwrap();
        if *pk != subscriber_key {
            assert!(after.contains(item), "{pk} unchanged");
        }
    }
    // And the routes answer again.
    assert_eq!(
        call_as(app, Route::GetUser, &bystander, &[], &[], "")
            .await
            .status,
        200
    );
    let click = devchat_kit::arrange(app, &ondemand, "outage-click").await;
    assert_eq!(click.status, 200, "{}", click.body);
}

#[tokio::test]
async fn a_customer_created_while_our_write_failed_is_reused() {
    let stack = Stack::start(Options::default()).await;
    let proxy = Proxy::start(&stack.dynamo).await;
    let app = stack.app_on(&proxy.url, None);
    // Stripe answers the first customer create slowly (then 500, retried); the database
    // goes down meanwhile, so the Customer exists in Stripe but our claim cannot be written.
    stack.emulator.inject(&json!({ "method": "POST", "path_prefix": "/v1/customers", "count": 1, "status": 500, "delay_ms": 1_500 })).await.expect("injecting a fault");
    let email = "half-done@example.com";
    let body = json!({ "email": email }).to_string();
    let signup =
        tokio::spawn(Route::SignUp.call(app, request("POST", "/users", &[], &[], body.into())));
    tokio::time::sleep(Duration::from_millis(700)).await;
    proxy.cut();
    let answer = signup.await.unwrap();
    assert_eq!(answer.status, 503, "{}", answer.body);
    let listed = stack.stripe_get(&format!("/customers?email={email}")).await;
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "Stripe has the Customer: {listed}"
    );
    let orphan = listed["data"][0]["id"].as_str().unwrap().to_owned();
    proxy.restore();
    assert!(
        stack.items().await.is_empty(),
        "nothing of ours was written"
    );

    let user: Signed = sign_up(app, "  Half-Done@Example.com").await;
    assert_eq!(user.id, orphan, "the next sign-up reuses the Customer");
    let listed = stack.stripe_get(&format!("/customers?email={email}")).await;
    assert_eq!(
        listed["data"].as_array().unwrap().len(),
        1,
        "still one Customer"
    );
    assert_eq!(
        app.store.get_user(&orphan).await.unwrap().unwrap().email,
        email
    );
}
