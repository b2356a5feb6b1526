use std::time::Duration;

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use serde_json::json;
use tokio::sync::mpsc;

use crate::support::{Emu, ids, new_id, parses_as};

/// A local HTTP server standing in for the app's webhook route: it hands every
/// delivery (signature header, raw body) to the test.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(String, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/webhook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let sig = headers
                    .get("stripe-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let _ = tx.send((sig, String::from_utf8_lossy(&body).into_owned()));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(String, String)>) -> (String, String) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no delivery within 10 s")
        .unwrap()
}

#[tokio::test]
async fn webhook_endpoints_crud() {
    let emu = Emu::start().await;
    let created = emu.posted(
            "/v1/webhook_endpoints",
            "url=http://127.0.0.1:9000/webhook&enabled_events[]=checkout.session.completed&enabled_events[]=customer.subscription.updated&description=app&metadata[challenge_id]=c1",
        ).await;
    let id = new_id(&created, "we_", "webhook_endpoint");
    assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_eq!(created["status"], "enabled");
    assert_eq!(
        created["enabled_events"],
        json!([
            "checkout.session.completed",
            "customer.subscription.updated"
        ])
    );
    parses_as::<stripe_misc::WebhookEndpoint>(&created);

    let got = emu.get(&format!("/v1/webhook_endpoints/{id}")).await.ok();
    assert!(
        got.get("secret").is_none(),
        "the secret is shown at creation only: {got}"
    );
    assert_eq!(got["url"], "http://127.0.0.1:9000/webhook");
    parses_as::<stripe_misc::WebhookEndpoint>(&got);

    let updated = emu
        .posted(
            &format!("/v1/webhook_endpoints/{id}"),
            "disabled=true&enabled_events[]=*&url=https://example.com/hook",
        )
        .await;
    assert_eq!(updated["status"], "disabled");
    assert_eq!(updated["enabled_events"], json!(["*"]));
    assert_eq!(updated["url"], "https://example.com/hook");
    let enabled = emu
        .posted(&format!("/v1/webhook_endpoints/{id}"), "disabled=false")
        .await;
    assert_eq!(enabled["status"], "enabled");

    let other = emu
        .posted(
            "/v1/webhook_endpoints",
            "url=http://127.0.0.1:1/x&enabled_events[]=*",
        )
        .await;
    let other = other["id"].as_str().unwrap().to_string();
    assert_eq!(
        ids(&emu.get("/v1/webhook_endpoints").await.ok()),
        vec![other.clone(), id.clone()]
    );

    let deleted = emu
        .delete(&format!("/v1/webhook_endpoints/{id}"))
        .await
        .ok();
    assert_eq!(
        deleted,
        json!({"id": id, "object": "webhook_endpoint", "deleted": true})
    );
    parses_as::<stripe_misc::DeletedWebhookEndpoint>(&deleted);
    assert_eq!(
        emu.get(&format!("/v1/webhook_endpoints/{id}"))
            .await
            .err(404)["code"],
        "resource_missing"
    );
    assert_eq!(
        ids(&emu.get("/v1/webhook_endpoints").await.ok()),
        vec![other]
    );
}

#[tokio::test]
async fn webhook_endpoint_errors() {
    let emu = Emu::start().await;
    emu.refuses(
        "
        /v1/webhook_endpoints enabled_events[]=* => message: Missing required param: url.
        /v1/webhook_endpoints url=http://x.test/h => message: Missing required param: enabled_events.
        /v1/webhook_endpoints url=ftp://x&enabled_events[]=* => param: url
        /v1/webhook_endpoints url=http://x.test/h&enabled_events[]=Not+An+Event => param: enabled_events
        "
    )
    .await;
    let err = emu
        .refused(
            "/v1/webhook_endpoints",
            "url=http://x.test/h&enabled_events[]=*&secret=whsec_mine",
        )
        .await;
    assert_eq!(err["message"], "Received unknown parameter: secret");
    assert_eq!(
        emu.get("/v1/webhook_endpoints/we_missing").await.err(404)["message"],
        "No such webhook endpoint: 'we_missing'"
    );
    assert_eq!(
        emu.delete("/v1/webhook_endpoints/we_missing").await.status,
        404
    );
}

/// Every event of this part of the emulator reaches an endpoint signed as Stripe
/// signs, and async-stripe's own verification accepts it and reads its object.
#[tokio::test]
async fn deliveries_are_signed_and_typed() {
    let emu = Emu::start().await;
    let (url, mut rx) = receiver().await;
    let endpoint = emu
        .posted(
            "/v1/webhook_endpoints",
            &format!("url={url}&enabled_events[]=*"),
        )
        .await;
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let only_customers = emu
        .posted(
            "/v1/webhook_endpoints",
            &format!("url={url}&enabled_events[]=customer.created"),
        )
        .await;
    let customers_secret = only_customers["secret"].as_str().unwrap().to_string();

    let product = emu.product("P").await;
    let meter = emu.meter("minutes").await;
    let customer = emu.customer("a@example.com").await;
    emu.posted(&format!("/v1/customers/{customer}"), "name=A")
        .await;
    emu.posted(
        "/v1/prices",
        &format!("product={product}&currency=usd&unit_amount=10&recurring[interval]=month&recurring[meter]={meter}"),
    ).await;
    emu.posted(
        &format!("/v1/billing/meters/{meter}"),
        "display_name=Minutes",
    )
    .await;
    emu.posted(&format!("/v1/billing/meters/{meter}/deactivate"), "")
        .await;
    emu.posted(
        "/v1/billing_portal/configurations",
        "features[invoice_history][enabled]=true",
    )
    .await;
    emu.delete(&format!("/v1/customers/{customer}")).await.ok();

    let expected = [
        "product.created",
        "billing.meter.created",
        "customer.created",
        "customer.updated",
        "price.created",
        "billing.meter.updated",
        "billing.meter.deactivated",
        "billing_portal.configuration.created",
        "customer.deleted",
    ];
    let mut seen = Vec::new();
    let mut customer_only = 0;
    for _ in 0..expected.len() + 1 {
        let (sig, body) = next(&mut rx).await;
        let event = match stripe_webhook::Webhook::construct_event(&body, &sig, &secret) {
            Ok(event) => event,
            Err(_) => {
                // The other endpoint's copy: signed with its own secret.
                let event =
                    stripe_webhook::Webhook::construct_event(&body, &sig, &customers_secret)
                        .expect("signed with one of the two secrets");
                assert_eq!(event.type_.as_str(), "customer.created");
                customer_only += 1;
                continue;
            }
        };
        assert!(
            !matches!(event.data.object, stripe_webhook::EventObject::Unknown(_)),
            "{} was not read as its type",
            event.type_.as_str()
        );
        seen.push(event.type_.as_str().to_string());
    }
    seen.sort();
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(seen, expected);
    assert_eq!(customer_only, 1);

    // A tampered payload fails verification.
    let (sig, body) = (
        stripe_emulator::webhooks::signature_header(&secret, chrono_now(), "{}"),
        "{\"id\":\"evt_x\"}",
    );
    assert!(stripe_webhook::Webhook::construct_event(body, &sig, &secret).is_err());
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
