//! Provisioning the catalog (from empty, re-run, drift) and `GET /offerings`.

use devchat::store::Store;
use devchat_kit::{Answer, Options, Route, Stack, browser_request};
use serde_json::{Value, json};

use crate::error_message;

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

#[tokio::test]
async fn provisions_from_empty_and_a_rerun_writes_nothing() {
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    let catalog = stack.provision().await;

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

    stack.emulator.clear_requests().await.expect("emulator");
    let again = stack.provision().await;
    assert_eq!(again, catalog);
    let log = stack.emulator.requests().await.expect("emulator");
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
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    let first = stack.provision().await;
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

    let fixed = stack.provision().await;
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
    let stack = Stack::start(Options::default()).await;
    let app = stack.app;
    // No catalog stored yet: the route provisions it.
    let Answer { status, body, .. } = Route::Offerings
        .call(app, browser_request("GET", "/offerings", &[], &[], ""))
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
                "monthlyTrialDays": 3,
                "monthlySessions": 1,
                "monthlyText": "One pair-coding session a month for $60.00, with a 3-day free trial.",
                "onDemandPrice": {
                    "id": catalog.ondemand_price.id, "nickname": "/dev/chat Pair Coding On-Demand",
                    "currency": "usd", "unit_amount": 8000, "lookup_key": "devchat_paircode_ondemand_test",
                },
                "onDemandText": "$80.00 per session, billed at the end of each month.",
            },
            "workshop": null,
        })
    );
    let Answer { status, body, .. } = Route::Offerings
        .call(app, browser_request("POST", "/offerings", &[], &[], ""))
        .await;
    assert_eq!(status, 405);
    assert!(error_message(&body).contains("not allowed"));
}
