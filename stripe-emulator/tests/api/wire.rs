//! The wire behaviour shared by every endpoint: authentication, idempotency,
//! pagination, expansion and safety under concurrency.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use crate::support::{Emu, ids};

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let emu = Emu::start().await;
    for key in [
        None,
        Some("sk_live_123"),
        Some("pk_test_123"),
        Some("sk_test_"),
    ] {
        let res = emu.send(Method::GET, "/v1/customers", "", key, None).await;
        let err = res.err(401);
        assert_eq!(err["type"], "invalid_request_error");
        assert!(
            err["message"].as_str().unwrap().contains("API key"),
            "{err}"
        );
    }
    let res = emu
        .send(Method::POST, "/v1/prices", "currency=usd", None, None)
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(emu.get("/v1/prices").await.ok()["data"], json!([]));
}

#[tokio::test]
async fn idempotency_keys_replay_and_refuse_other_parameters() {
    let emu = Emu::start().await;
    let first = emu
        .post_idempotent("/v1/customers", "email=a@example.com", "key-1")
        .await;
    assert!(first.headers.get("idempotent-replayed").is_none());
    let first = first.ok();
    let again = emu
        .post_idempotent("/v1/customers", "email=a@example.com", "key-1")
        .await;
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.ok(), first);
    assert_eq!(
        emu.get("/v1/customers").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let other = emu
        .post_idempotent("/v1/customers", "email=b@example.com", "key-1")
        .await
        .err(400);
    assert_eq!(other["type"], "idempotency_error");
    assert!(other["message"].as_str().unwrap().contains("key-1"));

    // Errors replay too, so a retried bad request stays bad.
    let bad = emu
        .post_idempotent("/v1/prices", "currency=usd", "key-2")
        .await
        .err(400);
    let replay = emu
        .post_idempotent("/v1/prices", "currency=usd", "key-2")
        .await
        .err(400);
    assert_eq!(bad, replay);
}

#[tokio::test]
async fn lists_page_with_limit_starting_after_and_ending_before() {
    let emu = Emu::start().await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(emu.customer(&format!("c{i}@example.com")).await);
    }
    created.reverse(); // newest first, as lists go

    // (query, the slice of `created` it answers, has_more)
    let pages = [
        ("limit=3".to_string(), 0..3, true),
        (format!("limit=3&starting_after={}", created[2]), 3..6, true),
        (
            format!("limit=3&starting_after={}", created[5]),
            6..7,
            false,
        ),
        (format!("limit=2&ending_before={}", created[5]), 3..5, true),
        (format!("limit=5&ending_before={}", created[2]), 0..2, false),
    ];
    for (query, range, has_more) in pages {
        let page = emu.get(&format!("/v1/customers?{query}")).await.ok();
        assert_eq!(ids(&page), created[range].to_vec(), "{query}");
        assert_eq!(page["has_more"], has_more, "{query}");
    }

    assert_eq!(
        emu.get("/v1/customers?limit=0").await.err(400)["param"],
        "limit"
    );
    assert_eq!(
        emu.get("/v1/customers?limit=ten").await.err(400)["param"],
        "limit"
    );
    assert_eq!(
        emu.get("/v1/customers?starting_after=cus_nope")
            .await
            .err(404)["param"],
        "starting_after"
    );
    assert_eq!(
        emu.get("/v1/customers?sort=email").await.err(400)["message"],
        "Received unknown parameter: sort"
    );
}

#[tokio::test]
async fn expand_replaces_ids_with_objects() {
    let emu = Emu::start().await;
    let product = emu.product("Paircode").await;
    let price = emu
        .posted(
            "/v1/prices",
            &format!("product={product}&currency=usd&unit_amount=6000&expand[]=product"),
        )
        .await;
    assert_eq!(price["product"]["id"], product.as_str());
    assert_eq!(price["product"]["name"], "Paircode");
    let stored = emu
        .get(&format!("/v1/prices/{}", price["id"].as_str().unwrap()))
        .await
        .ok();
    assert_eq!(
        stored["product"],
        product.as_str(),
        "expansion is per request"
    );
    let listed = emu.get("/v1/prices?expand[]=data.product").await.ok();
    assert_eq!(listed["data"][0]["product"]["object"], "product");
}

/// 500 concurrent writers: every one answered without a 5xx, none of their
/// changes lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_lose_nothing() {
    let emu = Arc::new(Emu::start().await);
    let customer = emu.customer("busy@example.com").await;
    emu.meter("calls").await;

    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let emu = emu.clone();
            let customer = customer.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    emu.post("/v1/customers", &format!("email=c{i}@example.com")).await.status
                } else {
                    emu.post(
                        "/v1/billing/meter_events",
                        &format!("event_name=calls&payload[stripe_customer_id]={customer}&payload[value]={i}&identifier=call-{i}"),
                    )
                    .await
                    .status
                }
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }

    // 250 new customers (plus the busy one), every page walked.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/customers?limit=100&starting_after={a}"),
            None => "/v1/customers?limit=100".to_string(),
        };
        let page = emu.get(&path).await.ok();
        let page_ids = ids(&page);
        after = page_ids.last().cloned();
        seen.extend(page_ids);
        if page["has_more"] == false {
            break;
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 251);

    let state = emu.get("/_emulator/state").await.body;
    let events = state["meter_events"].as_array().unwrap();
    assert_eq!(events.len(), 250);
    let total: i64 = events.iter().map(|e| e["value"].as_i64().unwrap()).sum();
    assert_eq!(total, (0..500).filter(|i| i % 2 == 1).sum::<i64>());
    let log = emu.get("/_emulator/requests").await.body;
    assert!(
        log["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"].as_u64().unwrap() < 500)
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_form_is_answered_as_such_and_creates_nothing() {
    let emu = Emu::start().await;
    let mixed = "name=x&name[a]=y"; // a value and a hash under one name
    let err = emu.post("/v1/products", mixed).await.err(400);
    assert_eq!(err["type"], "invalid_request_error");
    let message = err["message"].as_str().unwrap();
    assert!(message.starts_with("Invalid request body"), "{err}");
    assert_eq!(emu.get("/v1/products").await.ok()["data"], json!([]));
}
