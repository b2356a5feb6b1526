//! Checkout and the success redirect (`GET /users?session_id=`), in process through
//! the handlers and over HTTP through `cargo lambda watch`.

use devchat::catalog;
use devchat_kit::{
    Answer, CARD_OK, Card, Options, Route, Stack, browser_request, call_as, sign_up,
};
use serde_json::{Value, json};

use crate::error_message;

#[tokio::test]
async fn checkout_then_success_redirect_stores_the_subscription() {
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    let catalog = catalog::load(&app.stripe, &app.store, &app.config)
        .await
        .unwrap();
    let sign_up = async |email: &str| {
        let body = json!({ "email": email }).to_string();
        let Answer { body: user, .. } = Route::SignUp
            .call(app, browser_request("POST", "/users", &[], &[], &body))
            .await;
        user["id"].as_str().unwrap().to_owned()
    };
    let ada = sign_up("ada@example.com").await;
    let bob = sign_up("bob@example.com").await;
    let subscribe = async |user: &str, price: &str| {
        let body = json!({ "price": price }).to_string();
        Route::Checkout
            .call(
                app,
                browser_request(
                    "POST",
                    "/offerings/paircode",
                    &[("user_id", user)],
                    &[],
                    &body,
                ),
            )
            .await
    };

    // Monthly: the Checkout Session as Stripe received it.
    stack.emulator.clear_requests().await.expect("emulator");
    let Answer { status, body, .. } = subscribe(&ada, &catalog.monthly_price.id).await;
    assert_eq!(status, 200, "{body}");
    let url = body["url"].as_str().unwrap().to_owned();
    let log = stack.emulator.requests().await.expect("emulator");
    let created: Vec<&Value> = log
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/v1/checkout/sessions")
        .collect();
    assert_eq!(created.len(), 1, "{log:#?}");
    let p = &created[0]["params"];
    assert_eq!(p["mode"], "subscription");
    assert_eq!(p["customer"], ada.as_str());
    assert_eq!(
        p["line_items"][0]["price"],
        catalog.monthly_price.id.as_str()
    );
    assert_eq!(p["line_items"][0]["quantity"], "1");
    assert_eq!(
        p["line_items"][0]["adjustable_quantity"]["enabled"],
        "false"
    );
    assert_eq!(p["subscription_data"]["trial_period_days"], "3");
    assert_eq!(p["subscription_data"]["metadata"]["challenge_id"], "test");
    assert_eq!(p["payment_method_collection"], "always");
    assert_eq!(
        p["success_url"],
        "http://127.0.0.1:9000/dashboard?session_id={CHECKOUT_SESSION_ID}"
    );
    assert_eq!(p["cancel_url"], "http://127.0.0.1:9000/dashboard");
    assert!(
        created[0]["idempotency_key"].is_string(),
        "writes carry an idempotency key"
    );

    // On demand: no trial, no quantity.
    stack.emulator.clear_requests().await.expect("emulator");
    let Answer { status, body, .. } = subscribe(&bob, &catalog.ondemand_price.id).await;
    assert_eq!(status, 200, "{body}");
    let log = stack.emulator.requests().await.expect("emulator");
    let p = &log
        .iter()
        .find(|r| r["path"] == "/v1/checkout/sessions")
        .unwrap()["params"];
    assert_eq!(
        p["line_items"][0]["price"],
        catalog.ondemand_price.id.as_str()
    );
    assert!(p["line_items"][0].get("quantity").is_none(), "{p}");
    assert!(
        p["subscription_data"].get("trial_period_days").is_none(),
        "{p}"
    );
    assert_eq!(p["subscription_data"]["metadata"]["challenge_id"], "test");

    // 4xx before paying.
    let Answer { status, body, .. } = subscribe(&ada, "price_not_ours").await;
    assert_eq!(
        (
            status,
            error_message(&body).contains("not one of our prices")
        ),
        (400, true),
        "{body}"
    );
    let Answer { status, .. } = subscribe("cus_unknown", &catalog.monthly_price.id).await;
    assert_eq!(status, 404);
    let Answer { status, body, .. } = Route::Checkout
        .call(
            app,
            browser_request("POST", "/offerings/paircode", &[], &[], r#"{"price":"x"}"#),
        )
        .await;
    assert_eq!(
        (status, error_message(&body)),
        (400, "the user_id query parameter is required")
    );
    let Answer { status, .. } = Route::Checkout
        .call(
            app,
            browser_request(
                "POST",
                "/offerings/paircode",
                &[("user_id", &ada)],
                &[],
                r#"{"price":7}"#,
            ),
        )
        .await;
    assert_eq!(status, 400);

    // Pay on the hosted page; Stripe sends the customer to the success URL.
    let redirect = stack
        .emulator
        .pay(&url, Card::new(CARD_OK))
        .await
        .expect("paying")
        .location;
    let session_id = redirect
        .split("session_id=")
        .nth(1)
        .expect("session_id in the success URL")
        .to_owned();
    assert!(
        redirect.starts_with("http://127.0.0.1:9000/dashboard?session_id=cs_"),
        "{redirect}"
    );

    let get_user = async |query: &[(&str, &str)]| {
        Route::GetUser
            .call(app, browser_request("GET", "/users", query, &[], ""))
            .await
    };
    // Another customer's session: 403, nothing stored.
    let Answer { status, .. } = get_user(&[("user_id", &bob), ("session_id", &session_id)]).await;
    assert_eq!(status, 403);
    let Answer { status, body, .. } =
        get_user(&[("user_id", &ada), ("session_id", &session_id)]).await;
    assert_eq!(status, 200, "{body}");
    let subscription = &body["user"]["subscription"];
    assert_eq!(subscription["type"], "monthly");
    assert_eq!(subscription["status"], "trialing");
    assert!(subscription["id"].as_str().unwrap().starts_with("sub_"));
    assert!(
        subscription.get("asOf").is_none(),
        "internal fields stay internal: {subscription}"
    );
    let stripe_subscription = stack
        .stripe_get(&format!(
            "/subscriptions/{}",
            subscription["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(stripe_subscription["metadata"]["challenge_id"], "test");
    assert!(stripe_subscription["trial_end"].is_number());
    // Stored: a plain GET shows it.
    let Answer { body: plain, .. } = get_user(&[("user_id", &ada)]).await;
    assert_eq!(plain["user"]["subscription"], *subscription);
    let Answer { body: bobs, .. } = get_user(&[("user_id", &bob)]).await;
    assert!(bobs["user"].get("subscription").is_none(), "{bobs}");

    // A live subscription: no second one.
    let Answer { status, body, .. } = subscribe(&ada, &catalog.ondemand_price.id).await;
    assert_eq!(status, 409, "{body}");
    assert!(error_message(&body).contains("already have"));

    // GET /users 4xx.
    assert_eq!(get_user(&[]).await.status, 400);
    assert_eq!(get_user(&[("user_id", "cus_nobody")]).await.status, 404);
    assert_eq!(get_user(&[("user_id", "../../etc")]).await.status, 404);
    assert_eq!(
        get_user(&[("user_id", &ada), ("session_id", "cs_test_unknown")])
            .await
            .status,
        400
    );
    let Answer { status, .. } = Route::GetUser
        .call(app, browser_request("DELETE", "/users", &[], &[], ""))
        .await;
    assert_eq!(status, 405);
}

/// The same flow over HTTP, as the browser sees it, through `cargo lambda watch`.
#[tokio::test]
async fn every_route_over_http_through_cargo_lambda_watch() {
    let stack = Stack::start(Options::default()).await;
    let watch = stack.watch().await;
    // Keeps the session cookie `POST /users` sets, as a browser does.
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let url = |path: &str| format!("{}{path}", watch.url);
    // Functions compile on first request: allow time.
    let send = async |request: reqwest::RequestBuilder| {
        let response = request
            .timeout(std::time::Duration::from_secs(600))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let get_json = async |path: &str| send(http.get(url(path))).await;
    let post_json = async |path: &str, body: String| {
        let request = http
            .post(url(path))
            .header("content-type", "application/json");
        send(request.body(body)).await
    };

    let (status, offerings) = get_json("/offerings").await;
    assert_eq!(status, 200, "{offerings}");
    let monthly = offerings["pairCode"]["monthlyPrice"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(offerings["pairCode"]["onDemandPrice"]["unit_amount"], 8000);

    let (status, user) =
        post_json("/users", json!({ "email": "Http@Example.com" }).to_string()).await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["email"], "http@example.com");
    let id = user["id"].as_str().unwrap().to_owned();
    let (status, body) = post_json("/users", "{oops".into()).await;
    assert_eq!(status, 400);
    assert!(error_message(&body).contains("not valid JSON"));

    let (status, body) = post_json(
        &format!("/offerings/paircode?user_id={id}"),
        json!({ "price": "price_nope" }).to_string(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post_json(
        &format!("/offerings/paircode?user_id={id}"),
        json!({ "price": monthly }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let paid = stack
        .emulator
        .pay(body["url"].as_str().unwrap(), Card::new(CARD_OK));
    let redirect = paid.await.expect("paying").location;
    // APP_URL is the watch URL here: the success redirect comes back to it.
    let success = redirect.replace(watch.url.as_str(), "");
    let success = success.replace("/dashboard?", &format!("/users?user_id={id}&"));
    let (status, body) = get_json(&success).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["subscription"]["type"], "monthly");
    assert_eq!(body["user"]["subscription"]["status"], "trialing");

    let (status, body) = post_json(
        &format!("/offerings/paircode?user_id={id}"),
        json!({ "price": monthly }).to_string(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    // Signed in as one user, another user's id is refused.
    let (status, body) = get_json("/users?user_id=cus_missing").await;
    assert_eq!(status, 403, "{body}");
    assert!(error_message(&body).contains("signed in as another user"));
}

/// Checkout's return records what Stripe reports with Stripe's time, through the same
/// ordering as the webhooks: an event from earlier in Stripe's clock (here a day into
/// the trial, delivered late, after the trial ended) cannot put back an older state,
/// however our own clock compares with the emulator's.
#[tokio::test]
async fn the_success_redirect_is_stamped_in_stripes_clock_and_no_older_state_wins() {
    let stack = Stack::start(Options::provisioned()).await;
    let app = stack.app;
    let user = sign_up(app, "clock@example.com").await;
    let body = json!({ "price": stack.catalog().monthly_price.id }).to_string();
    let answer = call_as(app, Route::Checkout, &user, &[], &[], &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let url = answer.body["url"].as_str().unwrap();
    let paid = stack.emulator.pay(url, Card::new(CARD_OK)).await.unwrap();
    let session_id = paid.session_id().unwrap().to_owned();
    let session = stack
        .stripe_get(&format!("/checkout/sessions/{session_id}"))
        .await;
    let subscription = session["subscription"].as_str().unwrap().to_owned();

    // A day into the trial the subscription changes (an event: still trialing)…
    stack.emulator.advance(86_400).await.unwrap();
    let form = [("metadata[note]", "a day into the trial")];
    stack
        .stripe_post(&format!("/subscriptions/{subscription}"), &form)
        .await;
    // …then the trial ends and the first payment succeeds.
    stack.emulator.advance(3 * 86_400).await.unwrap();

    // The customer comes back: the state read from Stripe is recorded.
    let query = [("session_id", session_id.as_str())];
    let answer = call_as(app, Route::GetUser, &user, &query, &[], "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["user"]["subscription"]["status"], "active");
    let recorded = stack.user(&user.id).await.subscription.unwrap();
    let stripe_now = stack.emulator.now().await.unwrap();
    assert!(
        recorded.as_of.unwrap() > devchat_kit::now() + 2 * 86_400,
        "stamped in Stripe's clock ({stripe_now}), not ours: {recorded:?}"
    );

    // The trial-time event arrives late: older in Stripe's clock, it changes nothing.
    let events = stack
        .stripe_get("/events?type=customer.subscription.updated&limit=100")
        .await;
    let late = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["object"]["metadata"]["note"] == "a day into the trial")
        .min_by_key(|e| e["created"].as_i64())
        .expect("the trial-time event")
        .clone();
    assert_eq!(late["data"]["object"]["status"], "trialing");
    let payload = late.to_string();
    let answer = devchat_kit::deliver(app, &payload).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["outcome"], "unchanged", "{}", answer.body);
    let stored = stack.user(&user.id).await.subscription.unwrap();
    assert_eq!(stored.status, "active");
    assert_eq!(stored.as_of, recorded.as_of);
}
