use crate::support::{Emu, ids, parses_as, types};

#[tokio::test]
async fn events_list_filters_and_retrieve() {
    let emu = Emu::start().await;
    let product = emu.product("P").await;
    let customer = emu.customer("a@example.com").await;
    emu.posted(&format!("/v1/customers/{customer}"), "name=A")
        .await;
    emu.posted(
        "/v1/prices",
        &format!("product={product}&currency=usd&unit_amount=1"),
    )
    .await;

    let all = emu.get("/v1/events").await.ok();
    let kinds = types(&all);
    assert_eq!(
        kinds,
        vec![
            "price.created",
            "customer.updated",
            "customer.created",
            "product.created"
        ]
    );
    for event in all["data"].as_array().unwrap() {
        parses_as::<stripe_shared::Event>(event);
        let parsed: stripe_webhook::Event = serde_json::from_value(event.clone()).unwrap();
        assert_eq!(parsed.id.as_str(), event["id"].as_str().unwrap());
    }

    let only = emu.get("/v1/events?type=customer.created").await.ok();
    assert_eq!(only["data"][0]["data"]["object"]["id"], customer.as_str());
    assert_eq!(only["data"].as_array().unwrap().len(), 1);
    let two = emu
        .get("/v1/events?types[]=product.created&types[]=price.created")
        .await
        .ok();
    assert_eq!(two["data"].as_array().unwrap().len(), 2);
    let wildcard = emu.get("/v1/events?type=customer.*").await.ok();
    assert_eq!(wildcard["data"].as_array().unwrap().len(), 2);

    let created = all["data"][0]["created"].as_i64().unwrap();
    // How many events a `created` filter keeps.
    let count = async |filter: String| {
        let list = emu.get(&format!("/v1/events?{filter}")).await.ok();
        list["data"].as_array().unwrap().len()
    };
    assert_eq!(count(format!("created[gte]={created}")).await, 4);
    assert_eq!(count(format!("created[gt]={}", created + 5)).await, 0);
    assert_eq!(count(format!("created[lt]={}", created + 5)).await, 4);
    assert_eq!(count(format!("created={}", created - 3600)).await, 0);

    let first = all["data"][3]["id"].as_str().unwrap();
    let got = emu.get(&format!("/v1/events/{first}")).await.ok();
    assert_eq!(got["type"], "product.created");
    assert_eq!(got["object"], "event");
    assert_eq!(got["data"]["object"]["id"], product.as_str());

    let page = emu.get("/v1/events?limit=2").await.ok();
    assert_eq!(page["has_more"], true);
    assert_eq!(ids(&page).len(), 2);
}

#[tokio::test]
async fn event_errors() {
    let emu = Emu::start().await;
    let err = emu.get("/v1/events/evt_missing").await.err(404);
    assert_eq!(err["message"], "No such event: 'evt_missing'");
    let err = emu.get("/v1/events?created[after]=1").await.err(400);
    assert_eq!(err["message"], "Received unknown parameter: created[after]");
    let err = emu.get("/v1/events?created=yesterday").await.err(400);
    assert_eq!(err["param"], "created");
    let err = emu.get("/v1/events?type=a.b&types[]=c.d").await.err(400);
    assert_eq!(err["type"], "invalid_request_error");
}
