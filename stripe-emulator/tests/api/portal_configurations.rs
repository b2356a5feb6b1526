use serde_json::json;

use crate::support::{Emu, ids, new_id, parses_as};

const FULL: &str = "business_profile[headline]=Pair+with+/dev/chat&business_profile[privacy_policy_url]=https://example.com/privacy\
&features[payment_method_update][enabled]=true\
&features[invoice_history][enabled]=true\
&features[subscription_cancel][enabled]=true&features[subscription_cancel][mode]=immediately\
&features[subscription_cancel][cancellation_reason][enabled]=true&features[subscription_cancel][cancellation_reason][options][]=too_expensive&features[subscription_cancel][cancellation_reason][options][]=unused\
&features[customer_update][enabled]=true&features[customer_update][allowed_updates][]=email\
&default_return_url=http://127.0.0.1:9000/dashboard&metadata[challenge_id]=c1";

#[tokio::test]
async fn portal_configurations_crud() {
    let emu = Emu::start().await;
    let config = emu.posted("/v1/billing_portal/configurations", FULL).await;
    let id = new_id(&config, "bpc_", "billing_portal.configuration");
    assert_eq!(config["active"], true);
    assert_eq!(
        config["is_default"], true,
        "the first configuration is the default"
    );
    assert_eq!(config["application"], json!(null));
    assert_eq!(config["login_page"], json!({"enabled": false, "url": null}));
    assert_eq!(
        config["business_profile"]["headline"],
        "Pair with /dev/chat"
    );
    assert_eq!(
        config["business_profile"]["terms_of_service_url"],
        json!(null)
    );
    assert_eq!(
        config["default_return_url"],
        "http://127.0.0.1:9000/dashboard"
    );
    let f = &config["features"];
    assert_eq!(
        f["payment_method_update"],
        json!({"enabled": true, "payment_method_configuration": null})
    );
    assert_eq!(f["invoice_history"], json!({"enabled": true}));
    assert_eq!(f["subscription_cancel"]["mode"], "immediately");
    assert_eq!(f["subscription_cancel"]["proration_behavior"], "none");
    assert_eq!(
        f["subscription_cancel"]["cancellation_reason"]["options"],
        json!(["too_expensive", "unused"])
    );
    assert_eq!(
        f["customer_update"],
        json!({"allowed_updates": ["email"], "enabled": true})
    );
    assert_eq!(f["subscription_update"]["enabled"], false);
    assert_eq!(
        f["subscription_update"]["schedule_at_period_end"],
        json!({"conditions": []})
    );
    parses_as::<stripe_billing::BillingPortalConfiguration>(&config);

    let second = emu
        .posted(
            "/v1/billing_portal/configurations",
            "features[invoice_history][enabled]=false&login_page[enabled]=true",
        )
        .await;
    let second_id = second["id"].as_str().unwrap().to_string();
    assert_eq!(second["is_default"], false);
    assert_eq!(
        second["business_profile"],
        json!({"headline": null, "privacy_policy_url": null, "terms_of_service_url": null})
    );
    assert!(
        second["login_page"]["url"]
            .as_str()
            .unwrap()
            .starts_with(&emu.base)
    );
    assert_eq!(
        second["features"]["subscription_cancel"]["mode"],
        "at_period_end"
    );
    parses_as::<stripe_billing::BillingPortalConfiguration>(&second);

    let product = emu.product("P").await;
    let price = emu
        .posted(
            "/v1/prices",
            &format!("product={product}&currency=usd&unit_amount=6000&recurring[interval]=month"),
        )
        .await;
    let price = price["id"].as_str().unwrap();
    let updated = emu.posted(
            &format!("/v1/billing_portal/configurations/{second_id}"),
            &format!("active=false&features[subscription_cancel][mode]=immediately&features[subscription_update][enabled]=true&features[subscription_update][default_allowed_updates][]=price&features[subscription_update][products][0][product]={product}&features[subscription_update][products][0][prices][]={price}&business_profile[headline]=Hi"),
        ).await;
    assert_eq!(updated["active"], false);
    assert_eq!(
        updated["features"]["subscription_cancel"]["mode"],
        "immediately"
    );
    assert_eq!(
        updated["features"]["subscription_cancel"]["enabled"], false,
        "untouched"
    );
    assert_eq!(
        updated["features"]["subscription_update"]["products"][0]["prices"],
        json!([price])
    );
    assert_eq!(updated["business_profile"]["headline"], "Hi");
    parses_as::<stripe_billing::BillingPortalConfiguration>(&updated);
    assert_eq!(
        emu.get(&format!("/v1/billing_portal/configurations/{second_id}"))
            .await
            .ok(),
        updated
    );

    assert_eq!(
        ids(&emu.get("/v1/billing_portal/configurations").await.ok()),
        vec![second_id.clone(), id.clone()]
    );
    assert_eq!(
        ids(&emu
            .get("/v1/billing_portal/configurations?active=true")
            .await
            .ok()),
        vec![id.clone()]
    );
    assert_eq!(
        ids(&emu
            .get("/v1/billing_portal/configurations?is_default=false")
            .await
            .ok()),
        vec![second_id]
    );
    assert_eq!(
        emu.get("/v1/billing_portal/configurations?limit=100")
            .await
            .ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let events = emu
        .get("/v1/events?type=billing_portal.configuration.*")
        .await
        .ok();
    assert_eq!(events["data"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn portal_configuration_errors() {
    let emu = Emu::start().await;
    emu.refuses(
        "
        /v1/billing_portal/configurations business_profile[headline]=x => message: Missing required param: features.
        /v1/billing_portal/configurations features[invoice_history][on]=true => message: Missing required param: features[invoice_history][enabled].
        /v1/billing_portal/configurations features[subscription_cancel][enabled]=true&features[subscription_cancel][mode]=later => param: features[subscription_cancel][mode]
        /v1/billing_portal/configurations features[invoice_history][enabled]=true&features[invoice_history][extra]=1 => message: Received unknown parameter: features[invoice_history][extra]
        /v1/billing_portal/configurations features[subscription_update][enabled]=true => param: features[subscription_update][products]
        /v1/billing_portal/configurations features[invoice_history][enabled]=yes => message: Invalid boolean: yes
        "
    )
    .await;
    let err = emu
        .get("/v1/billing_portal/configurations?limit=101")
        .await
        .err(400);
    assert_eq!(err["param"], "limit");
    let err = emu
        .get("/v1/billing_portal/configurations/bpc_missing")
        .await
        .err(404);
    assert_eq!(err["code"], "resource_missing");

    let config = emu
        .posted(
            "/v1/billing_portal/configurations",
            "features[invoice_history][enabled]=true",
        )
        .await;
    let id = config["id"].as_str().unwrap();
    emu.refuses(&format!(
        "
        /v1/billing_portal/configurations/{id} active=false => param: active
        "
    ))
    .await;
}
