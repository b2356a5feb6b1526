//! Milestone 1 and the foundation, against real components (moto server, the Stripe
//! emulator, `cargo lambda watch`): provisioning, sign-up, Checkout, the success
//! redirect, and every 4xx — in-process through the route handlers, and over HTTP.

mod support;

use devchat::{api, catalog, http::finish, store::Store};
use serde_json::{Value, json};
use support::{Stack, parts, request};

const CARD_OK: &str = "4242 4242 4242 4242";

async fn call(
    handler: impl AsyncFnOnce(lambda_http::Request) -> devchat::Result<devchat::http::Response>,
    req: lambda_http::Request,
) -> (u16, Value) {
    parts(finish(handler(req).await))
}

fn writes(log: &[Value]) -> Vec<String> {
    log.iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}

#[tokio::test]
async fn provisions_from_empty_and_a_rerun_writes_nothing() {
    let stack = Stack::start().await;
    let app = stack.app();
    let catalog = catalog::provision(&app.stripe, &app.store, &app.config)
        .await
        .unwrap();

    assert_eq!(catalog.product_name, "/dev/chat Pair Coding");
    assert_eq!(catalog.monthly_price.unit_amount, 6000);
    assert_eq!(
        catalog.monthly_price.lookup_key,
        "devchat_paircode_monthly_test"
    );
    assert_eq!(catalog.ondemand_price.unit_amount, 8000);
    assert_eq!(catalog.meter_event_name, "devchat_paircode_session_test");
    // What Stripe now holds.
    let product = stack
        .stripe_get(&format!("/products/{}", catalog.product_id))
        .await;
    assert_eq!(product["url"], "https://devchat.stripe/paircode/test");
    assert_eq!(product["unit_label"], "session");
    assert_eq!(product["metadata"]["challenge_id"], "test");
    let monthly = stack
        .stripe_get(&format!("/prices/{}", catalog.monthly_price.id))
        .await;
    assert_eq!(monthly["recurring"]["interval"], "month");
    assert_eq!(monthly["recurring"]["usage_type"], "licensed");
    assert_eq!(monthly["nickname"], "/dev/chat Pair Coding Monthly");
    assert_eq!(monthly["metadata"]["challenge_id"], "test");
    let ondemand = stack
        .stripe_get(&format!("/prices/{}", catalog.ondemand_price.id))
        .await;
    assert_eq!(ondemand["recurring"]["usage_type"], "metered");
    assert_eq!(ondemand["recurring"]["meter"], catalog.meter_id.as_str());
    let portal = stack
        .stripe_get(&format!(
            "/billing_portal/configurations/{}",
            catalog.portal_configuration_id
        ))
        .await;
    assert_eq!(
        portal["features"]["subscription_cancel"]["mode"],
        "immediately"
    );
    assert_eq!(
        portal["default_return_url"],
        "http://127.0.0.1:9000/dashboard"
    );
    assert_eq!(portal["metadata"]["challenge_id"], "test");
    // Stored for the functions.
    assert_eq!(
        app.store.get_catalog().await.unwrap().as_ref(),
        Some(&catalog)
    );

    stack.clear_requests().await;
    let again = catalog::provision(&app.stripe, &app.store, &app.config)
        .await
        .unwrap();
    assert_eq!(again, catalog);
    let log = stack.requests().await;
    assert_eq!(
        writes(&log),
        Vec::<String>::new(),
        "a re-run must not write to Stripe"
    );
    assert!(
        log.len() <= 4,
        "a re-run makes at most 4 reads, made {}: {log:#?}",
        log.len()
    );
}

#[tokio::test]
async fn converges_after_a_drifted_price() {
    let stack = Stack::start().await;
    let app = stack.app();
    let first = catalog::provision(&app.stripe, &app.store, &app.config)
        .await
        .unwrap();
    // Someone moves the monthly lookup key to a price with the wrong amount.
    let wrong = stack
        .stripe_post(
            "/prices",
            &[
                ("product", &first.product_id),
                ("currency", "usd"),
                ("unit_amount", "5000"),
                ("recurring[interval]", "month"),
                ("lookup_key", "devchat_paircode_monthly_test"),
                ("transfer_lookup_key", "true"),
                ("nickname", "wrong"),
            ],
        )
        .await;
    let wrong_id = wrong["id"].as_str().unwrap().to_owned();

    let fixed = catalog::provision(&app.stripe, &app.store, &app.config)
        .await
        .unwrap();
    assert_ne!(fixed.monthly_price.id, wrong_id);
    assert_ne!(fixed.monthly_price.id, first.monthly_price.id);
    let by_key = stack
        .stripe_get("/prices?lookup_keys[]=devchat_paircode_monthly_test")
        .await;
    let holders: Vec<&str> = by_key["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(
        holders,
        vec![fixed.monthly_price.id.as_str()],
        "the new price owns the lookup key"
    );
    let new = stack
        .stripe_get(&format!("/prices/{}", fixed.monthly_price.id))
        .await;
    assert_eq!(new["unit_amount"], 6000);
    assert_eq!(new["active"], true);
    let old = stack.stripe_get(&format!("/prices/{wrong_id}")).await;
    assert_eq!(old["active"], false, "the drifted price is deactivated");
    assert_eq!(
        app.store
            .get_catalog()
            .await
            .unwrap()
            .unwrap()
            .monthly_price
            .id,
        fixed.monthly_price.id
    );
}

