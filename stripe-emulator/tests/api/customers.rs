use serde_json::json;

use crate::support::{Emu, ids, new_id, parses_as, types};

#[tokio::test]
async fn customers_crud() {
    let emu = Emu::start().await;
    let created = emu.posted(
            "/v1/customers",
            "email=dev%2Bone@example.com&name=Ada+Lovelace&description=first&metadata[challenge_id]=c1&address[country]=US&preferred_locales[]=en",
        ).await;
    let id = new_id(&created, "cus_", "customer");
    assert_eq!(created["email"], "dev+one@example.com");
    assert_eq!(created["name"], "Ada Lovelace");
    assert_eq!(created["balance"], 0);
    assert_eq!(created["delinquent"], false);
    assert_eq!(
        created["invoice_settings"]["default_payment_method"],
        json!(null)
    );
    assert_eq!(created["address"]["country"], "US");
    assert_eq!(created["preferred_locales"], json!(["en"]));
    assert_eq!(created["metadata"], json!({"challenge_id": "c1"}));
    parses_as::<stripe_shared::Customer>(&created);

    assert_eq!(emu.get(&format!("/v1/customers/{id}")).await.ok(), created);

    let updated = emu
        .posted(
            &format!("/v1/customers/{id}"),
            "name=Ada+King&description=&metadata[plan]=pair",
        )
        .await;
    assert_eq!(updated["name"], "Ada King");
    assert_eq!(updated["description"], json!(null));
    assert_eq!(
        updated["metadata"],
        json!({"challenge_id": "c1", "plan": "pair"})
    );
    parses_as::<stripe_shared::Customer>(&updated);

    let other = emu.customer("other@example.com").await;
    let by_email = emu
        .get("/v1/customers?email=dev%2Bone@example.com")
        .await
        .ok();
    assert_eq!(ids(&by_email), vec![id.clone()]);
    assert_eq!(
        ids(&emu.get("/v1/customers").await.ok()),
        vec![other.clone(), id.clone()]
    );

    let deleted = emu.delete(&format!("/v1/customers/{id}")).await.ok();
    assert_eq!(
        deleted,
        json!({"id": id, "object": "customer", "deleted": true})
    );
    parses_as::<stripe_shared::DeletedCustomer>(&deleted);
    // As in Stripe, a deleted customer still answers, as its deletion stub.
    assert_eq!(emu.get(&format!("/v1/customers/{id}")).await.ok(), deleted);
    assert_eq!(
        emu.post(&format!("/v1/customers/{id}"), "name=x")
            .await
            .err(404)["code"],
        "resource_missing"
    );
    assert_eq!(emu.delete(&format!("/v1/customers/{id}")).await.status, 404);
    assert_eq!(ids(&emu.get("/v1/customers").await.ok()), vec![other]);

    let events = emu.get("/v1/events?type=customer.*").await.ok();
    let kinds = types(&events);
    assert_eq!(
        kinds,
        vec![
            "customer.deleted",
            "customer.created",
            "customer.updated",
            "customer.created"
        ]
    );
    let deleted_event = &events["data"][0];
    assert_eq!(
        deleted_event["data"]["object"]["email"], "dev+one@example.com",
        "the customer as it was"
    );
    let update_event = &events["data"][2];
    assert_eq!(
        update_event["data"]["previous_attributes"]["name"],
        "Ada Lovelace"
    );
}

#[tokio::test]
async fn customer_errors() {
    let emu = Emu::start().await;
    emu.refuses(
        "
        /v1/customers email=not-an-email => param: email
        /v1/customers nickname=x => message: Received unknown parameter: nickname && code: parameter_unknown
        /v1/customers metadata=oops => param: metadata
        /v1/customers payment_method=pm_missing => message: No such PaymentMethod: 'pm_missing'
        /v1/customers invoice_settings[default_payment_method]=pm_missing => param: invoice_settings[default_payment_method]
        "
    )
    .await;
    let err = emu.get("/v1/customers/cus_missing").await.err(404);
    assert_eq!(err["message"], "No such customer: 'cus_missing'");
    assert_eq!(
        emu.get("/v1/customers").await.ok()["data"],
        json!([]),
        "nothing was created"
    );
}

/// A card payment method, as the hosted Checkout page leaves one, not attached yet.
fn unattached_card(db: &mut stripe_emulator::state::Db) -> String {
    let mut pm = stripe_emulator::state::base_object(db, "pm", "payment_method");
    pm["type"] = json!("card");
    pm["customer"] = json!(null);
    pm["billing_details"] =
        json!({"address": null, "email": null, "name": null, "phone": null, "tax_id": null});
    pm["card"] = json!({"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2040, "funding": "credit"});
    db.insert(pm)["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn customers_take_payment_methods() {
    let dir = std::env::temp_dir().join(format!("emu-cus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let mut db = stripe_emulator::state::Db::default();
    let pm = unattached_card(&mut db);
    let spare = unattached_card(&mut db);
    std::fs::write(&file, serde_json::to_vec(&db).unwrap()).unwrap();
    let db = stripe_emulator::app::load(&file).unwrap();
    let emu = Emu::start_with(Some(file), db).await;

    let customer = emu.posted(
            "/v1/customers",
            &format!("email=pay@example.com&payment_method={pm}&invoice_settings[default_payment_method]={pm}"),
        ).await;
    let id = customer["id"].as_str().unwrap();
    assert_eq!(
        customer["invoice_settings"]["default_payment_method"],
        pm.as_str()
    );
    parses_as::<stripe_shared::Customer>(&customer);
    let attached = emu
        .get("/v1/events?type=payment_method.attached")
        .await
        .ok();
    assert_eq!(attached["data"][0]["data"]["object"]["customer"], id);
    let expanded = emu
        .get(&format!(
            "/v1/customers/{id}?expand[]=invoice_settings.default_payment_method"
        ))
        .await
        .ok();
    assert_eq!(
        expanded["invoice_settings"]["default_payment_method"]["id"],
        pm.as_str()
    );

    // Someone else's card, and a card that is not the customer's, are refused.
    emu.refuses(&format!(
        "
        /v1/customers payment_method={pm} => code: payment_method_unexpected_state
        /v1/customers/{id} invoice_settings[default_payment_method]={spare} => param: invoice_settings[default_payment_method]
        "
    ))
    .await;
    let unset = emu
        .posted(
            &format!("/v1/customers/{id}"),
            "invoice_settings[default_payment_method]=",
        )
        .await;
    assert_eq!(
        unset["invoice_settings"]["default_payment_method"],
        json!(null)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
