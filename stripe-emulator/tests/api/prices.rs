use serde_json::json;

use crate::support::{Emu, id, ids, parses_as};

#[tokio::test]
async fn create_retrieve_update_and_list_prices() {
    let emu = Emu::start().await;
    let product = emu.product("Paircode").await;
    let monthly = emu.posted(
            "/v1/prices",
            &format!("product={product}&currency=USD&unit_amount=6000&nickname=Monthly&lookup_key=paircode_monthly&recurring[interval]=month&metadata[challenge_id]=c1"),
        ).await;
    assert!(monthly["id"].as_str().unwrap().starts_with("price_"));
    assert_eq!(monthly["object"], "price");
    assert_eq!(monthly["currency"], "usd");
    assert_eq!(monthly["unit_amount"], 6000);
    assert_eq!(monthly["unit_amount_decimal"], "6000");
    assert_eq!(monthly["type"], "recurring");
    assert_eq!(monthly["billing_scheme"], "per_unit");
    assert_eq!(monthly["tax_behavior"], "unspecified");
    assert_eq!(
        monthly["recurring"],
        json!({"interval": "month", "interval_count": 1, "meter": null, "trial_period_days": null, "usage_type": "licensed"})
    );
    assert_eq!(monthly["metadata"], json!({"challenge_id": "c1"}));
    assert_eq!(monthly["livemode"], false);
    parses_as::<stripe_shared::Price>(&monthly);

    let once = emu
        .posted(
            "/v1/prices",
            &format!("product={product}&currency=usd&unit_amount=500"),
        )
        .await;
    assert_eq!(once["type"], "one_time");
    assert_eq!(once["recurring"], json!(null));
    parses_as::<stripe_shared::Price>(&once);

    let id = monthly["id"].as_str().unwrap();
    let got = emu
        .get(&format!("/v1/prices/{id}?expand[]=product"))
        .await
        .ok();
    assert_eq!(got["product"]["id"], product.as_str());
    assert_eq!(got["product"]["name"], "Paircode");
    parses_as::<stripe_shared::Price>(&got);

    let updated = emu
        .posted(
            &format!("/v1/prices/{id}"),
            "nickname=Pro&active=false&metadata[challenge_id]=&metadata[tier]=pro",
        )
        .await;
    assert_eq!(updated["nickname"], "Pro");
    assert_eq!(updated["active"], false);
    assert_eq!(updated["metadata"], json!({"tier": "pro"}));
    assert_eq!(updated["unit_amount"], 6000);

    let by_key = emu
        .get("/v1/prices?lookup_keys[]=paircode_monthly&lookup_keys[]=other")
        .await
        .ok();
    assert_eq!(ids(&by_key), vec![id.to_string()]);
    assert_eq!(by_key["object"], "list");
    assert_eq!(by_key["url"], "/v1/prices");
    let one_time = emu.get("/v1/prices?type=one_time").await.ok();
    assert_eq!(
        ids(&one_time),
        vec![once["id"].as_str().unwrap().to_string()]
    );
    let active = emu
        .get(&format!("/v1/prices?product={product}&active=true"))
        .await
        .ok();
    assert_eq!(ids(&active), vec![once["id"].as_str().unwrap().to_string()]);
    let monthly_only = emu
        .get("/v1/prices?recurring[interval]=month&expand[]=data.product")
        .await
        .ok();
    assert_eq!(ids(&monthly_only), vec![id.to_string()]);
    assert_eq!(monthly_only["data"][0]["product"]["object"], "product");
    let all = emu.get("/v1/prices").await.ok();
    assert_eq!(all["data"].as_array().unwrap().len(), 2);

    let kinds: Vec<String> = ids(&emu
        .get("/v1/events?types[]=price.created&types[]=price.updated")
        .await
        .ok());
    assert_eq!(kinds.len(), 3, "two price.created and one price.updated");
}

#[tokio::test]
async fn price_errors_are_stripe_shaped() {
    let emu = Emu::start().await;
    let product = emu.product("P").await;

    emu.refuses(&format!(
        "
        /v1/prices product={product}&unit_amount=100 => type: invalid_request_error && code: parameter_missing && param: currency && message: Missing required param: currency.
        /v1/prices product={product}&currency=usd&unit_amount=ten => param: unit_amount && message: Invalid integer: ten
        /v1/prices product=prod_missing&currency=usd&unit_amount=1 => code: resource_missing && message: No such product: 'prod_missing'
        /v1/prices product={product}&currency=usd&unit_amount=1&recurring[interval]=fortnight => param: recurring[interval]
        /v1/prices product={product}&currency=usd&unit_amount=1&recurring[interval]=month&recurring[aggregate_usage]=sum => message: Received unknown parameter: recurring[aggregate_usage]
        "
    ))
    .await;

    let price = emu
        .posted(
            "/v1/prices",
            &format!("product={product}&currency=usd&unit_amount=100&recurring[interval]=month"),
        )
        .await;
    let id = price["id"].as_str().unwrap();
    for immutable in [
        "unit_amount=200",
        "currency=eur",
        "recurring[interval]=year",
    ] {
        let err = emu.refused(&format!("/v1/prices/{id}"), immutable).await;
        assert_eq!(err["code"], "parameter_unknown");
        let name = immutable
            .split('[')
            .next()
            .unwrap()
            .split('=')
            .next()
            .unwrap();
        assert_eq!(
            err["message"],
            format!("Received unknown parameter: {name}")
        );
    }
    assert_eq!(
        emu.get(&format!("/v1/prices/{id}")).await.ok()["unit_amount"],
        100
    );

    let err = emu.get("/v1/prices/price_nope").await.err(404);
    assert_eq!(err["code"], "resource_missing");
    assert_eq!(err["message"], "No such price: 'price_nope'");
    assert_eq!(
        emu.get("/v1/prices?type=weird").await.err(400)["param"],
        "type"
    );
}