#[tokio::test]
async fn offerings_show_both_prices() {
    let stack = Stack::start().await;
    let app = stack.app();
    // No catalog stored yet: the route provisions it.
    let (status, body) = call(
        async |r| api::offerings::handle(&app, r).await,
        request("GET", "/offerings", &[], None),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let catalog = app.store.get_catalog().await.unwrap().unwrap();
    assert_eq!(
        body,
        json!({
            "pairCode": {
                "productId": catalog.product_id,
                "productName": "/dev/chat Pair Coding",
                "monthlyPrice": {
                    "id": catalog.monthly_price.id, "nickname": "/dev/chat Pair Coding Monthly",
                    "currency": "usd", "unit_amount": 6000, "lookup_key": "devchat_paircode_monthly_test",
                },
                "onDemandPrice": {
                    "id": catalog.ondemand_price.id, "nickname": "/dev/chat Pair Coding On-Demand",
                    "currency": "usd", "unit_amount": 8000, "lookup_key": "devchat_paircode_ondemand_test",
                },
            },
            "workshop": null,
        })
    );
    let (status, body) = call(
        async |r| api::offerings::handle(&app, r).await,
        request("POST", "/offerings", &[], None),
    )
    .await;
    assert_eq!(status, 405);
    assert!(error_message(&body).contains("not allowed"));
}

#[tokio::test]
async fn sign_up_is_one_user_per_email() {
    let stack = Stack::start().await;
    let app = stack.app();
    let signup = |body: &str| request("POST", "/users", &[], Some(body)).clone();
    let (status, ada) = call(
        async |r| api::signup::handle(&app, r).await,
        signup(r#"{"email":"  Ada@Example.com "}"#),
    )
    .await;
    assert_eq!(status, 200, "{ada}");
    assert_eq!(ada["email"], "ada@example.com");
    let id = ada["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cus_"), "{id}");
    assert!(ada.get("subscription").is_none());
    let customer = stack.stripe_get(&format!("/customers/{id}")).await;
    assert_eq!(customer["email"], "ada@example.com");
    assert_eq!(customer["metadata"]["challenge_id"], "test");

    let (_, again) = call(
        async |r| api::signup::handle(&app, r).await,
        signup(r#"{"email":"ADA@example.COM"}"#),
    )
    .await;
    assert_eq!(
        again["id"],
        id.as_str(),
        "signing up again returns the same user"
    );

    // 20 concurrent sign-ups with one new email: one Stripe Customer, one user.
    let attempts = (0..20).map(|i| {
        let app = &app;
        let body = if i % 2 == 0 {
            r#"{"email":"grace@example.com"}"#
        } else {
            r#"{"email":" GRACE@example.com"}"#
        };
        async move {
            call(
                async |r| api::signup::handle(app, r).await,
                request("POST", "/users", &[], Some(body)),
            )
            .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let ids: std::collections::BTreeSet<String> = results
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "every concurrent sign-up got the same user: {ids:?}"
    );
    let customers = stack.stripe_get("/customers?email=grace@example.com").await;
    assert_eq!(
        customers["data"].as_array().unwrap().len(),
        1,
        "exactly one Stripe Customer: {customers}"
    );

    for (body, expected) in [
        ("", "request body is missing"),
        ("{", "not valid JSON"),
        (r#"{"email":42}"#, "invalid type"),
        (r#"{"mail":"a@b.co"}"#, "missing field `email`"),
        (r#"{"email":"not-an-email"}"#, "invalid email address"),
        (
            r#"{"email":"<script>alert(1)</script>@x.com"}"#,
            "invalid email address",
        ),
    ] {
        let (status, error) =
            call(async |r| api::signup::handle(&app, r).await, signup(body)).await;
        assert_eq!(status, 400, "{body:?} → {error}");
        assert!(
            error_message(&error).contains(expected),
            "{body:?} → {error}"
        );
    }
    let huge = format!(r#"{{"email":"{}@example.com"}}"#, "a".repeat(70_000));
    let (status, _) = call(async |r| api::signup::handle(&app, r).await, signup(&huge)).await;
    assert_eq!(status, 413);
    let customers = stack.stripe_get("/customers?limit=100").await;
    assert_eq!(
        customers["data"].as_array().unwrap().len(),
        2,
        "bad sign-ups created nothing"
    );
}

#[tokio::test]
async fn checkout_then_success_redirect_stores_the_subscription() {
    let stack = Stack::start().await;
    let app = stack.app();
    let catalog = catalog::load(&app.stripe, &app.store, &app.config)
        .await
        .unwrap();
    let sign_up = async |email: &str| {
        let body = json!({ "email": email }).to_string();
        let (_, user) = call(
            async |r| api::signup::handle(&app, r).await,
            request("POST", "/users", &[], Some(&body)),
        )
        .await;
        user["id"].as_str().unwrap().to_owned()
    };
    let ada = sign_up("ada@example.com").await;
    let bob = sign_up("bob@example.com").await;
    let subscribe = async |user: &str, price: &str| {
        let body = json!({ "price": price }).to_string();
        call(
            async |r| api::checkout::handle(&app, r).await,
            request(
                "POST",
                "/offerings/paircode",
                &[("user_id", user)],
                Some(&body),
            ),
        )
        .await
    };

    // Monthly: the Checkout Session as Stripe received it.
    stack.clear_requests().await;
    let (status, body) = subscribe(&ada, &catalog.monthly_price.id).await;
    assert_eq!(status, 200, "{body}");
    let url = body["url"].as_str().unwrap().to_owned();
    let log = stack.requests().await;
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
    stack.clear_requests().await;
    let (status, body) = subscribe(&bob, &catalog.ondemand_price.id).await;
    assert_eq!(status, 200, "{body}");
    let log = stack.requests().await;
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
    let (status, body) = subscribe(&ada, "price_not_ours").await;
    assert_eq!(
        (
            status,
            error_message(&body).contains("not one of our prices")
        ),
        (400, true),
        "{body}"
    );
    let (status, _) = subscribe("cus_unknown", &catalog.monthly_price.id).await;
    assert_eq!(status, 404);
    let (status, body) = call(
        async |r| api::checkout::handle(&app, r).await,
        request("POST", "/offerings/paircode", &[], Some(r#"{"price":"x"}"#)),
    )
    .await;
    assert_eq!(
        (status, error_message(&body)),
        (400, "the user_id query parameter is required")
    );
    let (status, _) = call(
        async |r| api::checkout::handle(&app, r).await,
        request(
            "POST",
            "/offerings/paircode",
            &[("user_id", &ada)],
            Some(r#"{"price":7}"#),
        ),
    )
    .await;
    assert_eq!(status, 400);

    // Pay on the hosted page; Stripe sends the customer to the success URL.
    let redirect = stack.pay_checkout(&url, CARD_OK).await;
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
        call(
            async |r| api::get_user::handle(&app, r).await,
            request("GET", "/users", query, None),
        )
        .await
    };
    // Another customer's session: 403, nothing stored.
    let (status, _) = get_user(&[("user_id", &bob), ("session_id", &session_id)]).await;
    assert_eq!(status, 403);
    let (status, body) = get_user(&[("user_id", &ada), ("session_id", &session_id)]).await;
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
    let (_, plain) = get_user(&[("user_id", &ada)]).await;
    assert_eq!(plain["user"]["subscription"], *subscription);
    let (_, bobs) = get_user(&[("user_id", &bob)]).await;
    assert!(bobs["user"].get("subscription").is_none(), "{bobs}");

    // A live subscription: no second one.
    let (status, body) = subscribe(&ada, &catalog.ondemand_price.id).await;
    assert_eq!(status, 409, "{body}");
    assert!(error_message(&body).contains("already have"));

    // GET /users 4xx.
    assert_eq!(get_user(&[]).await.0, 400);
    assert_eq!(get_user(&[("user_id", "cus_nobody")]).await.0, 404);
    assert_eq!(get_user(&[("user_id", "../../etc")]).await.0, 404);
    assert_eq!(
        get_user(&[("user_id", &ada), ("session_id", "cs_test_unknown")])
            .await
            .0,
        400
    );
    let (status, _) = call(
        async |r| api::get_user::handle(&app, r).await,
        request("DELETE", "/users", &[], None),
    )
    .await;
    assert_eq!(status, 405);
}

/// The same flow over HTTP, as the browser sees it, through `cargo lambda watch`.
#[tokio::test]
async fn every_route_over_http_through_cargo_lambda_watch() {
    let stack = Stack::start().await;
    let watch = stack.watch().await;
    // Keeps the session cookie `POST /users` sets, as a browser does.
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let url = |path: &str| format!("{}{path}", watch.url);
    // Functions compile on first request: allow time.
    let get_json = async |path: &str| {
        let response = http
            .get(url(path))
            .timeout(std::time::Duration::from_secs(600))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let post_json = async |path: &str, body: String| {
        let response = http
            .post(url(path))
            .header("content-type", "application/json")
            .body(body)
            .timeout(std::time::Duration::from_secs(600))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
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
    let redirect = stack
        .pay_checkout(body["url"].as_str().unwrap(), CARD_OK)
        .await;
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