#[tokio::test]
async fn lookup_keys_are_unique_unless_transferred() {
    let emu = Emu::start().await;
    let product = emu.product("P").await;
    let create = |amount: u32, extra: &str| {
        format!(
            "product={product}&currency=usd&unit_amount={amount}&recurring[interval]=month&lookup_key=monthly{extra}"
        )
    };
    let first = emu.posted("/v1/prices", &create(6000, "")).await;
    let first_id = id(&first);

    let err = emu.refused("/v1/prices", &create(7000, "")).await;
    assert_eq!(
        err["message"],
        format!("A price (`{first_id}`) already uses that lookup key.")
    );
    assert_eq!(err["param"], "lookup_key");
    assert_eq!(
        emu.get("/v1/prices").await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "nothing created"
    );

    let second = emu
        .posted("/v1/prices", &create(7000, "&transfer_lookup_key=true"))
        .await;
    let second_id = id(&second);
    assert_eq!(second["lookup_key"], "monthly");
    assert_eq!(
        emu.get(&format!("/v1/prices/{first_id}")).await.ok()["lookup_key"],
        json!(null)
    );
    assert_eq!(
        ids(&emu.get("/v1/prices?lookup_keys[]=monthly").await.ok()),
        vec![second_id.clone()]
    );

    // The holder's loss of its key is an event like any other change.
    let updated = emu.get("/v1/events?type=price.updated").await.ok();
    assert_eq!(
        updated["data"][0]["data"]["object"]["id"],
        first_id.as_str()
    );
    assert_eq!(
        updated["data"][0]["data"]["previous_attributes"]["lookup_key"],
        "monthly"
    );

    // Through update: refused, then moved back.
    let err = emu
        .refused(&format!("/v1/prices/{first_id}"), "lookup_key=monthly")
        .await;
    assert_eq!(
        err["message"],
        format!("A price (`{second_id}`) already uses that lookup key.")
    );
    let moved = emu
        .posted(
            &format!("/v1/prices/{first_id}"),
            "lookup_key=monthly&transfer_lookup_key=true",
        )
        .await;
    assert_eq!(moved["lookup_key"], "monthly");
    assert_eq!(
        emu.get(&format!("/v1/prices/{second_id}")).await.ok()["lookup_key"],
        json!(null)
    );
    // Keeping one's own key is no conflict; an empty value removes it.
    emu.posted(&format!("/v1/prices/{first_id}"), "lookup_key=monthly")
        .await;
    let cleared = emu
        .posted(&format!("/v1/prices/{first_id}"), "lookup_key=")
        .await;
    assert_eq!(cleared["lookup_key"], json!(null));
}

#[tokio::test]
async fn metered_prices_need_an_active_meter() {
    let emu = Emu::start().await;
    let product = emu.product("Usage").await;
    let meter = emu.meter("paircode_minutes").await;
    let base = format!("product={product}&currency=usd&unit_amount=10&recurring[interval]=month");

    emu.refuses(&format!(
        "
        /v1/prices {base}&recurring[usage_type]=metered => param: recurring[meter]
        /v1/prices {base}&recurring[meter]=mtr_missing => message: No such billing meter: 'mtr_missing'
        /v1/prices {base}&recurring[usage_type]=licensed&recurring[meter]={meter} => param: recurring[meter]
        "
    ))
    .await;

    let price = emu
        .posted(
            "/v1/prices",
            &format!("{base}&recurring[usage_type]=metered&recurring[meter]={meter}"),
        )
        .await;
    assert_eq!(price["recurring"]["usage_type"], "metered");
    assert_eq!(price["recurring"]["meter"], meter.as_str());
    parses_as::<stripe_shared::Price>(&price);
    let listed = emu
        .get(&format!(
            "/v1/prices?recurring[meter]={meter}&recurring[usage_type]=metered"
        ))
        .await
        .ok();
    assert_eq!(ids(&listed), vec![id(&price)]);

    emu.posted(&format!("/v1/billing/meters/{meter}/deactivate"), "")
        .await;
    emu.refuses(&format!(
        "
        /v1/prices {base}&recurring[meter]={meter} => message ~ inactive
        "
    ))
    .await;
}
